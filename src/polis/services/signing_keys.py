"""The Ed25519 key that signs certificates: from configuration, or generated on the embedded default.

Rules:

- ``POLIS_CERTIFICATE_SIGNING_KEY`` set → that key, always (PEM, or base64 of the 32-byte seed or of
  PKCS#8 DER; see :func:`polis.documents.signing.load_private_key`);
- not set, embedded SQLite default → ``<var_dir>/keys/certificate-ed25519.pem``: generated on first
  use (PKCS#8 PEM, mode 0600, directory 0700), reused afterwards. Creation is atomic (written to a
  temporary file, then hard-linked into place), so two processes starting together end up with the
  same key. A key file readable by group or others is refused;
- not set, any other database (PostgreSQL: a shared, production-like deployment) → refused with
  :class:`SigningKeyMissing`: a key generated on one server would differ from the others' and
  vanish with its disk, leaving certificates that nobody can verify.

Keys are never committed: ``var/`` is local state.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from polis.documents.signing import (
    SignedCertificate,
    generate_private_key,
    key_id,
    load_private_key,
    private_key_pem,
    sign,
    verify_signature,
)
from polis.kernel.errors import PolisError
from polis.policies.certificate import CertificateContent

__all__ = [
    "KEY_FILE",
    "CertificateSigner",
    "SigningKeyMissing",
    "SigningKeySettings",
    "SigningKeyUnsafe",
    "certificate_signer",
    "key_path",
    "load_signing_key",
]

KEY_FILE = Path("keys") / "certificate-ed25519.pem"


class SigningKeyMissing(PolisError):
    """No certificate signing key is configured where Polis must not generate one."""

    code = "certificate.signing_key_missing"


class SigningKeyUnsafe(PolisError):
    """The key file can be read by other users."""

    code = "certificate.signing_key_unsafe"


class SigningKeySettings(Protocol):
    """The settings this module reads (``polis.config.Settings`` has them)."""

    @property
    def certificate_signing_key(self) -> str | None: ...

    @property
    def database_url(self) -> str: ...

    @property
    def var_dir(self) -> Path: ...


KeySource = Literal["configuration", "file", "generated"]


@dataclass(frozen=True, slots=True)
class CertificateSigner:
    """The signing key with its public half and key id; signs and verifies certificate content."""

    private_key: Ed25519PrivateKey
    source: KeySource

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def sign(self, content: CertificateContent) -> SignedCertificate:
        return sign(content, self.private_key)

    def verify(self, content_bytes: bytes, signature: str) -> bool:
        return verify_signature(content_bytes, signature, self.public_key)


def key_path(var_dir: Path) -> Path:
    """Where the embedded default keeps its generated key."""
    return var_dir / KEY_FILE


def certificate_signer(settings: SigningKeySettings) -> CertificateSigner:
    """The signer for these settings (see the module docstring for where the key comes from)."""
    configured = settings.certificate_signing_key
    if configured is not None and configured.strip():
        return CertificateSigner(load_private_key(configured), "configuration")
    if not settings.database_url.startswith("sqlite"):
        raise SigningKeyMissing(
            "no certificate signing key configured: set POLIS_CERTIFICATE_SIGNING_KEY (an Ed25519 "
            "private key, e.g. from `openssl genpkey -algorithm ed25519`); Polis generates one only "
            "for the embedded SQLite default",
            field="certificate_signing_key",
        )
    path = key_path(settings.var_dir)
    if path.exists():
        return CertificateSigner(_read_key_file(path), "file")
    created = _create_key_file(path)
    return CertificateSigner(_read_key_file(path), "generated" if created else "file")


def load_signing_key(settings: SigningKeySettings) -> Ed25519PrivateKey:
    """The private key only (see :func:`certificate_signer`)."""
    return certificate_signer(settings).private_key


def _read_key_file(path: Path) -> Ed25519PrivateKey:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SigningKeyUnsafe(
            f"{path} can be read by other users (mode {stat.S_IMODE(mode):04o}); "
            f"run `chmod 600 {path}`",
            field="certificate_signing_key",
        )
    return load_private_key(path.read_bytes(), field=str(path))


def _create_key_file(path: Path) -> bool:
    """Write a new key to ``path`` unless another process did first; ``True`` when we wrote it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(private_key_pem(generate_private_key()))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
