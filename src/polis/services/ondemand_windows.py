"""Cover windows of on-demand subscriptions: activate (now or scheduled), extend, stop early,
cancel, cover status, and the ``window.expired`` events.

**One activation = one transaction**: the window, its ledger charge, its signed certificate
(canonical content, SHA-256, Ed25519 signature: checkable at once), the item's policy windows (what
a claim is checked against), the audit entry and the outbox events (``window.activated``,
``certificate.issued``) are committed together or not at all. The certificate's PDF, a pure
function of the signed record, is rendered at its first download
(:func:`polis.services.ondemand_certificates.certificate_pdf`), outside this transaction.
Activations of one subscription queue on its row (``SELECT … FOR UPDATE``), because each reads the
item's usage book (the time already paid for, charged per local day, the days whose fee is paid):
overlapping windows are never billed twice, even when activated at the same instant. The window
and certificate numbers come from counters shared by all activations (gapless, locked until the
commit): they are taken last, after every read (see :func:`open_row`).

The ``*_row`` functions are the steps inside an open unit of work, shared with the triggers
(:mod:`polis.services.ondemand_triggers`): they take ``now`` — the instant the decision takes
effect, which a trigger may date in the recent past (a geofence entry is confirmed a few minutes
after the first ping inside) — and never commit.

Certificates: an activation issues one; an extension issues one for the longer period (the earlier
one stays true for its own period); an early stop revokes the window's certificates at the stop
instant and a cancellation at once.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from polis.calc._base import parse_request
from polis.kernel.errors import Conflict, InvalidInput, NotFound
from polis.kernel.time import Window, ensure_utc, local_midnight, to_local, utc_now
from polis.ondemand.activation import (
    Activation,
    Cancellation,
    Extension,
    Stop,
    activate,
    book_of,
    cancel,
    extend,
    stop,
)
from polis.ondemand.certificate_content import certificate_content
from polis.ondemand.codec import charge_from_json, charge_to_json, refund_from_json, refund_to_json
from polis.ondemand.intervals import month_window
from polis.ondemand.limits import limits_for
from polis.ondemand.lines import Line, taxes_of, total_of
from polis.ondemand.policy_terms import policy_covers
from polis.ondemand.pricing import Charge, ChargeKind, MonthVolume, month_volume
from polis.ondemand.refunds import Refund
from polis.ondemand.trigger_windows import close_trigger_window
from polis.ondemand.windows import CoverWindow, WindowState, cover_status, parse_when
from polis.services import audit, outbox
from polis.services.ondemand_certificates import (
    CertificateIssuer,
    CertificateProofView,
    certificate_links,
    issue_certificate,
    proof_view,
    register_signing_key,
    revoke_window_certificates,
)
from polis.services.ondemand_customers import customer_history
from polis.services.ondemand_subscriptions import SubscriptionContext, load_context
from polis.store.tables_ondemand import (
    OnDemandCertificateRow,
    OnDemandLedgerRow,
    OnDemandWindowRow,
)
from polis.store.uow import UnitOfWork

__all__ = [
    "ActivationIn",
    "ActivationView",
    "ChangeView",
    "CoverStatusView",
    "ExtendIn",
    "LineView",
    "PriceView",
    "StopIn",
    "WindowView",
    "activate_window",
    "cancel_row",
    "cancel_window",
    "close_row",
    "extend_row",
    "extend_window",
    "get_cover_status",
    "get_window",
    "list_windows",
    "open_row",
    "publish_expired",
    "retrying",
    "stop_row",
    "stop_window",
    "window_of",
    "window_view",
]

ZERO = Decimal("0.00")
T = TypeVar("T")
#: the id a window is priced under before its number is taken (``open_row``)
_PROVISIONAL_ID = "WIN-PROVISIONAL"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActivationIn(_Strict):
    """``POST /v1/subscriptions/{id}/windows`` body: now or scheduled; an end or a duration.

    Times are ISO 8601: with an offset or ``Z`` they are taken as given; without, they are
    Europe/Paris wall-clock times (a time in the spring gap is refused, an autumn time that
    happens twice is its first occurrence).
    """

    object_ref: str | None = Field(default=None, max_length=100, examples=["camera-1"])
    start: str | None = Field(
        default=None, max_length=40, description="absent: now", examples=["2026-06-13T09:00"]
    )
    end: str | None = Field(default=None, max_length=40, examples=["2026-06-13T19:00"])
    duration: timedelta | None = Field(
        default=None, description="ISO 8601 duration (PT2H) or seconds", examples=["PT2H"]
    )


class ExtendIn(_Strict):
    end: str = Field(max_length=40, examples=["2026-06-13T21:00:00+02:00"])


class StopIn(_Strict):
    at: str | None = Field(default=None, max_length=40, description="absent: now")


class LineView(_Strict):
    kind: str
    name: str
    cover: str | None
    amount: str
    rate: str | None = None


class PriceView(_Strict):
    """A charge (positive) or a refund (negative), line by line, taxes itemised."""

    total: str
    taxes: str
    excluding_taxes: str
    hours: str | None = None
    pure: str | None = None
    lines: list[LineView]
    explanation: list[str]


class WindowView(_Strict):
    id: str
    subscription_id: str
    customer_id: str
    object_ref: str
    policy_id: str
    start: datetime
    end: datetime
    sold_end: datetime
    local_start: str = Field(description="Europe/Paris wall-clock time with its offset")
    local_end: str
    duration_hours: str = Field(description="real elapsed hours (DST changes included)")
    state: WindowState
    phase: str = Field(description="scheduled, active, ended or cancelled at the time of asking")
    source: str
    source_ref: str | None
    created_at: datetime
    certificate: str | None
    links: dict[str, str]


class ActivationView(_Strict):
    window: WindowView
    price: PriceView
    certificate: str
    certificate_proof: CertificateProofView = Field(
        description="the certificate's content hash and Ed25519 signature: checkable at once "
        "(the PDF is rendered at its first download)"
    )
    links: dict[str, str]


class ChangeView(_Strict):
    window: WindowView
    refund: PriceView
    revoked_certificates: list[str]


class CoverStatusView(_Strict):
    object_ref: str
    at: datetime
    state: str = Field(examples=["covered"])
    until: datetime | None
    next_start: datetime | None
    current: list[WindowView]
    upcoming: list[WindowView]


# --- conversions ----------------------------------------------------------------------------


def window_of(row: OnDemandWindowRow) -> CoverWindow:
    return CoverWindow(
        id=row.id,
        subscription_id=row.subscription_id,
        object_ref=row.object_ref,
        start=row.starts_at,
        end=row.ends_at,
        state=WindowState(row.state),
        created_at=row.created_at,
        sold_end=row.sold_end,
        source=row.source,
        source_ref=row.source_ref,
    )


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _lines(lines: Sequence[Line]) -> list[LineView]:
    return [
        LineView(
            kind=x.kind.value,
            name=x.name,
            cover=x.cover,
            amount=_money(x.amount),
            rate=None if x.rate is None else str(x.rate),
        )
        for x in lines
    ]


def _charge_view(charge: Charge) -> PriceView:
    taxes = taxes_of(charge.lines)
    return PriceView(
        total=_money(charge.total),
        taxes=_money(taxes),
        excluding_taxes=_money(charge.total - taxes),
        hours=f"{charge.hours.normalize():f}",
        pure=_money(charge.pure),
        lines=_lines(charge.lines),
        explanation=[f"{e.step}: {e.formula}" for e in charge.explanation],
    )


def _refund_view(refund: Refund) -> PriceView:
    taxes = taxes_of(refund.lines)
    return PriceView(
        total=_money(refund.total),
        taxes=_money(taxes),
        excluding_taxes=_money(refund.total - taxes),
        lines=_lines(refund.lines),
        explanation=[f"{e.step}: {e.formula}" for e in refund.explanation],
    )


def window_view(
    uow: UnitOfWork, row: OnDemandWindowRow, now: datetime, public_base_url: str = ""
) -> WindowView:
    certificates = uow.ondemand.certificates_of_window(row.id)
    latest = certificates[-1].number if certificates else None
    return _window_view(row, now, public_base_url, latest)


def _window_view(
    row: OnDemandWindowRow, now: datetime, public_base_url: str, certificate: str | None
) -> WindowView:
    """The window as the API shows it, ``certificate`` its latest certificate."""
    window = window_of(row)
    links = {"self": f"/v1/windows/{row.id}"}
    if certificate is not None:
        links |= certificate_links(certificate, public_base_url)
    return WindowView(
        id=row.id,
        subscription_id=row.subscription_id,
        customer_id=row.customer_id,
        object_ref=row.object_ref,
        policy_id=row.policy_id,
        start=row.starts_at,
        end=row.ends_at,
        sold_end=row.sold_end,
        local_start=to_local(row.starts_at).isoformat(),
        local_end=to_local(row.ends_at).isoformat(),
        duration_hours=f"{window.window.hours().normalize():f}",
        state=window.state,
        phase=window.phase(now).value,
        source=row.source,
        source_ref=row.source_ref,
        created_at=row.created_at,
        certificate=certificate,
        links=links,
    )


def _now(now: datetime | None) -> datetime:
    return ensure_utc(now, field="now") if now is not None else utc_now()


CONTENTION = "audit.concurrent_append"
_ATTEMPTS = 6


def retrying(run: Callable[[], T]) -> T:
    """Run a use case again when it lost a race on the tenant's audit chain (PostgreSQL: two
    transactions appended to one chain; the loser was rolled back whole, so running it again is
    safe). Other errors, and the sixth loss in a row, go to the caller."""
    for attempt in range(_ATTEMPTS):
        try:
            return run()
        except Conflict as e:
            if e.code != CONTENTION or attempt == _ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.002, 0.02) * (attempt + 1))  # noqa: S311 - jitter
    raise AssertionError("unreachable")  # pragma: no cover


def _when(text: str | None, field: str) -> datetime | None:
    return None if text is None else parse_when(text, field=field)


# --- the object's state -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ObjectState:
    rows: dict[str, OnDemandWindowRow]
    windows: list[CoverWindow]
    charges: list[Charge]
    refunds: list[Refund]

    def charges_of(self, window_id: str) -> list[Charge]:
        return [c for c in self.charges if c.window_id == window_id]


def _object_state(uow: UnitOfWork, subscription_id: str, object_ref: str) -> _ObjectState:
    rows = uow.ondemand.windows_of_object(subscription_id, object_ref)
    charges, refunds = [], []
    for entry in uow.ondemand.entries_of_object(subscription_id, object_ref):
        detail = json.loads(entry.detail)
        if entry.kind == "charge":
            charges.append(charge_from_json(detail))
        else:
            refunds.append(refund_from_json(detail))
    return _ObjectState({r.id: r for r in rows}, [window_of(r) for r in rows], charges, refunds)


def _month_volume(uow: UnitOfWork, ctx: SubscriptionContext, now: datetime) -> MonthVolume:
    """The subscription's Europe/Paris month so far (activations, hours) for volume tiers."""
    local = to_local(now)
    month = month_window(local.year, local.month)
    charges = [
        charge_from_json(json.loads(e.detail))
        for e in uow.ondemand.charges_of_subscription_between(
            ctx.subscription.id, month.start, month.end
        )
    ]
    return month_volume(charges, local.year, local.month)


def _add_ledger(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    window: CoverWindow,
    *,
    kind: str,
    reason: str,
    at: datetime,
    lines: Sequence[Line],
    detail: dict[str, Any],
    now: datetime,
) -> OnDemandLedgerRow:
    row = OnDemandLedgerRow(
        tenant_id=ctx.tenant_id,
        customer_id=ctx.customer.id,
        subscription_id=ctx.subscription.id,
        window_id=window.id,
        object_ref=window.object_ref,
        kind=kind,
        reason=reason,
        at=at,
        due_date=to_local(at).date(),
        total=total_of(lines),
        taxes=taxes_of(lines),
        detail=json.dumps(detail, sort_keys=True, separators=(",", ":")),
        recorded_at=now,
    )
    uow.ondemand.add(row)
    return row


def _sync_policy(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    object_ref: str,
    windows: Sequence[Window] | None = None,
) -> str:
    """Write the item's live windows (read again unless given) into its policy's cover terms; the
    new terms' SHA-256."""
    policy_id = ctx.policy_of(object_ref)
    policy = uow.policies.get(ctx.tenant_id, policy_id)
    if policy is None:  # pragma: no cover - created with the subscription
        raise NotFound(f"no policy {policy_id!r}", code="policy.not_found")
    if windows is None:
        windows = [
            window_of(r).window
            for r in uow.ondemand.windows_of_object(ctx.subscription.id, object_ref)
            if r.state != WindowState.CANCELLED.value
        ]
    covers = policy_covers(
        ctx.entry.product, ctx.terms.terms, ctx.subscription, windows, lang=ctx.language
    )
    text = audit.canonical_json({"covers": covers})
    policy.terms = text
    policy.terms_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return policy.terms_sha256


def _window_paid(uow: UnitOfWork, window_id: str) -> tuple[Decimal, Decimal]:
    entries = uow.ondemand.entries_of_windows([window_id])
    return sum((e.total for e in entries), ZERO), sum((e.taxes for e in entries), ZERO)


def _before_certificate(
    uow: UnitOfWork, ctx: SubscriptionContext, issuer: CertificateIssuer, now: datetime
) -> str | None:
    """What a certificate needs from the database besides its number (read before the number is
    taken): the signing key registered; the geofence named on it, if the subscription has one."""
    register_signing_key(uow, issuer.signer, now)
    geofence = uow.ondemand.geofence(ctx.subscription.id)
    return (ctx.subscription.geofence_ref or "geofence") if geofence else None


def _certify(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    issuer: CertificateIssuer,
    window: CoverWindow,
    now: datetime,
    *,
    paid: tuple[Decimal, Decimal],
    geofence: str | None,
) -> OnDemandCertificateRow:
    """Number, sign and store the certificate of ``window`` (``paid``: its total and taxes so far;
    the caller ran :func:`_before_certificate`)."""
    total, taxes = paid
    content = certificate_content(
        number=str(uow.ids.next("ATT", now.year)),
        policy_number=ctx.policy_of(window.object_ref),
        insurer=issuer.insurer,
        customer=ctx.customer,
        subscription=ctx.subscription,
        item=ctx.subscription.item(window.object_ref),
        terms=ctx.terms.terms,
        period=window.window,
        price_total=max(total, ZERO),
        price_taxes=min(max(taxes, ZERO), max(total, ZERO)),
        issued_at=now,
        language=ctx.language,
        geofence=geofence,
    )
    return issue_certificate(
        uow,
        issuer,
        content,
        tenant_id=ctx.tenant_id,
        window_id=window.id,
        subscription_id=ctx.subscription.id,
        now=now,
        key_registered=True,
    )


def _event_payload(row: OnDemandWindowRow, **extra: Any) -> dict[str, Any]:
    return {
        "window_id": row.id,
        "subscription_id": row.subscription_id,
        "customer_id": row.customer_id,
        "object_ref": row.object_ref,
        "policy_id": row.policy_id,
        "start": row.starts_at,
        "end": row.ends_at,
        "state": row.state,
        "source": row.source,
        "source_ref": row.source_ref,
        **extra,
    }


def _record(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    row: OnDemandWindowRow,
    *,
    action: str,
    actor: str,
    at: datetime,
    **data: Any,
) -> None:
    payload = _event_payload(row, **data)
    audit.record(
        uow,
        tenant_id=ctx.tenant_id,
        actor=actor,
        action=action,
        entity_type="window",
        entity_id=row.id,
        data=json.loads(outbox.payload_json(payload)),
        at=at,
    )
    outbox.publish(uow, tenant_id=ctx.tenant_id, event_type=action, payload=payload)


# --- steps inside an open unit of work -----------------------------------------------------------


def open_row(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    issuer: CertificateIssuer,
    *,
    actor: str,
    now: datetime,
    object_ref: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    duration: timedelta | None = None,
    source: str = "manual",
    source_ref: str | None = None,
    recorded_at: datetime | None = None,
) -> tuple[OnDemandWindowRow, Activation, OnDemandCertificateRow]:
    """Open, price, store and certify a window (no commit).

    Everything that reads is done first, and the window is priced (refusals raised) with a
    provisional id; only then are the window and certificate numbers taken. Those counters are
    shared by every activation of every tenant and stay locked until the commit, so what runs after
    them is kept to the writes: the window, its charge, the signed certificate, the audit entry and
    the events.
    """
    real_now = recorded_at or now
    item = ctx.subscription.item(object_ref)
    state = _object_state(uow, ctx.subscription.id, item.ref)
    book = book_of(item.ref, state.windows, state.charges, state.refunds)
    day = to_local(now).date()
    since, until = local_midnight(day), local_midnight(day + timedelta(days=1))
    customer_windows = uow.ondemand.windows_of_customer(ctx.customer.id)
    today = sum(  # the customer's live windows created on the local day (daily limit)
        1
        for w in customer_windows
        if since <= w.created_at < until and w.state != WindowState.CANCELLED.value
    )
    history = customer_history(uow, ctx.customer_row, now, customer_windows)
    limits = limits_for(ctx.customer, history, at=now)
    volume = _month_volume(uow, ctx, now)

    def priced(window_id: str) -> Activation:
        return activate(
            ctx.subscription,
            ctx.customer,
            limits,
            ctx.card,
            ctx.terms.terms,
            window_id=window_id,
            now=now,
            book=book,
            volume=volume,
            activations_today=today,
            object_ref=item.ref,
            start=start,
            end=end,
            duration=duration,
            source=source,
            source_ref=source_ref,
        )

    planned = priced(_PROVISIONAL_ID).window
    live = [w.window for w in state.windows if w.state is not WindowState.CANCELLED]
    policy_sha = _sync_policy(uow, ctx, item.ref, [*live, planned.window])
    geofence = _before_certificate(uow, ctx, issuer, real_now)
    # from here on, writes only (the WIN and ATT counters are held until the commit)
    result = priced(str(uow.ids.next("WIN", now.year)))
    window = result.window
    row = OnDemandWindowRow(
        id=window.id,
        tenant_id=ctx.tenant_id,
        customer_id=ctx.customer.id,
        subscription_id=ctx.subscription.id,
        object_ref=window.object_ref,
        policy_id=ctx.policy_of(window.object_ref),
        starts_at=window.start,
        ends_at=window.end,
        sold_end=window.sold_end,
        state=window.state.value,
        source=source,
        source_ref=source_ref,
        created_at=window.created_at,
        updated_at=real_now,
        expired_notified_at=None,
    )
    uow.ondemand.add(row)
    ledger = _add_ledger(
        uow,
        ctx,
        window,
        kind="charge",
        reason=ChargeKind.ACTIVATION.value,
        at=result.charge.at,
        lines=result.charge.lines,
        detail=charge_to_json(result.charge),
        now=real_now,
    )
    certificate = _certify(
        uow,
        ctx,
        issuer,
        window,
        real_now,
        paid=(ledger.total, ledger.taxes),
        geofence=geofence,
    )
    _record(
        uow,
        ctx,
        row,
        action="window.activated",
        actor=actor,
        at=real_now,
        certificate=certificate.number,
        total=_money(result.charge.total),
        taxes=_money(taxes_of(result.charge.lines)),
        policy_terms_sha256=policy_sha,
    )
    return row, result, certificate


def _require_window(
    uow: UnitOfWork, tenant_id: str, window_id: str
) -> tuple[SubscriptionContext, OnDemandWindowRow]:
    found = uow.ondemand.window(tenant_id, window_id.strip())
    if found is None:
        raise NotFound(f"no window {window_id!r}", field="window_id", code="window.not_found")
    ctx = load_context(uow, tenant_id, found.subscription_id, for_update=True)
    row = uow.ondemand.window(tenant_id, found.id, for_update=True)
    assert row is not None
    return ctx, row


def extend_row(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    issuer: CertificateIssuer,
    row: OnDemandWindowRow,
    new_end: datetime,
    *,
    actor: str,
    now: datetime,
    recorded_at: datetime | None = None,
) -> tuple[Extension, OnDemandCertificateRow]:
    """Extend a booked window; only the added time is priced (no commit)."""
    real_now = recorded_at or now
    state = _object_state(uow, ctx.subscription.id, row.object_ref)
    book = book_of(row.object_ref, state.windows, state.charges, state.refunds)
    result = extend(
        ctx.subscription,
        ctx.card,
        ctx.terms.terms,
        window_of(row),
        new_end,
        now=now,
        book=book,
        volume=_month_volume(uow, ctx, now),
    )
    row.ends_at = result.window.end
    row.sold_end = result.window.sold_end
    row.updated_at = real_now
    row.expired_notified_at = None
    _add_ledger(
        uow,
        ctx,
        result.window,
        kind="charge",
        reason=ChargeKind.EXTENSION.value,
        at=result.charge.at,
        lines=result.charge.lines,
        detail=charge_to_json(result.charge),
        now=real_now,
    )
    policy_sha = _sync_policy(uow, ctx, row.object_ref)
    geofence = _before_certificate(uow, ctx, issuer, real_now)
    paid = _window_paid(uow, row.id)
    certificate = _certify(uow, ctx, issuer, result.window, real_now, paid=paid, geofence=geofence)
    _record(
        uow,
        ctx,
        row,
        action="window.extended",
        actor=actor,
        at=real_now,
        certificate=certificate.number,
        total=_money(result.charge.total),
        policy_terms_sha256=policy_sha,
    )
    return result, certificate


def _stopped_reason(lang: str, at: datetime) -> str:
    local = to_local(at).strftime("%d/%m/%Y %H:%M")
    return (
        f"garantie arrêtée avant son terme le {local}"
        if lang == "fr"
        else f"cover stopped early on {local}"
    )


def stop_row(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    row: OnDemandWindowRow,
    *,
    actor: str,
    now: datetime,
    at: datetime | None = None,
    close: bool = False,
    recorded_at: datetime | None = None,
) -> tuple[Stop, list[str]]:
    """Stop a started window early (``close``: a trigger's close, started units due, no fee);
    refund, revoke its certificates at the stop instant (no commit)."""
    real_now = recorded_at or now
    state = _object_state(uow, ctx.subscription.id, row.object_ref)
    others = [w for w in state.windows if w.id != row.id]
    if close:
        result = close_trigger_window(
            ctx.subscription,
            ctx.card,
            ctx.terms.terms,
            window_of(row),
            state.charges_of(row.id),
            at=at or now,
            others=others,
        )
    else:
        result = stop(
            ctx.subscription,
            ctx.card,
            ctx.terms.terms,
            window_of(row),
            state.charges_of(row.id),
            now=now,
            others=others,
            at=at,
        )
    row.ends_at = result.window.end
    row.state = result.window.state.value
    row.updated_at = real_now
    _add_ledger(
        uow,
        ctx,
        result.window,
        kind="refund",
        reason="close" if close else "stop",
        at=result.refund.at,
        lines=result.refund.lines,
        detail=refund_to_json(result.refund),
        now=real_now,
    )
    policy_sha = _sync_policy(uow, ctx, row.object_ref)
    revoked = revoke_window_certificates(
        uow, row.id, at=result.window.end, reason=_stopped_reason(ctx.language, result.window.end)
    )
    _record(
        uow,
        ctx,
        row,
        action="window.stopped",
        actor=actor,
        at=real_now,
        refund=_money(result.refund.total),
        revoked_certificates=revoked,
        policy_terms_sha256=policy_sha,
    )
    return result, revoked


def close_row(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    row: OnDemandWindowRow,
    *,
    actor: str,
    at: datetime,
    recorded_at: datetime | None = None,
) -> tuple[Stop, list[str]]:
    """A trigger closes its window at ``at`` (see :mod:`polis.ondemand.trigger_windows`)."""
    return stop_row(uow, ctx, row, actor=actor, now=at, at=at, close=True, recorded_at=recorded_at)


def cancel_row(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    row: OnDemandWindowRow,
    *,
    actor: str,
    now: datetime,
) -> tuple[Cancellation, list[str]]:
    """Cancel a window before its start: everything back, certificates revoked (no commit)."""
    state = _object_state(uow, ctx.subscription.id, row.object_ref)
    result = cancel(ctx.subscription, window_of(row), state.charges_of(row.id), now=now)
    row.state = result.window.state.value
    row.updated_at = now
    _add_ledger(
        uow,
        ctx,
        result.window,
        kind="refund",
        reason="cancel",
        at=result.refund.at,
        lines=result.refund.lines,
        detail=refund_to_json(result.refund),
        now=now,
    )
    policy_sha = _sync_policy(uow, ctx, row.object_ref)
    reason = "garantie annulée avant son début" if ctx.language == "fr" else "cover cancelled"
    revoked = revoke_window_certificates(uow, row.id, at=now, reason=reason)
    _record(
        uow,
        ctx,
        row,
        action="window.cancelled",
        actor=actor,
        at=now,
        refund=_money(result.refund.total),
        revoked_certificates=revoked,
        policy_terms_sha256=policy_sha,
    )
    return result, revoked


# --- use cases ------------------------------------------------------------------------------------


def _activation_view(
    row: OnDemandWindowRow,
    charge: Charge,
    certificate: OnDemandCertificateRow,
    now: datetime,
    issuer: CertificateIssuer,
) -> ActivationView:
    return ActivationView(
        window=_window_view(row, now, issuer.public_base_url, certificate.number),
        price=_charge_view(charge),
        certificate=certificate.number,
        certificate_proof=proof_view(certificate),
        links={"window": f"/v1/windows/{row.id}"}
        | certificate_links(certificate.number, issuer.public_base_url),
    )


def activate_window(
    uow: UnitOfWork,
    tenant_id: str,
    subscription_id: str,
    payload: ActivationIn | dict[str, Any],
    actor: str,
    *,
    issuer: CertificateIssuer,
    now: datetime | None = None,
) -> ActivationView:
    """Activate cover now or scheduled: the window, its price lines and its certificate."""
    given = parse_request(ActivationIn, payload)
    moment = _now(now)
    start, end = _when(given.start, "start"), _when(given.end, "end")

    def run() -> ActivationView:
        with uow:
            ctx = load_context(uow, tenant_id, subscription_id, for_update=True)
            row, result, certificate = open_row(
                uow,
                ctx,
                issuer,
                actor=actor,
                now=moment,
                object_ref=given.object_ref,
                start=start,
                end=end,
                duration=given.duration,
            )
            view = _activation_view(row, result.charge, certificate, moment, issuer)
            uow.commit()
        return view

    return retrying(run)


def extend_window(
    uow: UnitOfWork,
    tenant_id: str,
    window_id: str,
    payload: ExtendIn | dict[str, Any],
    actor: str,
    *,
    issuer: CertificateIssuer,
    now: datetime | None = None,
) -> ActivationView:
    """A later end: only the added time is priced; a certificate for the longer period."""
    given = parse_request(ExtendIn, payload)
    moment = _now(now)
    new_end = parse_when(given.end, field="end")

    def run() -> ActivationView:
        with uow:
            ctx, row = _require_window(uow, tenant_id, window_id)
            result, certificate = extend_row(
                uow, ctx, issuer, row, new_end, actor=actor, now=moment
            )
            view = _activation_view(row, result.charge, certificate, moment, issuer)
            uow.commit()
        return view

    return retrying(run)


def stop_window(
    uow: UnitOfWork,
    tenant_id: str,
    window_id: str,
    payload: StopIn | dict[str, Any],
    actor: str,
    *,
    now: datetime | None = None,
    public_base_url: str = "",
) -> ChangeView:
    """Stop a started window early; refund by the product's rule."""
    given = parse_request(StopIn, payload)
    moment = _now(now)
    at = _when(given.at, "at")

    def run() -> ChangeView:
        with uow:
            ctx, row = _require_window(uow, tenant_id, window_id)
            result, revoked = stop_row(uow, ctx, row, actor=actor, now=moment, at=at)
            view = ChangeView(
                window=window_view(uow, row, moment, public_base_url),
                refund=_refund_view(result.refund),
                revoked_certificates=revoked,
            )
            uow.commit()
        return view

    return retrying(run)


def cancel_window(
    uow: UnitOfWork,
    tenant_id: str,
    window_id: str,
    actor: str,
    *,
    now: datetime | None = None,
    public_base_url: str = "",
) -> ChangeView:
    """Cancel a window before its start: everything is refunded, fees included."""
    moment = _now(now)

    def run() -> ChangeView:
        with uow:
            ctx, row = _require_window(uow, tenant_id, window_id)
            result, revoked = cancel_row(uow, ctx, row, actor=actor, now=moment)
            view = ChangeView(
                window=window_view(uow, row, moment, public_base_url),
                refund=_refund_view(result.refund),
                revoked_certificates=revoked,
            )
            uow.commit()
        return view

    return retrying(run)


def get_window(
    uow: UnitOfWork,
    tenant_id: str,
    window_id: str,
    *,
    now: datetime | None = None,
    public_base_url: str = "",
) -> WindowView:
    with uow:
        row = uow.ondemand.window(tenant_id, window_id.strip())
        if row is None:
            raise NotFound(f"no window {window_id!r}", field="window_id", code="window.not_found")
        return window_view(uow, row, _now(now), public_base_url)


def list_windows(
    uow: UnitOfWork,
    tenant_id: str,
    subscription_id: str,
    *,
    now: datetime | None = None,
    public_base_url: str = "",
) -> list[WindowView]:
    moment = _now(now)
    with uow:
        ctx = load_context(uow, tenant_id, subscription_id)
        rows = uow.ondemand.windows_of_subscription(ctx.subscription.id)
        return [window_view(uow, r, moment, public_base_url) for r in rows]


def get_cover_status(
    uow: UnitOfWork,
    tenant_id: str,
    object_ref: str,
    *,
    at: datetime | None = None,
    subscription_id: str | None = None,
    now: datetime | None = None,
    public_base_url: str = "",
) -> CoverStatusView:
    """Covered / scheduled / not covered for an insured item of this tenant at ``at`` (now)."""
    moment = _now(now)
    instant = ensure_utc(at, field="at") if at is not None else moment
    ref = object_ref.strip()
    if not ref:
        raise InvalidInput("name the insured item", field="object_ref")
    with uow:
        if subscription_id is not None:
            load_context(uow, tenant_id, subscription_id)
        rows = uow.ondemand.windows_by_object_ref(tenant_id, ref, subscription_id)
        by_id = {r.id: r for r in rows}
        status = cover_status([window_of(r) for r in rows], ref, instant)
        return CoverStatusView(
            object_ref=ref,
            at=instant,
            state=status.state.value,
            until=status.until,
            next_start=status.next_start,
            current=[
                window_view(uow, by_id[w.id], moment, public_base_url) for w in status.current
            ],
            upcoming=[
                window_view(uow, by_id[w.id], moment, public_base_url) for w in status.upcoming
            ],
        )


def publish_expired(uow: UnitOfWork, *, now: datetime | None = None, limit: int = 500) -> int:
    """Publish ``window.expired`` for each window whose end has passed (once each); how many."""
    moment = _now(now)
    with uow:
        rows = uow.ondemand.windows_to_expire(moment, limit=limit)
        for row in rows:
            row.expired_notified_at = moment
            outbox.publish(
                uow,
                tenant_id=row.tenant_id,
                event_type="window.expired",
                payload=_event_payload(row),
            )
        uow.commit()
    return len(rows)
