"""Claim evidence: photos and documents on disk, their SHA-256, capture and upload times.

Storage
    ``<root>/<tenant>/<claim>/<sha256>``: a file is named by its content, so it is stored once per
    claim and cannot be replaced silently. An upload is streamed into a temporary file in that
    folder (size limit enforced while reading, SHA-256 computed on the way), ``fsync``-ed, then
    renamed into place (``os.replace`` is atomic) and the folder ``fsync``-ed: a reader never sees a
    half-written file.

Type and size
    The content type is recognised by the file's first bytes (JPEG, PNG, WebP, HEIC, PDF), never by
    the name or the client's header. Too large → ``EvidenceTooLarge`` (HTTP 413); another type →
    ``EvidenceTypeRefused`` (HTTP 415).

Capture time
    From the EXIF ``DateTimeOriginal`` (else ``DateTimeDigitized``, else ``DateTime``) read with
    Pillow; with its ``OffsetTimeOriginal`` when present, else taken as Europe/Paris wall-clock time.
    ``None`` when the file has none (documents, stripped photos, HEIC without a Pillow plugin).

Crash safety
    The file is written first, then the row and its audit entry in one transaction. If that
    transaction fails, a file this upload created is removed; if the process dies in between, the
    file is an orphan that no row references (never served): :func:`sweep_orphans` removes them.

Reading back
    Every read recomputes the SHA-256; a file that was altered or removed on disk is never served:
    ``EvidenceTampered`` (HTTP 409, ``evidence.tampered``) and an audit entry
    ``claim.evidence_tampered``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import unicodedata
import warnings
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO, ClassVar

from PIL import ExifTags, Image
from pydantic import BaseModel, ConfigDict

from polis.claims.lifecycle import ClaimStatus
from polis.kernel.errors import Conflict, InvalidInput, NotFound
from polis.kernel.time import PARIS, utc_now
from polis.services.claims import record_claim_event, require_claim
from polis.store.tables_claims import ClaimEvidenceRow
from polis.store.uow import UnitOfWork

__all__ = [
    "EvidenceStore",
    "EvidenceTampered",
    "EvidenceTooLarge",
    "EvidenceTypeRefused",
    "EvidenceView",
    "add_evidence",
    "evidence_view",
    "exif_capture_time",
    "list_evidence",
    "read_evidence",
    "sniff_content_type",
    "sweep_orphans",
]

_CHUNK = 64 * 1024
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_TEMP_PREFIX = ".upload-"
_EXIF_FORMAT = "%Y:%m:%d %H:%M:%S"


class EvidenceTooLarge(InvalidInput):
    """The file is larger than ``evidence_max_bytes`` (HTTP 413)."""

    code: ClassVar[str] = "evidence.too_large"


class EvidenceTypeRefused(InvalidInput):
    """The file's content is not one of the accepted types (HTTP 415)."""

    code: ClassVar[str] = "evidence.unsupported_type"


class EvidenceTampered(Conflict):
    """The stored file no longer matches its recorded SHA-256 (or is gone): it is not served."""

    code: ClassVar[str] = "evidence.tampered"


class EvidenceView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    claim_id: str
    filename: str
    content_type: str
    kind: str
    size: int
    sha256: str
    captured_at: datetime | None
    uploaded_at: datetime
    uploaded_by: str


@dataclass(frozen=True, slots=True)
class StoredFile:
    sha256: str
    size: int
    content_type: str
    path: Path
    created: bool


def sniff_content_type(head: bytes) -> str | None:
    """The content type told by the first bytes of a file, ``None`` when unknown."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIC_BRANDS:
        return "image/heic"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


@dataclass(frozen=True, slots=True)
class EvidenceStore:
    """Evidence files under ``root``, with the size and type limits of the settings."""

    root: Path
    max_bytes: int = 10 * 1024 * 1024
    types: Collection[str] = (
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/heic",
        "application/pdf",
    )

    def path(self, tenant_id: str, claim_id: str, sha256: str) -> Path:
        return self.root / tenant_id / claim_id / sha256

    def write(self, tenant_id: str, claim_id: str, source: BinaryIO) -> StoredFile:
        """Stream ``source`` into place (module docstring); refuse it whole if too large or typed wrong."""
        folder = self.root / tenant_id / claim_id
        folder.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(dir=folder, prefix=_TEMP_PREFIX)
        temp = Path(temp_name)
        try:
            digest, size, head = self._copy(source, handle)
            content_type = self._check_type(head, size)
            final = folder / digest
            created = not final.exists()
            if created:
                os.replace(temp, final)
                _fsync_folder(folder)
            return StoredFile(digest, size, content_type, final, created)
        finally:
            temp.unlink(missing_ok=True)

    def _copy(self, source: BinaryIO, handle: int) -> tuple[str, int, bytes]:
        digest, size, head = hashlib.sha256(), 0, b""
        with os.fdopen(handle, "wb") as out:
            while chunk := source.read(_CHUNK):
                size += len(chunk)
                if size > self.max_bytes:
                    raise EvidenceTooLarge(
                        f"the file is larger than {self.max_bytes} bytes", field="file"
                    )
                if len(head) < 32:
                    head += chunk[: 32 - len(head)]
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        return digest.hexdigest(), size, head

    def _check_type(self, head: bytes, size: int) -> str:
        if size == 0:
            raise InvalidInput("the file is empty", field="file")
        content_type = sniff_content_type(head)
        if content_type is None or content_type not in self.types:
            accepted = ", ".join(sorted(self.types))
            raise EvidenceTypeRefused(
                f"this kind of file is not accepted (accepted: {accepted})", field="file"
            )
        return content_type

    def read(self, tenant_id: str, claim_id: str, sha256: str) -> bytes | None:
        """The stored bytes, ``None`` when the file is gone."""
        try:
            return self.path(tenant_id, claim_id, sha256).read_bytes()
        except FileNotFoundError:
            return None


def add_evidence(
    uow: UnitOfWork,
    store: EvidenceStore,
    tenant_id: str,
    claim_id: str,
    source: BinaryIO,
    filename: str,
    actor: str,
) -> EvidenceView:
    """Store a file for a claim and record it; the same content twice returns the first record."""
    name = _clean_filename(filename)
    with uow:
        claim = require_claim(uow, tenant_id, claim_id, for_update=True)
        if not ClaimStatus(claim.status).is_open:
            raise Conflict(
                f"claim {claim.id} is {claim.status}: reopen it to add evidence",
                field="status",
                code="claim.not_open",
            )
        stored = store.write(tenant_id, claim.id, source)
        keep = False
        try:
            existing = uow.evidence.find_by_hash(claim.id, stored.sha256)
            if existing is not None:
                keep = True  # the same content is already recorded (and now surely on disk)
                return evidence_view(existing)
            row = ClaimEvidenceRow(
                id=str(uow.ids.next("EVD", utc_now().year)),
                tenant_id=tenant_id,
                claim_id=claim.id,
                sha256=stored.sha256,
                filename=name,
                content_type=stored.content_type,
                size=stored.size,
                captured_at=exif_capture_time(stored.path, stored.content_type),
                uploaded_at=utc_now(),
                uploaded_by=actor,
            )
            uow.evidence.add(row)
            record_claim_event(uow, claim, actor, "claim.evidence_added", **_event(row))
            view = evidence_view(row)
            uow.commit()
            keep = True
        finally:
            if stored.created and not keep:
                stored.path.unlink(missing_ok=True)  # the row was never committed: no orphan
    return view


def list_evidence(uow: UnitOfWork, tenant_id: str, claim_id: str) -> list[EvidenceView]:
    with uow:
        claim = require_claim(uow, tenant_id, claim_id)
        return [evidence_view(row) for row in uow.evidence.list(tenant_id, claim.id)]


def read_evidence(
    uow: UnitOfWork, store: EvidenceStore, tenant_id: str, claim_id: str, evidence_id: str
) -> tuple[EvidenceView, bytes]:
    """The record and the bytes of one evidence file, after checking its SHA-256."""
    with uow:
        claim = require_claim(uow, tenant_id, claim_id)
        row = uow.evidence.get(tenant_id, claim.id, evidence_id.strip())
        if row is None:
            raise NotFound(
                f"no evidence {evidence_id!r} on claim {claim.id}",
                field="evidence_id",
                code="evidence.not_found",
            )
        data = store.read(tenant_id, claim.id, row.sha256)
        problem = _integrity_problem(row, data)
        if problem is not None:
            record_claim_event(
                uow, claim, "system", "claim.evidence_tampered", evidence_id=row.id, problem=problem
            )
            uow.commit()
            raise EvidenceTampered(
                f"evidence {row.id} does not match its recorded SHA-256 ({problem}): not served",
                field="evidence_id",
            )
        assert data is not None
        return evidence_view(row), data


def sweep_orphans(
    uow: UnitOfWork, store: EvidenceStore, *, older_than: timedelta = timedelta(hours=1)
) -> list[Path]:
    """Remove files no evidence row references (left by a crash), older than ``older_than``."""
    removed: list[Path] = []
    cutoff = time.time() - older_than.total_seconds()
    if not store.root.is_dir():
        return removed
    with uow:
        for folder in sorted(p for p in store.root.glob("*/*") if p.is_dir()):
            tenant_id, claim_id = folder.parent.name, folder.name
            known = {row.sha256 for row in uow.evidence.list(tenant_id, claim_id)}
            for path in sorted(folder.iterdir()):
                if path.name not in known and path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
                    removed.append(path)
    return removed


def exif_capture_time(path: Path, content_type: str) -> datetime | None:
    """When the photo was taken, from its EXIF data (module docstring); ``None`` when unknown."""
    if not content_type.startswith("image/"):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                exif = image.getexif()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    details = exif.get_ifd(ExifTags.IFD.Exif)
    raw = (
        details.get(ExifTags.Base.DateTimeOriginal)
        or details.get(ExifTags.Base.DateTimeDigitized)
        or exif.get(ExifTags.Base.DateTime)
    )
    offset = details.get(ExifTags.Base.OffsetTimeOriginal) or details.get(ExifTags.Base.OffsetTime)
    return _exif_instant(raw, offset)


def _exif_instant(raw: object, offset: object) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        wall = datetime.strptime(raw.strip("\x00 "), _EXIF_FORMAT)
    except ValueError:
        return None
    zone = _exif_offset(offset)
    aware = wall.replace(tzinfo=zone if zone is not None else PARIS)
    return aware.astimezone(UTC)


def _exif_offset(offset: object) -> timezone | None:
    """``"+02:00"`` → a fixed offset; anything else → ``None``."""
    if not isinstance(offset, str):
        return None
    text = offset.strip("\x00 ")
    if len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    try:
        hours, minutes = int(text[1:3]), int(text[4:6])
    except ValueError:
        return None
    sign = 1 if text[0] == "+" else -1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _integrity_problem(row: ClaimEvidenceRow, data: bytes | None) -> str | None:
    if data is None:
        return "file missing"
    if len(data) != row.size or hashlib.sha256(data).hexdigest() != row.sha256:
        return "content changed"
    return None


def _clean_filename(filename: str) -> str:
    """The last path part, without control characters, at most 255 characters."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    return clean[:255] or "evidence"


def _fsync_folder(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _event(row: ClaimEvidenceRow) -> dict[str, object]:
    return {
        "evidence_id": row.id,
        "sha256": row.sha256,
        "filename": row.filename,
        "content_type": row.content_type,
        "size": row.size,
        "captured_at": row.captured_at,
    }


def evidence_view(row: ClaimEvidenceRow) -> EvidenceView:
    return EvidenceView(
        id=row.id,
        claim_id=row.claim_id,
        filename=row.filename,
        content_type=row.content_type,
        kind="photo" if row.content_type.startswith("image/") else "document",
        size=row.size,
        sha256=row.sha256,
        captured_at=row.captured_at,
        uploaded_at=row.uploaded_at,
        uploaded_by=row.uploaded_by,
    )
