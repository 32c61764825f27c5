"""``polis tenant …``, ``polis apikey …``, ``polis audit …`` and ``polis demo``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from polis.cli.base import apikey_app, app, audit_app, out, run_guarded, settings_of, tenant_app
from polis.services import audit, tenants
from polis.store import SqlUnitOfWork, make_engine, session_factory

T = TypeVar("T")

TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="tenant id (TEN-YYYY-NNNNNN)")]


def _with_uow(ctx: typer.Context, use_case: Callable[[SqlUnitOfWork], T]) -> T:
    """Run one use case on a fresh unit of work; the engine is disposed afterwards."""
    engine = make_engine(settings_of(ctx).database_url)
    try:
        return run_guarded(lambda: use_case(SqlUnitOfWork(session_factory(engine))))
    finally:
        engine.dispose()


@tenant_app.command("create")
def tenant_create(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="the tenant's name")]
) -> None:
    """Create a tenant."""
    view = _with_uow(ctx, lambda uow: tenants.create_tenant(uow, name, actor="cli"))
    out.print(f"tenant [bold]{view.id}[/bold] created: {view.name}")


@tenant_app.command("list")
def tenant_list(ctx: typer.Context) -> None:
    """List tenants."""
    rows = _with_uow(ctx, tenants.list_tenants)
    table = Table("id", "name", "created (UTC)")
    for row in rows:
        table.add_row(row.id, row.name, row.created_at.isoformat(timespec="seconds"))
    out.print(table)


@apikey_app.command("create")
def apikey_create(
    ctx: typer.Context,
    tenant: TenantOption,
    label: Annotated[str, typer.Option(help="what the key is for")] = "default",
) -> None:
    """Create an API key for a tenant; the secret is printed once and never stored."""
    view, secret = _with_uow(
        ctx, lambda uow: tenants.create_api_key(uow, tenant, label, actor="cli")
    )
    out.print(f"API key [bold]{view.id}[/bold] for {tenant} ({view.label}); keep it now:")
    typer.echo(secret)


@apikey_app.command("list")
def apikey_list(ctx: typer.Context, tenant: TenantOption) -> None:
    """List a tenant's API keys (never their secrets)."""
    rows = _with_uow(ctx, lambda uow: tenants.list_api_keys(uow, tenant))
    table = Table("id", "label", "created (UTC)", "revoked")
    for row in rows:
        revoked = row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else ""
        table.add_row(row.id, row.label, row.created_at.isoformat(timespec="seconds"), revoked)
    out.print(table)


@apikey_app.command("revoke")
def apikey_revoke(
    ctx: typer.Context,
    tenant: TenantOption,
    key_id: Annotated[str, typer.Argument(help="key id (KEY-YYYY-NNNNNN)")],
) -> None:
    """Revoke an API key."""
    view = _with_uow(ctx, lambda uow: tenants.revoke_api_key(uow, tenant, key_id, actor="cli"))
    out.print(f"API key {view.id} revoked")


@audit_app.command("verify")
def audit_verify(ctx: typer.Context, tenant: TenantOption) -> None:
    """Recompute a tenant's audit hash chain; exit 1 if it is broken."""
    report = _with_uow(ctx, lambda uow: audit.verify_chain(uow, tenant))
    if report.ok:
        out.print(f"audit chain of {tenant}: {report.entries} entries, intact")
        return
    out.print(f"audit chain of {tenant} BROKEN at entry {report.first_bad_seq}")
    raise typer.Exit(1)


@app.command()
def demo(ctx: typer.Context) -> None:
    """Load the demo data (a demo tenant with an API key written to var/demo-api-key.txt)."""
    from polis.services.demo import load_demo

    settings = settings_of(ctx)
    result = _with_uow(ctx, load_demo)
    if result.api_key is not None:
        key_file = settings.var_dir / "demo-api-key.txt"
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(result.api_key + "\n", encoding="utf-8")
        key_file.chmod(0o600)
        out.print(f"demo tenant {result.tenant_id} ready; its API key is in {key_file}")
    else:
        out.print(f"demo tenant {result.tenant_id} already present")
