"""``polis withdraw``: the insured withdraws from an on-demand subscription (renonciation).

Prints the decision as JSON (the HTTP API's shape); ``--show`` prints the right and its deadline
without withdrawing. Out of time, a business customer or a second withdrawal exit 1 with the code.
"""

from __future__ import annotations

from typing import Annotated

import typer

from polis.cli.base import app, run_guarded, settings_of
from polis.kernel.time import parse_instant
from polis.services import ondemand_withdrawal
from polis.store import SqlUnitOfWork, make_engine, session_factory

__all__ = ["withdraw"]

ACTOR = "cli"


@app.command("withdraw")
def withdraw(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="tenant id (TEN-YYYY-NNNNNN)")],
    subscription: Annotated[str, typer.Argument(help="SUB-YYYY-NNNNNN")],
    reason: Annotated[str | None, typer.Option("--reason", help="optional")] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="ISO 8601 instant with an offset (default: now)")
    ] = None,
    show: Annotated[
        bool, typer.Option("--show", help="show the right and its deadline only")
    ] = False,
) -> None:
    """Withdraw from a subscription (L112-2-1 distance selling, L112-9 doorstep selling)."""
    engine = make_engine(settings_of(ctx).database_url)
    try:
        uow = SqlUnitOfWork(session_factory(engine))
        if show:
            terms = run_guarded(
                lambda: ondemand_withdrawal.get_withdrawal_terms(uow, tenant, subscription)
            )
            typer.echo(terms.model_dump_json(indent=2))
            return
        moment = None if at is None else run_guarded(lambda: parse_instant(at, field="--at"))
        view = run_guarded(
            lambda: ondemand_withdrawal.withdraw_subscription(
                uow, tenant, subscription, {"reason": reason}, ACTOR, now=moment
            )
        )
        typer.echo(view.model_dump_json(indent=2))
    finally:
        engine.dispose()
