"""The verification link of a certificate: its URL and the QR code that carries it."""

from __future__ import annotations

import functools
import io
from typing import Final

import segno

__all__ = ["QR_BORDER", "QR_SCALE", "qr_png", "verification_url"]

QR_SCALE: Final = 4
QR_BORDER: Final = 4


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
