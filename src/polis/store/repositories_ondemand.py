"""The repository of on-demand micro-policies (contract as a ``Protocol``, SQL implementation).

Tenant isolation is built into the queries: lookups by id take the tenant and filter on it, so a
customer, subscription, window or certificate of another tenant is simply not found. The exceptions
are named ``*_unscoped`` (the public verification of a certificate by its number; jobs that run
over every tenant) and take rows the caller already reached through its tenant.

Rows about to change are read with ``SELECT … FOR UPDATE`` (``for_update=True``): activations of
one subscription queue on its row on PostgreSQL, so the usage book an activation reads is never
stale (on SQLite every write transaction holds the database lock already: ``BEGIN IMMEDIATE``).

The implementation is in parts: customers, subscriptions, windows and ledger here (their hot
statements built once in :mod:`polis.store.statements_ondemand`), certificates in
:mod:`.repositories_ondemand_certificates`, triggers and jobs in
:mod:`.repositories_ondemand_triggers`, the insurer's portfolio in
:mod:`.repositories_ondemand_portfolio`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from sqlalchemy import (
    ColumnElement,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from polis.store.inserts import insert_later, insert_row
from polis.store.repositories_ondemand_certificates import SqlCertificateRows
from polis.store.repositories_ondemand_portfolio import SqlPortfolioRows
from polis.store.repositories_ondemand_triggers import SqlTriggerRows
from polis.store.statements_ondemand import (
    CLAIMS_OF_POLICIES,
    ENTRIES_OF_OBJECT,
    ENTRIES_OF_WINDOWS,
    HISTORY,
    SUBSCRIPTION_AND_CUSTOMER,
    SUBSCRIPTION_AND_CUSTOMER_LOCKED,
    WINDOW,
    WINDOW_LOCKED,
    WINDOWS_FOR_ACTIVATION,
    WINDOWS_OF_CUSTOMER,
    WINDOWS_OF_OBJECT,
    WINDOWS_OF_SUBSCRIPTION,
)
from polis.store.tables import Base
from polis.store.tables_ondemand import (
    OnDemandCalendarRow,
    OnDemandCertificatePdfRow,
    OnDemandCertificateRow,
    OnDemandCustomerRow,
    OnDemandGeofenceRow,
    OnDemandLedgerRow,
    OnDemandMissionRow,
    OnDemandPartnerRefRow,
    OnDemandReminderRow,
    OnDemandSigningKeyRow,
    OnDemandSubscriptionRow,
    OnDemandTrackerRow,
    OnDemandWindowRow,
)

__all__ = ["OnDemandRepository", "SqlOnDemandRepository"]


class OnDemandRepository(Protocol):
    """What the on-demand services need from the store."""

    def savepoint(self) -> AbstractContextManager[None]: ...

    # customers and subscriptions
    def add(self, row: object) -> None: ...
    def insert(self, row: Base) -> None: ...
    def insert_later(self, row: Base) -> None: ...
    def customer(
        self, tenant_id: str, customer_id: str, *, for_update: bool = False
    ) -> OnDemandCustomerRow | None: ...
    def customers(
        self, tenant_id: str, *, limit: int, offset: int
    ) -> list[OnDemandCustomerRow]: ...
    def subscription(
        self, tenant_id: str, subscription_id: str, *, for_update: bool = False
    ) -> OnDemandSubscriptionRow | None: ...
    def subscription_and_customer(
        self, tenant_id: str, subscription_id: str, *, for_update: bool = False
    ) -> tuple[OnDemandSubscriptionRow, OnDemandCustomerRow, bool] | None: ...
    def subscriptions_of(
        self, tenant_id: str, customer_id: str
    ) -> list[OnDemandSubscriptionRow]: ...

    # windows and ledger
    def window(
        self, tenant_id: str, window_id: str, *, for_update: bool = False
    ) -> OnDemandWindowRow | None: ...
    def windows_of_object(
        self, subscription_id: str, object_ref: str
    ) -> list[OnDemandWindowRow]: ...
    def windows_by_object_ref(
        self, tenant_id: str, object_ref: str, subscription_id: str | None = None
    ) -> list[OnDemandWindowRow]: ...
    def windows_of_customer(self, customer_id: str) -> list[OnDemandWindowRow]: ...
    def windows_of_subscription(self, subscription_id: str) -> list[OnDemandWindowRow]: ...
    def windows_for_activation(
        self,
        customer_id: str,
        subscription_id: str,
        object_ref: str,
        month: tuple[datetime, datetime],
        day: tuple[datetime, datetime],
    ) -> list[OnDemandWindowRow]: ...
    def history_counts(
        self, customer_id: str, now: datetime, claims_since: datetime
    ) -> tuple[int, int, int]: ...
    def windows_by_source(
        self, subscription_id: str, object_ref: str, source: str, source_ref: str
    ) -> list[OnDemandWindowRow]: ...
    def live_windows_created_between(
        self, customer_id: str, start: datetime, end: datetime
    ) -> int: ...
    def windows_to_expire(self, now: datetime, *, limit: int) -> list[OnDemandWindowRow]: ...
    def windows_for_month(
        self, customer_id: str, start: datetime, end: datetime
    ) -> list[OnDemandWindowRow]: ...
    def entries_of_windows(self, window_ids: Sequence[str]) -> list[OnDemandLedgerRow]: ...
    def entries_of_object(
        self, subscription_id: str, object_ref: str
    ) -> list[OnDemandLedgerRow]: ...
    def charges_of_subscription_between(
        self, subscription_id: str, start: datetime, end: datetime
    ) -> list[OnDemandLedgerRow]: ...
    def claims_of_policies(
        self, policy_ids: Sequence[str]
    ) -> list[tuple[str, datetime, datetime]]: ...

    # certificates
    def certificate(
        self, tenant_id: str, number: str, *, for_update: bool = False
    ) -> OnDemandCertificateRow | None: ...
    def certificate_unscoped(self, number: str) -> OnDemandCertificateRow | None: ...
    def certificates_of_window(self, window_id: str) -> list[OnDemandCertificateRow]: ...
    def certificate_pdf(self, number: str) -> OnDemandCertificatePdfRow | None: ...
    def add_certificate_pdf(self, row: OnDemandCertificatePdfRow) -> bool: ...
    def signing_key(self, key_id: str) -> OnDemandSigningKeyRow | None: ...
    def has_signing_key(self, key_id: str) -> bool: ...
    def add_signing_key(self, row: OnDemandSigningKeyRow) -> bool: ...

    # triggers
    def calendar(
        self, subscription_id: str, object_ref: str, *, for_update: bool = False
    ) -> OnDemandCalendarRow | None: ...
    def missions(self, subscription_id: str, object_ref: str) -> list[OnDemandMissionRow]: ...
    def upcoming_mission_objects(self, now: datetime) -> list[tuple[str, str, str]]: ...
    def geofence(self, subscription_id: str) -> OnDemandGeofenceRow | None: ...
    def tracker(
        self, subscription_id: str, device_ref: str, *, for_update: bool = False
    ) -> OnDemandTrackerRow | None: ...
    def partner_ref(
        self, tenant_id: str, partner_ref: str, *, for_update: bool = False
    ) -> OnDemandPartnerRefRow | None: ...
    def reminders(self, subscription_id: str) -> list[OnDemandReminderRow]: ...
    def claim_reminder(self, row: OnDemandReminderRow) -> bool: ...
    def settle_reminder(self, reminder_id: int, status: str) -> bool: ...
    def release_reminder(self, reminder_id: int) -> bool: ...

    # jobs (every tenant)
    def trackers_to_tick(self, limit: int) -> list[OnDemandTrackerRow]: ...
    def partner_refs_with_pending_stop(self, limit: int) -> list[OnDemandPartnerRefRow]: ...
    def calendars_to_resync(
        self, synced_before: datetime, limit: int
    ) -> list[OnDemandCalendarRow]: ...

    # insurer's portfolio (read-only; tenant None: every tenant, the operator's view)
    def portfolio_windows(
        self, tenant_id: str | None, start: datetime, end: datetime, at: datetime
    ) -> list[tuple[OnDemandWindowRow, str, Decimal]]: ...
    def portfolio_entries(
        self, tenant_id: str | None, start: datetime, end: datetime, at: datetime
    ) -> list[OnDemandLedgerRow]: ...
    def portfolio_claims(
        self, tenant_id: str | None, start: datetime, end: datetime
    ) -> list[tuple[str, str, str, datetime, str]]: ...
    def portfolio_claim_entries(
        self, tenant_id: str | None, start: datetime, end: datetime
    ) -> list[tuple[str, str, Decimal, datetime]]: ...


class SqlOnDemandRepository(SqlCertificateRows, SqlTriggerRows, SqlPortfolioRows):
    """:class:`OnDemandRepository` on a SQLAlchemy session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: what fails inside is rolled back alone (then re-raised)."""
        nested = self._session.begin_nested()
        try:
            yield
        except BaseException:
            nested.rollback()
            raise
        nested.commit()

    def add(self, row: object) -> None:
        self._session.add(row)
        self._session.flush()

    def insert(self, row: Base) -> None:
        """Insert ``row`` now without attaching it to the session (``polis.store.inserts``): for
        rows the caller never changes afterwards in this transaction."""
        insert_row(self._session, row)

    def insert_later(self, row: Base) -> None:
        """Insert ``row`` with the next statement or at commit (``polis.store.deferred``): for
        rows nothing changes or reads back by key in this transaction."""
        insert_later(self._session, row)

    # --- customers and subscriptions ---------------------------------------------------------

    def customer(
        self, tenant_id: str, customer_id: str, *, for_update: bool = False
    ) -> OnDemandCustomerRow | None:
        query = select(OnDemandCustomerRow).where(
            OnDemandCustomerRow.id == customer_id, OnDemandCustomerRow.tenant_id == tenant_id
        )
        return self._session.scalars(query.with_for_update() if for_update else query).first()

    def customers(self, tenant_id: str, *, limit: int, offset: int) -> list[OnDemandCustomerRow]:
        query = (
            select(OnDemandCustomerRow)
            .where(OnDemandCustomerRow.tenant_id == tenant_id)
            .order_by(OnDemandCustomerRow.created_at, OnDemandCustomerRow.id)
            .limit(limit)
            .offset(offset)
        )
        return list(self._session.scalars(query))

    def subscription(
        self, tenant_id: str, subscription_id: str, *, for_update: bool = False
    ) -> OnDemandSubscriptionRow | None:
        query = select(OnDemandSubscriptionRow).where(
            OnDemandSubscriptionRow.id == subscription_id,
            OnDemandSubscriptionRow.tenant_id == tenant_id,
        )
        return self._session.scalars(query.with_for_update() if for_update else query).first()

    def subscription_and_customer(
        self, tenant_id: str, subscription_id: str, *, for_update: bool = False
    ) -> tuple[OnDemandSubscriptionRow, OnDemandCustomerRow, bool] | None:
        """The subscription of the tenant, its customer and whether it has a geofence, in one
        query (``for_update``: only the subscription's row is locked)."""
        query = SUBSCRIPTION_AND_CUSTOMER_LOCKED if for_update else SUBSCRIPTION_AND_CUSTOMER
        parameters = {"tenant": tenant_id, "subscription": subscription_id}
        found = self._session.execute(query, parameters).first()
        return None if found is None else (found[0], found[1], bool(found[2]))

    def subscriptions_of(self, tenant_id: str, customer_id: str) -> list[OnDemandSubscriptionRow]:
        query = (
            select(OnDemandSubscriptionRow)
            .where(
                OnDemandSubscriptionRow.tenant_id == tenant_id,
                OnDemandSubscriptionRow.customer_id == customer_id,
            )
            .order_by(OnDemandSubscriptionRow.accepted_at, OnDemandSubscriptionRow.id)
        )
        return list(self._session.scalars(query))

    # --- windows and ledger ------------------------------------------------------------------

    def window(
        self, tenant_id: str, window_id: str, *, for_update: bool = False
    ) -> OnDemandWindowRow | None:
        query = WINDOW_LOCKED if for_update else WINDOW
        parameters = {"window": window_id, "tenant": tenant_id}
        return self._session.scalars(query, parameters).first()

    def _windows(self, *conditions: ColumnElement[bool]) -> list[OnDemandWindowRow]:
        query = select(OnDemandWindowRow).where(*conditions)
        order = (OnDemandWindowRow.starts_at, OnDemandWindowRow.id)
        return list(self._session.scalars(query.order_by(*order)))

    def windows_of_object(self, subscription_id: str, object_ref: str) -> list[OnDemandWindowRow]:
        parameters = {"subscription": subscription_id, "object_ref": object_ref}
        return list(self._session.scalars(WINDOWS_OF_OBJECT, parameters))

    def windows_by_object_ref(
        self, tenant_id: str, object_ref: str, subscription_id: str | None = None
    ) -> list[OnDemandWindowRow]:
        conditions = [
            OnDemandWindowRow.tenant_id == tenant_id,
            OnDemandWindowRow.object_ref == object_ref,
        ]
        if subscription_id is not None:
            conditions.append(OnDemandWindowRow.subscription_id == subscription_id)
        return self._windows(*conditions)

    def windows_of_customer(self, customer_id: str) -> list[OnDemandWindowRow]:
        return list(self._session.scalars(WINDOWS_OF_CUSTOMER, {"customer": customer_id}))

    def windows_of_subscription(self, subscription_id: str) -> list[OnDemandWindowRow]:
        parameters = {"subscription": subscription_id}
        return list(self._session.scalars(WINDOWS_OF_SUBSCRIPTION, parameters))

    def windows_for_activation(
        self,
        customer_id: str,
        subscription_id: str,
        object_ref: str,
        month: tuple[datetime, datetime],
        day: tuple[datetime, datetime],
    ) -> list[OnDemandWindowRow]:
        """What an activation reads of the customer's windows, in start order: every window of
        the item, the subscription's windows touching ``month`` and the customer's windows created
        in ``day`` (not the whole history: that is counted by :meth:`history_counts`)."""
        parameters = {
            "customer": customer_id,
            "subscription": subscription_id,
            "object_ref": object_ref,
            "month_start": month[0],
            "month_end": month[1],
            "day_start": day[0],
            "day_end": day[1],
        }
        return list(self._session.scalars(WINDOWS_FOR_ACTIVATION, parameters))

    def history_counts(
        self, customer_id: str, now: datetime, claims_since: datetime
    ) -> tuple[int, int, int]:
        """Of the customer's windows not cancelled: those ended by ``now``, those of them with a
        claim whose loss falls inside, and the claims on their policies declared after
        ``claims_since`` — counted by the database in one query."""
        parameters = {"customer": customer_id, "now": now, "since": claims_since}
        completed, with_claims, recent = self._session.execute(HISTORY, parameters).one()
        return int(completed or 0), int(with_claims or 0), int(recent or 0)

    def windows_by_source(
        self, subscription_id: str, object_ref: str, source: str, source_ref: str
    ) -> list[OnDemandWindowRow]:
        return self._windows(
            OnDemandWindowRow.subscription_id == subscription_id,
            OnDemandWindowRow.object_ref == object_ref,
            OnDemandWindowRow.source == source,
            OnDemandWindowRow.source_ref == source_ref,
        )

    def live_windows_created_between(self, customer_id: str, start: datetime, end: datetime) -> int:
        query = select(func.count()).where(
            OnDemandWindowRow.customer_id == customer_id,
            OnDemandWindowRow.created_at >= start,
            OnDemandWindowRow.created_at < end,
            OnDemandWindowRow.state != "cancelled",
        )
        return int(self._session.scalar(query) or 0)

    def windows_to_expire(self, now: datetime, *, limit: int) -> list[OnDemandWindowRow]:
        query = (
            select(OnDemandWindowRow)
            .where(
                OnDemandWindowRow.expired_notified_at.is_(None),
                OnDemandWindowRow.ends_at <= now,
                OnDemandWindowRow.state != "cancelled",
            )
            .order_by(OnDemandWindowRow.ends_at, OnDemandWindowRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(self._session.scalars(query))

    def windows_for_month(
        self, customer_id: str, start: datetime, end: datetime
    ) -> list[OnDemandWindowRow]:
        """Windows with time in ``[start, end)`` or a ledger entry dated in it."""
        with_entries = select(OnDemandLedgerRow.window_id).where(
            OnDemandLedgerRow.customer_id == customer_id,
            OnDemandLedgerRow.at >= start,
            OnDemandLedgerRow.at < end,
        )
        return self._windows(
            OnDemandWindowRow.customer_id == customer_id,
            or_(
                (OnDemandWindowRow.starts_at < end) & (OnDemandWindowRow.sold_end > start),
                OnDemandWindowRow.id.in_(with_entries),
            ),
        )

    def entries_of_windows(self, window_ids: Sequence[str]) -> list[OnDemandLedgerRow]:
        if not window_ids:
            return []
        parameters = {"windows": list(window_ids)}
        return list(self._session.scalars(ENTRIES_OF_WINDOWS, parameters))

    def entries_of_object(self, subscription_id: str, object_ref: str) -> list[OnDemandLedgerRow]:
        parameters = {"subscription": subscription_id, "object_ref": object_ref}
        return list(self._session.scalars(ENTRIES_OF_OBJECT, parameters))

    def charges_of_subscription_between(
        self, subscription_id: str, start: datetime, end: datetime
    ) -> list[OnDemandLedgerRow]:
        """Charges of windows of the subscription that touch ``[start, end)``."""
        touching = select(OnDemandWindowRow.id).where(
            OnDemandWindowRow.subscription_id == subscription_id,
            OnDemandWindowRow.starts_at < end,
            OnDemandWindowRow.sold_end > start,
        )
        query = select(OnDemandLedgerRow).where(
            OnDemandLedgerRow.subscription_id == subscription_id,
            OnDemandLedgerRow.kind == "charge",
            OnDemandLedgerRow.window_id.in_(touching),
        )
        return list(self._session.scalars(query.order_by(OnDemandLedgerRow.id)))

    def claims_of_policies(self, policy_ids: Sequence[str]) -> list[tuple[str, datetime, datetime]]:
        """``(policy_id, loss_at, declared_at)`` of every claim on ``policy_ids``."""
        if not policy_ids:
            return []
        rows = self._session.execute(CLAIMS_OF_POLICIES, {"policies": list(policy_ids)})
        return [(p, loss, declared) for p, loss, declared in rows]
