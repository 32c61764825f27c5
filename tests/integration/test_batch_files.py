"""``polis rate sample`` and ``polis rate batch`` on parquet files, through the CLI runner.

The rated file carries exactly the single path's cents, is written atomically (an invalid row
leaves no file behind), and the Dask engine on a local cluster writes the very same file.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from polis.cli import app
from polis.policies import default_catalogue, quote_risk

runner = CliRunner()
DAY = "2025-09-01"
ROWS = 3000


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("portfolio") / "portfolio.parquet"
    result = runner.invoke(
        app,
        [
            *("rate", "sample", "--product", "motor-private", "--rows", str(ROWS)),
            *("--output", str(path), "--seed", "5"),
        ],
    )
    assert result.exit_code == 0, result.output
    return path


def rate(source: Path, output: Path, *extra: str) -> tuple[int, str, str]:
    result = runner.invoke(
        app,
        [
            *("rate", "batch", "--product", "motor-private", "--input", str(source)),
            *("--output", str(output), "--as-of", DAY, "--chunk-rows", "1000", *extra),
        ],
    )
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def rated(portfolio: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("rated") / "rated.parquet"
    code, stdout, stderr = rate(portfolio, output)
    assert code == 0, stderr
    assert "3,000" in stdout
    return output


def test_a_sample_portfolio_has_the_rows_asked_within_the_domain(portfolio: Path) -> None:
    frame = pl.read_parquet(portfolio)
    assert frame.height == ROWS
    assert frame["area"].min() == 1
    assert frame["area"].max() == 6
    assert frame.select(pl.col("bonus_malus") >= Decimal("0.50")).to_series().all()


def test_the_rated_file_has_a_row_per_risk_and_the_single_quote_cents(
    portfolio: Path, rated: Path
) -> None:
    risks = pl.read_parquet(portfolio)
    output = pl.read_parquet(rated)
    assert output.height == ROWS
    assert output.select(risks.columns).equals(risks)
    assert output.schema["total_premium"] == pl.Decimal(18, 2)
    product = default_catalogue().get("motor-private").product
    for i in range(0, ROWS, 61):
        risk = {k: v for k, v in risks.row(i, named=True).items() if v is not None}
        quote = quote_risk(product, risk, as_of=date.fromisoformat(DAY))
        row = output.row(i, named=True)
        assert row["total_premium"] == quote.total_premium
        assert row["pure_premium"] == quote.pure_premium
        for cover in quote.priced.covers:
            assert row[f"{cover.id}.net"] == cover.net
            assert row[f"{cover.id}.tax"] == cover.taxes[0].amount


def test_the_rated_file_says_which_terms_priced_it(rated: Path) -> None:
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    metadata = pq.read_schema(rated).metadata
    assert metadata[b"polis.product"] == b"motor-private"
    assert metadata[b"polis.as_of"] == DAY.encode()
    assert len(metadata[b"polis.product_sha256"]) == 64


def test_an_invalid_row_leaves_no_output_and_names_the_field_and_row(
    portfolio: Path, tmp_path: Path
) -> None:
    frame = pl.read_parquet(portfolio)
    groups = frame["power_group"].cast(pl.String).to_list()
    groups[2345] = "Z"
    broken = tmp_path / "broken.parquet"
    frame.with_columns(pl.Series("power_group", groups)).write_parquet(broken)
    output = tmp_path / "out" / "rated.parquet"
    output.parent.mkdir()
    code, _, stderr = rate(broken, output)
    assert code == 2
    assert "risk.power_group" in stderr
    assert "row 2345" in stderr
    assert list(output.parent.iterdir()) == []  # no output, no temporary file


def test_a_missing_input_file_exits_2_naming_it(tmp_path: Path) -> None:
    code, _, stderr = rate(tmp_path / "nothing.parquet", tmp_path / "rated.parquet")
    assert code == 2
    assert "no such file" in stderr


def test_a_life_product_is_refused_naming_the_cover(portfolio: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            *("rate", "batch", "--product", "term-life-10", "--input", str(portfolio)),
            *("--output", str(tmp_path / "x.parquet"), "--as-of", DAY),
        ],
    )
    assert result.exit_code == 2
    assert "covers.death" in result.stderr


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        dashboard_address=None,
        silence_logs=50,
    ) as local:
        yield local.scheduler_address


def test_the_dask_engine_writes_the_very_same_file(
    portfolio: Path, rated: Path, cluster: str, tmp_path: Path
) -> None:
    output = tmp_path / "rated-dask.parquet"
    code, stdout, stderr = rate(portfolio, output, "--engine", "dask", "--scheduler", cluster)
    assert code == 0, stderr
    assert "dask" in stdout
    assert output.read_bytes() == rated.read_bytes()
