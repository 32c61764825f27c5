"""Ed25519 signing of certificate content, and where the signing key comes from."""

from __future__ import annotations

import base64
import hashlib
import stat
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from polis.config import Settings
from polis.documents.signing import (
    InvalidSigningKey,
    decode_signature,
    encode_signature,
    key_id,
    load_private_key,
    load_public_key,
    private_key_pem,
    public_key_base64url,
    sign,
    verify_signature,
)
from polis.policies.certificate import canonical_bytes, content_sha256
from polis.services.signing_keys import (
    SigningKeyMissing,
    SigningKeyUnsafe,
    certificate_signer,
    key_path,
)
from tests.unit.test_certificate_content import a_certificate

# RFC 8032, section 7.1, test 1: a fixed seed so that key ids and signatures are reproducible
SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
KEY = Ed25519PrivateKey.from_private_bytes(SEED)


def settings(tmp_path: Path, *, url: str | None = None, key: str | None = None) -> Settings:
    return Settings(
        database_url=url or f"sqlite:///{tmp_path / 'polis.db'}",
        var_dir=tmp_path / "var",
        certificate_signing_key=key,
    )


# --- signatures --------------------------------------------------------------------------------


def test_sign_then_verify() -> None:
    content = a_certificate()
    signed = sign(content, KEY)
    assert signed.content_bytes == canonical_bytes(content)
    assert signed.content_sha256 == content_sha256(content)
    assert signed.algorithm == "Ed25519"
    assert len(signed.signature) == 86
    assert verify_signature(signed.content_bytes, signed.signature, KEY.public_key())


def test_ed25519_signatures_are_deterministic() -> None:
    assert sign(a_certificate(), KEY).signature == sign(a_certificate(), KEY).signature


def test_the_key_id_is_the_start_of_the_sha256_of_the_raw_public_key() -> None:
    raw = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    assert key_id(KEY.public_key()) == hashlib.sha256(raw).hexdigest()[:16]
    assert sign(a_certificate(), KEY).key_id == key_id(KEY.public_key())


@pytest.mark.parametrize("position", [0, 1, 100, 500, -2, -1])
def test_changing_one_byte_of_the_content_breaks_the_signature(position: int) -> None:
    signed = sign(a_certificate(), KEY)
    altered = bytearray(signed.content_bytes)
    altered[position] ^= 0x01
    assert not verify_signature(bytes(altered), signed.signature, KEY.public_key())


def test_changing_one_character_of_the_signature_breaks_it() -> None:
    signed = sign(a_certificate(), KEY)
    for position in (0, 40, 85):
        replacement = "A" if signed.signature[position] != "A" else "B"
        altered = signed.signature[:position] + replacement + signed.signature[position + 1 :]
        assert not verify_signature(signed.content_bytes, altered, KEY.public_key())


@pytest.mark.parametrize(
    "signature", ["", "not base64!", "A" * 86, "A" * 85, "A" * 88, "A" * 86 + "=="]
)
def test_malformed_signatures_are_invalid_not_errors(signature: str) -> None:
    assert not verify_signature(b"{}", signature, KEY.public_key())


def test_signature_encoding_is_strict_base64url() -> None:
    raw = b"\xfb\xff" * 32
    text = encode_signature(raw)
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert "-" in text
    assert "_" in text
    assert decode_signature(text) == raw
    assert decode_signature(text + "==") is None  # padded: not the canonical form
    assert decode_signature(base64.b64encode(raw).decode("ascii")) is None  # standard alphabet


def test_another_key_does_not_verify() -> None:
    signed = sign(a_certificate(), KEY)
    other = Ed25519PrivateKey.generate().public_key()
    assert not verify_signature(signed.content_bytes, signed.signature, other)


def test_the_signed_certificate_gives_the_record_to_keep() -> None:
    signed = sign(a_certificate(), KEY)
    record = signed.record()
    assert record.number == "ATT-2025-000042"
    assert record.content_sha256 == signed.content_sha256
    assert record.signature == signed.signature
    assert record.key_id == signed.key_id
    assert record.period == a_certificate().period
    assert record.revoked_at is None


# --- reading keys ------------------------------------------------------------------------------


def _der(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.mark.parametrize(
    "text",
    [
        private_key_pem(KEY).decode("ascii"),
        base64.b64encode(SEED).decode("ascii"),
        base64.urlsafe_b64encode(SEED).decode("ascii").rstrip("="),
        base64.b64encode(_der(KEY)).decode("ascii"),
        "\n  " + base64.b64encode(SEED).decode("ascii") + "  \n",
    ],
    ids=["pem", "base64-seed", "base64url-seed", "base64-der", "with-whitespace"],
)
def test_private_keys_are_read_from_pem_or_base64(text: str) -> None:
    assert key_id(load_private_key(text).public_key()) == key_id(KEY.public_key())


def test_an_unreadable_key_is_refused_without_echoing_it() -> None:
    secret = "c2VjcmV0LWJ1dC1ub3QtYS1rZXk="
    with pytest.raises(InvalidSigningKey) as info:
        load_private_key(secret)
    assert info.value.code == "certificate.signing_key_invalid"
    assert info.value.field == "certificate_signing_key"
    assert secret not in str(info.value)


def test_a_key_of_another_algorithm_is_refused() -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(InvalidSigningKey) as info:
        load_private_key(pem)
    assert "Ed25519" in info.value.message


def test_public_keys_round_trip_for_offline_verification() -> None:
    published = public_key_base64url(KEY.public_key())
    assert key_id(load_public_key(published)) == key_id(KEY.public_key())
    pem = (
        KEY.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    assert key_id(load_public_key(pem)) == key_id(KEY.public_key())


# --- where the key comes from ------------------------------------------------------------------


def test_the_embedded_default_generates_a_private_key_file_once_and_reuses_it(
    tmp_path: Path,
) -> None:
    first = certificate_signer(settings(tmp_path))
    path = key_path(tmp_path / "var")
    assert path == tmp_path / "var" / "keys" / "certificate-ed25519.pem"
    assert first.source == "generated"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left

    again = certificate_signer(settings(tmp_path))
    assert again.source == "file"
    assert again.key_id == first.key_id
    signed = first.sign(a_certificate())
    assert again.verify(signed.content_bytes, signed.signature)


def test_processes_starting_together_share_one_generated_key(tmp_path: Path) -> None:
    key_ids: list[str] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        key_ids.append(certificate_signer(settings(tmp_path)).key_id)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(key_ids) == 8
    assert len(set(key_ids)) == 1


def test_a_configured_key_wins_and_nothing_is_written(tmp_path: Path) -> None:
    signer = certificate_signer(settings(tmp_path, key=base64.b64encode(SEED).decode("ascii")))
    assert signer.source == "configuration"
    assert signer.key_id == key_id(KEY.public_key())
    assert not (tmp_path / "var").exists()


def test_postgresql_without_a_configured_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyMissing) as info:
        certificate_signer(settings(tmp_path, url="postgresql+psycopg://polis@db:5432/polis"))
    assert info.value.code == "certificate.signing_key_missing"
    assert "POLIS_CERTIFICATE_SIGNING_KEY" in info.value.message
    assert not (tmp_path / "var").exists()


def test_postgresql_with_a_configured_key_signs(tmp_path: Path) -> None:
    pem = private_key_pem(KEY).decode("ascii")
    signer = certificate_signer(
        settings(tmp_path, url="postgresql+psycopg://polis@db:5432/polis", key=pem)
    )
    assert signer.key_id == key_id(KEY.public_key())


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    certificate_signer(settings(tmp_path))
    path = key_path(tmp_path / "var")
    path.chmod(0o644)
    with pytest.raises(SigningKeyUnsafe) as info:
        certificate_signer(settings(tmp_path))
    assert "chmod 600" in info.value.message


def test_the_key_never_shows_in_the_settings_repr() -> None:
    pem = private_key_pem(KEY).decode("ascii")
    assert "PRIVATE KEY" not in repr(Settings(certificate_signing_key=pem))
