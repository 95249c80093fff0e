"""What completing a claim writes, in one PostgreSQL transaction: the frontier row, the URLs
found and the result for the ingest, as ``decide`` says (the local crawl's decisions).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from scraper.archive import host_key
from scraper.crawl.config import SiteConfig
from scraper.crawl.decide import (
    FILE_KINDS,
    EntryPlan,
    entry_plan,
    file_urls,
    list_news,
    next_list_page,
    revisit,
    robots_verdict,
    takedown,
    to_archive,
)
from scraper.crawl.discover import is_crawlable
from scraper.crawl.frontier_pg import Claim, Completion
from scraper.crawl.rules import article_urls, host_failure
from scraper.crawl.worker import Outcome
from scraper.errors import DisallowedError, FetchError, ScraperError
from scraper.models import Article, NewUrl, TaskKind, VisitStatus
from scraper.urls import canonicalize

from .wire import encode_file, encode_result


@dataclass
class _Plan:
    """What completing one claim writes; ``apply`` runs inside the completion transaction
    (and again, from the start, if a lost connection made it roll back). What to write is
    decided by decide.py, as for a local crawl; here it goes through the claim's leases."""

    claim: Claim
    out: Outcome
    site: SiteConfig
    hosts: set[str] = field(default_factory=set)
    articles: list[NewUrl] = field(default_factory=list)
    files: list[NewUrl] = field(default_factory=list)  # what a kept article carries
    entries: EntryPlan | None = None
    failed: bool = False
    lost: bool = False

    def apply(self, tx: Completion) -> None:
        self.lost = False
        if self.claim.robots:
            self._robots_done(tx)
            return
        self.lost = not self._page_done(tx)
        self._release(tx)

    def _release(self, tx: Completion, **robots: Any) -> None:
        out, site = self.out, self.site
        crawl_delay = robots.get("crawl_delay", self.claim.candidate.crawl_delay)
        tx.release_host(
            max(site.delay, crawl_delay or 0.0),
            failed=host_failure(out.error),
            ok=out.page is not None and not host_failure(out.error),
            max_failures=site.max_host_failures,
            **robots,
        )

    def _robots_done(self, tx: Completion) -> None:
        out = self.out
        verdict = robots_verdict(out, self.site)
        if out.error is None or isinstance(out.error, FetchError):
            tx.push("attempts", out.task.url, *encode_result(None, attempts=verdict.attempts))
        if verdict.unreachable:
            # robots.txt unreachable (or refused for its size): leave the host alone for a
            # while (a local crawl sets it aside for the run); asked again after the pause.
            self.failed = True
            self._release(tx, pause=True)
            return
        self._release(tx, robots=(verdict.text, verdict.status), crawl_delay=verdict.crawl_delay)

    def _page_done(self, tx: Completion) -> bool:
        """The frontier row, the URLs found and the result for the ingest, as decided for a
        local crawl (``decide``); False when the lease was lost (nothing written)."""
        out, site, c = self.out, self.site, self.claim.candidate
        row = revisit(out, site, c.failures)
        self.failed = row.failed
        if not tx.finish_url(
            row.status,
            row.wait,
            failed=row.failed,
            etag=row.etag,
            last_modified=row.last_modified,
            next_url=row.next_url,
            error=row.error if self.entries is None else self.entries.note,
        ):
            return False
        found = 0
        if row.status is VisitStatus.NOT_MODIFIED and c.kind == TaskKind.LIST:
            self._follow_next(tx, c.next_url, news=False)
        elif row.status is VisitStatus.OK and c.kind == TaskKind.LIST:
            added = tx.add(self.articles)
            found = len(added)
            news, _ = list_news(self.articles, set(added), None)
            self._follow_next(tx, row.next_url, news=news)
        elif row.status is VisitStatus.OK and self.entries is not None:
            added = tx.add(self.entries.urls)
            found = 0 if self.entries.index else len(added)
        elif row.status is VisitStatus.OK and self.files:
            tx.add(self.files)
        self._push(tx, found)
        return True

    def _push(self, tx: Completion, found: int) -> None:
        """The result the ingest writes through ``pipeline.record`` (``decide.to_archive``)."""
        out, url = self.out, self.claim.candidate.url
        if self.claim.candidate.kind in FILE_KINDS:
            tx.push(self.claim.candidate.kind, url, *encode_file(out))
            return
        reason = takedown(out)
        if reason is not None:  # the ingest withdraws the archived article, if there is one
            attempts = out.error.attempts if isinstance(out.error, FetchError) else ()
            tx.push("withdrawn", url, *encode_result(out.page, attempts=attempts, reason=reason))
            return
        got, parsed = to_archive(out)
        if isinstance(got, ScraperError):
            if isinstance(got, FetchError):
                disallowed = isinstance(got, DisallowedError)
                result = encode_result(
                    None, attempts=got.attempts, failed=True, disallowed=disallowed
                )
                tx.push("attempts", url, *result)
        elif isinstance(parsed, ScraperError):
            tx.push("page", url, *encode_result(got, failed=True))
        elif got.status == 304:
            tx.push("not_modified", url, *encode_result(got))
        elif isinstance(parsed, Article):
            article, digest = parsed, None
            if parsed.kept:
                canonical = canonicalize(parsed.canonical_url, self.site.strip_params)
                article = replace(parsed, canonical_url=canonical)
                digest = out.prepared.digest if out.prepared is not None else None
            tx.push("article", url, *encode_result(got, article=article, digest=digest))
        else:
            tx.push("page", url, *encode_result(got, found=found))

    def _follow_next(self, tx: Completion, next_url: str | None, *, news: bool) -> None:
        c = self.claim.candidate
        follow = next_list_page(self.site, c.depth, c.chain, next_url, news=news)
        if follow is not None:
            tx.add([follow.url], chain=follow.chain)


def _plan(claim: Claim, out: Outcome, site: SiteConfig) -> _Plan:
    """Work out, before the transaction, which URLs a result adds and so which hosts it locks."""
    plan = _Plan(claim, out, site)
    c, page = claim.candidate, out.page
    if claim.robots or out.error is not None or page is None:
        return plan
    next_url = None
    if page.status == 304:
        next_url = c.next_url if c.kind == TaskKind.LIST else None
    elif c.kind == TaskKind.LIST and out.listing is not None:
        plan.articles = article_urls(site, out.listing.links, page.final_url)
        next_url = out.next_url
    elif c.kind in (TaskKind.SITEMAP, TaskKind.FEED):
        plan.entries = entry_plan(site, out, c.depth)
    elif (
        c.kind == TaskKind.ARTICLE
        and out.article is not None
        and out.article.kept
        and takedown(out) is None  # a home page it was redirected to carries nothing
    ):
        # each file once: the frontier keeps a fetched one (archive.db is the ingest's)
        attachments = [d.url for d in out.article.attachments]
        plan.files = file_urls(site, attachments, [i.url for i in out.article.images], due=False)
    urls = [
        *plan.articles,
        *plan.files,
        *(plan.entries.urls if plan.entries is not None else ()),
    ]
    plan.hosts = {host_key(u.url) for u in urls}
    if next_url and is_crawlable(next_url):
        plan.hosts.add(host_key(next_url))
    return plan
