"""Signing a delivery: the HMAC-SHA256 signature, the receiver's check, the POST body and headers.

``Polis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``; several ``v1=``
values are accepted by :func:`verify_signature` (any may match).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta

from polis.kernel.time import ensure_utc, utc_now
from polis.services.outbox import OutboxEvent

__all__ = [
    "SIGNATURE_HEADER",
    "event_body",
    "sign",
    "signature_header",
    "signed_headers",
    "verify_signature",
]

SIGNATURE_HEADER = "Polis-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``hex(HMAC-SHA256(secret, "<timestamp>.<body>"))``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Polis-Signature`` value: ``t=<timestamp>,v1=<signature>``."""
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes | str,
    tolerance: float | timedelta = 300,
    *,
    now: datetime | None = None,
) -> bool:
    """Whether ``header`` (``Polis-Signature``) signs ``body`` (the raw bytes received) with
    ``secret``, at a timestamp no further than ``tolerance`` (seconds) from ``now``.

    Several ``v1=`` values are accepted (any may match); a missing or malformed header, a stale
    timestamp or a wrong signature give ``False``.
    """
    raw = body.encode("utf-8") if isinstance(body, str) else body
    limit = tolerance.total_seconds() if isinstance(tolerance, timedelta) else float(tolerance)
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = ensure_utc(now if now is not None else utc_now(), field="now").timestamp()
    if abs(current - timestamp) > limit:
        return False
    expected = sign(secret, timestamp, raw)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


def event_body(event: OutboxEvent) -> bytes:
    """The POST body of an event: compact JSON ``{"id", "type", "created_at", "tenant", "data"}``."""
    return json.dumps(
        event.model_dump(mode="json"), separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def signed_headers(
    secret: str, event: OutboxEvent, delivery_id: int, body: bytes, now: datetime
) -> dict[str, str]:
    """The headers of one delivery POST (signature over ``body`` at ``now``)."""
    timestamp = int(ensure_utc(now, field="now").timestamp())
    return {
        "Content-Type": "application/json",
        "Polis-Event-Id": str(event.id),
        "Polis-Event-Type": event.type,
        "Polis-Delivery-Id": str(delivery_id),
        "Polis-Timestamp": str(timestamp),
        SIGNATURE_HEADER: signature_header(secret, timestamp, body),
    }
