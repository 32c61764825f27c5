"""Withdrawal (renonciation) from an on-demand subscription: one use case, one transaction.

``withdraw_subscription`` checks the right with :mod:`polis.ondemand.withdrawal` (a person, in
time, not withdrawn already; under doorstep selling, no claim known), then, in the same
transaction:

1. every window not started yet is **cancelled** (everything refunded, certificates revoked) and a
   running window is **stopped now**, keeping only the cover actually given in the product's unit,
   without refund fee (:func:`polis.services.ondemand_windows.cancel_row` and ``stop_row`` with
   ``close=True``: the refunds are ledger entries like any other); ended windows stay due;
2. the subscription is marked withdrawn (``withdrawn_at`` and the decision as JSON): no window can
   be opened on it any more (:func:`polis.services.ondemand_subscriptions.load_context`);
3. the audit entry and the outbox event ``subscription.withdrawn`` (with the refunds, the refund
   due date — thirty days — and the revoked certificates).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from polis.calc._base import parse_request
from polis.kernel.time import ensure_utc, to_local, utc_now
from polis.ondemand.withdrawal import (
    REFUND_DAYS,
    SaleChannel,
    WindowFate,
    check_withdrawal,
    plan_windows,
    withdrawal_right,
)
from polis.services import audit, outbox
from polis.services.ondemand_subscriptions import SubscriptionContext, load_context
from polis.services.ondemand_windows import cancel_row, retrying, stop_row, window_of
from polis.services.ondemand_withdrawal_terms import WithdrawalTermsView, withdrawal_terms
from polis.store.tables_ondemand import OnDemandWindowRow
from polis.store.uow import UnitOfWork

__all__ = [
    "WithdrawalIn",
    "WithdrawalView",
    "WithdrawnWindowView",
    "get_withdrawal_terms",
    "withdraw_subscription",
]

ZERO = Decimal("0.00")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WithdrawalIn(_Strict):
    """``POST /v1/subscriptions/{id}/withdrawal`` body (may be empty)."""

    reason: str | None = Field(
        default=None, max_length=500, description="optional: the law asks for no reason"
    )


class WithdrawnWindowView(_Strict):
    window_id: str
    object_ref: str
    fate: WindowFate = Field(description="cancel, stop, performed or none")
    refund: str = Field(description="money given back on this window (≤ 0)")
    revoked_certificates: list[str]


class WithdrawalView(_Strict):
    subscription_id: str
    customer_id: str
    withdrawn_at: datetime
    article: str = Field(examples=["L112-2-1"])
    deadline: datetime = Field(description="the end of the withdrawal period (exclusive)")
    refund_total: str = Field(description="Σ refunds of the windows (≤ 0)")
    refund_due_by: date = Field(description="the refund is paid at the latest on this day")
    windows: list[WithdrawnWindowView]
    explanation: list[str]


def _claim_known(uow: UnitOfWork, ctx: SubscriptionContext) -> bool:
    policies: dict[str, str] = json.loads(ctx.row.policies)
    return bool(uow.ondemand.claims_of_policies(sorted(policies.values())))


def _apply(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    row: OnDemandWindowRow,
    fate: WindowFate,
    *,
    actor: str,
    now: datetime,
) -> WithdrawnWindowView:
    refund: Decimal = ZERO
    revoked: list[str] = []
    if fate is WindowFate.CANCEL:
        cancelled, revoked = cancel_row(uow, ctx, row, actor=actor, now=now)
        refund = cancelled.refund.total
    elif fate is WindowFate.STOP:
        stopped, revoked = stop_row(uow, ctx, row, actor=actor, now=now, at=now, close=True)
        refund = stopped.refund.total
    return WithdrawnWindowView(
        window_id=row.id,
        object_ref=row.object_ref,
        fate=fate,
        refund=f"{refund:.2f}",
        revoked_certificates=list(revoked),
    )


def withdraw_subscription(
    uow: UnitOfWork,
    tenant_id: str,
    subscription_id: str,
    payload: WithdrawalIn | dict[str, Any] | None,
    actor: str,
    *,
    now: datetime | None = None,
) -> WithdrawalView:
    """Withdraw from a subscription (module docstring); ``WithdrawalRefused`` when not allowed."""
    given = parse_request(WithdrawalIn, payload or {})
    moment = ensure_utc(now, field="now") if now is not None else utc_now()

    def run() -> WithdrawalView:
        with uow:
            ctx = load_context(
                uow, tenant_id, subscription_id, for_update=True, allow_withdrawn=True
            )
            row = ctx.row
            channel = SaleChannel(row.sale_channel)
            right = withdrawal_right(channel, row.accepted_at, row.terms_received_at)
            check_withdrawal(
                right,
                at=moment,
                consumer=ctx.customer_row.kind == "person",
                withdrawn_at=row.withdrawn_at,
                claim_known=channel is SaleChannel.DOORSTEP and _claim_known(uow, ctx),
            )
            rows = {r.id: r for r in uow.ondemand.windows_of_subscription(row.id)}
            plans = plan_windows([window_of(r) for r in rows.values()], moment)
            windows = [
                _apply(uow, ctx, rows[p.window_id], p.fate, actor=actor, now=moment) for p in plans
            ]
            total = sum((Decimal(w.refund) for w in windows), ZERO)
            explanation = [f"{e.step}: {e.formula}" for e in right.explanation]
            explanation += [f"{p.window_id}: {p.reason}" for p in plans]
            view = WithdrawalView(
                subscription_id=row.id,
                customer_id=row.customer_id,
                withdrawn_at=moment,
                article=channel.article,
                deadline=right.deadline,
                refund_total=f"{total:.2f}",
                refund_due_by=to_local(moment).date() + timedelta(days=REFUND_DAYS),
                windows=windows,
                explanation=explanation,
            )
            data = view.model_dump(mode="json") | {"reason": given.reason}
            row.withdrawn_at = moment
            row.withdrawal = audit.canonical_json(data)
            audit.record(
                uow,
                tenant_id=tenant_id,
                actor=actor,
                action="subscription.withdrawn",
                entity_type="subscription",
                entity_id=row.id,
                data=data,
                at=moment,
            )
            outbox.publish(
                uow, tenant_id=tenant_id, event_type="subscription.withdrawn", payload=data
            )
            uow.commit()
        return view

    return retrying(run)


def get_withdrawal_terms(
    uow: UnitOfWork, tenant_id: str, subscription_id: str
) -> WithdrawalTermsView:
    """The right of withdrawal of a subscription and its deadline (read only)."""
    with uow:
        ctx = load_context(uow, tenant_id, subscription_id)
        return withdrawal_terms(ctx.row, ctx.customer_row.kind)
