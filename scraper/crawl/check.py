"""``archiver check``: each site's start URLs, sitemaps, feeds and JSON lists asked once, as a
crawl would ask them, and nothing written anywhere.

So that a new or edited sites.toml is seen to work before cron runs it: what each URL
answered and what a crawl would find there (article links, sitemap or feed entries, items),
with the site's own fetch settings, robots.txt and delay.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from scraper.crawl.config import SiteConfig, json_list_of
from scraper.crawl.discover import robots_url
from scraper.errors import FetchError
from scraper.fetch import DEFAULT_USER_AGENT
from scraper.models import TaskKind

from .decide import robots_verdict, seeds
from .log import reason
from .parsing import parse_fetched
from .rules import article_urls, fetch_settings
from .worker import Fetchers, Outcome, Task, fetch_task

MAX_WAIT = 60.0  # a check waits at most this long for a host's delay or Crawl-delay


@dataclass(frozen=True)
class Checked:
    """One URL tried: whether it answered usefully, and what it held (``found`` of ``what``)
    or why not (``error``)."""

    site: str
    url: str
    kind: str
    ok: bool
    status: int | None = None
    elapsed: float | None = None
    found: int | None = None
    what: str | None = None
    error: str | None = None


class Checker:
    """Tries URLs one at a time, robots.txt first on each host, the host's delay between."""

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        self._fetchers = Fetchers()
        self._robots: dict[str, Outcome] = {}
        self._last: dict[str, float] = {}  # host -> when its last answer came (monotonic)
        self._sleep = sleep

    def close(self) -> None:
        self._fetchers.close()

    def url(self, site: SiteConfig, url: str, kind: str) -> Checked:
        host = urlsplit(url).netloc.lower()
        delay = site.delay
        if site.obey_robots:
            answer = self._robots_of(site, url, host, delay)
            verdict = robots_verdict(answer, site)
            if verdict.unreachable:
                error = answer.error
                why = reason(error, answer.task.url) if error else f"HTTP {verdict.status}"
                return Checked(
                    site.name, url, kind, False, verdict.status, error=f"robots.txt: {why}"
                )
            agent = site.user_agent or DEFAULT_USER_AGENT
            if verdict.rules is not None and not verdict.rules.allows(url, agent):
                return Checked(site.name, url, kind, False, error="disallowed by robots.txt")
            delay = max(delay, verdict.crawl_delay or 0.0)
        out = parse_fetched(self._fetch(Task(url, kind, site, fetch_settings(site)), host, delay))
        return describe(site, out)

    def _robots_of(self, site: SiteConfig, url: str, host: str, delay: float) -> Outcome:
        """The host's robots.txt, fetched once per check."""
        if host not in self._robots:
            task = Task(robots_url(url), TaskKind.ROBOTS, site, fetch_settings(site))
            self._robots[host] = self._fetch(task, host, delay)
        return self._robots[host]

    def _fetch(self, task: Task, host: str, delay: float) -> Outcome:
        last = self._last.get(host)
        if last is not None:
            wait = min(delay, MAX_WAIT) - (time.monotonic() - last)
            if wait > 0:
                self._sleep(wait)
        out = fetch_task(task, self._fetchers.get(task.settings, task.url))
        self._last[host] = time.monotonic()
        return out


def describe(site: SiteConfig, out: Outcome) -> Checked:
    """What one fetched (and parsed) URL says of the site's configuration."""
    task, page, error = out.task, out.page, out.error
    attempts = page.attempts if page is not None else ()
    if page is None and isinstance(error, FetchError):
        attempts = error.attempts
    elapsed = page.elapsed if page is not None else sum(a.elapsed or 0.0 for a in attempts)
    status = page.status if page is not None else getattr(error, "status", None)
    base = Checked(site.name, task.url, str(task.kind), True, status, round(elapsed, 3))
    if error is not None:
        return replace(base, ok=False, error=reason(error, task.url))
    assert page is not None
    if task.kind == TaskKind.LIST and out.listing is not None:
        if json_list_of(site, task.url) is not None:
            return replace(base, found=len(out.listing.links), what="items")
        links = article_urls(site, out.listing.links, page.final_url)
        return replace(base, found=len(links), what="article links")
    if task.kind == TaskKind.SITEMAP:
        what = "sitemaps (an index)" if out.is_index else "sitemap entries"
        return replace(base, found=len(out.entries), what=what)
    if task.kind == TaskKind.FEED:
        return replace(base, found=len(out.entries), what="feed entries")
    return base


def check(
    sites: Sequence[SiteConfig],
    report: Callable[[Checked], None],
    sleep: Callable[[float], None] = time.sleep,
) -> list[Checked]:
    """Try every configured URL of ``sites`` once, ``report`` each as it is done."""
    checker = Checker(sleep)
    done: list[Checked] = []
    try:
        for site in sites:
            for new in seeds([site]):
                result = checker.url(site, new.url, new.kind)
                report(result)
                done.append(result)
    finally:
        checker.close()
    return done
