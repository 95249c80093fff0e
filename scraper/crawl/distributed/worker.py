"""The worker side of a distributed crawl: claim a URL, fetch and parse it, complete the claim."""

from __future__ import annotations

import contextlib
import functools
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from scraper.crawl.config import SiteConfig
from scraper.crawl.decide import conditional_headers, refusal, robots_fresh
from scraper.crawl.discover import Robots, robots_for_status, robots_url
from scraper.crawl.frontier_pg import Candidate, Claim, Decision, FrontierUnavailable, PgFrontier
from scraper.crawl.parsing import perform
from scraper.crawl.rules import fetch_settings
from scraper.crawl.worker import Fetchers, Outcome, Task
from scraper.errors import InputError, ScraperError
from scraper.models import FrontierItem, TaskKind
from scraper.netguard import refused_address
from scraper.urls import host_of

from .complete import _plan
from .console import Console, Log, no_log
from .link import Backoff, Link

_SITES_MAX_AGE = 30.0  # seconds a worker trusts its copy of the sites' configuration
_HEARTBEAT = 5.0


@dataclass(frozen=True)
class WorkerOptions:
    """``lease`` must outlast the slowest fetch (timeout × retries); a killed worker's URLs
    wait that long before another worker takes them. ``give_up_after``: seconds without
    PostgreSQL before the worker exits (7); None: ``GIVE_UP_AFTER``; 0: never."""

    threads: int = 4
    lease: float = 300.0
    until_idle: bool = False  # exit when nothing is due or leased anywhere
    max_pages: int | None = None
    time_limit: float | None = None
    give_up_after: float | None = None


@dataclass
class WorkerStats:
    pages: int = 0
    failed: int = 0
    robots: int = 0
    lost_leases: int = 0
    reconnects: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"pages {self.pages}, failed {self.failed}, robots {self.robots}, "
            f"lost leases {self.lost_leases}, reconnects {self.reconnects}, {self.seconds:.1f}s"
        )


class _Connection:
    """A thread's frontier connection, reopened with backoff whenever PostgreSQL goes away.

    A lost connection is reopened at once; failed attempts then wait ``backoff`` (cut short
    by ``stop``, ``deadline`` and the link's give-up bound). ``connect`` and ``sleep`` (which
    returns True when stopped) are injectable for tests.
    """

    def __init__(
        self,
        url: str,
        stop: threading.Event,
        stats: WorkerStats,
        link: Link,
        *,
        deadline: float | None = None,
        backoff: Backoff | None = None,
        connect: Callable[[str], PgFrontier] = PgFrontier.connect,
        sleep: Callable[[float], bool] | None = None,
    ) -> None:
        self.url = url
        self.stop = stop
        self.stats = stats
        self.link = link
        self.deadline = deadline
        self.backoff = backoff or Backoff()
        self.connect = connect
        self.sleep = sleep or stop.wait
        self._frontier: PgFrontier | None = None

    @property
    def current(self) -> PgFrontier | None:
        return self._frontier

    def get(self) -> PgFrontier:
        """The connection; FrontierUnavailable when stopped, past the deadline or given up."""
        while self._frontier is None:
            if self.stop.is_set():
                raise FrontierUnavailable("stopped")
            started = self.link.clock()
            if self.deadline is not None and started >= self.deadline:
                raise FrontierUnavailable("time limit")
            try:
                self._frontier = self.connect(self.url)
            except FrontierUnavailable as exc:
                left = self.link.down(started, exc.reason)  # raises once it gives up
                wait = self.backoff.next()
                if left is not None:
                    wait = min(wait, left)
                if self.deadline is not None:
                    wait = min(wait, self.deadline - self.link.clock())
                if self.sleep(max(0.0, wait)):
                    raise FrontierUnavailable("stopped") from exc
                continue
            self.link.up(started)
            self.backoff.reset()
        return self._frontier

    def lost(self) -> None:
        if self._frontier is not None:
            self.stats.reconnects += 1
            with contextlib.suppress(Exception):  # the connection is already broken
                self._frontier.close()
        self._frontier = None

    def close(self) -> None:
        if self._frontier is not None:
            self._frontier.close()
            self._frontier = None


class Worker:
    """Fetch and parse for a distributed crawl until stopped (or idle, or a limit).

    ``run`` raises FrontierUnavailable once PostgreSQL has been away longer than
    ``options.give_up_after``; ``console`` (default: stderr unless ``log`` is ``no_log``)
    gets one line when it goes away and one when it is back.
    """

    def __init__(
        self,
        frontier_url: str,
        options: WorkerOptions,
        *,
        log: Log = no_log,
        console: Console | None = None,
    ) -> None:
        self.url = frontier_url
        self.options = options
        self.console = console or Console.for_log(log)
        self.log = self.console.logging(log)
        self.link = Link(frontier_url, self.console.line, options.give_up_after)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stats = WorkerStats()
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._sites: dict[str, SiteConfig] = {}
        self._sites_at = 0.0
        self._fetchers = Fetchers()
        self._refused: dict[str, str | None] = {}
        self._robots: dict[tuple[str, str | None, int | None], Robots] = {}
        self._claimed = 0
        self._warned: set[str] = set()
        self._fatal: ScraperError | None = None

    def run(self) -> WorkerStats:
        started = time.monotonic()
        threads = [
            threading.Thread(target=self._thread, daemon=True, name=f"worker-{i}")
            for i in range(max(1, self.options.threads))
        ]
        for thread in threads:
            thread.start()
        try:
            while any(t.is_alive() for t in threads):
                limit = self.options.time_limit
                if limit is not None and time.monotonic() - started >= limit:
                    self.stop.set()
                for thread in threads:
                    thread.join(0.2)
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(30)
            self.stats.seconds = time.monotonic() - started
            if self.link.down_since is None:  # else there is no one to say goodbye to
                self._goodbye()
            self._fetchers.close()
        if self.link.gave_up is not None:
            raise FrontierUnavailable(self.link.gave_up, reason=self.link.reason)
        if self._fatal is not None:
            raise self._fatal
        return self.stats

    def _goodbye(self) -> None:
        try:
            with PgFrontier.connect(self.url) as frontier:
                frontier.worker_stopped(self.owner)
        except FrontierUnavailable:
            pass

    def _thread(self) -> None:
        conn = _Connection(self.url, self.stop, self.stats, self.link)
        beat = 0.0
        try:
            while not self.stop.is_set():
                try:
                    frontier = conn.get()
                    if time.monotonic() - beat >= _HEARTBEAT:
                        frontier.worker_seen(
                            self.owner,
                            socket.gethostname(),
                            os.getpid(),
                            self.stats.pages,
                            self.stats.failed,
                        )
                        beat = time.monotonic()
                    if not self._take_one():
                        break
                    claim = frontier.claim(
                        self.owner, self.options.lease, functools.partial(self._decide, frontier)
                    )
                    if claim is None:
                        self._give_back()
                        wait = frontier.next_ready_in()
                        soon = wait is not None and wait < 1.0
                        if self.options.until_idle and not soon and frontier.idle():
                            self.stop.set()
                            break
                        # a little jitter: idle threads must not all wake for the same host
                        pause = min(1.0, wait if wait is not None else 1.0)
                        self.stop.wait(max(0.005, pause) + random.uniform(0.0, 0.01))
                        continue
                    self._finish(conn, claim)
                except FrontierUnavailable:
                    # reconnected at once; the link says so if PostgreSQL does not answer
                    conn.lost()
                    if self.link.gave_up is not None:
                        self.stop.set()
                except InputError as exc:  # a connection string psycopg cannot read
                    self._fatal = exc
                    self.stop.set()
                except Exception as exc:  # a bug: keep the thread alive, start afresh
                    self.log(f"unexpected {type(exc).__name__}: {exc}")
                    conn.lost()
                    self.stop.wait(1.0)
        except FrontierUnavailable:
            pass  # stopped while reconnecting
        finally:
            conn.close()

    def _take_one(self) -> bool:
        """Count a claim against --max-pages; False once the limit is reached."""
        with self._lock:
            limit = self.options.max_pages
            if limit is not None and self._claimed >= limit:
                self.stop.set()
                return False
            self._claimed += 1
            return True

    def _give_back(self) -> None:
        with self._lock:
            self._claimed -= 1

    # ------------------------------------------------------------ deciding and fetching

    def _site(self, name: str, frontier: PgFrontier | None = None) -> SiteConfig | None:
        with self._lock:
            stale = time.monotonic() - self._sites_at > _SITES_MAX_AGE
            if (stale or name not in self._sites) and frontier is not None:
                self._sites = frontier.load_sites()
                self._sites_at = time.monotonic()
            return self._sites.get(name)

    def _decide(self, frontier: PgFrontier, cand: Candidate) -> Decision:
        """Inside the claim: fetch, fetch robots.txt first, or skip (robots or address)."""
        site = self._site(cand.site, frontier)
        if site is None:
            return "skip", 3600.0
        refused = None
        if not site.allow_private:
            host = host_of(cand.url)
            if host not in self._refused:
                self._refused[host] = refused_address(host)
            refused = self._refused[host]
        robots = None
        if refused is None:
            self._check_lease(site)
            if site.obey_robots:
                if not robots_fresh(cand.robots_age):
                    return "robots", 0.0
                key = (cand.host, cand.robots_txt, cand.robots_status)
                robots = self._robots.get(key)
                if robots is None:
                    robots = robots_for_status(cand.robots_status, cand.robots_txt)
                    self._robots[key] = robots
        skip = refusal(site, cand.url, robots, refused)
        return ("skip", skip.wait) if skip is not None else ("fetch", 0.0)

    def _check_lease(self, site: SiteConfig) -> None:
        """A lease shorter than the slowest fetch lets a second worker start on the host
        while the first still waits for its answer: say so, once per site."""
        slowest = site.timeout * (site.retries + 1) + 30.0 * site.retries
        if self.options.lease < slowest and site.name not in self._warned:
            self._warned.add(site.name)
            self.log(
                f"warning: --lease {self.options.lease:g}s is shorter than the slowest fetch "
                f"on site {site.name} ({slowest:g}s: timeout × attempts + retry waits)"
            )

    def _perform(self, claim: Claim, site: SiteConfig) -> Outcome:
        c = claim.candidate
        settings = fetch_settings(site)
        if claim.robots:
            task = Task(robots_url(c.url), TaskKind.ROBOTS, site, settings)
        else:
            item = FrontierItem(
                c.url, c.site, c.host, c.kind, c.depth, "", c.failures, c.etag,
                c.last_modified, c.lastmod, c.next_url,
            )  # fmt: skip
            headers = conditional_headers(c.etag, c.last_modified)
            task = Task(c.url, c.kind, site, settings, item, headers)
        try:
            return perform(task, self._fetchers.get(settings, task.url))
        except Exception as exc:  # a bug must not stall the crawl: report it as a failure
            return Outcome(task, error=ScraperError(f"unexpected {type(exc).__name__}: {exc}"))

    def _finish(self, conn: _Connection, claim: Claim) -> None:
        """Fetch, then complete the claim, retrying the completion through reconnects (the
        fetch is not repeated) until it commits or the lease has surely run out."""
        site = self._site(claim.candidate.site)
        assert site is not None  # _decide only fetches for sites it knows
        out = self._perform(claim, site)
        plan = _plan(claim, out, site)
        deadline = time.monotonic() + self.options.lease + 60.0
        while True:
            try:
                conn.get().complete(claim, plan.hosts, plan.apply)
                break
            except FrontierUnavailable as exc:
                conn.lost()
                if self.link.gave_up is not None:
                    self.stop.set()
                if time.monotonic() > deadline or self.stop.is_set():
                    if self.link.gave_up is None:  # else the one line that ends the run says it
                        self.log(f"gave up completing {claim.candidate.url}: {exc}")
                    return
                self.stop.wait(0.2)
        with self._lock:
            if claim.robots:
                self.stats.robots += 1
            else:
                self.stats.pages += 1
                self.stats.failed += int(plan.failed)
            self.stats.lost_leases += int(plan.lost)
