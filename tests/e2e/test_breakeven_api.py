"""The on-demand vs annual break-even as users reach it: HTTP, ``polis calc`` and ``polis advise``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from polis import calc
from polis.cli import app

runner = CliRunner()
ROUTE = "/v1/calc/on-demand-vs-annual"


def request(**changes: Any) -> dict[str, Any]:
    """A photographer's camera kit: 12 hours a month in 4-hour shoots vs a 180 € annual contract."""
    body: dict[str, Any] = {
        "usage": {"unit": "hour", "per_month": "12", "session_length": "4"},
        "on_demand": {
            "product": "equipment-micro",
            "risk": {"equipment": "camera"},
            "sum_insured": "1000",
            "as_of": "2025-09-01",
        },
        "annual_premium": "180.00",
    }
    body.update(changes)
    return body


def test_http_gives_the_same_json_as_the_python_calculator(client: TestClient) -> None:
    response = client.post(ROUTE, json=request())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == calc.on_demand_vs_annual(request()).model_dump(mode="json")
    assert body["cheaper"] == "on_demand"
    assert body["threshold_per_month"] == "12.01"
    assert len(body["on_demand_monthly"]) == 12


def test_http_takes_given_prices(client: TestClient) -> None:
    given = {"price_per_unit": "0.90", "fee_per_activation": "0.50", "minimum_per_activation": "2"}
    response = client.post(ROUTE, json=request(on_demand=given, annual_premium="150"))
    assert response.status_code == 200, response.text
    assert response.json()["on_demand_yearly"] == "147.60"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"annual_premium": "lots"}, "annual_premium"),
        ({"usage": {"unit": "week", "per_month": "1"}}, "usage.unit"),
        ({"usage": {"unit": "hour", "monthly": ["1"] * 11}}, "usage.monthly"),
        (
            {
                "on_demand": {
                    "product": "equipment-micro",
                    "risk": {"equipment": "tank"},
                    "as_of": "2025-09-01",
                }
            },
            "on_demand.risk.equipment",
        ),
        ({"on_demand": {"product": "drone", "as_of": "2025-09-01"}}, "on_demand.product"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_request_gets_422_naming_the_field(
    client: TestClient, changes: dict[str, Any], field: str
) -> None:
    response = client.post(ROUTE, json=request(**changes))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


def test_openapi_documents_the_calculator_with_its_example(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"][ROUTE]["post"]
    example = operation["requestBody"]["content"]["application/json"]["example"]
    assert example["on_demand"]["product"] == "equipment-micro"
    assert "switching threshold" in operation["summary"]


def test_polis_calc_prints_the_same_json(tmp_path: Path) -> None:
    source = tmp_path / "usage.json"
    source.write_text(json.dumps(request()))
    result = runner.invoke(app, ["calc", "on-demand-vs-annual", "--input", str(source)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == calc.on_demand_vs_annual(request()).model_dump(mode="json")


def test_polis_advise_prints_the_json_and_writes_an_svg_plot(tmp_path: Path) -> None:
    plot = tmp_path / "breakeven.svg"
    result = runner.invoke(
        app,
        ["advise", "on-demand-vs-annual", "--input", "-", "--plot", str(plot), "--lang", "en"],
        input=json.dumps(request()),
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["threshold_per_month"] == "12.01"
    text = plot.read_text(encoding="utf-8")
    assert "Switching threshold: 12.01" in text
    assert "Annual contract" in text
    assert f"plot written to {plot}" in result.stderr.replace("\n", "")


def test_polis_advise_writes_a_png_in_french(tmp_path: Path) -> None:
    plot = tmp_path / "seuil.png"
    result = runner.invoke(
        app,
        ["advise", "on-demand-vs-annual", "-i", "-", "--plot", str(plot)],
        input=json.dumps(request()),
    )
    assert result.exit_code == 0, result.output
    assert plot.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("args", "body", "field"),
    [
        (["--plot", "out.pdf"], request(), "--plot"),
        (["--lang", "de"], request(), "--lang"),
        ([], request(annual_premium="-1"), "annual_premium"),
        ([], request(usage={"unit": "hour"}), "usage"),
    ],
)
def test_polis_advise_exits_2_naming_the_field(
    args: list[str], body: dict[str, Any], field: str
) -> None:
    result = runner.invoke(
        app, ["advise", "on-demand-vs-annual", "-i", "-", *args], input=json.dumps(body)
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"field: {field}" in result.stderr


def test_polis_advise_is_listed_in_the_help() -> None:
    result = runner.invoke(app, ["advise", "--help"])
    assert result.exit_code == 0
    assert "on-demand-vs-annual" in result.stdout
