"""``polis worker``: the periodic jobs of the on-demand platform (``polis.services.jobs``).

Each tick runs, each in its own units of work: window expiry (``window.expired``), geofence ticks
for silent devices, partner orphan-stop flags, reminders, calendar URL re-sync (each feed at most
every ``POLIS_CALENDAR_RESYNC_MINUTES``) and webhook deliveries. A job that fails is reported and
tried again at the next tick; the others run. On a terminal, a live table shows what each job did;
otherwise one line per job that did something or failed. ``--once``: one tick (cron, tests), exit
status 1 if a job failed.

Run one or more next to the servers on PostgreSQL (every job is safe with several workers); on the
embedded SQLite default the server runs the same jobs in the background
(``POLIS_JOBS_IN_PROCESS``).
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from polis.api.routers.webhooks import jobs_from_settings
from polis.cli.base import app, err, out, run_guarded, settings_of
from polis.kernel.errors import InvalidInput
from polis.kernel.time import to_local
from polis.services.jobs import JOB_NAMES, JobResult, Jobs, Tick
from polis.store import SqlUnitOfWork, make_engine, session_factory

__all__ = ["WorkerStatus", "worker"]


class WorkerStatus:
    """What the live view shows: the last tick's results and the totals since the start."""

    def __init__(self, jobs: tuple[str, ...], interval: float) -> None:
        self.jobs = jobs
        self.interval = interval
        self.ticks = 0
        self.last: dict[str, JobResult] = {}
        self.last_at: datetime | None = None
        self.totals: dict[str, Counter[str]] = {job: Counter() for job in jobs}
        self.failures: Counter[str] = Counter()

    def add(self, tick: Tick) -> None:
        self.ticks += 1
        self.last_at = tick.at
        for result in tick.results:
            self.last[result.job] = result
            self.totals[result.job].update(result.counts)
            if not result.ok:
                self.failures[result.job] += 1

    def table(self) -> Table:
        when = "—" if self.last_at is None else to_local(self.last_at).strftime("%H:%M:%S")
        table = Table(
            title=f"polis worker — tick {self.ticks} at {when} (Europe/Paris), "
            f"every {self.interval:g} s",
            title_justify="left",
            expand=False,
        )
        for name, justify in (
            ("job", "left"),
            ("last tick", "left"),
            ("ms", "right"),
            ("since start", "left"),
        ):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for job in self.jobs:
            result = self.last.get(job)
            if result is None:
                table.add_row(job, "—", "", "")
                continue
            last = (
                Text(result.summary)
                if result.ok
                else Text(f"FAILED {result.error or ''}", style="bold red")
            )
            totals = ", ".join(f"{k} {v}" for k, v in self.totals[job].items() if v) or "nothing"
            if self.failures[job]:
                totals += f"; failed {self.failures[job]} tick(s)"
            table.add_row(job, last, f"{result.seconds * 1000:.0f}", totals)
        return table


def _lines(tick: Tick) -> list[str]:
    stamp = tick.at.strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = []
    for result in tick.results:
        if not result.ok:
            lines.append(f"{stamp} {result.job}: FAILED {result.error}")
        elif not result.idle:
            lines.append(f"{stamp} {result.job}: {result.summary}")
    return lines


def _pause(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.25))


@app.command("worker")
def worker(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="one tick, then exit")] = False,
    interval: Annotated[
        float | None,
        typer.Option(min=0.1, help="seconds between two ticks (POLIS_WORKER_INTERVAL_SECONDS)"),
    ] = None,
    job: Annotated[
        list[str] | None,
        typer.Option(help=f"run only this job (repeatable): {', '.join(JOB_NAMES)}"),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="webhook deliveries per tick")] = 100,
) -> None:
    """Run the periodic jobs: expiry, geofence ticks, partner orphan stops, reminders, calendar
    re-sync and webhook deliveries, every --interval seconds until Ctrl-C (--once: one tick)."""
    settings = settings_of(ctx)
    chosen = tuple(job) if job else JOB_NAMES
    unknown = sorted(set(chosen) - set(JOB_NAMES))
    if unknown:
        run_guarded(lambda: _refuse(unknown))
    pause = interval if interval is not None else settings.worker_interval_seconds
    engine = make_engine(settings.database_url)
    factory = session_factory(engine)
    jobs = jobs_from_settings(settings, lambda: SqlUnitOfWork(factory), jobs=chosen, limit=limit)
    try:
        if once:
            status = WorkerStatus(jobs.jobs, pause)
            tick = jobs.run_once()
            status.add(tick)
            out.print(status.table())
            if not tick.ok:
                raise typer.Exit(1)
            return
        _loop(jobs, pause)
    except KeyboardInterrupt:
        err.print("stopped")
    finally:
        engine.dispose()


def _refuse(unknown: list[str]) -> None:
    raise InvalidInput(
        f"unknown job(s) {', '.join(unknown)}: choose among {', '.join(JOB_NAMES)}", field="--job"
    )


def _loop(jobs: Jobs, pause: float) -> None:
    status = WorkerStatus(jobs.jobs, pause)
    if not err.is_terminal:
        while True:
            for line in _lines(jobs.run_once()):
                err.print(line, soft_wrap=True, markup=False, highlight=False)
            _pause(pause)
    with Live(status.table(), console=err, refresh_per_second=2, transient=False) as live:
        while True:
            status.add(jobs.run_once())
            live.update(Group(status.table(), Text("Ctrl-C to stop", style="dim")))
            _pause(pause)
