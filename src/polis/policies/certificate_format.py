"""Display helpers for certificates (shared by the PDF and the verification page): local times,
money and durations as people read them."""

from __future__ import annotations

from datetime import datetime, timedelta

from polis.kernel.money import CENT, Money
from polis.kernel.time import to_local
from polis.policies.certificate_content import Language, _zone

__all__ = ["format_duration", "format_local", "format_money"]


def format_local(instant: datetime, timezone: str = "Europe/Paris") -> str:
    """``30/03/2025 01:30 (UTC+01:00)``: wall-clock time in ``timezone`` with its offset."""
    local = to_local(instant, _zone(timezone))
    offset = local.strftime("%z")
    return f"{local:%d/%m/%Y %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def format_money(money: Money, lang: Language = "fr") -> str:
    """``1 234,56 €`` in French, ``€1,234.56`` in English (other currencies by their code)."""
    grouped = f"{money.amount.quantize(CENT):,.2f}"
    if lang == "fr":
        text = grouped.replace(",", "\u202f").replace(".", ",")
        return f"{text}\u00a0€" if money.currency == "EUR" else f"{text}\u00a0{money.currency}"
    return f"€{grouped}" if money.currency == "EUR" else f"{grouped} {money.currency}"


def format_duration(duration: timedelta, lang: Language = "fr") -> str:
    """``3 h``, ``2 h 30 min``, ``1 j 4 h`` (``1 d 4 h`` in English): real elapsed time."""
    minutes = int(duration.total_seconds()) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} {'j' if lang == 'fr' else 'd'}")
    if hours:
        parts.append(f"{hours} h")
    if minutes or not parts:
        parts.append(f"{minutes} min")
    return " ".join(parts)
