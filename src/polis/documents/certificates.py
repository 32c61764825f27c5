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
"""

from __future__ import annotations

import atexit
import base64
import binascii
import functools
import io
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import matplotlib
import segno
from fontTools import subset as font_subset  # type: ignore[import-untyped]
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import TTFFont

from polis.documents.signing import SIGNATURE_ALGORITHM, SignedCertificate
from polis.kernel.errors import InvalidInput
from polis.policies.certificate import (
    AmountLine,
    CertificateContent,
    Language,
    format_duration,
    format_local,
    format_money,
)

__all__ = [
    "EmbeddedCertificate",
    "NoEmbeddedCertificate",
    "extract_signed_content",
    "qr_png",
    "read_embedded_certificate",
    "render_certificate_pdf",
    "verification_url",
]

XMP_NAMESPACE: Final = "urn:polis:certificate:1/"
QR_SCALE: Final = 4
QR_BORDER: Final = 4

_FAMILY = "DejaVu"
# one weight only: parsing and subsetting a font is most of the cost of a PDF, and a second (bold)
# font would add ~6 ms; hierarchy comes from size and colour
_FONT_FILE = "DejaVuSans.ttf"
# Western and Central European Latin, punctuation, the euro sign: small enough to parse in ~2 ms
_FAST_RANGES: Final = (
    (0x20, 0x7E),
    (0xA0, 0x17F),
    (0x218, 0x21B),
    (0x2010, 0x2027),
    (0x202F, 0x203A),
    (0x20AC, 0x20AC),
    (0x2122, 0x2122),
    (0x2190, 0x2193),
    (0x2212, 0x2212),
)

_INK = (20, 33, 61)
_MUTED = (95, 104, 120)
_ACCENT = (31, 78, 121)
_RULE = (200, 205, 215)
_BAND = (234, 241, 248)

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


# --- fonts -----------------------------------------------------------------------------------

_font_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class _Fonts:
    fast: Path
    full: Path
    coverage: frozenset[int]


def _cut_subset(source: Path, target: Path) -> frozenset[int]:
    options = font_subset.Options()
    options.layout_features = []
    options.hinting = False
    options.glyph_names = False
    options.notdef_outline = True
    options.drop_tables += ["FFTM", "GDEF", "GPOS", "GSUB", "MATH", "kern", "hdmx", "meta"]
    font = TTFont(source)
    subsetter = font_subset.Subsetter(options)
    subsetter.populate(
        unicodes=[code for low, high in _FAST_RANGES for code in range(low, high + 1)]
    )
    subsetter.subset(font)
    font.save(target)
    return frozenset(font.getBestCmap())


_prepared: list[_Fonts] = []


def _remove(directory: Path, owner: int) -> None:
    if os.getpid() == owner:  # not from a forked worker: the parent may still use it
        shutil.rmtree(directory, ignore_errors=True)


def _prepare_fonts() -> _Fonts:
    full = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / _FONT_FILE
    cache = Path(tempfile.mkdtemp(prefix="polis-fonts-"))
    atexit.register(_remove, cache, os.getpid())
    fast = cache / _FONT_FILE
    return _Fonts(fast, full, _cut_subset(full, fast))


def _fonts() -> _Fonts:
    """The font files, prepared once per process (thread-safe; again if a temp cleaner ate them)."""
    if not _prepared or not _prepared[0].fast.exists():
        with _font_lock:
            if not _prepared or not _prepared[0].fast.exists():
                _prepared[:] = [_prepare_fonts()]
    return _prepared[0]


def _add_font(pdf: FPDF, texts: list[str]) -> None:
    fonts = _fonts()
    needed = {ord(c) for text in texts for c in text if c != "\n"}
    pdf.add_font(_FAMILY, "", fonts.fast if needed <= fonts.coverage else fonts.full)
    for font in pdf.fonts.values():
        if isinstance(font, TTFFont):
            # the bounding boxes of our fonts are right: don't recompute (and re-encode) every glyph
            font.ttfont.recalcBBoxes = False


# --- QR code ---------------------------------------------------------------------------------


def verification_url(public_base_url: str, number: str) -> str:
    """``{public_base_url}/verify/{number}``."""
    return f"{public_base_url.rstrip('/')}/verify/{number}"


@functools.lru_cache(maxsize=512)
def qr_png(url: str) -> bytes:
    """A QR code of ``url`` as PNG bytes: error correction M, the best mask (segno's choice, for
    the most readable code), 4 pixels per module, the 4-module quiet zone of the standard."""
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(
        buffer, kind="png", scale=QR_SCALE, border=QR_BORDER
    )
    return buffer.getvalue()


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


_CHAR_WIDTHS: dict[str, float] = {}


class _Page:
    """Text blocks laid out with our own greedy word wrap.

    fpdf2's ``multi_cell`` re-measures the growing line for every character (quadratic, ~40 % of
    the rendering time here); measuring each character once per font and summing is exact for
    fonts drawn without text shaping, and linear.
    """

    def __init__(self, pdf: FPDF) -> None:
        self.pdf = pdf

    def font(self, size: float, color: tuple[int, int, int]) -> None:
        self.pdf.set_font(_FAMILY, "", size)
        self.pdf.set_text_color(*color)

    def rule(self, y: float) -> None:
        """A thin grey line across the page at ``y``."""
        pdf = self.pdf
        pdf.set_draw_color(*_RULE)
        pdf.set_line_width(0.2)
        pdf.line(pdf.l_margin, y, pdf.w - pdf.r_margin, y)

    def _width(self, text: str) -> float:
        size = self.pdf.font_size_pt
        total = 0.0
        for char in text:
            unit = _CHAR_WIDTHS.get(char)
            if unit is None:
                # width at 1 pt; the fast subset and the full font share their glyph metrics
                unit = self.pdf.get_string_width(char) / size
                _CHAR_WIDTHS[char] = unit
            total += unit
        return total * size

    def _split_long(self, word: str, width: float) -> list[str]:
        pieces: list[str] = []
        current = ""
        for char in word:
            if current and self._width(current + char) > width:
                pieces.append(current)
                current = ""
            current += char
        return [*pieces, current]

    def wrap(self, text: str, width: float) -> list[str]:
        lines: list[str] = []
        space = self._width(" ")
        for paragraph in text.split("\n"):
            line, line_width = "", 0.0
            for word in paragraph.split(" "):
                parts = [word] if self._width(word) <= width else self._split_long(word, width)
                for part in parts:
                    part_width = self._width(part)
                    if line and line_width + space + part_width > width:
                        lines.append(line)
                        line, line_width = "", 0.0
                    if line:
                        line, line_width = f"{line} {part}", line_width + space + part_width
                    else:
                        line, line_width = part, part_width
            lines.append(line)
        return lines

    def block(
        self,
        x: float,
        width: float,
        height: float,
        text: str,
        *,
        align: str = "L",
        link: str = "",
    ) -> float:
        """Write ``text`` wrapped to ``width`` from the current ``y``; return the ``y`` below it."""
        pdf = self.pdf
        for line in self.wrap(text, width - 2 * pdf.c_margin):
            if pdf.will_page_break(height):
                pdf.add_page()
            if align == "L" and not link:
                # what ``cell`` would draw, without its per-call machinery (4× cheaper)
                y = pdf.get_y()
                pdf.text(x + pdf.c_margin, y + 0.5 * height + 0.3 * pdf.font_size, line)
                pdf.set_y(y + height)
            else:
                pdf.set_x(x)
                pdf.cell(
                    width, height, line, align=align, link=link, new_x=XPos.LEFT, new_y=YPos.NEXT
                )
        return pdf.get_y()


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
