"""Claim use cases: declare, read, list, change status, set the reserve, read the history.

Each use case runs in one unit of work and commits once: the claim row, its ledger entries and its
audit entries are written together or not at all (a failure anywhere rolls everything back).
Every change appends an audit entry on the tenant's chain with ``entity_type="claim"`` and the
claim number as ``entity_id``; a claim's history is read back from those entries.

The status table lives in :mod:`polis.claims.lifecycle`. A plain status change
(:func:`change_status`) may not reach ``offer_made``, ``accepted``, ``contested`` or ``paid``: those
come with their own use case (:mod:`polis.services.claim_settlement`). Reaching a terminal status
(closed, refused, withdrawn) releases the outstanding reserve (a ledger entry) and withdraws a
pending offer.

The insured's access: each claim has a random secret token (256 bits, returned once at declaration;
only its SHA-256 is stored). The token opens that claim's insured view and nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from polis.calc._base import parse_request
from polis.claims import DeclarationCheck, check_declaration
from polis.claims.lifecycle import (
    ACTION_TARGETS,
    RESERVE_STATUSES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    ClaimStatus,
    RefusalReason,
    transition,
)
from polis.kernel.errors import Conflict, InvalidInput, NotFound
from polis.kernel.money import round_money
from polis.kernel.time import ensure_utc, local_midnight, utc_now
from polis.services import audit
from polis.services.policies import cover_terms_of
from polis.store.tables_claims import ClaimLedgerRow, ClaimRow
from polis.store.uow import UnitOfWork

__all__ = [
    "ClaimIn",
    "ClaimView",
    "DeclaredClaim",
    "HistoryEntry",
    "apply_status",
    "audit_data",
    "change_status",
    "claim_history",
    "claim_view",
    "declare_claim",
    "get_claim",
    "list_claims",
    "move_reserve",
    "parse_status",
    "record_claim_event",
    "require_claim",
    "require_claim_for_insured",
    "set_reserve",
]

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)]
AmountIn = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=2)]
_MAX_PAGE = 500


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClaimIn(_Strict):
    """``POST /v1/claims`` body, ``polis claim declare`` input and the web form."""

    policy_id: str = Field(min_length=1, max_length=20, examples=["POL-2026-000001"])
    cover_id: Identifier
    peril: Identifier = Field(examples=["theft", "accidental_damage", "glass"])
    loss_at: AwareDatetime = Field(description="ISO 8601 with an offset")
    description: str = Field(min_length=1, max_length=5000)
    estimated_amount: AmountIn
    circumstances: str = Field(default="", max_length=5000)


class ClaimView(_Strict):
    """A claim as handlers and API callers see it."""

    id: str
    policy_id: str
    cover_id: str
    peril: str
    loss_at: datetime
    declared_at: datetime
    description: str
    circumstances: str
    estimated_amount: Decimal
    status: ClaimStatus
    late: bool
    days_late: int
    declaration_deadline: datetime
    reserve: Decimal
    updated_at: datetime
    next_statuses: list[ClaimStatus] = Field(
        description="statuses reachable by a plain status change from here"
    )


class DeclaredClaim(_Strict):
    """The result of a declaration: the claim and the insured's secret (shown this once)."""

    claim: ClaimView
    insured_token: str
    insured_path: str


class HistoryEntry(_Strict):
    seq: int
    at: datetime
    actor: str
    action: str
    data: dict[str, Any]


def declare_claim(
    uow: UnitOfWork,
    tenant_id: str,
    payload: ClaimIn | dict[str, Any],
    actor: str,
    *,
    declared_at: datetime | None = None,
) -> DeclaredClaim:
    """Declare a loss on a policy's cover; a late declaration is flagged with its days late."""
    claim = parse_request(ClaimIn, payload)
    now = ensure_utc(declared_at, field="declared_at") if declared_at else utc_now()
    if ensure_utc(claim.loss_at, field="loss_at") > now:
        raise InvalidInput("the loss cannot be after its declaration", field="loss_at")
    with uow:
        terms = cover_terms_of(uow, tenant_id, claim.policy_id)
        deadlines = terms.cover_terms(claim.cover_id).declaration_deadlines
        check = check_declaration(deadlines, claim.peril, claim.loss_at, now)
        token = secrets.token_urlsafe(32)
        row = ClaimRow(
            id=str(uow.ids.next("CLM", now.year)),
            tenant_id=tenant_id,
            policy_id=terms.policy_id,
            cover_id=claim.cover_id,
            peril=claim.peril,
            loss_at=ensure_utc(claim.loss_at, field="loss_at"),
            declared_at=now,
            description=claim.description.strip(),
            circumstances=claim.circumstances.strip(),
            estimated_amount=round_money(claim.estimated_amount),
            status=ClaimStatus.DECLARED.value,
            late=check.late,
            days_late=(check.declared_on - check.due).days if check.late else 0,
            declaration_deadline=local_midnight(check.due + timedelta(days=1)),
            reserve=Decimal("0.00"),
            insured_token_hash=_token_hash(token),
            updated_at=now,
        )
        uow.claims.add(row)
        _audit(uow, row, actor, "claim.declared", now, _declared_data(row, check))
        view = claim_view(row)
        uow.commit()
    return DeclaredClaim(
        claim=view, insured_token=token, insured_path=f"/my/claims/{row.id}?token={token}"
    )


def get_claim(uow: UnitOfWork, tenant_id: str, claim_id: str) -> ClaimView:
    """The claim ``claim_id`` of ``tenant_id``; ``NotFound("claim.not_found")`` otherwise."""
    with uow:
        return claim_view(require_claim(uow, tenant_id, claim_id))


def list_claims(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    statuses: list[ClaimStatus] | None = None,
    open_only: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> list[ClaimView]:
    """The queue: late declarations first, then the oldest; filtered by status when asked."""
    if not 1 <= limit <= _MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {_MAX_PAGE}: {limit}", field="limit")
    wanted = set(statuses) if statuses else set(ClaimStatus)
    if open_only:
        wanted -= TERMINAL_STATUSES
    with uow:
        rows = uow.claims.list(
            tenant_id, statuses=sorted(s.value for s in wanted), limit=limit, offset=offset
        )
        return [claim_view(row) for row in rows]


def change_status(
    uow: UnitOfWork,
    tenant_id: str,
    claim_id: str,
    target: ClaimStatus | str,
    actor: str,
    *,
    reason: str = "",
    refusal_reason: RefusalReason | str | None = None,
) -> ClaimView:
    """Move a claim to ``target`` if the table allows it (``IllegalTransition`` otherwise)."""
    wanted = parse_status(target)
    with uow:
        row = require_claim(uow, tenant_id, claim_id, for_update=True)
        transition(ClaimStatus(row.status), wanted)  # IllegalTransition first (HTTP 409)
        if wanted in ACTION_TARGETS:
            raise InvalidInput(
                f"a claim reaches {wanted.value!r} only when you {ACTION_TARGETS[wanted]}",
                field="status",
            )
        refusal = _refusal(refusal_reason) if wanted is ClaimStatus.REFUSED else None
        extra = {"refusal_reason": refusal.value} if refusal else {}
        why = _text(reason, "reason", 500)
        apply_status(uow, row, wanted, actor, **({"reason": why} if why else {}), **extra)
        view = claim_view(row)
        uow.commit()
    return view


def set_reserve(
    uow: UnitOfWork, tenant_id: str, claim_id: str, amount: Decimal, reason: str, actor: str
) -> ClaimView:
    """Set the outstanding reserve to ``amount`` (a ledger entry of the change, with its reason)."""
    new = round_money(amount)
    if new < 0:
        raise InvalidInput("a reserve cannot be negative", field="amount")
    why = _text(reason, "reason", 200, required=True)
    with uow:
        row = require_claim(uow, tenant_id, claim_id, for_update=True)
        if ClaimStatus(row.status) not in RESERVE_STATUSES:
            raise Conflict(
                f"claim {row.id} is {row.status}: reopen it to change its reserve",
                field="status",
                code="claim.not_open",
            )
        move_reserve(uow, row, new, why, actor)
        view = claim_view(row)
        uow.commit()
    return view


def claim_history(uow: UnitOfWork, tenant_id: str, claim_id: str) -> list[HistoryEntry]:
    """Every audited change of the claim, oldest first."""
    with uow:
        require_claim(uow, tenant_id, claim_id)
        rows = uow.audit.list_for_entity(tenant_id, "claim", claim_id.strip())
        return [
            HistoryEntry(
                seq=r.seq, at=r.at, actor=r.actor, action=r.action, data=audit_data(r.data)
            )
            for r in rows
        ]


# --- steps shared with the other claim use cases (inside an open unit of work) -----------------


def require_claim(
    uow: UnitOfWork, tenant_id: str, claim_id: str, *, for_update: bool = False
) -> ClaimRow:
    """The claim of ``tenant_id``; another tenant's claim is not found, exactly like a missing one."""
    row = uow.claims.get(tenant_id, claim_id.strip(), for_update=for_update)
    if row is None:
        raise NotFound(f"no claim {claim_id!r}", field="claim_id", code="claim.not_found")
    return row


def require_claim_for_insured(
    uow: UnitOfWork, claim_id: str, token: str, *, for_update: bool = False
) -> ClaimRow:
    """The claim whose insured token is ``token``; a wrong token is a missing claim."""
    row = uow.claims.get_unscoped(claim_id.strip(), for_update=for_update)
    expected = row.insured_token_hash if row is not None else "0" * 64
    if row is None or not hmac.compare_digest(expected, _token_hash(token)):
        raise NotFound(f"no claim {claim_id!r}", field="claim_id", code="claim.not_found")
    return row


def apply_status(
    uow: UnitOfWork, row: ClaimRow, target: ClaimStatus, actor: str, **data: Any
) -> None:
    """Move ``row`` to ``target`` through the table; audit it; on a terminal status release the
    reserve and withdraw a pending offer."""
    current = ClaimStatus(row.status)
    transition(current, target)
    now = utc_now()
    row.status, row.updated_at = target.value, now
    uow.claims.add(row)
    _audit(uow, row, actor, "claim.status_changed", now, {"from": current, "to": target, **data})
    if target in TERMINAL_STATUSES:
        offer = uow.offers.latest(row.tenant_id, row.id)
        if offer is not None and offer.status == "pending":
            offer.status = "withdrawn"
        if row.reserve != 0:
            move_reserve(uow, row, Decimal("0.00"), f"released: claim {target.value}", actor)
    elif target is ClaimStatus.UNDER_ASSESSMENT:
        offer = uow.offers.latest(row.tenant_id, row.id)
        if offer is not None and offer.status == "pending":
            offer.status = "withdrawn"


def move_reserve(uow: UnitOfWork, row: ClaimRow, new: Decimal, reason: str, actor: str) -> None:
    """Record a reserve change (signed delta and the level after it) and audit it."""
    old = row.reserve
    now = utc_now()
    row.reserve, row.updated_at = new, now
    uow.claims.add(row)
    uow.ledger.append(
        ClaimLedgerRow(
            tenant_id=row.tenant_id,
            claim_id=row.id,
            kind="reserve_change",
            amount=new - old,
            reserve_after=new,
            reason=reason[:200],
            reference=None,
            at=now,
            actor=actor,
        )
    )
    _audit(uow, row, actor, "claim.reserve_set", now, {"from": old, "to": new, "reason": reason})


def claim_view(row: ClaimRow) -> ClaimView:
    status = ClaimStatus(row.status)
    return ClaimView(
        id=row.id,
        policy_id=row.policy_id,
        cover_id=row.cover_id,
        peril=row.peril,
        loss_at=row.loss_at,
        declared_at=row.declared_at,
        description=row.description,
        circumstances=row.circumstances,
        estimated_amount=row.estimated_amount,
        status=status,
        late=row.late,
        days_late=row.days_late,
        declaration_deadline=row.declaration_deadline,
        reserve=row.reserve,
        updated_at=row.updated_at,
        next_statuses=sorted(t for t in TRANSITIONS[status] if t not in ACTION_TARGETS),
    )


def audit_data(text: str) -> dict[str, Any]:
    """The ``data`` of an audit row as a dict."""
    value = json.loads(text)
    return value if isinstance(value, dict) else {"value": value}


def record_claim_event(
    uow: UnitOfWork, row: ClaimRow, actor: str, action: str, **data: Any
) -> None:
    """Append ``action`` to the claim's history (the tenant's audit chain)."""
    _audit(uow, row, actor, action, utc_now(), data)


def _audit(
    uow: UnitOfWork, row: ClaimRow, actor: str, action: str, at: datetime, data: dict[str, Any]
) -> None:
    audit.record(
        uow,
        tenant_id=row.tenant_id,
        actor=actor,
        action=action,
        entity_type="claim",
        entity_id=row.id,
        data={k: _jsonable(v) for k, v in data.items()},
        at=at,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, ClaimStatus):
        return value.value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _declared_data(row: ClaimRow, check: DeclarationCheck) -> dict[str, Any]:
    return {
        "policy_id": row.policy_id,
        "cover_id": row.cover_id,
        "peril": row.peril,
        "loss_at": row.loss_at,
        "estimated_amount": row.estimated_amount,
        "late": row.late,
        "days_late": row.days_late,
        "due": check.due.isoformat(),
        "deadline": check.explanation,
    }


def parse_status(value: ClaimStatus | str) -> ClaimStatus:
    """A status from its value; ``InvalidInput`` listing the statuses otherwise."""
    try:
        return ClaimStatus(value)
    except ValueError as e:
        allowed = ", ".join(s.value for s in ClaimStatus)
        raise InvalidInput(f"unknown status {value!r} (one of: {allowed})", field="status") from e


def _refusal(value: RefusalReason | str | None) -> RefusalReason:
    allowed = ", ".join(r.value for r in RefusalReason)
    if value is None or value == "":
        raise InvalidInput(f"a refusal needs a reason code ({allowed})", field="refusal_reason")
    try:
        return RefusalReason(value)
    except ValueError as e:
        raise InvalidInput(
            f"unknown refusal reason {value!r} (one of: {allowed})", field="refusal_reason"
        ) from e


def _text(value: str, field: str, max_length: int, *, required: bool = False) -> str:
    text = value.strip()
    if len(text) > max_length or (required and not text):
        raise InvalidInput(
            f"{field} must have {int(required)} to {max_length} characters", field=field
        )
    return text


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()
