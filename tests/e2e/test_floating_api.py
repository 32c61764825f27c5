"""The ``floating`` calculator as users reach it: over HTTP and on the command line."""

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


def compte_courant(**changes: Any) -> dict[str, Any]:
    """Quarterly compte courant on 2025 at 0.4 %, with a minimum premium of 13,000.00."""
    request: dict[str, Any] = {
        "variant": "compte_courant",
        "period": {"start": "2025-01-01", "end": "2026-01-01"},
        "rate": "0.004",
        "forecast_value": "3000000",
        "sum_insured": "4000000",
        "frequency": "quarterly",
        "grace_days": 15,
        "minimum_premium": "13000.00",
        "declarations": [
            {"period_start": "2025-01-01", "value": "2800000", "received": "2025-04-10"},
            {"period_start": "2025-04-01", "value": "3200000", "received": "2025-07-08"},
            {"period_start": "2025-07-01", "value": "3000000", "received": "2025-10-15"},
            {"period_start": "2025-10-01", "value": "3500000", "received": "2026-01-12"},
        ],
    }
    request.update(changes)
    return request


@pytest.mark.db
def test_http_floating_gives_the_same_json_as_the_python_calculator(client: TestClient) -> None:
    response = client.post("/v1/calc/floating", json=compte_courant())
    assert response.status_code == 200
    body = response.json()
    assert body == calc.floating(compte_courant()).model_dump(mode="json")
    # quarters earn 0.004 × Σ value × days / 365, to 12,506.30 in all; the minimum 13,000.00 is
    # retained by a closing call of 493.70 on the day the last declaration arrived
    assert [c["kind"] for c in body["calls"]] == ["call"] * 4 + ["regularisation"]
    assert body["calls"][-1]["amount"] == "493.70"
    assert body["calls"][-1]["date"] == "2026-01-12"
    assert (body["final_premium"], body["minimum_premium_applied"]) == ("13000.00", True)


@pytest.mark.db
def test_openapi_documents_the_floating_calculator_with_its_example(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/calc/floating"]["post"]
    example = operation["requestBody"]["content"]["application/json"]["example"]
    assert example["variant"] == "revisable"


@pytest.mark.db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"variant": "flottante"}, "variant"),
        (
            {
                "declarations": [
                    {"period_start": "2025-02-01", "value": "1", "received": "2025-05-01"}
                ]
            },
            "declarations[0].period_start",
        ),
        (
            {
                "declarations": [
                    {"period_start": "2025-01-01", "value": "-1", "received": "2025-05-01"}
                ]
            },
            "declarations[0].value",
        ),
        ({"statistic": "max"}, "statistic"),
    ],
)
def test_a_bad_floating_request_gets_422_naming_the_field(
    client: TestClient, changes: dict[str, Any], field: str
) -> None:
    response = client.post("/v1/calc/floating", json=compte_courant(**changes))
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("input.invalid", field)


def test_the_cli_reads_a_file_and_prints_the_same_json(tmp_path: Path) -> None:
    source = tmp_path / "floating.json"
    source.write_text(json.dumps(compte_courant()))
    result = runner.invoke(app, ["calc", "floating", "--input", str(source)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == calc.floating(compte_courant()).model_dump(mode="json")


def test_the_cli_refuses_a_duplicate_declaration_with_exit_2_naming_it() -> None:
    declarations = compte_courant()["declarations"]
    bad = compte_courant(declarations=[*declarations, declarations[0]])
    result = runner.invoke(app, ["calc", "floating", "--input", "-"], input=json.dumps(bad))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "declarations[4].period_start" in result.stderr
    assert "duplicate" in result.stderr
