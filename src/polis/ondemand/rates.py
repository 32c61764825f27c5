"""The rate card of a subscription: each cover's exact pure price per hour, day and act.

``per_unit price × factors`` on the subscription's risk and options — the arithmetic of ``polis
quote`` with quantity 1, before the minimum and the single rounding — and the rating engine called
on a window's pure premium (:func:`price_contract_for`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from polis.kernel.errors import InvalidInput
from polis.kernel.money import allocate
from polis.ondemand.subscription import Subscription, chosen_option, rating_risk
from polis.ondemand.terms import OnDemandTerms
from polis.policies.product import Product
from polis.policies.quote import to_loading
from polis.policies.risk import resolve_risk
from polis.policies.tariff import FactorValue, factor_value, included_covers
from polis.rating.lines import PricedContract
from polis.rating.pricing import ContractPricing, CoverPricing, Fee, price_contract
from polis.rating.pure import Unit
from polis.rating.taxes import TaxTable, load_tax_table

__all__ = [
    "CoverRate",
    "RateCard",
    "price_contract_for",
    "rate_card",
    "subscription_rate_card",
]

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class CoverRate:
    """One cover's exact pure price per unit (``per_unit`` price × factors)."""

    cover_id: str
    name: str
    line: str
    per_unit: Mapping[Unit, Decimal]
    factors: tuple[FactorValue, ...]
    minimum: Decimal
    pricing: CoverPricing  # the cover as the rating engine wants it (pure filled in later)


@dataclass(frozen=True, slots=True)
class RateCard:
    product: Product
    unit: Unit
    daily_cap: bool
    covers: tuple[CoverRate, ...]

    def rate(self, unit: Unit) -> Decimal | None:
        """Σ covers' exact price per ``unit`` (None when a cover has no such price)."""
        if any(unit not in c.per_unit for c in self.covers):
            return None
        return sum((c.per_unit[unit] for c in self.covers), ZERO)

    @property
    def minimum(self) -> Decimal:
        return sum((c.minimum for c in self.covers), ZERO)

    @property
    def day_cap(self) -> Decimal | None:
        """The most a local day may be charged (pure), or None (no cap)."""
        if self.unit is Unit.DAY:
            return self.rate(Unit.DAY)
        return self.rate(Unit.DAY) if self.daily_cap else None


def rate_card(
    product: Product,
    terms: OnDemandTerms,
    *,
    unit: Unit,
    risk: Mapping[str, object],
    sum_insured: Decimal | None = None,
    deductible: Decimal | None = None,
) -> RateCard:
    """The exact unit rates of every included cover for a risk and options (None: the default).

    Errors name ``unit``, ``sum_insured``, ``deductible`` or ``risk.<field>``.
    """
    if unit not in terms.units:
        offered = ", ".join(u.value for u in terms.units)
        raise InvalidInput(f"this product is sold per {offered}", field="unit")
    risk = rating_risk(
        terms,
        risk,
        unit=unit,
        quantity=1,
        sum_insured=chosen_option(terms.sum_insured, sum_insured, "sum_insured"),
        deductible=chosen_option(terms.deductible, deductible, "deductible"),
    )
    resolved = resolve_risk(product, risk)
    covers = []
    for spec in included_covers(product, resolved):
        tariff = spec.tariff
        per_unit: dict[Unit, Decimal] = {}
        factors: tuple[FactorValue, ...] = ()
        for each, price in (tariff.per_unit or {}).items():
            values = dict(resolved)
            if terms.unit_field is not None:
                values[terms.unit_field] = each.value
            found = []
            for factor in tariff.factors:
                value = values.get(factor.field)
                if value is None:
                    raise InvalidInput(
                        f"needed by the tariff of cover {spec.id}", field=f"risk.{factor.field}"
                    )
                found.append(factor_value(factor, value))
            exact = price
            for item in found:
                exact *= item.factor
            per_unit[each] = exact
            if each is unit:
                factors = tuple(found)
        loadings = None if spec.loadings is None else tuple(to_loading(x) for x in spec.loadings)
        pricing = CoverPricing(
            id=spec.id,
            name=spec.name.en,
            line=spec.line,
            pure=ZERO,
            cat_nat=spec.cat_nat,
            motor_cat_nat_base=spec.motor_cat_nat_base,
            loadings=loadings,
        )
        minimum = tariff.minimum or ZERO
        covers.append(
            CoverRate(spec.id, spec.name.en, spec.line, per_unit, factors, minimum, pricing)
        )
    return RateCard(product, unit, terms.daily_cap, tuple(covers))


def subscription_rate_card(
    product: Product, terms: OnDemandTerms, subscription: Subscription
) -> RateCard:
    """The rate card of a subscription (its unit, risk and options)."""
    return rate_card(
        product,
        terms,
        unit=subscription.unit,
        risk=subscription.risk,
        sum_insured=subscription.sum_insured,
        deductible=subscription.deductible,
    )


def price_contract_for(
    card: RateCard,
    pure: Decimal,
    *,
    due_date: date,
    fee: bool,
    fraction: Decimal,
    taxes: TaxTable | None = None,
) -> PricedContract:
    """The rating engine on a pure premium split across the covers in proportion to their rates."""
    rates = [c.per_unit.get(card.unit, ZERO) for c in card.covers]
    shares = allocate(pure, rates) if pure and any(rates) else [ZERO] * len(rates)
    product = card.product
    contract = ContractPricing(
        covers=tuple(
            replace(c.pricing, pure=share) for c, share in zip(card.covers, shares, strict=True)
        ),
        due_date=due_date,
        loadings=tuple(to_loading(x) for x in product.loadings),
        insurer=product.insurer,
        fees=tuple(Fee(f.name, f.amount, f.taxable) for f in product.fees) if fee else (),
        contributions=None if product.contributions is None else tuple(product.contributions),
        contribution_fraction=fraction if product.prorate_contributions else None,
        fee_line=product.tax_line,
    )
    return price_contract(contract, taxes or load_tax_table())
