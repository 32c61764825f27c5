"""The insurer's portfolio reads of the on-demand repository (a part of
:class:`polis.store.repositories_ondemand.SqlOnDemandRepository`; read-only; tenant ``None``: every
tenant, the operator's view)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from polis.store.tables_claims import ClaimLedgerRow, ClaimRow
from polis.store.tables_ondemand import (
    OnDemandLedgerRow,
    OnDemandSubscriptionRow,
    OnDemandWindowRow,
)

__all__ = ["SqlPortfolioRows"]


class SqlPortfolioRows:
    """Windows, ledger entries and claims of a portfolio's period."""

    _session: Session

    def _portfolio_window_ids(
        self, tenant_id: str | None, start: datetime, end: datetime, at: datetime
    ) -> Select[str]:
        """Windows with cover in ``[start, end)``, in force at ``at``, or an entry dated in
        ``[start, end)``."""
        w = OnDemandWindowRow
        dated = select(OnDemandLedgerRow.window_id).where(
            OnDemandLedgerRow.at >= start, OnDemandLedgerRow.at < end
        )
        if tenant_id is not None:
            dated = dated.where(OnDemandLedgerRow.tenant_id == tenant_id)
        query = select(w.id).where(
            or_(
                and_(w.starts_at < end, w.ends_at > start),
                and_(w.starts_at <= at, w.ends_at > at),
                w.id.in_(dated),
            )
        )
        return query if tenant_id is None else query.where(w.tenant_id == tenant_id)

    def portfolio_windows(
        self, tenant_id: str | None, start: datetime, end: datetime, at: datetime
    ) -> list[tuple[OnDemandWindowRow, str, Decimal]]:
        """``(window, product id, sum insured)`` of the windows of the portfolio's period."""
        ids = self._portfolio_window_ids(tenant_id, start, end, at)
        query = (
            select(
                OnDemandWindowRow,
                OnDemandSubscriptionRow.product_id,
                OnDemandSubscriptionRow.sum_insured,
            )
            .join(
                OnDemandSubscriptionRow,
                OnDemandSubscriptionRow.id == OnDemandWindowRow.subscription_id,
            )
            .where(OnDemandWindowRow.id.in_(ids))
            .order_by(OnDemandWindowRow.starts_at, OnDemandWindowRow.id)
        )
        return [(row, product, amount) for row, product, amount in self._session.execute(query)]

    def portfolio_entries(
        self, tenant_id: str | None, start: datetime, end: datetime, at: datetime
    ) -> list[OnDemandLedgerRow]:
        """Every ledger entry of the windows of :meth:`portfolio_windows`."""
        ids = self._portfolio_window_ids(tenant_id, start, end, at)
        query = select(OnDemandLedgerRow).where(OnDemandLedgerRow.window_id.in_(ids))
        return list(self._session.scalars(query.order_by(OnDemandLedgerRow.id)))

    def _portfolio_claims(
        self, tenant_id: str | None, start: datetime, end: datetime
    ) -> Select[str, str, str, datetime, str]:
        policies = (
            select(OnDemandWindowRow.policy_id, OnDemandWindowRow.subscription_id)
            .distinct()
            .subquery()
        )
        query = (
            select(
                ClaimRow.id,
                ClaimRow.tenant_id,
                OnDemandSubscriptionRow.product_id,
                ClaimRow.loss_at,
                ClaimRow.status,
            )
            .join(policies, policies.c.policy_id == ClaimRow.policy_id)
            .join(
                OnDemandSubscriptionRow,
                OnDemandSubscriptionRow.id == policies.c.subscription_id,
            )
            .where(ClaimRow.loss_at >= start, ClaimRow.loss_at < end)
        )
        return query if tenant_id is None else query.where(ClaimRow.tenant_id == tenant_id)

    def portfolio_claims(
        self, tenant_id: str | None, start: datetime, end: datetime
    ) -> list[tuple[str, str, str, datetime, str]]:
        """``(claim, tenant, product, loss instant, status)`` of the claims on on-demand policies
        with a loss in ``[start, end)``."""
        query = self._portfolio_claims(tenant_id, start, end).order_by(ClaimRow.id)
        return [(c, t, p, loss, status) for c, t, p, loss, status in self._session.execute(query)]

    def portfolio_claim_entries(
        self, tenant_id: str | None, start: datetime, end: datetime
    ) -> list[tuple[str, str, Decimal, datetime]]:
        """``(claim, kind, amount, at)`` of every ledger entry of :meth:`portfolio_claims`."""
        claims = self._portfolio_claims(tenant_id, start, end).with_only_columns(ClaimRow.id)
        query = (
            select(
                ClaimLedgerRow.claim_id,
                ClaimLedgerRow.kind,
                ClaimLedgerRow.amount,
                ClaimLedgerRow.at,
            )
            .where(ClaimLedgerRow.claim_id.in_(claims))
            .order_by(ClaimLedgerRow.id)
        )
        return [(c, kind, amount, at) for c, kind, amount, at in self._session.execute(query)]
