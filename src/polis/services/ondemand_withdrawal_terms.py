"""The right of withdrawal of a subscription as shown: its article, its deadline, whether the
customer has it (``GET /v1/subscriptions/{id}`` → ``withdrawal``, the insured's space)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from polis.ondemand.withdrawal import SaleChannel, withdrawal_right
from polis.store.tables_ondemand import OnDemandSubscriptionRow

__all__ = ["WithdrawalTermsView", "withdrawal_terms"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WithdrawalTermsView(_Strict):
    """The right of withdrawal of a subscription (docs/on-demand.md, "Right of withdrawal")."""

    article: str = Field(examples=["L112-2-1"])
    sale_channel: SaleChannel
    available: bool = Field(description="the customer has the right (a person, not a business)")
    reason: str | None = Field(default=None, description="why there is none: a stable code")
    last_day: date = Field(description="the last Europe/Paris day to withdraw (included)")
    deadline: datetime = Field(description="the instant the period ends (exclusive)")
    withdrawn_at: datetime | None = None


def withdrawal_terms(row: OnDemandSubscriptionRow, customer_kind: str) -> WithdrawalTermsView:
    """The right of withdrawal of ``row`` for a customer of ``customer_kind``."""
    channel = SaleChannel(row.sale_channel)
    right = withdrawal_right(channel, row.accepted_at, row.terms_received_at)
    consumer = customer_kind == "person"
    return WithdrawalTermsView(
        article=channel.article,
        sale_channel=channel,
        available=consumer,
        reason=None if consumer else "withdrawal.not_consumer",
        last_day=right.deadline_day,
        deadline=right.deadline,
        withdrawn_at=row.withdrawn_at,
    )
