"""The state the window steps read and write inside an open unit of work: the item's windows and
money, the month's volume, the ledger, the policy's cover terms, certificates, the audit entry and
events of a window, and the retry of a use case that lost a race on the tenant's audit chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from polis.kernel.time import Window, to_local
from polis.ondemand.certificate_content import certificate_content
from polis.ondemand.codec import charge_from_json, refund_from_json
from polis.ondemand.intervals import month_window
from polis.ondemand.lines import Line, taxes_of, total_of
from polis.ondemand.policy_terms import policy_covers
from polis.ondemand.pricing import Charge, MonthVolume, month_volume
from polis.ondemand.refunds import Refund
from polis.ondemand.windows import CoverWindow, WindowState
from polis.services import audit, outbox
from polis.services.audit import CONTENTION, retrying
from polis.services.ondemand_certificates import (
    CertificateIssuer,
    issue_certificate,
    register_signing_key,
)
from polis.services.ondemand_subscriptions import SubscriptionContext
from polis.services.ondemand_windows.views import window_of
from polis.store.tables_ondemand import (
    OnDemandCertificateRow,
    OnDemandLedgerRow,
    OnDemandWindowRow,
)
from polis.store.uow import UnitOfWork

__all__ = ["CONTENTION", "retrying"]

ZERO = Decimal("0.00")


# --- the object's state -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ObjectState:
    rows: dict[str, OnDemandWindowRow]
    windows: list[CoverWindow]
    charges: list[Charge]
    refunds: list[Refund]

    def charges_of(self, window_id: str) -> list[Charge]:
        return [c for c in self.charges if c.window_id == window_id]


def _object_state(
    uow: UnitOfWork,
    subscription_id: str,
    object_ref: str,
    read: tuple[Sequence[OnDemandWindowRow], Sequence[OnDemandLedgerRow]] | None = None,
) -> _ObjectState:
    """The item's windows and money (``read``: its windows, in start order, and its ledger entries,
    in order, when the caller read them)."""
    rows, entries = read or (
        uow.ondemand.windows_of_object(subscription_id, object_ref),
        uow.ondemand.entries_of_object(subscription_id, object_ref),
    )
    charges, refunds = [], []
    for entry in entries:
        detail = json.loads(entry.detail)
        if entry.kind == "charge":
            charges.append(charge_from_json(detail))
        else:
            refunds.append(refund_from_json(detail))
    return _ObjectState({r.id: r for r in rows}, [window_of(r) for r in rows], charges, refunds)


def _month_volume(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    now: datetime,
    entries: Sequence[OnDemandLedgerRow] | None = None,
) -> MonthVolume:
    """The subscription's Europe/Paris month so far (activations, hours) for volume tiers
    (``entries``: the charges of its windows touching the month, when the caller read them)."""
    local = to_local(now)
    month = month_window(local.year, local.month)
    if entries is None:
        entries = uow.ondemand.charges_of_subscription_between(
            ctx.subscription.id, month.start, month.end
        )
    charges = [charge_from_json(json.loads(e.detail)) for e in entries]
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
    uow.ondemand.insert_later(row)  # ledger entries are never changed (nor read back by id)
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
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    uow.policies.set_terms(ctx.tenant_id, policy_id, text, digest)  # made with the item
    return digest


def _window_paid(uow: UnitOfWork, window_id: str) -> tuple[Decimal, Decimal]:
    entries = uow.ondemand.entries_of_windows([window_id])
    return sum((e.total for e in entries), ZERO), sum((e.taxes for e in entries), ZERO)


def _before_certificate(
    uow: UnitOfWork, ctx: SubscriptionContext, issuer: CertificateIssuer, now: datetime
) -> str | None:
    """What a certificate needs from the database besides its number (read before the number is
    taken): the signing key registered; the geofence named on it, if the subscription had one when
    it was read (and locked) for this use case."""
    register_signing_key(uow, issuer.signer, now)
    return (ctx.subscription.geofence_ref or "geofence") if ctx.has_geofence else None


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
        number=str(uow.ids.allocate("ATT", now.year)),
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
    outbox.emit(uow, tenant_id=ctx.tenant_id, event_type=action, payload=payload)
