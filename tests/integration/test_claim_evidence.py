"""Claim evidence on disk: hash verified on read, EXIF capture time, type and size limits, no
half-written files and no orphans after a failed transaction."""

from __future__ import annotations

import io
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.claim_fixtures import (
    claim_payload,
    jpeg_bytes,
    new_policy,
    new_tenant,
    pdf_bytes,
    png_bytes,
)

from polis.kernel.errors import Conflict, InvalidInput, NotFound
from polis.services import audit, claims
from polis.services.claim_evidence import (
    EvidenceStore,
    EvidenceTampered,
    EvidenceTooLarge,
    EvidenceTypeRefused,
    add_evidence,
    list_evidence,
    read_evidence,
    sniff_content_type,
    sweep_orphans,
)
from polis.store import SqlUnitOfWork

ACTOR = "test"


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "evidence", max_bytes=64 * 1024)


@pytest.fixture
def claim(uow: SqlUnitOfWork) -> tuple[str, str]:
    tenant = new_tenant(uow)
    policy = new_policy(uow, tenant)
    declared = claims.declare_claim(uow, tenant, claim_payload(policy), ACTOR)
    return tenant, declared.claim.id


def _files(store: EvidenceStore) -> list[Path]:
    return sorted(p for p in store.root.rglob("*") if p.is_file())


# --- pure: the type is told by the content -----------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00", "image/heic"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"GIF89a", None),
        (b"<svg xmlns=", None),
        (b"MZ\x90\x00", None),
    ],
)
def test_the_content_type_is_told_by_the_magic_bytes(head: bytes, expected: str | None) -> None:
    assert sniff_content_type(head) == expected


# --- on real databases ------------------------------------------------------------------------

db = pytest.mark.db


@db
def test_a_photo_is_stored_under_its_sha256_with_its_exif_capture_time(
    uow: SqlUnitOfWork, store: EvidenceStore, claim: tuple[str, str]
) -> None:
    tenant, number = claim
    data = jpeg_bytes(datetime(2026, 3, 2, 9, 41, 5), offset="+01:00")
    view = add_evidence(uow, store, tenant, number, io.BytesIO(data), "IMG_0042.jpg", ACTOR)
    assert view.content_type == "image/jpeg"
    assert view.kind == "photo"
    assert view.size == len(data)
    assert view.captured_at == datetime(2026, 3, 2, 8, 41, 5, tzinfo=UTC)
    assert store.path(tenant, number, view.sha256).read_bytes() == data
    assert _files(store) == [store.path(tenant, number, view.sha256)]  # no temporary file left
    _, read = read_evidence(uow, store, tenant, number, view.id)
    assert read == data
    history = claims.claim_history(uow, tenant, number)
    assert history[-1].action == "claim.evidence_added"
    assert history[-1].data["sha256"] == view.sha256


@db
def test_an_exif_time_without_offset_is_read_as_paris_time(
    uow: SqlUnitOfWork, store: EvidenceStore, claim: tuple[str, str]
) -> None:
    tenant, number = claim
    data = jpeg_bytes(datetime(2026, 7, 14, 22, 30, 0))
    view = add_evidence(uow, store, tenant, number, io.BytesIO(data), "fireworks.jpg", ACTOR)
    assert view.captured_at == datetime(2026, 7, 14, 20, 30, 0, tzinfo=UTC)  # CEST = UTC+2


@db
def test_files_without_exif_have_no_capture_time(
    uow: SqlUnitOfWork, store: EvidenceStore, claim: tuple[str, str]
) -> None:
    tenant, number = claim
    photo = add_evidence(uow, store, tenant, number, io.BytesIO(png_bytes()), "a.png", ACTOR)
    invoice = add_evidence(uow, store, tenant, number, io.BytesIO(pdf_bytes()), "inv.pdf", ACTOR)
    assert photo.captured_at is None
    assert (invoice.content_type, invoice.kind, invoice.captured_at) == (
        "application/pdf",
        "document",
        None,
    )
    assert [e.id for e in list_evidence(uow, tenant, number)] == [photo.id, invoice.id]


@db
def test_a_file_altered_on_disk_is_never_served_and_the_attempt_is_audited(
    uow: SqlUnitOfWork, store: EvidenceStore, claim: tuple[str, str]
) -> None:
    tenant, number = claim
    view = add_evidence(uow, store, tenant, number, io.BytesIO(png_bytes()), "a.png", ACTOR)
    path = store.path(tenant, number, view.sha256)
    altered = bytearray(path.read_bytes())
    altered[-1] ^= 0xFF
    path.write_bytes(bytes(altered))
    with pytest.raises(EvidenceTampered) as raised:
        read_evidence(uow, store, tenant, number, view.id)
    assert isinstance(raised.value, Conflict)
    assert raised.value.code == "evidence.tampered"
    last = claims.claim_history(uow, tenant, number)[-1]
    assert (last.action, last.data["problem"]) == ("claim.evidence_tampered", "content changed")
    path.unlink()
    with pytest.raises(EvidenceTampered, match="file missing"):
        read_evidence(uow, store, tenant, number, view.id)


@db
def test_a_file_over_the_size_limit_is_refused_whole(
    uow: SqlUnitOfWork, store: EvidenceStore, claim: tuple[str, str]
) -> None:
    tenant, number = claim
    big = png_bytes() + b"\0" * store.max_bytes
    with pytest.raises(EvidenceTooLarge) as raised:
        add_evidence(uow, store, tenant, number, io.BytesIO(big), "huge.png", ACTOR)
    assert (raised.value.code, raised.value.field) == ("evidence.too_large", "file")
    assert _files(store) == []
    assert list_evidence(uow, tenant, number) == []


@db
@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("photo.jpg", b"GIF89a\x01\x00\x01\x00"),  # the name says JPEG, the content says GIF
        ("notes.txt", b"just text"),
        ("page.html", b"<html><script>alert(1)</script></html>"),
    ],
)
def test_a_file_of_another_type_is_refused_whatever_its_name(
    uow: SqlUnitOfWork, store: EvidenceStore, claim: tuple[str, str], name: str, data: bytes
) -> None:
    tenant, number = claim
    with pytest.raises(EvidenceTypeRefused) as raised:
        add_evidence(uow, store, tenant, number, io.BytesIO(data), name, ACTOR)
    assert isinstance(raised.value, InvalidInput)
    assert raised.value.code == "evidence.unsupported_type"
    assert _files(store) == []


@db
def test_an_empty_file_is_refused(
    uow: SqlUnitOfWork, store: EvidenceStore, claim: tuple[str, str]
) -> None:
    tenant, number = claim
    with pytest.raises(InvalidInput, match="empty"):
        add_evidence(uow, store, tenant, number, io.BytesIO(b""), "x.jpg", ACTOR)


@db
def test_the_same_content_twice_is_one_evidence(
    uow: SqlUnitOfWork, store: EvidenceStore, claim: tuple[str, str]
) -> None:
    tenant, number = claim
    first = add_evidence(uow, store, tenant, number, io.BytesIO(png_bytes()), "a.png", ACTOR)
    again = add_evidence(uow, store, tenant, number, io.BytesIO(png_bytes()), "b.png", ACTOR)
    assert again == first
    assert len(list_evidence(uow, tenant, number)) == 1


@db
def test_a_failed_transaction_leaves_no_orphan_file(
    uow: SqlUnitOfWork,
    store: EvidenceStore,
    claim: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant, number = claim
    original = audit.record

    def crash(uow: SqlUnitOfWork, **kwargs: Any) -> audit.AuditEntry:
        if kwargs["action"] == "claim.evidence_added":
            raise RuntimeError("crash after the evidence row was written")
        return original(uow, **kwargs)

    monkeypatch.setattr(audit, "record", crash)
    with pytest.raises(RuntimeError):
        add_evidence(uow, store, tenant, number, io.BytesIO(png_bytes()), "a.png", ACTOR)
    assert _files(store) == []
    assert list_evidence(uow, tenant, number) == []


@db
def test_files_left_by_a_crash_are_swept_but_recorded_ones_stay(
    uow: SqlUnitOfWork, store: EvidenceStore, claim: tuple[str, str]
) -> None:
    tenant, number = claim
    kept = add_evidence(uow, store, tenant, number, io.BytesIO(png_bytes()), "a.png", ACTOR)
    orphan = store.path(tenant, number, "0" * 64)
    orphan.write_bytes(b"written, then the process died")
    old = time.time() - 7200
    os.utime(orphan, (old, old))
    os.utime(store.path(tenant, number, kept.sha256), (old, old))
    assert sweep_orphans(uow, store) == [orphan]
    assert _files(store) == [store.path(tenant, number, kept.sha256)]


@db
def test_evidence_is_refused_on_a_closed_claim_and_hidden_from_other_tenants(
    uow: SqlUnitOfWork, store: EvidenceStore, claim: tuple[str, str]
) -> None:
    tenant, number = claim
    view = add_evidence(uow, store, tenant, number, io.BytesIO(png_bytes()), "a.png", ACTOR)
    other = new_tenant(uow)
    with pytest.raises(NotFound):
        read_evidence(uow, store, other, number, view.id)
    with pytest.raises(NotFound):
        list_evidence(uow, other, number)
    with pytest.raises(NotFound):
        add_evidence(uow, store, other, number, io.BytesIO(pdf_bytes()), "x.pdf", ACTOR)
    with pytest.raises(NotFound) as missing:
        read_evidence(uow, store, tenant, number, "EVD-1999-000001")
    assert missing.value.code == "evidence.not_found"
    claims.change_status(uow, tenant, number, "withdrawn", ACTOR)
    with pytest.raises(Conflict) as closed:
        add_evidence(uow, store, tenant, number, io.BytesIO(pdf_bytes()), "x.pdf", ACTOR)
    assert closed.value.code == "claim.not_open"
