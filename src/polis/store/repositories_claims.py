"""Repositories of policies and claims (contracts as ``Protocol``s, SQL implementations).

Tenant isolation is built into the queries: every lookup takes the tenant and filters on it, so a
claim of another tenant is simply not found. The one exception is
:meth:`ClaimRepository.get_unscoped`, for the insured's view, where the claim's own secret token
(checked by the service) stands in for the tenant.

Claims that are about to change are read with ``SELECT … FOR UPDATE`` (``for_update=True``): on
PostgreSQL two handlers changing the same claim queue on its row instead of both acting on the same
old status; on SQLite every write transaction holds the database lock already (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from polis.store.deferred import defer
from polis.store.tables_claims import (
    ClaimEvidenceRow,
    ClaimLedgerRow,
    ClaimOfferRow,
    ClaimRow,
    PolicyRow,
)

__all__ = [
    "ClaimRepository",
    "EvidenceRepository",
    "LedgerRepository",
    "OfferRepository",
    "PolicyRepository",
    "SqlClaimRepository",
    "SqlEvidenceRepository",
    "SqlLedgerRepository",
    "SqlOfferRepository",
    "SqlPolicyRepository",
]


class PolicyRepository(Protocol):
    def add(self, policy: PolicyRow) -> None: ...
    def get(self, tenant_id: str, policy_id: str) -> PolicyRow | None: ...
    def set_terms(self, tenant_id: str, policy_id: str, terms: str, terms_sha256: str) -> None: ...


class ClaimRepository(Protocol):
    def add(self, claim: ClaimRow) -> None: ...
    def get(
        self, tenant_id: str, claim_id: str, *, for_update: bool = False
    ) -> ClaimRow | None: ...
    def get_unscoped(self, claim_id: str, *, for_update: bool = False) -> ClaimRow | None: ...
    def list(
        self, tenant_id: str, *, statuses: Collection[str] | None, limit: int, offset: int
    ) -> list[ClaimRow]: ...


class EvidenceRepository(Protocol):
    def add(self, evidence: ClaimEvidenceRow) -> None: ...
    def get(self, tenant_id: str, claim_id: str, evidence_id: str) -> ClaimEvidenceRow | None: ...
    def find_by_hash(self, claim_id: str, sha256: str) -> ClaimEvidenceRow | None: ...
    def list(self, tenant_id: str, claim_id: str) -> list[ClaimEvidenceRow]: ...


class OfferRepository(Protocol):
    def add(self, offer: ClaimOfferRow) -> None: ...
    def latest(self, tenant_id: str, claim_id: str) -> ClaimOfferRow | None: ...
    def list(self, tenant_id: str, claim_id: str) -> list[ClaimOfferRow]: ...


class LedgerRepository(Protocol):
    def append(self, entry: ClaimLedgerRow) -> None: ...
    def list(self, tenant_id: str, claim_id: str) -> list[ClaimLedgerRow]: ...
    def for_cover(
        self,
        tenant_id: str,
        policy_id: str,
        cover_id: str,
        *,
        kinds: Collection[str],
        start: datetime,
        end: datetime,
    ) -> Sequence[ClaimLedgerRow]: ...


class _Sql:
    def __init__(self, session: Session) -> None:
        self._session = session


_POLICIES = cast(Table, PolicyRow.__table__)
#: the cover terms of a policy replaced in one statement (a Core statement built once: the row is
#: not loaded in the session, so there is nothing for the ORM to synchronise)
_SET_TERMS = (
    update(_POLICIES)
    .where(_POLICIES.c.id == bindparam("p"), _POLICIES.c.tenant_id == bindparam("t"))
    .values(terms=bindparam("terms"), terms_sha256=bindparam("sha"))
)


class SqlPolicyRepository(_Sql):
    def add(self, policy: PolicyRow) -> None:
        self._session.add(policy)
        self._session.flush()

    def get(self, tenant_id: str, policy_id: str) -> PolicyRow | None:
        query = select(PolicyRow).where(PolicyRow.id == policy_id, PolicyRow.tenant_id == tenant_id)
        return self._session.scalars(query).first()

    def set_terms(self, tenant_id: str, policy_id: str, terms: str, terms_sha256: str) -> None:
        """Replace the cover terms of a policy of the tenant known to exist, in one ``UPDATE`` sent
        with the next statement or at commit (``polis.store.deferred``)."""
        parameters = {"p": policy_id, "t": tenant_id, "terms": terms, "sha": terms_sha256}
        defer(self._session, _SET_TERMS, parameters)


class SqlClaimRepository(_Sql):
    def add(self, claim: ClaimRow) -> None:
        self._session.add(claim)
        self._session.flush()

    def get(self, tenant_id: str, claim_id: str, *, for_update: bool = False) -> ClaimRow | None:
        query = select(ClaimRow).where(ClaimRow.id == claim_id, ClaimRow.tenant_id == tenant_id)
        return self._session.scalars(query.with_for_update() if for_update else query).first()

    def get_unscoped(self, claim_id: str, *, for_update: bool = False) -> ClaimRow | None:
        query = select(ClaimRow).where(ClaimRow.id == claim_id)
        return self._session.scalars(query.with_for_update() if for_update else query).first()

    def list(
        self, tenant_id: str, *, statuses: Collection[str] | None, limit: int, offset: int
    ) -> list[ClaimRow]:
        """The queue order: late declarations first, then the oldest declaration first."""
        query = select(ClaimRow).where(ClaimRow.tenant_id == tenant_id)
        if statuses is not None:
            query = query.where(ClaimRow.status.in_(list(statuses)))
        order = (ClaimRow.late.desc(), ClaimRow.declared_at, ClaimRow.id)
        query = query.order_by(*order).limit(limit).offset(offset)
        return list(self._session.scalars(query))


class SqlEvidenceRepository(_Sql):
    def add(self, evidence: ClaimEvidenceRow) -> None:
        self._session.add(evidence)
        self._session.flush()

    def get(self, tenant_id: str, claim_id: str, evidence_id: str) -> ClaimEvidenceRow | None:
        query = select(ClaimEvidenceRow).where(
            ClaimEvidenceRow.id == evidence_id,
            ClaimEvidenceRow.claim_id == claim_id,
            ClaimEvidenceRow.tenant_id == tenant_id,
        )
        return self._session.scalars(query).first()

    def find_by_hash(self, claim_id: str, sha256: str) -> ClaimEvidenceRow | None:
        query = select(ClaimEvidenceRow).where(
            ClaimEvidenceRow.claim_id == claim_id, ClaimEvidenceRow.sha256 == sha256
        )
        return self._session.scalars(query).first()

    def list(self, tenant_id: str, claim_id: str) -> list[ClaimEvidenceRow]:
        query = select(ClaimEvidenceRow).where(
            ClaimEvidenceRow.claim_id == claim_id, ClaimEvidenceRow.tenant_id == tenant_id
        )
        return list(self._session.scalars(query.order_by(ClaimEvidenceRow.uploaded_at)))


class SqlOfferRepository(_Sql):
    def add(self, offer: ClaimOfferRow) -> None:
        self._session.add(offer)
        self._session.flush()

    def latest(self, tenant_id: str, claim_id: str) -> ClaimOfferRow | None:
        offers = self.list(tenant_id, claim_id)
        return offers[-1] if offers else None

    def list(self, tenant_id: str, claim_id: str) -> list[ClaimOfferRow]:
        """Oldest first (offer ids grow with time)."""
        query = select(ClaimOfferRow).where(
            ClaimOfferRow.claim_id == claim_id, ClaimOfferRow.tenant_id == tenant_id
        )
        return list(self._session.scalars(query.order_by(ClaimOfferRow.made_at, ClaimOfferRow.id)))


class SqlLedgerRepository(_Sql):
    def append(self, entry: ClaimLedgerRow) -> None:
        self._session.add(entry)
        self._session.flush()

    def list(self, tenant_id: str, claim_id: str) -> list[ClaimLedgerRow]:
        query = select(ClaimLedgerRow).where(
            ClaimLedgerRow.claim_id == claim_id, ClaimLedgerRow.tenant_id == tenant_id
        )
        return list(self._session.scalars(query.order_by(ClaimLedgerRow.id)))

    def for_cover(
        self,
        tenant_id: str,
        policy_id: str,
        cover_id: str,
        *,
        kinds: Collection[str],
        start: datetime,
        end: datetime,
    ) -> Sequence[ClaimLedgerRow]:
        """Entries of ``kinds`` on every claim of one cover of a policy, ``start <= at < end``."""
        query = (
            select(ClaimLedgerRow)
            .join(ClaimRow, ClaimRow.id == ClaimLedgerRow.claim_id)
            .where(
                ClaimLedgerRow.tenant_id == tenant_id,
                ClaimRow.policy_id == policy_id,
                ClaimRow.cover_id == cover_id,
                ClaimLedgerRow.kind.in_(list(kinds)),
                ClaimLedgerRow.at >= start,
                ClaimLedgerRow.at < end,
            )
        )
        return list(self._session.scalars(query.order_by(ClaimLedgerRow.id)))
