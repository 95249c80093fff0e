"""Scheduled crawls: discovery, scheduling and politeness around fetch → parse → archive.

The frontier (every known URL and when it is due) lives in the archive, so a crawl killed at any
moment resumes by running again. Worker threads only fetch and parse; the calling thread is the
one writer, and it saves each page together with its frontier row in one transaction, so an
article is either archived and marked done, or neither. One request at a time per host, hosts
in parallel; the host's delay (or its robots.txt Crawl-delay) separates requests.
"""

from __future__ import annotations

import collections
import functools
import heapq
import math
import os
import queue
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from scraper import netguard
from scraper.archive import host_key
from scraper.crashpoints import crashpoint
from scraper.crawl.config import SiteConfig
from scraper.crawl.discover import (
    Robots,
    is_crawlable,
    older_than,
    robots_for_status,
    robots_head,
    robots_url,
)
from scraper.errors import (
    FetchError,
    ScraperError,
    TooLargeError,
)
from scraper.fetch import DEFAULT_USER_AGENT
from scraper.models import (
    Article,
    FrontierItem,
    HostState,
    NewUrl,
    Page,
    Visit,
)
from scraper.parse.links import Listing
from scraper.pipeline import Counters, Kind, Store, record
from scraper.urls import canonicalize, host_of

from .parsing import parse_fetched
from .procs import WorkerProcesses
from .rules import (
    article_urls,
    entry_urls,
    failure_wait,
    fetch_settings,
    figures,
    host_failure,
    sitemap_count_note,
    sitemap_depth_note,
    summary_line,
)
from .worker import Fetchers, Outcome, Task, WorkerPool

ROBOTS_MAX_AGE = 86400.0  # seconds a stored robots.txt is trusted
_MAX_SLOWDOWN = 8.0  # a host's delay grows up to this factor after 429/503
_BATCH = 2048  # results written in one transaction at most
# And for at most this long: a kill -9 loses no more than this to redo. Each commit writes
# every page it dirtied, and the band keys and hashed ids land all over their indexes, so the
# fewer the commits the less is written: saving 10,000 bench articles (Archive.save) wrote
# 106 KB a page in batches of 350 (about a second of a crawl), 87 KB in batches of 700 and
# 67 KB in batches of 1,400, at about 0.1 ms less CPU a page for each doubling. Half a
# second to a second was about 5% less CPU a page in bench/crawl.py (A/B runs alternated);
# once the writer kept up with 400 pages a second, two seconds made batches of 800, and four
# (2,048 at most) spared another 0.05-0.1 ms a page (the commit's share: 0.30 ms a page in
# batches of 560, 0.24 in 1,024, 0.19 in 2,048).
_BATCH_SECONDS = 4.0
_DUE_AHEAD = 16  # due URLs read from the frontier per host at a time
# A host that may not be asked again for longer than this (a robots.txt Crawl-delay of an
# hour, a day) is left for a later run: its next time is saved, and a cron run does not idle
# for it while every other host is done.
_LONGEST_WAIT = 600.0


class CrawlState(Store, Protocol):
    """What a crawl needs from its store (the pipeline's ``Store``, and its frontier, hosts
    and runs); ``Archive`` is the SQLite one.

    Kept small so another backend (a shared PostgreSQL frontier) can sit beside it.
    """

    def crawl_transaction(self) -> AbstractContextManager[None]: ...
    def frontier_add(self, urls: Iterable[NewUrl], now: str) -> list[str]: ...
    def frontier_due(
        self,
        host: str,
        sites: Sequence[str],
        now: str,
        since: str | None = None,
        fetched_before: str | None = None,
        limit: int = 1,
    ) -> list[FrontierItem]: ...
    def frontier_hosts_due(self, sites: Sequence[str], now: str) -> list[str]: ...
    def frontier_done(self, url: str, visit: Visit) -> None: ...
    def host_state(self, host: str) -> HostState | None: ...
    def host_save(self, state: HostState) -> None: ...
    def run_start(self, started: str, sites: Sequence[str], pid: int) -> int: ...
    def run_update(self, run_id: int, figures: dict[str, object]) -> None: ...


@dataclass(frozen=True)
class CrawlOptions:
    """Limits of one run. ``since`` is an ISO date; None means no limit."""

    since: str | None = None
    max_pages: int | None = None
    time_limit: float | None = None
    max_failures: int | None = None
    workers: int = 8  # fetching threads in all
    processes: int = 0  # worker processes they run in (0: in the crawl's own process)


@dataclass(frozen=True)
class CrawlStats:
    """What a run did; ``outcome`` is ok, time limit, page limit, too many failures, interrupted."""

    run_id: int
    found: int
    new: int
    changed: int
    unchanged: int
    not_modified: int
    failed: int
    pages: int
    seconds: float
    outcome: str
    notes: tuple[str, ...] = ()  # why the run left something out (sitemaps past a bound)

    def summary(self) -> str:
        """The summary line, after a line per note."""
        return "\n".join([*self.notes, summary_line(self)])


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


# ---------------------------------------------------------------- the run (the one writer)


@dataclass
class _Host:
    """A host's politeness state for this run (monotonic clock)."""

    name: str
    robots: Robots | None = None
    crawl_delay: float = 0.0
    next_at: float = 0.0
    busy: bool = False
    failures: int = 0
    slowdown: float = 1.0
    aside: bool = False
    queued: bool = False  # has its entry in the scheduler's heap of idle hosts
    refused: str | None = None  # the non-public address the host resolves to, if any
    resolved: bool = False
    allowed_at: float = 0.0  # time.time() from which it may be asked again
    # Its next due URLs, read from the frontier a few at a time; dropped whenever URLs are
    # added for the host, since a list page added must go first.
    due: collections.deque[FrontierItem] = field(default_factory=collections.deque)


@dataclass
class _Counts(Counters):
    """A run's pages by what became of them (``Counters``), and the run's own figures."""

    found: int = 0
    pages: int = 0
    dispatched: int = 0
    chain: dict[str, int] = field(default_factory=dict)  # list URL -> pages with nothing new


Progress = Callable[[CrawlStats, str], None]


class Crawl:
    """One run over some sites. ``run()`` returns its figures (and records them in ``runs``)."""

    def __init__(
        self,
        state: CrawlState,
        sites: Sequence[SiteConfig],
        options: CrawlOptions | None = None,
        *,
        progress: Progress | None = None,
    ) -> None:
        self.state = state
        self.sites = {s.name: s for s in sites}
        self.options = options or CrawlOptions()
        self.progress = progress
        self._names = list(self.sites)
        self._hosts: dict[str, _Host] = {}
        self._active: set[str] = set()  # hosts that may have due work
        # Idle active hosts by when they may be asked again: dispatch looks at the hosts that
        # are ready, not at every host (a crawl of thousands of hosts spent its time here).
        self._ready: list[tuple[float, str]] = []
        self._counts = _Counts()
        self._fetchers = Fetchers()
        self._procs: WorkerProcesses | None = None
        self._tasks: Any = queue.Queue()
        self._results: Any = queue.Queue()
        self._inflight = 0
        # A task waits for a free fetching thread in a pipe, which must never fill up: the
        # worker processes block on the pipes back when the crawl is busy, and a crawl blocked
        # on writing a task would wait for them forever. More out than threads gains nothing.
        self._max_inflight = 2 * max(1, self.options.workers)
        self._started = 0.0
        self._run_started = ""
        self._run_id = 0
        self._robots_status: dict[str, int | None] = {}
        self._robots_at: dict[str, str] = {}
        self._unsaved: set[str] = set()  # hosts whose state is not yet written (_save_hosts)
        # Per site, the sitemaps this run fetched or queued: at most its max_sitemaps.
        self._sitemaps: dict[str, set[str]] = {}
        self._notes: dict[str, None] = {}  # why sitemaps were left out, each said once
        self._saved = 0  # articles saved in the open transaction (for the crash points)

    # ------------------------------------------------------------ driving

    def run(self) -> CrawlStats:
        self._started = time.monotonic()
        self._run_started = stamp()
        self._run_id = self.state.run_start(self._run_started, self._names, os.getpid())
        outcome = "interrupted"
        workers = max(1, self.options.workers)
        pool: WorkerPool | None = None
        if self.options.processes > 0:
            processes = min(self.options.processes, workers)
            # One fetching process: parsed here (procs.py says why); more: beside each.
            self._procs = WorkerProcesses(processes, -(-workers // processes), parse=processes > 1)
            self._tasks, self._results = self._procs.tasks, self._procs.results
        else:
            pool = WorkerPool(self._tasks, self._results, self._fetchers, workers, parse_fetched)
        try:
            if self._procs is not None:
                self._procs.start()
            self._seed()
            if pool is not None:
                pool.start()
            outcome = self._loop()
            return self._stats(outcome)
        finally:
            try:
                if self._procs is not None:
                    self._procs.stop()
                for _ in range(workers if pool is not None else 0):
                    self._tasks.put(None)
            except KeyboardInterrupt:  # Ctrl-C or SIGTERM while the workers were stopping
                outcome = "interrupted"
                raise
            finally:  # the run row is closed whatever came in while stopping
                stats = self._stats(outcome)
                self.state.run_update(
                    self._run_id, {**figures(stats), "finished": stamp(), "outcome": outcome}
                )
                self._fetchers.close()

    def _stats(self, outcome: str) -> CrawlStats:
        c = self._counts
        return CrawlStats(
            run_id=self._run_id,
            found=c.found,
            new=c.new,
            changed=c.changed,
            unchanged=c.unchanged,
            not_modified=c.not_modified,
            failed=c.failed,
            pages=c.pages,
            seconds=time.monotonic() - self._started,
            outcome=outcome,
            notes=tuple(self._notes),
        )

    def _seed(self) -> None:
        """Start URLs, sitemaps and feeds are due at every run; so is every unfinished URL."""
        now = stamp()
        seeds = [
            NewUrl(canonicalize(url, site.strip_params), site.name, kind, due=True)
            for site in self.sites.values()
            for kind, urls in (
                ("list", site.start_urls),
                ("sitemap", site.sitemaps),
                ("feed", site.feeds),
            )
            for url in urls
        ]
        with self.state.crawl_transaction():
            self.state.frontier_add(seeds, now)
        for host in self.state.frontier_hosts_due(self._names, now):
            self._activate(host)

    def _activate(self, host: str) -> None:
        """The host has URLs due (new ones, or made due again): have it asked."""
        self._active.add(host)
        if host in self._hosts:
            self._hosts[host].due.clear()  # what was read ahead may no longer come first
            self._queue(self._hosts[host])
            return
        h = _Host(host)
        saved = self.state.host_state(host)
        if saved is not None:
            fresh = saved.robots_fetched_at and saved.robots_fetched_at > stamp(
                time.time() - ROBOTS_MAX_AGE
            )
            if fresh and saved.robots_fetched_at:
                h.robots = robots_for_status(saved.robots_status, saved.robots_txt)
                h.crawl_delay = saved.crawl_delay or 0.0
                self._robots_status[host] = saved.robots_status
                self._robots_at[host] = saved.robots_fetched_at
            if saved.next_allowed_at and saved.next_allowed_at > stamp():
                # At most the host's own Crawl-delay, or an hour: a clock that was wrong when
                # it was saved must not keep the host away for longer.
                bound = max(saved.crawl_delay or 0.0, 3600.0)
                wait = min(_seconds_until(saved.next_allowed_at), bound)
                h.allowed_at = time.time() + wait
                _hold(h, wait)
        self._hosts[host] = h
        self._queue(h)

    def _queue(self, h: _Host) -> None:
        """Put an idle active host in the heap, once."""
        if not h.queued and not h.busy and not h.aside and h.name in self._active:
            h.queued = True
            heapq.heappush(self._ready, (h.next_at, h.name))

    def _deadline(self) -> float | None:
        limit = self.options.time_limit
        return self._started + limit if limit is not None else None

    def _stop_reason(self) -> str | None:
        o, c = self.options, self._counts
        if o.max_failures is not None and c.failed > o.max_failures:
            return "too many failures"
        deadline = self._deadline()
        if deadline is not None and time.monotonic() >= deadline:
            return "time limit"
        if o.max_pages is not None and c.dispatched >= o.max_pages:
            return "page limit"
        return None

    def _loop(self) -> str:
        while True:
            reason = self._stop_reason()
            if reason is not None:
                self._drain(reason)
                return reason
            self._dispatch()
            wait = self._next_ready_in()
            if self._inflight == 0 and wait is None:
                return "ok"
            deadline = self._deadline()
            limit = 1.0 if deadline is None else min(1.0, deadline - time.monotonic())
            outcome = self._await_outcome(wait, limit)
            if outcome is not None:
                self._handle_batch(outcome)

    def _await_outcome(self, wait: float | None, limit: float) -> Outcome | None:
        """The next result within ``limit`` seconds, or None. ``wait`` is when the next idle
        host may be asked again: the wait ends then too, for a dispatch. With nothing in
        flight there is nothing to wait for but that, so it just sleeps."""
        timeout = max(0.001, limit if wait is None else min(wait, limit))
        if self._inflight == 0:
            time.sleep(timeout)
            return None
        try:
            return self._results.get(timeout=timeout)  # type: ignore[no-any-return]
        except queue.Empty:
            if self._procs is not None:
                self._procs.check()
            return None

    def _handle_batch(self, first: Outcome) -> None:
        """Handle ``first`` and the results that come in the next ``_BATCH_SECONDS`` (at most
        ``_BATCH`` of them), in one transaction, dispatching between them as the main loop does.

        One commit per batch instead of one per page: the commit, with the search index's
        new segment that it writes, was the writer's largest cost, and the fewer the commits
        the fewer segments the index has to merge later. A kill -9 loses a batch's pages and
        their frontier updates together, so those URLs are simply fetched again: still every
        article exactly once.
        """
        end = time.monotonic() + _BATCH_SECONDS
        with self.state.crawl_transaction():
            self._handle(first)
            for _ in range(_BATCH - 1):
                self._dispatch()  # keep the workers fed while the batch is written
                left = end - time.monotonic()
                if left <= 0 or self._stop_reason() is not None:
                    break
                wait = self._next_ready_in()
                if self._inflight == 0 and (wait is None or wait >= left):
                    break  # nothing will come before the batch's time is up
                outcome = self._await_outcome(wait, left)
                if outcome is not None:
                    self._handle(outcome)
            self._save_hosts()
        self._committed()

    def _drain(self, reason: str) -> None:
        """Finish the requests in flight; after the time limit, wait for them briefly only.

        An unfinished URL stays due in the frontier, so the next run takes it up.
        """
        grace = 2.0 if reason == "time limit" else 120.0
        deadline = self._deadline()
        if deadline is not None and reason != "time limit":
            grace = max(2.0, min(grace, deadline - time.monotonic()))
        end = time.monotonic() + grace
        while self._inflight and time.monotonic() < end:
            try:
                outcome = self._results.get(timeout=max(0.001, end - time.monotonic()))
            except queue.Empty:
                break
            with self.state.crawl_transaction():
                self._handle(outcome)
                self._save_hosts()
            self._committed()

    def _committed(self) -> None:
        """A transaction of ``_handle`` calls has committed (crashpoints.py)."""
        saved, self._saved = self._saved, 0
        crashpoint("save-after-commit", saved)

    def _next_ready_in(self) -> float | None:
        """Seconds until an idle host with work may be asked again; None when none has work,
        or when as many tasks are out as may be (then only a result frees a place)."""
        if not self._ready or self._inflight >= self._max_inflight:
            return None
        return max(0.0, self._ready[0][0] - time.monotonic())

    def _dispatch(self) -> None:
        """Give each idle host whose delay has passed its next due URL (robots.txt first)."""
        now_mono = time.monotonic()
        while self._ready and self._ready[0][0] <= now_mono and self._inflight < self._max_inflight:
            _, name = heapq.heappop(self._ready)
            h = self._hosts[name]
            h.queued = False
            if h.busy or name not in self._active:
                continue
            if h.aside:
                self._active.discard(name)
                continue
            if now_mono < h.next_at:  # its delay grew since it was queued
                self._queue(h)
                continue
            if (
                self.options.max_pages is not None
                and self._counts.dispatched >= self.options.max_pages
            ):
                self._queue(h)
                return
            item = self._next_item(h)
            if item is None:
                self._active.discard(name)
                continue
            site = self.sites[item.site]
            if site.obey_robots and h.robots is None:
                self._submit(h, Task(robots_url(item.url), "robots", site, fetch_settings(site)))
                continue
            headers: list[tuple[str, str]] = []
            if item.etag:
                headers.append(("If-None-Match", item.etag))
            if item.last_modified:
                headers.append(("If-Modified-Since", item.last_modified))
            task = Task(item.url, item.kind, site, fetch_settings(site), item, tuple(headers))
            self._counts.dispatched += 1
            self._submit(h, task)

    def _next_item(self, h: _Host) -> FrontierItem | None:
        """The next due URL on a host that this run has not fetched and robots.txt allows."""
        while True:
            now = stamp()
            if not h.due:
                h.due.extend(
                    self.state.frontier_due(
                        h.name,
                        self._names,
                        now,
                        self.options.since,
                        self._run_started,
                        limit=_DUE_AHEAD,
                    )
                )
                if not h.due:
                    return None
            item = h.due.popleft()
            site = self.sites[item.site]
            refused = None if site.allow_private else self._refused(h, item.url)
            if refused is not None:
                with self.state.crawl_transaction():
                    self.state.frontier_done(
                        item.url,
                        Visit(
                            "disallowed",
                            now,
                            stamp(time.time() + site.revisit_after),
                            error=f"not fetched: {refused}",
                        ),
                    )
                continue
            agent = site.user_agent or DEFAULT_USER_AGENT
            if site.obey_robots and h.robots is not None and not h.robots.allows(item.url, agent):
                with self.state.crawl_transaction():
                    self.state.frontier_done(
                        item.url,
                        Visit("disallowed", now, stamp(time.time() + site.revisit_after)),
                    )
                continue
            if item.kind == "sitemap" and not self._sitemap_allowed(site, item.url):
                # Past the site's max_sitemaps: due again at the next run, not in this one.
                with self.state.crawl_transaction():
                    self.state.frontier_done(
                        item.url, Visit("pending", now, now, error=sitemap_count_note(site))
                    )
                continue
            return item

    def _sitemap_allowed(self, site: SiteConfig, url: str) -> bool:
        """Whether this run may fetch one more sitemap of ``site`` (counted once per URL)."""
        seen = self._sitemaps.setdefault(site.name, set())
        if url in seen:
            return True
        if len(seen) < site.max_sitemaps:
            seen.add(url)
            return True
        self._note(site, sitemap_count_note(site))
        return False

    def _note(self, site: SiteConfig, note: str) -> None:
        self._notes[f"note: site {site.name}: {note}"] = None

    def _refused(self, h: _Host, url: str) -> str | None:
        """Why the host may not be crawled (a private address), resolved once per run."""
        if not h.resolved:
            name = urlsplit(url).hostname or ""
            address = netguard.refused_address(name)
            if address is not None:
                h.refused = (
                    f"{name} is a private address {address}; "
                    "set allow_private = true for this site to crawl it"
                )
            h.resolved = True
        return h.refused

    def _submit(self, h: _Host, task: Task) -> None:
        h.busy = True
        self._inflight += 1
        self._tasks.put(task)

    # ------------------------------------------------------------ results (all writes here)

    def _handle(self, out: Outcome) -> None:
        if self._procs is not None and not self._procs.parsed:  # fetched only: parse here
            out = parse_fetched(out)
        task = out.task
        h = self._hosts[host_key(task.url)]
        h.busy = False
        self._inflight -= 1
        host_failed = host_failure(out.error)
        if host_failed:
            h.failures += 1
            h.slowdown = min(h.slowdown * 2, _MAX_SLOWDOWN)
            if h.failures >= task.site.max_host_failures:
                h.aside = True
        elif out.page is not None:
            h.failures = 0
        delay = max(task.site.delay, h.crawl_delay) * h.slowdown
        # The delay runs from the end of the response, not from when it is written here (the
        # writer may be a batch behind): the host is not kept idle for longer than asked.
        allowed = (out.answered or time.time()) + delay
        _hold(h, max(0.0, allowed - time.time()))
        self._queue(h)
        with self.state.crawl_transaction():
            if task.kind == "robots":
                self._robots_done(h, out)
            else:
                self._counts.pages += 1
                self._page_done(out)
                if self._counts.pages % 25 == 0:  # a killed run still shows how far it got
                    self.state.run_update(self._run_id, figures(self._stats("running")))
        h.allowed_at = allowed
        self._unsaved.add(h.name)
        if self.progress is not None and task.kind != "robots":
            self.progress(self._stats("running"), task.url)

    def _save_hosts(self) -> None:
        """Write the hosts whose state changed since the last call, in the caller's
        transaction: once per batch rather than once per page (each row carries robots.txt)."""
        for name in self._unsaved:
            h = self._hosts[name]
            self.state.host_save(
                HostState(
                    host=name,
                    robots_txt=h.robots.text if h.robots else None,
                    robots_status=self._robots_status.get(name),
                    robots_fetched_at=self._robots_at.get(name),
                    next_allowed_at=stamp(h.allowed_at),
                    crawl_delay=h.crawl_delay or None,
                    failures=h.failures,
                )
            )
        self._unsaved.clear()

    def _robots_done(self, h: _Host, out: Outcome) -> None:
        if out.error is not None:
            status = getattr(out.error, "status", None)
            if isinstance(out.error, FetchError):
                self.state.record_failure(out.error.attempts)
            if status is None or status >= 500 or status == 429 or too_large(out.error):
                # robots.txt unreachable (or unreadable: too large to have its rules read):
                # crawl nothing there this run (what Google does).
                h.aside = True
                self._counts.failed += 1
                return
            h.robots = robots_for_status(status, None)
        else:
            assert out.page is not None
            status = out.page.status
            h.robots = robots_for_status(status, robots_head(out.page.text, len(out.page.content)))
            self.state.record_failure(out.page.attempts)
        agent = out.task.site.user_agent or DEFAULT_USER_AGENT
        h.crawl_delay = h.robots.crawl_delay(agent) or 0.0
        self._robots_status[h.name] = status
        self._robots_at[h.name] = stamp()

    def _page_done(self, out: Outcome) -> None:
        task, page, item = out.task, out.page, out.task.item
        site = task.site
        now = stamp()
        revisit = stamp(time.time() + site.revisit_after)
        assert item is not None
        if page is None:  # the fetch failed
            assert out.error is not None
            got: Page | ScraperError = out.error
            parsed: Article | ScraperError | None = None
        else:  # parsed (an article, or None for a list page, sitemap or feed), or its failure
            got, parsed = page, out.error or (out.article if task.kind == "article" else None)
        done = record(
            self.state,
            got,
            parsed,
            self._counts,
            prepared=out.prepared,
            strip_params=site.strip_params,
        )
        if done.kind is Kind.DISALLOWED:  # redirected to a private address
            self.state.frontier_done(
                task.url, Visit("disallowed", now, revisit, error=str(done.error)[:500])
            )
            return
        if done.kind is Kind.FAILED:
            assert done.error is not None
            wait = failure_wait(site, done.error, item.failures)
            self.state.frontier_done(
                task.url,
                Visit(
                    "failed",
                    now,
                    stamp(time.time() + wait),
                    failed=True,
                    error=str(done.error)[:500],
                ),
            )
            return
        assert page is not None
        if done.kind is Kind.NOT_MODIFIED:
            if task.kind == "list":  # nothing new here; the stored next page may still be due
                self._follow_next(item, site, item.next_url, news=False, all_old=False, now=now)
            self.state.frontier_done(task.url, Visit("not_modified", now, revisit))
            return
        etag, modified = page.header("etag"), page.header("last-modified")
        visit = Visit("ok", now, revisit, etag=etag, last_modified=modified)
        if done.saved is not None:
            # saved, its frontier row not yet written, neither committed (crashpoints.py)
            self._saved += 1
            crashpoint("save-before-commit")
            visit = replace(visit, article_id=done.saved.id)
        elif done.kind is Kind.NOT_ARTICLE:
            assert out.article is not None
            visit = replace(visit, status="not_article", error=out.article.rejected)
        elif task.kind == "list":
            assert out.listing is not None
            self._follow_list(item, site, page, out.listing, out.next_url, now)
            visit = replace(visit, next_url=out.next_url)
        elif task.kind != "article":
            note = self._follow_entries(site, out, now)
            if note is not None:
                visit = replace(visit, error=note)
        self.state.frontier_done(task.url, visit)

    def _follow_list(
        self,
        item: FrontierItem,
        site: SiteConfig,
        page: Page,
        listing: Listing,
        next_url: str | None,
        now: str,
    ) -> None:
        """Queue a list page's articles; follow its next page while pages still bring news."""
        since = self.options.since
        candidates = article_urls(site, listing.links, page.final_url)
        added = set(self.state.frontier_add(candidates, now))
        self._counts.found += len(added)
        fresh = any(c.url in added and not older_than(c.lastmod, since) for c in candidates)
        dated = [c for c in candidates if c.lastmod]
        all_old = bool(since and dated and all(older_than(c.lastmod, since) for c in dated))
        for host in {host_key(u) for u in added}:
            self._activate(host)
        self._follow_next(item, site, next_url, news=fresh, all_old=all_old, now=now)

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
        """Make the next list page due, unless pages in a row brought nothing new (or only
        articles older than --since), or the list is as deep as ``max_list_pages``."""
        unchanged = 0 if news else self._counts.chain.get(item.url, 0) + 1
        if (
            next_url
            and is_crawlable(next_url)
            and site.allows_host(host_of(next_url))
            and item.depth + 1 < site.max_list_pages
            and unchanged < site.stop_after_unchanged
            and not all_old
        ):
            self.state.frontier_add(
                [
                    NewUrl(
                        canonicalize(next_url, site.strip_params),
                        site.name,
                        "list",
                        item.depth + 1,
                        due=True,
                    )
                ],
                now,
            )
            self._counts.chain[next_url] = unchanged
            self._activate(host_key(next_url))

    def _follow_entries(self, site: SiteConfig, out: Outcome, now: str) -> str | None:
        """Queue a sitemap's or feed's URLs; for an index, within the site's sitemap bounds
        (what was left out, and why, is returned, and said at the end of the run)."""
        depth = out.task.item.depth if out.task.item is not None else 0
        urls = entry_urls(site, out.entries, out.is_index, depth)
        note = None
        if not out.is_index:
            self._counts.found += len(self.state.frontier_add(urls, now))
        elif out.entries and depth >= site.max_sitemap_depth:
            note = sitemap_depth_note(site)
        else:
            urls, note = self._add_sitemaps(site, urls, len(out.entries), now)
        if note is not None:
            self._note(site, note)
        for host in {host_key(u.url) for u in urls}:
            self._activate(host)
        return note

    def _add_sitemaps(
        self, site: SiteConfig, urls: list[NewUrl], listed: int, now: str
    ) -> tuple[list[NewUrl], str | None]:
        """Queue an index's sitemaps while the site's ``max_sitemaps`` for the run allows:
        new ones count against it as they are queued, known ones when they are fetched."""
        seen = self._sitemaps.setdefault(site.name, set())
        left = [u for u in urls if u.url not in seen]
        offered: list[NewUrl] = []
        while left and len(seen) < site.max_sitemaps:
            room = site.max_sitemaps - len(seen)
            chunk, left = left[:room], left[room:]
            seen.update(self.state.frontier_add(chunk, now))
            offered += chunk
        full = bool(left) or listed > len(urls) >= site.max_sitemaps  # cut by entry_urls
        return offered, sitemap_count_note(site) if full else None


def too_large(error: BaseException) -> bool:
    """A robots.txt refused for its size: never "no rules". The first ``ROBOTS_MAX_BYTES`` are
    fetched and read, so this only comes from a fetcher that refused the whole file."""
    return isinstance(error, TooLargeError)


def _hold(h: _Host, wait: float) -> None:
    """Keep ``h`` idle for ``wait`` seconds, or, past ``_LONGEST_WAIT``, for a later run."""
    h.next_at = time.monotonic() + wait
    if wait > _LONGEST_WAIT:
        h.aside = True


def _seconds_until(iso: str) -> float:
    try:
        when = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return 0.0
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def crawl(
    state: CrawlState,
    sites: Sequence[SiteConfig],
    options: CrawlOptions | None = None,
    *,
    progress: Progress | None = None,
) -> CrawlStats:
    """Run one crawl over ``sites`` and return its figures (also stored in ``runs``)."""
    return Crawl(state, sites, options, progress=progress).run()
