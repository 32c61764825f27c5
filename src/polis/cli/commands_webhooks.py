"""``polis webhooks …`` (endpoints, deliveries, replay, the delivery worker) and ``polis mail test``.

``polis webhooks deliver`` is the worker: it fans new outbox events out to endpoints and posts the
due deliveries, every ``--interval`` seconds until interrupted (``--once``: one round). Several
workers may run at once (each delivery attempt is claimed first). On the embedded SQLite default the
server runs the same loop in the background (``POLIS_WEBHOOK_WORKER_IN_PROCESS``).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel

from polis.api.routers.webhooks import worker_from_settings
from polis.cli.base import app, err, out, run_guarded, settings_of
from polis.kernel.errors import PolisError
from polis.kernel.time import parse_instant
from polis.notify.mail import mail_sender_from_settings
from polis.services import idempotency, webhooks
from polis.services.idempotency import IdempotentRequest
from polis.store import SqlUnitOfWork, make_engine, session_factory

__all__ = ["mail_app", "webhooks_app"]

T = TypeVar("T")
ACTOR = "cli"

webhooks_app = typer.Typer(help="Webhook endpoints, deliveries, replay and the delivery worker.")
mail_app = typer.Typer(help="E-mail (POLIS_MAIL_BACKEND: console, file or smtp).")
for sub, name in ((webhooks_app, "webhooks"), (mail_app, "mail")):
    sub.info.no_args_is_help = True
    app.add_typer(sub, name=name)

TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="tenant id (TEN-YYYY-NNNNNN)")]
EndpointArg = Annotated[str, typer.Argument(help="endpoint id (WHK-YYYY-NNNNNN)")]


def _run(ctx: typer.Context, use_case: Callable[[SqlUnitOfWork], T]) -> T:
    engine = make_engine(settings_of(ctx).database_url)
    try:
        return run_guarded(lambda: use_case(SqlUnitOfWork(session_factory(engine))))
    finally:
        engine.dispose()


def _emit(value: BaseModel | Sequence[BaseModel] | dict[str, Any]) -> None:
    if isinstance(value, BaseModel):
        sys.stdout.write(value.model_dump_json(indent=2) + "\n")
    elif isinstance(value, dict):
        sys.stdout.write(json.dumps(value, indent=2) + "\n")
    else:
        sys.stdout.write("[" + ",".join(v.model_dump_json() for v in value) + "]\n")


@webhooks_app.command("add")
def add(
    ctx: typer.Context,
    tenant: TenantOption,
    url: Annotated[str, typer.Option(help="the receiver's https:// URL")],
    event: Annotated[
        list[str] | None,
        typer.Option(help="event type, prefix (window.*) or *; repeat it; none: every event"),
    ] = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option(help="run once per key (a retried command prints the first answer)"),
    ] = None,
) -> None:
    """Register an endpoint; prints it with its signing secret (shown this once)."""
    events = event or []
    allow_private = settings_of(ctx).webhooks_allow_private

    def register(uow: SqlUnitOfWork) -> dict[str, Any]:
        def operation() -> tuple[int, Any]:
            created = webhooks.register_endpoint(
                uow, tenant, url=url, events=events, actor=ACTOR, allow_private=allow_private
            )
            return 201, created.model_dump(mode="json")

        if idempotency_key is None:
            return dict(operation()[1])
        call = IdempotentRequest(
            tenant_id=tenant,
            key=idempotency.check_key(idempotency_key),
            method="CLI",
            path="webhooks add",
            request_sha256=idempotency.fingerprint(
                json.dumps({"url": url, "events": sorted(events)}).encode()
            ),
        )
        executed = idempotency.execute(uow, call, operation, error_response=_no_store)
        return dict(executed.body)

    _emit(_run(ctx, register))


def _no_store(_: PolisError) -> None:
    return None


@webhooks_app.command("list")
def list_(ctx: typer.Context, tenant: TenantOption) -> None:
    """The tenant's endpoints (JSON)."""
    _emit(_run(ctx, lambda uow: webhooks.list_endpoints(uow, tenant)))


@webhooks_app.command("remove")
def remove(ctx: typer.Context, tenant: TenantOption, endpoint: EndpointArg) -> None:
    """Delete an endpoint (nothing more is sent to it)."""
    _run(ctx, lambda uow: webhooks.delete_endpoint(uow, tenant, endpoint, actor=ACTOR))
    out.print(f"endpoint [bold]{endpoint}[/bold] deleted")


@webhooks_app.command("deliveries")
def deliveries(
    ctx: typer.Context,
    tenant: TenantOption,
    endpoint: EndpointArg,
    status: Annotated[
        list[str] | None, typer.Option(help="pending, delivered, failed or dead; repeatable")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
) -> None:
    """An endpoint's deliveries, newest first (JSON)."""
    _emit(
        _run(
            ctx,
            lambda uow: webhooks.list_deliveries(
                uow, tenant, endpoint, statuses=status, limit=limit
            ),
        )
    )


@webhooks_app.command("replay")
def replay(
    ctx: typer.Context,
    tenant: TenantOption,
    delivery: Annotated[int, typer.Argument(help="delivery id")],
) -> None:
    """Queue one delivery again, due now (even if delivered or dead)."""
    _emit(_run(ctx, lambda uow: webhooks.replay_delivery(uow, tenant, delivery, actor=ACTOR)))


@webhooks_app.command("replay-since")
def replay_since(
    ctx: typer.Context,
    tenant: TenantOption,
    endpoint: EndpointArg,
    since: Annotated[str, typer.Option(help="ISO 8601 instant with an offset")],
) -> None:
    """Queue again every event since SINCE that the endpoint wants."""
    instant = run_guarded(lambda: parse_instant(since, field="--since"))
    _emit(_run(ctx, lambda uow: webhooks.replay_since(uow, tenant, endpoint, instant, actor=ACTOR)))


@webhooks_app.command("deliver")
def deliver(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="one round, then exit")] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="seconds between two rounds")] = 5.0,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="deliveries per round")] = 100,
) -> None:
    """Run the delivery worker: fan out new events, post due deliveries, retry with back-off."""
    settings = settings_of(ctx)
    engine = make_engine(settings.database_url)
    factory = session_factory(engine)
    worker = worker_from_settings(settings, lambda: SqlUnitOfWork(factory), limit=limit)
    try:
        if once:
            report = run_guarded(worker.run_once)
            _print_report(report)
            return
        with err.status("delivering webhooks (Ctrl-C to stop)…") as status:
            while True:
                report = run_guarded(worker.run_once)
                if not report.idle:
                    _print_report(report)
                status.update(
                    f"delivering webhooks every {interval:g} s (Ctrl-C to stop) — "
                    f"last round: {report.delivered} delivered, {report.retrying} retrying"
                )
                time.sleep(interval)
    except KeyboardInterrupt:
        err.print("stopped")
    finally:
        engine.dispose()


def _print_report(report: webhooks.DeliveryReport) -> None:
    out.print(
        f"events fanned out: {report.events_published} "
        f"(deliveries created: {report.deliveries_created}); "
        f"attempted: {report.attempted}, delivered: {report.delivered}, "
        f"retrying: {report.retrying}, dead: {report.dead}"
    )


@mail_app.command("test")
def mail_test(
    ctx: typer.Context,
    to: Annotated[str, typer.Option(help="recipient address")],
) -> None:
    """Send a test e-mail through the configured backend."""
    settings = settings_of(ctx)
    sender = run_guarded(lambda: mail_sender_from_settings(settings))
    run_guarded(
        lambda: sender.send(
            to,
            "Polis — test e-mail",
            "This is a test e-mail from Polis.\n\nCeci est un e-mail de test envoyé par Polis.\n",
            html="<p>This is a test e-mail from <strong>Polis</strong>.</p>"
            "<p>Ceci est un e-mail de test envoyé par <strong>Polis</strong>.</p>",
        )
    )
    where = f" (in {settings.mail_root})" if settings.mail_backend == "file" else ""
    err.print(f"test e-mail sent to {to} via {settings.mail_backend}{where}")
