"""Rate a risk against a product: risk → tariff (pure premiums) → contract pricing → a Quote.

``quote_risk(product, risk, *, as_of)`` is the single-risk path: the premium is due on ``as_of``
(which selects the tax rows) and covers ``[as_of, as_of + min(term_months, 12) months)``; every line
of the result is rounded once and the lines add up to ``total_premium``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from polis.kernel.errors import InvalidInput
from polis.kernel.explain import Explanation
from polis.kernel.time import add_months
from polis.policies.product import LoadingSpec, Product
from polis.policies.risk import RiskValue, resolve_risk
from polis.policies.tariff import CoverTariff, LifePricer, evaluate_tariff, included_covers
from polis.rating.bases import DeclarationsBasis, Regularisation, regularisation
from polis.rating.loadings import InsurerKind, Loading, LoadingOf
from polis.rating.pricing import ContractPricing, CoverPricing, Fee, PricedContract, price_contract
from polis.rating.pure import TimeFactor, Unit, period_prorata, unit_fraction_of_year
from polis.rating.taxes import TaxTable, load_tax_table

__all__ = ["Quote", "quote_risk", "to_loading"]


@dataclass(frozen=True, slots=True)
class Quote:
    """A priced risk: the product version, the resolved risk, each cover's tariff, every line."""

    product_id: str
    version: str
    product_sha256: str | None
    insurer: InsurerKind
    as_of: date
    period_start: date
    period_end: date
    time: TimeFactor
    risk: Mapping[str, RiskValue]
    tariffs: tuple[CoverTariff, ...]
    priced: PricedContract
    regularisation: Regularisation | None
    tax_table_version: str
    explanation: tuple[Explanation, ...]

    @property
    def pure_premium(self) -> Decimal:
        return self.priced.pure_premium

    @property
    def net_premium(self) -> Decimal:
        return self.priced.net_premium

    @property
    def total_premium(self) -> Decimal:
        """``Σ net + Σ surcharges + Σ taxes + Σ contributions + Σ fees`` (every term a rounded line)."""
        return self.priced.total_premium


def to_loading(spec: LoadingSpec) -> Loading:
    if spec.amount is not None:
        return Loading.amount(spec.name, spec.amount, spec.type)
    assert spec.rate is not None
    assert spec.of is not None
    return Loading.rate(spec.name, spec.rate, LoadingOf(spec.of), spec.type)


def _check_validity(product: Product, as_of: date) -> None:
    if as_of < product.valid_from or (
        product.valid_until is not None and as_of >= product.valid_until
    ):
        until = product.valid_until.isoformat() if product.valid_until else "open"
        raise InvalidInput(
            f"product {product.id} {product.version} is valid from {product.valid_from} "
            f"until {until}, not on {as_of}",
            field="as_of",
        )


def _fraction(
    product: Product, tariffs: tuple[CoverTariff, ...], time: TimeFactor
) -> Decimal | None:
    """The share of a year fixed contributions are pro-rated by, when the product says so."""
    if not product.prorate_contributions:
        return None
    return max(
        time.value
        if t.unit is Unit.YEAR
        else unit_fraction_of_year(t.unit, t.quantity or Decimal(1))
        for t in tariffs
    )


def _regularisation(
    product: Product,
    risk: Mapping[str, RiskValue],
    tariffs: tuple[CoverTariff, ...],
    priced: PricedContract,
) -> Regularisation | None:
    covers = {c.id: c for c in product.covers}
    for tariff, cover in zip(tariffs, priced.covers, strict=True):
        spec = covers[tariff.cover_id].basis
        if spec is None or spec.kind != "declarations" or tariff.basis is None:
            continue
        paid = risk.get(spec.provisional_premium_from) if spec.provisional_premium_from else None
        values = risk.get(spec.values_from or "")
        if isinstance(values, tuple) and isinstance(paid, Decimal):
            basis = DeclarationsBasis(values, spec.statistic, paid)
            return regularisation(basis, tariff.basis.amount, cover.net)
    return None


def quote_risk(
    product: Product,
    risk: object,
    *,
    as_of: date,
    life_pricer: LifePricer | None = None,
    taxes: TaxTable | None = None,
    tax_overrides: Mapping[str, Decimal | bool] | None = None,
    product_sha256: str | None = None,
) -> Quote:
    """Rate ``risk`` (a JSON object of the product's risk fields) for premiums due on ``as_of``.

    Raises ``InvalidInput`` naming ``risk.<field>``, ``as_of`` or ``due_date`` (missing tax table),
    and ``LifePricerMissing`` for a life cover without ``life_pricer``.
    """
    _check_validity(product, as_of)
    resolved = resolve_risk(product, risk)
    table = (taxes or load_tax_table()).with_overrides(tax_overrides or {})
    end = add_months(as_of, min(product.term_months, 12))
    time = period_prorata(as_of, end)
    specs = included_covers(product, resolved)
    if not specs:
        raise InvalidInput("the risk selects no cover of this product", field="risk")
    tariffs = evaluate_tariff(product, resolved, time=time, life_pricer=life_pricer)
    covers = tuple(
        CoverPricing(
            id=spec.id,
            name=spec.name.en,
            line=spec.line,
            pure=tariff.pure,
            cat_nat=spec.cat_nat,
            motor_cat_nat_base=spec.motor_cat_nat_base,
            loadings=None if spec.loadings is None else tuple(to_loading(x) for x in spec.loadings),
            explanation=tariff.explanation,
        )
        for spec, tariff in zip(specs, tariffs, strict=True)
    )
    contract = ContractPricing(
        covers=covers,
        due_date=as_of,
        loadings=tuple(to_loading(x) for x in product.loadings),
        insurer=product.insurer,
        fees=tuple(Fee(f.name, f.amount, f.taxable) for f in product.fees),
        contributions=None if product.contributions is None else tuple(product.contributions),
        contribution_fraction=_fraction(product, tariffs, time),
        fee_line=product.tax_line,
    )
    priced = price_contract(contract, table)
    regular = _regularisation(product, resolved, tariffs, priced)
    head = Explanation(
        "product",
        f"{product.id} {product.version} ({product.insurer.value}); premium due {as_of}; "
        f"period [{as_of}, {end}): {time.formula}",
    )
    steps = [head, *priced.explanation]
    if regular is not None:
        steps.append(
            Explanation(
                "regularisation",
                f"final net premium {regular.final_premium} − provisional premium paid "
                f"{regular.provisional_premium} = {regular.amount} (net of tax)",
                regular.amount,
            )
        )
    return Quote(
        product.id,
        product.version,
        product_sha256,
        product.insurer,
        as_of,
        as_of,
        end,
        time,
        resolved,
        tariffs,
        priced,
        regular,
        table.version,
        tuple(steps),
    )
