"""The ``settlement`` and ``motor-claim`` calculators as users reach them: over HTTP and on the
command line, with the same JSON as the Python calculators."""

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


def contract_example(**changes: Any) -> dict[str, Any]:
    """contracts.md ``settlement`` with a cover check on an annual home-fire cover."""
    request: dict[str, Any] = {
        "loss": {
            "amount": "48000",
            "vat_rate": "0.20",
            "amount_includes_vat": False,
            "vat_recoverable": False,
        },
        "valuation": {"basis": "use_value", "depreciation_rate": "0.35"},
        "sum_insured": "120000",
        "actual_value": "200000",
        "first_loss": False,
        "agreed_value": False,
        "tolerance": "0",
        "misstatement": {"rate_paid": "0.00045", "rate_due": "0.00075", "intentional": False},
        "deductible": {"amount": "1000", "kind": "absolute"},
        "limit": "50000",
        "annual_aggregate_limit": None,
        "paid_this_year": "0",
        "cover": {
            "terms": {
                "policy_id": "POL-7",
                "perils": ["fire"],
                "period": {"start": "2025-01-01", "end": "2026-01-01"},
            },
            "loss_at": "2025-06-01T10:00:00+02:00",
            "peril": "fire",
        },
    }
    request.update(changes)
    return request


MOTOR = {
    "event": "break_in",
    "occurred_on": "2025-03-10",
    "repair_cost": "650",
    "covers": {
        "theft": {"deductible": {"amount": "300"}},
        "glass": {"deductible": {"amount": "80"}},
    },
    "bonus_malus": {"coefficient": "0.80", "reference_premium": "600"},
}


@pytest.mark.db
def test_http_settlement_gives_the_same_json_as_the_python_calculator(client: TestClient) -> None:
    response = client.post("/v1/calc/settlement", json=contract_example())
    assert response.status_code == 200
    body = response.json()
    assert body == calc.settlement(contract_example()).model_dump(mode="json")
    # 48,000 → use value 31,200 → L113-9 18,720 → L121-5 11,232 → deductible → 10,232
    assert (body["indemnity"], body["cover"]["covered"]) == ("10232.00", True)


@pytest.mark.db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"deductible": {"amount": "1000", "kind": "relative"}}, "deductible.kind"),
        ({"loss": {"amount": "12.345"}}, "loss.amount"),
        ({"sum_insured": "-1"}, "sum_insured"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_a_bad_settlement_request_gets_422_naming_the_field(
    client: TestClient, changes: dict[str, Any], field: str
) -> None:
    response = client.post("/v1/calc/settlement", json=contract_example(**changes))
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("input.invalid", field)


@pytest.mark.db
def test_a_bad_deductible_kind_lists_the_allowed_values(client: TestClient) -> None:
    bad = contract_example(deductible={"amount": "1000", "kind": "relative"})
    message = client.post("/v1/calc/settlement", json=bad).json()["error"]["message"]
    assert "'absolute'" in message
    assert "'simple'" in message


@pytest.mark.db
def test_http_motor_claim_gives_the_same_json_as_the_python_calculator(client: TestClient) -> None:
    response = client.post("/v1/calc/motor-claim", json=MOTOR)
    assert response.status_code == 200
    assert response.json() == calc.motor_claim(MOTOR).model_dump(mode="json")
    assert response.json()["cover"] == "theft"


@pytest.mark.db
def test_openapi_documents_the_settlement_calculator_with_its_example(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/calc/settlement"]["post"]
    example = operation["requestBody"]["content"]["application/json"]["example"]
    assert example["loss"]["amount"] == "48000"


def test_the_cli_reads_a_file_and_prints_the_same_json(tmp_path: Path) -> None:
    source = tmp_path / "settlement.json"
    source.write_text(json.dumps(contract_example()))
    result = runner.invoke(app, ["calc", "settlement", "--input", str(source)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == calc.settlement(contract_example()).model_dump(mode="json")


def test_the_cli_reads_stdin_for_the_motor_claim() -> None:
    result = runner.invoke(app, ["calc", "motor-claim", "--input", "-"], input=json.dumps(MOTOR))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == calc.motor_claim(MOTOR).model_dump(mode="json")


def test_the_cli_refuses_a_bad_request_with_exit_2_naming_the_field() -> None:
    bad = contract_example(deductible={"amount": "1000", "scope": "weekly"})
    result = runner.invoke(app, ["calc", "settlement", "--input", "-"], input=json.dumps(bad))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "deductible.scope" in result.stderr
