"""Quote pages: ``/quote`` (the product catalogue) and ``/quote/{product_id}`` (form + breakdown).

The form is generated from the product's risk fields (:mod:`polis.web.quote_form`); the quote is the
one of the service (:func:`polis.services.quotes.quote`, the same as ``POST /v1/quotes``), shown line
by line: pure premium per cover with its tariff steps, loadings, net premium, cat-nat surcharge,
taxes with their rate and legal reference, fees, contributions, the total, the explanation, and the
JSON with the equivalent ``curl`` and ``polis quote`` commands. Bad input → the form again with the
message and its field (HTTP 422); unknown product or version → 404 page.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from polis.calc.premium_lines import CoverOut
from polis.kernel.errors import InvalidInput
from polis.kernel.time import to_local, utc_now
from polis.policies.catalogue import CatalogueEntry, ProductNotFound, default_catalogue
from polis.policies.product import CoverSpec
from polis.services.quotes import QuoteView, TariffOut, quote
from polis.web.i18n import Lang, translator
from polis.web.quote_form import (
    Formatter,
    FormField,
    form_fields,
    form_values,
    parse_as_of,
    parse_risk,
)
from polis.web.rendering import lang_of, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Label = Callable[[str, str], str]


@dataclass(frozen=True, slots=True)
class FactorRow:
    """A tariff factor as shown: the risk field's label and value label, the code and key."""

    name: str
    label: str
    key: str
    code: str
    factor: Decimal


@dataclass(frozen=True, slots=True)
class CoverBlock:
    """One cover of the quote: its terms, how its pure premium was reached, and its priced lines."""

    spec: CoverSpec
    name: str
    tariff: TariffOut
    lines: CoverOut
    factors: list[FactorRow]
    minimum_applied: bool
    basis_in_euros: bool


@dataclass(frozen=True, slots=True)
class Totals:
    pure: Decimal
    loadings: Decimal
    net: Decimal
    surcharges: Decimal
    taxes: Decimal
    contributions: Decimal
    fees: Decimal
    total: Decimal


def _today() -> dt.date:
    return to_local(utc_now()).date()


def _labeller(request: Request) -> Label:
    """``label(prefix, code)``: the message ``<prefix>.<code>``, else the code itself."""
    t = translator(lang_of(request))

    def label(prefix: str, code: str) -> str:
        key = f"{prefix}.{code}"
        text = t(key)
        return code if text == key else text

    return label


def _fields(entry: CatalogueEntry, request: Request) -> list[FormField]:
    t = translator(lang_of(request))

    def option_label(field: str, value: str) -> str | None:
        key = f"quote.value.{field}.{value}"
        text = t(key)
        return None if text == key else text

    return form_fields(entry.product, lang_of(request), option_label)


def _entry(product_id: str, version: str | None, day: dt.date) -> CatalogueEntry:
    """The version asked for, else the latest valid on ``day``, else the latest (for the form)."""
    catalogue = default_catalogue()
    if version:
        return catalogue.get(product_id, version)
    try:
        return catalogue.get(product_id, as_of=day)
    except InvalidInput:
        return catalogue.versions(product_id)[-1]


def _not_found(request: Request, error: ProductNotFound) -> HTMLResponse:
    return render(request, "quote/not_found.html", 404, error=error)


def _input_of(field: str | None) -> str | None:
    """The form input an error is about: ``risk.declarations[2]`` → ``declarations``."""
    if field in {"as_of", "due_date"}:
        return "as_of"
    match = re.fullmatch(r"risk\.([a-z][a-z0-9_]*)(\[\d+\])?", field or "")
    return match.group(1) if match else None


def _page(
    request: Request,
    entry: CatalogueEntry,
    values: Mapping[str, str],
    as_of: str,
    version: str | None,
) -> dict[str, Any]:
    """The context shared by the form and the result."""
    lang = lang_of(request)
    return {
        "entry": entry,
        "product": entry.product,
        "product_name": getattr(entry.product.name, lang),
        "fields": _fields(entry, request),
        "values": values,
        "as_of": as_of,
        "pinned_version": version or "",
        "fmt": Formatter(lang),
        "label": _labeller(request),
    }


@router.get("/quote", response_class=HTMLResponse)
def quote_index(request: Request) -> HTMLResponse:
    entries = default_catalogue().entries()
    counts: dict[str, int] = {}
    for e in entries:
        counts[e.product.id] = counts.get(e.product.id, 0) + 1
    return render(
        request,
        "quote_index.html",
        entries=entries,
        several={pid for pid, n in counts.items() if n > 1},
        fmt=Formatter(lang_of(request)),
        label=_labeller(request),
    )


@router.get("/quote/{product_id}", response_class=HTMLResponse)
def quote_form_page(
    request: Request,
    product_id: str,
    version: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    today = _today()
    try:
        entry = _entry(product_id, version, today)
    except ProductNotFound as e:
        return _not_found(request, e)
    values = form_values(_fields(entry, request))
    return render(
        request, "quote.html", **_page(request, entry, values, today.isoformat(), version)
    )


@router.post("/quote/{product_id}", response_class=HTMLResponse)
async def quote_submit(request: Request, product_id: str) -> HTMLResponse:
    posted = {k: str(v) for k, v in (await request.form()).items()}
    version = posted.get("version") or None
    today = _today()
    try:
        entry = _entry(product_id, version, today)
    except ProductNotFound as e:
        return _not_found(request, e)
    fields = _fields(entry, request)
    page = _page(request, entry, form_values(fields, posted), posted.get("as_of", ""), version)
    try:
        as_of = parse_as_of(posted.get("as_of", ""), today)
        risk = parse_risk(fields, posted)
        view = quote(product_id, risk, version=version, as_of=as_of)
    except ProductNotFound as e:
        return _not_found(request, e)
    except InvalidInput as e:
        return render(request, "quote.html", 422, **page, error=e, error_input=_input_of(e.field))
    if view.version != entry.product.version:  # the version valid on as_of, not today
        entry = default_catalogue().get(product_id, view.version)
        page |= _page(request, entry, page["values"], page["as_of"], version)
    page["as_of"] = as_of.isoformat()
    return render(request, "quote.html", **page, **_result(request, page, risk, view))


def _result(
    request: Request, page: Mapping[str, Any], risk: dict[str, Any], view: QuoteView
) -> dict[str, Any]:
    """The context of the breakdown, from the quote view and the product it was priced on."""
    lang = lang_of(request)
    fields: list[FormField] = page["fields"]
    return {
        "result": view,
        "covers": _covers(page["entry"], view, fields, lang),
        "totals": _totals(view),
        "risk_rows": _risk_rows(fields, view.risk, page["fmt"], translator(lang)),
        "dev": _developer(request, page["pinned_version"] or None, risk, view),
    }


_EURO_BASES = {"insured_value", "declarations"}
_EURO_UNITS = {"turnover", "payroll"}


def _factor_rows(
    spec: CoverSpec, tariff: TariffOut, fields: list[FormField], t: Callable[..., str]
) -> list[FactorRow]:
    by_name = {f.name: f for f in fields}
    rows = []
    for factor_spec, found in zip(spec.tariff.factors, tariff.factors, strict=True):
        field = by_name.get(factor_spec.field)
        key = found.key
        if field is not None and field.type == "enum":
            key = field.option_label(found.key)
        elif field is not None and field.type == "boolean":
            key = t("quote.yes") if found.key == "true" else t("quote.no")
        label = field.label if field else found.name
        rows.append(FactorRow(found.name, label, key, found.key, found.factor))
    return rows


def _covers(
    entry: CatalogueEntry, view: QuoteView, fields: list[FormField], lang: Lang
) -> list[CoverBlock]:
    t = translator(lang)
    specs = {c.id: c for c in entry.product.covers}
    tariffs = {t.cover: t for t in view.tariff}
    minimums = {
        m.group(1)
        for line in view.explanation
        if (m := re.fullmatch(r"minimum charge \[(.+)\]", line.step))
    }
    return [
        CoverBlock(
            spec=specs[c.id],
            name=getattr(specs[c.id].name, lang),
            tariff=tariffs[c.id],
            lines=c,
            factors=_factor_rows(specs[c.id], tariffs[c.id], fields, t),
            minimum_applied=c.id in minimums,
            basis_in_euros=tariffs[c.id].basis_kind in _EURO_BASES
            or tariffs[c.id].basis_label in _EURO_UNITS,
        )
        for c in view.covers
    ]


def _totals(view: QuoteView) -> Totals:
    return Totals(
        pure=view.pure_premium,
        loadings=sum((x.amount for x in view.loadings), Decimal(0)),
        net=view.net_premium,
        surcharges=sum((x.amount for x in view.surcharges), Decimal(0)),
        taxes=sum((x.amount for x in view.taxes), Decimal(0)),
        contributions=sum((x.amount for x in view.contributions), Decimal(0)),
        fees=sum((x.amount for x in view.fees), Decimal(0)),
        total=view.total_premium,
    )


def _shown(f: FormField, value: Any, fmt: Formatter, t: Callable[..., str]) -> str:
    if value is None:
        return "—"
    if f.type == "enum":
        return f.option_label(value)
    if f.type == "boolean":
        return t("quote.yes") if value else t("quote.no")
    if isinstance(value, list):
        return " ; ".join(fmt.number(v) for v in value)
    return fmt.number(value)


def _risk_rows(
    fields: list[FormField], risk: Mapping[str, Any], fmt: Formatter, t: Callable[..., str]
) -> list[tuple[str, str, str]]:
    """``(name, label, value shown)`` for each risk field, defaults applied."""
    return [(f.name, f.label, _shown(f, risk.get(f.name), fmt, t)) for f in fields]


def _developer(
    request: Request, version: str | None, risk: dict[str, Any], view: QuoteView
) -> dict[str, str]:
    """The same quote for developers: the API request and response, curl and CLI commands."""
    product_id, as_of = view.product, view.as_of
    body: dict[str, Any] = {"product": product_id}
    if version:
        body["version"] = version
    body |= {"risk": risk, "as_of": as_of.isoformat()}
    base = str(request.base_url).rstrip("/")
    compact = json.dumps(body, ensure_ascii=False)
    options = f" --version {shlex.quote(version)}" if version else ""
    return {
        "request": json.dumps(body, indent=2, ensure_ascii=False),
        "response": json.dumps(view.model_dump(mode="json"), indent=2, ensure_ascii=False),
        "curl": f"curl -s -X POST {base}/v1/quotes \\\n  -H 'Content-Type: application/json' \\\n"
        f"  -d {shlex.quote(compact)}",
        "cli": f"echo {shlex.quote(json.dumps(risk, ensure_ascii=False))} \\\n"
        f"  | polis quote {shlex.quote(product_id)} --input - --as-of {as_of.isoformat()}{options}",
    }
