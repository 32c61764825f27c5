"""The HTTP webhook sender: one POST, a timeout, no redirects (standard library ``http.client``).

It implements ``polis.services.webhooks.WebhookSender``: it returns the receiver's status code and
raises when no answer came back (refused, timed out, TLS failure…); the service turns either into
the delivery's outcome. The signature headers are computed by the service and passed in as they are.

The standard library is used rather than an HTTP client library so that delivering webhooks adds no
runtime dependency; redirects are never followed (a receiver that moved must be re-registered: a
signed body must not be forwarded to wherever a ``Location`` header points).

**No private addresses** (:mod:`polis.kernel.net`): right before each POST the host is resolved,
every address is checked, and the connection goes to the address checked — not to a second lookup,
which a rebinding DNS server could point at ``127.0.0.1`` in between. TLS still verifies the
certificate against the host name (SNI). A refused address raises
:class:`~polis.kernel.net.AddressRefused`, which the service records as a final failure.
``allow_private`` (``POLIS_WEBHOOKS_ALLOW_PRIVATE``) lifts the check for local development.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Mapping
from urllib.parse import urlsplit

from polis import __version__
from polis.config import Settings
from polis.kernel.net import Resolver, public_addresses, system_resolver

__all__ = ["USER_AGENT", "HttpWebhookSender", "webhook_sender_from_settings"]

USER_AGENT = f"Polis-Webhooks/{__version__}"
_MAX_RESPONSE = 64 * 1024


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to ``address`` for the host named in the URL (``Host`` header)."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to ``address``, the certificate checked against the host name."""

    def __init__(
        self, host: str, port: int, address: str, timeout: float, tls: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=tls)
        self._address = address
        self._tls = tls

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


class HttpWebhookSender:
    """Posts a delivery to its URL within ``timeout`` seconds (connect, and each read), only to a
    public address unless ``allow_private``."""

    def __init__(
        self,
        timeout: float = 10.0,
        *,
        allow_private: bool = False,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.timeout = timeout
        self.allow_private = allow_private
        self._resolver = resolver
        self._tls = ssl.create_default_context()

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        address = public_addresses(
            parts.hostname, allow_private=self.allow_private, resolver=self._resolver
        )[0]
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            port = parts.port or http.client.HTTPS_PORT
            connection = _PinnedHTTPSConnection(
                parts.hostname, port, str(address), self.timeout, self._tls
            )
        else:
            port = parts.port or http.client.HTTP_PORT
            connection = _PinnedHTTPConnection(parts.hostname, port, str(address), self.timeout)
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
    return HttpWebhookSender(
        timeout=settings.webhook_timeout_seconds, allow_private=settings.webhooks_allow_private
    )
