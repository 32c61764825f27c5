"""The public verification page of certificates: ``/verify/{number}`` (the QR code's address) and
``POST /verify`` (upload a certificate PDF to check its embedded, signed content).

No account and no key: anyone shown a certificate — a venue, a client, a landlord — can check it.
Checks are throttled per client address with the API's buckets (``polis.api.ratelimit``): past
the limit the page answers 429 with ``Retry-After`` and says when to try again.
The page says valid / not yet valid / expired / revoked / unknown / tampered, with the period in
Europe/Paris time and its offsets, and shows the certified content so that a reader can compare it
with the printed page. French by default, English with the language switch.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from polis.api.ratelimit import verify_wait
from polis.api.routers.ondemand import certificate_issuer, clock_of
from polis.kernel.errors import InvalidInput, PolisError
from polis.kernel.money import Money
from polis.kernel.time import parse_instant
from polis.policies.certificate import Language, format_local, format_money
from polis.services import ondemand_certificates
from polis.services.ondemand_certificates import VerificationView
from polis.store import SqlUnitOfWork
from polis.web.i18n import translator
from polis.web.rendering import lang_of, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_PDF_MAX = 5 * 1024 * 1024
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _uow(request: Request) -> SqlUnitOfWork:
    return SqlUnitOfWork(request.app.state.session_factory)


def _facts(certified: dict[str, Any] | None, lang: str) -> dict[str, Any] | None:
    """The certified content, formatted for reading (local times with offsets, money)."""
    if not certified:
        return None
    language: Language = "en" if lang == "en" else "fr"
    period = certified["period"]
    zone = period.get("timezone", "Europe/Paris")

    def money(item: dict[str, str]) -> str:
        return format_money(Money(Decimal(item["amount"]), item["currency"]), language)

    price = certified["price"]
    return {
        "insurer": certified["insurer"]["name"],
        "insured": certified["insured"]["name"],
        "siren_siret": certified["insured"].get("siren_siret"),
        "object": certified["insured_object"],
        "place": certified.get("place"),
        "geofence": certified.get("geofence"),
        "policy": certified["policy_number"],
        "start": format_local(parse_instant(period["start"]), zone),
        "end": format_local(parse_instant(period["end"]), zone),
        "zone": zone,
        "sums": [f"{line['label']} : {money(line)}" for line in certified["sums_insured"]],
        "deductibles": [f"{line['label']} : {money(line)}" for line in certified["deductibles"]],
        "exclusions": certified["exclusions"],
        "product": f"{certified['product']['id']} {certified['product']['version']}",
        "terms_sha256": certified["product"]["terms_sha256"],
        "price": money({"amount": price["total"], "currency": price["currency"]}),
        "issued": format_local(parse_instant(certified["issued_at"]), zone),
    }


def _page(
    request: Request,
    view: VerificationView | None,
    *,
    number: str = "",
    error: PolisError | None = None,
    status: int = 200,
) -> Response:
    lang = lang_of(request)
    checked: datetime | None = view.checked_at if view else None
    response = render(
        request,
        "verify.html",
        status,
        view=view,
        number=view.number if view else number,
        message=(view.message_en if lang == "en" else view.message) if view else None,
        facts=_facts(view.certified if view else None, lang),
        checked=format_local(checked) if checked else None,
        error=error,
    )
    response.headers.update(_HEADERS)
    return response


@router.get("/verify", response_class=HTMLResponse)
def verify_form(request: Request) -> Response:
    return _page(request, None)


def _throttled(request: Request, wait: int, number: str = "") -> Response:
    """429: too many checks from this address, try again in ``wait`` seconds."""
    message = translator(lang_of(request))("verify.rate_limited", seconds=wait)
    error = PolisError(message, code="request.rate_limited")
    response = _page(request, None, number=number, error=error, status=429)
    response.headers["Retry-After"] = str(wait)
    return response


Wait = Annotated[int, Depends(verify_wait)]


@router.get("/verify/{number}", response_class=HTMLResponse)
def verify_page(request: Request, number: str, wait: Wait) -> Response:
    if wait:
        return _throttled(request, wait, number)
    issuer = certificate_issuer(request)
    view = ondemand_certificates.verify_number(
        _uow(request), issuer.signer, number, now=clock_of(request)
    )
    return _page(request, view, status=404 if view.status == "unknown" else 200)


@router.post("/verify", response_class=HTMLResponse)
def verify_upload(request: Request, file: Annotated[UploadFile, File()], wait: Wait) -> Response:
    if wait:
        return _throttled(request, wait)
    data = file.file.read(_PDF_MAX + 1)
    try:
        if len(data) > _PDF_MAX:
            raise InvalidInput("a certificate PDF is at most 5 MB", field="file")
        issuer = certificate_issuer(request)
        view = ondemand_certificates.verify_pdf(
            _uow(request), issuer.signer, data, now=clock_of(request)
        )
    except InvalidInput as e:
        return _page(request, None, error=e, status=422)
    return _page(request, view)
