"""Fetching an ICS feed from its URL: http(s) only, a timeout, a size limit, at most five
redirects, and every host — the first and each redirect's — checked against private and local
addresses (:mod:`polis.kernel.net`) unless ``allow_private`` (development)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from polis.kernel.errors import InvalidInput
from polis.kernel.net import public_addresses

__all__ = ["FetchLimits", "fetch_ics"]


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """How an ICS URL is fetched."""

    timeout_seconds: float = 10.0
    max_bytes: int = 2 * 1024 * 1024
    allow_private: bool = False


def _refused_scheme() -> InvalidInput:
    return InvalidInput(
        "a calendar URL is http:// or https://", field="url", code="calendar.url_refused"
    )


def _check_host(host: str, allow_private: bool) -> None:
    if allow_private:
        return
    public_addresses(
        host,
        field="url",
        refused_code="calendar.url_refused",
        unresolved_code="calendar.fetch_failed",
    )


def fetch_ics(
    url: str, limits: FetchLimits = FetchLimits(), *, transport: httpx.BaseTransport | None = None
) -> bytes:
    """GET an ICS feed over http(s) within the limits; a clear ``calendar.fetch_failed`` else."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _refused_scheme()
    hooks: dict[str, list[Callable[[httpx.Request], None]]] = {}
    if transport is None:
        _check_host(parts.hostname, limits.allow_private)

        def check_redirect(request: httpx.Request) -> None:
            if request.url.scheme not in ("http", "https"):
                raise _refused_scheme()
            _check_host(request.url.host, limits.allow_private)

        hooks["request"] = [check_redirect]  # every request, redirects included
    chunks: list[bytes] = []
    size = 0
    try:
        with (
            httpx.Client(
                timeout=limits.timeout_seconds,
                follow_redirects=True,
                max_redirects=5,
                transport=transport,
                event_hooks=hooks,
                headers={"Accept": "text/calendar, */*;q=0.5", "User-Agent": "Polis-Calendar/1"},
            ) as client,
            client.stream("GET", url.strip()) as response,
        ):
            if response.status_code != 200:
                raise InvalidInput(
                    f"the calendar server answered HTTP {response.status_code}",
                    field="url",
                    code="calendar.fetch_failed",
                )
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limits.max_bytes:
                    raise InvalidInput(
                        f"the calendar is larger than {limits.max_bytes} bytes",
                        field="url",
                        code="calendar.too_large",
                    )
                chunks.append(chunk)
    except httpx.TimeoutException as e:
        raise InvalidInput(
            f"the calendar server did not answer within {limits.timeout_seconds:g} s",
            field="url",
            code="calendar.fetch_failed",
        ) from e
    except httpx.HTTPError as e:
        raise InvalidInput(
            f"the calendar could not be fetched: {e}", field="url", code="calendar.fetch_failed"
        ) from e
    return b"".join(chunks)
