"""The wire under every fetch: httpcore's network backend dialling through ``netguard``, each
socket wait bounded by the request's whole-page deadline, Content-Encoding decoding that
notices truncation, and the headers kept for the archive (credentials redacted)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
import zlib
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpcore
import httpx
from httpcore._backends.sync import SyncStream

from scraper import netguard

from .settings import FetchSettings

# A crawl talks to many hosts at once: keep a connection per host alive between requests
# (httpx keeps 20 by default, so 50 hosts reconnected on almost every page).
LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=128, keepalive_expiry=60.0)


def tls_context() -> ssl.SSLContext:
    """Certificate verification as httpx does it by default, made once to share: building
    it loads the CA bundle (about 20 ms), which a Fetcher per host would otherwise repeat."""
    return httpx.create_ssl_context()


SECRET_HEADERS = frozenset({b"authorization", b"proxy-authorization"})


def raw_headers(headers: httpx.Headers, *, redact: bool = False) -> tuple[tuple[str, str], ...]:
    """Headers with their names as sent on the wire (httpx lowercases its own view).

    ``redact`` hides credentials a request carried: the archive is shared, the password not.
    """
    return tuple(
        (
            k.decode("latin-1"),
            "[redacted]" if redact and k.lower() in SECRET_HEADERS else v.decode("latin-1"),
        )
        for k, v in headers.raw
    )


def without_credentials(url: str) -> str:
    """``url`` without a ``user:password@`` part, as it is recorded and shown."""
    if "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def note_request(request: httpx.Request) -> None:
    """httpx request hook, before every request (redirects included): which URL is being
    sent, so a refusal at dial time (``Backend``) can name the redirect it stopped."""
    DEADLINE.url = str(request.url)


class Truncated(Exception):
    """A compressed body that ended before its stream did."""


class Decompressor:
    """Content-Encoding decoding that notices a truncated stream.

    Called with each raw chunk, it returns the decoded bytes; ``finish()`` raises
    ``Truncated`` when the compressed stream never reached its end.
    """

    def __init__(self, encoding: str | None) -> None:
        name = (encoding or "identity").strip().lower()
        self._z: Any = None
        if name in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif name == "deflate":
            self._z = zlib.decompressobj(zlib.MAX_WBITS)
            self._deflate_probe = True
        elif name not in ("identity", ""):
            raise Truncated(f"unsupported Content-Encoding {name!r}")
        self._first = True

    def __call__(self, raw: bytes) -> bytes:
        if self._z is None or not raw:
            return raw
        if self._first and getattr(self, "_deflate_probe", False):
            self._first = False
            try:  # servers send deflate both zlib-wrapped and raw
                return bytes(self._z.decompress(raw))
            except zlib.error:
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
        self._first = False
        return bytes(self._z.decompress(raw))

    def finish(self) -> bytes:
        if self._z is None:
            return b""
        tail = bytes(self._z.flush())
        if not self._z.eof:
            raise Truncated("compressed body ends before its stream does (truncated)")
        return tail


class Deadline(threading.local):
    """The current thread's request: the monotonic time it must end by (None: no request),
    and the URL being sent."""

    at: float | None = None
    # Whether the last wait was shortened by the deadline (then a timeout is the deadline's).
    cut: bool = False
    url: str | None = None  # the request being sent (the first or a redirect)


DEADLINE = Deadline()


def within_deadline(timeout: float | None) -> float | None:
    """``timeout`` shortened to what is left of the request's deadline."""
    at = DEADLINE.at
    if at is None:
        return timeout
    left = at - time.monotonic()
    DEADLINE.cut = timeout is None or left < timeout - 0.05
    if left <= 0:
        raise httpcore.ReadTimeout("the page's deadline passed")
    return left if timeout is None else min(timeout, left)


class Stream(httpcore.NetworkStream):
    """A connection whose every read and write waits at most until the request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, within_deadline(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, within_deadline(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, within_deadline(timeout))
        return Stream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class Backend(httpcore.NetworkBackend):
    """Dials through ``netguard.connect`` (one lookup, the checked address dialled) and bounds
    every socket operation by the request's deadline."""

    def __init__(self, allow_private: bool) -> None:
        self._allow_private = allow_private

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        try:
            sock = netguard.connect(
                host, port, within_deadline(timeout), allow_private=self._allow_private
            )
        except netguard.RefusedAddress:
            raise
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for option in socket_options or ():
            sock.setsockopt(*option)
        return Stream(SyncStream(sock))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def transport_for(s: FetchSettings, tls: ssl.SSLContext | None) -> httpx.HTTPTransport:
    """httpx's transport, dialling through ``Backend``.

    httpx takes no network backend of its own, so its pool is rebuilt with one: the same
    settings the client would give it.
    """
    context = tls if tls is not None else tls_context()
    transport = httpx.HTTPTransport(verify=context, trust_env=False)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=context,
        max_connections=LIMITS.max_connections,
        max_keepalive_connections=LIMITS.max_keepalive_connections,
        keepalive_expiry=LIMITS.keepalive_expiry,
        network_backend=Backend(s.allow_private),
    )
    return transport
