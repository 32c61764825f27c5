"""Ed25519 signatures over the canonical bytes of a certificate (adapter around ``cryptography``).

- the signature covers exactly :func:`polis.policies.certificate.canonical_bytes`;
- signatures travel as base64url without padding (86 characters for Ed25519's 64 bytes); decoding
  is strict, so a changed, added or removed character never "decodes" to the same signature;
- ``key_id`` is the first 16 hexadecimal characters of SHA-256(raw 32-byte public key): it names the
  key that signed, so keys can be rotated and old certificates still verified with their own key.

Private keys are read from PEM (PKCS#8, ``openssl genpkey -algorithm ed25519``), or from base64
(standard or URL-safe) of either the raw 32-byte seed or the PKCS#8 DER (handy in an environment
variable).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from polis.kernel.errors import InvalidInput
from polis.policies.certificate import (
    CertificateContent,
    CertificateRecord,
    canonical_bytes,
    content_sha256,
)

__all__ = [
    "SIGNATURE_ALGORITHM",
    "InvalidSigningKey",
    "SignedCertificate",
    "decode_signature",
    "encode_signature",
    "generate_private_key",
    "key_id",
    "load_private_key",
    "load_public_key",
    "private_key_pem",
    "public_key_base64url",
    "sign",
    "verify_signature",
]

SIGNATURE_ALGORITHM = "Ed25519"

_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")
_SIGNATURE_LENGTH = 64


class InvalidSigningKey(InvalidInput):
    """The configured certificate signing key cannot be read as an Ed25519 private key."""

    code = "certificate.signing_key_invalid"


@dataclass(frozen=True, slots=True)
class SignedCertificate:
    """Content, its canonical bytes and hash, and the Ed25519 signature over those bytes."""

    content: CertificateContent
    content_bytes: bytes
    content_sha256: str
    signature: str
    key_id: str
    algorithm: str = SIGNATURE_ALGORITHM

    @property
    def number(self) -> str:
        return self.content.number

    def record(self) -> CertificateRecord:
        """What to store to answer verifications later (not revoked)."""
        return CertificateRecord(
            number=self.content.number,
            content_sha256=self.content_sha256,
            signature=self.signature,
            key_id=self.key_id,
            period=self.content.period,
            timezone=self.content.timezone,
        )


def encode_signature(raw: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_signature(text: str) -> bytes | None:
    """The 64 signature bytes, or ``None`` for anything that is not a canonical encoding of them."""
    text = text.strip()
    if not _BASE64URL.fullmatch(text):
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _SIGNATURE_LENGTH or encode_signature(raw) != text:
        return None
    return raw


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 16 hexadecimal characters of SHA-256 of the raw public key."""
    return hashlib.sha256(_raw_public(public_key)).hexdigest()[:16]


def public_key_base64url(public_key: Ed25519PublicKey) -> str:
    """The raw 32-byte public key, base64url without padding (to publish for offline checks)."""
    return encode_signature(_raw_public(public_key))


def sign(content: CertificateContent, private_key: Ed25519PrivateKey) -> SignedCertificate:
    """Sign the canonical bytes of ``content``."""
    data = canonical_bytes(content)
    return SignedCertificate(
        content=content,
        content_bytes=data,
        content_sha256=content_sha256(data),
        signature=encode_signature(private_key.sign(data)),
        key_id=key_id(private_key.public_key()),
    )


def verify_signature(content_bytes: bytes, signature: str, public_key: Ed25519PublicKey) -> bool:
    """``True`` when ``signature`` is a valid Ed25519 signature of exactly ``content_bytes``."""
    raw = decode_signature(signature)
    if raw is None:
        return False
    try:
        public_key.verify(raw, content_bytes)
    except InvalidSignature:
        return False
    return True


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_pem(private_key: Ed25519PrivateKey) -> bytes:
    """PKCS#8 PEM, unencrypted (protect the file: mode 0600)."""
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key(
    text: str | bytes, *, field: str = "certificate_signing_key"
) -> Ed25519PrivateKey:
    """Read an Ed25519 private key from PEM or base64 (raw 32-byte seed or PKCS#8 DER).

    Error messages never repeat the key material.
    """
    data = text.encode("ascii", "replace") if isinstance(text, str) else text
    data = data.strip()
    try:
        if data.startswith(b"-----BEGIN"):
            key: object = serialization.load_pem_private_key(data, password=None)
        else:
            compact = b"".join(data.split()).replace(b"-", b"+").replace(b"_", b"/")
            raw = base64.b64decode(compact + b"=" * (-len(compact) % 4), validate=True)
            key = (
                Ed25519PrivateKey.from_private_bytes(raw)
                if len(raw) == 32
                else serialization.load_der_private_key(raw, password=None)
            )
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm) as e:
        raise InvalidSigningKey(
            "not an Ed25519 private key (expected PEM, or base64 of the 32-byte seed or of "
            "PKCS#8 DER)",
            field=field,
        ) from e
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidSigningKey(f"expected an Ed25519 key, got {type(key).__name__}", field=field)
    return key


def load_public_key(text: str) -> Ed25519PublicKey:
    """Read a public key from PEM (SubjectPublicKeyInfo) or base64url of the raw 32 bytes."""
    stripped = text.strip()
    try:
        if stripped.startswith("-----BEGIN"):
            key: object = serialization.load_pem_public_key(stripped.encode("ascii"))
        else:
            raw = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
            key = Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm) as e:
        raise InvalidInput("not an Ed25519 public key", field="public_key") from e
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput("expected an Ed25519 public key", field="public_key")
    return key
