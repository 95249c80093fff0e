"""A local crawl's scheduler: host queues, politeness delays, dispatch, stop reasons, deadlines.

The frontier (every known URL and when it is due) lives in the archive, so a crawl killed at any
moment resumes by running again. Worker threads only fetch and parse; the calling thread is the
one writer: it hands each outcome to ``results.Results`` (the archive and the frontier, as
decide.py says) and saves a page together with its frontier row in one transaction, so an
article is either archived and marked done, or neither. One request at a time per host, hosts
in parallel; the host's delay (or its robots.txt Crawl-delay) separates requests (hosts.py).
"""

from __future__ import annotations

import heapq
import os
import queue
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from scraper import netguard
from scraper.archive import host_key
from scraper.crashpoints import crashpoint
from scraper.crawl.config import SiteConfig
from scraper.crawl.discover import robots_url
from scraper.models import (
    FrontierItem,
    RunOutcome,
    TaskKind,
    Visit,
    VisitStatus,
)

from . import decide
from .decide import FILE_KINDS, ROBOTS_MAX_AGE, stamp, too_large
from .hosts import Host
from .log import Log, Visited, visited
from .parsing import parse_fetched
from .procs import WorkerProcesses
from .results import Counts, CrawlState, Results
from .rules import fetch_settings, figures, sitemap_count_note, summary_line
from .worker import Fetchers, Outcome, Task, WorkerPool

__all__ = [
    "ROBOTS_MAX_AGE",
    "CrawlOptions",
    "CrawlState",
    "CrawlStats",
    "crawl",
    "stamp",
    "too_large",
]

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


@dataclass(frozen=True)
class CrawlOptions:
    """Limits of one run. ``since`` is an ISO date; None means no limit."""

    since: str | None = None
    max_pages: int | None = None
    time_limit: float | None = None
    max_failures: int | None = None
    workers: int = 8  # fetching threads in all
    processes: int = 0  # worker processes they run in (0: in the crawl's own process)
    # Every known page URL of the sites due at the run's start, whatever its revisit time
    # (still conditional, so an unchanged page costs a 304); kept files stay as they are.
    revisit_now: bool = False


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
    # Files archived articles carry, fetched by the run (not pages, not articles).
    attachments: int = 0
    attachments_failed: int = 0
    images: int = 0
    images_failed: int = 0

    def summary(self) -> str:
        """The summary line, after a line per note."""
        files = [
            f"{what} {n}" + (f" ({failed} failed)" if failed else "")
            for what, n, failed in (
                ("attachments", self.attachments, self.attachments_failed),
                ("images", self.images, self.images_failed),
            )
            if n
        ]
        return "\n".join([*self.notes, summary_line(self, files)])


# ---------------------------------------------------------------- the run (the one writer)


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
        log: Log | None = None,
    ) -> None:
        self.state = state
        self.log = log
        self.sites = {s.name: s for s in sites}
        self.options = options or CrawlOptions()
        self.progress = progress
        self._names = list(self.sites)
        self._hosts: dict[str, Host] = {}
        self._active: set[str] = set()  # hosts that may have due work
        # Idle active hosts by when they may be asked again: dispatch looks at the hosts that
        # are ready, not at every host (a crawl of thousands of hosts spent its time here).
        self._ready: list[tuple[float, str]] = []
        self._counts = Counts()
        self._results_of = Results(
            state, self._counts, since=self.options.since, activate=self._activate, note=self._note
        )
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
        self._unsaved: set[str] = set()  # hosts whose state is not yet written (_save_hosts)
        self._notes: dict[str, None] = {}  # why sitemaps were left out, each said once

    # ------------------------------------------------------------ driving

    def run(self) -> CrawlStats:
        self._started = time.monotonic()
        self._run_started = stamp()
        self._run_id = self.state.run_start(self._run_started, self._names, os.getpid())
        outcome = RunOutcome.INTERRUPTED
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
                outcome = RunOutcome.INTERRUPTED
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
            attachments=c.attachments,
            attachments_failed=c.attachments_failed,
            images=c.images,
            images_failed=c.images_failed,
        )

    def _seed(self) -> None:
        """Start URLs, sitemaps and feeds are due at every run; so is every unfinished URL."""
        now = stamp()
        seeds = decide.seeds(list(self.sites.values()))
        with self.state.crawl_transaction():
            self.state.frontier_add(seeds, now)
            if self.options.revisit_now:
                self.state.frontier_revisit_now(self._names, now)
        for host in self.state.frontier_hosts_due(self._names, now):
            self._activate(host)

    def _activate(self, host: str) -> None:
        """The host has URLs due (new ones, or made due again): have it asked."""
        self._active.add(host)
        if host in self._hosts:
            self._hosts[host].due.clear()  # what was read ahead may no longer come first
            self._queue(self._hosts[host])
            return
        h = Host.load(host, self.state.host_state(host))
        self._hosts[host] = h
        self._queue(h)

    def _queue(self, h: Host) -> None:
        """Put an idle active host in the heap, once."""
        if not h.queued and not h.busy and not h.aside and h.name in self._active:
            h.queued = True
            heapq.heappush(self._ready, (h.next_at, h.name))

    def _deadline(self) -> float | None:
        limit = self.options.time_limit
        return self._started + limit if limit is not None else None

    def _stop_reason(self) -> RunOutcome | None:
        o, c = self.options, self._counts
        if o.max_failures is not None and c.failed > o.max_failures:
            return RunOutcome.TOO_MANY_FAILURES
        deadline = self._deadline()
        if deadline is not None and time.monotonic() >= deadline:
            return RunOutcome.TIME_LIMIT
        if o.max_pages is not None and c.dispatched >= o.max_pages:
            return RunOutcome.PAGE_LIMIT
        return None

    def _loop(self) -> RunOutcome:
        while True:
            reason = self._stop_reason()
            if reason is not None:
                self._drain(reason)
                return reason
            self._dispatch()
            wait = self._next_ready_in()
            if self._inflight == 0 and wait is None:
                return RunOutcome.OK
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

    def _drain(self, reason: RunOutcome) -> None:
        """Finish the requests in flight; after the time limit, wait for them briefly only.

        An unfinished URL stays due in the frontier, so the next run takes it up.
        """
        grace = 2.0 if reason == RunOutcome.TIME_LIMIT else 120.0
        deadline = self._deadline()
        if deadline is not None and reason != RunOutcome.TIME_LIMIT:
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
        saved, self._results_of.saved = self._results_of.saved, 0
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
                self._submit(
                    h, Task(robots_url(item.url), TaskKind.ROBOTS, site, fetch_settings(site))
                )
                continue
            headers: tuple[tuple[str, str], ...] = ()
            if item.status in (VisitStatus.OK, VisitStatus.NOT_MODIFIED):
                # not after a failure or a takedown: a 304 must not stand for a page not seen
                headers = decide.conditional_headers(item.etag, item.last_modified)
            task = Task(item.url, item.kind, site, fetch_settings(site), item, headers)
            self._counts.dispatched += 1
            self._submit(h, task)

    def _next_item(self, h: Host) -> FrontierItem | None:
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
            skip = decide.refusal(site, item.url, h.robots, refused)
            if skip is not None:
                with self.state.crawl_transaction():
                    self.state.frontier_done(item.url, skip.visit())
                if self.log is not None:
                    why = skip.error or "disallowed by robots.txt"
                    self.log(Visited(now, item.site, item.url, item.kind, "disallowed", error=why))
                continue
            if item.kind == TaskKind.SITEMAP and not self._sitemap_allowed(site, item.url):
                # Past the site's max_sitemaps: due again at the next run, not in this one.
                with self.state.crawl_transaction():
                    self.state.frontier_done(
                        item.url,
                        Visit(VisitStatus.PENDING, now, now, error=sitemap_count_note(site)),
                    )
                continue
            return item

    def _sitemap_allowed(self, site: SiteConfig, url: str) -> bool:
        """Whether this run may fetch one more sitemap of ``site`` (counted once per URL)."""
        if self._results_of.sitemaps.allows(site, url):
            return True
        self._note(site, sitemap_count_note(site))
        return False

    def _note(self, site: SiteConfig, note: str) -> None:
        self._notes[f"note: site {site.name}: {note}"] = None

    def _refused(self, h: Host, url: str) -> str | None:
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

    def _submit(self, h: Host, task: Task) -> None:
        h.busy = True
        self._inflight += 1
        self._tasks.put(task)

    # ------------------------------------------------------------ results (all writes here)

    def _handle(self, out: Outcome) -> None:
        if self._procs is not None and not self._procs.parsed:  # fetched only: parse here
            out = parse_fetched(out)
        task = out.task
        h = self._hosts[host_key(task.url)]
        self._inflight -= 1
        allowed = h.answered(out)
        self._queue(h)
        with self.state.crawl_transaction():
            if task.kind == TaskKind.ROBOTS:
                verdict = self._results_of.robots_done(out)
                h.learned(verdict)
                what = "failed" if verdict.unreachable else "robots"
            else:
                if task.kind not in FILE_KINDS:  # an attachment or picture is not a page
                    self._counts.pages += 1
                what = self._results_of.page_done(out)
                if self._counts.pages % 25 == 0:  # a killed run still shows how far it got
                    self.state.run_update(self._run_id, figures(self._stats(RunOutcome.RUNNING)))
        if self.log is not None:
            self.log(visited(out, what, stamp(out.answered or None)))
        h.allowed_at = allowed
        self._unsaved.add(h.name)
        if self.progress is not None and task.kind != TaskKind.ROBOTS:
            self.progress(self._stats(RunOutcome.RUNNING), task.url)

    def _save_hosts(self) -> None:
        """Write the hosts whose state changed since the last call, in the caller's
        transaction: once per batch rather than once per page (each row carries robots.txt)."""
        for name in self._unsaved:
            self.state.host_save(self._hosts[name].state())
        self._unsaved.clear()


def crawl(
    state: CrawlState,
    sites: Sequence[SiteConfig],
    options: CrawlOptions | None = None,
    *,
    progress: Progress | None = None,
    log: Log | None = None,
) -> CrawlStats:
    """Run one crawl over ``sites`` and return its figures (also stored in ``runs``); ``log``
    hears of every URL visited."""
    return Crawl(state, sites, options, progress=progress, log=log).run()
