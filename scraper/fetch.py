"""Getting page bytes: the only module that imports httpx.

Every attempt is recorded (as a ``FetchAttempt``) so the archive can keep one row per attempt,
failures included. Bodies are streamed and cut off at the size cap, so an oversized or endless
response costs at most the cap in memory; a whole-page deadline bounds slow drips that a
per-read timeout never catches.
"""

from __future__ import annotations

import email.utils
import re
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpcore
import httpx
from httpcore._backends.sync import SyncStream

from scraper import __version__, netguard
from scraper.decode import decode
from scraper.errors import (
    BlockedError,
    DisallowedError,
    FetchError,
    HTTPStatusError,
    InputError,
    NotHTMLError,
    TooLargeError,
)
from scraper.models import FetchAttempt, Page
from scraper.pages import looks_like_html, page_from_bytes
from scraper.urls import form_post

DEFAULT_USER_AGENT = (
    f"archiver/{__version__} (+https://github.com/archiver-project/archiver; "
    "archiving public government articles)"
)
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# A crawl talks to many hosts at once: keep a connection per host alive between requests
# (httpx keeps 20 by default, so 50 hosts reconnected on almost every page).
_LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=128, keepalive_expiry=60.0)


@dataclass(frozen=True)
class FetchSettings:
    """How politely and how patiently to fetch. Defaults suit one-off fetches."""

    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 10
    retries: int = 3
    backoff: float = 0.5
    max_retry_wait: float = 30.0
    # False in crawls (unless a site allows it): refuse any request, redirects included, to a
    # private, loopback or link-local address. A user's own `archiver fetch URL` may go anywhere.
    allow_private: bool = True


def now_iso() -> str:
    """Current UTC time, ISO 8601 with seconds, as stored in the archive."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


def is_local(target: str) -> bool:
    """True when a command-line target names a file on disk (a path or a ``file://`` URL)."""
    scheme_end = _SCHEME.match(target)  # not urlsplit: it refuses malformed URLs
    scheme = scheme_end.group(1).lower() if scheme_end else ""
    return scheme in ("", "file") or len(scheme) == 1  # one letter: a Windows drive


def read_local(target: str, *, url: str | None = None, max_bytes: int | None = None) -> Page:
    """A saved page read from disk (a path or a ``file://`` URL), as if it had been fetched.

    ``url`` says where the page came from; without it, the address the page itself records
    (``saved_from``), so that it gets its real site and absolute links; failing that, its
    ``file://`` URL.
    """
    split = urlsplit(target)
    path = Path(unquote(split.path)) if split.scheme.lower() == "file" else Path(target)
    started = time.monotonic()
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise TooLargeError(f"file is {size} bytes, over the {max_bytes}-byte cap", url=target)
        data = path.read_bytes()
    except IsADirectoryError as exc:
        raise InputError(f"{path}: is a directory, not a saved page") from exc
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    if not looks_like_html(data):
        raise NotHTMLError("file does not look like an HTML page", url=str(path))
    final_url = url or saved_from(data) or path.resolve().as_uri()
    return page_from_bytes(
        final_url,
        data,
        fetched_at=now_iso(),
        status=None,  # read from disk: no HTTP exchange
        elapsed=round(time.monotonic() - started, 4),
    )


# What a browser's "Save as" leaves in the file: Internet Explorer, Edge and Chrome write
# "<!-- saved from url=(0046)https://... -->" (the count is the address's length); SingleFile
# a comment with a "url:" line. The page's own <link rel=canonical> and og:url come next.
_SAVED_FROM = re.compile(rb"<!--\s*saved from url=\((\d{1,5})\)(\S+?)(?=\s|-->|$)", re.IGNORECASE)
_SINGLE_FILE = re.compile(rb"<!--\s*Page saved with SingleFile\s+url:\s*(\S+)", re.IGNORECASE)
_HEAD_TAG = re.compile(rb"<(link|meta)\b([^>]*)>", re.IGNORECASE)
_ATTRIBUTE = re.compile(rb"""([\w:.-]+)\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)""")
_LOOK_AT = 256 * 1024  # where a saved page keeps these: its top and its <head>


def saved_from(data: bytes) -> str | None:
    """The web address a saved page records of itself, or None: the "saved from url" comment
    a browser writes (or SingleFile's), else an absolute ``<link rel=canonical>``, else
    ``<meta property="og:url">``. Only an http(s) URL with a host counts."""
    from html import unescape

    from scraper.urls import is_web_url

    head = data[:_LOOK_AT]
    found: list[bytes] = []
    saved = _SAVED_FROM.search(head)
    if saved:
        length, address = int(saved.group(1)), saved.group(2)
        found.append(address[:length] if 0 < length <= len(address) else address)
    single = _SINGLE_FILE.search(head)
    if single:
        found.append(single.group(1))
    canonical: list[bytes] = []
    og_url: list[bytes] = []
    for tag in _HEAD_TAG.finditer(head):
        attrs = {k.lower(): v.strip(b"\"'") for k, v in _ATTRIBUTE.findall(tag.group(2))}
        if tag.group(1).lower() == b"link":
            if b"canonical" in attrs.get(b"rel", b"").lower().split() and b"href" in attrs:
                canonical.append(attrs[b"href"])
        elif attrs.get(b"property", attrs.get(b"name", b"")).lower() == b"og:url":
            og_url.append(attrs.get(b"content", b""))
    for candidate in (*found, *canonical, *og_url):
        url = unescape(candidate.decode("utf-8", "replace")).strip()
        if is_web_url(url):
            return url
    return None


def _retry_after(value: str | None, cap: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not "²" (a digit to isdigit()) nor "３"
        return min(float(value), cap)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min((when - datetime.now(UTC)).total_seconds(), cap))


def tls_context() -> ssl.SSLContext:
    """Certificate verification as httpx does it by default, made once to share: building
    it loads the CA bundle (about 20 ms), which a Fetcher per host would otherwise repeat."""
    return httpx.create_ssl_context()


class _Cookies(httpx.Cookies):
    """A client's cookie jar, unchanged by a response that sets no cookie, holding only
    cookies that can be sent back.

    httpx hands every response to the standard library's jar wrapped, with its request, in
    urllib objects (the request's URL parsed again): a tenth of a millisecond a page in a
    crawl's fetching process, for the few responses that set a cookie.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)
            # A cookie set in raw UTF-8 or GBK (张三) could never go back: httpx encodes a
            # request's headers as ASCII, and every later request to the site would fail.
            for cookie in list(self.jar):
                if not (cookie.name + (cookie.value or "")).isascii():
                    self.jar.clear(cookie.domain, cookie.path, cookie.name)


class _Client(httpx.Client):
    """``httpx.Client`` keeping its cookies in a ``_Cookies`` jar."""

    def __init__(self, **kwargs: Any) -> None:
        cookies = kwargs.pop("cookies", None)
        super().__init__(**kwargs)
        self._jar = _Cookies(cookies)

    @property
    def cookies(self) -> httpx.Cookies:
        return self._jar

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._jar = _Cookies(cookies)


class Fetcher:
    """An HTTP client with archiver's timeouts, retries, size cap and User-Agent.

    Use as a context manager so connections are pooled across pages and closed at the end.
    ``transport`` lets unit tests plug in ``httpx.MockTransport``; ``tls`` shares one
    :func:`tls_context` between many fetchers.
    """

    def __init__(
        self,
        settings: FetchSettings | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings or FetchSettings()
        s = self.settings
        self._sleep = sleep
        self._client = _Client(
            headers={
                "User-Agent": s.user_agent,
                "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
                "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5",
                # Only encodings _Decompressor checks for truncation (httpx's own decoders
                # accept a gzip stream cut off mid-way as if it were whole).
                "Accept-Encoding": "gzip, deflate",
            },
            timeout=httpx.Timeout(
                connect=s.connect_timeout, read=s.read_timeout, write=s.read_timeout, pool=5.0
            ),
            follow_redirects=True,
            max_redirects=s.max_redirects,
            limits=_LIMITS,
            transport=transport or _transport(s, tls),
            event_hooks={"request": [_note_request]},
            verify=tls if tls is not None else True,
            # Only what the site settings say: an environment proxy would dial for us, past
            # the address check and the deadline.
            trust_env=False,
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def fetch(self, url: str, *, headers: dict[str, str] | None = None) -> Page:
        """Fetch one page, retrying transient failures; raise a FetchError when it can't.

        Retries: connection errors and timeouts, 5xx and 429, with exponential backoff, or the
        server's Retry-After when it gives one (capped by ``max_retry_wait``).
        """
        return self._fetch(url, headers or {}, html_only=True)

    def fetch_text(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        max_bytes: int | None = None,
        truncate: bool = False,
    ) -> Page:
        """Fetch a non-HTML text resource (robots.txt, a sitemap, a feed) with the same client,
        timeouts, size cap and retries as ``fetch``; any Content-Type is accepted.

        ``max_bytes`` replaces the settings' cap; with ``truncate`` a longer body is cut at the
        cap and returned rather than refused (robots.txt: RFC 9309 says to parse at least the
        first 500 KiB, so a huge file still keeps its ``Disallow: /`` at the top).
        """
        return self._fetch(
            url, headers or {}, html_only=False, max_bytes=max_bytes, truncate=truncate
        )

    def fetch_file(self, url: str, *, max_bytes: int | None = None) -> Page:
        """Fetch a file (an attachment, an image) as bytes, not decoded as text; any
        Content-Type, the same client, timeouts, retries, and ``max_bytes`` as its cap."""
        return self._fetch(url, {}, html_only=False, max_bytes=max_bytes, binary=True)

    def _fetch(
        self,
        url: str,
        headers: dict[str, str],
        *,
        html_only: bool,
        max_bytes: int | None = None,
        truncate: bool = False,
        binary: bool = False,
    ) -> Page:
        try:
            parts = urlsplit(url)
            _ = parts.port  # checks the host's brackets and the port
        except ValueError as exc:
            raise InputError(f"not a valid URL ({exc})", url=url) from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise InputError(f"unsupported URL scheme {scheme!r}; use http(s) or a path", url=url)
        if not parts.hostname:  # httpx would call it a missing protocol
            raise InputError("no host in the URL", url=url)
        attempts: list[FetchAttempt] = []
        s = self.settings
        for attempt_no in range(s.retries + 1):
            last = attempt_no == s.retries
            try:
                page = self._attempt(
                    url,
                    headers,
                    html_only=html_only,
                    max_bytes=max_bytes,
                    truncate=truncate,
                    binary=binary,
                )
            except _Retryable as exc:
                attempts.append(exc.attempt)
                if last:
                    cls = BlockedError if exc.attempt.status in (429, 403) else FetchError
                    if exc.attempt.status and exc.attempt.status >= 500:
                        cls = HTTPStatusError
                    raise cls(
                        f"{exc.reason} (after {attempt_no + 1} attempts)",
                        url=url,
                        status=exc.attempt.status,
                        attempts=tuple(attempts),
                    ) from None
                wait = exc.wait if exc.wait is not None else s.backoff * (2**attempt_no)
                self._sleep(wait)
                continue
            except FetchError as exc:
                attempts.extend(exc.attempts)
                exc.attempts = tuple(attempts)
                raise
            if attempts:  # the attempts that failed before this one
                page = replace(page, attempts=(*attempts, *page.attempts))
            return page
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(
        self,
        url: str,
        headers: dict[str, str],
        *,
        html_only: bool = True,
        max_bytes: int | None = None,
        truncate: bool = False,
        binary: bool = False,
    ) -> Page:
        """One request: stream the body under the cap and the deadline, then decode it.

        The deadline covers the whole exchange, from connecting to the last byte: every socket
        operation waits at most until it (``_DEADLINE``), so headers dripped a byte a second or
        an endless run of ``102 Processing`` end at ``total_timeout`` like a slow body does.
        """
        s = self.settings
        cap = s.max_bytes if max_bytes is None else max_bytes
        stamp = now_iso()
        started = time.monotonic()
        deadline = started + s.total_timeout
        _DEADLINE.at = deadline
        _DEADLINE.cut = False
        _DEADLINE.url = None
        try:
            return self._exchange(url, headers, html_only, cap, truncate, stamp, started, binary)
        finally:
            _DEADLINE.at = None

    def _exchange(
        self,
        url: str,
        headers: dict[str, str],
        html_only: bool,
        cap: int,
        truncate: bool,
        stamp: str,
        started: float,
        binary: bool = False,
    ) -> Page:
        s = self.settings
        deadline = started + s.total_timeout
        shown = without_credentials(url)

        def record(
            status: int | None = None,
            final: str | None = None,
            size: int | None = None,
            error: str | None = None,
            response: httpx.Response | None = None,
            encoding: str | None = None,
        ) -> FetchAttempt:
            return FetchAttempt(
                url=shown,
                time=stamp,
                status=status,
                final_url=without_credentials(final) if final else final,
                bytes=size,
                encoding=encoding,
                elapsed=round(time.monotonic() - started, 4),
                error=error,
                etag=response.headers.get("etag") if response is not None else None,
                last_modified=response.headers.get("last-modified")
                if response is not None
                else None,
            )

        try:
            post = form_post(url)
            with (
                self._client.stream("GET", url, headers=headers)
                if post is None
                else self._client.stream("POST", post[0], data=post[1], headers=headers)
            ) as response:
                final = without_credentials(str(response.url))
                if post is not None and str(response.url) == post[0]:
                    final = shown  # the form's parameters belong to the page's address
                status = response.status_code
                if status in _RETRY_STATUSES:
                    wait = _retry_after(response.headers.get("retry-after"), s.max_retry_wait)
                    reason = f"HTTP {status}"
                    raise _Retryable(reason, record(status, final, error=reason), wait)
                if status == 304:
                    return self._not_modified(url, response, record(status, final, 0))
                if status >= 400:
                    reason = f"HTTP {status}"
                    cls = BlockedError if status == 403 else HTTPStatusError
                    raise cls(
                        reason,
                        url=url,
                        status=status,
                        attempts=(record(status, final, error=reason, response=response),),
                    )
                ctype = response.headers.get("content-type")
                if (
                    html_only
                    and ctype
                    and not ctype.split(";")[0].strip().lower().startswith(_HTML_TYPES)
                    and not (post is not None and "xml" in ctype.lower())  # a jpage answer
                ):
                    reason = f"not an HTML page (Content-Type: {ctype.split(';')[0].strip()})"
                    raise NotHTMLError(
                        reason,
                        url=url,
                        status=status,
                        attempts=(record(status, final, error=reason, response=response),),
                    )
                declared = response.headers.get("content-length")
                if declared and declared.isdecimal() and int(declared) > cap and not truncate:
                    reason = f"body of {declared} bytes is over the {cap}-byte cap"
                    raise TooLargeError(
                        reason,
                        url=url,
                        status=status,
                        attempts=(record(status, final, error=reason, response=response),),
                    )
                chunks: list[bytes] = []
                size = 0
                decompress = _Decompressor(response.headers.get("content-encoding"))
                for raw in response.iter_raw():
                    chunk = decompress(raw)
                    size += len(chunk)
                    if size > cap and truncate:
                        chunks.append(chunk[: len(chunk) - (size - cap)])
                        size = cap
                        break
                    if size > cap:
                        reason = f"body is over the {cap}-byte cap; stopped reading"
                        raise TooLargeError(
                            reason,
                            url=url,
                            status=status,
                            attempts=(record(status, final, size, reason, response),),
                        )
                    if time.monotonic() > deadline:
                        reason = f"page took over {s.total_timeout:g}s to download"
                        raise _Retryable(reason, record(status, final, size, reason, response))
                    chunks.append(chunk)
                else:
                    chunks.append(decompress.finish())
                data = b"".join(chunks)
                if not data.strip():
                    reason = "empty response body"
                    raise FetchError(
                        reason,
                        url=url,
                        status=status,
                        attempts=(record(status, final, 0, reason, response),),
                    )
                if html_only and not ctype and not looks_like_html(data):
                    reason = "not an HTML page (no Content-Type, content is not markup)"
                    raise NotHTMLError(
                        reason,
                        url=url,
                        status=status,
                        attempts=(record(status, final, size, reason, response),),
                    )
                text, encoding = ("", "binary") if binary else decode(data, ctype)
                attempt = record(status, final, size, response=response, encoding=encoding)
                return Page(
                    url=shown,
                    final_url=final,
                    status=status,
                    content=data,
                    text=text,
                    encoding=encoding,
                    content_type=ctype,
                    headers=_raw_headers(response.headers),
                    fetched_at=stamp,
                    elapsed=attempt.elapsed or 0.0,
                    redirects=tuple(without_credentials(str(r.url)) for r in response.history),
                    request_headers=_raw_headers(response.request.headers, redact=True),
                    http_version=response.http_version,
                    reason=response.reason_phrase,
                    attempts=(attempt,),
                )
        except netguard.RefusedAddress as exc:
            reason = f"refused: {exc}; set allow_private = true for this site to crawl it"
            refused = without_credentials(_DEADLINE.url) if _DEADLINE.url else None
            raise DisallowedError(
                reason, url=url, attempts=(record(final=refused, error=reason),)
            ) from None
        except httpx.TooManyRedirects:
            reason = f"more than {s.max_redirects} redirects"
            raise FetchError(reason, url=url, attempts=(record(error=reason),)) from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            reason = f"redirected to an unsupported URL ({exc})"
            raise FetchError(reason, url=url, attempts=(record(error=reason),)) from None
        except (httpx.DecodingError, zlib.error, _Truncated) as exc:
            reason = f"corrupt response body ({exc})"
            raise FetchError(reason, url=url, attempts=(record(error=reason),)) from None
        except httpx.TimeoutException as exc:
            if _DEADLINE.cut:
                reason = f"page took over {s.total_timeout:g}s to download"
            else:
                reason = f"timed out ({type(exc).__name__})"
            raise _Retryable(reason, record(error=reason)) from None
        except httpx.TransportError as exc:
            reason = f"connection failed ({type(exc).__name__}: {exc})"
            raise _Retryable(reason, record(error=reason)) from None

    def _not_modified(self, url: str, response: httpx.Response, attempt: FetchAttempt) -> Page:
        """A 304 answer to a conditional request: a Page with no content."""
        return Page(
            url=url,
            final_url=str(response.url),
            status=304,
            content=b"",
            text="",
            encoding="",
            content_type=response.headers.get("content-type"),
            headers=_raw_headers(response.headers),
            fetched_at=attempt.time,
            attempts=(attempt,),
        )


_SECRET_HEADERS = frozenset({b"authorization", b"proxy-authorization"})


def _raw_headers(headers: httpx.Headers, *, redact: bool = False) -> tuple[tuple[str, str], ...]:
    """Headers with their names as sent on the wire (httpx lowercases its own view).

    ``redact`` hides credentials a request carried: the archive is shared, the password not.
    """
    return tuple(
        (
            k.decode("latin-1"),
            "[redacted]" if redact and k.lower() in _SECRET_HEADERS else v.decode("latin-1"),
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


def _note_request(request: httpx.Request) -> None:
    """httpx request hook, before every request (redirects included): which URL is being
    sent, so a refusal at dial time (``_Backend``) can name the redirect it stopped."""
    _DEADLINE.url = str(request.url)


class _Truncated(Exception):
    """A compressed body that ended before its stream did."""


class _Decompressor:
    """Content-Encoding decoding that notices a truncated stream.

    Called with each raw chunk, it returns the decoded bytes; ``finish()`` raises
    ``_Truncated`` when the compressed stream never reached its end.
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
            raise _Truncated(f"unsupported Content-Encoding {name!r}")
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
            raise _Truncated("compressed body ends before its stream does (truncated)")
        return tail


class _Retryable(Exception):
    """A transient failure of one attempt; ``wait`` is the server's Retry-After, if given."""

    def __init__(self, reason: str, attempt: FetchAttempt, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempt = attempt
        self.wait = wait


class _Deadline(threading.local):
    """The current thread's request: the monotonic time it must end by (None: no request),
    and the URL being sent."""

    at: float | None = None
    # Whether the last wait was shortened by the deadline (then a timeout is the deadline's).
    cut: bool = False
    url: str | None = None  # the request being sent (the first or a redirect)


_DEADLINE = _Deadline()


def _within_deadline(timeout: float | None) -> float | None:
    """``timeout`` shortened to what is left of the request's deadline."""
    at = _DEADLINE.at
    if at is None:
        return timeout
    left = at - time.monotonic()
    _DEADLINE.cut = timeout is None or left < timeout - 0.05
    if left <= 0:
        raise httpcore.ReadTimeout("the page's deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    """A connection whose every read and write waits at most until the request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _within_deadline(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _within_deadline(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, _within_deadline(timeout))
        return _Stream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
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
                host, port, _within_deadline(timeout), allow_private=self._allow_private
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
        return _Stream(SyncStream(sock))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _transport(s: FetchSettings, tls: ssl.SSLContext | None) -> httpx.HTTPTransport:
    """httpx's transport, dialling through ``_Backend``.

    httpx takes no network backend of its own, so its pool is rebuilt with one: the same
    settings the client would give it.
    """
    context = tls if tls is not None else tls_context()
    transport = httpx.HTTPTransport(verify=context, trust_env=False)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=context,
        max_connections=_LIMITS.max_connections,
        max_keepalive_connections=_LIMITS.max_keepalive_connections,
        keepalive_expiry=_LIMITS.keepalive_expiry,
        network_backend=_Backend(s.allow_private),
    )
    return transport
