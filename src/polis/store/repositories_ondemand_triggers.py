"""Triggers and periodic jobs of the on-demand repository (a part of
:class:`polis.store.repositories_ondemand.SqlOnDemandRepository`): calendars, missions, geofences,
trackers, partner references, reminders, and the rows the jobs pick up over every tenant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, not_, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from polis.store.repositories import insert_unless_taken
from polis.store.tables_ondemand import (
    OnDemandCalendarRow,
    OnDemandGeofenceRow,
    OnDemandMissionRow,
    OnDemandPartnerRefRow,
    OnDemandReminderRow,
    OnDemandSubscriptionRow,
    OnDemandTrackerRow,
)

__all__ = ["SqlTriggerRows"]


def _not_withdrawn(subscription_id: InstrumentedAttribute[str]) -> ColumnElement[bool]:
    """The row's subscription was not withdrawn (the periodic jobs leave those alone: nothing opens
    or moves cover on them any more)."""
    withdrawn = select(OnDemandSubscriptionRow.id).where(
        OnDemandSubscriptionRow.withdrawn_at.is_not(None)
    )
    return subscription_id.not_in(withdrawn)


class SqlTriggerRows:
    """Calendars, missions, geofences, trackers, partner references, reminders; the jobs' rows."""

    _session: Session

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
