"""The certificate PDF: a real A4 PDF with every mention, a QR code, and its signed content inside."""

from __future__ import annotations

import base64
import dataclasses
import io
import re
import shutil
import subprocess
import time
import unicodedata
from pathlib import Path

import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fpdf import FPDF
from PIL import Image

from polis.documents import certificates
from polis.documents.certificates import (
    QR_BORDER,
    QR_SCALE,
    NoEmbeddedCertificate,
    extract_signed_content,
    qr_png,
    read_embedded_certificate,
    render_certificate_pdf,
    verification_url,
)
from polis.documents.signing import SignedCertificate, sign, verify_signature
from polis.policies.certificate import (
    CertificateStatus,
    Insured,
    PresentedCertificate,
    content_from_canonical,
    content_sha256,
    verify_certificate,
)
from tests.unit.test_certificate_content import a_certificate

BASE_URL = "https://assurance.example.fr"
URL = f"{BASE_URL}/verify/ATT-2025-000042"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PDFTOTEXT = shutil.which("pdftotext")


def signed_certificate(**changes: object) -> SignedCertificate:
    return sign(a_certificate(**changes), KEY)


@pytest.fixture(scope="module")
def signed() -> SignedCertificate:
    return signed_certificate()


@pytest.fixture(scope="module")
def pdf(signed: SignedCertificate) -> bytes:
    return render_certificate_pdf(signed, public_base_url=BASE_URL)


def text_of(pdf_bytes: bytes, tmp_path: Path) -> str:
    """The text of the PDF as poppler extracts it, spaces normalised (NBSP → space)."""
    if PDFTOTEXT is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: text extraction not checked")
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf_bytes)
    result = subprocess.run(
        [PDFTOTEXT, "-layout", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        check=True,
    )
    text = unicodedata.normalize("NFC", result.stdout.decode("utf-8"))
    return re.sub(r"[ \u00a0\u202f]+", " ", text)


def test_the_verification_url_is_built_from_the_public_base_url() -> None:
    assert verification_url(BASE_URL, "ATT-2025-000042") == URL
    assert verification_url(BASE_URL + "/", "ATT-2025-000042") == URL


def test_it_is_a_one_page_a4_pdf(pdf: bytes) -> None:
    assert pdf.startswith(b"%PDF-1.")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert b"startxref" in pdf
    assert len(re.findall(rb"/Type /Page\b(?!s)", pdf)) == 1
    assert b"/MediaBox [0 0 595.28 841.89]" in pdf


def test_the_font_is_embedded_dejavu(pdf: bytes) -> None:
    assert b"/FontFile2" in pdf
    assert re.search(rb"/BaseFont /MPDFAA\+DejaVuSans", pdf)


def test_it_carries_the_qr_code_of_the_verification_url(pdf: bytes) -> None:
    image = Image.open(io.BytesIO(qr_png(URL)))
    width, height = image.size
    assert re.search(rb"/Subtype /Image", pdf)
    assert re.search(rb"/Width %d\b" % width, pdf)
    assert re.search(rb"/Height %d\b" % height, pdf)
    # the PNG draws exactly segno's matrix for the URL, module by module, inside its quiet zone
    matrix = segno.make(URL, error="m", micro=False).matrix
    assert width == (len(matrix) + 2 * QR_BORDER) * QR_SCALE
    grey = image.convert("L")
    for row, modules in enumerate(matrix):
        for column, dark in enumerate(modules):
            center = ((column + QR_BORDER) * QR_SCALE + 1, (row + QR_BORDER) * QR_SCALE + 1)
            pixel = grey.getpixel(center)
            assert (pixel == 0) == bool(dark), (row, column)


def test_the_signed_content_round_trips_through_the_pdf(
    pdf: bytes, signed: SignedCertificate
) -> None:
    content_bytes, signature = extract_signed_content(pdf)
    assert content_bytes == signed.content_bytes
    assert signature == signed.signature
    assert verify_signature(content_bytes, signature, KEY.public_key())
    assert content_from_canonical(content_bytes) == signed.content
    embedded = read_embedded_certificate(pdf)
    assert embedded.number == "ATT-2025-000042"
    assert embedded.key_id == signed.key_id


def _verify_offline(pdf_bytes: bytes, signed: SignedCertificate) -> CertificateStatus:
    content_bytes, signature = extract_signed_content(pdf_bytes)
    presented = PresentedCertificate(
        content_from_canonical(content_bytes).number, content_sha256(content_bytes), signature
    )
    return verify_certificate(
        signed.record(),
        presented,
        signature_ok=verify_signature(content_bytes, signature, KEY.public_key()),
        now=signed.content.period.start,
    ).status


def test_an_untouched_pdf_verifies_as_valid(pdf: bytes, signed: SignedCertificate) -> None:
    assert _verify_offline(pdf, signed) is CertificateStatus.VALID


def test_a_pdf_whose_embedded_content_was_altered_is_tampered(
    pdf: bytes, signed: SignedCertificate
) -> None:
    old = base64.urlsafe_b64encode(signed.content_bytes).rstrip(b"=")
    assert signed.content_bytes.count(b'"amount":"8500.00"') == 1
    forged = signed.content_bytes.replace(b'"amount":"8500.00"', b'"amount":"9500.00"')
    new = base64.urlsafe_b64encode(forged).rstrip(b"=")
    assert len(new) == len(old)  # same length: the PDF's cross-reference table stays right
    altered = pdf.replace(old, new)
    assert altered != pdf
    assert _verify_offline(altered, signed) is CertificateStatus.TAMPERED


def test_a_pdf_with_another_signature_is_tampered(pdf: bytes, signed: SignedCertificate) -> None:
    other = sign(dataclasses.replace(signed.content, policy_number="POL-2025-000999"), KEY)
    altered = pdf.replace(signed.signature.encode(), other.signature.encode())
    assert _verify_offline(altered, signed) is CertificateStatus.TAMPERED


def test_the_pdf_is_deterministic(pdf: bytes, signed: SignedCertificate) -> None:
    assert render_certificate_pdf(signed, public_base_url=BASE_URL) == pdf


def test_a_pdf_without_embedded_content_is_refused() -> None:
    blank = FPDF()
    blank.add_page()
    with pytest.raises(NoEmbeddedCertificate) as info:
        extract_signed_content(bytes(blank.output()))
    assert info.value.code == "certificate.not_embedded"
    with pytest.raises(NoEmbeddedCertificate):
        extract_signed_content(b"GIF89a not a pdf")


def test_the_certificate_is_ready_well_under_a_second(signed: SignedCertificate) -> None:
    started = time.perf_counter()
    render_certificate_pdf(signed, public_base_url=BASE_URL)
    assert time.perf_counter() - started < 1.0


def test_the_pdf_shows_every_mention(pdf: bytes, signed: SignedCertificate, tmp_path: Path) -> None:
    text = text_of(pdf, tmp_path)
    for mention in [
        "Attestation d'assurance",
        "Certificate of insurance",
        "ATT-2025-000042",
        "POL-2025-000123",
        "Mutuelle Polis Assurances",
        "12 rue de la Paix, 75002 Paris",
        "RCS Paris 123 456 789",
        "Élodie Marchand — Studio Lumière",
        "SIREN/SIRET : 732 829 320 00074",
        "Kit photo : boîtier Canon EOS R5",
        "Château de Versailles",
        "Bris et vol du matériel : 8 500,00 €",
        "Responsabilité civile : 1 000 000,00 €",
        "Par sinistre : 150,00 €",
        "• Matériel laissé sans surveillance dans un véhicule",
        "• Usure, panne ou défaut de fabrication",
        "equipment-micro, version 1.2",
        "12,48 € TTC, dont taxes 1,13 €",
        "Émise le 29/03/2025 23:15 (UTC+01:00)",
        URL.split("/verify/")[1],
        f"clé {signed.key_id}",
        signed.content_sha256,
        signed.content.product.terms_sha256,
    ]:
        assert mention in text, mention


def test_a_window_across_the_march_change_shows_three_hours_and_both_offsets(
    pdf: bytes, tmp_path: Path
) -> None:
    text = text_of(pdf, tmp_path)
    assert "Du 30/03/2025 00:30 (UTC+01:00)" in text
    assert "au 30/03/2025 04:30 (UTC+02:00)" in text
    assert "Heures de Europe/Paris — durée 3 h" in text


def test_an_english_certificate(tmp_path: Path) -> None:
    english = render_certificate_pdf(signed_certificate(language="en"), public_base_url=BASE_URL)
    text = text_of(english, tmp_path)
    assert "Certificate of insurance" in text
    assert "From 30/03/2025 00:30 (UTC+01:00)" in text
    assert "Bris et vol du matériel : €8,500.00" in text
    assert "€12.48 taxes included, of which taxes €1.13" in text


def test_names_outside_the_fast_font_subset_still_render(tmp_path: Path) -> None:
    greek = signed_certificate(insured=Insured("Νίκος Παπαδόπουλος", None))
    text = text_of(render_certificate_pdf(greek, public_base_url=BASE_URL), tmp_path)
    assert "Νίκος Παπαδόπουλος" in text


def test_the_font_subset_is_cut_again_if_a_temp_cleaner_removed_it(
    signed: SignedCertificate,
) -> None:
    render_certificate_pdf(signed, public_base_url=BASE_URL)
    fast = certificates._fonts().fast
    shutil.rmtree(fast.parent)
    assert render_certificate_pdf(signed, public_base_url=BASE_URL).startswith(b"%PDF-")
    assert certificates._fonts().fast.exists()
