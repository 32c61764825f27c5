"""The public calculators over HTTP: ``POST /v1/calc/<name>`` with the JSON of contracts.md."""

from __future__ import annotations

from fastapi import APIRouter

from polis import calc
from polis.calc.crm import CrmRequest, CrmResponse

router = APIRouter(prefix="/v1/calc", tags=["calculators"])

_CRM_EXAMPLE = {
    "start": "1.00",
    "usage": "standard",
    "years_at_floor": 0,
    "periods": [
        {"claims": []},
        {"claims": [{"responsibility": "full"}]},
        {"claims": [{"responsibility": "partial"}, {"responsibility": "none", "neutral": True}]},
    ],
}


@router.post(
    "/crm",
    response_model=CrmResponse,
    summary="Bonus-malus (CRM) coefficient year by year",
    description="French *coefficient de réduction-majoration* (annex to art. A121-1 Code des "
    "assurances): the coefficient after each annual reference period, with every step explained.",
    openapi_extra={"requestBody": {"content": {"application/json": {"example": _CRM_EXAMPLE}}}},
)
def crm(request: CrmRequest) -> CrmResponse:
    return calc.crm(request)
