"""The audit log: hash-chained, append-only, one chain per tenant plus the ``"system"`` chain.

Each entry carries ``seq`` (1, 2, 3… within its chain), the hash of the previous entry
(``prev_hash``; 64 zeros for the first) and its own hash::

    hash = SHA-256 hex of  prev_hash + "\\n" + canonical_json({chain, seq, at, actor, action,
                                                               entity_type, entity_id, data})

where ``at`` is the ISO 8601 UTC instant with microseconds and ``canonical_json`` sorts keys and
drops whitespace. Changing, removing or reordering an entry breaks the chain from that entry on;
``verify_chain`` finds the first broken ``seq``. (Cutting the tail of a chain is not detectable from
the chain alone: anchor the head hash elsewhere when that matters.) The database refuses UPDATE and
DELETE on ``audit_log`` on top of this.

``record`` runs inside another use case's unit of work and never commits; if two transactions
append to the same chain at once on PostgreSQL, the second fails with
``Conflict("audit.concurrent_append")`` and its use case is rolled back (the chain never forks).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from polis.kernel.errors import Conflict, InvalidInput
from polis.kernel.time import ensure_utc, utc_now
from polis.store.tables import SYSTEM_CHAIN, AuditLogRow
from polis.store.uow import UnitOfWork

__all__ = [
    "CONTENTION",
    "GENESIS_HASH",
    "SYSTEM_CHAIN",
    "AuditEntry",
    "ChainReport",
    "canonical_json",
    "entry_hash",
    "list_entries",
    "record",
    "retrying",
    "verify_chain",
    "verify_entries",
]

#: ``prev_hash`` of the first entry of every chain.
GENESIS_HASH = "0" * 64
_MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit entry as read from (or written to) a chain."""

    chain: str
    seq: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    data: Mapping[str, Any]
    prev_hash: str
    hash: str
    tenant_id: str | None


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The result of verifying a chain: ``ok`` when every hash and link checks out."""

    chain: str
    entries: int
    ok: bool
    first_bad_seq: int | None


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace; values JSON cannot carry become strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    """``SHA-256(prev_hash + "\\n" + canonical_json(content of entry))`` in hex."""
    content = {
        "chain": entry.chain,
        "seq": entry.seq,
        "at": ensure_utc(entry.at, field="at").isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "action": entry.action,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "data": entry.data,
    }
    text = prev_hash + "\n" + canonical_json(content)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify_entries(entries: Iterable[AuditEntry]) -> int | None:
    """The ``seq`` of the first entry that breaks the chain, ``None`` when it is intact.

    ``entries`` are one chain in ``seq`` order. An entry breaks the chain when its ``seq`` is not
    the next number, when its ``prev_hash`` is not the previous entry's hash (64 zeros first), or
    when its ``hash`` does not match its content. Every entry is read, even after a break.
    """
    first_bad: int | None = None
    expected_seq, expected_prev = 1, GENESIS_HASH
    for entry in entries:
        intact = (
            entry.seq == expected_seq
            and entry.prev_hash == expected_prev
            and entry.hash == entry_hash(entry.prev_hash, entry)
        )
        if not intact and first_bad is None:
            first_bad = entry.seq
        expected_seq, expected_prev = entry.seq + 1, entry.hash
    return first_bad


def record(
    uow: UnitOfWork,
    *,
    tenant_id: str | None,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    data: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append an entry to the chain of ``tenant_id`` (``"system"`` when ``None``); no commit.

    Call it inside an open unit of work, in the same transaction as the change it records.
    ``data`` must never hold secrets.
    """
    chain = tenant_id if tenant_id is not None else SYSTEM_CHAIN
    head = uow.audit.head_for_append(chain)
    draft = AuditEntry(
        chain=chain,
        seq=1 if head is None else head[0] + 1,
        at=ensure_utc(at if at is not None else utc_now(), field="at"),
        actor=_bounded(actor, "actor", 100),
        action=_bounded(action, "action", 100),
        entity_type=_bounded(entity_type, "entity_type", 50),
        entity_id=_bounded(entity_id, "entity_id", 64),
        data=json.loads(canonical_json(dict(data or {}))),  # exactly what is stored and re-read
        prev_hash=GENESIS_HASH if head is None else head[1],
        hash="",
        tenant_id=tenant_id,
    )
    entry = replace(draft, hash=entry_hash(draft.prev_hash, draft))
    uow.audit.append(_to_row(entry))
    return entry


def verify_chain(uow: UnitOfWork, chain: str) -> ChainReport:
    """Recompute every hash of ``chain`` and report the first broken entry, if any."""
    with uow:
        count = 0

        def entries() -> Iterable[AuditEntry]:
            nonlocal count
            for row in uow.audit.iterate(chain):
                count += 1
                yield _to_entry(row)

        first_bad = verify_entries(entries())
    return ChainReport(chain=chain, entries=count, ok=first_bad is None, first_bad_seq=first_bad)


def list_entries(
    uow: UnitOfWork, chain: str, *, limit: int = 100, offset: int = 0
) -> list[AuditEntry]:
    """Entries of ``chain`` in ``seq`` order, ``limit`` (1…1000) at a time from ``offset``."""
    if not 1 <= limit <= _MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {_MAX_PAGE}: {limit}", field="limit")
    if offset < 0:
        raise InvalidInput(f"offset must not be negative: {offset}", field="offset")
    with uow:
        return [_to_entry(row) for row in uow.audit.list(chain, limit=limit, offset=offset)]


def _bounded(value: str, field: str, max_length: int) -> str:
    text = value.strip()
    if not 1 <= len(text) <= max_length:
        raise InvalidInput(f"{field} must have 1 to {max_length} characters", field=field)
    return text


def _to_row(entry: AuditEntry) -> AuditLogRow:
    return AuditLogRow(
        chain=entry.chain,
        tenant_id=entry.tenant_id,
        seq=entry.seq,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        entity_type=entry.entity_type,
        entity_id=entry.entity_id,
        data=canonical_json(entry.data),
        prev_hash=entry.prev_hash,
        hash=entry.hash,
    )


def _to_entry(row: AuditLogRow) -> AuditEntry:
    return AuditEntry(
        chain=row.chain,
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        data=json.loads(row.data),
        prev_hash=row.prev_hash,
        hash=row.hash,
        tenant_id=row.tenant_id,
    )


#: the code of a lost race on one audit chain (``SqlAuditRepository.append``)
CONTENTION = "audit.concurrent_append"
_ATTEMPTS = 6
T = TypeVar("T")


def retrying(run: Callable[[], T]) -> T:
    """Run a use case again when it lost a race on the tenant's audit chain (a writer that
    appended without the chain's lock; the loser was rolled back whole, so running it again is
    safe). Other errors, and the sixth loss in a row, go to the caller."""
    for attempt in range(_ATTEMPTS):
        try:
            return run()
        except Conflict as e:
            if e.code != CONTENTION or attempt == _ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.002, 0.02) * (attempt + 1))  # noqa: S311 - jitter
    raise AssertionError("unreachable")  # pragma: no cover
