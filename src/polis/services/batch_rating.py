"""Batch rating of portfolio files: parquet in, parquet out, with bounded memory and an atomic write.

``rate_file(product_id, input_path, output_path, …)`` compiles the product once
(:func:`polis.rating.batch.compile_product`) and rates the input in slices of ``chunk_rows`` rows:

- ``engine="polars"``: slice after slice in this process (each slice read lazily from the file, so
  memory holds one slice and its result);
- ``engine="dask"``: the same compiled rater, scattered once to the workers of a ``distributed``
  cluster (a ``LocalCluster`` of this machine, or the scheduler at ``scheduler``); each task reads
  its slice, rates it and returns it; a bounded window of tasks runs ahead and the parts are
  written in order. On a real cluster the workers must see ``input_path`` (shared storage).

Both engines write the same slices in the same order with the same writer, so their output files
are identical. The output is written to a temporary file next to ``output_path`` and renamed at the
end: a failure (an invalid row, a crash) leaves no output and no partial file. The first invalid row
raises ``InvalidInput`` naming ``risk.<field>`` and the row (0-based, in the whole file).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from importlib import import_module
from pathlib import Path
from typing import Any, Literal

import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from polis.kernel.errors import InvalidInput
from polis.kernel.time import to_local, utc_now
from polis.policies.catalogue import Catalogue, CatalogueEntry, default_catalogue
from polis.rating.batch import TOTALS, BatchRater, compile_product
from polis.rating.batch_sample import sample_portfolio
from polis.rating.taxes import TaxTable

__all__ = [
    "BatchReport",
    "Engine",
    "Progress",
    "SampleReport",
    "rate_file",
    "rate_slice",
    "rate_slice_ipc",
    "write_sample",
]

Engine = Literal["polars", "dask"]
#: called after each slice with (rows rated so far, rows in the file)
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class BatchReport:
    """What a batch run did: rows, time, throughput, output file and the portfolio's totals."""

    product: str
    version: str
    as_of: dt.date
    engine: str
    rows: int
    chunks: int
    seconds: float
    output: Path
    totals: dict[str, Decimal]

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class SampleReport:
    product: str
    version: str
    rows: int
    output: Path


def _today() -> dt.date:
    return to_local(utc_now()).date()


def _row_count(path: Path) -> int:
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}", field="input")
    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except (pa.ArrowInvalid, OSError) as e:
        raise InvalidInput(f"not a parquet file: {path} ({e})", field="input") from e


def _slices(rows: int, chunk_rows: int) -> list[tuple[int, int]]:
    if chunk_rows < 1:
        raise InvalidInput("must be at least 1", field="chunk_rows")
    if rows == 0:
        return [(0, 0)]
    return [(start, min(chunk_rows, rows - start)) for start in range(0, rows, chunk_rows)]


def rate_slice(rater: BatchRater, path: str, start: int, length: int) -> pa.Table:
    """Read rows ``[start, start + length)`` of ``path``, rate them, return them as Arrow."""
    frame = pl.scan_parquet(path).slice(start, length).collect()
    return rater.rate(frame, first_row=start).to_arrow()


def rate_slice_ipc(rater: BatchRater, path: str, start: int, length: int) -> bytes:
    """:func:`rate_slice` as LZ4-compressed Arrow IPC bytes (what a Dask worker sends back)."""
    table = rate_slice(rater, path, start, length)
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="lz4")
    with pa.ipc.new_stream(sink, table.schema, options=options) as stream:
        stream.write_table(table)
    return bytes(sink.getvalue())


def _from_ipc(data: bytes) -> pa.Table:
    with pa.ipc.open_stream(pa.py_buffer(data)) as stream:
        return stream.read_all()


@contextmanager
def _atomic_writer(
    output: Path, metadata: Mapping[str, str], inputs: list[str]
) -> Iterator[_Writer]:
    if not output.parent.is_dir():
        raise InvalidInput(f"no such directory: {output.parent}", field="output")
    temporary = output.parent / f".{output.name}.{uuid.uuid4().hex}.tmp"
    writer = _Writer(temporary, metadata, inputs)
    try:
        yield writer
        writer.close()
        os.replace(temporary, output)
    except BaseException:
        writer.close(discard=True)
        temporary.unlink(missing_ok=True)
        raise


class _Writer:
    """A parquet writer (created on the first table) writing in a background thread.

    One table is written while the next slice is rated; ``write`` waits for the previous table
    first, so at most two slices are in memory and a write error surfaces at the next call.
    Priced columns are integer decimals (``DECIMAL(18, 2)`` on ``INT64``, delta-encoded); the input
    columns keep dictionary encoding; statistics are written for the inputs and the totals.
    """

    def __init__(self, path: Path, metadata: Mapping[str, str], inputs: list[str]) -> None:
        self.path = path
        self.inputs = inputs
        self.metadata = {k.encode(): v.encode() for k, v in metadata.items()}
        self.writer: pq.ParquetWriter | None = None
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="polis-parquet")
        self.pending: Future[None] | None = None
        self.totals = dict.fromkeys(TOTALS, Decimal("0.00"))
        self.rows = 0

    def _open(self, schema: pa.Schema) -> pq.ParquetWriter:
        priced = [name for name in schema.names if name not in self.inputs]
        return pq.ParquetWriter(
            self.path,
            schema,
            compression="zstd",
            compression_level=1,
            use_dictionary=self.inputs,
            write_statistics=[*self.inputs, *TOTALS],
            store_decimal_as_integer=True,
            column_encoding=dict.fromkeys(priced, "DELTA_BINARY_PACKED"),
        )

    def _write(self, table: pa.Table) -> None:
        if self.writer is None:
            self.writer = self._open(table.schema)
        self.writer.write_table(table)

    def write(self, table: pa.Table) -> None:
        table = table.replace_schema_metadata(self.metadata)
        for name in TOTALS:
            self.totals[name] += pc.sum(table.column(name)).as_py() or Decimal("0.00")
        if self.pending is not None:
            self.pending.result()
        self.pending = self.pool.submit(self._write, table)
        self.rows += table.num_rows

    def close(self, *, discard: bool = False) -> None:
        try:
            if self.pending is not None and not discard:
                self.pending.result()
        finally:
            if self.pending is not None:
                self.pending.cancel()
                wait([self.pending])
            self.pool.shutdown(wait=True)
            if self.writer is not None:
                self.writer.close()
                self.writer = None


def _run_polars(
    rater: BatchRater, path: Path, slices: list[tuple[int, int]], sink: Callable[[pa.Table], None]
) -> None:
    for start, length in slices:
        sink(rate_slice(rater, str(path), start, length))


def _run_dask(
    rater: BatchRater,
    path: Path,
    slices: list[tuple[int, int]],
    sink: Callable[[pa.Table], None],
    scheduler: str | None,
) -> None:
    distributed: Any = import_module("distributed")  # only the dask engine needs it
    cluster = None
    if scheduler is None:
        cluster = distributed.LocalCluster(
            n_workers=min(2, os.cpu_count() or 1),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    client = distributed.Client(scheduler or cluster)
    try:
        shared = client.scatter(rater, broadcast=True)
        window = 2 * max(len(client.scheduler_info().get("workers", {})), 1)
        pending: deque[Any] = deque()
        for start, length in slices:
            task = client.submit(rate_slice_ipc, shared, str(path), start, length, pure=False)
            pending.append(task)
            if len(pending) >= window:
                sink(_from_ipc(pending.popleft().result()))
        while pending:
            sink(_from_ipc(pending.popleft().result()))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _metadata(entry: CatalogueEntry, rater: BatchRater) -> dict[str, str]:
    """What the output file says about the terms that priced it."""
    return {
        "polis.product": entry.product.id,
        "polis.version": entry.product.version,
        "polis.product_sha256": entry.sha256,
        "polis.as_of": rater.as_of.isoformat(),
        "polis.tax_table_version": rater.table.version,
        "polis.money": "Decimal(18, 2) exact cents",
    }


def rate_file(
    product_id: str,
    input_path: Path,
    output_path: Path,
    *,
    version: str | None = None,
    as_of: dt.date | None = None,
    engine: Engine = "polars",
    scheduler: str | None = None,
    chunk_rows: int = 250_000,
    progress: Progress | None = None,
    tax_overrides: Mapping[str, Decimal | bool] | None = None,
    taxes: TaxTable | None = None,
    catalogue: Catalogue | None = None,
) -> BatchReport:
    """Rate every row of ``input_path`` into ``output_path`` (see the module docstring)."""
    if engine not in ("polars", "dask"):
        raise InvalidInput(f"unknown engine {engine!r}; engines: polars, dask", field="engine")
    day = as_of or _today()
    entry = (catalogue or default_catalogue()).get(
        product_id, version, as_of=None if version else day
    )
    rater = compile_product(entry.product, as_of=day, taxes=taxes, tax_overrides=tax_overrides)
    started = time.perf_counter()
    rows, chunks, totals = _rate_into(
        rater, entry, input_path, output_path, engine, scheduler, chunk_rows, progress
    )
    return BatchReport(
        product=entry.product.id,
        version=entry.product.version,
        as_of=day,
        engine=engine,
        rows=rows,
        chunks=chunks,
        seconds=time.perf_counter() - started,
        output=output_path,
        totals=totals,
    )


def _rate_into(
    rater: BatchRater,
    entry: CatalogueEntry,
    input_path: Path,
    output_path: Path,
    engine: Engine,
    scheduler: str | None,
    chunk_rows: int,
    progress: Progress | None,
) -> tuple[int, int, dict[str, Decimal]]:
    """Rate the file slice by slice into the atomic writer; rows, slices and totals."""
    rows = _row_count(input_path)
    slices = _slices(rows, chunk_rows)
    inputs = pq.read_schema(input_path).names
    with _atomic_writer(output_path, _metadata(entry, rater), inputs) as writer:

        def sink(table: pa.Table) -> None:
            writer.write(table)
            if progress is not None:
                progress(writer.rows, rows)

        if engine == "polars":
            _run_polars(rater, input_path, slices, sink)
        else:
            _run_dask(rater, input_path, slices, sink, scheduler)
    return rows, len(slices), writer.totals


def write_sample(
    product_id: str,
    rows: int,
    output_path: Path,
    *,
    seed: int = 0,
    version: str | None = None,
    catalogue: Catalogue | None = None,
) -> SampleReport:
    """A random valid portfolio of ``rows`` risks of the product, written as parquet (atomically)."""
    if rows < 0:
        raise InvalidInput("must not be negative", field="rows")
    entry = (catalogue or default_catalogue()).get(product_id, version)
    frame = sample_portfolio(entry.product, rows, seed=seed)
    if not output_path.parent.is_dir():
        raise InvalidInput(f"no such directory: {output_path.parent}", field="output")
    temporary = output_path.parent / f".{output_path.name}.{uuid.uuid4().hex}.tmp"
    try:
        frame.write_parquet(temporary, row_group_size=100_000)
        os.replace(temporary, output_path)
    finally:
        temporary.unlink(missing_ok=True)
    return SampleReport(entry.product.id, entry.product.version, rows, output_path)
