"""Which network addresses Polis may connect to on a tenant's behalf (server-side request forgery).

A tenant gives Polis URLs to call — a calendar feed to fetch, a webhook receiver to post to. Without
a check, ``http://169.254.169.254/…`` (a cloud metadata service), ``http://127.0.0.1:5432`` or any
host of the server's private network would be reached *from the server*. The rule, shared by the
calendar fetch (``polis.services.triggers.calendar_fetch``), webhook registration
(``polis.services.webhooks``) and webhook delivery (``polis.notify.webhooks``):

    a host is used only when **every** address it resolves to is a public (global unicast) one.

Refused, IPv4 and IPv6 alike: loopback (``127.0.0.0/8``, ``::1``), private (``10/8``,
``172.16/12``, ``192.168/16``, ``fc00::/7``), shared (``100.64/10``), link-local (``169.254/16`` —
the metadata address —, ``fe80::/10``), multicast, reserved and unspecified (``0.0.0.0``, ``::``)
addresses, and an IPv4 address mapped or embedded in IPv6 (``::ffff:127.0.0.1``, 6to4, NAT64) is
judged as the IPv4 address it carries. Hosts are resolved with the system resolver
(``getaddrinfo``), so the other spellings of an address — ``2130706433``, ``0x7f.1``,
``017700000001``, ``127.1`` — are read as the operating system would connect to them.

A name resolved now may resolve elsewhere a second later (DNS rebinding): a caller that connects
must connect to the address checked (:func:`public_addresses` returns them), not resolve again.

This is the kernel's one module that performs I/O (a DNS lookup); the resolver is a parameter.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from typing import ClassVar

from polis.kernel.errors import InvalidInput

__all__ = [
    "AddressRefused",
    "HostUnresolved",
    "IPAddress",
    "Resolver",
    "public_addresses",
    "refusal",
    "system_resolver",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: host → the addresses it resolves to (text); raises ``OSError`` when it does not resolve
Resolver = Callable[[str], Sequence[str]]

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class AddressRefused(InvalidInput):
    """A URL's host is, or resolves to, an address that is not public."""

    code: ClassVar[str] = "net.address_refused"


class HostUnresolved(InvalidInput):
    """A URL's host does not resolve."""

    code: ClassVar[str] = "net.host_unresolved"


def system_resolver(host: str) -> list[str]:
    """The addresses of ``host`` from the operating system (``getaddrinfo``, TCP)."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def _judged(address: IPAddress) -> tuple[IPAddress, ...]:
    """The addresses to judge: an IPv4-mapped or NAT64 address as the IPv4 address it carries
    (the connection goes there), a 6to4 one as itself and its IPv4 address, others as they are."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return (address.ipv4_mapped,)
        if address in _NAT64:
            return (ipaddress.IPv4Address(int(address) & 0xFFFFFFFF),)
        if address.sixtofour is not None:
            return (address, address.sixtofour)
    return (address,)


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` may not be connected to (``"loopback"``, ``"private"``…), ``None`` when it
    is a public unicast address."""
    for candidate in _judged(address):
        for reason, flag in (
            ("unspecified", candidate.is_unspecified),
            ("loopback", candidate.is_loopback),
            ("link-local", candidate.is_link_local),
            ("multicast", candidate.is_multicast),
            ("private", candidate.is_private),
            ("reserved", candidate.is_reserved),
        ):
            if flag:
                return reason
        if not candidate.is_global:
            return "non-public"
    return None


def public_addresses(
    host: str,
    *,
    allow_private: bool = False,
    resolver: Resolver = system_resolver,
    field: str = "url",
    refused_code: str | None = None,
    unresolved_code: str | None = None,
) -> list[IPAddress]:
    """The addresses ``host`` resolves to, every one public — else :class:`AddressRefused`
    (the first refused address and why); :class:`HostUnresolved` when it does not resolve.

    ``allow_private`` (development: local receivers) skips the check, not the lookup. The
    ``*_code`` arguments give the errors a caller's own codes (``calendar.url_refused``…).
    """
    name = host.strip().strip("[]")  # an IPv6 literal comes bracketed from a URL
    try:
        found = [ipaddress.ip_address(text.split("%", 1)[0]) for text in resolver(name)]
    except (OSError, UnicodeError, ValueError) as e:
        raise HostUnresolved(
            f"cannot resolve {host!r}: {e}", field=field, code=unresolved_code
        ) from e
    if not found:
        raise HostUnresolved(f"{host!r} has no address", field=field, code=unresolved_code)
    if allow_private:
        return found
    for address in found:
        reason = refusal(address)
        if reason is not None:
            shown = "" if str(address) == name else f" resolves to {address}, which"
            raise AddressRefused(
                f"{host}{shown} is a {reason} address: refused (only public addresses are "
                "reached from the server)",
                field=field,
                code=refused_code,
            )
    return found
