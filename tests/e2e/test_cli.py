"""The CLI through its runner (and once through the installed console script)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from polis import calc
from polis.cli import app

runner = CliRunner()


def test_a_claim_free_year_prints_final_095_from_stdin() -> None:
    result = runner.invoke(
        app, ["calc", "crm", "--input", "-"], input='{"start":"1.00","periods":[{"claims":[]}]}'
    )
    assert result.exit_code == 0, result.output
    assert '"final": "0.95"' in result.stdout


def test_the_cli_prints_the_same_json_as_the_python_calculator(tmp_path: Path) -> None:
    request = {
        "start": "1.00",
        "usage": "tournees",
        "periods": [{"claims": [{"responsibility": "partial"}]}],
    }
    source = tmp_path / "request.json"
    source.write_text(json.dumps(request))
    result = runner.invoke(app, ["calc", "crm", "--input", str(source)])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == calc.crm(request).model_dump(mode="json")


def test_a_malformed_request_exits_2_with_one_line_naming_the_field() -> None:
    bad = '{"periods":[{"claims":[{"responsibility":"maybe"}]}]}'
    result = runner.invoke(app, ["calc", "crm", "--input", "-"], input=bad)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "periods[0].claims[0].responsibility" in lines[0]


@pytest.mark.parametrize(("text", "field"), [("{oops", "--input"), ('{"start": 1, "x": 2}', "x")])
def test_bad_json_and_unknown_fields_exit_2(text: str, field: str) -> None:
    result = runner.invoke(app, ["calc", "crm", "--input", "-"], input=text)
    assert result.exit_code == 2
    assert f"field: {field}" in result.stderr


def test_a_missing_input_file_exits_2() -> None:
    result = runner.invoke(app, ["calc", "crm", "--input", "/nonexistent/request.json"])
    assert result.exit_code == 2
    assert "--input" in result.stderr


@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_the_result_can_be_plotted(tmp_path: Path, suffix: str) -> None:
    plot = tmp_path / f"crm{suffix}"
    request = '{"start":"1.00","periods":[{"claims":[{"responsibility":"full"}]},{"claims":[]},{"claims":[]}]}'
    result = runner.invoke(app, ["calc", "crm", "--input", "-", "--plot", str(plot)], input=request)
    assert result.exit_code == 0, result.output
    content = plot.read_bytes()
    assert content.startswith(b"\x89PNG") if suffix == ".png" else b"<svg" in content


def test_the_installed_console_script_works_on_a_pipe() -> None:
    script = shutil.which("polis", path=str(Path(sys.executable).parent))
    assert script is not None, "the polis console script is not installed in the environment"
    done = subprocess.run(
        [script, "calc", "crm", "--input", "-"],
        input='{"start":"1.00","periods":[{"claims":[]}]}',
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert '"final": "0.95"' in done.stdout
    bad = subprocess.run(
        [script, "calc", "crm", "--input", "-"],
        input='{"start":"9","periods":[]}',
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1
    assert "start" in bad.stderr


@pytest.mark.db
def test_tenants_and_keys_are_managed_from_the_shell(database_url: str) -> None:
    env = {"POLIS_DATABASE_URL": database_url}
    name = f"Courtier CLI {uuid.uuid4().hex[:8]}"
    created = runner.invoke(app, ["tenant", "create", name], env=env)
    assert created.exit_code == 0, created.output
    tenant_id = re.search(r"TEN-\d{4}-\d{6}", created.stdout)
    assert tenant_id is not None
    key = runner.invoke(
        app, ["apikey", "create", "--tenant", tenant_id.group(), "--label", "prod"], env=env
    )
    assert key.exit_code == 0, key.output
    secret = key.stdout.strip().splitlines()[-1]
    assert secret.startswith("polis_")
    listed = runner.invoke(app, ["apikey", "list", "--tenant", tenant_id.group()], env=env)
    assert "prod" in listed.stdout
    assert secret not in listed.stdout
    verify = runner.invoke(app, ["audit", "verify", "--tenant", tenant_id.group()], env=env)
    assert verify.exit_code == 0
    assert "intact" in verify.stdout
    duplicate = runner.invoke(app, ["tenant", "create", name], env=env)
    assert duplicate.exit_code == 1
    unknown = runner.invoke(app, ["apikey", "create", "--tenant", "TEN-1999-000001"], env=env)
    assert unknown.exit_code == 1
    assert "tenant" in unknown.stderr
