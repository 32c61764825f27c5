"""Throttling the public certificate checks: a token bucket per client address, in the process.

``GET /v1/certificates/{number}/verify``, ``POST /v1/certificates/verify`` and the ``/verify``
pages need no key, so nothing but their rate stops someone from walking through certificate
numbers. Each client address has a bucket of ``burst`` tokens (``POLIS_VERIFY_BURST``, by default
the rate) refilled continuously at ``POLIS_VERIFY_RATE_PER_MINUTE`` (60) per minute; a check
takes one token, and a client with none left is answered **429** with ``Retry-After`` (whole
seconds until the next token) — the API in the error shape of ``polis.api.errors``
(``request.rate_limited``), the page in French or English. The API and the pages share the buckets.

- **The client address** is the connection's. ``X-Forwarded-For`` is the client's to write, so it
  is ignored unless ``POLIS_TRUSTED_PROXY_HOPS`` says how many reverse proxies of ours append to
  it: the client is then that many entries from the right. IPv6 clients are counted per ``/64``
  (one subscriber's usual allocation), else a single host could rotate through addresses freely.
- **Memory is bounded**: at most ``max_clients`` buckets (10 000, about 1 MB), the least recently
  seen evicted first (an evicted client starts again with a full bucket).
- **Thread-safe** (one lock; a check is a few dictionary operations), and **per process**: behind
  several server processes each keeps its own buckets, so the effective limit is multiplied by
  their number — acceptable for slowing enumeration down; a shared limit would need a shared store.

Written here rather than taken from a library: see ``docs/architecture.md`` ("Rate limiting").
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import HTTPException

from polis.config import Settings

__all__ = [
    "VERIFY_RATE_LIMIT",
    "TokenBuckets",
    "client_address",
    "verify_limiter",
    "verify_rate_limit",
    "verify_wait",
]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """One token bucket per key: ``burst`` tokens at most, ``rate_per_minute`` added per minute.

    ``clock`` gives seconds (monotonic); tests inject theirs. A rate of 0 never refuses.
    """

    def __init__(
        self,
        rate_per_minute: float,
        burst: int,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_per_minute < 0 or burst < 1 or max_clients < 1:
            raise ValueError("rate >= 0, burst >= 1 and max_clients >= 1 are required")
        self.rate = rate_per_minute / 60.0  # tokens per second
        self.burst = float(burst)
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Callable[[], float] = time.monotonic
    ) -> TokenBuckets:
        """The buckets of the public certificate checks (``verify_*`` settings)."""
        burst = settings.verify_burst or max(1, settings.verify_rate_per_minute)
        return cls(settings.verify_rate_per_minute, burst, clock=clock)

    def take(self, key: str) -> float:
        """Take a token for ``key``: ``0.0`` when allowed, else the seconds until one is free."""
        if self.rate == 0:
            return 0.0
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = _Bucket(self.burst, now)
                self._buckets[key] = bucket
                if len(self._buckets) > self.max_clients:
                    self._buckets.popitem(last=False)  # the least recently seen
            else:
                self._buckets.move_to_end(key)
                elapsed = max(0.0, now - bucket.updated)
                bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate)
                bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)


def _key(text: str) -> str | None:
    """An address as a bucket key (IPv6 as its ``/64``, IPv4-mapped as IPv4); ``None`` if not one."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def client_address(request: Request, trusted_hops: int = 0) -> str:
    """The bucket key of the client: its address, read from ``X-Forwarded-For`` only through
    ``trusted_hops`` proxies of ours (see the module doc)."""
    peer = request.client.host if request.client else "unknown"
    if trusted_hops > 0:
        entries = [
            part.strip()
            for header in request.headers.getlist("x-forwarded-for")
            for part in header.split(",")
            if part.strip()
        ]
        forwarded = _key(entries[-trusted_hops]) if len(entries) >= trusted_hops else None
        if forwarded is not None:
            return forwarded
    return _key(peer) or peer


def verify_limiter(request: Request) -> TokenBuckets:
    """The app's buckets for certificate checks (``app.state.verify_limiter``, made by
    ``create_app``; a test may put its own, with its clock)."""
    limiter: TokenBuckets = request.app.state.verify_limiter
    return limiter


def verify_wait(request: Request) -> int:
    """A dependency: take a token for this client; ``0`` when allowed, else the whole seconds to
    wait (the ``Retry-After`` value)."""
    settings: Settings = request.app.state.settings
    wait = verify_limiter(request).take(client_address(request, settings.trusted_proxy_hops))
    return 0 if wait <= 0 else max(1, math.ceil(wait))


def verify_rate_limit(wait: Annotated[int, Depends(verify_wait)]) -> None:
    """A dependency of the API routes: 429 ``request.rate_limited`` with ``Retry-After``."""
    if wait:
        raise HTTPException(
            status_code=429,
            detail=f"too many certificate checks from this address: retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )


#: ``dependencies=[VERIFY_RATE_LIMIT]`` on a route
VERIFY_RATE_LIMIT = Depends(verify_rate_limit)
