"""Documents people look at: plots (SVG/PNG), signed PDF certificates of insurance."""

from polis.documents.certificates import (
    EmbeddedCertificate,
    NoEmbeddedCertificate,
    extract_signed_content,
    qr_png,
    read_embedded_certificate,
    render_certificate_pdf,
    verification_url,
)
from polis.documents.plots import crm_plot
from polis.documents.signing import (
    SIGNATURE_ALGORITHM,
    InvalidSigningKey,
    SignedCertificate,
    key_id,
    load_private_key,
    load_public_key,
    public_key_base64url,
    sign,
    verify_signature,
)

__all__ = [
    "SIGNATURE_ALGORITHM",
    "EmbeddedCertificate",
    "InvalidSigningKey",
    "NoEmbeddedCertificate",
    "SignedCertificate",
    "crm_plot",
    "extract_signed_content",
    "key_id",
    "load_private_key",
    "load_public_key",
    "public_key_base64url",
    "qr_png",
    "read_embedded_certificate",
    "render_certificate_pdf",
    "sign",
    "verification_url",
    "verify_signature",
]
