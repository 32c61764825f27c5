"""Certificates and signing keys of the on-demand repository (a part of
:class:`polis.store.repositories_ondemand.SqlOnDemandRepository`)."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from sqlalchemy import select
from sqlalchemy.orm import Session

from polis.store.repositories import insert_unless_taken
from polis.store.tables_ondemand import (
    OnDemandCertificatePdfRow,
    OnDemandCertificateRow,
    OnDemandSigningKeyRow,
)

__all__ = ["SqlCertificateRows"]

#: signing keys known to be stored, per engine (``has_signing_key``)
_KNOWN_SIGNING_KEYS: WeakKeyDictionary[object, set[str]] = WeakKeyDictionary()


class SqlCertificateRows:
    """Certificates, their PDFs and the signing keys."""

    _session: Session

    def certificate(
        self, tenant_id: str, number: str, *, for_update: bool = False
    ) -> OnDemandCertificateRow | None:
        query = select(OnDemandCertificateRow).where(
            OnDemandCertificateRow.number == number, OnDemandCertificateRow.tenant_id == tenant_id
        )
        return self._session.scalars(query.with_for_update() if for_update else query).first()

    def certificate_unscoped(self, number: str) -> OnDemandCertificateRow | None:
        return self._session.get(OnDemandCertificateRow, number)

    def certificates_of_window(self, window_id: str) -> list[OnDemandCertificateRow]:
        query = select(OnDemandCertificateRow).where(OnDemandCertificateRow.window_id == window_id)
        order = (OnDemandCertificateRow.issued_at, OnDemandCertificateRow.number)
        return list(self._session.scalars(query.order_by(*order)))

    def certificate_pdf(self, number: str) -> OnDemandCertificatePdfRow | None:
        return self._session.get(OnDemandCertificatePdfRow, number)

    def add_certificate_pdf(self, row: OnDemandCertificatePdfRow) -> bool:
        """Store a rendered PDF; ``False`` (nothing stored) when its certificate has one already."""
        return insert_unless_taken(self._session, row)

    def signing_key(self, key_id: str) -> OnDemandSigningKeyRow | None:
        return self._session.get(OnDemandSigningKeyRow, key_id)

    def has_signing_key(self, key_id: str) -> bool:
        """Whether ``key_id`` is stored. Signing keys are never deleted, so a key found once is
        remembered for the engine (one query per engine and key, not one per certificate)."""
        engine = self._session.get_bind()
        known = _KNOWN_SIGNING_KEYS.setdefault(engine, set())
        if key_id in known:
            return True
        if self.signing_key(key_id) is None:
            return False
        known.add(key_id)
        return True

    def add_signing_key(self, row: OnDemandSigningKeyRow) -> bool:
        """Store a public key unless its key id is stored already — maybe by a concurrent first
        activation that committed while this insert waited (``False`` then; nothing written)."""
        return insert_unless_taken(self._session, row)
