"""Data shared by the claim tests: a policy's terms, a claim, photos made on the fly."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image

from polis.api import create_app
from polis.config import Settings
from polis.services import policies, tenants
from polis.store import SqlUnitOfWork

__all__ = [
    "COVER",
    "COVER_TERMS",
    "claim_payload",
    "claims_client",
    "jpeg_bytes",
    "new_policy",
    "new_tenant",
    "pdf_bytes",
    "png_bytes",
    "policy_payload",
]

COVER = "equipment"

#: An annual 2026 cover of equipment: use value, 150 € absolute deductible, 2,500 € limit.
COVER_TERMS: dict[str, Any] = {
    "perils": ["accidental_damage", "theft"],
    "exclusions": [{"code": "racing", "text": "use in a competition", "perils": []}],
    "period": {"start": "2026-01-01", "end": "2027-01-01"},
    "declaration_deadlines": {"theft": {"days": 2}, "*": {"days": 5}},
    "valuation": {"basis": "use_value"},
    "sum_insured": "3000",
    "deductible": {"amount": "150", "kind": "absolute"},
    "limit": "2500",
}


def policy_payload(**covers: dict[str, Any]) -> dict[str, Any]:
    return {
        "holder": "Jeanne Martin",
        "product": "equipment-micro",
        "product_version": "2025.1",
        "covers": covers or {COVER: COVER_TERMS},
    }


def claim_payload(policy_id: str, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "policy_id": policy_id,
        "cover_id": COVER,
        "peril": "accidental_damage",
        "loss_at": "2026-03-02T10:00:00+01:00",
        "description": "the camera fell from the tripod",
        "estimated_amount": "1200",
        "circumstances": "on a shoot, indoors",
    }
    return base | overrides


def new_tenant(uow: SqlUnitOfWork) -> str:
    return tenants.create_tenant(uow, f"Claims {uuid.uuid4().hex[:12]}", actor="test").id


def new_policy(uow: SqlUnitOfWork, tenant_id: str) -> str:
    return policies.register_policy(uow, tenant_id, policy_payload(), actor="test").id


def jpeg_bytes(taken: datetime | None = None, offset: str | None = None) -> bytes:
    """A small JPEG, with EXIF ``DateTimeOriginal`` (and ``OffsetTimeOriginal``) when given."""
    image = Image.new("RGB", (16, 12), (200, 120, 40))
    buffer = io.BytesIO()
    if taken is None:
        image.save(buffer, "JPEG")
        return buffer.getvalue()
    exif = Image.Exif()
    details = exif.get_ifd(0x8769)
    details[36867] = taken.strftime("%Y:%m:%d %H:%M:%S")  # DateTimeOriginal
    if offset is not None:
        details[36881] = offset  # OffsetTimeOriginal
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 90, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def pdf_bytes() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@contextmanager
def claims_client(database_url: str, evidence_dir: Path, **settings: Any) -> Iterator[TestClient]:
    """The real app on ``database_url`` with its evidence under ``evidence_dir``."""
    config = Settings(
        database_url=database_url, log_format="console", evidence_dir=evidence_dir, **settings
    )
    with TestClient(create_app(config)) as client:
        yield client
