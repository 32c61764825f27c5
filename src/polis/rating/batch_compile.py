"""Compile a product into exact fixed-point constants for the columnar rater (:mod:`.batch`).

Everything the single path reads from the product and the tax table for one due date is resolved
here, once: each decimal becomes a :class:`Fixed` (an integer mantissa and a power-of-ten scale, so
``Decimal("0.00062")`` is ``Fixed(62, 5)``), every line's tax rate, surcharge and contribution is
looked up for the due date, the time factor becomes an exact fraction, and each money constant (fee,
minimum, amount loading) is rounded to cents exactly as the single path rounds it. What the batch
cannot do is refused here with ``InvalidInput`` naming the product and the cover (``life`` tariffs,
which call the life calculator).

The validations of the single path are reused, not copied: the contract is priced once with zero
pure premiums (:func:`polis.rating.pricing.price_contract`), which raises the same errors for an
unknown line, a missing tax row, loadings of the net premium summing to 1 or more, or a profit
loading of a mutual.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from polis.kernel.errors import InvalidInput
from polis.kernel.money import round_money
from polis.kernel.time import add_months
from polis.policies.product import BasisSpec, CoverSpec, FactorSpec, LoadingSpec, Product
from polis.policies.quote import to_loading
from polis.rating.bases import Valuation
from polis.rating.batch_plan import (
    BandsFactor,
    BasisPlan,
    ContributionPlan,
    CoverPlan,
    Factor,
    FeePlan,
    Fixed,
    LoadingPlan,
    Plan,
    SurchargePlan,
    TableFactor,
    to_cents,
)
from polis.rating.loadings import LoadingOf
from polis.rating.pricing import ContractPricing, CoverPricing, Fee, MotorCatNatBase, price_contract
from polis.rating.pure import period_prorata
from polis.rating.taxes import CatNatClass, TaxTable

__all__ = ["compile_plan"]


def _factor(spec: FactorSpec, field_type: str) -> Factor:
    default = None if spec.default is None else Fixed.of(spec.default)
    if spec.kind == "table":
        table = spec.table or {}
        if field_type == "integer":  # the single path looks up str(int): keep canonical keys only
            table = {k: v for k, v in table.items() if k.lstrip("-").isdigit() and str(int(k)) == k}
        return TableFactor(
            spec.name, spec.field, {k: Fixed.of(v) for k, v in table.items()}, default
        )
    bands = spec.bands or []
    bounds = tuple(b.up_to for b in bands if b.up_to is not None)
    return BandsFactor(
        spec.name, spec.field, bounds, tuple(Fixed.of(b.factor) for b in bands), default
    )


def _basis(spec: BasisSpec | None, cover: CoverSpec) -> BasisPlan | None:
    if spec is None:
        return None
    rate = None if spec.depreciation_rate is None else Fixed.of(spec.depreciation_rate)
    may_depreciate = spec.kind == "insured_value" and (
        spec.valuation_from is not None or spec.valuation is Valuation.USE_VALUE
    )
    if (
        may_depreciate
        and rate is None
        and spec.depreciation_rate_from is None
        and not (spec.age_from and spec.depreciation_schedule)
    ):
        raise InvalidInput(
            f"cover {cover.id}: use_value needs a depreciation_rate or an age schedule",
            field=f"covers.{cover.id}.basis",
        )
    return BasisPlan(
        kind=spec.kind,
        amount_field=spec.amount_from,
        valuation=spec.valuation,
        valuation_field=spec.valuation_from,
        depreciation_rate=rate,
        depreciation_field=spec.depreciation_rate_from,
        age_field=spec.age_from,
        schedule=tuple(
            (b.max_age_years, Fixed.of(b.rate)) for b in spec.depreciation_schedule or []
        ),
        values_field=spec.values_from,
        statistic=spec.statistic,
        provisional_field=spec.provisional_premium_from,
    )


def _loadings(specs: list[LoadingSpec], contract: bool) -> tuple[LoadingPlan, ...]:
    plans = []
    for spec in specs:
        loading = to_loading(spec)
        value = loading.value
        if loading.of is LoadingOf.AMOUNT:
            value = round_money(value)
        first_only = contract and loading.of is LoadingOf.AMOUNT
        plans.append(LoadingPlan(loading.name, loading.of, Fixed.of(value), first_only))
    return tuple(plans)


def _constant(cover: CoverSpec) -> Fixed:
    t = cover.tariff
    if t.kind == "rate":
        assert t.rate is not None
        return Fixed.of(t.rate)
    if t.kind == "amount":
        assert t.amount is not None
        return Fixed.of(t.amount)
    if t.kind == "frequency_severity":
        assert t.frequency is not None
        assert t.mean_cost is not None
        return Fixed.of(t.frequency * t.mean_cost)
    return Fixed(1, 0)


def _surcharge(
    cover: CoverSpec, table: TaxTable, as_of: date, theft_fire_possible: bool
) -> SurchargePlan | None:
    cat_nat = table.line(cover.line).cat_nat
    applies = cover.cat_nat if cover.cat_nat is not None else cat_nat is not CatNatClass.NONE
    if not applies:
        return None
    unless = False
    if cat_nat is CatNatClass.MOTOR:
        if cover.motor_cat_nat_base is MotorCatNatBase.THEFT_FIRE:
            key = "motor_theft_fire"
        elif not theft_fire_possible:
            key = "motor_damage"
        else:
            key, unless = "motor_damage", True
    else:
        key = "property"
    return SurchargePlan(key, Fixed.of(table.surcharge(key, as_of).value), unless)


def _is_theft_fire(cover: CoverSpec, table: TaxTable) -> bool:
    return (
        cover.motor_cat_nat_base is MotorCatNatBase.THEFT_FIRE
        and cover.cat_nat is not False
        and table.line(cover.line).cat_nat is CatNatClass.MOTOR
    )


def _cover(product: Product, cover: CoverSpec, table: TaxTable, as_of: date) -> CoverPlan:
    t = cover.tariff
    if t.kind == "life":
        raise InvalidInput(
            f"product {product.id}: cover {cover.id} is priced by the life calculator; batch "
            "rating supports rate, amount, per_unit and frequency_severity tariffs",
            field=f"covers.{cover.id}",
        )
    theft_fire_possible = any(_is_theft_fire(c, table) for c in product.covers)
    unit_values: tuple[str, ...] = ()
    if t.unit_from is not None:
        unit_values = tuple(product.risk[t.unit_from].values or [])
    minimum = None if t.minimum is None else Fixed.of(t.minimum)
    return CoverPlan(
        id=cover.id,
        line=cover.line,
        included_when=cover.included_when,
        kind=t.kind,
        constant=_constant(cover),
        basis=_basis(cover.basis, cover),
        exposure_field=t.exposure_from,
        per_unit=None if t.per_unit is None else {u: Fixed.of(v) for u, v in t.per_unit.items()},
        unit=t.unit,
        unit_field=t.unit_from,
        unit_values=unit_values,
        quantity_field=t.quantity_from,
        factors=tuple(_factor(f, product.risk[f.field].type) for f in t.factors),
        minimum=minimum,
        minimum_cents=None if t.minimum is None else to_cents(t.minimum),
        loadings=_loadings(
            product.loadings if cover.loadings is None else cover.loadings,
            contract=cover.loadings is None,
        ),
        contract_loadings=cover.loadings is None,
        surcharge=_surcharge(cover, table, as_of, theft_fire_possible),
        tax_rate=Fixed.of(table.tax(cover.line, as_of).value),
        theft_fire=_is_theft_fire(cover, table),
    )


def _contributions(
    product: Product, covers: tuple[CoverPlan, ...], table: TaxTable, as_of: date
) -> tuple[ContributionPlan, ...]:
    if product.contributions is not None:
        owed: dict[str, tuple[str, ...] | None] = dict.fromkeys(product.contributions)
    else:
        owed = {}
        for cover in covers:
            for name in table.line(cover.line).contributions:
                owed[name] = (*(owed.get(name) or ()), cover.id)
    plans = []
    for name, owed_with in owed.items():
        rule = table.contribution_rule(name)
        value = Fixed.of(table.contribution(name, as_of).value)
        base = tuple(c.id for c in covers if c.line in rule.lines)
        plans.append(ContributionPlan(name, rule.kind, value, base, owed_with))
    return tuple(plans)


def _validate_with_single_path(product: Product, table: TaxTable, as_of: date) -> None:
    """Price the contract once with zero pure premiums: the single path's own checks."""
    covers = tuple(
        CoverPricing(
            id=c.id,
            name=c.name.en,
            line=c.line,
            pure=Decimal("0.00"),
            cat_nat=c.cat_nat,
            motor_cat_nat_base=c.motor_cat_nat_base,
            loadings=None if c.loadings is None else tuple(to_loading(x) for x in c.loadings),
        )
        for c in product.covers
    )
    price_contract(
        ContractPricing(
            covers=covers,
            due_date=as_of,
            loadings=tuple(to_loading(x) for x in product.loadings),
            insurer=product.insurer,
            fees=tuple(Fee(f.name, f.amount, f.taxable) for f in product.fees),
            contributions=None if product.contributions is None else tuple(product.contributions),
            fee_line=product.tax_line,
        ),
        table,
    )


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


def _regularisation(product: Product) -> tuple[tuple[str, str], ...]:
    """The covers whose declarations may carry a provisional premium (the first one taken wins)."""
    return tuple(
        (c.id, c.basis.provisional_premium_from)
        for c in product.covers
        if c.basis is not None
        and c.basis.kind == "declarations"
        and c.basis.provisional_premium_from is not None
    )


def compile_plan(product: Product, *, as_of: date, table: TaxTable) -> Plan:
    """Resolve every constant of ``product`` for premiums due on ``as_of`` (see module doc)."""
    _check_validity(product, as_of)
    for cover in product.covers:  # life covers first: the clearest refusal
        if cover.tariff.kind == "life":
            _cover(product, cover, table, as_of)
    _validate_with_single_path(product, table, as_of)
    covers = tuple(_cover(product, c, table, as_of) for c in product.covers)
    fees = tuple(FeePlan(f.name, to_cents(f.amount), f.taxable) for f in product.fees)
    taxable = sum((Decimal(f.cents) / 100 for f in fees if f.taxable), Decimal("0.00"))
    fees_tax = None
    if taxable != 0:
        fees_tax = to_cents(taxable * table.tax(product.tax_line, as_of).value)
    time = period_prorata(as_of, add_months(as_of, min(product.term_months, 12)))
    return Plan(
        product_id=product.id,
        version=product.version,
        as_of=as_of,
        covers=covers,
        fees=fees,
        fees_tax_cents=fees_tax,
        contributions=_contributions(product, covers, table, as_of),
        time=(1, 1) if time.value == 1 else (time.days or 0, 365),  # a term of 12 months at most
        prorate_contributions=product.prorate_contributions,
        regularisation=_regularisation(product),
        cat_nat_taxed=table.cat_nat_taxed,
        tax_table_version=table.version,
    )
