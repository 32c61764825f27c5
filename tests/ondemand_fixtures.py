"""Data shared by the on-demand tests: tenants, verified customers, subscriptions, a signing key,
the API settings, and the times used (Europe/Paris wall clock → UTC)."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from polis.config import Settings
from polis.documents.signing import generate_private_key
from polis.ondemand.windows import local_instant
from polis.services import ondemand_customers, ondemand_subscriptions, tenants
from polis.services.ondemand_certificates import CertificateIssuer
from polis.services.ondemand_subscriptions import SubscriptionView
from polis.services.signing_keys import CertificateSigner, certificate_signer
from polis.store import SqlUnitOfWork

__all__ = [
    "ACTOR",
    "BUSINESS",
    "PERSON",
    "RISKS",
    "api_settings",
    "business",
    "issuer",
    "new_tenant",
    "paris",
    "seed",
    "subscribe",
    "utc",
    "verified_customer",
]

ACTOR = "test"

#: a business given by the SIRET of its establishment (Luhn-valid): SIREN 732829320
BUSINESS: dict[str, Any] = {
    "kind": "business",
    "name": "Studio Lumière SARL",
    "activity": "wedding photographer",
    "address": {"line1": "12 rue des Lilas", "postcode": "69003", "city": "Lyon"},
    "siret": "73282932000074",
    "email": "studio@lumiere.example",
}
PERSON: dict[str, Any] = {
    "kind": "person",
    "name": "Jeanne Martin",
    "activity": "amateur drone pilot",
    "address": {"line1": "3 allée des Pins", "postcode": "33000", "city": "Bordeaux"},
    "email": "jeanne@martin.example",
}

RISKS: dict[str, dict[str, Any]] = {
    "equipment-micro": {"equipment": "camera"},
    "event-liability-day": {"event": "photo_shoot", "attendees": 40},
    "warehouse-goods-day": {"goods": "dry_goods"},
    "delivery-rounds-weekend": {"vehicle": "bike"},
    "equipment-topup": {"equipment": "sound"},
}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Europe/Paris wall-clock time (first occurrence when ambiguous) as a UTC instant."""
    return local_instant(datetime(year, month, day, hour, minute), field="test")


@cache
def seed() -> str:
    """A signing key for the whole test session (base64 of the 32-byte seed)."""
    raw = generate_private_key().private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return base64.b64encode(raw).decode("ascii")


def issuer(base_url: str = "http://testserver") -> CertificateIssuer:
    """The certificate issuer of the tests (the session key)."""
    settings = Settings(database_url="sqlite://", certificate_signing_key=seed())
    signer: CertificateSigner = certificate_signer(settings)
    return CertificateIssuer(signer, base_url)


def api_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for an app under test: the session key, files under ``tmp_path``."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "log_format": "console",
        "var_dir": tmp_path / "var",
        "certificate_signing_key": seed(),
        "public_base_url": "http://testserver",
        "mail_backend": "file",
        "mail_dir": tmp_path / "mail",
        "webhook_worker_in_process": False,
    }
    return Settings(**(values | overrides))


def new_tenant(uow: SqlUnitOfWork) -> str:
    return tenants.create_tenant(uow, f"On demand {uuid.uuid4().hex[:12]}", actor=ACTOR).id


def business(**overrides: Any) -> dict[str, Any]:
    return BUSINESS | overrides


def verified_customer(
    uow: SqlUnitOfWork, tenant: str, now: datetime, payload: dict[str, Any] | None = None
) -> str:
    """A customer onboarded and verified at ``now``."""
    created = ondemand_customers.create_customer(uow, tenant, payload or BUSINESS, ACTOR, now=now)
    ondemand_customers.set_verification(uow, tenant, created.id, {}, ACTOR, now=now)
    return created.id


def subscribe(
    uow: SqlUnitOfWork,
    tenant: str,
    customer: str,
    now: datetime,
    product: str = "equipment-micro",
    **overrides: Any,
) -> SubscriptionView:
    """A subscription to ``product`` (one item ``camera-1`` unless told otherwise)."""
    payload: dict[str, Any] = {
        "customer_id": customer,
        "product": product,
        "unit": "hour",
        "items": [{"ref": "camera-1", "description": "Canon EOS R6 kit", "serial": "R6-0042"}],
        "risk": RISKS[product],
    } | overrides
    return ondemand_subscriptions.create_subscription(uow, tenant, payload, ACTOR, now=now)
