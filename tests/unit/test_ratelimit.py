"""The token buckets that throttle the public certificate checks (``polis.api.ratelimit``): a
burst, a steady refill, one bucket per client (IPv6 per /64), bounded memory, safe across
threads, and ``X-Forwarded-For`` believed only through proxies we declared."""

from __future__ import annotations

import threading

import pytest
from starlette.requests import Request

from polis.api.ratelimit import TokenBuckets, client_address


class Clock:
    """Seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_61st_check_in_a_minute_waits_for_the_next_token() -> None:
    clock = Clock()
    buckets = TokenBuckets(60, 60, clock=clock)
    assert [buckets.take("198.51.100.7") for _ in range(60)] == [0.0] * 60
    assert buckets.take("198.51.100.7") == pytest.approx(1.0)
    assert buckets.take("203.0.113.9") == 0.0  # another client has its own bucket
    clock.now += 0.5
    assert buckets.take("198.51.100.7") == pytest.approx(0.5)  # half a token so far
    clock.now += 0.5
    assert buckets.take("198.51.100.7") == 0.0
    assert buckets.take("198.51.100.7") > 0


def test_the_bucket_refills_at_the_rate_up_to_the_burst() -> None:
    clock = Clock()
    buckets = TokenBuckets(60, 10, clock=clock)
    for _ in range(10):
        buckets.take("a")
    clock.now += 3600  # an hour idle: full again, not 3 600 tokens
    allowed = sum(buckets.take("a") == 0.0 for _ in range(20))
    assert allowed == 10


def test_a_rate_of_zero_never_refuses() -> None:
    buckets = TokenBuckets(0, 1, clock=Clock())
    assert {buckets.take("a") for _ in range(1000)} == {0.0}


def test_memory_is_bounded_by_evicting_the_least_recently_seen_client() -> None:
    clock = Clock()
    buckets = TokenBuckets(60, 1, max_clients=3, clock=clock)
    for key in ("a", "b", "c"):
        assert buckets.take(key) == 0.0
    assert buckets.take("a") > 0  # "a" is now the most recently seen
    assert buckets.take("d") == 0.0  # evicts "b", the least recently seen
    assert len(buckets) == 3
    assert buckets.take("a") > 0
    assert buckets.take("c") > 0
    assert buckets.take("b") == 0.0  # forgotten: a full bucket again


def test_threads_never_get_more_tokens_than_the_bucket_holds() -> None:
    buckets = TokenBuckets(60, 500, clock=Clock())
    allowed: list[int] = []
    lock = threading.Lock()

    def hammer() -> None:
        mine = sum(buckets.take("same") == 0.0 for _ in range(200))
        with lock:
            allowed.append(mine)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed) == 500


def _request(peer: str, forwarded: list[str] | None = None) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded or []]
    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers, "client": (peer, 1)}
    return Request(scope)


def test_x_forwarded_for_is_ignored_unless_proxies_are_declared() -> None:
    forged = _request("198.51.100.7", ["1.2.3.4"])
    assert client_address(forged) == "198.51.100.7"
    behind_one = _request("10.0.0.2", ["1.2.3.4, 203.0.113.9"])
    assert client_address(behind_one, trusted_hops=1) == "203.0.113.9"  # the proxy's entry
    behind_two = _request("10.0.0.2", ["1.2.3.4", "203.0.113.9, 10.0.0.1"])
    assert client_address(behind_two, trusted_hops=2) == "203.0.113.9"
    assert client_address(_request("10.0.0.2"), trusted_hops=1) == "10.0.0.2"  # no header
    assert client_address(_request("10.0.0.2", ["junk"]), trusted_hops=1) == "10.0.0.2"


def test_ipv6_clients_share_a_bucket_per_64_and_mapped_ipv4_is_ipv4() -> None:
    one = client_address(_request("2001:db8:1:2::1"))
    other = client_address(_request("2001:db8:1:2:ffff::9"))
    assert one == other == "2001:db8:1:2::/64"
    assert client_address(_request("2001:db8:1:3::1")) != one
    assert client_address(_request("::ffff:198.51.100.7")) == "198.51.100.7"
