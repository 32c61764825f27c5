"""``premium`` calculator (contracts.md): pure premium → net premium → total premium.

One cover (top-level ``line``, ``basis``, ``pure``, ``cat_nat``) or several (``covers``, each taxed on
its own line). The engine is :mod:`polis.rating`; this module validates, converts and serialises.
Added to the contract (names of contracts.md unchanged): ``covers``, ``insurer`` (company|mutual),
``fees``, ``seasonality``, ``tax_overrides``, ``prorate_contributions``, and in ``pure`` the short
units ``unit`` (year|day|hour|act), ``quantity`` and ``minimum``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from polis.calc._base import CalcModel, ExplanationLine, parse_request
from polis.calc.premium_lines import (
    ContributionOut,
    CoverOut,
    FeeOut,
    LoadingOut,
    Money,
    Rate,
    SurchargeOut,
    TaxOut,
    contract_lines,
    explanation_lines,
)
from polis.calc.premium_request import (
    CoverIn,
    DecimalIn,
    PremiumRequest,
    covers_of,
    prefixed,
    to_basis,
    to_loadings,
    to_pure_spec,
)
from polis.kernel.errors import InvalidInput
from polis.kernel.explain import Explanation
from polis.kernel.time import add_months
from polis.rating.bases import (
    BasisValue,
    DeclarationsBasis,
    basis_value,
    regularisation,
)
from polis.rating.pricing import ContractPricing, CoverPricing, Fee, price_contract
from polis.rating.pure import (
    PureResult,
    SeasonalityProfile,
    TimeFactor,
    Unit,
    pure_premium,
    time_factor,
    unit_fraction_of_year,
)
from polis.rating.taxes import TaxTable, load_tax_table

__all__ = [
    "BasisOut",
    "DecimalIn",
    "PeriodOut",
    "PremiumRequest",
    "PremiumResponse",
    "RegularisationOut",
    "premium",
]


class PeriodOut(CalcModel):
    start: dt.date
    end: dt.date
    days: int


class BasisOut(CalcModel):
    cover: str
    kind: str
    label: str
    amount: Rate


class RegularisationOut(CalcModel):
    """Floating policy: ``amount = final net premium − provisional premium paid`` (net layer)."""

    statistic: str
    declared_value: Rate
    final_premium: Money
    provisional_premium: Money
    amount: Money


class PremiumResponse(CalcModel):
    line: str | None
    due_date: dt.date
    period: PeriodOut
    pure_premium: Money
    prorata: Rate
    time_method: str
    bases: list[BasisOut]
    loadings: list[LoadingOut]
    net_premium: Money
    surcharges: list[SurchargeOut]
    taxes: list[TaxOut]
    contributions: list[ContributionOut]
    fees: list[FeeOut]
    total_premium: Money
    regularisation: RegularisationOut | None
    covers: list[CoverOut]
    tax_table_version: str
    explanation: list[ExplanationLine]


def _price_cover(
    index: int, cover: CoverIn, multi: bool, time: TimeFactor
) -> tuple[CoverPricing, BasisValue | None, DeclarationsBasis | None]:
    prefix = f"covers[{index}]." if multi else ""
    with prefixed(prefix):
        basis = to_basis(cover.basis) if cover.basis is not None else None
        value = basis_value(basis) if basis is not None else None
        spec = to_pure_spec(cover.pure)
        pure: PureResult = pure_premium(
            spec,
            basis=None if value is None else value.amount,
            time=time,
            minimum=cover.pure.minimum,
        )
    loadings = (
        None if cover.loadings is None else to_loadings(cover.loadings, f"covers[{index}].loadings")
    )
    cover_id = cover.id or (cover.line if not multi else f"cover{index + 1}")
    steps = (*(value.explanation if value else ()), *pure.explanation)
    steps = tuple(Explanation(f"{s.step} [{cover_id}]", s.formula, s.amount) for s in steps)
    priced = CoverPricing(
        cover_id,
        cover.name or cover_id,
        cover.line,
        pure.amount,
        cover.cat_nat,
        cover.motor_cat_nat_base,
        loadings,
        steps,
    )
    declarations = basis if isinstance(basis, DeclarationsBasis) else None
    return priced, value, declarations


def _time(req: PremiumRequest) -> tuple[dt.date, dt.date, TimeFactor]:
    start = req.period.start if req.period else req.due_date
    end = req.period.end if req.period else add_months(req.due_date, 12)
    if end <= start:
        raise InvalidInput(
            f"the period end {end} must be after its start {start}", field="period.end"
        )
    profile = None
    if req.seasonality is not None:
        profile = SeasonalityProfile(tuple(req.seasonality))
    return start, end, time_factor(start, end, profile)


def _fraction(req: PremiumRequest, covers: list[CoverIn], time: TimeFactor) -> Decimal | None:
    if not req.prorate_contributions:
        return None
    fractions = [
        unit_fraction_of_year(c.pure.unit, c.pure.quantity or Decimal(1))
        if c.pure.unit is not Unit.YEAR
        else time.value
        for c in covers
    ]
    return max(fractions)


def _regularisation(
    declarations: list[tuple[DeclarationsBasis, BasisValue, Decimal]],
) -> RegularisationOut | None:
    """Σ over the covers on declarations (one, usually) of ``final net − provisional paid``."""
    found = [r for d, v, net in declarations if (r := regularisation(d, v.amount, net)) is not None]
    if not found:
        return None
    return RegularisationOut(
        statistic=found[0].statistic.value,
        declared_value=sum((r.declared_value for r in found), Decimal(0)),
        final_premium=sum((r.final_premium for r in found), Decimal(0)),
        provisional_premium=sum((r.provisional_premium for r in found), Decimal(0)),
        amount=sum((r.amount for r in found), Decimal(0)),
    )


def premium(
    request: PremiumRequest | dict[str, Any], *, taxes: TaxTable | None = None
) -> PremiumResponse:
    """Price a contract: ``pure → net = (pure + amounts + pure × Σr_pure) / (1 − Σr_net) → total``.

    ``taxes`` replaces the packaged tax table (e.g. ``load_tax_table(path)``); ``tax_overrides`` in
    the request change single entries. Raises ``InvalidInput`` naming the field
    (``covers[1].line``, ``period.end``, ``due_date`` for a missing table row…).
    """
    req = parse_request(PremiumRequest, request)
    table = (taxes or load_tax_table()).with_overrides(req.tax_overrides or {})
    start, end, time = _time(req)
    covers = covers_of(req)
    multi = req.covers is not None
    if req.line is not None:
        table.line(req.line, field="line")
    for i, cover in enumerate(covers):
        table.line(cover.line, field=f"covers[{i}].line" if multi else "line")
    priced_covers, bases, declarations = [], [], []
    for i, cover in enumerate(covers):
        priced, value, declared = _price_cover(i, cover, multi, time)
        priced_covers.append(priced)
        if value is not None:
            bases.append(
                BasisOut(cover=priced.id, kind=value.kind, label=value.label, amount=value.amount)
            )
        if declared is not None and value is not None:
            declarations.append((i, declared, value))
    contract = ContractPricing(
        covers=tuple(priced_covers),
        due_date=req.due_date,
        loadings=to_loadings(req.loadings, "loadings"),
        insurer=req.insurer,
        fees=tuple(Fee(f.name, f.amount, f.taxable) for f in req.fees),
        contributions=None if req.contributions is None else tuple(req.contributions),
        contribution_fraction=_fraction(req, covers, time),
        fee_line=req.line,
    )
    priced_contract = price_contract(contract, table)
    regularisation = _regularisation(
        [(d, v, priced_contract.covers[i].net) for i, d, v in declarations]
    )
    time_line = Explanation("period", f"[{start}, {end}): {time.formula}", None)
    steps: list[Explanation] = [time_line, *priced_contract.explanation]
    if regularisation is not None:
        steps.append(
            Explanation(
                "regularisation",
                f"final net premium {regularisation.final_premium} − provisional premium paid "
                f"{regularisation.provisional_premium} = {regularisation.amount} (net of tax; the "
                "regularisation call bears the taxes in force at its due date)",
                regularisation.amount,
            )
        )
    return PremiumResponse(
        line=req.line,
        due_date=req.due_date,
        period=PeriodOut(start=start, end=end, days=(end - start).days),
        prorata=time.value.quantize(Decimal("1E-10")),
        time_method=time.method,
        bases=bases,
        regularisation=regularisation,
        tax_table_version=table.version,
        explanation=explanation_lines(steps),
        **contract_lines(priced_contract),
    )
