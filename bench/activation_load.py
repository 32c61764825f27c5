"""The load of the activation benchmark: concurrent ``POST /v1/subscriptions/{id}/windows`` over
HTTP on loopback, each with a fresh ``Idempotency-Key``.

Two load generators, the same requests:

- ``wrk`` (Debian package ``wrk``; C, one event loop per thread, the requests written by
  ``bench/activation.lua``) — the default when it is installed: it spends ~0.1 ms of CPU a
  request, so the two cores go to the server and PostgreSQL;
- an ``httpx.AsyncClient`` in the benchmark process (``POLIS_BENCH_CLIENT=httpx``, or when ``wrk``
  is missing) — ~2 ms of CPU a request taken from the same two cores.

Both keep ``clients`` requests in flight (one per connection) and count only 201 answers.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

LUA = Path(__file__).with_name("activation.lua")
#: activations a second the prepared customers are sized for (a starter customer may activate
#: 3 windows a local day: one per item)
MAX_RATE = 400.0


@dataclass
class Target:
    subscription: str
    object_ref: str


@dataclass
class Pool:
    """Prepared activations: (subscription, item) pairs, each activated at most once."""

    api_key: str
    targets: list[Target]
    cursor: int = 0

    def take(self, count: int) -> list[Target]:
        taken = self.targets[self.cursor : self.cursor + count]
        self.cursor += len(taken)
        return taken

    def left(self) -> int:
        return len(self.targets) - self.cursor


@dataclass
class Load:
    """A run: 201 latencies (httpx) or the percentiles ``wrk`` measured, and the other answers."""

    latencies: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    retried: int = 0
    certificates: list[str] = field(default_factory=list)
    generator: str = "httpx"
    created: int | None = None  # 201 answers counted by wrk
    measured_ms: dict[int, float] = field(default_factory=dict)  # wrk's percentiles

    @property
    def done(self) -> int:
        return self.created if self.created is not None else len(self.latencies)

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: int) -> float:
        if p in self.measured_ms:
            return self.measured_ms[p]
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else math.nan
        return statistics.quantiles(self.latencies, n=100)[p - 1] * 1000


def generator() -> str:
    """``wrk`` when installed (unless ``POLIS_BENCH_CLIENT=httpx``), else ``httpx``."""
    if os.environ.get("POLIS_BENCH_CLIENT", "wrk") == "wrk" and shutil.which("wrk"):
        return "wrk"
    return "httpx"


def drive(
    base: str,
    pool: Pool,
    clients: int,
    seconds: float,
    count: int | None = None,
    *,
    client: str | None = None,
) -> Load:
    """Activate the pool's next targets with ``clients`` in flight for ``seconds`` (httpx: or until
    ``count`` targets are done; the targets not sent are given back to the pool). ``wrk`` runs for
    ``seconds`` and takes ``count`` targets (default: enough for :data:`MAX_RATE` a second),
    all of them spent (its threads take them interleaved)."""
    if (client or generator()) == "wrk":
        budget = count if count is not None else math.ceil(MAX_RATE * seconds)
        targets = pool.take(min(pool.left(), budget))
        return _drive_wrk(base, pool.api_key, targets, clients, seconds)
    targets = pool.take(count if count is not None else pool.left())
    load = asyncio.run(_drive_httpx(base, pool.api_key, targets, clients, seconds))
    pool.cursor -= len(targets) - load.done - sum(load.failures.values())
    return load


def _drive_wrk(
    base: str, api_key: str, targets: Sequence[Target], clients: int, seconds: float
) -> Load:
    threads = min(2, clients)
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as listing:
        listing.write("\n".join(f"{t.subscription},{t.object_ref}" for t in targets) + "\n")
        listing.flush()
        command = [
            "wrk", f"-t{threads}", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--latency",
            "--timeout", "30s", "-s", str(LUA), base,
            "--", listing.name, str(threads), api_key, uuid.uuid4().hex,
        ]  # fmt: skip
        started = time.perf_counter()
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        took = time.perf_counter() - started
    line = next(x for x in output.splitlines() if x.startswith("WRK-RESULT "))
    result = json.loads(line.removeprefix("WRK-RESULT "))
    statuses: Counter[str] = Counter()
    for entry in result["statuses"]:
        statuses.update(entry)
    created = statuses.pop("201", 0)
    statuses.pop("200", None)  # GET /health once a thread ran out of targets
    load = Load(
        failures=statuses,
        elapsed=result["duration_us"] / 1e6 or took,
        certificates=list(result["certificates"]),
        generator="wrk",
        created=created,
        measured_ms={p: result[f"p{p}_us"] / 1000 for p in (50, 95, 99)},
    )
    if result["errors"]:
        load.failures["transport errors"] += result["errors"]
    return load


async def _drive_httpx(
    base: str, api_key: str, targets: Sequence[Target], clients: int, seconds: float
) -> Load:
    """Keep ``clients`` activations in flight until ``seconds`` pass or ``targets`` run out."""
    load = Load()
    queue = iter(targets)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        started = time.perf_counter()
        deadline = started + seconds

        async def one_client() -> None:
            while time.perf_counter() < deadline:
                target = next(queue, None)
                if target is None:
                    return
                headers = {"X-API-Key": api_key, "Idempotency-Key": uuid.uuid4().hex}
                body = {"object_ref": target.object_ref, "duration": "PT2H"}
                url = f"/v1/subscriptions/{target.subscription}/windows"
                sent = time.perf_counter()
                try:
                    response = await client.post(url, json=body, headers=headers)
                except httpx.TransportError:  # e.g. a keep-alive connection closed: retry once,
                    load.retried += 1  # with the same Idempotency-Key, as a client should
                    response = await client.post(url, json=body, headers=headers)
                took = time.perf_counter() - sent
                if response.status_code == 201:
                    load.latencies.append(took)
                    if len(load.certificates) < 5:
                        load.certificates.append(response.json()["certificate"])
                else:
                    code = response.json().get("error", {}).get("code", "?")
                    load.failures[f"{response.status_code} {code}"] += 1

        await asyncio.gather(*(one_client() for _ in range(clients)))
        load.elapsed = time.perf_counter() - started
    return load
