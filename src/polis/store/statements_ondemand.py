"""The statements of the activation path, built once with bind parameters: SQLAlchemy then finds
their compiled form and cache key at once (building a ``select`` on every call cost as much as
running it). Used by :class:`polis.store.repositories_ondemand.SqlOnDemandRepository`."""

from __future__ import annotations

from sqlalchemy import and_, bindparam, func, or_, select

from polis.store.tables_claims import ClaimRow
from polis.store.tables_ondemand import (
    OnDemandCustomerRow,
    OnDemandGeofenceRow,
    OnDemandLedgerRow,
    OnDemandSubscriptionRow,
    OnDemandWindowRow,
)

FENCED = (
    select(OnDemandGeofenceRow.subscription_id)
    .where(OnDemandGeofenceRow.subscription_id == OnDemandSubscriptionRow.id)
    .exists()
)
SUBSCRIPTION_AND_CUSTOMER = (
    select(OnDemandSubscriptionRow, OnDemandCustomerRow, FENCED)
    .join(
        OnDemandCustomerRow,
        and_(
            OnDemandCustomerRow.id == OnDemandSubscriptionRow.customer_id,
            OnDemandCustomerRow.tenant_id == bindparam("tenant"),
        ),
    )
    .where(
        OnDemandSubscriptionRow.id == bindparam("subscription"),
        OnDemandSubscriptionRow.tenant_id == bindparam("tenant"),
    )
)
SUBSCRIPTION_AND_CUSTOMER_LOCKED = SUBSCRIPTION_AND_CUSTOMER.with_for_update(
    of=OnDemandSubscriptionRow
)
WINDOW = select(OnDemandWindowRow).where(
    OnDemandWindowRow.id == bindparam("window"),
    OnDemandWindowRow.tenant_id == bindparam("tenant"),
)
WINDOW_LOCKED = WINDOW.with_for_update()
WINDOW_ORDER = (OnDemandWindowRow.starts_at, OnDemandWindowRow.id)
WINDOWS_OF_OBJECT = (
    select(OnDemandWindowRow)
    .where(
        OnDemandWindowRow.subscription_id == bindparam("subscription"),
        OnDemandWindowRow.object_ref == bindparam("object_ref"),
    )
    .order_by(*WINDOW_ORDER)
)
WINDOWS_OF_CUSTOMER = (
    select(OnDemandWindowRow)
    .where(OnDemandWindowRow.customer_id == bindparam("customer"))
    .order_by(*WINDOW_ORDER)
)
WINDOWS_OF_SUBSCRIPTION = (
    select(OnDemandWindowRow)
    .where(OnDemandWindowRow.subscription_id == bindparam("subscription"))
    .order_by(*WINDOW_ORDER)
)
ENTRIES_OF_WINDOWS = (
    select(OnDemandLedgerRow)
    .where(OnDemandLedgerRow.window_id.in_(bindparam("windows", expanding=True)))
    .order_by(OnDemandLedgerRow.id)
)
ENTRIES_OF_OBJECT = (
    select(OnDemandLedgerRow)
    .where(
        OnDemandLedgerRow.subscription_id == bindparam("subscription"),
        OnDemandLedgerRow.object_ref == bindparam("object_ref"),
    )
    .order_by(OnDemandLedgerRow.id)
)
WINDOWS_FOR_ACTIVATION = (
    select(OnDemandWindowRow)
    .where(
        OnDemandWindowRow.customer_id == bindparam("customer"),
        or_(
            and_(
                OnDemandWindowRow.subscription_id == bindparam("subscription"),
                or_(
                    OnDemandWindowRow.object_ref == bindparam("object_ref"),
                    and_(
                        OnDemandWindowRow.starts_at < bindparam("month_end"),
                        OnDemandWindowRow.sold_end > bindparam("month_start"),
                    ),
                ),
            ),
            and_(
                OnDemandWindowRow.created_at >= bindparam("day_start"),
                OnDemandWindowRow.created_at < bindparam("day_end"),
            ),
        ),
    )
    .order_by(*WINDOW_ORDER)
)
LIVE = and_(
    OnDemandWindowRow.customer_id == bindparam("customer"),
    OnDemandWindowRow.state != "cancelled",
)
COMPLETED = OnDemandWindowRow.ends_at <= bindparam("now")
CLAIMED = (
    select(ClaimRow.id)
    .where(
        ClaimRow.policy_id == OnDemandWindowRow.policy_id,
        ClaimRow.loss_at >= OnDemandWindowRow.starts_at,
        ClaimRow.loss_at < OnDemandWindowRow.ends_at,
    )
    .exists()
)
RECENT_CLAIMS = (
    select(func.count())
    .select_from(ClaimRow)
    .where(
        ClaimRow.policy_id.in_(select(OnDemandWindowRow.policy_id).where(LIVE)),
        ClaimRow.declared_at > bindparam("since"),
    )
    .scalar_subquery()
)
HISTORY = select(
    func.count().filter(COMPLETED),
    func.count().filter(and_(COMPLETED, CLAIMED)),
    RECENT_CLAIMS,
).where(LIVE)
CLAIMS_OF_POLICIES = select(ClaimRow.policy_id, ClaimRow.loss_at, ClaimRow.declared_at).where(
    ClaimRow.policy_id.in_(bindparam("policies", expanding=True))
)
