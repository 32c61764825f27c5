"""``polis quote`` and ``polis products`` through the CLI runner."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from polis.cli import app
from polis.services.quotes import quote

runner = CliRunner()
HOME = {"dwelling": "apartment", "zone": "A", "rebuild_value": "100000", "contents_value": "20000"}
PACKAGED = Path(__file__).resolve().parents[2] / "src" / "polis" / "rating" / "data" / "taxes.toml"


def test_a_quote_from_a_file_prints_the_service_json(tmp_path: Path) -> None:
    source = tmp_path / "risk.json"
    source.write_text(json.dumps(HOME))
    result = runner.invoke(app, ["quote", "home", "--input", str(source), "--as-of", "2025-09-01"])
    assert result.exit_code == 0, result.output
    expected = quote("home", HOME, as_of=date(2025, 9, 1)).model_dump(mode="json")
    assert json.loads(result.stdout) == expected
    assert json.loads(result.stdout)["total_premium"] == "227.82"


def test_a_quote_from_stdin() -> None:
    risk = {"turnover": "8000000", "activity": "retail", "claim_free_years": 3}
    result = runner.invoke(
        app,
        ["quote", "professional-liability", "--input", "-", "--as-of", "2025-09-01"],
        input=json.dumps(risk),
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total_premium"] == "12358.42"


def test_a_bad_risk_field_exits_2_with_one_line_naming_it() -> None:
    result = runner.invoke(
        app, ["quote", "home", "--input", "-"], input=json.dumps(HOME | {"zone": "Z"})
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "risk.zone" in lines[0]


def test_an_unknown_product_exits_1_naming_it() -> None:
    result = runner.invoke(app, ["quote", "car", "--input", "-"], input="{}")
    assert result.exit_code == 1
    assert "product.not_found" in result.stderr


def test_a_bad_date_exits_2_naming_the_option() -> None:
    result = runner.invoke(
        app, ["quote", "home", "--input", "-", "--as-of", "soon"], input=json.dumps(HOME)
    )
    assert result.exit_code == 2
    assert "--as-of" in result.stderr


def test_a_tax_override_and_a_replacement_table_change_the_quote(tmp_path: Path) -> None:
    args = ["quote", "home", "--input", "-", "--as-of", "2025-09-01"]
    overridden = runner.invoke(
        app, [*args, "--tax-override", "contribution.fgti=0"], input=json.dumps(HOME)
    )
    assert overridden.exit_code == 0, overridden.output
    assert json.loads(overridden.stdout)["contributions"][0]["amount"] == "0.00"
    table = tmp_path / "taxes.toml"
    table.write_text(PACKAGED.read_text(encoding="utf-8").replace('"0.30"', '"0.20"'))
    replaced = runner.invoke(app, [*args, "--tax-table", str(table)], input=json.dumps(HOME))
    assert replaced.exit_code == 0, replaced.output
    assert json.loads(replaced.stdout)["taxes"][0]["rate"] == "0.20"
    bad = runner.invoke(app, [*args, "--tax-override", "nonsense"], input=json.dumps(HOME))
    assert bad.exit_code == 2


def test_products_list_shows_a_table_of_the_catalogue() -> None:
    result = runner.invoke(app, ["products", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for product_id in ("home", "stock-floating", "term-life-10", "equipment-micro"):
        assert product_id in result.stdout


def test_products_show_prints_the_terms_and_the_hash() -> None:
    result = runner.invoke(app, ["products", "show", "stock-floating"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["covers"][0]["basis"]["kind"] == "declarations"
    assert len(body["sha256"]) == 64
    missing = runner.invoke(app, ["products", "show", "car"])
    assert missing.exit_code == 1


def test_the_premium_calculator_is_on_the_command_line() -> None:
    request = {
        "line": "fire_private",
        "due_date": "2025-09-01",
        "pure": {"amount": "130"},
        "cat_nat": False,
        "contributions": [],
    }
    result = runner.invoke(app, ["calc", "premium", "--input", "-"], input=json.dumps(request))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total_premium"] == "169.00"
