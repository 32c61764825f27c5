"""``polis policy …`` and ``polis claim …`` through the CLI runner, on the test database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from polis.cli import app
from tests.claim_fixtures import claim_payload, jpeg_bytes, policy_payload
from tests.e2e.accounts import Account

pytestmark = pytest.mark.db

runner = CliRunner()


class Polis:
    """``polis`` with the test database and a private evidence folder."""

    def __init__(self, database_url: str, var: Path) -> None:
        self.env = {
            "POLIS_DATABASE_URL": database_url,
            "POLIS_EVIDENCE_DIR": str(var / "evidence"),
            "POLIS_VAR_DIR": str(var),
        }
        self.var = var

    def run(self, *args: str, code: int = 0, stdin: str | None = None) -> Any:
        result = runner.invoke(app, list(args), env=self.env, input=stdin)
        assert result.exit_code == code, result.output + result.stderr
        if code != 0:
            return result.stderr
        return json.loads(result.stdout) if result.stdout.startswith(("{", "[")) else result.stdout

    def write(self, name: str, payload: object) -> str:
        path = self.var / name
        path.write_text(json.dumps(payload))
        return str(path)


@pytest.fixture
def polis(database_url: str, tmp_path: Path) -> Polis:
    return Polis(database_url, tmp_path)


def test_a_claim_goes_from_declaration_to_closing_through_the_cli(
    polis: Polis, account: Account
) -> None:
    t = ("--tenant", account.tenant_id)
    policy = polis.run("policy", "register", *t, "--input", polis.write("p.json", policy_payload()))
    assert polis.run("policy", "show", *t, policy["id"])["terms_sha256"] == policy["terms_sha256"]
    loss = claim_payload(policy["id"], loss_at=datetime.now(UTC).isoformat())
    declared = polis.run("claim", "declare", *t, "--input", "-", stdin=json.dumps(loss))
    claim = declared["claim"]["id"]
    assert declared["insured_token"]
    photo = polis.var / "IMG_0001.jpg"
    photo.write_bytes(jpeg_bytes(datetime(2026, 3, 2, 10, 5, 0), offset="+01:00"))
    evidence = polis.run("claim", "evidence", "add", *t, claim, str(photo))
    assert evidence["captured_at"] == "2026-03-02T09:05:00Z"
    copy = polis.var / "copy.jpg"
    said = polis.run("claim", "evidence", "get", *t, claim, evidence["id"], "--output", str(copy))
    assert "verified" in said
    assert copy.read_bytes() == photo.read_bytes()
    polis.run("claim", "status", *t, claim, "under_assessment")
    assert polis.run("claim", "reserve", *t, claim, "1100", "--reason", "estimate")["reserve"] == (
        "1100.00"
    )
    facts = polis.write("facts.json", {"valuation": {"depreciation_rate": "0.2"}})
    preview = polis.run("claim", "offer", *t, claim, "--input", facts, "--dry-run")
    assert preview["settlement"]["indemnity"] == "810.00"
    offer = polis.run("claim", "offer", *t, claim, "--input", facts)
    assert offer["indemnity"] == "810.00"
    assert polis.run("claim", "accept", *t, claim)["status"] == "accepted"
    assert polis.run("claim", "pay", *t, claim, "810", "--reference", "VIR-1")["status"] == "paid"
    assert polis.run("claim", "status", *t, claim, "closed")["status"] == "closed"
    polis.run("claim", "recover", *t, claim, "50", "--reference", "R-1", "--source", "salvage")
    file = polis.run("claim", "show", *t, claim)
    assert file["totals"] == {
        "reserve": "0.00",
        "paid": "810.00",
        "recovered": "50.00",
        "incurred": "760.00",
    }
    assert file["offer"]["status"] == "accepted"
    listed = polis.run("claim", "list", *t, "--status", "closed")
    assert claim in listed


def test_an_illegal_transition_exits_1_naming_both_statuses(polis: Polis, account: Account) -> None:
    t = ("--tenant", account.tenant_id)
    policy = polis.run("policy", "register", *t, "--input", polis.write("p.json", policy_payload()))
    declared = polis.run(
        "claim", "declare", *t, "--input", polis.write("c.json", claim_payload(policy["id"]))
    )
    error = polis.run("claim", "status", *t, declared["claim"]["id"], "paid", code=1)
    assert "state.illegal_transition" in error
    assert "'declared'" in error
    assert "'paid'" in error


def test_bad_input_exits_2_with_one_line_naming_the_field(polis: Polis, account: Account) -> None:
    t = ("--tenant", account.tenant_id)
    bad = policy_payload(equipment={"perils": ["theft"], "period": {"start": "2026-01-01"}})
    error = polis.run("policy", "register", *t, "--input", polis.write("p.json", bad), code=2)
    assert len(error.strip().splitlines()) == 1
    assert "covers.equipment.period.end" in error
    unknown = polis.run("claim", "show", *t, "CLM-1999-000001", code=1)
    assert "claim.not_found" in unknown
    missing = polis.run("claim", "evidence", "add", *t, "CLM-1999-000001", "/nope.jpg", code=2)
    assert "no such file" in missing
    amount = polis.run("claim", "reserve", *t, "CLM-1999-000001", "lots", "--reason", "x", code=2)
    assert "amount" in amount
