"""The monthly statement of on-demand cover as a PDF (fpdf2, A4 landscape).

Input: the JSON of :func:`polis.ondemand.billing.statement_json` (money as strings with two
decimals, local times with their offsets). One row per window — the part of the window inside the
month (local start and end with the UTC offset, real hours), price excluding taxes, taxes, refunds
and total — then the totals. A quiet month says so and totals 0,00 €.

Font: the DejaVu Sans of :mod:`polis.documents.certificates` (the same prepared Latin subset, so
accents, « », — and € render without network).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from polis.documents.certificates import _FAMILY, _add_font
from polis.policies.certificate import Language

__all__ = ["render_statement_pdf"]

_INK = (20, 33, 61)
_MUTED = (95, 104, 120)
_BAND = (234, 241, 248)

_LABELS: dict[Language, dict[str, str]] = {
    "fr": {
        "title": "Relevé mensuel — assurance à la demande",
        "customer": "Client",
        "month": "Mois",
        "period": "Période",
        "zone": "Fuseau horaire",
        "window": "Fenêtre",
        "object": "Objet",
        "from": "Du",
        "to": "Au",
        "hours": "Heures",
        "price": "Prix HT",
        "taxes": "Taxes",
        "refunds": "Remboursements",
        "total": "Total",
        "totals": "Total du mois",
        "quiet": "Aucune garantie ce mois-ci : rien à payer.",
        "issued": "Édité le",
        "note": (
            "Montants en euros. Prix HT : prime nette, surprimes, contributions et frais ; une "
            "fenêtre à cheval sur deux mois est répartie à minuit (heure de Paris) le 1er."
        ),
    },
    "en": {
        "title": "Monthly statement — on-demand cover",
        "customer": "Customer",
        "month": "Month",
        "period": "Period",
        "zone": "Time zone",
        "window": "Window",
        "object": "Object",
        "from": "From",
        "to": "To",
        "hours": "Hours",
        "price": "Excl. taxes",
        "taxes": "Taxes",
        "refunds": "Refunds",
        "total": "Total",
        "totals": "Month total",
        "quiet": "No cover this month: nothing to pay.",
        "issued": "Issued on",
        "note": (
            "Amounts in euros. Price excl. taxes: net premium, surcharges, contributions and fees; "
            "a window spanning two months is split at midnight (Paris time) on the 1st."
        ),
    },
}

_COLUMNS = (30.0, 32.0, 46.0, 46.0, 16.0, 24.0, 20.0, 32.0, 24.0)


def _money(text: str, lang: Language) -> str:
    value = Decimal(text)
    shown = f"{value:,.2f}"
    if lang == "fr":
        shown = shown.replace(",", "\u202f").replace(".", ",")
        return f"{shown} €"
    return f"€{shown}" if value >= 0 else f"-€{shown[1:]}"


def _hours(text: str, lang: Language) -> str:
    shown = f"{Decimal(text).quantize(Decimal('0.01')):f}"
    return shown.replace(".", ",") if lang == "fr" else shown


def _local(text: str | None) -> str:
    if not text:
        return "—"
    moment = datetime.fromisoformat(text)
    offset = moment.strftime("%z")
    return f"{moment:%d/%m/%Y %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def render_statement_pdf(
    statement: dict[str, Any], *, lang: Language = "fr", issued_at: datetime | None = None
) -> bytes:
    """The statement as PDF bytes."""
    labels = _LABELS[lang]
    rows: list[dict[str, Any]] = list(statement.get("windows", []))
    totals: dict[str, str] = statement["totals"]
    header = [
        labels["window"],
        labels["object"],
        labels["from"],
        labels["to"],
        labels["hours"],
        labels["price"],
        labels["taxes"],
        labels["refunds"],
        labels["total"],
    ]
    cells = [
        [
            str(r["window_id"]),
            str(r["object_ref"])[:24],
            _local(r.get("start")),
            _local(r.get("end")),
            _hours(str(r["duration_hours"]), lang),
            _money(r["price"], lang),
            _money(r["taxes"], lang),
            _money(r["refunds"], lang),
            _money(r["total"], lang),
        ]
        for r in rows
    ]
    texts = [t for row in cells for t in row] + header + list(labels.values())
    texts += [str(statement.get("customer_name", "")), str(statement.get("customer_id", ""))]

    pdf = FPDF(orientation="L", format="A4")
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(auto=True, margin=14)
    if issued_at is not None:
        pdf.set_creation_date(issued_at)
    pdf.set_lang(lang)
    pdf.set_title(f"{labels['title']} {statement['month']}")
    pdf.set_creator("Polis")
    _add_font(pdf, texts)
    pdf.add_page()

    pdf.set_font(_FAMILY, "", 16)
    pdf.set_text_color(*_INK)
    pdf.cell(0, 9, labels["title"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(_FAMILY, "", 10)
    customer = f"{statement.get('customer_name', '')} ({statement['customer_id']})".strip()
    period = statement["period"]
    for label, value in (
        (labels["customer"], customer),
        (labels["month"], statement["month"]),
        (labels["period"], f"{_local(period['start'])} → {_local(period['end'])}"),
        (labels["zone"], statement.get("time_zone", "Europe/Paris")),
    ):
        pdf.set_text_color(*_MUTED)
        pdf.cell(40, 6, label)
        pdf.set_text_color(*_INK)
        pdf.cell(0, 6, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)

    pdf.set_font(_FAMILY, "", 8.5)
    pdf.set_fill_color(*_BAND)
    for i, (width, text) in enumerate(zip(_COLUMNS, header, strict=True)):
        pdf.cell(width, 7, text, border="B", fill=True, align="R" if i >= 4 else "L")
    pdf.ln()
    if not cells:
        pdf.set_text_color(*_MUTED)
        pdf.cell(0, 8, labels["quiet"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(*_INK)
    for row in cells:
        for i, (width, text) in enumerate(zip(_COLUMNS, row, strict=True)):
            pdf.cell(width, 6, text, align="R" if i >= 4 else "L")
        pdf.ln()
    pdf.set_font(_FAMILY, "", 9.5)
    total_cells = [
        labels["totals"],
        f"{totals['windows']}",
        "",
        "",
        _hours(str(totals["hours"]), lang),
        _money(totals["price"], lang),
        _money(totals["taxes"], lang),
        _money(totals["refunds"], lang),
        _money(totals["total"], lang),
    ]
    for i, (width, text) in enumerate(zip(_COLUMNS, total_cells, strict=True)):
        pdf.cell(width, 8, text, border="T", fill=True, align="R" if i >= 4 else "L")
    pdf.ln(12)
    pdf.set_font(_FAMILY, "", 8)
    pdf.set_text_color(*_MUTED)
    pdf.multi_cell(0, 4.5, labels["note"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if issued_at is not None:
        pdf.cell(0, 5, f"{labels['issued']} {issued_at:%d/%m/%Y %H:%M} UTC")
    return bytes(pdf.output())
