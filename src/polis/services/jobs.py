"""The periodic jobs of the on-demand platform, one tick at a time (``polis worker``, or the server's
background task on the embedded SQLite default).

Each tick runs every job; each job (and each item a job handles) runs in its own units of work, so
a job that fails — or one bad tracker, partner reference or calendar — never stops the others: the
error is reported in the tick's :class:`JobResult` and the job is tried again at the next tick.

| job | what it does, for each due item | why running it twice changes nothing |
|---|---|---|
| ``expiry`` | ``window.expired`` for each window whose end has passed (:func:`~polis.services.ondemand_windows.publish_expired`) | ``expired_notified_at`` is set with the event |
| ``geofence`` | time passes for devices that sent no ping: buffered pings are processed and a silence closes the window (:func:`~polis.services.triggers.tick_device`) | the tracker's watermark: a tick at the same instant moves nothing |
| ``partners`` | a partner's stop that has waited too long for its start is flagged (``partner.stop_orphaned``, :func:`~polis.services.triggers.flag_orphan_stop`) | the reference leaves ``stop_pending`` |
| ``reminders`` | missions starting soon without cover: e-mail and ``reminder.due`` (:func:`~polis.services.triggers.run_reminders`) | each reminder is claimed (committed) before it is sent: at most once |
| ``calendars`` | calendar URLs fetched again and synced, each at most every ``calendar_resync`` (:func:`~polis.services.triggers.sync_calendar_url`) | ``last_synced_at``; a feed synced again plans nothing |
| ``webhooks`` | outbox events fanned out and due deliveries posted, retried with back-off (:class:`~polis.services.webhooks.Worker`) | deliveries are claimed before each attempt |

``webhooks`` runs last, so the events the other jobs publish go out in the same tick. A calendar
whose fetch failed is tried again after ``calendar_resync`` (remembered by this process), not at
every tick.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import httpx

from polis.kernel.errors import PolisError
from polis.kernel.time import ensure_utc, utc_now
from polis.ondemand.triggers_calendar import MissionAcceptance
from polis.ondemand.triggers_partner import PartnerRules
from polis.services import ondemand_windows, triggers
from polis.services.ondemand_certificates import CertificateIssuer
from polis.services.triggers import (
    DEFAULT_MAX_BACKDATE,
    CalendarUrlIn,
    FetchLimits,
    MailSender,
)
from polis.services.webhooks import DeliveryReport
from polis.store.uow import UnitOfWork

__all__ = [
    "JOB_NAMES",
    "DeliveryRunner",
    "JobResult",
    "JobSettings",
    "Jobs",
    "Tick",
]

#: every job, in the order a tick runs them
JOB_NAMES: tuple[str, ...] = (
    "expiry",
    "geofence",
    "partners",
    "reminders",
    "calendars",
    "webhooks",
)
ACTOR = "worker"


class DeliveryRunner(Protocol):
    """One round of webhook deliveries (:class:`polis.services.webhooks.Worker`)."""

    def run_once(self, now: datetime | None = None) -> DeliveryReport: ...


@dataclass(frozen=True, slots=True)
class JobSettings:
    """What the jobs need from the configuration."""

    calendar_resync: timedelta = timedelta(minutes=60)
    calendar_limits: FetchLimits = field(default_factory=FetchLimits)
    max_backdate: timedelta = DEFAULT_MAX_BACKDATE
    partner_rules: PartnerRules = field(default_factory=PartnerRules)
    batch: int = 200  # trackers, partner references and calendars handled per tick and job


@dataclass(frozen=True, slots=True)
class JobResult:
    """What one job did in one tick: counts by kind, a line for people, the error if it failed."""

    job: str
    ok: bool
    counts: Mapping[str, int]
    summary: str
    error: str | None
    seconds: float

    @property
    def idle(self) -> bool:
        return self.ok and not any(self.counts.values())


@dataclass(frozen=True, slots=True)
class Tick:
    at: datetime
    results: tuple[JobResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def result(self, job: str) -> JobResult:
        return next(r for r in self.results if r.job == job)


class _ItemErrors:
    """Failures of single items inside a job: counted, the first one kept for the report."""

    def __init__(self) -> None:
        self.count = 0
        self.first: str | None = None

    def add(self, what: str, error: BaseException) -> None:
        self.count += 1
        if self.first is None:
            self.first = f"{what}: {_describe(error)}"


def _describe(error: BaseException) -> str:
    if isinstance(error, PolisError):
        return f"{error.code}: {error.message}"
    return f"{type(error).__name__}: {error}"


class Jobs:
    """The jobs' state between ticks (a webhook worker, the calendars to retry later) and
    :meth:`run_once`. ``uow_factory`` gives a fresh unit of work each time it is called."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        *,
        issuer: CertificateIssuer | None,
        deliveries: DeliveryRunner | None = None,
        mail: MailSender | None = None,
        settings: JobSettings | None = None,
        jobs: Collection[str] = JOB_NAMES,
        transport: httpx.BaseTransport | None = None,
        actor: str = ACTOR,
    ) -> None:
        unknown = sorted(set(jobs) - set(JOB_NAMES))
        if unknown:
            raise ValueError(f"unknown jobs {unknown}: choose among {', '.join(JOB_NAMES)}")
        self._uow = uow_factory
        self._issuer = issuer
        self._deliveries = deliveries
        self._mail = mail
        self.settings = settings or JobSettings()
        self.jobs = tuple(j for j in JOB_NAMES if j in jobs)
        self._transport = transport
        self._actor = actor
        self._calendar_retry_at: dict[int, datetime] = {}
        self._runs: dict[str, Callable[[datetime], tuple[dict[str, int], str, str | None]]] = {
            "expiry": self._expiry,
            "geofence": self._geofence,
            "partners": self._partners,
            "reminders": self._reminders,
            "calendars": self._calendars,
            "webhooks": self._webhooks,
        }

    def run_once(self, now: datetime | None = None) -> Tick:
        """Run every job once at ``now`` (default: the clock); never raises for a job's failure."""
        moment = ensure_utc(now, field="now") if now is not None else utc_now()
        results = []
        for job in self.jobs:
            started = time.perf_counter()
            try:
                counts, summary, item_error = self._runs[job](moment)
            except Exception as e:  # noqa: BLE001 - one job failing must not stop the others
                results.append(
                    JobResult(job, False, {}, "failed", _describe(e), time.perf_counter() - started)
                )
                continue
            results.append(
                JobResult(
                    job,
                    item_error is None,
                    counts,
                    summary,
                    item_error,
                    time.perf_counter() - started,
                )
            )
        return Tick(moment, tuple(results))

    def _need_issuer(self) -> CertificateIssuer:
        if self._issuer is None:
            raise RuntimeError("no certificate signing key configured: cannot open windows")
        return self._issuer

    # --- the jobs (each returns its counts, a summary and the first item error) ---------------

    def _expiry(self, now: datetime) -> tuple[dict[str, int], str, str | None]:
        expired = ondemand_windows.publish_expired(self._uow(), now=now)
        return {"expired": expired}, f"{expired} window(s) expired", None

    def _geofence(self, now: datetime) -> tuple[dict[str, int], str, str | None]:
        with self._uow() as uow:
            due = [
                (t.tenant_id, t.subscription_id, t.device_ref)
                for t in uow.ondemand.trackers_to_tick(self.settings.batch)
            ]
        if not due:
            return {"ticked": 0, "moved": 0, "decisions": 0, "failed": 0}, "no device to tick", None
        issuer = self._need_issuer()
        moved = decisions = 0
        errors = _ItemErrors()
        for tenant_id, subscription_id, device_ref in due:
            try:
                view = triggers.tick_device(
                    self._uow(),
                    tenant_id,
                    subscription_id,
                    device_ref,
                    self._actor,
                    issuer=issuer,
                    now=now,
                    max_backdate=self.settings.max_backdate,
                )
            except Exception as e:  # noqa: BLE001 - one device must not stop the others
                errors.add(f"device {device_ref} of {subscription_id}", e)
                continue
            if view is not None:
                moved += 1
                decisions += len(view.decisions)
        counts = {
            "ticked": len(due),
            "moved": moved,
            "decisions": decisions,
            "failed": errors.count,
        }
        summary = f"{len(due)} device(s) ticked, {moved} moved, {decisions} decision(s)"
        return counts, summary, errors.first

    def _partners(self, now: datetime) -> tuple[dict[str, int], str, str | None]:
        with self._uow() as uow:
            waiting = [
                (r.tenant_id, r.partner_ref)
                for r in uow.ondemand.partner_refs_with_pending_stop(self.settings.batch)
            ]
        flagged = 0
        errors = _ItemErrors()
        for tenant_id, partner_ref in waiting:
            try:
                decision = triggers.flag_orphan_stop(
                    self._uow(),
                    tenant_id,
                    partner_ref,
                    self._actor,
                    now=now,
                    rules=self.settings.partner_rules,
                )
            except Exception as e:  # noqa: BLE001 - one reference must not stop the others
                errors.add(f"partner reference {partner_ref}", e)
                continue
            flagged += decision is not None
        counts = {"waiting": len(waiting), "flagged": flagged, "failed": errors.count}
        return counts, f"{flagged} orphan stop(s) flagged of {len(waiting)} waiting", errors.first

    def _reminders(self, now: datetime) -> tuple[dict[str, int], str, str | None]:
        report = triggers.run_reminders(self._uow(), self._mail, now=now, actor=self._actor)
        counts = {
            "items": report.items,
            "sent": len(report.sent),
            "superseded": report.superseded,
            "failed": len(report.failed),
        }
        first = None
        if report.failed:
            first = f"reminder {report.failed[0]['reminder']}: {report.failed[0]['error']}"
        summary = f"{len(report.sent)} reminder(s) sent, {report.superseded} superseded"
        return counts, summary, first

    def _calendars(self, now: datetime) -> tuple[dict[str, int], str, str | None]:
        with self._uow() as uow:
            due = [
                (
                    c.id,
                    c.tenant_id,
                    c.subscription_id,
                    CalendarUrlIn(
                        url=c.url or "",
                        object_ref=c.object_ref,
                        margin_before_minutes=c.margin_before_s // 60,
                        margin_after_minutes=c.margin_after_s // 60,
                        acceptance=MissionAcceptance(c.acceptance),
                    ),
                )
                for c in uow.ondemand.calendars_to_resync(
                    now - self.settings.calendar_resync, self.settings.batch
                )
                if self._calendar_retry_at.get(c.id, now) <= now
            ]
        synced = applied = refused = 0
        errors = _ItemErrors()
        for calendar_id, tenant_id, subscription_id, payload in due:
            try:
                view = triggers.sync_calendar_url(
                    self._uow(),
                    tenant_id,
                    subscription_id,
                    payload,
                    self._actor,
                    issuer=self._need_issuer(),
                    limits=self.settings.calendar_limits,
                    now=now,
                    transport=self._transport,
                )
            except Exception as e:  # noqa: BLE001 - one feed must not stop the others
                self._calendar_retry_at[calendar_id] = now + self.settings.calendar_resync
                errors.add(f"calendar {payload.url} of {subscription_id}", e)
                continue
            self._calendar_retry_at.pop(calendar_id, None)
            synced += 1
            applied += sum(1 for o in view.operations if o.applied)
            refused += sum(1 for o in view.operations if not o.applied)
        counts = {
            "due": len(due),
            "synced": synced,
            "applied": applied,
            "refused": refused,
            "failed": errors.count,
        }
        summary = f"{synced} calendar(s) synced, {applied} change(s) applied"
        return counts, summary, errors.first

    def _webhooks(self, now: datetime) -> tuple[dict[str, int], str, str | None]:
        if self._deliveries is None:
            return {}, "no webhook worker", None
        report = self._deliveries.run_once(now)
        counts = {
            "events": report.events_published,
            "attempted": report.attempted,
            "delivered": report.delivered,
            "retrying": report.retrying,
            "dead": report.dead,
        }
        summary = (
            f"{report.events_published} event(s) fanned out, {report.delivered} delivered, "
            f"{report.retrying} retrying, {report.dead} dead"
        )
        return counts, summary, None
