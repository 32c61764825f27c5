"""Bonus-malus: the pure engine, the calculator (Pydantic in/out) and one HTTP call, in process.

Baseline named in the same run: the engine alone; the ratios say what validation/serialisation and
the HTTP stack cost on top of the rules.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import httpx

from bench.harness import Timing, time_calls, timing_of
from polis import calc
from polis.actuarial import Claim, CrmInput, Period, Responsibility, compute_crm
from polis.api import create_app
from polis.config import Settings

REQUEST: dict[str, object] = {
    "start": "1.00",
    "reference_premium": "640",
    "periods": [
        {"claims": []},
        {"claims": [{"responsibility": "full"}]},
        {"claims": []},
        {"claims": [{"responsibility": "partial"}, {"responsibility": "none", "neutral": True}]},
        *({"claims": []} for _ in range(6)),
    ],
}


def _engine_input() -> CrmInput:
    periods = []
    for period in REQUEST["periods"]:  # type: ignore[attr-defined]
        claims = tuple(
            Claim(Responsibility(c["responsibility"]), neutral=c.get("neutral", False))
            for c in period["claims"]
        )
        periods.append(Period(claims=claims))
    return CrmInput(periods=tuple(periods), start=Decimal("1.00"), reference_premium=Decimal(640))


def run() -> list[Timing]:
    engine_input = _engine_input()
    results = [
        time_calls("CRM engine, 10 periods (pure)", lambda: compute_crm(engine_input), runs=5000),
        time_calls("crm calculator, 10 periods (dict in, JSON out)", _calculator, runs=3000),
    ]
    results.append(_http())
    return results


def _calculator() -> object:
    return calc.crm(REQUEST).model_dump(mode="json")


def _http() -> Timing:
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
                    started = time.perf_counter()
                    response = await client.post("/v1/calc/crm", json=REQUEST)
                    response.raise_for_status()
                    if i >= 50:  # warm-up excluded
                        samples.append(time.perf_counter() - started)
            return samples

        return timing_of("POST /v1/calc/crm in process (ASGI, no socket)", asyncio.run(measure()))
