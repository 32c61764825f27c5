"""Partner triggers: ``start`` / ``stop`` calls with the partner's own reference
(:func:`~polis.ondemand.triggers_partner.handle_partner_call`, ``PartnerRefState`` JSON): a start
opens a window until the partner's ``expected_end`` (else 24 hours, within the product's rules), a
stop closes it (or extends it to a late return); a stop before its start is held; duplicates under
another key replay the first decision. :func:`flag_orphan_stop` (a job of ``polis worker``) flags a
stop that waited too long for its start.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, Field

from polis.calc._base import parse_request
from polis.kernel.errors import Conflict
from polis.kernel.time import ensure_utc
from polis.ondemand.trigger_windows import provisional_end
from polis.ondemand.triggers_partner import (
    PartnerAction,
    PartnerCall,
    PartnerCallKind,
    PartnerDecision,
    PartnerRefState,
    PartnerRules,
    check_partner_timeout,
    handle_partner_call,
)
from polis.services import audit, outbox
from polis.services.ondemand_certificates import CertificateIssuer
from polis.services.ondemand_subscriptions import SubscriptionContext, load_context
from polis.services.ondemand_windows import WindowView, open_row, retrying, window_view
from polis.services.triggers.common import (
    DEFAULT_MAX_BACKDATE,
    Strict,
    close_window,
    effective,
    moment_of,
)
from polis.store.tables_ondemand import OnDemandPartnerRefRow
from polis.store.uow import UnitOfWork

__all__ = [
    "PartnerEventIn",
    "PartnerEventView",
    "flag_orphan_stop",
    "handle_partner_event",
]


class PartnerEventIn(Strict):
    """``POST /v1/partner-events`` body: a rental handed over (``start``) or returned (``stop``)."""

    subscription_id: str = Field(min_length=1, max_length=20, examples=["SUB-2026-000001"])
    partner_ref: str = Field(min_length=1, max_length=200, examples=["rental-88412"])
    kind: PartnerCallKind
    at: AwareDatetime = Field(examples=["2026-06-13T09:00:00+02:00"])
    object_ref: str | None = Field(default=None, max_length=100)
    expected_end: AwareDatetime | None = Field(
        default=None, description="start only: when the partner expects the return"
    )


class PartnerEventView(Strict):
    partner_ref: str
    subscription_id: str
    kind: str
    action: str = Field(description="open, close, open_closed, hold or refuse")
    reason: str
    replayed: bool
    status: str
    window: WindowView | None
    certificate: str | None


def handle_partner_event(
    uow: UnitOfWork,
    tenant_id: str,
    payload: PartnerEventIn | dict[str, Any],
    idempotency_key: str | None,
    actor: str,
    *,
    issuer: CertificateIssuer,
    now: datetime | None = None,
    max_backdate: timedelta = DEFAULT_MAX_BACKDATE,
    rules: PartnerRules | None = None,
) -> PartnerEventView:
    """Apply one start/stop call of a partner (a refusal is an answer: ``action="refuse"``)."""
    given = parse_request(PartnerEventIn, payload)
    moment = moment_of(now)
    at = ensure_utc(given.at, field="at")
    key = idempotency_key or f"{given.kind.value}@{at.isoformat()}"

    def run() -> PartnerEventView:
        with uow:
            ctx = load_context(uow, tenant_id, given.subscription_id, for_update=True)
            ref = uow.ondemand.partner_ref(tenant_id, given.partner_ref, for_update=True)
            if ref is not None and ref.subscription_id != ctx.subscription.id:
                raise Conflict(
                    f"partner reference {given.partner_ref!r} belongs to subscription "
                    f"{ref.subscription_id}",
                    field="partner_ref",
                    code="partner.reference_taken",
                )
            if ref is None:
                object_ref = ctx.subscription.item(given.object_ref).ref
                ref = OnDemandPartnerRefRow(
                    tenant_id=tenant_id,
                    subscription_id=ctx.subscription.id,
                    object_ref=object_ref,
                    partner_ref=given.partner_ref,
                    state=json.dumps(PartnerRefState(given.partner_ref).to_json()),
                    window_id=None,
                    updated_at=moment,
                )
                uow.ondemand.add(ref)
            state = PartnerRefState.from_json(json.loads(ref.state))
            call = PartnerCall(given.kind, given.partner_ref, key, at, moment)
            step = handle_partner_call(state, call, rules or PartnerRules())
            decision = step.decision
            certificate: str | None = None
            if not step.replayed:
                certificate = _apply_partner(
                    uow, ctx, issuer, ref, decision.action, decision.start, decision.end,
                    given.expected_end, actor=actor, now=moment, max_backdate=max_backdate,
                )  # fmt: skip
            ref.state = json.dumps(step.state.to_json())
            ref.updated_at = moment
            audit.record(
                uow,
                tenant_id=tenant_id,
                actor=actor,
                action="partner.event",
                entity_type="partner_ref",
                entity_id=given.partner_ref[:64],
                data={
                    "kind": given.kind.value,
                    "at": at.isoformat(),
                    "decision": decision.to_json(),
                    "replayed": step.replayed,
                    "window": ref.window_id,
                },
                at=moment,
            )
            window = (
                None if ref.window_id is None else uow.ondemand.window(tenant_id, ref.window_id)
            )
            if certificate is None and window is not None:
                certificates = uow.ondemand.certificates_of_window(window.id)
                certificate = certificates[-1].number if certificates else None
            view = PartnerEventView(
                partner_ref=given.partner_ref,
                subscription_id=ctx.subscription.id,
                kind=given.kind.value,
                action=decision.action.value,
                reason=decision.reason,
                replayed=step.replayed,
                status=step.state.status.value,
                window=(
                    None
                    if window is None
                    else window_view(uow, window, moment, issuer.public_base_url)
                ),
                certificate=certificate,
            )
            uow.commit()
        return view

    return retrying(run)


def _apply_partner(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    issuer: CertificateIssuer,
    ref: OnDemandPartnerRefRow,
    action: PartnerAction,
    start: datetime | None,
    end: datetime | None,
    expected_end: datetime | None,
    *,
    actor: str,
    now: datetime,
    max_backdate: timedelta,
) -> str | None:
    """Apply a partner decision; the certificate issued, if any."""
    if action in (PartnerAction.OPEN, PartnerAction.OPEN_CLOSED):
        assert start is not None
        begin = effective(start, now, max_backdate, "at")
        finish = (
            end
            if action is PartnerAction.OPEN_CLOSED and end is not None
            else provisional_end(
                ctx.terms.terms,
                ctx.subscription.unit,
                begin,
                hint=None if expected_end is None else ensure_utc(expected_end),
            )
        )
        row, _, certificate = open_row(
            uow, ctx, issuer, actor=actor, now=min(begin, now), object_ref=ref.object_ref,
            start=begin, end=finish, source="partner", source_ref=ref.partner_ref,
            recorded_at=now,
        )  # fmt: skip
        ref.window_id = row.id
        return certificate.number
    if action is PartnerAction.CLOSE and ref.window_id is not None:
        assert end is not None
        stop_at = effective(end, now, max_backdate, "at")
        close_window(uow, ctx, issuer, ref.window_id, stop_at, actor=actor, now=now)
    return None


def flag_orphan_stop(
    uow: UnitOfWork,
    tenant_id: str,
    partner_ref: str,
    actor: str,
    *,
    now: datetime | None = None,
    rules: PartnerRules | None = None,
) -> PartnerDecision | None:
    """Flag a partner's stop that has waited ``orphan_stop_after`` for its start (a job): the
    reference becomes ``stop_orphaned`` (a later start still records the rental), audited, with
    the event ``partner.stop_orphaned`` for a human to look at. Once: ``None`` when not due or
    flagged already."""
    moment = moment_of(now)

    def run() -> PartnerDecision | None:
        with uow:
            ref = uow.ondemand.partner_ref(tenant_id, partner_ref, for_update=True)
            if ref is None:
                return None
            state = PartnerRefState.from_json(json.loads(ref.state))
            step = check_partner_timeout(state, moment, rules or PartnerRules())
            if step is None:
                return None
            ref.state = json.dumps(step.state.to_json())
            ref.updated_at = moment
            decision = step.decision
            audit.record(
                uow,
                tenant_id=tenant_id,
                actor=actor,
                action="partner.stop_orphaned",
                entity_type="partner_ref",
                entity_id=partner_ref[:64],
                data={"decision": decision.to_json(), "subscription_id": ref.subscription_id},
                at=moment,
            )
            outbox.publish(
                uow,
                tenant_id=tenant_id,
                event_type="partner.stop_orphaned",
                payload={
                    "partner_ref": partner_ref,
                    "subscription_id": ref.subscription_id,
                    "object_ref": ref.object_ref,
                    "stop_at": decision.end,
                    "stop_received_at": state.stop_received_at,
                    "reason": decision.reason,
                },
            )
            uow.commit()
        return decision

    return retrying(run)
