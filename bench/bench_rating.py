"""Rating: the single quote, the batch twin on 1,000,000 risks, its peak memory, and one HTTP quote.

Product: ``motor-private`` (3 covers, a 5-factor tariff, rate-of-pure and rate-of-net loadings, cat-nat
surcharge, TSCA by cover, FGAO/FGTI contributions, a taxed policy fee). Baseline named in the same run:
the single path (``polis.services.quotes.quote``, one risk per call, JSON-ready view included); the
ratio column says how many times more risks per second each way of rating gets.

- batch in memory: ``BatchRater.rate`` on a 1,000,000-row Polars frame (money out as
  ``Decimal(18, 2)``; and as ``Int64`` cents); the frame is built before the clock starts;
- batch file: ``polis.services.batch_rating.rate_file`` parquet → parquet (read, rate, write,
  atomic rename) with the default slices of 250,000 rows;
- peak memory: the high-water mark of the resident set (``VmHWM`` in ``/proc/self/status``, Linux) of
  a fresh Python process that builds and rates the 1M-row frame (and, separately, of one that rates
  the 1M-row file in slices). Not ``getrusage``'s ``ru_maxrss``: on Linux a child keeps the forked
  parent's high-water mark across ``exec``, so it would report the benchmark's own memory;
- HTTP: ``POST /v1/quotes`` through ``httpx.ASGITransport`` on the real ``create_app`` (no socket).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from bench.harness import Timing, timing_of
from polis.api import create_app
from polis.config import Settings
from polis.policies import Product, default_catalogue
from polis.rating.batch import BatchRater, compile_product
from polis.rating.batch_sample import sample_portfolio
from polis.services.batch_rating import rate_file, write_sample
from polis.services.quotes import quote

PRODUCT = "motor-private"
DAY = date(2025, 9, 1)
ROWS = 1_000_000
SINGLE_RISKS = 2_000

MEMORY_SCRIPT = """
import json, sys, time
from datetime import date
from pathlib import Path
from polis.policies import default_catalogue
from polis.rating.batch import compile_product
from polis.rating.batch_sample import sample_portfolio
from polis.services.batch_rating import rate_file

def mib(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024

product = default_catalogue().get("motor-private").product
rater = compile_product(product, as_of=date(2025, 9, 1))
after_imports = mib("VmRSS")
started = time.perf_counter()
if sys.argv[1] == "frame":
    frame = sample_portfolio(product, int(sys.argv[2]), seed=1)
    rated = rater.rate(frame)
    sizes = [frame.estimated_size("mb"), rated.estimated_size("mb")]
else:
    rate_file("motor-private", Path(sys.argv[2]), Path(sys.argv[3]), as_of=date(2025, 9, 1))
    sizes = [0.0, 0.0]
print(json.dumps({"peak": mib("VmHWM"), "imports": after_imports, "sizes": sizes,
                  "seconds": time.perf_counter() - started}))
"""


def _single(risks: list[dict[str, Any]]) -> Timing:
    samples = []
    for risk in risks[:50]:  # warm-up
        quote(PRODUCT, risk, as_of=DAY)
    for risk in risks:
        started = time.perf_counter()
        quote(PRODUCT, risk, as_of=DAY)
        samples.append(time.perf_counter() - started)
    return timing_of(f"single quote (services.quotes.quote), {len(risks):,} risks", samples)


def _batch(name: str, rows: int, call: Callable[[], object], runs: int) -> Timing:
    call()  # warm-up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    median = statistics.median(samples)
    return Timing(name, runs, median * 1000, max(samples) * 1000, rows / median)


def _json_risk(row: dict[str, Any]) -> dict[str, Any]:
    """A sampled row as the JSON risk a client sends (decimals as strings; empty: absent)."""
    return {k: v if isinstance(v, bool | int) else str(v) for k, v in row.items() if v is not None}


def _memory(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, *args],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _memory_rows(folder: Path, source: Path) -> list[Timing]:
    frame = _memory("frame", str(ROWS))
    name = (
        f"peak memory, build + rate 1M rows in memory (fresh process, VmHWM): {frame['peak']:,.0f} MiB "
        f"(after imports {frame['imports']:,.0f} MiB; frames: input {frame['sizes'][0]:,.0f} MiB,"
        f" rated {frame['sizes'][1]:,.0f} MiB)"
    )
    rows = [
        Timing(name, 1, frame["seconds"] * 1000, frame["seconds"] * 1000, ROWS / frame["seconds"])
    ]
    streamed = _memory("file", str(source), str(folder / "memory.parquet"))
    name = (
        f"peak memory, rate_file on the 1M-row file, slices of 250,000 (fresh process, VmHWM): "
        f"{streamed['peak']:,.0f} MiB (after imports {streamed['imports']:,.0f} MiB)"
    )
    seconds = streamed["seconds"]
    rows.append(Timing(name, 1, seconds * 1000, seconds * 1000, ROWS / seconds))
    return rows


def _http(risks: list[dict[str, Any]]) -> Timing:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}", log_level="WARNING")
        app = create_app(settings)

        async def measure() -> list[float]:
            samples: list[float] = []
            transport = httpx.ASGITransport(app=app)
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
            ):
                for i in range(2050):
                    body = {
                        "product": PRODUCT,
                        "risk": risks[i % len(risks)],
                        "as_of": "2025-09-01",
                    }
                    started = time.perf_counter()
                    response = await client.post("/v1/quotes", json=body)
                    response.raise_for_status()
                    if i >= 50:  # warm-up excluded
                        samples.append(time.perf_counter() - started)
            return samples

        return timing_of("POST /v1/quotes in process (ASGI, no socket)", asyncio.run(measure()))


def _in_memory(rater: BatchRater, product: Product) -> list[Timing]:
    frame = sample_portfolio(product, ROWS, seed=1)
    return [
        _batch(
            "batch rate(), 1M risks in memory, Decimal(18, 2) out",
            ROWS,
            lambda: rater.rate(frame),
            5,
        ),
        _batch(
            "batch rate(), 1M risks in memory, Int64 cents out",
            ROWS,
            lambda: rater.rate(frame, money="cents"),
            5,
        ),
    ]


def _file_rows() -> list[Timing]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "portfolio.parquet"
        write_sample(PRODUCT, ROWS, source, seed=1)

        def file_path() -> object:
            return rate_file(PRODUCT, source, folder / "rated.parquet", as_of=DAY)

        name = "batch file parquet → parquet (rate_file, polars engine), 1M risks"
        return [_batch(name, ROWS, file_path, 3), *_memory_rows(folder, source)]


def run() -> list[Timing]:
    product = default_catalogue().get(PRODUCT).product
    rater = compile_product(product, as_of=DAY)
    risks = [_json_risk(r) for r in sample_portfolio(product, SINGLE_RISKS, seed=2).to_dicts()]
    return [_single(risks), *_in_memory(rater, product), *_file_rows(), _http(risks)]
