"""One page's way into the archive: a fetched page (or its failure) → archive → counters.

Every front end ends the same way: ``archiver fetch``, a crawl's writer, the ingest of a
distributed crawl and the WARC import each hold a page (or the error that stopped it) and what
parsing made of it, and must save an article that is kept, keep the bytes of a page that is
not, record the attempts of a failure, and count what happened. That step is ``record`` here,
written once, so the four cannot drift apart; what legitimately differs between them comes in
as arguments (a crawl's site parameters, the import's "a later capture is archived" test), and
what each does around it (a frontier row, a ledger entry, a line on stdout) stays with it.

The step, for one page::

    bytes ──page_from_bytes──▶ Page ──safe_parse──▶ Article ──record──▶ archive + Counters
    (fetch/ builds a fetched Page itself)           (or ParseError)

and ``record`` decides, in this order:

=============================  ===============================  ==================
what came                      what the archive gets            counted as
=============================  ===============================  ==================
a fetch refused (private IP)   its attempts                     (nothing)
a fetch failure                its attempts                     ``failed``
a page its parser failed on    the page's bytes and fetch       ``failed``
a 304 Not Modified             the revisit                      ``not_modified``
a page not parsed as article   the page's bytes and fetch       (nothing)
an article not kept            the page's bytes and fetch       ``not_article``
an article superseded          the page's bytes and fetch       ``older``
an article kept                the article (works, versions)    ``new``/``updated``/
                                                                ``unchanged``
=============================  ===============================  ==================

Also here, because every front end needs the same answer: ``looks_like_html`` (the one sniff
of bytes that came without a usable Content-Type) and ``safe_parse`` (the parser, its
blowups on hostile pages turned into ``ParseError``).

This module is imported by fetching processes (through the crawl), which load no parser, numpy
or SQLite: the parser is imported when first used, the archive only named as a ``Store``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from scraper.errors import DisallowedError, FetchError, ParseError, ScraperError
from scraper.models import Article, AttachmentFile, FetchAttempt, Page, SaveResult
from scraper.pages import looks_like_html, page_from_bytes
from scraper.urls import canonicalize

if TYPE_CHECKING:
    from scraper.archive.prepare import Prepared

__all__ = [
    "ATTACHMENT_MAX_BYTES",
    "AttachmentCounts",
    "Counters",
    "Kind",
    "Recorded",
    "Store",
    "fetch_attachments",
    "looks_like_html",
    "page_from_bytes",
    "parser_guard",
    "record",
    "safe_parse",
    "take_attachment",
]

# ---------------------------------------------------------------- Page -> Article


@contextmanager
def parser_guard(url: str | None) -> Iterator[None]:
    """Turn a parser's blowup on a hostile or broken page into a ``ParseError``.

    A page nested beyond Python's recursion limit, or one that trips a parser bug (ValueError,
    TypeError, IndexError, KeyError), fails that page only: the batch or crawl goes on.
    """
    try:
        yield
    except RecursionError as exc:
        raise ParseError("page is nested too deeply to parse", url=url) from exc
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise ParseError(f"could not parse page ({type(exc).__name__}: {exc})", url=url) from exc


def safe_parse(page: Page) -> Article:
    """``parse_page`` on a page; any failure is a ``ParseError`` naming the page's URL."""
    from scraper.parse import parse_page  # not at import: fetching processes load no parser

    with parser_guard(page.url):
        return parse_page(page.text, page.final_url)


# ---------------------------------------------------------------- Article -> archive


class Store(Protocol):
    """What the step writes to; ``Archive`` is the one store."""

    def save(
        self, page: Page, article: Article, prepared: Prepared | None = None
    ) -> SaveResult: ...
    def record_page(self, page: Page) -> None: ...
    def record_failure(self, attempts: Iterable[FetchAttempt]) -> None: ...
    def not_modified(self, page: Page) -> int | None: ...


class Kind(StrEnum):
    """What became of one page."""

    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    NOT_MODIFIED = "not_modified"
    PAGE = "page"  # not parsed as an article (a list page, a sitemap): kept as a raw page
    NOT_ARTICLE = "not_article"  # parsed, not kept as an article: kept as a raw page
    OLDER = "older"  # an article older than the archived record: kept as a raw page
    FAILED = "failed"
    DISALLOWED = "disallowed"  # refused before any answer (a redirect to a private address)


@dataclass(frozen=True)
class Recorded:
    """What ``record`` did: the kind, the save (for an article kept) or the error (for a
    failure, a refusal or a page that is not an article)."""

    kind: Kind
    saved: SaveResult | None = None
    error: ScraperError | None = None


@dataclass
class Counters:
    """Pages by what became of them; a front end's figures extend these."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    not_modified: int = 0
    not_article: int = 0
    older: int = 0
    failed: int = 0

    @property
    def changed(self) -> int:
        """``updated``, as a run's figures (the ``runs`` table) call it."""
        return self.updated

    def count(self, kind: Kind) -> None:
        """One more page of ``kind`` (kinds without a counter count nothing)."""
        name = kind.value
        if name in _COUNTED:
            setattr(self, name, getattr(self, name) + 1)

    def add(self, other: Counters) -> None:
        """Add another's counts (a batch's, once its transaction committed)."""
        for name in _COUNTED:
            setattr(self, name, getattr(self, name) + getattr(other, name))


_COUNTED = frozenset(f.name for f in fields(Counters))


def record(
    store: Store,
    got: Page | ScraperError,
    parsed: Article | ScraperError | None,
    counters: Counters,
    *,
    prepared: Prepared | None = None,
    strip_params: Sequence[str] | None = None,
    superseded: Callable[[Page, Article], bool] | None = None,
) -> Recorded:
    """Archive one page, or its failure, and count it (the table in the module's docstring).

    ``got`` is the page, or the error that stopped its fetch; ``parsed`` what parsing made of
    the page: an article, the error parsing met, or None for a page not parsed as an article.
    ``prepared`` is what the archive derives from the article, computed where it was parsed.
    ``strip_params``: a site's own query parameters, dropped from the article's canonical URL
    (a crawl). ``superseded(page, article)``: True when the archive already holds a later
    capture of the article (an import of old captures), which must stay the record.
    The caller owns the transaction: each store call is atomic, and a crawl wraps them with its
    frontier row in one.
    """
    if isinstance(got, ScraperError):
        if isinstance(got, FetchError):
            store.record_failure(got.attempts)
        kind = Kind.DISALLOWED if isinstance(got, DisallowedError) else Kind.FAILED
        counters.count(kind)
        return Recorded(kind, error=got)
    page = got
    if isinstance(parsed, ScraperError):
        store.record_page(page)
        counters.count(Kind.FAILED)
        return Recorded(Kind.FAILED, error=parsed)
    if page.status == 304:
        store.not_modified(page)
        counters.count(Kind.NOT_MODIFIED)
        return Recorded(Kind.NOT_MODIFIED)
    if parsed is None:
        store.record_page(page)
        return Recorded(Kind.PAGE)
    if not parsed.kept:
        store.record_page(page)
        counters.count(Kind.NOT_ARTICLE)
        return Recorded(Kind.NOT_ARTICLE, error=ParseError(f"not an article: {parsed.rejected}"))
    article = parsed
    if strip_params is not None:
        article = replace(article, canonical_url=canonicalize(article.canonical_url, strip_params))
    if superseded is not None and superseded(page, article):
        store.record_page(page)
        counters.count(Kind.OLDER)
        return Recorded(Kind.OLDER)
    saved = store.save(page, article, prepared)
    kind = Kind(saved.status.value)
    counters.count(kind)
    return Recorded(kind, saved=saved)


# ---------------------------------------------------------------- attachments

ATTACHMENT_MAX_BYTES = 50 * 1024 * 1024
"""The size cap of one attachment (a page's cap is far smaller): what scraper.documents reads
at most. A larger file is recorded with its reason, not kept."""


class AttachmentStore(Protocol):
    """What fetching an article's attachments writes to; ``Archive`` is the one store."""

    def pending_attachments(self, ident: int) -> list[str]: ...
    def attach(
        self,
        got: AttachmentFile,
        content: bytes | None,
        attempts: Sequence[FetchAttempt],
        page: Page | None = None,
    ) -> list[int]: ...


class FileFetcher(Protocol):
    def fetch_file(self, url: str, *, max_bytes: int | None = None) -> Page: ...


@dataclass
class AttachmentCounts:
    """Attachments fetched with an article: kept with text, kept without, failed."""

    text: int = 0
    no_text: int = 0
    failed: int = 0


def take_attachment(url: str, page: Page | None, error: FetchError | None) -> AttachmentFile:
    """What a fetched attachment (or its failure) is: its kind and text, or why there is none.
    Shared by every front end that fetches attachments, so they store them alike."""
    if page is None:
        reason = (
            (error.args[0] if error.args else str(error)) if error is not None else "not fetched"
        )
        when = error.attempts[-1].time if error is not None and error.attempts else ""
        return AttachmentFile(url, when, error=reason)
    from scraper.documents import extract  # a PDF library: loaded by those that need it

    name = url.rsplit("/", 1)[-1].split("?", 1)[0]
    got = extract(page.content, name=name, mime=page.content_type)
    return AttachmentFile(
        url,
        page.fetched_at,
        size=len(page.content),
        kind=got.kind,
        mime=got.mime,
        text=got.text,
        error=got.error,
    )


def fetch_attachments(
    store: AttachmentStore,
    fetcher: FileFetcher,
    ident: int,
    *,
    max_bytes: int = ATTACHMENT_MAX_BYTES,
    counts: AttachmentCounts | None = None,
    on_failure: Callable[[FetchError], None] | None = None,
) -> AttachmentCounts:
    """Fetch the attachments of article ``ident`` not fetched yet, extract their text and keep
    them: each in its own transaction, a failure recorded with its reason (and passed to
    ``on_failure``); the rest go on."""
    counts = counts if counts is not None else AttachmentCounts()
    for url in store.pending_attachments(ident):
        try:
            page = fetcher.fetch_file(url, max_bytes=max_bytes)
        except FetchError as exc:
            store.attach(take_attachment(url, None, exc), None, exc.attempts)
            counts.failed += 1
            if on_failure is not None:
                on_failure(exc)
            continue
        got = take_attachment(url, page, None)
        store.attach(got, page.content, page.attempts, page)
        if got.text is not None:
            counts.text += 1
        else:
            counts.no_text += 1
    return counts
