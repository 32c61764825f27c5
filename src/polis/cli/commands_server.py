"""``polis serve`` and ``polis db …``."""

from __future__ import annotations

from typing import Annotated

import typer

from polis.cli.base import app, db_app, out, run_guarded, settings_of
from polis.store import current_revision, downgrade, head_revision, upgrade


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="bind address (POLIS_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (POLIS_PORT)")] = None,
) -> None:
    """Start the server (HTTP API + web pages); migrates the embedded SQLite database first."""
    import uvicorn

    from polis.api import create_app
    from polis.logs import configure_logging

    settings = settings_of(ctx)
    updates = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = settings.model_copy(update=updates)
    configure_logging(settings.log_level, settings.log_format)
    shown_host = "localhost" if settings.host in {"127.0.0.1", "0.0.0.0"} else settings.host  # noqa: S104
    out.print(f"Polis is starting on [bold]http://{shown_host}:{settings.port}/[/bold]")
    out.print(f"  API docs:  http://{shown_host}:{settings.port}/docs")
    out.print(f"  Health:    http://{shown_host}:{settings.port}/health")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None)


@db_app.command("upgrade")
def db_upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Option(help="target revision")] = "head",
) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    url = settings_of(ctx).database_url
    run_guarded(lambda: upgrade(url, revision))
    out.print(f"database at revision [bold]{current_revision(url)}[/bold]")


@db_app.command("downgrade")
def db_downgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="target revision (base = empty)")],
) -> None:
    """Revert migrations down to REVISION."""
    url = settings_of(ctx).database_url
    run_guarded(lambda: downgrade(url, revision))
    out.print(f"database at revision [bold]{current_revision(url) or 'base'}[/bold]")


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Show the database's revision and the latest one."""
    url = settings_of(ctx).database_url
    out.print(f"current: {current_revision(url) or 'base (empty)'}  head: {head_revision()}")
