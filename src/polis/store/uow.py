"""The unit of work: one transaction per use case, rolled back unless committed.

Usage in a service::

    with uow:
        uow.tenants.add(...)
        uow.commit()

Leaving the ``with`` block rolls back whatever was not committed (normal exit or exception), then
closes the session (cosmicpython ``unit_of_work.py``). A unit of work can be entered again after it
was left (each ``with`` opens a new session), but not while it is open.
"""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Self

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from polis.store.repositories import (
    ApiKeyRepository,
    AuditRepository,
    IdRepository,
    SqlApiKeyRepository,
    SqlAuditRepository,
    SqlIdRepository,
    SqlTenantRepository,
    TenantRepository,
    audit_clash,
)
from polis.store.repositories_claims import (
    ClaimRepository,
    EvidenceRepository,
    LedgerRepository,
    OfferRepository,
    PolicyRepository,
    SqlClaimRepository,
    SqlEvidenceRepository,
    SqlLedgerRepository,
    SqlOfferRepository,
    SqlPolicyRepository,
)
from polis.store.repositories_ondemand import OnDemandRepository, SqlOnDemandRepository
from polis.store.repositories_platform import (
    IdempotencyRepository,
    OutboxRepository,
    SqlIdempotencyRepository,
    SqlOutboxRepository,
    SqlWebhookRepository,
    WebhookRepository,
)

__all__ = ["SqlUnitOfWork", "UnitOfWork"]


class UnitOfWork(abc.ABC):
    """The contract the services use: repositories, ``commit()``, ``rollback()``."""

    tenants: TenantRepository
    api_keys: ApiKeyRepository
    audit: AuditRepository
    ids: IdRepository
    policies: PolicyRepository
    claims: ClaimRepository
    evidence: EvidenceRepository
    offers: OfferRepository
    ledger: LedgerRepository
    idempotency: IdempotencyRepository
    outbox: OutboxRepository
    webhooks: WebhookRepository
    ondemand: OnDemandRepository

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None:
        """Make the work done so far in this unit permanent."""

    @abc.abstractmethod
    def rollback(self) -> None:
        """Discard the work not committed yet."""


class SqlUnitOfWork(UnitOfWork):
    """A unit of work on a SQLAlchemy session from ``factory``."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        """The open session (only inside ``with``)."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use it in a `with` block")
        return self._session

    def __enter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("the unit of work is already open")
        session = self._factory()
        self._session = session
        self.tenants = SqlTenantRepository(session)
        self.api_keys = SqlApiKeyRepository(session)
        self.audit = SqlAuditRepository(session)
        self.ids = SqlIdRepository(session)
        self.policies = SqlPolicyRepository(session)
        self.claims = SqlClaimRepository(session)
        self.evidence = SqlEvidenceRepository(session)
        self.offers = SqlOfferRepository(session)
        self.ledger = SqlLedgerRepository(session)
        self.idempotency = SqlIdempotencyRepository(session)
        self.outbox = SqlOutboxRepository(session)
        self.webhooks = SqlWebhookRepository(session)
        self.ondemand = SqlOnDemandRepository(session)
        return super().__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            super().__exit__(exc_type, exc, traceback)
        finally:
            self.session.close()
            self._session = None

    def commit(self) -> None:
        try:
            self.session.commit()
        except IntegrityError as e:  # an audit append queued on PostgreSQL is checked here
            clash = audit_clash(e)
            if clash is None:
                raise
            raise clash from e

    def rollback(self) -> None:
        self.session.rollback()
