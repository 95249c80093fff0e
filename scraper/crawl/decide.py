"""What a fetched URL comes to, decided once for the local crawl and the distributed workers.

Both crawlers hold an ``Outcome`` (a page or the error that stopped it, and what parsing made
of it) and must decide the same things: the frontier row's new state (``revisit``), what the
archive gets (``to_archive``), which URLs the page adds (``article_urls`` of a list page,
``entry_plan`` of a sitemap or feed, ``next_list_page``) and what a robots.txt answer means
(``robots_verdict``), when an archived article is due again (``revisit_wait``) and whether a
revisit shows it taken down (``takedown``). These are pure functions; each crawler applies
them through its own frontier (a transaction of the archive, or a lease-checked PostgreSQL
completion), so the two cannot drift apart. What legitimately differs comes in as arguments:
``since`` (only a local run has one), the previous chain count (kept in memory by a local
run, in the frontier row by the distributed one), an article's revisit wait (a local run
knows its dates from the archive).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

from scraper.crawl.config import SiteConfig
from scraper.crawl.discover import (
    Robots,
    is_crawlable,
    looks_like_list,
    older_than,
    robots_for_status,
    robots_head,
)
from scraper.crawl.rules import entry_urls, failure_wait, sitemap_count_note, sitemap_depth_note
from scraper.errors import DisallowedError, FetchError, ScraperError, TooLargeError
from scraper.fetch import DEFAULT_USER_AGENT
from scraper.models import (
    Article,
    AttachmentFile,
    FetchAttempt,
    NewUrl,
    Page,
    TaskKind,
    Visit,
    VisitStatus,
)
from scraper.pipeline import take_attachment
from scraper.urls import canonicalize, host_of, is_web_url

from .worker import Outcome

ROBOTS_MAX_AGE = 86400.0  # seconds a stored robots.txt is trusted
ERROR_CHARS = 500  # of an error's text kept in the frontier row
# What an archived article carries, fetched as a file, not as a page.
FILE_KINDS = frozenset({TaskKind.ATTACHMENT, TaskKind.IMAGE})
# A file kept is not due again on a schedule (attachments are tens of megabytes and rarely
# change): it is made due when an article newly links to it (``Results``). Ten years, the
# longest wait sites.toml allows, so the due time stays a date.
FILE_KEPT_WAIT = 3650 * 86400.0


def stamp(epoch: float | None = None) -> str:
    """UTC time with microseconds, fixed width, so frontier times sort as text."""
    frac, whole = math.modf(time.time() if epoch is None else epoch)
    micro = round(frac * 1e6)  # rounded as datetime.fromtimestamp rounds
    second = int(whole) + micro // 1_000_000
    return f"{_second(second)}.{micro % 1_000_000:06d}Z"


@functools.lru_cache(maxsize=4)
def _second(second: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` of a whole second (a crawl stamps many times a second)."""
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


# ---------------------------------------------------------------- the frontier row


@dataclass(frozen=True)
class Revisit:
    """A fetched URL's frontier row, due again ``wait`` seconds after the fetch. Relative, so
    a local run turns it into a ``Visit`` by its clock and PostgreSQL by the database's."""

    status: VisitStatus
    wait: float
    failed: bool = False
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    next_url: str | None = None

    def visit(self, now: float | None = None, article_id: int | None = None) -> Visit:
        at = time.time() if now is None else now
        return Visit(
            self.status,
            stamp(at),
            stamp(at + self.wait),
            failed=self.failed,
            etag=self.etag,
            last_modified=self.last_modified,
            article_id=article_id,
            error=self.error,
            next_url=self.next_url,
        )


def revisit(
    out: Outcome, site: SiteConfig, failures: int, article_wait: float | None = None
) -> Revisit:
    """The frontier row a page's outcome leaves (``failures``: the URL's failures so far).

    A refused fetch (a redirect to a private address) is due again after the revisit
    interval, a failure after its backoff (``failure_wait``), a file kept (``FILE_KINDS``)
    not on a schedule, an archived article after ``article_wait`` (``revisit_wait``), anything
    else after the revisit interval; a list page keeps its next page's URL, an article not
    kept why it was not.
    """
    every = site.revisit_after
    if article_wait is not None and out.task.kind == TaskKind.ARTICLE:
        every = min(article_wait, every)
    page, error = out.page, out.error
    if error is not None:
        if page is None and isinstance(error, DisallowedError):
            return Revisit(VisitStatus.DISALLOWED, every, error=str(error)[:ERROR_CHARS])
        return Revisit(
            VisitStatus.FAILED,
            failure_wait(site, error, failures),
            failed=True,
            error=str(error)[:ERROR_CHARS],
        )
    assert page is not None
    if page.status == 304:
        return Revisit(VisitStatus.NOT_MODIFIED, every)
    if out.task.kind in FILE_KINDS:
        return Revisit(VisitStatus.OK, FILE_KEPT_WAIT)
    etag, modified = page.header("etag"), page.header("last-modified")
    status, error_text, next_url = VisitStatus.OK, None, None
    if out.task.kind == TaskKind.ARTICLE and out.article is not None and not out.article.kept:
        status, error_text = VisitStatus.NOT_ARTICLE, out.article.rejected
    elif out.task.kind == TaskKind.LIST:
        next_url = out.next_url
    return Revisit(status, every, False, etag, modified, error_text, next_url)


HOUR, DAY = 3600.0, 86400.0
# (age under, revisit every): the first row an article's age falls under applies.
REVISIT_BY_AGE = ((2 * DAY, 6 * HOUR), (7 * DAY, DAY), (30 * DAY, 2 * DAY))
CHANGED_RECENTLY = 2 * DAY  # an article edited, withdrawn or restored since: every 6 h


def revisit_wait(site: SiteConfig, age: float | None, since_change: float | None = None) -> float:
    """Seconds until an archived article is revisited: young articles are the ones edited or
    taken down, so they are asked often, and old ones at the site's pace.

    ======================================  ============================
    age (published, else first seen)        next visit
    ======================================  ============================
    under 2 days                            every 6 h
    under 7 days                            every day
    under 30 days                           every 2 days
    older, or not known                     the site's ``revisit_after``
    changed in the last 2 days              every 6 h, whatever its age
    ======================================  ============================

    (changed: edited, withdrawn or restored, as ``Archive.changes`` lists them.)

    Never later than ``revisit_after``, the ceiling for all (a site's delay is untouched).
    """
    wait = site.revisit_after
    if age is not None:
        wait = next((every for under, every in REVISIT_BY_AGE if age < under), wait)
    if since_change is not None and since_change < CHANGED_RECENTLY:
        wait = REVISIT_BY_AGE[0][1]
    return min(wait, site.revisit_after)


def seconds_since(iso: str | None, now: float) -> float | None:
    """Seconds from a stored time or date (``2024-05-01``, ``...T08:00:00Z``) to ``now``;
    None when there is none or it cannot be read."""
    if not iso:
        return None
    try:
        when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = datetime.fromisoformat(iso[:10])
        except ValueError:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, now - when.timestamp())


# ---------------------------------------------------------------- takedowns

GONE_STATUSES = (404, 410)


def is_front(url: str) -> str | None:
    """``home page`` or ``list page`` when ``url`` is a site's home page (``/``,
    ``/index.html``) or shaped like a list page (``discover.looks_like_list``), else None."""
    path = urlsplit(url).path
    if path in ("", "/") or path.lower() in ("/index.html", "/index.htm", "/index.shtml"):
        return "home page"
    return "list page" if looks_like_list(url) else None


def takedown(out: Outcome) -> str | None:
    """Why an article's fetch shows it gone, or None: ``HTTP 404``/``HTTP 410`` (5xx and
    timeouts are failures, not takedowns), ``not-found page`` (the site's not-found page
    with status 200, ``Outcome.missing``), or ``redirected to home page``/``... a list page``
    (a redirect there from a URL that was neither). Such a page is never saved as the
    article; whether an article was archived there is the archive's to say."""
    if out.task.kind != TaskKind.ARTICLE:
        return None
    page, error = out.page, out.error
    if page is None:
        status = getattr(error, "status", None)
        return f"HTTP {status}" if status in GONE_STATUSES else None
    if page.status != 200:
        return None
    if page.final_url != page.url and is_front(out.task.url) is None:
        front = is_front(page.final_url)
        if front is not None:
            return f"redirected to {'home page' if front == 'home page' else 'a list page'}"
    if out.missing:
        return "not-found page"
    return None


def to_archive(out: Outcome) -> tuple[Page | ScraperError, Article | ScraperError | None]:
    """What ``pipeline.record`` gets for a page's outcome: the page, or the error that stopped
    its fetch; and the article, the error parsing met, or None (not parsed as an article)."""
    if out.page is None:
        assert out.error is not None
        return out.error, None
    parsed = out.error or (out.article if out.task.kind == TaskKind.ARTICLE else None)
    return out.page, parsed


# ---------------------------------------------------------------- URLs a page adds


def list_news(
    candidates: Sequence[NewUrl], added: set[str], since: str | None
) -> tuple[bool, bool]:
    """(news, all_old) of a list page: whether it brought a new URL not older than ``since``,
    and whether every dated link on it is older than ``since`` (then the list ends here)."""
    news = any(c.url in added and not older_than(c.lastmod, since) for c in candidates)
    dated = [c for c in candidates if c.lastmod]
    all_old = bool(since and dated and all(older_than(c.lastmod, since) for c in dated))
    return news, all_old


@dataclass(frozen=True)
class NextPage:
    """The next page of a list to make due, and its pages in a row with nothing new."""

    url: NewUrl
    chain: int


def next_list_page(
    site: SiteConfig,
    depth: int,
    chain: int,
    next_url: str | None,
    *,
    news: bool,
    all_old: bool = False,
) -> NextPage | None:
    """The next list page, unless pages in a row brought nothing new (``chain``: the count
    up to this page), or only articles older than --since, or the list is as deep as
    ``max_list_pages``."""
    unchanged = 0 if news else chain + 1
    if (
        next_url
        and is_crawlable(next_url)
        and site.allows_host(host_of(next_url))
        and depth + 1 < site.max_list_pages
        and unchanged < site.stop_after_unchanged
        and not all_old
    ):
        url = canonicalize(next_url, site.strip_params)
        return NextPage(NewUrl(url, site.name, TaskKind.LIST, depth + 1, due=True), unchanged)
    return None


@dataclass(frozen=True)
class EntryPlan:
    """What a sitemap or feed adds: its URLs (articles, or an index's sitemaps), and why some
    were left out (``note``, kept in the row's error and said at the end of a run)."""

    urls: list[NewUrl]
    index: bool
    note: str | None = None


def entry_plan(site: SiteConfig, out: Outcome, depth: int) -> EntryPlan:
    """The URLs of a fetched sitemap or feed within the site's sitemap bounds: an index as
    deep as ``max_sitemap_depth`` adds nothing, and at most ``max_sitemaps`` of its own."""
    urls = entry_urls(site, out.entries, out.is_index, depth)
    if not out.is_index:
        return EntryPlan(urls, False)
    if out.entries and depth >= site.max_sitemap_depth:
        return EntryPlan([], True, sitemap_depth_note(site))
    cut = len(out.entries) > len(urls) >= site.max_sitemaps  # by entry_urls
    return EntryPlan(urls, True, sitemap_count_note(site) if cut else None)


def file_urls(
    site: SiteConfig, attachments: Sequence[str], images: Sequence[str], *, due: bool
) -> list[NewUrl]:
    """What a saved article carries that the crawl fetches: its attachments (unless the site
    turns them off) and its pictures (where the site keeps them). Each keeps the exact URL the
    article names, the file's key in the archive; on whatever host, whose queue it joins.
    ``due``: make a known URL due again (a local crawl passes only what the archive lacks)."""
    urls = [(u, TaskKind.ATTACHMENT) for u in attachments] if site.attachments else []
    urls += [(u, TaskKind.IMAGE) for u in images] if site.images else []
    return [NewUrl(u, site.name, kind, due=due) for u, kind in urls if is_web_url(u)]


@dataclass(frozen=True)
class FileKept:
    """What the archive gets for a fetched attachment or picture: the file (None: none to
    keep), its attempts, an attachment's kind and text or why there is none (``attachment``),
    a picture's reason for having no file (``error``)."""

    content: bytes | None
    attempts: tuple[FetchAttempt, ...]
    failed: bool
    attachment: AttachmentFile | None = None
    error: str | None = None


def file_kept(out: Outcome) -> FileKept:
    """What an attachment's or picture's outcome leaves in the archive (``Archive.attach``,
    ``Archive.keep_image``); a failed fetch keeps its attempts and reason."""
    page, error = out.page, out.error
    attempts = page.attempts if page is not None else ()
    if page is None and isinstance(error, FetchError):
        attempts = error.attempts
    failed = page is None or error is not None
    reason = str(error)[:ERROR_CHARS] if error is not None else None
    if out.task.kind != TaskKind.ATTACHMENT:
        content = page.content if page is not None and error is None else None
        return FileKept(content, attempts, failed, error=reason)
    got = out.attachment
    if got is None:  # the fetch failed: no file to read, only the reason
        got = take_attachment(out.task.url, None, error if isinstance(error, FetchError) else None)
        if reason is not None and not isinstance(error, FetchError):
            got = replace(got, error=reason)
    return FileKept(page.content if page is not None else None, attempts, failed, got)


# ---------------------------------------------------------------- robots.txt


@dataclass(frozen=True)
class RobotsVerdict:
    """What a robots.txt answer means. ``unreachable``: no rules could be read (a network
    failure, 5xx, 429, or a file refused for its size): crawl nothing on the host for now."""

    unreachable: bool
    status: int | None = None
    rules: Robots | None = None
    crawl_delay: float | None = None
    attempts: tuple[FetchAttempt, ...] = ()

    @property
    def text(self) -> str | None:
        """The rules' text to store (None: no rules, or keep out)."""
        return self.rules.text if self.rules is not None else None


def robots_verdict(out: Outcome, site: SiteConfig) -> RobotsVerdict:
    """The rules a robots.txt fetch brought for ``site``'s user agent, or that it brought none
    (what Google does with an unreachable robots.txt: crawl nothing there for now)."""
    if out.error is not None:
        status = getattr(out.error, "status", None)
        attempts = out.error.attempts if isinstance(out.error, FetchError) else ()
        if status is None or status >= 500 or status == 429 or too_large(out.error):
            return RobotsVerdict(True, status, attempts=attempts)
        rules = robots_for_status(status, None)
    else:
        assert out.page is not None
        status, attempts = out.page.status, out.page.attempts
        rules = robots_for_status(status, robots_head(out.page.text, len(out.page.content)))
    delay = rules.crawl_delay(site.user_agent or DEFAULT_USER_AGENT)
    return RobotsVerdict(False, status, rules, delay, attempts)


def too_large(error: BaseException) -> bool:
    """A robots.txt refused for its size: never "no rules". The first ``ROBOTS_MAX_BYTES`` are
    fetched and read, so this only comes from a fetcher that refused the whole file."""
    return isinstance(error, TooLargeError)


def robots_fresh(age: float | None) -> bool:
    """Whether a robots.txt fetched ``age`` seconds ago is still trusted (None: never)."""
    return age is not None and age <= ROBOTS_MAX_AGE


def seeds(sites: Sequence[SiteConfig]) -> list[NewUrl]:
    """What every run (or distributed enqueue) makes due: start URLs, sitemaps and feeds, and
    the first page of each JSON list."""
    return [
        NewUrl(canonicalize(url, site.strip_params), site.name, kind, due=True)
        for site in sites
        for kind, urls in (
            (TaskKind.LIST, site.start_urls),
            (TaskKind.LIST, tuple(j.first() for j in site.json_lists)),
            (TaskKind.SITEMAP, site.sitemaps),
            (TaskKind.FEED, site.feeds),
        )
        for url in urls
    ]


# ---------------------------------------------------------------- before a fetch


def refusal(
    site: SiteConfig, url: str, robots: Robots | None, refused: str | None
) -> Revisit | None:
    """Why a due URL is not fetched, as its frontier row: its host resolves to a private
    address (``refused``, unless the site allows private ones) or robots.txt disallows it;
    None when it may be fetched. Due again after the revisit interval."""
    if refused is not None and not site.allow_private:
        return Revisit(VisitStatus.DISALLOWED, site.revisit_after, error=f"not fetched: {refused}")
    agent = site.user_agent or DEFAULT_USER_AGENT
    if site.obey_robots and robots is not None and not robots.allows(url, agent):
        return Revisit(VisitStatus.DISALLOWED, site.revisit_after)
    return None


def conditional_headers(etag: str | None, last_modified: str | None) -> tuple[tuple[str, str], ...]:
    """The validators of a URL's last fetch, so an unchanged page answers 304."""
    headers: list[tuple[str, str]] = []
    if etag:
        headers.append(("If-None-Match", etag))
    if last_modified:
        headers.append(("If-Modified-Since", last_modified))
    return tuple(headers)
