"""Which hosts a crawl may talk to: no private, loopback, link-local or otherwise non-public
addresses unless a site allows them (a crawled link must not reach the crawler's own network).

``refused_address(host)`` resolves a host name and returns the first address that is not
public, with why, or None: an early, cheap answer for a crawl's scheduler. A name that does not
resolve is not refused there: the fetch fails on it with a connection error, recorded like any
other. The check that holds is ``connect``, which every fetch dials through: it resolves once,
checks every answer and connects to exactly the addresses it checked.
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
    if not name.isascii():  # dial and check the same spelling: the IDNA form a request uses
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
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


class RefusedAddress(OSError):
    """A connection to a non-public address, refused before it was opened."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} is a private address {address}")
        self.host = host
        self.address = address


def connect(host: str, port: int, timeout: float | None, *, allow_private: bool) -> socket.socket:
    """A TCP connection to ``host``, resolved once: the addresses checked are the ones dialled.

    Checking a name in one lookup and connecting after another lets a name that answers
    public first and 127.0.0.1 next (DNS rebinding) through, and a name checked under one
    spelling (Unicode) but dialled under another (``xn--``) too. ``host`` is the ASCII form
    the connection uses. One non-public answer refuses the host, as in ``refused_address``.
    """
    name = host.strip("[]")
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except UnicodeError as exc:
        raise socket.gaierror(f"cannot encode host name {host!r}: {exc}") from None
    if not allow_private:
        for info in infos:
            try:
                ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            except ValueError:
                raise RefusedAddress(host, f"{info[4][0]} (not an IP address)") from None
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            kind = why_not_public(ip)
            if kind is not None:
                raise RefusedAddress(host, f"{ip} ({kind})")
    error: OSError = OSError(f"{host}: no address to connect to")
    for family, socktype, proto, _, address in infos:
        sock = socket.socket(family, socktype, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        return sock
    raise error
