"""The repository of on-demand micro-policies (contract as a ``Protocol``, SQL implementation).

Tenant isolation is built into the queries: lookups by id take the tenant and filter on it, so a
customer, subscription, window or certificate of another tenant is simply not found. The exceptions
are named ``*_unscoped`` (the public verification of a certificate by its number; jobs that run
over every tenant) and take rows the caller already reached through its tenant.

Rows about to change are read with ``SELECT … FOR UPDATE`` (``for_update=True``): activations of
one subscription queue on its row on PostgreSQL, so the usage book an activation reads is never
stale (on SQLite every write transaction holds the database lock already: ``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Protocol
from weakref import WeakKeyDictionary

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    delete,
    func,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from polis.store.inserts import insert_later, insert_row
from polis.store.repositories import insert_unless_taken
from polis.store.tables import Base
from polis.store.tables_claims import ClaimLedgerRow, ClaimRow
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

# Statements of the activation path, built once with bind parameters: SQLAlchemy then finds their
# compiled form and cache key at once (building a ``select`` on every call cost as much as
# running it).
_FENCED = (
    select(OnDemandGeofenceRow.subscription_id)
    .where(OnDemandGeofenceRow.subscription_id == OnDemandSubscriptionRow.id)
    .exists()
)
_SUBSCRIPTION_AND_CUSTOMER = (
    select(OnDemandSubscriptionRow, OnDemandCustomerRow, _FENCED)
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
_SUBSCRIPTION_AND_CUSTOMER_LOCKED = _SUBSCRIPTION_AND_CUSTOMER.with_for_update(
    of=OnDemandSubscriptionRow
)
_WINDOW = select(OnDemandWindowRow).where(
    OnDemandWindowRow.id == bindparam("window"),
    OnDemandWindowRow.tenant_id == bindparam("tenant"),
)
_WINDOW_LOCKED = _WINDOW.with_for_update()
_WINDOW_ORDER = (OnDemandWindowRow.starts_at, OnDemandWindowRow.id)
_WINDOWS_OF_OBJECT = (
    select(OnDemandWindowRow)
    .where(
        OnDemandWindowRow.subscription_id == bindparam("subscription"),
        OnDemandWindowRow.object_ref == bindparam("object_ref"),
    )
    .order_by(*_WINDOW_ORDER)
)
_WINDOWS_OF_CUSTOMER = (
    select(OnDemandWindowRow)
    .where(OnDemandWindowRow.customer_id == bindparam("customer"))
    .order_by(*_WINDOW_ORDER)
)
_WINDOWS_OF_SUBSCRIPTION = (
    select(OnDemandWindowRow)
    .where(OnDemandWindowRow.subscription_id == bindparam("subscription"))
    .order_by(*_WINDOW_ORDER)
)
_ENTRIES_OF_WINDOWS = (
    select(OnDemandLedgerRow)
    .where(OnDemandLedgerRow.window_id.in_(bindparam("windows", expanding=True)))
    .order_by(OnDemandLedgerRow.id)
)
_ENTRIES_OF_OBJECT = (
    select(OnDemandLedgerRow)
    .where(
        OnDemandLedgerRow.subscription_id == bindparam("subscription"),
        OnDemandLedgerRow.object_ref == bindparam("object_ref"),
    )
    .order_by(OnDemandLedgerRow.id)
)
_WINDOWS_FOR_ACTIVATION = (
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
    .order_by(*_WINDOW_ORDER)
)
_LIVE = and_(
    OnDemandWindowRow.customer_id == bindparam("customer"),
    OnDemandWindowRow.state != "cancelled",
)
_COMPLETED = OnDemandWindowRow.ends_at <= bindparam("now")
_CLAIMED = (
    select(ClaimRow.id)
    .where(
        ClaimRow.policy_id == OnDemandWindowRow.policy_id,
        ClaimRow.loss_at >= OnDemandWindowRow.starts_at,
        ClaimRow.loss_at < OnDemandWindowRow.ends_at,
    )
    .exists()
)
_RECENT_CLAIMS = (
    select(func.count())
    .select_from(ClaimRow)
    .where(
        ClaimRow.policy_id.in_(select(OnDemandWindowRow.policy_id).where(_LIVE)),
        ClaimRow.declared_at > bindparam("since"),
    )
    .scalar_subquery()
)
_HISTORY = select(
    func.count().filter(_COMPLETED),
    func.count().filter(and_(_COMPLETED, _CLAIMED)),
    _RECENT_CLAIMS,
).where(_LIVE)
_CLAIMS_OF_POLICIES = select(ClaimRow.policy_id, ClaimRow.loss_at, ClaimRow.declared_at).where(
    ClaimRow.policy_id.in_(bindparam("policies", expanding=True))
)

#: signing keys known to be stored, per engine (``has_signing_key``)
_KNOWN_SIGNING_KEYS: WeakKeyDictionary[object, set[str]] = WeakKeyDictionary()


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


def _not_withdrawn(subscription_id: InstrumentedAttribute[str]) -> ColumnElement[bool]:
    """The row's subscription was not withdrawn (the periodic jobs leave those alone: nothing opens
    or moves cover on them any more)."""
    withdrawn = select(OnDemandSubscriptionRow.id).where(
        OnDemandSubscriptionRow.withdrawn_at.is_not(None)
    )
    return subscription_id.not_in(withdrawn)


class SqlOnDemandRepository:
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
        query = _SUBSCRIPTION_AND_CUSTOMER_LOCKED if for_update else _SUBSCRIPTION_AND_CUSTOMER
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
        query = _WINDOW_LOCKED if for_update else _WINDOW
        parameters = {"window": window_id, "tenant": tenant_id}
        return self._session.scalars(query, parameters).first()

    def _windows(self, *conditions: ColumnElement[bool]) -> list[OnDemandWindowRow]:
        query = select(OnDemandWindowRow).where(*conditions)
        order = (OnDemandWindowRow.starts_at, OnDemandWindowRow.id)
        return list(self._session.scalars(query.order_by(*order)))

    def windows_of_object(self, subscription_id: str, object_ref: str) -> list[OnDemandWindowRow]:
        parameters = {"subscription": subscription_id, "object_ref": object_ref}
        return list(self._session.scalars(_WINDOWS_OF_OBJECT, parameters))

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
        return list(self._session.scalars(_WINDOWS_OF_CUSTOMER, {"customer": customer_id}))

    def windows_of_subscription(self, subscription_id: str) -> list[OnDemandWindowRow]:
        parameters = {"subscription": subscription_id}
        return list(self._session.scalars(_WINDOWS_OF_SUBSCRIPTION, parameters))

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
        return list(self._session.scalars(_WINDOWS_FOR_ACTIVATION, parameters))

    def history_counts(
        self, customer_id: str, now: datetime, claims_since: datetime
    ) -> tuple[int, int, int]:
        """Of the customer's windows not cancelled: those ended by ``now``, those of them with a
        claim whose loss falls inside, and the claims on their policies declared after
        ``claims_since`` — counted by the database in one query."""
        parameters = {"customer": customer_id, "now": now, "since": claims_since}
        completed, with_claims, recent = self._session.execute(_HISTORY, parameters).one()
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
        return list(self._session.scalars(_ENTRIES_OF_WINDOWS, parameters))

    def entries_of_object(self, subscription_id: str, object_ref: str) -> list[OnDemandLedgerRow]:
        parameters = {"subscription": subscription_id, "object_ref": object_ref}
        return list(self._session.scalars(_ENTRIES_OF_OBJECT, parameters))

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
        rows = self._session.execute(_CLAIMS_OF_POLICIES, {"policies": list(policy_ids)})
        return [(p, loss, declared) for p, loss, declared in rows]

    # --- certificates ------------------------------------------------------------------------

    def certificate(
        self, tenant_id: str, number: str, *, for_update: bool = False
    ) -> OnDemandCertificateRow | None:
        query = select(OnDemandCertificateRow).where(
            OnDemandCertificateRow.number == number, OnDemandCertificateRow.tenant_id == tenant_id
        )
        return self._session.scalars(query.with_for_update() if for_update else query).first()

    def certificate_unscoped(self, number: str) -> OnDemandCertificateRow | None:
        return self._session.get(OnDemandCertificateRow, number)

    def certificates_of_window(self, window_id: str) -> list[OnDemandCertificateRow]:
        query = select(OnDemandCertificateRow).where(OnDemandCertificateRow.window_id == window_id)
        order = (OnDemandCertificateRow.issued_at, OnDemandCertificateRow.number)
        return list(self._session.scalars(query.order_by(*order)))

    def certificate_pdf(self, number: str) -> OnDemandCertificatePdfRow | None:
        return self._session.get(OnDemandCertificatePdfRow, number)

    def add_certificate_pdf(self, row: OnDemandCertificatePdfRow) -> bool:
        """Store a rendered PDF; ``False`` (nothing stored) when its certificate has one already."""
        return insert_unless_taken(self._session, row)

    def signing_key(self, key_id: str) -> OnDemandSigningKeyRow | None:
        return self._session.get(OnDemandSigningKeyRow, key_id)

    def has_signing_key(self, key_id: str) -> bool:
        """Whether ``key_id`` is stored. Signing keys are never deleted, so a key found once is
        remembered for the engine (one query per engine and key, not one per certificate)."""
        engine = self._session.get_bind()
        known = _KNOWN_SIGNING_KEYS.setdefault(engine, set())
        if key_id in known:
            return True
        if self.signing_key(key_id) is None:
            return False
        known.add(key_id)
        return True

    def add_signing_key(self, row: OnDemandSigningKeyRow) -> bool:
        """Store a public key unless its key id is stored already — maybe by a concurrent first
        activation that committed while this insert waited (``False`` then; nothing written)."""
        return insert_unless_taken(self._session, row)

    # --- triggers ----------------------------------------------------------------------------

    def calendar(
        self, subscription_id: str, object_ref: str, *, for_update: bool = False
    ) -> OnDemandCalendarRow | None:
        query = select(OnDemandCalendarRow).where(
            OnDemandCalendarRow.subscription_id == subscription_id,
            OnDemandCalendarRow.object_ref == object_ref,
        )
        return self._session.scalars(query.with_for_update() if for_update else query).first()

    def missions(self, subscription_id: str, object_ref: str) -> list[OnDemandMissionRow]:
        query = select(OnDemandMissionRow).where(
            OnDemandMissionRow.subscription_id == subscription_id,
            OnDemandMissionRow.object_ref == object_ref,
        )
        return list(self._session.scalars(query.order_by(OnDemandMissionRow.mission_key)))

    def upcoming_mission_objects(self, now: datetime) -> list[tuple[str, str, str]]:
        """``(tenant, subscription, object_ref)`` with a mission still to start."""
        query = (
            select(
                OnDemandMissionRow.tenant_id,
                OnDemandMissionRow.subscription_id,
                OnDemandMissionRow.object_ref,
            )
            .where(
                OnDemandMissionRow.mission_start > now,
                OnDemandMissionRow.mission_status.in_(["confirmed", "tentative"]),
                _not_withdrawn(OnDemandMissionRow.subscription_id),
            )
            .distinct()
            .order_by(OnDemandMissionRow.subscription_id, OnDemandMissionRow.object_ref)
        )
        return [(t, s, o) for t, s, o in self._session.execute(query)]

    def geofence(self, subscription_id: str) -> OnDemandGeofenceRow | None:
        return self._session.get(OnDemandGeofenceRow, subscription_id)

    def tracker(
        self, subscription_id: str, device_ref: str, *, for_update: bool = False
    ) -> OnDemandTrackerRow | None:
        query = select(OnDemandTrackerRow).where(
            OnDemandTrackerRow.subscription_id == subscription_id,
            OnDemandTrackerRow.device_ref == device_ref,
        )
        return self._session.scalars(query.with_for_update() if for_update else query).first()

    def partner_ref(
        self, tenant_id: str, partner_ref: str, *, for_update: bool = False
    ) -> OnDemandPartnerRefRow | None:
        query = select(OnDemandPartnerRefRow).where(
            OnDemandPartnerRefRow.tenant_id == tenant_id,
            OnDemandPartnerRefRow.partner_ref == partner_ref,
        )
        return self._session.scalars(query.with_for_update() if for_update else query).first()

    def reminders(self, subscription_id: str) -> list[OnDemandReminderRow]:
        query = select(OnDemandReminderRow).where(
            OnDemandReminderRow.subscription_id == subscription_id
        )
        return list(self._session.scalars(query.order_by(OnDemandReminderRow.id)))

    def claim_reminder(self, row: OnDemandReminderRow) -> bool:
        """Insert a reminder row; ``False`` (nothing inserted) when its key is recorded already —
        another worker claimed it (the unique ``(subscription_id, reminder_key)``; on PostgreSQL
        the second insert waits for the first transaction, then fails)."""
        return insert_unless_taken(self._session, row)

    def settle_reminder(self, reminder_id: int, status: str) -> bool:
        """Move a ``claimed`` reminder to ``status``; ``False`` if it is not claimed any more."""
        statement = (
            update(OnDemandReminderRow)
            .where(OnDemandReminderRow.id == reminder_id, OnDemandReminderRow.status == "claimed")
            .values(status=status)
            .returning(OnDemandReminderRow.id)
            .execution_options(synchronize_session=False)
        )
        return self._session.execute(statement).first() is not None

    def release_reminder(self, reminder_id: int) -> bool:
        """Delete a ``claimed`` reminder (its sending failed: it may be tried again)."""
        statement = (
            delete(OnDemandReminderRow)
            .where(OnDemandReminderRow.id == reminder_id, OnDemandReminderRow.status == "claimed")
            .returning(OnDemandReminderRow.id)
            .execution_options(synchronize_session=False)
        )
        return self._session.execute(statement).first() is not None

    # --- jobs (every tenant: the rows are handed to use cases scoped by their tenant) ------------

    def trackers_to_tick(self, limit: int) -> list[OnDemandTrackerRow]:
        """Trackers that time alone may move: a device not simply outside (arriving, inside,
        leaving) or with pings still buffered; least recently updated first. (The state is JSON
        written by ``json.dumps``; the use case decides on the parsed state.)"""
        state = OnDemandTrackerRow.state
        idle = and_(state.like('%"phase": "outside"%'), state.like('%"pending": []%'))
        query = (
            select(OnDemandTrackerRow)
            .where(not_(idle), _not_withdrawn(OnDemandTrackerRow.subscription_id))
            .order_by(OnDemandTrackerRow.updated_at, OnDemandTrackerRow.id)
            .limit(limit)
        )
        return list(self._session.scalars(query))

    def partner_refs_with_pending_stop(self, limit: int) -> list[OnDemandPartnerRefRow]:
        """Partner references holding a stop that still waits for its start."""
        query = (
            select(OnDemandPartnerRefRow)
            .where(
                OnDemandPartnerRefRow.window_id.is_(None),
                OnDemandPartnerRefRow.state.like('%"status": "stop_pending"%'),
                _not_withdrawn(OnDemandPartnerRefRow.subscription_id),
            )
            .order_by(OnDemandPartnerRefRow.updated_at, OnDemandPartnerRefRow.id)
            .limit(limit)
        )
        return list(self._session.scalars(query))

    def calendars_to_resync(self, synced_before: datetime, limit: int) -> list[OnDemandCalendarRow]:
        """Calendars fetched from a URL and not synced since ``synced_before``; never synced or
        least recently synced first."""
        synced = OnDemandCalendarRow.last_synced_at
        query = (
            select(OnDemandCalendarRow)
            .where(
                OnDemandCalendarRow.source == "url",
                OnDemandCalendarRow.url.is_not(None),
                or_(synced.is_(None), synced <= synced_before),
                _not_withdrawn(OnDemandCalendarRow.subscription_id),
            )
            .order_by(synced.is_not(None), synced, OnDemandCalendarRow.id)
            .limit(limit)
        )
        return list(self._session.scalars(query))

    # --- insurer's portfolio (read-only; tenant None: every tenant, the operator's view) -------

    def _portfolio_window_ids(
        self, tenant_id: str | None, start: datetime, end: datetime, at: datetime
    ) -> Select[str]:
        """Windows with cover in ``[start, end)``, in force at ``at``, or an entry dated in
        ``[start, end)``."""
        w = OnDemandWindowRow
        dated = select(OnDemandLedgerRow.window_id).where(
            OnDemandLedgerRow.at >= start, OnDemandLedgerRow.at < end
        )
        if tenant_id is not None:
            dated = dated.where(OnDemandLedgerRow.tenant_id == tenant_id)
        query = select(w.id).where(
            or_(
                and_(w.starts_at < end, w.ends_at > start),
                and_(w.starts_at <= at, w.ends_at > at),
                w.id.in_(dated),
            )
        )
        return query if tenant_id is None else query.where(w.tenant_id == tenant_id)

    def portfolio_windows(
        self, tenant_id: str | None, start: datetime, end: datetime, at: datetime
    ) -> list[tuple[OnDemandWindowRow, str, Decimal]]:
        """``(window, product id, sum insured)`` of the windows of the portfolio's period."""
        ids = self._portfolio_window_ids(tenant_id, start, end, at)
        query = (
            select(
                OnDemandWindowRow,
                OnDemandSubscriptionRow.product_id,
                OnDemandSubscriptionRow.sum_insured,
            )
            .join(
                OnDemandSubscriptionRow,
                OnDemandSubscriptionRow.id == OnDemandWindowRow.subscription_id,
            )
            .where(OnDemandWindowRow.id.in_(ids))
            .order_by(OnDemandWindowRow.starts_at, OnDemandWindowRow.id)
        )
        return [(row, product, amount) for row, product, amount in self._session.execute(query)]

    def portfolio_entries(
        self, tenant_id: str | None, start: datetime, end: datetime, at: datetime
    ) -> list[OnDemandLedgerRow]:
        """Every ledger entry of the windows of :meth:`portfolio_windows`."""
        ids = self._portfolio_window_ids(tenant_id, start, end, at)
        query = select(OnDemandLedgerRow).where(OnDemandLedgerRow.window_id.in_(ids))
        return list(self._session.scalars(query.order_by(OnDemandLedgerRow.id)))

    def _portfolio_claims(
        self, tenant_id: str | None, start: datetime, end: datetime
    ) -> Select[str, str, str, datetime, str]:
        policies = (
            select(OnDemandWindowRow.policy_id, OnDemandWindowRow.subscription_id)
            .distinct()
            .subquery()
        )
        query = (
            select(
                ClaimRow.id,
                ClaimRow.tenant_id,
                OnDemandSubscriptionRow.product_id,
                ClaimRow.loss_at,
                ClaimRow.status,
            )
            .join(policies, policies.c.policy_id == ClaimRow.policy_id)
            .join(
                OnDemandSubscriptionRow,
                OnDemandSubscriptionRow.id == policies.c.subscription_id,
            )
            .where(ClaimRow.loss_at >= start, ClaimRow.loss_at < end)
        )
        return query if tenant_id is None else query.where(ClaimRow.tenant_id == tenant_id)

    def portfolio_claims(
        self, tenant_id: str | None, start: datetime, end: datetime
    ) -> list[tuple[str, str, str, datetime, str]]:
        """``(claim, tenant, product, loss instant, status)`` of the claims on on-demand policies
        with a loss in ``[start, end)``."""
        query = self._portfolio_claims(tenant_id, start, end).order_by(ClaimRow.id)
        return [(c, t, p, loss, status) for c, t, p, loss, status in self._session.execute(query)]

    def portfolio_claim_entries(
        self, tenant_id: str | None, start: datetime, end: datetime
    ) -> list[tuple[str, str, Decimal, datetime]]:
        """``(claim, kind, amount, at)`` of every ledger entry of :meth:`portfolio_claims`."""
        claims = self._portfolio_claims(tenant_id, start, end).with_only_columns(ClaimRow.id)
        query = (
            select(
                ClaimLedgerRow.claim_id,
                ClaimLedgerRow.kind,
                ClaimLedgerRow.amount,
                ClaimLedgerRow.at,
            )
            .where(ClaimLedgerRow.claim_id.in_(claims))
            .order_by(ClaimLedgerRow.id)
        )
        return [(c, kind, amount, at) for c, kind, amount, at in self._session.execute(query)]
