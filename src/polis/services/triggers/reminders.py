"""Reminders for missions still uncovered: :func:`run_reminders` (a job of ``polis worker``) plans
(:func:`~polis.ondemand.reminders.plan_reminders`) for every item with missions still to start and
sends each reminder due by e-mail (the customer's address, through the pluggable
:class:`~polis.services.triggers.common.MailSender`) and by webhook (the outbox event
``reminder.due``); the superseded ones are recorded too, so that none goes out late.

**At most once, with any number of workers** (``docs/triggers.md``, "Reminders"). A reminder is
*claimed* before it is sent: its row is inserted into ``ondemand_reminders`` (unique by
``(subscription_id, reminder_key)``) and committed in a transaction of its own; a worker whose
insert fails on the constraint lost the race and sends nothing.

- **Webhook**: the ``reminder.due`` event is published to the outbox in the claim's own
  transaction, with the row already ``sent``: the claim and the event commit together, and the
  outbox delivers it (at least once, deduplicated on ``Polis-Event-Id``). Exactly one event.
- **E-mail**: the row is committed ``claimed``, the mail is sent outside any transaction, then the
  row becomes ``sent``. A sender that raises is taken as not sent: the claim is released (deleted)
  and the reminder is tried again at the next run. A process that dies between the claim and the
  end of the send leaves the row ``claimed`` for good: that reminder is never sent (at most once —
  a mail sent twice is the failure we refuse; rows left ``claimed`` are visible in the table).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from polis.kernel.errors import InvalidInput
from polis.kernel.time import PARIS, Window, to_local
from polis.ondemand.reminders import (
    Channel,
    Recipient,
    Reminder,
    ReminderKey,
    ReminderPlan,
    plan_reminders,
)
from polis.ondemand.triggers_calendar import Mission, MissionKey, MissionStatus
from polis.ondemand.windows import WindowState
from polis.services import audit, outbox
from polis.services.ondemand_subscriptions import load_context
from polis.services.ondemand_windows import retrying
from polis.services.triggers.common import MailSender, Strict, moment_of
from polis.store.tables_ondemand import OnDemandMissionRow, OnDemandReminderRow
from polis.store.uow import UnitOfWork

__all__ = ["ReminderReport", "run_reminders"]


class ReminderReport(Strict):
    checked_at: datetime
    items: int
    sent: list[dict[str, Any]]
    superseded: int
    failed: list[dict[str, Any]]
    next_check_at: datetime | None


def _missions_of(rows: Sequence[OnDemandMissionRow]) -> list[Mission]:
    missions = []
    for row in rows:
        if row.mission_status == "removed" or row.mission_start is None or row.mission_end is None:
            continue
        missions.append(
            Mission(
                key=MissionKey.from_text(row.mission_key),
                window=Window(row.mission_start, row.mission_end),
                status=MissionStatus(row.mission_status),
                summary=row.summary,
                location=row.location,
                all_day=row.all_day,
            )
        )
    return missions


_SUBJECTS = {
    "fr": "Mission sans assurance : {mission} le {when}",
    "en": "Mission without cover: {mission} on {when}",
}
_BODIES = {
    "fr": (
        "Bonjour,\n\nVotre mission « {mission} »{where} commence le {when} ({zone}) et n'est "
        "pas entièrement couverte : la garantie manque à partir du {uncovered}.\n\n"
        "Activez votre assurance à la demande avant le début de la mission.\n\n— Polis\n"
    ),
    "en": (
        "Hello,\n\nYour mission '{mission}'{where} starts on {when} ({zone}) and is not fully "
        "covered: cover is missing from {uncovered}.\n\nActivate your on-demand cover before "
        "the mission starts.\n\n— Polis\n"
    ),
}


def _message(lang: str, params: dict[str, str]) -> tuple[str, str]:
    def local(text: str) -> str:
        return to_local(datetime.fromisoformat(text), PARIS).strftime("%d/%m/%Y %H:%M")

    where = f" ({params['location']})" if params.get("location") else ""
    values = {
        "mission": params["mission"],
        "where": where,
        "when": local(params["starts_at"]),
        "zone": params["time_zone"],
        "uncovered": local(params["uncovered_from"]),
    }
    language = "en" if lang == "en" else "fr"
    return _SUBJECTS[language].format(**values), _BODIES[language].format(**values)


@dataclass(frozen=True, slots=True)
class _Item:
    """One insured item with missions to start, and its reminders planned at this run."""

    tenant_id: str
    subscription_id: str
    customer_id: str
    language: str
    object_ref: str
    plan: ReminderPlan


def _plan(uow: UnitOfWork, moment: datetime) -> list[_Item]:
    """Plan every item's reminders (one read-only transaction)."""
    items: list[_Item] = []
    with uow:
        for tenant_id, subscription_id, object_ref in uow.ondemand.upcoming_mission_objects(moment):
            ctx = load_context(uow, tenant_id, subscription_id)
            missions = _missions_of(uow.ondemand.missions(subscription_id, object_ref))
            covers = [
                Window(r.starts_at, r.ends_at)
                for r in uow.ondemand.windows_of_object(subscription_id, object_ref)
                if r.state != WindowState.CANCELLED.value
            ]
            recipients = [Recipient(Channel.WEBHOOK, f"tenant:{tenant_id}")]
            if ctx.customer_row.email:
                recipients.append(Recipient(Channel.EMAIL, ctx.customer_row.email))
            done = [
                ReminderKey.from_json(json.loads(r.key_json))
                for r in uow.ondemand.reminders(subscription_id)
            ]
            plan = plan_reminders(
                missions, covers, recipients=recipients, now=moment, already_sent=done
            )
            language = ctx.customer_row.language
            items.append(
                _Item(tenant_id, subscription_id, ctx.customer.id, language, object_ref, plan)
            )
    return items


def _record_superseded(uow: UnitOfWork, item: _Item, moment: datetime) -> int:
    """Record the item's superseded reminders (those another worker recorded are skipped)."""
    if not item.plan.superseded:
        return 0
    recorded = 0
    with uow:
        for key in item.plan.superseded:
            row = _reminder_row(item, key, "superseded", None, None, None, moment)
            recorded += uow.ondemand.claim_reminder(row)
        uow.commit()
    return recorded


def _publish(uow: UnitOfWork, item: _Item, reminder: Reminder, moment: datetime) -> int | None:
    """Claim a webhook reminder and publish its ``reminder.due`` event in one transaction; the
    event id, or ``None`` when another worker had claimed it."""
    with uow:
        row = _reminder_row(
            item, reminder.key, "sent", reminder.message_key, reminder.send_at, None, moment
        )
        if not uow.ondemand.claim_reminder(row):
            return None
        row.event_id = outbox.publish(
            uow,
            tenant_id=item.tenant_id,
            event_type="reminder.due",
            payload={
                "subscription_id": item.subscription_id,
                "customer_id": item.customer_id,
                "object_ref": item.object_ref,
                "mission": reminder.key.mission.text,
                "message_key": reminder.message_key,
                "mission_start": reminder.mission.window.start,
                "uncovered": [{"start": w.start, "end": w.end} for w in reminder.uncovered],
                "lead_seconds": int(reminder.key.lead.total_seconds()),
                "params": reminder.params(),
            },
        )
        event_id = row.event_id
        uow.commit()
    return event_id


def _mail(
    uow: UnitOfWork,
    sender: MailSender | None,
    item: _Item,
    reminder: Reminder,
    moment: datetime,
) -> bool:
    """Claim an e-mail reminder (committed), send it, mark it sent; ``False`` when another worker
    had claimed it. A send that raises releases the claim (tried again next run) and re-raises."""
    if sender is None:
        raise InvalidInput("no mail sender", code="mail.unavailable")
    with uow:
        row = _reminder_row(
            item, reminder.key, "claimed", reminder.message_key, reminder.send_at, None, moment
        )
        if not uow.ondemand.claim_reminder(row):
            return False
        claimed = row.id
        uow.commit()
    try:
        subject, text = _message(item.language, reminder.params())
        sender.send(reminder.recipient.address, subject, text)
    except Exception:  # the sender failed: not sent; an interruption keeps the claim
        with uow:
            uow.ondemand.release_reminder(claimed)
            uow.commit()
        raise
    with uow:
        uow.ondemand.settle_reminder(claimed, "sent")
        uow.commit()
    return True


def _send(
    uow: UnitOfWork, sender: MailSender | None, item: _Item, reminder: Reminder, moment: datetime
) -> dict[str, Any] | None:
    """Send one due reminder; what was sent, or ``None`` when another worker had it."""
    event_id: int | None = None
    if reminder.recipient.channel is Channel.EMAIL:
        if not _mail(uow, sender, item, reminder, moment):
            return None
    else:
        event_id = _publish(uow, item, reminder, moment)
        if event_id is None:
            return None
    return {
        "reminder": reminder.key.text,
        "channel": reminder.recipient.channel.value,
        "address": reminder.recipient.address,
        "mission": reminder.key.mission.text,
        "message_key": reminder.message_key,
        "event_id": event_id,
    }


def run_reminders(
    uow: UnitOfWork,
    sender: MailSender | None,
    *,
    now: datetime | None = None,
    actor: str = "reminders",
) -> ReminderReport:
    """Send the reminders due at ``now`` (e-mail and webhook), at most once each, whatever the
    number of workers running this at once; a job to run often."""
    moment = moment_of(now)
    sent: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    superseded = 0
    next_check: datetime | None = None
    items = _plan(uow, moment)
    for item in items:
        if item.plan.next_check_at is not None:
            next_check = min(next_check or item.plan.next_check_at, item.plan.next_check_at)
        superseded += _record_superseded(uow, item, moment)
        for reminder in item.plan.due:
            try:
                done = _send(uow, sender, item, reminder, moment)
            except Exception as e:  # noqa: BLE001 - a failed send is retried next run
                failed.append({"reminder": reminder.key.text, "error": f"{type(e).__name__}: {e}"})
                continue
            if done is not None:
                sent.append(done)
    if sent or superseded:
        _audit(uow, actor, moment, len(sent), superseded, len(failed))
    return ReminderReport(
        checked_at=moment,
        items=len(items),
        sent=sent,
        superseded=superseded,
        failed=failed,
        next_check_at=next_check,
    )


def _audit(
    uow: UnitOfWork, actor: str, moment: datetime, sent: int, superseded: int, failed: int
) -> None:
    def run() -> None:
        with uow:
            audit.record(
                uow,
                tenant_id=None,
                actor=actor,
                action="reminders.run",
                entity_type="reminders",
                entity_id=moment.strftime("%Y%m%dT%H%M%SZ"),
                data={"sent": sent, "superseded": superseded, "failed": failed},
                at=moment,
            )
            uow.commit()

    retrying(run)


def _reminder_row(
    item: _Item,
    key: ReminderKey,
    status: str,
    message_key: str | None,
    send_at: datetime | None,
    event_id: int | None,
    now: datetime,
) -> OnDemandReminderRow:
    return OnDemandReminderRow(
        tenant_id=item.tenant_id,
        subscription_id=item.subscription_id,
        reminder_key=key.text[:1000],
        key_json=json.dumps(key.to_json(), sort_keys=True),
        status=status,
        channel=key.recipient.channel.value,
        address=key.recipient.address[:254],
        mission_key=key.mission.text[:500],
        message_key=message_key,
        send_at=send_at,
        event_id=event_id,
        recorded_at=now,
    )
