"""Timing helpers and the machine description written next to every figure."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Timing:
    name: str
    runs: int
    p50_ms: float
    p99_ms: float
    per_second: float


def time_calls(name: str, call: Callable[[], object], *, runs: int, warmup: int = 20) -> Timing:
    """Call ``call`` ``runs`` times (after ``warmup`` calls); latency percentiles and throughput."""
    for _ in range(warmup):
        call()
    samples: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return timing_of(name, samples)


def timing_of(name: str, samples: list[float]) -> Timing:
    """Percentiles of per-call latencies (seconds) and the sequential throughput they imply."""
    cuts = statistics.quantiles(samples, n=100)
    return Timing(name, len(samples), cuts[49] * 1000, cuts[98] * 1000, len(samples) / sum(samples))


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
