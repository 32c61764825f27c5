"""``polis policy …`` and ``polis claim …``: the policy register and the claim lifecycle.

Every command runs one use case on the database of ``POLIS_DATABASE_URL`` (actor ``cli``) and
prints its result as JSON (the same shapes as the HTTP API). Illegal transitions and other
conflicts exit 1; bad input exits 2 naming the field.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import BaseModel

from polis.cli.base import InputOption, app, out, read_json_input, run_guarded, settings_of
from polis.kernel.errors import InvalidInput
from polis.kernel.money import to_decimal
from polis.services import claim_evidence, claim_settlement, claim_views, claims, policies
from polis.services.claim_evidence import EvidenceStore
from polis.store import SqlUnitOfWork, make_engine, session_factory

__all__ = ["claim_app", "evidence_app", "policy_app"]

T = TypeVar("T")
ACTOR = "cli"

policy_app = typer.Typer(help="The policy register (the terms claims are settled on).")
claim_app = typer.Typer(help="Claims: declare, evidence, status, reserve, offer, pay, recover.")
evidence_app = typer.Typer(help="Photos and documents of a claim (SHA-256 checked on read).")
for sub in (policy_app, claim_app, evidence_app):
    sub.info.no_args_is_help = True
app.add_typer(policy_app, name="policy")
app.add_typer(claim_app, name="claim")
claim_app.add_typer(evidence_app, name="evidence")

TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="tenant id (TEN-YYYY-NNNNNN)")]
ClaimArg = Annotated[str, typer.Argument(help="claim number (CLM-YYYY-NNNNNN)")]
AmountArg = Annotated[str, typer.Argument(help="amount in euros, e.g. 1200.50")]


def _run(ctx: typer.Context, use_case: Callable[[SqlUnitOfWork], T]) -> T:
    """Run one use case on a fresh unit of work; errors become exit codes."""
    engine = make_engine(settings_of(ctx).database_url)
    try:
        return run_guarded(lambda: use_case(SqlUnitOfWork(session_factory(engine))))
    finally:
        engine.dispose()


def _store(ctx: typer.Context) -> EvidenceStore:
    settings = settings_of(ctx)
    return EvidenceStore(
        settings.evidence_root, settings.evidence_max_bytes, tuple(settings.evidence_types)
    )


def _emit(model: BaseModel | Sequence[BaseModel]) -> None:
    if not isinstance(model, BaseModel):
        text = "[" + ",".join(m.model_dump_json() for m in model) + "]"
        sys.stdout.write(text + "\n")
        return
    sys.stdout.write(model.model_dump_json(indent=2) + "\n")


def _amount(text: str) -> Decimal:
    return run_guarded(lambda: to_decimal(text.strip().replace(",", "."), field="amount"))


# --- policies -----------------------------------------------------------------------------------


@policy_app.command("register")
def policy_register(ctx: typer.Context, tenant: TenantOption, source: InputOption) -> None:
    """Register a policy from JSON (holder, product, product_version, covers)."""
    payload = run_guarded(lambda: read_json_input(source))
    _emit(_run(ctx, lambda uow: policies.register_policy(uow, tenant, payload, actor=ACTOR)))


@policy_app.command("show")
def policy_show(
    ctx: typer.Context,
    tenant: TenantOption,
    policy_id: Annotated[str, typer.Argument(help="POL-YYYY-NNNNNN")],
) -> None:
    """Print a policy and its terms."""
    _emit(_run(ctx, lambda uow: policies.get_policy(uow, tenant, policy_id)))


# --- claims -------------------------------------------------------------------------------------


@claim_app.command("declare")
def claim_declare(ctx: typer.Context, tenant: TenantOption, source: InputOption) -> None:
    """Declare a loss from JSON (policy_id, cover_id, peril, loss_at, description,
    estimated_amount, circumstances); prints the claim and the insured's token (shown once)."""
    payload = run_guarded(lambda: read_json_input(source))
    _emit(_run(ctx, lambda uow: claims.declare_claim(uow, tenant, payload, actor=ACTOR)))


@claim_app.command("list")
def claim_list(
    ctx: typer.Context,
    tenant: TenantOption,
    status: Annotated[list[str] | None, typer.Option("--status", help="repeatable")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="open claims only")] = False,
) -> None:
    """The queue: late declarations first, then the oldest."""
    wanted = run_guarded(lambda: [claims.parse_status(s) for s in status or []])
    rows = _run(
        ctx, lambda uow: claims.list_claims(uow, tenant, statuses=wanted, open_only=open_only)
    )
    for row in rows:
        late = f"  LATE +{row.days_late}d" if row.late else ""
        out.print(f"{row.id}  {row.status.value:<18} {row.declared_at:%Y-%m-%d}  {row.peril}{late}")


@claim_app.command("show")
def claim_show(ctx: typer.Context, tenant: TenantOption, claim_id: ClaimArg) -> None:
    """The whole file: claim, policy, evidence, offers, ledger, totals, history."""
    _emit(_run(ctx, lambda uow: claim_views.claim_file(uow, tenant, claim_id)))


@claim_app.command("status")
def claim_status(
    ctx: typer.Context,
    tenant: TenantOption,
    claim_id: ClaimArg,
    target: Annotated[str, typer.Argument(help="the new status, e.g. under_assessment")],
    reason: Annotated[str, typer.Option(help="why (kept in the history)")] = "",
    refusal_reason: Annotated[
        str | None, typer.Option(help="code when refusing, e.g. not_covered")
    ] = None,
) -> None:
    """Move a claim to another status (exit 1 when the transition table forbids it)."""
    _emit(
        _run(
            ctx,
            lambda uow: claims.change_status(
                uow, tenant, claim_id, target, ACTOR, reason=reason, refusal_reason=refusal_reason
            ),
        )
    )


@claim_app.command("reserve")
def claim_reserve(
    ctx: typer.Context,
    tenant: TenantOption,
    claim_id: ClaimArg,
    amount: AmountArg,
    reason: Annotated[str, typer.Option(help="why the reserve changes")],
) -> None:
    """Set the outstanding reserve (a ledger entry with its reason)."""
    value = _amount(amount)
    _emit(_run(ctx, lambda uow: claims.set_reserve(uow, tenant, claim_id, value, reason, ACTOR)))


@claim_app.command("offer")
def claim_offer(
    ctx: typer.Context,
    tenant: TenantOption,
    claim_id: ClaimArg,
    source: Annotated[
        str | None, typer.Option("--input", "-i", help="loss facts JSON file, or - (stdin)")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="compute only")] = False,
) -> None:
    """Make the settlement offer computed by the engine (loss facts optional)."""
    facts = run_guarded(lambda: read_json_input(source)) if source else {}
    if dry_run:
        _emit(_run(ctx, lambda uow: claim_settlement.preview_offer(uow, tenant, claim_id, facts)))
        return
    _emit(_run(ctx, lambda uow: claim_settlement.make_offer(uow, tenant, claim_id, facts, ACTOR)))


@claim_app.command("accept")
def claim_accept(ctx: typer.Context, tenant: TenantOption, claim_id: ClaimArg) -> None:
    """Record the insured's acceptance of the pending offer."""
    _emit(_run(ctx, lambda uow: claim_settlement.accept_offer(uow, tenant, claim_id, ACTOR)))


@claim_app.command("contest")
def claim_contest(
    ctx: typer.Context,
    tenant: TenantOption,
    claim_id: ClaimArg,
    reason: Annotated[str, typer.Option(help="why the insured contests")],
) -> None:
    """Record the insured's contest of the pending offer."""
    _emit(
        _run(ctx, lambda uow: claim_settlement.contest_offer(uow, tenant, claim_id, reason, ACTOR))
    )


@claim_app.command("pay")
def claim_pay(
    ctx: typer.Context,
    tenant: TenantOption,
    claim_id: ClaimArg,
    amount: AmountArg,
    reference: Annotated[str, typer.Option(help="payment reference (transfer id…)")],
) -> None:
    """Record a payment of the accepted indemnity."""
    value = _amount(amount)
    _emit(
        _run(
            ctx,
            lambda uow: claim_settlement.record_payment(
                uow, tenant, claim_id, value, reference, ACTOR
            ),
        )
    )


@claim_app.command("recover")
def claim_recover(
    ctx: typer.Context,
    tenant: TenantOption,
    claim_id: ClaimArg,
    amount: AmountArg,
    reference: Annotated[str, typer.Option(help="recovery reference")],
    source: Annotated[str, typer.Option(help="from whom (third party, salvage…)")] = "",
) -> None:
    """Record money recovered on a paid claim."""
    value = _amount(amount)
    _emit(
        _run(
            ctx,
            lambda uow: claim_settlement.record_recovery(
                uow, tenant, claim_id, value, reference, source, ACTOR
            ),
        )
    )


# --- evidence -----------------------------------------------------------------------------------


@evidence_app.command("add")
def evidence_add(
    ctx: typer.Context,
    tenant: TenantOption,
    claim_id: ClaimArg,
    path: Annotated[Path, typer.Argument(help="the photo or document")],
) -> None:
    """Store a photo or document for a claim (type by content, size limited, SHA-256 recorded)."""
    if not path.is_file():
        run_guarded(lambda: _missing(path))
    store = _store(ctx)
    with path.open("rb") as source:
        view = _run(
            ctx,
            lambda uow: claim_evidence.add_evidence(
                uow, store, tenant, claim_id, source, path.name, ACTOR
            ),
        )
    _emit(view)


@evidence_app.command("list")
def evidence_list(ctx: typer.Context, tenant: TenantOption, claim_id: ClaimArg) -> None:
    """The evidence of a claim, with hashes and capture times."""
    rows = _run(ctx, lambda uow: claim_evidence.list_evidence(uow, tenant, claim_id))
    _emit(rows)


@evidence_app.command("get")
def evidence_get(
    ctx: typer.Context,
    tenant: TenantOption,
    claim_id: ClaimArg,
    evidence_id: Annotated[str, typer.Argument(help="EVD-YYYY-NNNNNN")],
    output: Annotated[Path, typer.Option("--output", "-o", help="where to write the file")],
) -> None:
    """Write an evidence file after checking its SHA-256 (exit 1 if it was altered)."""
    store = _store(ctx)
    view, data = _run(
        ctx, lambda uow: claim_evidence.read_evidence(uow, store, tenant, claim_id, evidence_id)
    )
    output.write_bytes(data)
    out.print(f"{view.id} → {output} ({view.size} bytes, SHA-256 {view.sha256} verified)")


@evidence_app.command("sweep")
def evidence_sweep(ctx: typer.Context) -> None:
    """Remove evidence files that no record references (left by a crash), older than an hour."""
    store = _store(ctx)
    removed = _run(ctx, lambda uow: claim_evidence.sweep_orphans(uow, store))
    out.print(f"{len(removed)} orphan file(s) removed")


def _missing(path: Path) -> None:
    raise InvalidInput(f"no such file: {path}", field="path")
