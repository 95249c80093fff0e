"""A local crawl's result handling: one outcome applied to the archive and the frontier.

The scheduler (run.py) hands each outcome here, inside its transaction; what to write is
decided by decide.py, the same decisions a distributed worker takes, and the page goes to the
archive through ``pipeline.record``. A saved article's attachments (and pictures, where the
site keeps them) that the archive lacks join the frontier as URLs of their own, so their
hosts' politeness applies; fetched, they are kept with ``Archive.attach`` / ``keep_image`` in
the same transaction as their frontier row. Hosts that gained due URLs are reported back
through ``activate``, the one call into the scheduler.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Protocol

from scraper.archive import host_key
from scraper.crashpoints import crashpoint
from scraper.crawl.config import SiteConfig
from scraper.errors import FetchError
from scraper.models import (
    AttachmentFile,
    FetchAttempt,
    FrontierItem,
    NewUrl,
    Page,
    TaskKind,
    VisitStatus,
)
from scraper.parse.links import Listing
from scraper.pipeline import Counters, Kind, Store, record

from .decide import (
    FILE_KINDS,
    Revisit,
    RobotsVerdict,
    entry_plan,
    file_kept,
    file_urls,
    list_news,
    next_list_page,
    revisit,
    revisit_wait,
    robots_verdict,
    seconds_since,
    stamp,
    takedown,
    to_archive,
)
from .frontier import Frontier
from .rules import article_urls, sitemap_count_note
from .worker import Outcome


class CrawlState(Store, Frontier, Protocol):
    """What a local crawl needs from its store: the pipeline's ``Store``, a ``Frontier``, and
    its runs. ``Archive`` is the one that implements all three; ``PgFrontier`` implements
    the ``Frontier`` part (a distributed crawl's workers write through leases instead)."""

    def crawl_transaction(self) -> AbstractContextManager[None]: ...
    def pending_attachments(self, ident: int) -> list[str]: ...
    def attach(
        self, got: AttachmentFile, content: bytes | None, attempts: Sequence[FetchAttempt]
    ) -> list[int]: ...
    def pending_images(self, ident: int) -> list[str]: ...
    def withdraw(
        self, url: str, reason: str, time: str, attempts: Sequence[FetchAttempt], page: Page | None
    ) -> int | None: ...
    def revisit_dates(self, url: str) -> tuple[str | None, str | None, str | None] | None: ...
    def keep_image(
        self,
        url: str,
        content: bytes | None,
        attempts: Sequence[FetchAttempt],
        error: str | None = None,
    ) -> int: ...
    def run_start(self, started: str, sites: Sequence[str], pid: int) -> int: ...
    def frontier_revisit_now(self, sites: Sequence[str], now: str) -> int: ...
    def run_update(self, run_id: int, figures: dict[str, object]) -> None: ...


@dataclass
class Counts(Counters):
    """A run's pages by what became of them (``Counters``), and the run's own figures."""

    found: int = 0
    pages: int = 0
    dispatched: int = 0
    # What archived articles carry, fetched as files: never counted as pages or articles.
    attachments: int = 0
    attachments_failed: int = 0
    images: int = 0
    images_failed: int = 0
    chain: dict[str, int] = field(default_factory=dict)  # list URL -> pages with nothing new


class SitemapBudget:
    """A run's sitemaps per site: at most its ``max_sitemaps`` fetched or queued."""

    def __init__(self) -> None:
        self._seen: dict[str, set[str]] = {}

    def seen(self, site: SiteConfig) -> set[str]:
        return self._seen.setdefault(site.name, set())

    def allows(self, site: SiteConfig, url: str) -> bool:
        """Whether this run may fetch one more sitemap of ``site`` (counted once per URL)."""
        seen = self.seen(site)
        if url in seen:
            return True
        if len(seen) < site.max_sitemaps:
            seen.add(url)
            return True
        return False


class Results:
    """Applies outcomes: the page to the archive, its row and the URLs it found to the
    frontier. The caller holds the transaction."""

    def __init__(
        self,
        state: CrawlState,
        counts: Counts,
        *,
        since: str | None,
        activate: Callable[[str], None],
        note: Callable[[SiteConfig, str], None],
    ) -> None:
        self.state = state
        self.counts = counts
        self.since = since
        self.activate = activate
        self.note = note
        self.sitemaps = SitemapBudget()
        self.saved = 0  # articles saved in the open transaction (for the crash points)

    def robots_done(self, out: Outcome) -> RobotsVerdict:
        """Record a robots.txt fetch's attempts; an unreachable one counts as failed."""
        verdict = robots_verdict(out, out.task.site)
        if out.error is None or isinstance(out.error, FetchError):
            self.state.record_failure(verdict.attempts)
        if verdict.unreachable:
            self.counts.failed += 1
        return verdict

    def page_done(self, out: Outcome) -> str:
        """Apply a page's (or file's) outcome; return what became of it, as the log says."""
        task, item, site = out.task, out.task.item, out.task.site
        assert item is not None
        if task.kind in FILE_KINDS:
            return self._file_done(out, item)
        at = time.time()
        now = stamp(at)
        reason = takedown(out)
        if reason is not None and (gone := self._withdraw(out, reason, at)) is not None:
            return gone
        row = revisit(out, site, item.failures)
        got, parsed = to_archive(out)
        done = record(
            self.state,
            got,
            parsed,
            self.counts,
            prepared=out.prepared,
            strip_params=site.strip_params,
        )
        page = out.page
        if done.kind in (Kind.DISALLOWED, Kind.FAILED):
            self.state.frontier_done(task.url, row.visit(at))
            return done.kind.value
        assert page is not None
        if done.kind is Kind.NOT_MODIFIED:
            if task.kind == TaskKind.ARTICLE:
                row = revisit(out, site, item.failures, self._article_wait(site, task.url, at))
            if task.kind == TaskKind.LIST:  # nothing new; the stored next page may still be due
                self._follow_next(item, site, item.next_url, news=False, all_old=False, now=now)
            self.state.frontier_done(task.url, row.visit(at))
            return done.kind.value
        if task.kind == TaskKind.ARTICLE and done.kind is not Kind.NOT_ARTICLE:
            url = done.saved.article.canonical_url if done.saved is not None else task.url
            row = revisit(out, site, item.failures, self._article_wait(site, url, at))
        visit = row.visit(at)
        if done.saved is not None:
            # saved, its frontier row not yet written, neither committed (crashpoints.py)
            self.saved += 1
            crashpoint("save-before-commit")
            visit = replace(visit, article_id=done.saved.id)
            self._queue_files(site, done.saved.id, now)
        elif task.kind == TaskKind.LIST:
            assert out.listing is not None
            self._follow_list(item, site, page.final_url, out.listing, out.next_url, now)
        elif task.kind != TaskKind.ARTICLE:
            note = self._follow_entries(site, out, now)
            if note is not None:
                visit = replace(visit, error=note)
        self.state.frontier_done(task.url, visit)
        return done.kind.value

    def _withdraw(self, out: Outcome, reason: str, at: float) -> str | None:
        """An article's revisit found it gone (``decide.takedown``): mark the archived article
        withdrawn, keeping its text, the fetch and the page that answered, with its frontier
        row due again on its schedule (not a failure's backoff), so that a return is noticed.
        None when no article is archived there: the outcome goes the usual way, except that a
        not-found or home page is never kept as an article."""
        task, site, page = out.task, out.task.site, out.page
        assert task.item is not None
        attempts = page.attempts if page is not None else getattr(out.error, "attempts", ())
        # when it was seen gone: the time of the fetch that showed it, as an edit's
        when = page.fetched_at if page is not None else (attempts[-1].time if attempts else "")
        ident = self.state.withdraw(task.url, reason, when or stamp(at), attempts, page)
        if ident is None:
            if page is None:
                return None
            self.state.record_page(page)
            self.counts.not_article += 1
            row = Revisit(VisitStatus.NOT_ARTICLE, site.revisit_after, error=reason)
            self.state.frontier_done(task.url, row.visit(at))
            return VisitStatus.NOT_ARTICLE.value
        wait = self._article_wait(site, task.url, at)
        status = VisitStatus.FAILED if page is None else VisitStatus.NOT_ARTICLE
        row = Revisit(status, wait, error=f"withdrawn: {reason}")
        self.state.frontier_done(task.url, row.visit(at, article_id=ident))
        return "withdrawn"

    def _article_wait(self, site: SiteConfig, url: str, at: float) -> float:
        """When the article archived under ``url`` is due again (``decide.revisit_wait``)."""
        dates = self.state.revisit_dates(url)
        if dates is None:
            return site.revisit_after
        published, first_seen, changed = dates
        age = seconds_since(published, at)
        age = age if age is not None else seconds_since(first_seen, at)
        return revisit_wait(site, age, seconds_since(changed, at))

    def _queue_files(self, site: SiteConfig, ident: int, now: str) -> None:
        """Queue what a saved article carries and the archive lacks (``decide.file_urls``):
        each on its own host's queue, so that host's delay and robots.txt apply."""
        attachments = self.state.pending_attachments(ident) if site.attachments else []
        images = self.state.pending_images(ident) if site.images else []
        new = file_urls(site, attachments, images, due=True)
        if new:
            self.state.frontier_add(new, now)
            self._activate_all(u.url for u in new)

    def _file_done(self, out: Outcome, item: FrontierItem) -> str:
        """Keep a fetched attachment or picture (or why it could not be had) and mark its
        frontier row, in the caller's transaction; a failure is noted and the crawl goes on."""
        task, kept = out.task, file_kept(out)
        if kept.attachment is not None:
            self.state.attach(kept.attachment, kept.content, kept.attempts)
            self.counts.attachments += 1
            self.counts.attachments_failed += kept.failed
        else:
            self.state.keep_image(task.url, kept.content, kept.attempts, kept.error)
            self.counts.images += 1
            self.counts.images_failed += kept.failed
        self.state.frontier_done(
            task.url, revisit(out, task.site, item.failures).visit(time.time())
        )
        return "failed" if kept.failed else str(task.kind)

    def _follow_list(
        self,
        item: FrontierItem,
        site: SiteConfig,
        list_url: str,
        listing: Listing,
        next_url: str | None,
        now: str,
    ) -> None:
        """Queue a list page's articles; follow its next page while pages still bring news."""
        candidates = article_urls(site, listing.links, list_url)
        added = set(self.state.frontier_add(candidates, now))
        self.counts.found += len(added)
        news, all_old = list_news(candidates, added, self.since)
        self._activate_all(added)
        self._follow_next(item, site, next_url, news=news, all_old=all_old, now=now)

    def _follow_next(
        self,
        item: FrontierItem,
        site: SiteConfig,
        next_url: str | None,
        *,
        news: bool,
        all_old: bool,
        now: str,
    ) -> None:
        chain = self.counts.chain.get(item.url, 0)
        follow = next_list_page(site, item.depth, chain, next_url, news=news, all_old=all_old)
        if follow is not None:
            self.state.frontier_add([follow.url], now)
            self.counts.chain[follow.url.url] = follow.chain
            self.activate(host_key(follow.url.url))

    def _follow_entries(self, site: SiteConfig, out: Outcome, now: str) -> str | None:
        """Queue a sitemap's or feed's URLs; an index's within the run's sitemap budget
        (what was left out, and why, is returned, and said at the end of the run)."""
        depth = out.task.item.depth if out.task.item is not None else 0
        plan = entry_plan(site, out, depth)
        urls, note = plan.urls, plan.note
        if not plan.index:
            self.counts.found += len(self.state.frontier_add(urls, now))
        elif urls:
            urls, over = self._add_sitemaps(site, urls, now)
            note = note or over
        if note is not None:
            self.note(site, note)
        self._activate_all(u.url for u in urls)
        return note

    def _add_sitemaps(
        self, site: SiteConfig, urls: list[NewUrl], now: str
    ) -> tuple[list[NewUrl], str | None]:
        """Queue an index's sitemaps while the site's ``max_sitemaps`` for the run allows:
        new ones count against it as they are queued, known ones when they are fetched."""
        seen = self.sitemaps.seen(site)
        left = [u for u in urls if u.url not in seen]
        offered: list[NewUrl] = []
        while left and len(seen) < site.max_sitemaps:
            room = site.max_sitemaps - len(seen)
            chunk, left = left[:room], left[room:]
            seen.update(self.state.frontier_add(chunk, now))
            offered += chunk
        return offered, sitemap_count_note(site) if left else None

    def _activate_all(self, urls: Iterable[str]) -> None:
        for host in {host_key(u) for u in urls}:
            self.activate(host)
