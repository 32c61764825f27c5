"""The periodic jobs leave withdrawn subscriptions alone: their calendars are not fetched again and
their missions raise no reminder (before, each round reported them as failed items)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from tests.ondemand_fixtures import new_tenant, subscribe, utc, verified_customer

from polis.store import SqlUnitOfWork
from polis.store.tables_ondemand import (
    OnDemandCalendarRow,
    OnDemandMissionRow,
    OnDemandSubscriptionRow,
)

pytestmark = pytest.mark.db

NOW = utc(2026, 6, 10, 8)


def _calendar_and_mission(uow: SqlUnitOfWork, tenant: str, subscription: str) -> None:
    with uow:
        uow.session.add(
            OnDemandCalendarRow(
                tenant_id=tenant,
                subscription_id=subscription,
                object_ref="camera-1",
                source="url",
                url="https://calendar.example/feed.ics",
                margin_before_s=0,
                margin_after_s=0,
                acceptance="confirmed",
                last_synced_at=None,
                last_feed_sha256=None,
                issues="[]",
            )
        )
        uow.session.add(
            OnDemandMissionRow(
                tenant_id=tenant,
                subscription_id=subscription,
                object_ref="camera-1",
                mission_key="m-1",
                mission_start=NOW + timedelta(days=1),
                mission_end=NOW + timedelta(days=1, hours=3),
                mission_status="confirmed",
                summary="wedding",
                location="Lyon",
                all_day=False,
                cover_start=None,
                cover_end=None,
                cover_status=None,
                updated_at=NOW,
            )
        )
        uow.commit()


def test_withdrawn_subscriptions_are_left_out_of_the_calendar_and_reminder_jobs(
    uow: SqlUnitOfWork,
) -> None:
    tenant = new_tenant(uow)
    customer = verified_customer(uow, tenant, NOW)
    kept = subscribe(uow, tenant, customer, NOW).id
    withdrawn = subscribe(uow, tenant, customer, NOW).id
    for subscription in (kept, withdrawn):
        _calendar_and_mission(uow, tenant, subscription)
    with uow:
        uow.session.execute(
            update(OnDemandSubscriptionRow)
            .where(OnDemandSubscriptionRow.id == withdrawn)
            .values(withdrawn_at=NOW)
        )
        uow.commit()
    with uow:
        calendars = {
            c.subscription_id
            for c in uow.ondemand.calendars_to_resync(NOW + timedelta(days=30), limit=10_000)
        }
        missions = uow.ondemand.upcoming_mission_objects(NOW)
    assert kept in calendars
    assert withdrawn not in calendars
    assert (tenant, kept, "camera-1") in missions
    assert all(subscription != withdrawn for _, subscription, _ in missions)
