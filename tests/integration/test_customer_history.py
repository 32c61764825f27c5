"""The customer's history the limits read, counted by the database (``history_counts``) and the
windows an activation reads (``windows_for_activation``): checked against the same counts done
by hand over every window and claim, at the edges (a loss at the exact start counts, at the exact
end it does not; a claim declared exactly 365 days ago does not; cancelled windows never count)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from tests.ondemand_fixtures import ACTOR, issuer, new_tenant, subscribe, utc, verified_customer

from polis.kernel.time import Window
from polis.services import ondemand_windows
from polis.services.ondemand_customers import customer_history
from polis.store import SqlUnitOfWork
from polis.store.tables_claims import ClaimRow
from polis.store.tables_ondemand import OnDemandWindowRow

START = utc(2026, 1, 5, 8)  # a Monday
NOW = utc(2026, 6, 1, 12)


def _claim(tenant: str, policy: str, loss_at: datetime, declared_at: datetime) -> ClaimRow:
    return ClaimRow(
        id=f"CLM-T-{uuid.uuid4().hex[:12]}",
        tenant_id=tenant,
        policy_id=policy,
        cover_id="equipment",
        peril="theft",
        loss_at=loss_at,
        declared_at=declared_at,
        description="test",
        circumstances="test",
        estimated_amount=Decimal("100"),
        status="declared",
        late=False,
        days_late=0,
        declaration_deadline=declared_at + timedelta(days=5),
        reserve=Decimal("100"),
        insured_token_hash="0" * 64,
        updated_at=declared_at,
    )


def _by_hand(
    windows: list[OnDemandWindowRow], claims: list[ClaimRow], now: datetime
) -> tuple[int, int, int]:
    live = [w for w in windows if w.state != "cancelled"]
    completed = [w for w in live if w.ends_at <= now]
    policies = {w.policy_id for w in live}
    with_claims = sum(
        1
        for w in completed
        if any(
            c.policy_id == w.policy_id and Window(w.starts_at, w.ends_at).contains(c.loss_at)
            for c in claims
        )
    )
    recent = sum(
        1 for c in claims if c.policy_id in policies and c.declared_at > now - timedelta(days=365)
    )
    return len(completed), with_claims, recent


def test_the_history_is_counted_by_the_database_as_by_hand(uow: SqlUnitOfWork) -> None:
    tenant = new_tenant(uow)
    customer = verified_customer(uow, tenant, START - timedelta(days=400))
    sub = subscribe(uow, tenant, customer, START - timedelta(days=400)).id
    other = subscribe(uow, tenant, customer, START - timedelta(days=400)).id
    signer = issuer()
    activated = []
    for k in range(9):  # one a day, 2 h each, alternating between the two subscriptions
        done = ondemand_windows.activate_window(
            uow,
            tenant,
            sub if k % 2 == 0 else other,
            {"object_ref": "camera-1", "duration": "PT2H"},
            ACTOR,
            issuer=signer,
            now=START + timedelta(days=k),
        )
        activated.append(done.window)
    later = ondemand_windows.activate_window(  # scheduled after NOW: not completed
        uow,
        tenant,
        sub,
        {"object_ref": "camera-1", "start": "2026-06-20T10:00", "duration": "PT2H"},
        ACTOR,
        issuer=signer,
        now=NOW - timedelta(days=1),
    )
    cancelled = ondemand_windows.activate_window(
        uow,
        tenant,
        other,
        {"object_ref": "camera-1", "start": "2026-06-10T10:00", "duration": "PT2H"},
        ACTOR,
        issuer=signer,
        now=NOW - timedelta(days=2),
    )
    ondemand_windows.cancel_window(
        uow, tenant, cancelled.window.id, ACTOR, now=NOW - timedelta(days=2)
    )
    first, second, third = activated[0], activated[1], activated[2]
    claims = [
        _claim(tenant, first.policy_id, first.start, NOW - timedelta(days=3)),
        _claim(tenant, second.policy_id, second.end, NOW - timedelta(days=365)),
        _claim(
            tenant,
            third.policy_id,
            third.start + timedelta(minutes=30),
            NOW - timedelta(days=365) + timedelta(seconds=1),
        ),
        _claim(tenant, later.window.policy_id, utc(2026, 6, 20, 9), NOW - timedelta(days=400)),
    ]
    with uow:
        for claim in claims:
            uow.session.add(claim)
        uow.commit()
    with uow:
        windows = uow.ondemand.windows_of_customer(customer)
        expected = _by_hand(windows, claims, NOW)
        counts = uow.ondemand.history_counts(customer, NOW, NOW - timedelta(days=365))
        row = uow.ondemand.customer(tenant, customer)
        assert row is not None
        history = customer_history(uow, row, NOW)
    assert len(windows) == 11
    assert counts == expected
    assert (history.completed_windows, history.windows_with_claims) == counts[:2]
    assert history.claims_last_12_months == counts[2]
    # the edges, spelt out: the loss at the start of the first window counts, the one at the end
    # of the second does not; the claims declared 3 days and 365 days less a second ago count
    assert counts[1] == 2
    assert counts[2] == 2


def test_an_activation_reads_the_item_the_month_and_the_day_not_the_whole_history(
    uow: SqlUnitOfWork,
) -> None:
    tenant = new_tenant(uow)
    customer = verified_customer(uow, tenant, START - timedelta(days=400))
    sub = subscribe(uow, tenant, customer, START - timedelta(days=400)).id
    other = subscribe(uow, tenant, customer, START - timedelta(days=400)).id
    signer = issuer()

    def activate(subscription: str, now: datetime) -> str:
        done = ondemand_windows.activate_window(
            uow,
            tenant,
            subscription,
            {"object_ref": "camera-1", "duration": "PT1H"},
            ACTOR,
            issuer=signer,
            now=now,
        )
        return done.window.id

    old_item = activate(sub, START)  # the item: always read
    old_other = activate(other, START + timedelta(days=1))  # another subscription, long ago
    month_other = activate(other, utc(2026, 6, 1, 8))  # another subscription this month
    today_other = activate(other, utc(2026, 6, 3, 8))  # another subscription, today
    with uow:
        read = [
            w.id
            for w in uow.ondemand.windows_for_activation(
                customer,
                other,
                "camera-2",  # an item of ``other`` with no window
                (utc(2026, 5, 31, 22), utc(2026, 6, 30, 22)),  # June, Europe/Paris
                (utc(2026, 6, 2, 22), utc(2026, 6, 3, 22)),  # 3 June, Europe/Paris
            )
        ]
        mine = [
            w.id
            for w in uow.ondemand.windows_for_activation(
                customer,
                sub,
                "camera-1",
                (utc(2026, 5, 31, 22), utc(2026, 6, 30, 22)),
                (utc(2026, 6, 2, 22), utc(2026, 6, 3, 22)),
            )
        ]
    assert read == [month_other, today_other]  # ``other``'s month and the day
    assert mine == [old_item, today_other]  # ``sub``'s item and the day
    assert old_other not in {*read, *mine}
