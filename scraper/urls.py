"""URL rules as pure functions: what makes two URLs the same page, and which host a URL is on."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonicalize(url: str) -> str:
    """A conservative canonical form: lowercase scheme and host, no fragment, no default port.

    The path and the query are kept exactly: gov CMSs put article ids in query strings
    (``id=``, ``uid=``), so nothing there is dropped or reordered here.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return urlunsplit(parts._replace(fragment=""))
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username or parts.password:
        netloc = f"{parts.username or ''}:{parts.password or ''}@{netloc}".replace(":@", "@")
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def host_of(url: str) -> str:
    """The lowercase host a URL points at ("" for a file path)."""
    return (urlsplit(url).hostname or "").lower()
