"""Crawl rules shared by the local crawl and the distributed workers, so both behave alike."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from scraper.crawl.config import SiteConfig
from scraper.crawl.discover import (
    Entry,
    is_crawlable,
    is_pagination_of,
    looks_like_list,
    matches_any,
    page_family,
)
from scraper.errors import BlockedError, DisallowedError, FetchError, ParseError, ScraperError
from scraper.fetch import DEFAULT_USER_AGENT, FetchSettings
from scraper.models import NewUrl, RunOutcome, TaskKind
from scraper.parse.links import Link
from scraper.urls import canonicalize, host_of

FAIL_BACKOFF = 600.0  # first wait before retrying a failed URL; doubles per failure


def is_article_link(site: SiteConfig, link: Link, list_url: str) -> bool:
    """Whether a link on a list page leads to an article of the site."""
    url = link.url
    if not is_crawlable(url) or not site.allows_host(host_of(url)):
        return False
    if url in site.start_urls or url == list_url or is_pagination_of(url, list_url):
        return False
    if page_family(url) == page_family(list_url):
        return False
    if matches_any(url, site.pagination_patterns):
        return False
    if site.article_patterns:
        return matches_any(url, site.article_patterns)
    # Without patterns: an article link reads like a headline, not like 首页 or 更多.
    return len(link.text) >= 5 and not looks_like_list(url)


def article_urls(site: SiteConfig, links: Iterable[Link], list_url: str) -> list[NewUrl]:
    """The article links of a list page, as frontier entries of ``site``."""
    return [
        NewUrl(
            canonicalize(link.url, site.strip_params),
            site.name,
            TaskKind.ARTICLE,
            lastmod=link.date,
        )
        for link in links
        if is_article_link(site, link, list_url)
    ]


def entry_urls(
    site: SiteConfig, entries: Iterable[Entry], is_index: bool, depth: int = 0
) -> list[NewUrl]:
    """The URLs of a sitemap or feed worth queueing: nested sitemaps of a sitemap index, else
    articles (those matching the site's article patterns, when it has any).

    ``depth`` is the index's own (0 for a configured sitemap): its sitemaps are one level
    deeper, none past the site's ``max_sitemap_depth``, and at most ``max_sitemaps`` of them.
    """
    if is_index and depth >= site.max_sitemap_depth:
        return []
    kind = TaskKind.SITEMAP if is_index else TaskKind.ARTICLE
    urls = [
        NewUrl(
            canonicalize(e.url, site.strip_params),
            site.name,
            kind,
            depth + 1 if is_index else 0,
            lastmod=e.date,
        )
        for e in entries
        if is_crawlable(e.url)
        and site.allows_host(host_of(e.url))
        and (
            kind == TaskKind.SITEMAP
            or not site.article_patterns
            or matches_any(e.url, site.article_patterns)
        )
    ]
    return urls[: site.max_sitemaps] if is_index else urls


def sitemap_depth_note(site: SiteConfig) -> str:
    """Why the sitemaps an index lists were not queued: it is as deep as they may go."""
    return (
        f"sitemaps nested deeper than max_sitemap_depth = {site.max_sitemap_depth} are not followed"
    )


def sitemap_count_note(site: SiteConfig) -> str:
    """Why sitemaps were left out: the site's ``max_sitemaps`` was reached."""
    return f"max_sitemaps = {site.max_sitemaps} reached: further sitemaps are not followed"


def host_failure(error: ScraperError | None) -> bool:
    """Failures that say the host is in trouble (not just one bad page)."""
    if not isinstance(error, FetchError) or isinstance(error, DisallowedError):
        return False
    if isinstance(error, BlockedError):
        return True
    return error.status is None or error.status >= 500 or error.status == 429


def fetch_settings(site: SiteConfig) -> FetchSettings:
    """How a crawl fetches the pages of ``site``."""
    return FetchSettings(
        user_agent=site.user_agent or DEFAULT_USER_AGENT,
        connect_timeout=min(10.0, site.timeout),
        read_timeout=min(30.0, site.timeout),
        total_timeout=site.timeout,
        retries=site.retries,
        allow_private=site.allow_private,
    )


def failure_wait(site: SiteConfig, error: ScraperError, failures: int) -> float:
    """Seconds before a failed URL is tried again: a backoff doubling with its failures, or
    the revisit interval for a page that is gone (404/410) or unparseable; capped at the
    revisit interval (or a minute, where that is shorter)."""
    wait = FAIL_BACKOFF * float(2 ** min(failures, 10))
    if getattr(error, "status", None) in (404, 410) or isinstance(error, ParseError):
        wait = site.revisit_after
    return min(wait, max(site.revisit_after, 60))


class RunFigures(Protocol):
    """What a run counts, local crawl or ingest alike (read-only)."""

    @property
    def found(self) -> int: ...

    @property
    def new(self) -> int: ...

    @property
    def changed(self) -> int: ...

    @property
    def unchanged(self) -> int: ...

    @property
    def not_modified(self) -> int: ...

    @property
    def failed(self) -> int: ...

    @property
    def pages(self) -> int: ...

    @property
    def seconds(self) -> float: ...

    @property
    def outcome(self) -> str: ...


def summary_line(s: RunFigures, files: Sequence[str] = ()) -> str:
    """The one-line summary a run prints on stderr; ``files``: what it says of the files
    archived articles carry ("attachments 4 (1 failed)"), after the pages' figures."""
    extra = "".join(f"{part}, " for part in files)
    line = (
        f"found {s.found}, new {s.new}, changed {s.changed}, unchanged {s.unchanged}, "
        f"not modified {s.not_modified}, failed {s.failed}, {extra}{s.seconds:.1f}s"
    )
    return line if s.outcome == RunOutcome.OK else f"{line} (stopped: {s.outcome})"


def figures(s: RunFigures, seconds: float | None = None) -> dict[str, object]:
    """A run's counts as the ``runs`` table stores them."""
    return {
        "found": s.found,
        "new": s.new,
        "changed": s.changed,
        "unchanged": s.unchanged,
        "not_modified": s.not_modified,
        "failed": s.failed,
        "pages": s.pages,
        "seconds": round(s.seconds if seconds is None else seconds, 3),
    }
