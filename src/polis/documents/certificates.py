"""Certificate of insurance as a PDF (fpdf2, A4), with a QR code and the signed content embedded.

What the PDF carries:

- every mention of :class:`polis.policies.certificate.CertificateContent`, in its language, with the
  period shown as wall-clock times of its time zone *and* their UTC offsets;
- a QR code (segno, PNG in memory) to ``{public_base_url}/verify/{number}``, the URL printed under it;
- in small type, the Ed25519 signature, its key id and the SHA-256 of the canonical content;
- in the XMP metadata stream (uncompressed, namespace ``urn:polis:certificate:1/``): the canonical
  content and the signature, base64url, so that :func:`extract_signed_content` can get them back and
  the certificate can be verified offline with the insurer's public key. The visible text is drawn
  from the same content; the verification page shows the certified content to compare with.

Font: DejaVu Sans from Matplotlib's data files (shipped with the ``matplotlib`` dependency; no
network). Parsing and subsetting the whole font costs ~60 ms per PDF, so the first call cuts a
Western/Central European Latin subset of it (~400 glyphs) into a private temporary directory, once
per process, and fpdf2 subsets that small font again per document. Text with a character outside it
(Greek, Cyrillic, Vietnamese…) falls back to the full font: correct, only slower (scripts DejaVu
lacks, such as CJK, show as empty boxes). One weight only: hierarchy comes from size and colour.

The output is deterministic: the same signed certificate and base URL give the same bytes (the PDF
dates are the issue timestamp), so a PDF can be regenerated from the stored record at any time.

This module draws the page; its siblings hold the rest, one concept each:
:mod:`~polis.documents.certificate_fonts` (the font), :mod:`~polis.documents.certificate_layout`
(word wrap and colours), :mod:`~polis.documents.certificate_qr` (verification URL and QR code) and
:mod:`~polis.documents.certificate_embedding` (the embedded signed content, written and read back).
"""

from __future__ import annotations

import io

from fpdf import FPDF

from polis.documents.certificate_embedding import (
    XMP_NAMESPACE,
    EmbeddedCertificate,
    NoEmbeddedCertificate,
    _xmp,
    extract_signed_content,
    read_embedded_certificate,
)
from polis.documents.certificate_fonts import _FAMILY as _FAMILY
from polis.documents.certificate_fonts import _add_font as _add_font
from polis.documents.certificate_fonts import _fonts as _fonts
from polis.documents.certificate_layout import _ACCENT, _BAND, _INK, _MUTED, _Page
from polis.documents.certificate_qr import QR_BORDER, QR_SCALE, qr_png, verification_url
from polis.documents.signing import SIGNATURE_ALGORITHM, SignedCertificate
from polis.policies.certificate import (
    AmountLine,
    CertificateContent,
    Language,
    format_duration,
    format_local,
    format_money,
)

__all__ = [
    "QR_BORDER",
    "QR_SCALE",
    "XMP_NAMESPACE",
    "EmbeddedCertificate",
    "NoEmbeddedCertificate",
    "extract_signed_content",
    "qr_png",
    "read_embedded_certificate",
    "render_certificate_pdf",
    "verification_url",
]

_LABELS: dict[Language, dict[str, str]] = {
    "fr": {
        "title": "Attestation d'assurance",
        "subtitle": "Certificate of insurance",
        "number": "N° d'attestation",
        "policy": "N° de police",
        "insurer": "Assureur",
        "insured": "Assuré",
        "siren": "SIREN/SIRET",
        "object": "Objet ou activité assurés",
        "place": "Lieu ou zone",
        "geofence": "Zone (géorepérage)",
        "period": "Période de garantie",
        "from": "Du",
        "to": "au",
        "timezone": "Heures de {tz}",
        "duration": "durée",
        "sums": "Montants garantis",
        "deductibles": "Franchises",
        "none": "Aucune",
        "exclusions": "Principales exclusions",
        "product": "Produit et conditions",
        "version": "version",
        "terms": "SHA-256 des conditions acceptées",
        "price": "Prime payée",
        "ttc": "TTC",
        "taxes": "dont taxes",
        "issued": "Émise le",
        "verify": "Vérifier cette attestation",
        "scan": "Scannez le code ou ouvrez :",
        "legal": (
            "La présente attestation ne peut engager l'assureur au-delà des limites et conditions "
            "du contrat auquel elle se réfère. Elle vaut présomption de garantie pour la période "
            "indiquée, sous réserve qu'elle ne soit pas révoquée : vérifiez-la en ligne."
        ),
        "signature": "Signature {alg} (clé {key_id})",
        "content_hash": "SHA-256 du contenu certifié",
    },
    "en": {
        "title": "Certificate of insurance",
        "subtitle": "Attestation d'assurance",
        "number": "Certificate no.",
        "policy": "Policy no.",
        "insurer": "Insurer",
        "insured": "Insured",
        "siren": "SIREN/SIRET",
        "object": "Insured object or activity",
        "place": "Place or zone",
        "geofence": "Zone (geofence)",
        "period": "Period of cover",
        "from": "From",
        "to": "to",
        "timezone": "Times in {tz}",
        "duration": "duration",
        "sums": "Sums insured",
        "deductibles": "Deductibles",
        "none": "None",
        "exclusions": "Main exclusions",
        "product": "Product and terms",
        "version": "version",
        "terms": "SHA-256 of the accepted terms",
        "price": "Premium paid",
        "ttc": "taxes included",
        "taxes": "of which taxes",
        "issued": "Issued on",
        "verify": "Verify this certificate",
        "scan": "Scan the code or open:",
        "legal": (
            "This certificate does not commit the insurer beyond the limits and conditions of the "
            "policy it refers to. It evidences cover for the period shown unless revoked: check it "
            "online."
        ),
        "signature": "{alg} signature (key {key_id})",
        "content_hash": "SHA-256 of the certified content",
    },
}


# --- rendering -------------------------------------------------------------------------------


def _lines(lines: tuple[AmountLine, ...], lang: Language, none: str) -> str:
    if not lines:
        return none
    return "\n".join(f"{line.label} : {format_money(line.amount, lang)}" for line in lines)


def _group_siret(number: str) -> str:
    """``732 829 320`` (SIREN) or ``732 829 320 00074`` (SIRET), as printed on French documents."""
    return " ".join([number[0:3], number[3:6], number[6:9], *([number[9:]] if number[9:] else [])])


def _rows(content: CertificateContent, labels: dict[str, str]) -> list[tuple[str, str]]:
    """(label, value) pairs of the body, in reading order."""
    lang = content.language
    tz = content.timezone
    insured = content.insured.name
    if content.insured.siren_siret:
        insured += f"\n{labels['siren']} : {_group_siret(content.insured.siren_siret)}"
    period = (
        f"{labels['from']} {format_local(content.period.start, tz)}\n"
        f"{labels['to']} {format_local(content.period.end, tz)}\n"
        f"{labels['timezone'].format(tz=tz)} — {labels['duration']} "
        f"{format_duration(content.period.duration, lang)}"
    )
    price = content.price
    rows = [
        (
            labels["insurer"],
            f"{content.insurer.name}\n{content.insurer.address}\n{content.insurer.registration}",
        ),
        (labels["insured"], insured),
        (labels["object"], content.insured_object),
    ]
    if content.place:
        rows.append((labels["place"], content.place))
    if content.geofence:
        rows.append((labels["geofence"], content.geofence))
    rows += [
        (labels["period"], period),
        (labels["sums"], _lines(content.sums_insured, lang, labels["none"])),
        (labels["deductibles"], _lines(content.deductibles, lang, labels["none"])),
        (
            labels["exclusions"],
            "\n".join(f"• {e}" for e in content.exclusions) or labels["none"],
        ),
        (
            labels["product"],
            f"{content.product.product_id}, {labels['version']} {content.product.version}",
        ),
        (
            labels["price"],
            f"{format_money(price.total, lang)} {labels['ttc']}, {labels['taxes']} "
            f"{format_money(price.taxes, lang)}",
        ),
        (labels["issued"], format_local(content.issued_at, tz)),
    ]
    return rows


def render_certificate_pdf(signed: SignedCertificate, *, public_base_url: str) -> bytes:
    """The certificate as PDF bytes (A4, one page for ordinary content)."""
    content = signed.content
    labels = _LABELS[content.language]
    url = verification_url(public_base_url, content.number)
    rows = _rows(content, labels)

    pdf = FPDF(format="A4")
    pdf.set_margins(16, 14, 16)
    pdf.set_auto_page_break(auto=False)
    pdf.set_creation_date(content.issued_at)
    pdf.set_lang(content.language)
    pdf.set_title(f"{labels['title']} {content.number}")
    pdf.set_author(content.insurer.name)
    pdf.set_creator("Polis")
    pdf.set_subject(f"{labels['title']} {content.number} — {labels['verify']} : {url}")
    pdf.set_keywords([content.number, content.policy_number, f"sha256:{signed.content_sha256}"])
    pdf.set_xmp_metadata(_xmp(signed))
    _add_font(pdf, [text for row in rows for text in row] + [url, content.policy_number])
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.add_page()
    page = _Page(pdf)
    left = pdf.l_margin
    width = pdf.w - pdf.l_margin - pdf.r_margin
    qr_size = 36.0
    text_width = width - qr_size - 8

    # header: insurer, title, numbers — QR code on the right
    top = pdf.t_margin
    page.font(10, _MUTED)
    page.block(left, text_width, 6, content.insurer.name)
    page.font(22, _INK)
    page.block(left, text_width, 11, labels["title"])
    page.font(10, _MUTED)
    page.block(left, text_width, 6, labels["subtitle"])
    pdf.ln(3)
    page.font(13, _ACCENT)
    page.block(left, text_width, 7, f"{labels['number']} : {content.number}")
    page.font(10.5, _INK)
    header_bottom = page.block(left, text_width, 6, f"{labels['policy']} : {content.policy_number}")

    qr_x = pdf.w - pdf.r_margin - qr_size
    pdf.image(io.BytesIO(qr_png(url)), x=qr_x, y=top, w=qr_size, h=qr_size, alt_text=url)
    pdf.set_y(top + qr_size + 0.5)
    page.font(7, _INK)
    page.block(qr_x - 6, qr_size + 12, 3.5, labels["verify"], align="C")
    page.font(6, _ACCENT)
    cut = url.rfind("/verify/") + 1
    shown = url if cut == 0 or page._width(url) < qr_size + 10 else f"{url[:cut]}\n{url[cut:]}"
    qr_bottom = page.block(qr_x - 6, qr_size + 12, 2.8, shown, align="C", link=url)

    # body: label / value rows
    y = max(header_bottom, qr_bottom) + 4
    page.rule(y - 2)
    pdf.set_y(y)
    label_width = 50.0
    for label, value in rows:
        if pdf.will_page_break(10):
            pdf.add_page()
        row_top = pdf.get_y()
        emphasis = label == labels["period"]
        if emphasis:  # the period is what people check first: a pale band behind it
            page.font(9.5, _ACCENT)
            lines = len(page.wrap(value, width - label_width - 2 * pdf.c_margin))
            pdf.set_fill_color(*_BAND)
            pdf.rect(left - 2, row_top - 1.2, width + 4, lines * 4.6 + 2.4, style="F")
        page.font(9, _MUTED)
        label_bottom = page.block(left, label_width - 2, 4.6, label)
        pdf.set_y(row_top)
        page.font(9.5, _ACCENT if emphasis else _INK)
        value_bottom = page.block(left + label_width, width - label_width, 4.6, value)
        pdf.set_y(max(label_bottom, value_bottom) + 2.2)

    # footer: legal mention, then the proof in small type
    pdf.ln(1)
    page.rule(pdf.get_y())
    pdf.ln(2)
    page.font(8, _MUTED)
    page.block(left, width, 3.6, labels["legal"])
    pdf.ln(2)
    page.font(6, _MUTED)
    signature_label = labels["signature"].format(alg=SIGNATURE_ALGORITHM, key_id=signed.key_id)
    proof = (
        f"{signature_label} : {signed.signature}\n"
        f"{labels['content_hash']} : {signed.content_sha256}\n"
        f"{labels['terms']} : {content.product.terms_sha256}"
    )
    page.block(left, width, 2.9, proof)
    return bytes(pdf.output())
