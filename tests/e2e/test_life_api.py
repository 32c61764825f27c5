"""The ``life`` calculator through its real entrypoints: ``POST /v1/calc/life`` and
``polis calc life``, with the tables found through ``POLIS_DATA_DIR``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from polis.calc import life
from polis.cli import app

runner = CliRunner()

REQUEST = {
    "table": "TH00-02",
    "age": 40,
    "sum_assured": "100000",
    "interest_rate": "0.02",
    "cover": "term",
    "term_years": 10,
    "premium": "level_annual",
    "timing": "end_of_year",
}


def _data_dir() -> Path:
    configured = os.environ.get("POLIS_DATA_DIR")
    folder = Path(configured) if configured else None
    if folder is None or not (folder / "TH00-02.csv").is_file():
        reason = (
            "reference data not found: set POLIS_DATA_DIR to the folder holding TH00-02.csv "
            f"(e.g. ../shared/data); got {configured!r}"
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the data tests: {reason}")
        pytest.skip(reason)
    return folder


@pytest.fixture
def data_dir() -> Path:
    return _data_dir()


@pytest.fixture
def without_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No POLIS_DATA_DIR and no .env file in the working directory."""
    monkeypatch.delenv("POLIS_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.data
def test_the_http_route_prices_a_term_cover_like_the_python_calculator(
    client: TestClient, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLIS_DATA_DIR", str(data_dir))
    response = client.post("/v1/calc/life", json=REQUEST)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == life(REQUEST, data_dir=data_dir).model_dump(mode="json")
    assert body["single_premium"] == "3338.20"  # also the direct sum of the integration tests
    assert body["annual_premium"] == "369.39"
    assert {"annuity_factor", "explanation", "table_used", "probabilities"} <= body.keys()


@pytest.mark.data
def test_the_http_route_names_the_field_a_table_cannot_price(
    client: TestClient, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLIS_DATA_DIR", str(data_dir))
    response = client.post("/v1/calc/life", json={**REQUEST, "age": 111})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "age"


def test_the_http_route_lists_the_allowed_tables(client: TestClient) -> None:
    response = client.post("/v1/calc/life", json={**REQUEST, "table": "TD88-90"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "table"
    assert "'TGH05'" in error["message"]


@pytest.mark.usefixtures("without_data")
def test_the_http_route_without_data_says_which_file_and_how_to_set_it(
    client: TestClient,
) -> None:
    response = client.post("/v1/calc/life", json=REQUEST)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "data.missing"
    assert "TH00-02.csv" in error["message"]
    assert "POLIS_DATA_DIR" in error["message"]


@pytest.mark.data
def test_the_cli_prints_the_same_json_as_the_python_calculator(data_dir: Path) -> None:
    result = runner.invoke(
        app,
        ["calc", "life", "--input", "-"],
        input=json.dumps(REQUEST),
        env={"POLIS_DATA_DIR": str(data_dir)},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == life(REQUEST, data_dir=data_dir).model_dump(mode="json")


@pytest.mark.data
def test_the_cli_refuses_a_generational_table_without_birth_year(data_dir: Path) -> None:
    request = {**REQUEST, "table": "TGH05"}
    result = runner.invoke(
        app,
        ["calc", "life", "--input", "-"],
        input=json.dumps(request),
        env={"POLIS_DATA_DIR": str(data_dir)},
    )
    assert result.exit_code == 2
    assert "field: birth_year" in result.stderr


@pytest.mark.usefixtures("without_data")
def test_the_cli_without_data_exits_2_naming_the_file() -> None:
    result = runner.invoke(app, ["calc", "life", "--input", "-"], input=json.dumps(REQUEST))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "data.missing" in result.stderr
    assert "TH00-02.csv" in result.stderr
    assert "POLIS_DATA_DIR" in result.stderr
