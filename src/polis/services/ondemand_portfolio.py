"""The insurer's portfolio of on-demand cover, read from the store (one read-only unit of work).

A tenant (partner) sees only its own windows, ledger entries and claims
(:func:`tenant_portfolio`: HTTP, CLI ``--tenant``, web page); the operator sees every tenant,
broken down per partner (:func:`operator_portfolio`: CLI only). The figures are
:func:`polis.ondemand.portfolio.build_portfolio` over:

- the windows with cover in the period, in force at the valuation instant, or with a ledger entry
  dated in the period, with their product and sum insured (the subscription's);
- every ledger entry of those windows (premium = net premium + surcharges, taxes excluded; the
  exact pure premium of each local day);
- the claims on the windows' policies with a loss in the period, valued as recorded when the
  report is made, from the claim ledger (payments − recoveries + Σ reserve changes).

Money is summed in Python, not in SQL (exact decimal text on SQLite; ``docs/claims.md``). Cost:
one query for the windows and one for their entries (the JSON detail of each entry is parsed),
two for the claims: linear in the windows of the period.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from polis.claims.lifecycle import ClaimStatus
from polis.kernel.errors import InvalidInput, NotFound
from polis.kernel.explain import Explanation
from polis.kernel.time import Window, add_months, ensure_utc, local_midnight, to_local, utc_now
from polis.ondemand.billing import EntryKind
from polis.ondemand.drift import DEFAULT_TOLERANCE, FULL_CREDIBILITY_CLAIMS, DriftCheck
from polis.ondemand.lines import LineKind
from polis.ondemand.portfolio import (
    ClaimFact,
    EntryFact,
    Portfolio,
    PortfolioLine,
    WindowFact,
    build_portfolio,
)
from polis.ondemand.windows import parse_when
from polis.rating.text import show
from polis.services.ondemand_billing import ledger_entry
from polis.store.tables_ondemand import OnDemandLedgerRow
from polis.store.uow import UnitOfWork

__all__ = [
    "DriftView",
    "LineView",
    "PortfolioView",
    "StepView",
    "drift_view",
    "line_view",
    "load_portfolio",
    "operator_portfolio",
    "parse_period",
    "portfolio_view",
    "tenant_portfolio",
]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PREMIUM_KINDS = frozenset({LineKind.PREMIUM, LineKind.SURCHARGE})
_NOT_COUNTED = frozenset({ClaimStatus.REFUSED.value, ClaimStatus.WITHDRAWN.value})
ZERO = Decimal("0.00")


# ------------------------------------------------------------------------------------ views


class StepView(BaseModel):
    model_config = ConfigDict(frozen=True)

    step: str
    formula: str
    amount: str | None


class DriftView(BaseModel):
    """The credibility-weighted comparison of the observed and priced cost per hour."""

    model_config = ConfigDict(frozen=True)

    partner: str | None
    product: str | None
    claims: int
    observed_per_hour: str
    priced_per_hour: str
    credibility: str
    suggested_per_hour: str
    drift: str
    tolerance: str
    alert: bool
    direction: Literal["under_priced", "over_priced"] | None
    explanation: list[StepView]


class LineView(BaseModel):
    """A line of the portfolio (``partner`` / ``product`` null when summed over them)."""

    model_config = ConfigDict(frozen=True)

    partner: str | None
    product: str | None
    activations: int
    exposure_hours: str
    written_premium: str
    earned_premium: str
    earned_pure_premium: str
    in_force_objects: int
    sums_insured_in_force: str
    claims: int
    paid: str
    recovered: str
    reserves: str
    incurred: str
    frequency_per_1000_hours: str | None
    cost_per_hour: str | None
    priced_cost_per_hour: str | None
    loss_ratio: str | None
    drift: DriftView | None
    explanation: list[StepView]


class PortfolioView(BaseModel):
    """The report: per product, per partner (operator), cells, total and the drift alerts."""

    model_config = ConfigDict(frozen=True)

    scope: Literal["tenant", "operator"]
    tenant_id: str | None
    period_from: datetime
    period_to: datetime
    as_of: datetime
    time_zone: str
    currency: str
    full_credibility_claims: int
    tolerance: str
    products: list[LineView]
    partners: list[LineView]
    cells: list[LineView]
    total: LineView
    alerts: list[DriftView]


def _steps(steps: tuple[Explanation, ...]) -> list[StepView]:
    return [
        StepView(
            step=s.step, formula=s.formula, amount=None if s.amount is None else show(s.amount)
        )
        for s in steps
    ]


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.4f}"


def drift_view(check: DriftCheck) -> DriftView:
    return DriftView(
        partner=check.partner,
        product=check.product,
        claims=check.claims,
        observed_per_hour=f"{check.observed_per_hour:.4f}",
        priced_per_hour=f"{check.priced_per_hour:.4f}",
        credibility=f"{check.credibility:.4f}",
        suggested_per_hour=f"{check.suggested_per_hour:.4f}",
        drift=f"{check.drift:.4f}",
        tolerance=show(check.tolerance),
        alert=check.alert,
        direction=None if check.direction is None else check.direction.value,
        explanation=_steps(check.explanation),
    )


def line_view(line: PortfolioLine) -> LineView:
    f = line.figures
    return LineView(
        partner=line.partner,
        product=line.product,
        activations=f.activations,
        exposure_hours=f"{f.hours:.2f}",
        written_premium=f"{f.written:.2f}",
        earned_premium=f"{f.earned:.2f}",
        earned_pure_premium=f"{f.earned_pure:.2f}",
        in_force_objects=f.in_force,
        sums_insured_in_force=f"{f.sums_insured:.2f}",
        claims=f.claims,
        paid=f"{f.paid:.2f}",
        recovered=f"{f.recovered:.2f}",
        reserves=f"{f.reserves:.2f}",
        incurred=f"{f.incurred:.2f}",
        frequency_per_1000_hours=_opt(line.frequency),
        cost_per_hour=_opt(line.cost_per_hour),
        priced_cost_per_hour=_opt(line.priced_per_hour),
        loss_ratio=_opt(line.loss_ratio),
        drift=None if line.drift is None else drift_view(line.drift),
        explanation=_steps(line.explanation),
    )


def portfolio_view(
    portfolio: Portfolio, *, tenant_id: str | None, tolerance: Decimal = DEFAULT_TOLERANCE
) -> PortfolioView:
    """JSON-ready (decimals as strings: money to the cent, rates and ratios to 4 decimals)."""
    operator = tenant_id is None
    return PortfolioView(
        scope="operator" if operator else "tenant",
        tenant_id=tenant_id,
        period_from=portfolio.period.start,
        period_to=portfolio.period.end,
        as_of=portfolio.as_of,
        time_zone="Europe/Paris",
        currency="EUR",
        full_credibility_claims=FULL_CREDIBILITY_CLAIMS,
        tolerance=show(tolerance),
        products=[line_view(x) for x in portfolio.products],
        partners=[line_view(x) for x in portfolio.partners] if operator else [],
        cells=[line_view(x) for x in portfolio.cells] if operator else [],
        total=line_view(portfolio.total),
        alerts=[drift_view(a) for a in portfolio.alerts],
    )


# ----------------------------------------------------------------------------------- period


def _bound(text: str, field: str) -> datetime:
    """``2026-11-01`` (Europe/Paris midnight) or a date-time (Paris wall time or with offset)."""
    value = text.strip()
    if _DATE.match(value):
        try:
            return local_midnight(date.fromisoformat(value))
        except ValueError as e:
            raise InvalidInput(f"not a date: {text!r}", field=field) from e
    return parse_when(value, field=field)


def parse_period(period_from: str | None, period_to: str | None, *, now: datetime) -> Window:
    """``[from, to)``; ``to`` defaults to now, ``from`` to 12 months before ``to`` (Paris midnight)."""
    end = ensure_utc(now, field="now") if not period_to else _bound(period_to, "to")
    if period_from:
        start = _bound(period_from, "from")
    else:
        start = local_midnight(add_months(to_local(end).date(), -12))
    if end <= start:
        raise InvalidInput(
            f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})",
            field="to",
        )
    return Window(start, end)


# ------------------------------------------------------------------------------------ store


def _entry_fact(row: OnDemandLedgerRow) -> EntryFact:
    entry = ledger_entry(row)
    premium = sum((x.amount for x in entry.lines if x.kind in _PREMIUM_KINDS), ZERO)
    pure = sum((d.amount for d in entry.days), Decimal(0))
    return EntryFact(
        row.window_id, row.at, premium, pure if entry.kind is EntryKind.CHARGE else -pure
    )


def _claim_facts(uow: UnitOfWork, tenant_id: str | None, period: Window) -> list[ClaimFact]:
    """Claims as recorded when the report is made (the claim ledger: payments, recoveries and
    reserve changes; Σ reserve changes is the outstanding reserve)."""
    money: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for claim_id, kind, amount, _at in uow.ondemand.portfolio_claim_entries(
        tenant_id, period.start, period.end
    ):
        money[claim_id][kind] += amount
    return [
        ClaimFact(
            claim_id,
            tenant,
            product,
            loss_at,
            status not in _NOT_COUNTED,
            money[claim_id]["payment"],
            money[claim_id]["recovery"],
            money[claim_id]["reserve_change"],
        )
        for claim_id, tenant, product, loss_at, status in uow.ondemand.portfolio_claims(
            tenant_id, period.start, period.end
        )
    ]


def load_portfolio(
    uow: UnitOfWork,
    tenant_id: str | None,
    period: Window,
    *,
    now: datetime,
    tolerance: Decimal = DEFAULT_TOLERANCE,
) -> Portfolio:
    """The domain portfolio of one tenant, or of every tenant (``tenant_id`` None)."""
    as_of = ensure_utc(now, field="now")
    with uow:
        if tenant_id is not None and uow.tenants.get(tenant_id) is None:
            raise NotFound(f"no tenant {tenant_id!r}", field="tenant_id", code="tenant.not_found")
        rows = uow.ondemand.portfolio_windows(tenant_id, period.start, period.end, as_of)
        windows = [
            WindowFact(
                row.id,
                row.tenant_id,
                product,
                f"{row.subscription_id}/{row.object_ref}",
                row.starts_at,
                row.ends_at,
                row.state == "cancelled",
                sum_insured,
            )
            for row, product, sum_insured in rows
        ]
        entries = [
            _entry_fact(row)
            for row in uow.ondemand.portfolio_entries(tenant_id, period.start, period.end, as_of)
        ]
        claims = _claim_facts(uow, tenant_id, period)
    return build_portfolio(period, as_of, windows, entries, claims, tolerance=tolerance)


def tenant_portfolio(
    uow: UnitOfWork,
    tenant_id: str,
    period_from: str | None = None,
    period_to: str | None = None,
    *,
    now: datetime | None = None,
) -> PortfolioView:
    """A tenant's own portfolio, per product, with the drift alerts."""
    return _report(uow, tenant_id, period_from, period_to, now)


def operator_portfolio(
    uow: UnitOfWork,
    period_from: str | None = None,
    period_to: str | None = None,
    *,
    now: datetime | None = None,
) -> PortfolioView:
    """Every tenant's portfolio: per product, per partner and per partner and product."""
    return _report(uow, None, period_from, period_to, now)


def _report(
    uow: UnitOfWork,
    tenant_id: str | None,
    period_from: str | None,
    period_to: str | None,
    now: datetime | None,
) -> PortfolioView:
    moment = now or utc_now()
    period = parse_period(period_from, period_to, now=moment)
    return portfolio_view(load_portfolio(uow, tenant_id, period, now=moment), tenant_id=tenant_id)
