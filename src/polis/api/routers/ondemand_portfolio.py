"""The insurer's side of on-demand cover over HTTP: ``GET /v1/portfolio`` (API key).

A tenant reads its own portfolio only — its windows, premiums and claims, per product — with the
drift alerts (observed cost per hour vs the pure premium per hour the tariff charged, weighted by
credibility). The operator's view over every tenant is in the CLI (``polis portfolio report``).
Definitions and formulas: ``docs/on-demand.md``, "Insurer's side".
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from polis.api.deps import CurrentPrincipal, new_uow
from polis.api.routers.ondemand import clock_of
from polis.services import ondemand_portfolio
from polis.services.ondemand_portfolio import PortfolioView
from polis.store import SqlUnitOfWork

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["on-demand portfolio"])

Uow = Annotated[SqlUnitOfWork, Depends(new_uow)]

_LINE: dict[str, Any] = {
    "partner": None,
    "product": "equipment-micro",
    "activations": 2,
    "exposure_hours": "8.00",
    "written_premium": "7.10",
    "earned_premium": "7.10",
    "earned_pure_premium": "3.64",
    "in_force_objects": 0,
    "sums_insured_in_force": "0.00",
    "claims": 1,
    "paid": "0.00",
    "recovered": "0.00",
    "reserves": "400.00",
    "incurred": "400.00",
    "frequency_per_1000_hours": "125.0000",
    "cost_per_hour": "50.0000",
    "priced_cost_per_hour": "0.4550",
    "loss_ratio": "56.3380",
    "explanation": [
        {
            "step": "cost per hour",
            "formula": "incurred / hours = 400.00 / 8",
            "amount": "50",
        }
    ],
}
_DRIFT: dict[str, Any] = {
    "partner": None,
    "product": "equipment-micro",
    "claims": 1,
    "observed_per_hour": "50.0000",
    "priced_per_hour": "0.4550",
    "credibility": "0.0304",
    "suggested_per_hour": "1.9612",
    "drift": "3.3103",
    "tolerance": "0.1",
    "alert": True,
    "direction": "under_priced",
    "explanation": [
        {
            "step": "credibility",
            "formula": "Z = min(1, √(n / n_full)) = min(1, √(1 / 1082)) = 0.0304",
            "amount": "0.0304",
        }
    ],
}
_EXAMPLE: dict[str, Any] = {
    "scope": "tenant",
    "tenant_id": "TEN-2026-000001",
    "period_from": "2026-10-31T23:00:00Z",
    "period_to": "2026-11-30T23:00:00Z",
    "as_of": "2026-12-02T09:00:00Z",
    "time_zone": "Europe/Paris",
    "currency": "EUR",
    "full_credibility_claims": 1082,
    "tolerance": "0.1",
    "products": [{**_LINE, "drift": _DRIFT}],
    "partners": [],
    "cells": [],
    "total": {**_LINE, "product": None, "drift": None},
    "alerts": [_DRIFT],
}


@router.get(
    "/portfolio",
    response_model=PortfolioView,
    summary="The tenant's on-demand portfolio per product, with price drift alerts",
    description=(
        "Over the period `[from, to)` (a date is Europe/Paris midnight; a date-time without an "
        "offset is Paris wall-clock time): activations, exposure in hours (elapsed cover, each "
        "object once), written and earned premium (net premium and surcharges, taxes excluded), "
        "sums insured in force now, claims with a loss in the period, frequency per 1,000 hours, "
        "incurred (paid − recovered + reserves), cost per hour, the pure premium per hour the "
        "tariff charged, loss ratio; and an alert per product whose credibility-weighted cost per "
        "hour (Z = min(1, √(n / 1082))) drifts more than 10 % from the priced one. Defaults: `to` "
        "= now, `from` = 12 months before. Money as strings to the cent, rates and ratios to 4 "
        "decimals; every figure comes with its explanation."
    ),
    responses={200: {"content": {"application/json": {"example": _EXAMPLE}}}},
)
def portfolio(
    request: Request,
    principal: CurrentPrincipal,
    uow: Uow,
    period_from: Annotated[
        str | None, Query(alias="from", description="start: 2026-11-01 or 2026-11-01T08:00")
    ] = None,
    period_to: Annotated[
        str | None, Query(alias="to", description="end (excluded): 2026-12-01")
    ] = None,
) -> PortfolioView:
    now: datetime = clock_of(request)
    return ondemand_portfolio.tenant_portfolio(
        uow, principal.tenant_id, period_from, period_to, now=now
    )
