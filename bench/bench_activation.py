"""Activation end to end over HTTP (quote + bind window + signed certificate + commit), next to
``pgbench`` on the same PostgreSQL server in the same run — the ratio is the figure.

Target of issue 5: p99 < 100 ms and ≥ 200 activations/s on 2 cores.

How it is measured (``python -m bench.bench_activation`` prints the rows and notes without touching
docs/benchmarks.md; ``make bench`` writes them):

1. a scratch PostgreSQL database is created on ``POLIS_BENCH_DATABASE_URL``'s server (default
   ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) and migrated with ``polis db
   upgrade``; a signing key is generated for the run;
2. one tenant, one API key, and many verified customers, each with a subscription of
   ``equipment-micro`` covering three cameras, are prepared through the services (a starter customer
   may activate 3 windows a local day, so every activation gets a customer and an item of its own:
   no two requests queue on one subscription row). For the worst case, one customer is given the
   *partner* tier (verified 13 months ago, 200 completed windows dated in the past) and every
   request activates the same item of the same subscription;
3. a real server process runs: ``uvicorn --factory`` on the app of ``POLIS_DATABASE_URL`` with 1 and
   2 worker processes, log level WARNING, loopback only;
4. ``wrk`` (``bench/activation_load.py``; it shares the two cores with the server and with
   PostgreSQL) keeps ``CLIENTS`` requests in flight for ``SECONDS`` seconds; each request is a real
   ``POST /v1/subscriptions/{id}/windows`` ``{"object_ref", "duration": "PT2H"}`` with a fresh
   ``Idempotency-Key``; the sequential row, the warm-up (the first PDF of each worker process cuts a
   font subset; excluded) and the worst case are sent by an ``httpx`` client in this process; only
   201 answers are counted, other answers are reported;
5. ``pgbench -i -s 10`` on a scratch database of the same server, then ``pgbench -c 16 -j 2 -T 20``
   select-only (``-S``) and the default TPC-B-like script, per-transaction latencies logged (``-l``)
   for the percentiles;
6. the same activation run on the embedded SQLite default (1 worker; SQLite has one writer).

Environment: ``POLIS_BENCH_SECONDS`` (15), ``POLIS_BENCH_CLIENTS`` (16),
``POLIS_BENCH_PGBENCH_SECONDS`` (20), ``POLIS_BENCH_DATABASE_URL``, ``POLIS_BENCH_CLIENT``
(``wrk`` by default when installed — ``apt-get install wrk`` —, or ``httpx``).
"""

from __future__ import annotations

import base64
import contextlib
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.activation_load import MAX_RATE, Load, Pool, Target, drive
from bench.activation_server import ROOT, Usage, measured, server, server_env
from bench.harness import Timing
from polis.config import Settings
from polis.services import ondemand_customers, ondemand_subscriptions, ondemand_windows, tenants
from polis.services.ondemand_certificates import CertificateIssuer
from polis.services.signing_keys import certificate_signer
from polis.store import SqlUnitOfWork, make_engine, session_factory

SECONDS = float(os.environ.get("POLIS_BENCH_SECONDS", "15"))
CLIENTS = int(os.environ.get("POLIS_BENCH_CLIENTS", "16"))
PGBENCH_SECONDS = int(os.environ.get("POLIS_BENCH_PGBENCH_SECONDS", "20"))
ADMIN_URL = os.environ.get(
    "POLIS_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MODERATE_CLIENTS = (8, 4)  # fewer requests in flight than CLIENTS, on 2 workers
TARGET_RATE, TARGET_P99_MS = 200.0, 100.0  # issue 5
ITEMS = 3  # cameras per subscription; a starter customer activates 3 windows a local day
WORST_CASE_REQUESTS = 95  # within the partner tier's 100 activations a local day
ACTOR = "bench"
CUSTOMER: dict[str, Any] = {
    "kind": "business",
    "name": "Studio Lumière SARL",
    "activity": "wedding photographer",
    "address": {"line1": "12 rue des Lilas", "postcode": "69003", "city": "Lyon"},
    "siret": "73282932000074",
    "email": "studio@lumiere.example",
}

NOTES: list[str] = []
BEFORE = (
    "Before this round (the same benchmark and machine, the previous `make bench` of "
    "2026-11-21): PostgreSQL, 1 client: 71.7/s, p50 13.5 ms, p99 19.7 ms (server CPU 9.3 ms per "
    "activation); 16 clients: 121.6/s with 1 worker and 145.7/s with 2 (p50 107 ms, p99 228 "
    "ms); 2 workers, 4 clients: 113.7/s, p99 105 ms; worst case 29/s; SQLite 103/s; pgbench "
    "4,236 TPS (TPC-B-like), ratio 0.034. What changed: the writes nothing reads back (window, "
    "ledger entry, certificate, events, policy windows, audit entry, stored answer) deferred and "
    "sent as one psycopg pipeline with the audit chain's lock and head, then one with the audit "
    "entry, the last event, the answer and the COMMIT (`polis.store.deferred`); the hot reads "
    "built once as statements with bind parameters (building a `select` per call cost as much as "
    "running it); the geofence read with the subscription; the window priced once instead of "
    "twice; the answer dumped by pydantic-core. Seven round trips for the use case instead of "
    "sixteen (plus the pool's ping and psycopg's BEGIN)."
)

LIMITS = (
    "Targets (p99 < 100 ms and ≥ 200 activations/s on 2 cores): met, with 2 workers and 4 or 8 "
    "requests in flight (the line above says which rows met both in the run written here). "
    "Across the four runs of 2026-11-21 that closed this round (a standalone `python -m "
    "bench.bench_activation` at 08:05 UTC, then `make bench` at 08:14, 08:25 and 08:36): 8 "
    "clients 216–255/s with p99 80–99 ms; 4 clients 151–256/s with p99 32–59 ms — the machine is "
    "shared and its noise is that large (pgbench 4,074–4,596 TPS). With 16 requests in flight "
    "the throughput is the same (231–248/s) but p99 is 0.16–0.23 s: a closed loop of 16 clients "
    "waits 16 ÷ 240 ≈ 67 ms on average (Little's law), queued behind the two activation slots of "
    "each worker and, for one tenant, behind its audit chain's lock for the last round trip (0.4 "
    "backends of 1.1 active were waiting on it). What limits it now: CPU — ~5 ms of server per "
    "activation (the FastAPI request cycle about 1 ms of it) and ~1.5 ms of PostgreSQL, ~7 ms in "
    "all, so two cores top out near 290/s. The worst case (every request on one item of one "
    "subscription, 44–53/s) is serialised by that subscription's row lock, and each activation "
    "reads every window of the item (200 past ones here) to know what is already paid for."
)


def server_app() -> FastAPI:
    """The app a benchmark server process runs (``uvicorn --factory``), logging configured."""
    from polis.api import create_app
    from polis.logs import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    app = create_app(settings)
    threads = int(os.environ.get("POLIS_BENCH_THREADS", "0"))
    switch = float(os.environ.get("POLIS_BENCH_SWITCH_INTERVAL", "0"))
    if switch:
        sys.setswitchinterval(switch)
    if threads:
        import anyio.to_thread

        @app.on_event("startup")
        async def limit_threads() -> None:
            anyio.to_thread.current_default_thread_limiter().total_tokens = threads

    return app


# --- data ------------------------------------------------------------------------------------


def _uow(url: str) -> tuple[SqlUnitOfWork, Any]:
    engine = make_engine(url)
    return SqlUnitOfWork(session_factory(engine)), engine


def prepare(url: str, customers: int) -> Pool:
    """A tenant, its API key and ``customers`` verified customers with 3 cameras each."""
    uow, engine = _uow(url)
    try:
        tenant = tenants.create_tenant(uow, f"Bench {uuid.uuid4().hex[:8]}", actor=ACTOR).id
        _, api_key = tenants.create_api_key(uow, tenant, "bench", actor=ACTOR)
        now = datetime.now(UTC)
        subscriptions = []
        for _ in range(customers):
            subscriptions.append(_subscription(uow, tenant, now))
        targets = [Target(s, f"camera-{k}") for k in range(ITEMS) for s in subscriptions]
        return Pool(api_key, targets)
    finally:
        engine.dispose()


def _subscription(uow: SqlUnitOfWork, tenant: str, now: datetime) -> str:
    customer = ondemand_customers.create_customer(uow, tenant, CUSTOMER, ACTOR, now=now).id
    ondemand_customers.set_verification(uow, tenant, customer, {}, ACTOR, now=now)
    body = {
        "customer_id": customer,
        "product": "equipment-micro",
        "unit": "hour",
        "items": [{"ref": f"camera-{k}", "description": f"camera kit {k}"} for k in range(ITEMS)],
        "risk": {"equipment": "camera"},
    }
    return ondemand_subscriptions.create_subscription(uow, tenant, body, ACTOR, now=now).id


def prepare_partner(url: str, key_seed: str) -> Pool:
    """One customer at the *partner* tier (100 activations a day): verified 13 months ago, with 200
    completed windows activated in the past; every target is its first camera."""
    uow, engine = _uow(url)
    try:
        settings = Settings(database_url=url, certificate_signing_key=key_seed)
        issuer = CertificateIssuer(certificate_signer(settings), "http://127.0.0.1")
        tenant = tenants.create_tenant(uow, f"Bench worst {uuid.uuid4().hex[:8]}", actor=ACTOR).id
        _, api_key = tenants.create_api_key(uow, tenant, "bench", actor=ACTOR)
        start = datetime.now(UTC) - timedelta(days=400)
        subscription = _subscription(uow, tenant, start)
        for k in range(200):  # 9 h apart: at most 3 a local day while still a starter
            ondemand_windows.activate_window(
                uow,
                tenant,
                subscription,
                {"object_ref": "camera-1", "duration": "PT1H"},
                ACTOR,
                issuer=issuer,
                now=start + timedelta(days=1, hours=9 * k),
            )
        return Pool(api_key, [Target(subscription, "camera-0")] * WORST_CASE_REQUESTS)
    finally:
        engine.dispose()


# --- where the time goes -----------------------------------------------------------------------


def _usage_note(name: str, load: Load, usage: Usage) -> None:
    count = load.done + sum(load.failures.values())
    if not count:
        return
    per = [1000 * x / count for x in (usage.server, usage.postgres, usage.client)]
    total = sum(per)
    line = (
        f"- CPU per activation, {name}: server {per[0]:.1f} ms, PostgreSQL {per[1]:.1f} ms, "
        f"load generator ({load.generator}) {per[2]:.1f} ms — {total:.1f} ms in all, so "
        f"{os.cpu_count()} cores cannot do more than ~{1000 * (os.cpu_count() or 1) / total:.0f} "
        "activations/s whatever the concurrency"
    )
    if usage.samples:
        line += (
            f"; on average {usage.waiting / usage.samples:.1f} PostgreSQL backends were waiting "
            f"on a lock (of {usage.active / usage.samples:.1f} active)"
        )
    NOTES.append(line + ".")


def _check_pdf(base: str, api_key: str, number: str) -> float:
    """``GET …pdf`` right after the activation: it must answer a PDF; its latency (ms)."""
    started = time.perf_counter()
    response = httpx.get(
        f"{base}/v1/certificates/{number}.pdf", headers={"X-API-Key": api_key}, timeout=30
    )
    took = (time.perf_counter() - started) * 1000
    if response.status_code != 200 or not response.content.startswith(b"%PDF"):
        raise RuntimeError(f"certificate {number}: {response.status_code} {response.text[:200]}")
    return took


def _row(name: str, load: Load) -> Timing:
    failures = sum(load.failures.values())
    detail = f"p95 {load.percentile(95):.1f} ms" + (
        f"; {failures} not 201: {dict(load.failures)}" if failures else ""
    )
    if load.retried:
        detail += f"; {load.retried} sent twice after a transport error"
    NOTES.append(
        f"- {name}: {load.done} activations in {load.elapsed:.1f} s ({load.generator}), "
        f"{load.rate:.1f}/s; p50 {load.percentile(50):.1f} ms, {detail}, "
        f"p99 {load.percentile(99):.1f} ms."
    )
    return Timing(
        f"{name} ({detail})",
        load.done,
        load.percentile(50),
        load.percentile(99),
        load.rate,
    )


# --- pgbench --------------------------------------------------------------------------------------


def _pgbench_binary() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))
    return str(candidates[-1]) if candidates else None


@contextlib.contextmanager
def scratch_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A new database on the server of ``admin_url`` (dropped afterwards); its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _libpq_args(url: str) -> list[str]:
    parsed = make_url(url)
    args = ["-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432)]
    if parsed.username:
        args += ["-U", parsed.username]
    return [*args, parsed.database or "postgres"]


def pgbench(url: str, *, select_only: bool, seconds: int) -> Timing:
    binary = _pgbench_binary()
    assert binary is not None
    env = os.environ | ({"PGPASSWORD": p} if (p := make_url(url).password) else {})
    with tempfile.TemporaryDirectory() as folder:
        prefix = Path(folder) / "tx"
        command = [
            binary, "-c", "16", "-j", "2", "-T", str(seconds), "-l",
            f"--log-prefix={prefix}", *(["-S"] if select_only else []), *_libpq_args(url),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
        match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
        assert match is not None, done.stdout
        tps = float(match.group(1))
        latencies = [
            int(line.split()[2]) / 1_000_000
            for log in Path(folder).glob("tx*")
            for line in log.read_text().splitlines()
            if line.strip()
        ]
    cuts = statistics.quantiles(latencies, n=100)
    script = "select-only (-S)" if select_only else "TPC-B-like (default)"
    return Timing(
        f"pgbench {script}, -s 10 -c 16 -j 2 -T {seconds}: TPS",
        len(latencies),
        cuts[49] * 1000,
        cuts[98] * 1000,
        tps,
    )


# --- the runs -------------------------------------------------------------------------------------


def _customers_for(seconds: float) -> int:
    return math.ceil(MAX_RATE * seconds / ITEMS) + 20


def _warm_up(base: str, pool: Pool, workers: int) -> None:
    drive(base, pool, clients=2 * workers, seconds=30, count=6 * workers, client="httpx")


def _postgres_rows(key_seed: str, var_dir: Path) -> list[Timing]:
    rows: list[Timing] = []
    with scratch_database(ADMIN_URL, "polis_bench_pgbench") as bench_url:
        binary = _pgbench_binary()
        assert binary is not None
        subprocess.run(
            [binary, "-i", "-s", "10", "-q", *_libpq_args(bench_url)],
            check=True,
            capture_output=True,
        )
        tpcb = pgbench(bench_url, select_only=False, seconds=PGBENCH_SECONDS)
        select = pgbench(bench_url, select_only=True, seconds=PGBENCH_SECONDS)
    rows += [tpcb, select]
    with scratch_database(ADMIN_URL, "polis_bench") as url:
        subprocess.run(
            [str(Path(sys.executable).with_name("polis")), "db", "upgrade"],
            check=True,
            capture_output=True,
            env=server_env(url, key_seed, var_dir),
            cwd=ROOT,
        )
        started = time.perf_counter()
        pool = prepare(url, _customers_for(4 * SECONDS) + 100)  # four runs under load
        worst = prepare_partner(url, key_seed)
        NOTES.append(
            f"- prepared {len(pool.targets) // ITEMS} customers and subscriptions and the partner "
            f"customer's 200 past windows in {time.perf_counter() - started:.0f} s."
        )
        env = server_env(url, key_seed, var_dir)
        activation_rows: list[Timing] = []
        database = make_url(url).database
        for workers in (1, 2):
            with server(env, workers) as running:
                base = running.base
                _warm_up(base, pool, workers)
                if workers == 1:
                    with measured(running.pid, ADMIN_URL, None) as usage:
                        sequential = drive(
                            base, pool, clients=1, seconds=SECONDS, count=150, client="httpx"
                        )
                    activation_rows.append(
                        _row("PostgreSQL, 1 worker, 1 client (sequential): activation", sequential)
                    )
                    _usage_note("1 worker, 1 client", sequential, usage)
                with measured(running.pid, ADMIN_URL, database) as usage:
                    load = drive(base, pool, clients=CLIENTS, seconds=SECONDS)
                activation_rows.append(
                    _row(
                        f"PostgreSQL, {workers} worker(s), {CLIENTS} clients, one subscription "
                        "each: activation",
                        load,
                    )
                )
                _usage_note(f"{workers} worker(s), {CLIENTS} clients", load, usage)
                pdfs = [_check_pdf(base, pool.api_key, n) for n in load.certificates[:5]]
                NOTES.append(
                    f"- `GET …pdf` of certificates just issued ({workers} worker(s); the first "
                    "download renders and stores the PDF, and the first PDF of a process also "
                    f"cuts the font subset): {', '.join(f'{ms:.0f}' for ms in pdfs)} ms."
                )
                if workers == 2:
                    for clients in MODERATE_CLIENTS:
                        moderate = drive(base, pool, clients=clients, seconds=SECONDS)
                        activation_rows.append(
                            _row(f"PostgreSQL, 2 workers, {clients} clients: activation", moderate)
                        )
                    worst_load = drive(
                        base, worst, clients=CLIENTS, seconds=SECONDS, client="httpx"
                    )
                    activation_rows.append(
                        _row(
                            f"PostgreSQL, 2 workers, {CLIENTS} clients, all on one subscription "
                            "and item (worst case): activation",
                            worst_load,
                        )
                    )
    for row in activation_rows:
        NOTES.append(
            f"- ratio {row.name.split(' (')[0]}: {row.per_second / tpcb.per_second:.4f} of "
            f"pgbench TPC-B-like TPS, {row.per_second / select.per_second:.4f} of select-only TPS."
        )
    return rows + activation_rows


def _sqlite_rows(key_seed: str, var_dir: Path) -> list[Timing]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        env = server_env(url, key_seed, var_dir)
        subprocess.run(
            [str(Path(sys.executable).with_name("polis")), "db", "upgrade"],
            check=True,
            capture_output=True,
            env=env,
            cwd=ROOT,
        )
        pool = prepare(url, _customers_for(SECONDS) // 2 + 20)
        with server(env, 1) as running:
            _warm_up(running.base, pool, 1)
            with measured(running.pid, ADMIN_URL, None) as usage:
                load = drive(running.base, pool, clients=CLIENTS, seconds=SECONDS)
            _check_pdf(running.base, pool.api_key, load.certificates[0])
        row = _row(f"SQLite (embedded), 1 worker, {CLIENTS} clients: activation", load)
        _usage_note(f"SQLite, 1 worker, {CLIENTS} clients", load, usage)
        return [row]


def _load_average() -> str:
    with contextlib.suppress(OSError):
        return Path("/proc/loadavg").read_text().split()[0]
    return "?"


def run() -> list[Timing]:
    NOTES.clear()
    start_load = _load_average()
    key_seed = base64.b64encode(os.urandom(32)).decode("ascii")
    rows: list[Timing] = []
    with tempfile.TemporaryDirectory() as var:
        var_dir = Path(var)
        if _pgbench_binary() is None:
            NOTES.append("- PostgreSQL rows skipped: no pgbench found.")
        else:
            try:
                rows += _postgres_rows(key_seed, var_dir)
            except OSError as e:  # pragma: no cover - no server
                NOTES.append(f"- PostgreSQL rows skipped: {e}.")
        rows += _sqlite_rows(key_seed, var_dir)
    within = [r.name.split(" (")[0] for r in rows if "activation" in r.name and r.p99_ms < 100]
    NOTES.append("- rows within the p99 target (< 100 ms): " + ("; ".join(within) or "none") + ".")
    both = [
        f"{r.name.split(' (')[0].removesuffix(': activation')} ({r.per_second:.0f}/s, p99 "
        f"{r.p99_ms:.0f} ms)"
        for r in rows
        if r.name.startswith("PostgreSQL")
        and "activation" in r.name
        and r.per_second >= TARGET_RATE
        and r.p99_ms < TARGET_P99_MS
    ]
    NOTES.append(
        f"- **targets (≥ {TARGET_RATE:.0f} activations/s with p99 < {TARGET_P99_MS:.0f} ms, "
        "PostgreSQL) met together in this run by: " + ("; ".join(both) or "no row") + "**."
    )
    NOTES.append(
        f"- load average (1 min) at the start and at the end of the run: {start_load} and "
        f"{_load_average()} (other jobs on the machine count in it)."
    )
    return rows


def notes() -> list[str]:
    """The lines written under the table: what was measured, the ratios, the failures."""
    return [
        "How measured: a real server process (`uvicorn --factory` with uvloop and httptools, 1 or "
        "2 worker processes, log level WARNING) on loopback, driven by `wrk` (Debian package; "
        "`bench/activation.lua` writes the requests; the sequential row, the warm-ups and the "
        "worst case use an `httpx` client in the benchmark process) keeping "
        f"{CLIENTS} requests in flight for {SECONDS:g} s; every request is "
        "`POST /v1/subscriptions/{id}/windows` with a fresh `Idempotency-Key` (authentication, "
        "then one transaction: the key claimed, the window, its charge, the policy's windows, "
        "the signed certificate, the audit entry, the outbox events and the stored response); "
        "only 201 "
        "answers count. Each request has a customer and an item of its own (a starter customer "
        "may activate 3 windows a local day); the worst case sends every request to one item of "
        "one subscription of a partner-tier customer. `pgbench` runs on a scratch database of "
        "the same server in the same run; the last column of its rows is TPS, the ratio column "
        "of the activation rows is activations/s ÷ pgbench TPC-B-like TPS. The client, the "
        "server workers and PostgreSQL share the same two cores.",
        "",
        BEFORE,
        "",
        *NOTES,
        "",
        LIMITS,
    ]


if __name__ == "__main__":
    for timing in run():
        print(
            f"{timing.name}: {timing.runs} runs, p50 {timing.p50_ms:.1f} ms, "
            f"p99 {timing.p99_ms:.1f} ms, {timing.per_second:,.1f}/s"
        )
    print("\n".join(notes()))
