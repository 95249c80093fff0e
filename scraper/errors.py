"""One error hierarchy; the CLI turns each class into an exit code in one place.

ScraperError                    anything archiver expects and reports cleanly
├── InputError                  a bad argument or unreadable local file (usage)
├── FetchError                  the page could not be had (carries the URL)
│   ├── HTTPStatusError         a final 4xx/5xx answer
│   ├── TooLargeError           the body passed the size cap
│   ├── NotHTMLError            the content type is not HTML
│   ├── BlockedError            429/403 after retries: the site refuses us
│   └── DisallowedError         the URL (or a redirect) points at a private address
├── ParseError                  the text could not be made into an Article
├── ArchiveError                the archive could not be opened or written
├── ConfigError                 sites.toml is missing or wrong (names file, site and key)
├── LockError                   another crawl holds the archive's lock
└── WarcError                   a WARC file or one record in it is unreadable (names the offset)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scraper.models import FetchAttempt


class ScraperError(Exception):
    """Base of every error archiver reports as one line on stderr."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url

    def __str__(self) -> str:
        msg = super().__str__()
        return f"{self.url}: {msg}" if self.url else msg


class InputError(ScraperError):
    """A bad command-line input: a missing file, an unsupported URL scheme."""


class FetchError(ScraperError):
    """The page could not be fetched.

    ``status`` is the last HTTP status seen, if any; ``attempts`` every attempt made, so the
    caller can record each failure with its reason.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        attempts: tuple[FetchAttempt, ...] = (),
    ) -> None:
        super().__init__(message, url=url)
        self.status = status
        self.attempts = attempts


class HTTPStatusError(FetchError):
    """The server answered with a final error status (after retries)."""


class TooLargeError(FetchError):
    """The response body went over the size cap; reading stopped early."""


class NotHTMLError(FetchError):
    """The response is not an HTML page (a PDF, an image, JSON...)."""


class BlockedError(FetchError):
    """The site kept answering 429 or 403: rate-limited or blocked."""


class DisallowedError(FetchError):
    """A crawled URL, or a redirect, leads to a private, loopback or link-local address."""


class ParseError(ScraperError):
    """The page could not be parsed into an Article."""


class ArchiveError(ScraperError):
    """The archive database could not be opened, migrated or written."""


class ConfigError(ScraperError):
    """The crawl configuration is unreadable or wrong; says which file, site and key."""

    def __init__(
        self, message: str, *, path: str, site: str | None = None, key: str | None = None
    ) -> None:
        where = path
        if site is not None:
            where += f": site {site!r}"
        if key is not None:
            where += f": key {key!r}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.site = site
        self.key = key


class LockError(ScraperError):
    """Another crawl holds the archive's lock: two writers must never run at once."""


class WarcError(ScraperError):
    """A WARC file, or one record in it, could not be read; ``offset`` is where the record
    starts in the file (compressed offset for .warc.gz), so it can be found and inspected."""

    def __init__(self, message: str, *, path: str, offset: int | None = None) -> None:
        where = path if offset is None else f"{path}: record at offset {offset}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.offset = offset
