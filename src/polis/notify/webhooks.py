"""The HTTP webhook sender: one POST, a timeout, no redirects (standard library ``http.client``).

It implements ``polis.services.webhooks.WebhookSender``: it returns the receiver's status code and
raises when no answer came back (refused, timed out, TLS failure…); the service turns either into
the delivery's outcome. The signature headers are computed by the service and passed in as they are.

The standard library is used rather than an HTTP client library so that delivering webhooks adds no
runtime dependency; redirects are never followed (a receiver that moved must be re-registered: a
signed body must not be forwarded to wherever a ``Location`` header points).
"""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Mapping
from urllib.parse import urlsplit

from polis import __version__
from polis.config import Settings

__all__ = ["USER_AGENT", "HttpWebhookSender", "webhook_sender_from_settings"]

USER_AGENT = f"Polis-Webhooks/{__version__}"
_MAX_RESPONSE = 64 * 1024


class HttpWebhookSender:
    """Posts a delivery to its URL within ``timeout`` seconds (connect, and each read)."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._tls = ssl.create_default_context()

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=self.timeout, context=self._tls
            )
        else:
            connection = http.client.HTTPConnection(
                parts.hostname, parts.port, timeout=self.timeout
            )
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = {"User-Agent": USER_AGENT, "Content-Type": "application/json", **headers}
        try:
            connection.request("POST", target, body=body, headers=sent)
            response = connection.getresponse()
            response.read(_MAX_RESPONSE)  # drain a little; the body is not used
            return response.status
        finally:
            connection.close()


def webhook_sender_from_settings(settings: Settings) -> HttpWebhookSender:
    return HttpWebhookSender(timeout=settings.webhook_timeout_seconds)
