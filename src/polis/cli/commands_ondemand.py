"""On-demand micro-policies from the shell: onboard and verify customers, subscribe, activate
cover (the certificate PDF written to a file), cover status, verify certificates, sync calendars,
monthly statements, and the jobs (reminders, expiry events).

Every command runs one use case on the database of ``POLIS_DATABASE_URL`` (actor ``cli``) and
prints its result as JSON (the HTTP API's shapes), except ``activate`` and ``cover-status`` which
print a few readable lines. Bad input exits 2 naming the field; refusals and conflicts exit 1.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer
from pydantic import BaseModel, TypeAdapter, ValidationError

from polis.cli.base import InputOption, app, out, read_json_input, run_guarded, settings_of
from polis.config import Settings
from polis.kernel.errors import InvalidInput
from polis.kernel.time import parse_instant, utc_now
from polis.notify.mail import mail_sender_from_settings
from polis.ondemand.customers import VerificationStatus
from polis.ondemand.triggers_calendar import MissionAcceptance
from polis.policies.certificate import Insurer
from polis.services import (
    ondemand_billing,
    ondemand_certificates,
    ondemand_customers,
    ondemand_subscriptions,
    ondemand_windows,
    triggers,
)
from polis.services.ondemand_certificates import CertificateIssuer
from polis.services.signing_keys import certificate_signer
from polis.services.triggers import CalendarIn, FetchLimits
from polis.store import SqlUnitOfWork, make_engine, session_factory

__all__ = [
    "calendar_app",
    "certificate_app",
    "customer_app",
    "reminders_app",
    "windows_app",
    "write_certificate",
]

T = TypeVar("T")
ACTOR = "cli"

customer_app = typer.Typer(help="On-demand customers: onboarding (SIREN/SIRET) and verification.")
certificate_app = typer.Typer(help="Certificates of insurance: verify by number or PDF.")
calendar_app = typer.Typer(help="Calendars of missions that switch cover on and off.")
reminders_app = typer.Typer(help="Reminders for missions without cover (a job to run often).")
windows_app = typer.Typer(help="Jobs on cover windows.")
for sub, name in (
    (customer_app, "customer"),
    (certificate_app, "certificate"),
    (calendar_app, "calendar"),
    (reminders_app, "reminders"),
    (windows_app, "windows"),
):
    sub.info.no_args_is_help = True
    app.add_typer(sub, name=name)

TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="tenant id (TEN-YYYY-NNNNNN)")]
AtOption = Annotated[
    str | None, typer.Option("--at", help="ISO 8601 instant with an offset (default: now)")
]


def _run(ctx: typer.Context, use_case: Callable[[SqlUnitOfWork], T]) -> T:
    """Run one use case on a fresh unit of work; errors become exit codes."""
    engine = make_engine(settings_of(ctx).database_url)
    try:
        return run_guarded(lambda: use_case(SqlUnitOfWork(session_factory(engine))))
    finally:
        engine.dispose()


def _emit(model: BaseModel | Sequence[BaseModel] | dict[str, Any]) -> None:
    if isinstance(model, dict):
        sys.stdout.write(json.dumps(model, indent=2, ensure_ascii=False) + "\n")
    elif isinstance(model, BaseModel):
        sys.stdout.write(model.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write("[" + ",".join(m.model_dump_json() for m in model) + "]\n")


def _issuer(settings: Settings) -> CertificateIssuer:
    return run_guarded(
        lambda: CertificateIssuer(
            certificate_signer(settings),
            settings.public_base_url,
            Insurer(settings.insurer_name, settings.insurer_address, settings.insurer_registration),
        )
    )


def _instant(text: str | None, field: str) -> datetime | None:
    return None if text is None else run_guarded(lambda: parse_instant(text, field=field))


_SHORT_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(d|h|min|m)$")


def parse_duration(text: str) -> timedelta:
    """``2h``, ``90min``, ``1d`` or ISO 8601 (``PT2H``)."""
    match = _SHORT_DURATION.match(text.strip().lower())
    if match:
        value, unit = float(match.group(1)), match.group(2)
        return (
            timedelta(days=value)
            if unit == "d"
            else (timedelta(hours=value) if unit == "h" else timedelta(minutes=value))
        )
    try:
        return TypeAdapter(timedelta).validate_python(text.strip())
    except ValidationError as e:
        raise InvalidInput(
            f"not a duration (2h, 90min, 1d or PT2H): {text!r}", field="--duration"
        ) from e


def write_certificate(directory: Path, number: str, pdf: bytes) -> Path:
    """Write ``<directory>/<number>.pdf`` atomically (temporary file, fsync, rename)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{number}.pdf"
    temporary = directory / f".{number}.pdf.{os.getpid()}.tmp"
    try:
        with temporary.open("wb") as handle:
            handle.write(pdf)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


# --- customers and subscriptions ------------------------------------------------------------------


@customer_app.command("create")
def customer_create(ctx: typer.Context, tenant: TenantOption, source: InputOption) -> None:
    """Onboard a customer from JSON (kind, name, activity, address, siren/siret, email)."""
    payload = run_guarded(lambda: read_json_input(source))
    _emit(_run(ctx, lambda uow: ondemand_customers.create_customer(uow, tenant, payload, ACTOR)))


@customer_app.command("verify")
def customer_verify(
    ctx: typer.Context,
    tenant: TenantOption,
    customer_id: Annotated[str, typer.Argument(help="CUS-YYYY-NNNNNN")],
    reject: Annotated[
        str | None, typer.Option("--reject", help="reject instead, with this reason")
    ] = None,
    pending: Annotated[bool, typer.Option("--pending", help="back to pending")] = False,
) -> None:
    """Verify a customer's identity (or reject it, or send it back to pending)."""
    status = (
        VerificationStatus.REJECTED
        if reject
        else VerificationStatus.PENDING
        if pending
        else VerificationStatus.VERIFIED
    )
    body = {"status": status.value, "reason": reject}
    _emit(
        _run(
            ctx,
            lambda uow: ondemand_customers.set_verification(uow, tenant, customer_id, body, ACTOR),
        )
    )


@customer_app.command("show")
def customer_show(
    ctx: typer.Context,
    tenant: TenantOption,
    customer_id: Annotated[str, typer.Argument(help="CUS-YYYY-NNNNNN")],
) -> None:
    """A customer, its status and its limits."""
    _emit(_run(ctx, lambda uow: ondemand_customers.get_customer(uow, tenant, customer_id)))


@app.command("subscribe")
def subscribe(ctx: typer.Context, tenant: TenantOption, source: InputOption) -> None:
    """Subscribe a verified customer to an on-demand product from JSON (customer_id, product,
    unit, items, sum_insured, deductible, risk, geofence_ref)."""
    payload = run_guarded(lambda: read_json_input(source))
    _emit(
        _run(
            ctx,
            lambda uow: ondemand_subscriptions.create_subscription(uow, tenant, payload, ACTOR),
        )
    )


# --- windows --------------------------------------------------------------------------------------


@app.command("activate")
def activate(
    ctx: typer.Context,
    tenant: TenantOption,
    subscription: Annotated[str, typer.Option("--subscription", "-s", help="SUB-YYYY-NNNNNN")],
    object_ref: Annotated[str | None, typer.Option("--object", help="insured item")] = None,
    start: Annotated[
        str | None, typer.Option(help="start (default now); no offset: Paris wall time")
    ] = None,
    end: Annotated[str | None, typer.Option(help="end (or --duration)")] = None,
    duration: Annotated[str | None, typer.Option(help="2h, 90min, 1d or PT2H")] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", help="where to write the PDF (default <var_dir>/certificates/<tenant>)"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the whole answer as JSON")] = False,
) -> None:
    """Activate cover now or scheduled: prints the window, the price and the certificate path."""
    settings = settings_of(ctx)
    issuer = _issuer(settings)
    body: dict[str, Any] = {"object_ref": object_ref, "start": start, "end": end}
    if duration is not None:
        body["duration"] = run_guarded(lambda: parse_duration(duration))
    result = _run(
        ctx,
        lambda uow: ondemand_windows.activate_window(
            uow, tenant, subscription, body, ACTOR, issuer=issuer
        ),
    )
    pdf, digest = _run(
        ctx, lambda uow: ondemand_certificates.certificate_pdf(uow, tenant, result.certificate)
    )
    directory = out_dir or settings.var_dir / "certificates" / tenant
    path = write_certificate(directory, result.certificate, pdf)
    if as_json:
        _emit(result.model_dump(mode="json") | {"certificate_path": str(path)})
        return
    window = result.window
    lines = [
        f"window       {window.id}  {window.object_ref}  ({window.phase})",
        f"period       {window.local_start} → {window.local_end}  ({window.duration_hours} h)",
        f"price        {result.price.total} EUR incl. taxes "
        f"(taxes {result.price.taxes}, excl. {result.price.excluding_taxes})",
        f"certificate  {result.certificate}  {path}",
        f"sha256       {digest}",
        f"verify       {result.links.get('verify_page', '')}",
    ]
    for line in lines:
        out.print(line, soft_wrap=True, markup=False)


@app.command("cover-status")
def cover_status(
    ctx: typer.Context,
    tenant: TenantOption,
    object_ref: Annotated[str, typer.Argument(help="insured item reference")],
    at: AtOption = None,
    subscription: Annotated[str | None, typer.Option("--subscription", "-s")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Covered / scheduled / not covered, now or at --at."""
    instant = _instant(at, "--at")
    view = _run(
        ctx,
        lambda uow: ondemand_windows.get_cover_status(
            uow, tenant, object_ref, at=instant, subscription_id=subscription
        ),
    )
    if as_json:
        _emit(view)
        return
    line = f"{view.object_ref}: {view.state} at {view.at.isoformat()}"
    if view.until:
        line += f", until {view.until.isoformat()}"
    if view.next_start:
        line += f", next start {view.next_start.isoformat()}"
    out.print(line, soft_wrap=True, markup=False)
    for window in [*view.current, *view.upcoming]:
        out.print(
            f"  {window.id}  {window.local_start} → {window.local_end}  {window.state}",
            soft_wrap=True,
            markup=False,
        )


@windows_app.command("expire")
def windows_expire(ctx: typer.Context) -> None:
    """Publish ``window.expired`` for every window whose end has passed (once each)."""
    count = _run(ctx, lambda uow: ondemand_windows.publish_expired(uow))
    out.print(f"{count} window(s) expired")


# --- certificates ---------------------------------------------------------------------------------


@certificate_app.command("verify")
def certificate_verify(
    ctx: typer.Context,
    number: Annotated[str | None, typer.Argument(help="ATT-YYYY-NNNNNN")] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="a certificate PDF to check")] = None,
    at: AtOption = None,
) -> None:
    """Verify a certificate by number or PDF: valid, not_yet_valid, expired, revoked, unknown or
    tampered (exit 1 unless valid)."""
    if (number is None) == (pdf is None):
        run_guarded(lambda: _refuse("give a certificate number or --pdf FILE (one of them)"))
    settings = settings_of(ctx)
    issuer = _issuer(settings)
    instant = _instant(at, "--at")
    if pdf is not None:
        if not pdf.is_file():
            run_guarded(lambda: _refuse(f"no such file: {pdf}", "--pdf"))
        data = pdf.read_bytes()
        view = _run(
            ctx,
            lambda uow: ondemand_certificates.verify_pdf(uow, issuer.signer, data, now=instant),
        )
    else:
        assert number is not None
        view = _run(
            ctx,
            lambda uow: ondemand_certificates.verify_number(
                uow, issuer.signer, number, now=instant
            ),
        )
    _emit(view)
    if view.status != "valid":
        raise typer.Exit(1)


def _refuse(message: str, field: str = "number") -> None:
    raise InvalidInput(message, field=field)


# --- calendar, statements, reminders -------------------------------------------------------------


@calendar_app.command("sync")
def calendar_sync(
    ctx: typer.Context,
    tenant: TenantOption,
    subscription: Annotated[str, typer.Option("--subscription", "-s", help="SUB-YYYY-NNNNNN")],
    ics: Annotated[Path | None, typer.Option("--ics", help="an ICS file")] = None,
    url: Annotated[str | None, typer.Option("--url", help="an ICS URL (http, https)")] = None,
    object_ref: Annotated[str | None, typer.Option("--object")] = None,
    margin_before: Annotated[int, typer.Option(help="minutes of cover before a mission")] = 0,
    margin_after: Annotated[int, typer.Option(help="minutes of cover after a mission")] = 0,
    tentative: Annotated[bool, typer.Option(help="tentative missions open cover too")] = False,
    allow_empty: Annotated[bool, typer.Option(help="apply a feed without any mission")] = False,
) -> None:
    """Sync a subscription item's cover with an ICS file or URL (twice: nothing changes)."""
    if (ics is None) == (url is None):
        run_guarded(lambda: _refuse("give --ics FILE or --url URL (one of them)", "--ics"))
    settings = settings_of(ctx)
    issuer = _issuer(settings)
    options = {
        "object_ref": object_ref,
        "margin_before_minutes": margin_before,
        "margin_after_minutes": margin_after,
        "acceptance": (
            MissionAcceptance.CONFIRMED_AND_TENTATIVE
            if tentative
            else MissionAcceptance.CONFIRMED_ONLY
        ).value,
        "allow_empty": allow_empty,
    }
    if ics is not None:
        if not ics.is_file():
            run_guarded(lambda: _refuse(f"no such file: {ics}", "--ics"))
        data = ics.read_bytes()
        settings_in = run_guarded(lambda: CalendarIn.model_validate(options))
        _emit(
            _run(
                ctx,
                lambda uow: triggers.import_ics(
                    uow,
                    tenant,
                    subscription,
                    data,
                    settings_in,
                    ACTOR,
                    issuer=issuer,
                    max_bytes=settings.calendar_max_bytes,
                ),
            )
        )
        return
    limits = FetchLimits(
        settings.calendar_fetch_timeout_seconds,
        settings.calendar_max_bytes,
        settings.calendar_fetch_allow_private,
    )
    _emit(
        _run(
            ctx,
            lambda uow: triggers.sync_calendar_url(
                uow,
                tenant,
                subscription,
                {**options, "url": url},
                ACTOR,
                issuer=issuer,
                limits=limits,
            ),
        )
    )


@app.command("statement")
def statement(
    ctx: typer.Context,
    tenant: TenantOption,
    customer: Annotated[str, typer.Option("--customer", "-c", help="CUS-YYYY-NNNNNN")],
    month: Annotated[str, typer.Option("--month", "-m", help="YYYY-MM (Europe/Paris)")],
    pdf: Annotated[Path | None, typer.Option("--pdf", help="also write the PDF here")] = None,
    lang: Annotated[Literal["fr", "en"] | None, typer.Option("--lang")] = None,
) -> None:
    """A customer's monthly statement as JSON (and as PDF with --pdf); a quiet month is 0.00."""
    data = _run(ctx, lambda uow: ondemand_billing.statement(uow, tenant, customer, month))
    if pdf is not None:
        document = _run(
            ctx,
            lambda uow: ondemand_billing.statement_pdf(uow, tenant, customer, month, lang=lang),
        )
        pdf.parent.mkdir(parents=True, exist_ok=True)
        pdf.write_bytes(document)
        data = {**data, "pdf": str(pdf), "pdf_sha256": hashlib.sha256(document).hexdigest()}
    _emit(data)


@reminders_app.command("run")
def reminders_run(ctx: typer.Context, at: AtOption = None) -> None:
    """Send the reminders due now (e-mail via POLIS_MAIL_BACKEND, webhook event reminder.due),
    each once."""
    settings = settings_of(ctx)
    sender = run_guarded(lambda: mail_sender_from_settings(settings))
    instant = _instant(at, "--at") or utc_now()
    _emit(_run(ctx, lambda uow: triggers.run_reminders(uow, sender, now=instant)))
