"""The ``polis`` Typer application, its sub-groups and shared helpers: serve, migrate, calculate, and manage tenants and API keys from the shell.

Errors are translated to exit codes here and only here: bad input → 2 with one line naming the
field on stderr; any other Polis error → 1.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from polis.config import Settings
from polis.kernel.errors import InvalidInput, PolisError

__all__ = [
    "InputOption",
    "apikey_app",
    "app",
    "audit_app",
    "calc_app",
    "db_app",
    "err",
    "out",
    "read_json_input",
    "run_guarded",
    "settings_of",
    "tenant_app",
]

app = typer.Typer(
    name="polis",
    help="Polis — open insurance core: price, sell, activate, certify and settle insurance.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
calc_app = typer.Typer(help="Public calculators (same JSON as the HTTP API).", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants (insurers, MGAs, brokers, partner platforms).")
apikey_app = typer.Typer(help="API keys of a tenant (the secret is shown once).")
audit_app = typer.Typer(help="The append-only, hash-chained audit log.")
for sub, name in (
    (db_app, "db"),
    (calc_app, "calc"),
    (tenant_app, "tenant"),
    (apikey_app, "apikey"),
    (audit_app, "audit"),
):
    sub.info.no_args_is_help = True
    app.add_typer(sub, name=name)

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

T = TypeVar("T")


def run_guarded(action: Callable[[], T]) -> T:
    """Run ``action``; turn Polis errors into one line on stderr and an exit code (2: bad input)."""
    try:
        return action()
    except InvalidInput as e:
        where = f" (field: {e.field})" if e.field else ""
        err.print(f"error [{e.code}]: {e.message}{where}", soft_wrap=True, markup=False)
        raise typer.Exit(2) from e
    except PolisError as e:
        where = f" (field: {e.field})" if e.field else ""
        err.print(f"error [{e.code}]: {e.message}{where}", soft_wrap=True, markup=False)
        raise typer.Exit(1) from e


def settings_of(ctx: typer.Context) -> Settings:
    settings = ctx.obj
    assert isinstance(settings, Settings)
    return settings


def read_json_input(source: str) -> Any:
    """The JSON request from a file path or ``-`` (stdin)."""
    if source == "-":
        text = sys.stdin.read()
    else:
        path = Path(source)
        if not path.is_file():
            raise InvalidInput(f"no such file: {source}", field="--input")
        text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidInput(
            f"not valid JSON (line {e.lineno}, column {e.colno}): {e.msg}", field="--input"
        ) from e


InputOption = Annotated[
    str, typer.Option("--input", "-i", help="request JSON file, or - for standard input")
]


@app.callback()
def _root(ctx: typer.Context) -> None:
    """Build the settings once (environment variables POLIS_*)."""
    ctx.obj = Settings()
