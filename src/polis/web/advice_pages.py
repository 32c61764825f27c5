"""``/advise/on-demand-vs-annual``: the break-even tool as a page (form, verdict, plot, every step).

The page builds the ``on-demand-vs-annual`` calculator request from a form: a Polis on-demand
product (with its risk fields) or prices typed in, a monthly usage and the annual premium offered.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from polis.calc import on_demand_vs_annual
from polis.documents.breakeven_plot import breakeven_plot
from polis.kernel.errors import InvalidInput
from polis.kernel.time import to_local, utc_now
from polis.ondemand import default_terms
from polis.policies import default_catalogue
from polis.web.i18n import translator
from polis.web.quote_form import FormField, form_fields, normalise_number, parse_risk
from polis.web.rendering import lang_of, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
PATH = "/advise/on-demand-vs-annual"
GIVEN = "given"
#: risk fields that the on-demand layer fills itself (the unit and its quantity, the sum insured)
_SET_BY_ON_DEMAND = frozenset({"unit", "quantity", "value"})


def _products() -> list[str]:
    return sorted({product_id for product_id, _ in default_terms().products()})


def _fields(request: Request, product_id: str) -> list[FormField]:
    if product_id == GIVEN:
        return []
    t = translator(lang_of(request))

    def option_label(field: str, value: str) -> str | None:
        key = f"quote.value.{field}.{value}"
        text = t(key)
        return None if text == key else text

    entry = default_catalogue().get(product_id, None, as_of=to_local(utc_now()).date())
    fields = form_fields(entry.product, lang_of(request), option_label)
    return [f for f in fields if f.name not in _SET_BY_ON_DEMAND]


def _defaults(product_id: str) -> dict[str, str]:
    return {
        "product": product_id,
        "unit": "hour",
        "per_month": "12",
        "session_length": "4",
        "annual_premium": "180",
        "as_of": to_local(utc_now()).date().isoformat(),
        "price_per_unit": "1.20",
        "fee_per_activation": "0",
        "minimum_per_activation": "0",
    }


def _number(posted: dict[str, str], name: str) -> str:
    return normalise_number(posted.get(name, "").strip()) or "0"


def build_request(posted: dict[str, str], fields: list[FormField]) -> dict[str, Any]:
    """The calculator request for the posted form (pure)."""
    usage: dict[str, Any] = {
        "unit": posted.get("unit", "hour"),
        "per_month": _number(posted, "per_month"),
    }
    if posted.get("session_length", "").strip():
        usage["session_length"] = _number(posted, "session_length")
    on_demand: dict[str, Any]
    if posted.get("product", GIVEN) == GIVEN:
        on_demand = {
            "price_per_unit": _number(posted, "price_per_unit"),
            "fee_per_activation": _number(posted, "fee_per_activation"),
            "minimum_per_activation": _number(posted, "minimum_per_activation"),
        }
    else:
        try:
            as_of = dt.date.fromisoformat(posted.get("as_of", ""))
        except ValueError as e:
            raise InvalidInput("enter a date (YYYY-MM-DD)", field="as_of") from e
        on_demand = {
            "product": posted["product"],
            "risk": parse_risk(fields, posted),
            "as_of": as_of.isoformat(),
        }
    return {
        "usage": usage,
        "on_demand": on_demand,
        "annual_premium": _number(posted, "annual_premium"),
    }


def _page(
    request: Request, values: dict[str, str], status: int = 200, **extra: Any
) -> HTMLResponse:
    product_id = values.get("product", GIVEN)
    if product_id not in {GIVEN, *_products()}:
        product_id = values["product"] = GIVEN
    return render(
        request,
        "advise_breakeven.html",
        status,
        values=values,
        products=_products(),
        fields=_fields(request, product_id),
        **extra,
    )


@router.get(PATH, response_class=HTMLResponse)
def breakeven_form(request: Request, product: str = "equipment-micro") -> HTMLResponse:
    values = _defaults(product)
    values |= {
        f.name: f.default for f in _fields(request, product if product in _products() else GIVEN)
    }
    return _page(request, values)


@router.post(PATH, response_class=HTMLResponse)
async def breakeven_submit(request: Request) -> HTMLResponse:
    posted = {k: str(v) for k, v in (await request.form()).items()}
    values = _defaults(posted.get("product", GIVEN)) | posted
    product_id = values["product"] if values["product"] in _products() else GIVEN
    try:
        result = on_demand_vs_annual(build_request(values, _fields(request, product_id)))
    except InvalidInput as e:
        return _page(request, values, 422, error=e)
    usages = [Decimal(u) for u in result.usage_per_month]
    plot = breakeven_plot(
        [Decimal(p.usage) for p in result.curve],
        [Decimal(p.on_demand_yearly) for p in result.curve],
        Decimal(result.annual_premium),
        unit="day" if result.unit == "day" else "hour",
        threshold=None
        if result.threshold_per_month is None
        else Decimal(result.threshold_per_month),
        usage=sum(usages, Decimal(0)) / len(usages),
        usage_cost=Decimal(result.on_demand_yearly),
        lang=lang_of(request),
    ).decode("utf-8")
    return _page(request, values, result=result, plot=plot)
