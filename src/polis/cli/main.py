"""``polis`` console script: the Typer app with every command registered."""

from __future__ import annotations

from polis.cli import (
    commands_admin,
    commands_advise,
    commands_batch,
    commands_calc,
    commands_claims,
    commands_ondemand,
    commands_portfolio,
    commands_rating,
    commands_server,
    commands_webhooks,
    commands_withdrawal,
    commands_worker,
)
from polis.cli.base import app

__all__ = ["app", "main"]

_REGISTERED = (
    commands_admin,
    commands_advise,
    commands_batch,
    commands_calc,
    commands_claims,
    commands_ondemand,
    commands_portfolio,
    commands_rating,
    commands_server,
    commands_webhooks,
    commands_withdrawal,
    commands_worker,
)


def main() -> None:
    """Console-script entrypoint."""
    app()
