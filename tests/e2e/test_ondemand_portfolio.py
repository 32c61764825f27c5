"""The insurer's portfolio end to end: ``GET /v1/portfolio`` (a tenant's own windows only), ``polis
portfolio report`` (one tenant, or every partner, table / JSON / plot) and the ``/portfolio`` page
(signed in with an API key, French by default, English available)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from polis.api import create_app
from polis.cli import app as cli
from polis.store import SqlUnitOfWork, make_engine, session_factory
from tests.e2e.accounts import Account
from tests.ondemand_fixtures import api_settings, issuer
from tests.portfolio_fixtures import LATER, book, claim, premium

pytestmark = pytest.mark.db

PERIOD = {"from": "2026-11-01", "to": "2026-12-01"}
runner = CliRunner()


def _stock(database_url: str, tenant: str, reserve: str | None = None) -> Decimal:
    """A tenant's book (and a claim reserved at ``reserve``); returns its written premium."""
    engine = make_engine(database_url)
    try:
        uow = SqlUnitOfWork(session_factory(engine))
        used = book(uow, tenant, issuer())
        if reserve is not None:
            claim(uow, tenant, used[0], reserve)
    finally:
        engine.dispose()
    return sum((premium(u) for u in used), Decimal(0))


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    application = create_app(api_settings(database_url, tmp_path))
    application.state.clock = lambda: LATER
    with TestClient(application) as client:
        yield client


@pytest.fixture
def stocked(database_url: str, account: Account, other_account: Account) -> Decimal:
    """``account`` without claims; ``other_account`` with one claim of 400 €."""
    _stock(database_url, other_account.tenant_id, reserve="400")
    return _stock(database_url, account.tenant_id)


# --- HTTP ------------------------------------------------------------------------------------


def test_a_tenant_reads_its_own_portfolio_and_never_another_tenants(
    api: TestClient, account: Account, other_account: Account, stocked: Decimal
) -> None:
    answer = api.get("/v1/portfolio", params=PERIOD, headers=account.headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["scope"], body["tenant_id"]) == ("tenant", account.tenant_id)
    (line,) = body["products"]
    assert (line["product"], line["exposure_hours"], line["activations"]) == (
        "equipment-micro",
        "8.00",
        2,
    )
    assert Decimal(line["written_premium"]) == stocked
    assert (line["claims"], line["incurred"], body["alerts"]) == (0, "0.00", [])
    assert body["partners"] == body["cells"] == []
    theirs = api.get("/v1/portfolio", params=PERIOD, headers=other_account.headers).json()
    assert theirs["total"]["incurred"] == "400.00"
    assert [a["product"] for a in theirs["alerts"]] == ["equipment-micro"]
    assert theirs["alerts"][0]["direction"] == "under_priced"


def test_the_portfolio_needs_a_key_names_a_bad_bound_and_is_documented(
    api: TestClient, account: Account
) -> None:
    assert api.get("/v1/portfolio").status_code == 401
    bad = api.get("/v1/portfolio", params={"from": "2026-13-01"}, headers=account.headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "from"
    empty = api.get("/v1/portfolio", headers=account.headers).json()
    assert (empty["products"], empty["total"]["loss_ratio"]) == ([], None)
    operation = api.get("/openapi.json").json()["paths"]["/v1/portfolio"]["get"]
    example = operation["responses"]["200"]["content"]["application/json"]["example"]
    assert example["alerts"][0]["credibility"] == "0.0304"
    assert {p["name"] for p in operation["parameters"]} == {"from", "to"}


# --- CLI -------------------------------------------------------------------------------------


def _polis(database_url: str, *args: str, code: int = 0) -> Any:
    at = ("--at", LATER.isoformat(), "--from", PERIOD["from"], "--to", PERIOD["to"])
    result = runner.invoke(
        cli, ["portfolio", "report", *at, *args], env={"POLIS_DATABASE_URL": database_url}
    )
    assert result.exit_code == code, result.output + result.stderr
    return result


def test_the_cli_reports_one_tenant_as_json_and_as_a_table(
    database_url: str, account: Account, stocked: Decimal
) -> None:
    body = json.loads(_polis(database_url, "--tenant", account.tenant_id, "--json").stdout)
    assert [p["product"] for p in body["products"]] == ["equipment-micro"]
    assert Decimal(body["total"]["written_premium"]) == stocked
    table = _polis(database_url, "--tenant", account.tenant_id).stdout
    assert "equipment-micro" in table
    assert "no price drift alert" in table
    unknown = _polis(database_url, "--tenant", "TEN-1999-000001", code=1)
    assert "tenant.not_found" in unknown.stderr


def test_the_operator_sees_every_partner_and_gets_the_alerts_and_the_plot(
    database_url: str, account: Account, other_account: Account, stocked: Decimal, tmp_path: Path
) -> None:
    body = json.loads(_polis(database_url, "--json").stdout)
    assert body["scope"] == "operator"
    partners = {p["partner"]: p for p in body["partners"]}
    assert partners[other_account.tenant_id]["incurred"] == "400.00"
    assert Decimal(partners[account.tenant_id]["written_premium"]) == stocked
    plot = tmp_path / "portfolio.svg"
    result = _polis(database_url, "--plot", str(plot), "--lang", "en")
    assert account.tenant_id in result.stdout
    assert other_account.tenant_id in result.stdout
    assert "all partners" in result.stdout
    assert plot.read_text().lstrip().startswith("<?xml")
    assert "Loss ratio" in plot.read_text()
    png = tmp_path / "portfolio.png"
    _polis(database_url, "--plot", str(png), "--json")
    assert png.read_bytes().startswith(b"\x89PNG")
    bad = _polis(database_url, "--plot", str(tmp_path / "p.pdf"), code=2)
    assert "--plot" in bad.stderr


# --- web -------------------------------------------------------------------------------------


def _signed_in(api: TestClient, account: Account) -> None:
    answer = api.post(
        "/claims/login",
        data={"api_key": account.key, "next": "/portfolio"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/portfolio"


def test_the_page_asks_to_sign_in_then_shows_the_tenants_own_portfolio(
    api: TestClient, account: Account, other_account: Account, stocked: Decimal
) -> None:
    anonymous = api.get("/portfolio", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/claims/login?next=/portfolio"
    _signed_in(api, account)
    page = api.get("/portfolio", params=PERIOD)
    assert page.status_code == 200
    html = page.text
    assert "Portefeuille à la demande" in html
    assert 'data-product="equipment-micro"' in html
    assert "8,00" in html  # the hours, French decimals
    assert 'id="no-alert"' in html
    assert "<svg" in html
    assert "incurred / earned premium" in html  # every figure explained
    assert other_account.tenant_id not in html


def test_the_page_shows_alerts_in_english_and_names_a_bad_period(
    api: TestClient, other_account: Account, stocked: Decimal
) -> None:
    _signed_in(api, other_account)
    api.get("/lang/en", follow_redirects=False)
    api.cookies.set("polis_lang", "en")
    html = api.get("/portfolio", params=PERIOD).text
    assert "On-demand portfolio" in html
    assert "under-priced" in html
    assert 'class="error alert"' in html
    bad = api.get("/portfolio", params={"from": "2026-12-01", "to": "2026-11-01"})
    assert bad.status_code == 422
    assert "<code>to</code>" in bad.text
