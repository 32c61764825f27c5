"""``python -m bench``: run every benchmark and write docs/benchmarks.md."""

from __future__ import annotations

import logging
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from bench import bench_activation, bench_certificates, bench_crm, bench_rating
from bench.harness import Timing, machine

OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
SUITES = {  # the activation suite first: it is the one most sensitive to other jobs on the machine
    "Activation over HTTP next to pgbench (PostgreSQL; SQLite)": bench_activation.run,
    "Bonus-malus (CRM)": bench_crm.run,
    "Certificates (sign, verify, PDF)": bench_certificates.run,
    "Rating: single quote, batch twin, HTTP quote": bench_rating.run,
}
#: lines written under a suite's table (how it was measured, ratios), read after the suite ran
NOTES = {"Activation over HTTP next to pgbench (PostgreSQL; SQLite)": bench_activation.notes}


def _table(timings: list[Timing]) -> list[str]:
    base = timings[0].per_second
    lines = [
        "| what | runs | p50 (ms) | p99 (ms) | per second | vs first row |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for t in timings:
        lines.append(
            f"| {t.name} | {t.runs} | {t.p50_ms:.3f} | {t.p99_ms:.3f} | {t.per_second:,.0f} "
            f"| {t.per_second / base:.2f}× |"
        )
    return lines


def main() -> None:
    logging.disable(logging.INFO)
    console = Console()
    sections: list[str] = []
    with Progress(console=console) as progress:
        task = progress.add_task("benchmarks", total=len(SUITES))
        for title, suite in SUITES.items():
            progress.update(task, description=title)
            sections += [f"## {title}", "", *_table(suite()), ""]
            if title in NOTES:
                sections += [*NOTES[title](), ""]
            progress.advance(task)
    text = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`); do not edit by hand.",
        "",
        f"Machine: {machine()}",
        "",
        *sections,
    ]
    OUTPUT.write_text("\n".join(text), encoding="utf-8")
    print(OUTPUT.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
