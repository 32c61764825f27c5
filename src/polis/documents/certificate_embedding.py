"""The signed content embedded in a certificate PDF (XMP metadata) and reading it back, for
offline verification with the insurer's public key."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Final

from polis.documents.signing import SignedCertificate
from polis.kernel.errors import InvalidInput

__all__ = [
    "XMP_NAMESPACE",
    "EmbeddedCertificate",
    "NoEmbeddedCertificate",
    "extract_signed_content",
    "read_embedded_certificate",
]

XMP_NAMESPACE: Final = "urn:polis:certificate:1/"


class NoEmbeddedCertificate(InvalidInput):
    """The bytes are not a Polis certificate PDF (or its metadata was stripped or recompressed)."""

    code = "certificate.not_embedded"


@dataclass(frozen=True, slots=True)
class EmbeddedCertificate:
    """What a certificate PDF carries for offline verification."""

    number: str
    content_bytes: bytes
    signature: str
    key_id: str


def _xmp(signed: SignedCertificate) -> str:
    content = base64.urlsafe_b64encode(signed.content_bytes).rstrip(b"=").decode("ascii")
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f'  <rdf:Description rdf:about="" xmlns:polis="{XMP_NAMESPACE}">\n'
        f"   <polis:number>{signed.number}</polis:number>\n"
        f"   <polis:algorithm>{signed.algorithm}</polis:algorithm>\n"
        f"   <polis:keyId>{signed.key_id}</polis:keyId>\n"
        f"   <polis:contentSha256>{signed.content_sha256}</polis:contentSha256>\n"
        f"   <polis:signature>{signed.signature}</polis:signature>\n"
        f"   <polis:content>{content}</polis:content>\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>"
    )


# --- offline verification --------------------------------------------------------------------

_FIELD = {
    name: re.compile(rb"<polis:" + name + rb">([A-Za-z0-9_.-]+)</polis:" + name + rb">")
    for name in (b"number", b"keyId", b"signature", b"content")
}


def _last(pdf_bytes: bytes, name: bytes) -> str:
    # a PDF updated incrementally keeps its old objects: the last occurrence is the current one
    found = _FIELD[name].findall(pdf_bytes)
    if not found:
        raise NoEmbeddedCertificate(
            "no signed certificate content in this PDF (was it re-saved by another program?); "
            "verify it by its number on the verification page instead",
            field="pdf",
        )
    return str(found[-1].decode("ascii"))


def read_embedded_certificate(pdf_bytes: bytes) -> EmbeddedCertificate:
    """The number, canonical content bytes, signature and key id embedded in a certificate PDF."""
    if not pdf_bytes.startswith(b"%PDF-"):
        raise NoEmbeddedCertificate("not a PDF file", field="pdf")
    encoded = _last(pdf_bytes, b"content")
    try:
        content = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError) as e:
        raise NoEmbeddedCertificate("the embedded content is not valid base64", field="pdf") from e
    return EmbeddedCertificate(
        number=_last(pdf_bytes, b"number"),
        content_bytes=content,
        signature=_last(pdf_bytes, b"signature"),
        key_id=_last(pdf_bytes, b"keyId"),
    )


def extract_signed_content(pdf_bytes: bytes) -> tuple[bytes, str]:
    """``(canonical content bytes, signature)`` embedded in a certificate PDF."""
    embedded = read_embedded_certificate(pdf_bytes)
    return embedded.content_bytes, embedded.signature
