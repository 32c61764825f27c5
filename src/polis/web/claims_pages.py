"""The claims handler's pages: sign-in, the queue, the declaration form and the claim page.

Every page but the sign-in needs the handler's session (:mod:`polis.web.claims_session`); without
one the browser is sent to ``/claims/login``. The tenant is the session's: another tenant's claim
answers the 404 page, exactly like a missing one. Actions are forms that post, then redirect back
to the claim (post/redirect/get); a refused action re-renders the claim with the error and its
HTTP status (409 for a transition the table forbids, 422 for bad input, 413/415 for a file).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from polis.api.errors import status_for
from polis.api.routers.claims import evidence_response, evidence_store
from polis.claims.lifecycle import ClaimStatus, RefusalReason
from polis.kernel.errors import InvalidInput, NotFound, PolisError, Unauthenticated
from polis.kernel.money import to_decimal
from polis.kernel.time import PARIS, to_local, utc_now
from polis.services import claim_evidence, claim_settlement, claim_views, claims
from polis.store import SqlUnitOfWork
from polis.web.claims_session import (
    WebSession,
    clear_session,
    csrf_token,
    current_session,
    open_session,
    require_csrf,
)
from polis.web.i18n import Lang
from polis.web.rendering import lang_of, render

__all__ = ["fmt_instant", "fmt_money", "money_formatter", "router"]

router = APIRouter(include_in_schema=False)


def fmt_money(value: Decimal | None, lang: Lang = "fr") -> str:
    """``1234.5`` → ``1 234,50`` in French, ``1,234.50`` in English (the page adds €)."""
    if value is None:
        return ""
    text = f"{value:,.2f}"
    return text if lang == "en" else text.replace(",", " ").replace(".", ",")


def money_formatter(request: Request) -> Callable[[Decimal | None], str]:
    """:func:`fmt_money` in the page's language."""
    lang = lang_of(request)
    return lambda value: fmt_money(value, lang)


def fmt_instant(value: datetime | None) -> str:
    """An instant as Europe/Paris wall-clock time."""
    return "" if value is None else to_local(value).strftime("%Y-%m-%d %H:%M")


def _uow(request: Request) -> SqlUnitOfWork:
    return SqlUnitOfWork(request.app.state.session_factory)


def _handler(request: Request) -> WebSession:
    """The signed-in handler, else a redirect to the sign-in page (which comes back here)."""
    try:
        return current_session(request)
    except Unauthenticated as e:
        target = "/claims/login?next=" + quote(request.url.path)
        raise HTTPException(status_code=303, headers={"Location": target}) from e


Handler = Annotated[WebSession, Depends(_handler)]
Csrf = Annotated[str, Form()]


def _page(
    request: Request, session: WebSession, name: str, status: int = 200, **ctx: Any
) -> Response:
    return render(
        request,
        name,
        status,
        csrf=csrf_token(request, session),
        fmt_money=money_formatter(request),
        fmt_instant=fmt_instant,
        **ctx,
    )


def _not_found(request: Request, error: PolisError) -> Response:
    return render(request, "claims/not_found.html", 404, error=error)


# --- sign-in ------------------------------------------------------------------------------------


@router.get("/claims/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/claims/queue") -> Response:
    return render(request, "claims/login.html", next=_safe(next))


@router.post("/claims/login", response_class=HTMLResponse)
def login(
    request: Request,
    api_key: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/claims/queue",
) -> Response:
    response = RedirectResponse(_safe(next), status_code=303)
    try:
        open_session(request, response, api_key)
    except Unauthenticated as e:
        return render(request, "claims/login.html", 401, next=_safe(next), error=e)
    return response


@router.post("/claims/logout")
def logout(request: Request, session: Handler, csrf: Csrf) -> Response:
    require_csrf(request, session, csrf)
    response = RedirectResponse("/claims/login", status_code=303)
    clear_session(response)
    return response


# --- queue and declaration ----------------------------------------------------------------------


@router.get("/claims", include_in_schema=False)
def claims_root() -> RedirectResponse:
    return RedirectResponse("/claims/queue", status_code=303)


@router.get("/claims/queue", response_class=HTMLResponse)
def queue(
    request: Request,
    session: Handler,
    status: Annotated[str, Query()] = "",
    open_only: Annotated[str, Query(alias="open")] = "on",
) -> Response:
    wanted = [ClaimStatus(status)] if status in set(ClaimStatus) else None
    rows = claims.list_claims(
        _uow(request), session.tenant_id, statuses=wanted, open_only=open_only == "on", limit=500
    )
    today = to_local(utc_now()).date()
    ages = {row.id: (today - to_local(row.declared_at).date()).days for row in rows}
    return _page(
        request,
        session,
        "claims/queue.html",
        rows=rows,
        ages=ages,
        statuses=list(ClaimStatus),
        status_filter=status,
        open_only=open_only == "on",
    )


@router.get("/claims/new", response_class=HTMLResponse)
def new_claim(request: Request, session: Handler) -> Response:
    return _page(request, session, "claims/new.html", form={})


@router.post("/claims/new", response_class=HTMLResponse)
async def declare(request: Request, session: Handler) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    try:
        require_csrf(request, session, form.get("csrf", ""))
        payload = {
            "policy_id": form.get("policy_id", "").strip(),
            "cover_id": form.get("cover_id", "").strip(),
            "peril": form.get("peril", "").strip(),
            "loss_at": _local_instant(form.get("loss_at", ""), "loss_at"),
            "description": form.get("description", ""),
            "estimated_amount": form.get("estimated_amount", "").replace(",", ".").strip(),
            "circumstances": form.get("circumstances", ""),
        }
        result = claims.declare_claim(_uow(request), session.tenant_id, payload, session.actor)
    except PolisError as e:
        return _page(request, session, "claims/new.html", status_for(e), form=form, error=e)
    link = str(request.base_url).rstrip("/") + result.insured_path
    return _page(request, session, "claims/declared.html", result=result, insured_link=link)


# --- the claim page -----------------------------------------------------------------------------


@router.get("/claims/{number}", response_class=HTMLResponse)
def claim_page(request: Request, number: str, session: Handler) -> Response:
    return _claim(request, session, number)


def _claim(
    request: Request, session: WebSession, number: str, error: PolisError | None = None
) -> Response:
    try:
        file = claim_views.claim_file(_uow(request), session.tenant_id, number)
    except NotFound as e:
        return _not_found(request, e)
    status = 200 if error is None else status_for(error)
    return _page(
        request,
        session,
        "claims/claim.html",
        status,
        file=file,
        error=error,
        refusal_reasons=list(RefusalReason),
        paid_left=_left_to_pay(file),
    )


def _left_to_pay(file: claim_views.ClaimFile) -> Decimal | None:
    offer = file.offer
    if offer is None or offer.status != "accepted":
        return None
    return offer.indemnity - file.totals.paid


def _act(
    request: Request, session: WebSession, number: str, csrf: str, action: Callable[[], object]
) -> Response:
    """Run one handler action, then back to the claim (or the claim with the error)."""
    try:
        require_csrf(request, session, csrf)
        action()
    except NotFound as e:
        return _not_found(request, e)
    except PolisError as e:
        return _claim(request, session, number, error=e)
    return RedirectResponse(f"/claims/{quote(number)}", status_code=303)


@router.post("/claims/{number}/status", response_class=HTMLResponse)
def change_status(
    request: Request,
    number: str,
    session: Handler,
    csrf: Csrf,
    status: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    refusal_reason: Annotated[str, Form()] = "",
) -> Response:
    return _act(
        request,
        session,
        number,
        csrf,
        lambda: claims.change_status(
            _uow(request),
            session.tenant_id,
            number,
            status,
            session.actor,
            reason=reason,
            refusal_reason=refusal_reason or None,
        ),
    )


@router.post("/claims/{number}/reserve", response_class=HTMLResponse)
def set_reserve(
    request: Request,
    number: str,
    session: Handler,
    csrf: Csrf,
    amount: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    return _act(
        request,
        session,
        number,
        csrf,
        lambda: claims.set_reserve(
            _uow(request), session.tenant_id, number, _amount(amount), reason, session.actor
        ),
    )


@router.post("/claims/{number}/offer", response_class=HTMLResponse)
async def make_offer(request: Request, number: str, session: Handler) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    return _act(
        request,
        session,
        number,
        form.get("csrf", ""),
        lambda: claim_settlement.make_offer(
            _uow(request), session.tenant_id, number, _offer_facts(form), session.actor
        ),
    )


@router.post("/claims/{number}/answer", response_class=HTMLResponse)
def record_answer(
    request: Request,
    number: str,
    session: Handler,
    csrf: Csrf,
    answer: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    def run() -> object:
        uow = _uow(request)
        if answer == "accept":
            return claim_settlement.accept_offer(uow, session.tenant_id, number, session.actor)
        return claim_settlement.contest_offer(uow, session.tenant_id, number, reason, session.actor)

    return _act(request, session, number, csrf, run)


@router.post("/claims/{number}/payment", response_class=HTMLResponse)
def record_payment(
    request: Request,
    number: str,
    session: Handler,
    csrf: Csrf,
    amount: Annotated[str, Form()],
    reference: Annotated[str, Form()] = "",
) -> Response:
    return _act(
        request,
        session,
        number,
        csrf,
        lambda: claim_settlement.record_payment(
            _uow(request), session.tenant_id, number, _amount(amount), reference, session.actor
        ),
    )


@router.post("/claims/{number}/recovery", response_class=HTMLResponse)
def record_recovery(
    request: Request,
    number: str,
    session: Handler,
    csrf: Csrf,
    amount: Annotated[str, Form()],
    reference: Annotated[str, Form()] = "",
    source: Annotated[str, Form()] = "",
) -> Response:
    return _act(
        request,
        session,
        number,
        csrf,
        lambda: claim_settlement.record_recovery(
            _uow(request),
            session.tenant_id,
            number,
            _amount(amount),
            reference,
            source,
            session.actor,
        ),
    )


@router.post("/claims/{number}/evidence", response_class=HTMLResponse)
def add_evidence(
    request: Request,
    number: str,
    session: Handler,
    csrf: Csrf,
    file: Annotated[UploadFile, File()],
) -> Response:
    store = evidence_store(request.app.state.settings)
    return _act(
        request,
        session,
        number,
        csrf,
        lambda: claim_evidence.add_evidence(
            _uow(request),
            store,
            session.tenant_id,
            number,
            file.file,
            file.filename or "evidence",
            session.actor,
        ),
    )


@router.get("/claims/{number}/evidence/{evidence_id}")
def get_evidence(request: Request, number: str, evidence_id: str, session: Handler) -> Response:
    store = evidence_store(request.app.state.settings)
    try:
        view, data = claim_evidence.read_evidence(
            _uow(request), store, session.tenant_id, number, evidence_id
        )
    except NotFound as e:
        return _not_found(request, e)
    except PolisError as e:
        return _claim(request, session, number, error=e)
    return evidence_response(view, data)


# --- form helpers -------------------------------------------------------------------------------


def _amount(text: str) -> Decimal:
    return to_decimal(text.strip().replace(" ", "").replace(",", "."), field="amount")


def _local_instant(text: str, field: str) -> str:
    """``2026-03-02T10:00`` (an ``<input type=datetime-local>``, Paris time) → ISO 8601 with offset."""
    try:
        wall = datetime.fromisoformat(text.strip())
    except ValueError as e:
        raise InvalidInput("enter a date and a time", field=field) from e
    aware = wall if wall.tzinfo is not None else wall.replace(tzinfo=PARIS)
    return aware.isoformat()


def _offer_facts(form: dict[str, str]) -> dict[str, Any]:
    """The make-offer form → the loss facts of :class:`polis.services.claim_settlement.OfferIn`."""

    def value(name: str) -> str | None:
        text = form.get(name, "").strip().replace(",", ".")
        return text or None

    loss: dict[str, Any] = {}
    if value("loss_amount"):
        loss = {
            "amount": value("loss_amount"),
            "vat_rate": value("vat_rate"),
            "amount_includes_vat": form.get("amount_includes_vat") == "on",
            "vat_recoverable": form.get("vat_recoverable") == "on",
        }
        loss = {k: v for k, v in loss.items() if v is not None}
    valuation = {
        k: v for k in ("depreciation_rate", "age_years", "value") if (v := value(k)) is not None
    }
    codes = [c.strip() for c in form.get("circumstances", "").split(",") if c.strip()]
    facts: dict[str, Any] = {
        "loss": loss or None,
        "actual_value": value("actual_value"),
        "valuation": valuation or None,
        "circumstances": codes,
    }
    return {k: v for k, v in facts.items() if v is not None}


def _safe(target: str) -> str:
    """Only local paths are followed after sign-in."""
    return target if target.startswith("/") and not urlsplit(target).netloc else "/claims/queue"
