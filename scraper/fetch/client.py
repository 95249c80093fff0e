"""``Fetcher``: one HTTP client with archiver's timeouts, retries, size caps and User-Agent;
every attempt recorded as a ``FetchAttempt``, failures included."""

from __future__ import annotations

import email.utils
import ssl
import time
import zlib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from scraper import netguard
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
from scraper.pages import BINARY, looks_like_html
from scraper.urls import form_post

from .settings import FetchSettings, now_iso
from .wire import (
    DEADLINE,
    LIMITS,
    Decompressor,
    Truncated,
    note_request,
    raw_headers,
    transport_for,
    without_credentials,
)

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


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


class _Retryable(Exception):
    """A transient failure of one attempt; ``wait`` is the server's Retry-After, if given."""

    def __init__(self, reason: str, attempt: FetchAttempt, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempt = attempt
        self.wait = wait


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
                # Only encodings Decompressor checks for truncation (httpx's own decoders
                # accept a gzip stream cut off mid-way as if it were whole).
                "Accept-Encoding": "gzip, deflate",
            },
            timeout=httpx.Timeout(
                connect=s.connect_timeout, read=s.read_timeout, write=s.read_timeout, pool=5.0
            ),
            follow_redirects=True,
            max_redirects=s.max_redirects,
            limits=LIMITS,
            transport=transport or transport_for(s, tls),
            event_hooks={"request": [note_request]},
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
        operation waits at most until it (``DEADLINE``), so headers dripped a byte a second or
        an endless run of ``102 Processing`` end at ``total_timeout`` like a slow body does.
        """
        s = self.settings
        cap = s.max_bytes if max_bytes is None else max_bytes
        stamp = now_iso()
        started = time.monotonic()
        deadline = started + s.total_timeout
        DEADLINE.at = deadline
        DEADLINE.cut = False
        DEADLINE.url = None
        try:
            return self._exchange(url, headers, html_only, cap, truncate, stamp, started, binary)
        finally:
            DEADLINE.at = None

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
                decompress = Decompressor(response.headers.get("content-encoding"))
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
                text, encoding = ("", BINARY) if binary else decode(data, ctype)
                attempt = record(status, final, size, response=response, encoding=encoding)
                return Page(
                    url=shown,
                    final_url=final,
                    status=status,
                    content=data,
                    text=text,
                    encoding=encoding,
                    content_type=ctype,
                    headers=raw_headers(response.headers),
                    fetched_at=stamp,
                    elapsed=attempt.elapsed or 0.0,
                    redirects=tuple(without_credentials(str(r.url)) for r in response.history),
                    request_headers=raw_headers(response.request.headers, redact=True),
                    http_version=response.http_version,
                    reason=response.reason_phrase,
                    attempts=(attempt,),
                )
        except netguard.RefusedAddress as exc:
            reason = f"refused: {exc}; set allow_private = true for this site to crawl it"
            refused = without_credentials(DEADLINE.url) if DEADLINE.url else None
            raise DisallowedError(
                reason, url=url, attempts=(record(final=refused, error=reason),)
            ) from None
        except httpx.TooManyRedirects:
            reason = f"more than {s.max_redirects} redirects"
            raise FetchError(reason, url=url, attempts=(record(error=reason),)) from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            reason = f"redirected to an unsupported URL ({exc})"
            raise FetchError(reason, url=url, attempts=(record(error=reason),)) from None
        except (httpx.DecodingError, zlib.error, Truncated) as exc:
            reason = f"corrupt response body ({exc})"
            raise FetchError(reason, url=url, attempts=(record(error=reason),)) from None
        except httpx.TimeoutException as exc:
            if DEADLINE.cut:
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
            headers=raw_headers(response.headers),
            fetched_at=attempt.time,
            attempts=(attempt,),
        )
