"""``polis rate batch`` and ``polis rate sample``: portfolios rated in batch (parquet in and out).

``polis rate batch --product P --input portfolio.parquet --output rated.parquet`` rates every row
with the product's tariff compiled to columnar operations (the same cents as ``polis quote``), with a
progress bar (rows done / total, rows per second) on standard error and a summary on standard output.
``--engine dask`` runs the same rater on Dask partitions (a local cluster, or ``--scheduler ADDRESS``).
``polis rate sample`` writes a random valid portfolio of a product (demos, benchmarks).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from polis.cli.base import app, err, out, run_guarded
from polis.kernel.errors import InvalidInput
from polis.kernel.money import to_decimal
from polis.services import batch_rating

__all__ = ["rate_app"]

rate_app = typer.Typer(
    help="Batch rating of portfolios: parquet in, parquet out.", no_args_is_help=True
)
app.add_typer(rate_app, name="rate")


class EngineChoice(StrEnum):
    POLARS = "polars"
    DASK = "dask"


ProductOption = Annotated[str, typer.Option("--product", "-p", help="product id")]
VersionOption = Annotated[
    str | None, typer.Option("--version", help="product version (default: the latest valid)")
]


def _as_of(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as e:
        raise InvalidInput(f"not a date (YYYY-MM-DD): {text!r}", field="--as-of") from e


def _overrides(items: list[str]) -> dict[str, Decimal | bool]:
    result: dict[str, Decimal | bool] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"expected KEY=VALUE, got {item!r}", field="--tax-override")
        lowered = value.lower()
        result[key] = lowered == "true" if lowered in {"true", "false"} else to_decimal(value)
    return result


def _summary(report: batch_rating.BatchReport) -> Table:
    table = Table(title=f"{report.product} {report.version} — premiums due {report.as_of}")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("rows", f"{report.rows:,}")
    table.add_row("engine", f"{report.engine} ({report.chunks} slice(s))")
    table.add_row("seconds", f"{report.seconds:.2f}")
    table.add_row("rows per second", f"{report.rows_per_second:,.0f}")
    for name, value in report.totals.items():
        table.add_row(name, f"{value:,.2f}")
    table.add_row("output", str(report.output))
    return table


@contextmanager
def _progress_bar() -> Iterator[batch_rating.Progress]:
    """A Rich bar on standard error: rows done / total, rows per second, time elapsed."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[speed]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=False) as bar:
        task: TaskID = bar.add_task("rating", total=None, speed="")
        started = time.perf_counter()

        def progress(done: int, total: int) -> None:
            elapsed = max(time.perf_counter() - started, 1e-9)
            bar.update(task, completed=done, total=total, speed=f"{done / elapsed:,.0f} rows/s")

        yield progress


@rate_app.command("batch")
def rate_batch(
    product: ProductOption,
    input_path: Annotated[
        Path, typer.Option("--input", "-i", help="portfolio parquet: one row per risk")
    ],
    output_path: Annotated[Path, typer.Option("--output", "-o", help="rated parquet to write")],
    version: VersionOption = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="premium due date YYYY-MM-DD (default: today)")
    ] = None,
    engine: Annotated[
        EngineChoice, typer.Option("--engine", help="polars (this process) or dask")
    ] = EngineChoice.POLARS,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask scheduler address (default: a local cluster)"),
    ] = None,
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", min=1, help="rows per slice (bounds the memory)")
    ] = 250_000,
    tax_override: Annotated[
        list[str] | None,
        typer.Option("--tax-override", help="KEY=VALUE, e.g. contribution.fgao=0.01 (repeatable)"),
    ] = None,
) -> None:
    """Rate every risk of a portfolio file against a product (the same cents as polis quote)."""
    with _progress_bar() as progress:
        report = run_guarded(
            lambda: batch_rating.rate_file(
                product,
                input_path,
                output_path,
                version=version,
                as_of=_as_of(as_of),
                engine=engine.value,
                scheduler=scheduler,
                chunk_rows=chunk_rows,
                progress=progress,
                tax_overrides=_overrides(tax_override or []),
            )
        )
    out.print(_summary(report))


@rate_app.command("sample")
def rate_sample(
    product: ProductOption,
    rows: Annotated[int, typer.Option("--rows", "-n", min=0, help="number of risks")],
    output_path: Annotated[Path, typer.Option("--output", "-o", help="parquet file to write")],
    seed: Annotated[int, typer.Option("--seed", help="random seed (same seed, same file)")] = 0,
    version: VersionOption = None,
) -> None:
    """Write a random valid portfolio of a product (values within each field's domain)."""
    report = run_guarded(
        lambda: batch_rating.write_sample(product, rows, output_path, seed=seed, version=version)
    )
    out.print(f"{report.rows:,} risks of {report.product} {report.version} → {report.output}")
