"""Which hosts a crawl may talk to: no private, loopback, link-local or otherwise non-public
addresses unless a site allows them (a crawled link must not reach the crawler's own network).

``refused_address(host)`` resolves a host name and returns the first address that is not
public, with why, or None. A name that does not resolve is not refused here: the fetch fails
on it with a connection error, recorded like any other.
"""

from __future__ import annotations

import ipaddress
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def why_not_public(ip: IPAddress) -> str | None:
    """Why an address is not on the public internet ("loopback", "private"...), or None."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("non-public", not ip.is_global),
    ):
        if flag:
            return kind
    return None


def refused_address(host: str) -> str | None:
    """``"127.0.0.1 (loopback)"`` when ``host`` is or resolves to a non-public address.

    Every address the name resolves to is checked: one private answer is enough to refuse.
    """
    name = host.strip("[]")
    if not name:
        return None
    try:
        candidates: list[str] = [str(ipaddress.ip_address(name))]
    except ValueError:
        try:
            infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return None
        candidates = [str(info[4][0]) for info in infos]
    for text in dict.fromkeys(candidates):
        try:
            ip = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            continue
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        kind = why_not_public(ip)
        if kind is not None:
            return f"{ip} ({kind})"
    return None
