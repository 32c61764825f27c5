"""On-demand cover from the shell: ``polis customer``, ``subscribe``, ``activate`` (the
certificate PDF written to a file), ``cover-status``, ``certificate verify``, ``calendar sync``,
``statement``, ``reminders run`` and ``windows expire``, on the test database."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from polis.cli import app
from polis.kernel.time import to_local, utc_now
from tests.e2e.accounts import Account
from tests.ondemand_fixtures import BUSINESS, seed

pytestmark = pytest.mark.db

runner = CliRunner()


class Polis:
    """``polis`` with the test database, the session signing key and private folders."""

    def __init__(self, database_url: str, var: Path) -> None:
        self.env = {
            "POLIS_DATABASE_URL": database_url,
            "POLIS_VAR_DIR": str(var),
            "POLIS_CERTIFICATE_SIGNING_KEY": seed(),
            "POLIS_MAIL_BACKEND": "file",
            "POLIS_MAIL_DIR": str(var / "mail"),
            "POLIS_PUBLIC_BASE_URL": "https://polis.example",
        }
        self.var = var

    def run(self, *args: str, code: int = 0, stdin: str | None = None) -> Any:
        result = runner.invoke(app, list(args), env=self.env, input=stdin)
        assert result.exit_code == code, result.output + result.stderr
        if code != 0 and not result.stdout.startswith("{"):
            return result.stderr
        return json.loads(result.stdout) if result.stdout.startswith(("{", "[")) else result.stdout

    def write(self, name: str, payload: object) -> str:
        path = self.var / name
        path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
        return str(path)


@pytest.fixture
def polis(database_url: str, tmp_path: Path) -> Polis:
    return Polis(database_url, tmp_path)


def _subscribed(polis: Polis, account: Account) -> tuple[str, str]:
    t = ("--tenant", account.tenant_id)
    customer = polis.run("customer", "create", *t, "--input", "-", stdin=json.dumps(BUSINESS))
    assert customer["status"] == "pending"
    assert polis.run("customer", "verify", *t, customer["id"])["status"] == "verified"
    body = {
        "customer_id": customer["id"],
        "product": "equipment-micro",
        "unit": "hour",
        "items": [{"ref": "camera-1", "description": "Canon EOS R6 kit"}],
        "risk": {"equipment": "camera"},
    }
    sub = polis.run("subscribe", *t, "--input", polis.write("sub.json", body))
    return customer["id"], sub["id"]


def test_activate_then_verify_the_certificate_from_the_shell(
    polis: Polis, account: Account
) -> None:
    t = ("--tenant", account.tenant_id)
    customer, sub = _subscribed(polis, account)
    printed = polis.run("activate", *t, "--subscription", sub, "--duration", "2h")
    assert "certificate  ATT-" in printed
    assert "price        " in printed
    number = printed.split("certificate  ")[1].split()[0]
    path = Path(printed.split("certificate  ")[1].split()[1])
    assert path == polis.var / "certificates" / account.tenant_id / f"{number}.pdf"
    assert path.read_bytes().startswith(b"%PDF")
    assert "https://polis.example/verify/" in printed
    assert polis.run("certificate", "verify", number)["status"] == "valid"
    assert polis.run("certificate", "verify", "--pdf", str(path))["status"] == "valid"
    later = (utc_now() + timedelta(hours=3)).isoformat()
    expired = polis.run("certificate", "verify", number, "--at", later, code=1)
    assert expired["status"] == "expired"
    assert polis.run("certificate", "verify", "ATT-2020-999999", code=1)["status"] == "unknown"
    status = polis.run("cover-status", *t, "camera-1")
    assert "camera-1: covered" in status
    as_json = polis.run("cover-status", *t, "camera-1", "--json")
    assert as_json["state"] == "covered"
    month = f"{to_local(utc_now()):%Y-%m}"
    out = polis.var / "statement.pdf"
    statement = polis.run(
        "statement", *t, "--customer", customer, "--month", month, "--pdf", str(out)
    )
    assert statement["totals"]["windows"] == 1
    assert out.read_bytes().startswith(b"%PDF")
    quiet = polis.run("statement", *t, "--customer", customer, "--month", "2020-01")
    assert quiet["totals"]["total"] == "0.00"


def test_bad_input_exits_2_and_refusals_exit_1(polis: Polis, account: Account) -> None:
    t = ("--tenant", account.tenant_id)
    bad = polis.run(
        "customer", "create", *t, "--input", "-", code=2,
        stdin=json.dumps(BUSINESS | {"siret": "73282932000075"}),
    )  # fmt: skip
    assert "customer.siret_invalid" in bad
    assert "siret" in bad
    customer = polis.run("customer", "create", *t, "--input", "-", stdin=json.dumps(BUSINESS))
    body = {"customer_id": customer["id"], "product": "equipment-micro", "unit": "hour",
            "items": [{"ref": "c", "description": "d"}], "risk": {"equipment": "camera"}}  # fmt: skip
    refused = polis.run("subscribe", *t, "--input", polis.write("s.json", body), code=1)
    assert "customer.not_verified" in refused
    _, sub = _subscribed(polis, account)
    gap = polis.run("activate", *t, "--subscription", sub, "--duration", "soon", code=2)
    assert "--duration" in gap
    other = polis.run("activate", "--tenant", "TEN-2020-000001", "--subscription", sub,
                      "--duration", "1h", code=1)  # fmt: skip
    assert "subscription.not_found" in other


def test_a_calendar_synced_from_the_shell_then_reminders_and_expiry(
    polis: Polis, account: Account
) -> None:
    t = ("--tenant", account.tenant_id)
    _, sub = _subscribed(polis, account)
    tomorrow = to_local(utc_now()).date() + timedelta(days=2)  # the day after tomorrow
    day = f"{tomorrow:%Y%m%d}"
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//FR\r\n"
        "BEGIN:VEVENT\r\nUID:shoot@t\r\nDTSTAMP:20250101T000000Z\r\n"
        f"DTSTART;TZID=Europe/Paris:{day}T090000\r\nDTEND;TZID=Europe/Paris:{day}T170000\r\n"
        "SUMMARY:Shoot\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:maybe@t\r\nDTSTAMP:20250101T000000Z\r\nSTATUS:TENTATIVE\r\n"
        f"DTSTART;TZID=Europe/Paris:{day}T180000\r\nDTEND;TZID=Europe/Paris:{day}T200000\r\n"
        "SUMMARY:Maybe\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    path = polis.write("cal.ics", ics)
    synced = polis.run("calendar", "sync", *t, "--subscription", sub, "--ics", path)
    assert [o["action"] for o in synced["operations"]] == ["open"]
    again = polis.run("calendar", "sync", *t, "--subscription", sub, "--ics", path)
    assert again["operations"] == []
    both = polis.run("calendar", "sync", *t, "--subscription", sub, code=2)
    assert "--ics" in both
    eve = tomorrow - timedelta(days=1)
    send_at = f"{eve:%Y-%m-%d}T20:00:00+00:00"  # less than 24 h before the tentative mission
    first = polis.run("reminders", "run", "--at", send_at)
    assert [s["mission"] for s in first["sent"] if s["mission"] == "maybe@t"] == [
        "maybe@t",
        "maybe@t",
    ]
    second = polis.run("reminders", "run", "--at", send_at)
    assert [s for s in second["sent"] if s["mission"] == "maybe@t"] == []
    assert list((polis.var / "mail").glob("*.eml"))
    assert "window(s) expired" in polis.run("windows", "expire")
