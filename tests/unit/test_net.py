"""Which addresses Polis connects to on a tenant's behalf (``polis.kernel.net``): public unicast
only, in every spelling of an address, IPv4 and IPv6, unless private ones are allowed."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import pytest

from polis.kernel.net import AddressRefused, HostUnresolved, Resolver, public_addresses, refusal


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "non-public"),  # carrier-grade NAT
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "private"),  # reserved for future use
        ("255.255.255.255", "private"),  # broadcast
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 around 10.0.0.1
        ("2001:db8::1", "private"),  # documentation
    ],
)
def test_non_public_addresses_are_refused_with_their_reason(address: str, reason: str) -> None:
    assert refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "93.184.216.34", "2001:4860:4860::8888", "::ffff:8.8.8.8"]
)
def test_public_unicast_addresses_are_accepted(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "host", ["2130706433", "0x7f000001", "017700000001", "0x7f.1", "127.1", "[::1]", "localhost"]
)
def test_other_spellings_of_loopback_are_refused_as_the_system_reads_them(host: str) -> None:
    with pytest.raises(AddressRefused) as refused:
        public_addresses(host, refused_code="webhook.url_refused")
    assert refused.value.code == "webhook.url_refused"
    assert refused.value.field == "url"
    assert "loopback" in refused.value.message


def _resolver(table: dict[str, Sequence[str]]) -> Resolver:
    def resolve(host: str) -> Sequence[str]:
        if host not in table:
            raise OSError("Name or service not known")
        return table[host]

    return resolve


def test_a_name_is_refused_when_any_of_its_addresses_is_private() -> None:
    resolve = _resolver({"hooks.example": ["93.184.216.34", "10.0.0.7"], "ok.example": ["8.8.4.4"]})
    with pytest.raises(AddressRefused) as refused:
        public_addresses("hooks.example", resolver=resolve)
    assert "resolves to 10.0.0.7" in refused.value.message
    found = public_addresses("ok.example", resolver=resolve)
    assert found == [ipaddress.ip_address("8.8.4.4")]


def test_private_addresses_pass_when_allowed_and_unknown_names_never_do() -> None:
    resolve = _resolver({"receiver.local": ["127.0.0.1"]})
    allowed = public_addresses("receiver.local", allow_private=True, resolver=resolve)
    assert allowed == [ipaddress.ip_address("127.0.0.1")]
    with pytest.raises(HostUnresolved) as unknown:
        public_addresses("nowhere.local", allow_private=True, resolver=resolve)
    assert unknown.value.code == "net.host_unresolved"
