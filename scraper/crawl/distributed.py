"""Distributed crawls (issue 7): workers on many machines, one writer into archive.db.

``Worker`` loops claim → fetch and parse (``crawl.parsing.perform``, the same code a local crawl
runs) → complete: in one PostgreSQL transaction it releases the lease, queues the URLs it
found and pushes the result (parsed record, raw bytes, headers). ``Ingest`` takes results in
order and writes each through ``pipeline.record``, the step a local crawl's writer takes, so
canonicalization, works, versions, search and the counts are those of a local crawl.

Exactly once across crashes: a result is deleted from PostgreSQL only after archive.db has
committed it, and archive.db notes each result id (table ``frontier_results``) in the same
transaction as the record, so a result seen again after a crash is skipped, not saved twice.
A worker killed mid-fetch loses nothing: its lease runs out and another worker redoes the URL.

Without PostgreSQL, workers and the ingest reconnect with backoff (``Backoff``), say so once
when it goes away and once when it is back (``Link``), and give up after ``GIVE_UP_AFTER``
seconds (exit 7). A waiting ingest says what it waits for (``_Watch``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import random
import shutil
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, TextIO

from scraper.archive import Archive, dedup, host_key
from scraper.archive.prepare import Prepared
from scraper.crashpoints import crashpoint
from scraper.crawl.config import SiteConfig
from scraper.crawl.discover import (
    Robots,
    is_crawlable,
    robots_for_status,
    robots_head,
    robots_url,
)
from scraper.crawl.frontier_pg import (
    Backlog,
    Candidate,
    Claim,
    Completion,
    Decision,
    FrontierUnavailable,
    PgFrontier,
    Result,
    describe,
)
from scraper.crawl.parsing import perform
from scraper.crawl.rules import (
    article_urls,
    entry_urls,
    failure_wait,
    fetch_settings,
    figures,
    host_failure,
    sitemap_depth_note,
    summary_line,
)
from scraper.crawl.run import ROBOTS_MAX_AGE, stamp, too_large
from scraper.crawl.worker import Fetchers, Outcome, Task
from scraper.errors import FetchError, InputError, LockError, ParseError, ScraperError
from scraper.fetch import DEFAULT_USER_AGENT
from scraper.models import Article, FetchAttempt, FrontierItem, NewUrl, Page
from scraper.netguard import refused_address
from scraper.pipeline import Counters, page_from_bytes, record
from scraper.urls import canonicalize, host_of

_SITES_MAX_AGE = 30.0  # seconds a worker trusts its copy of the sites' configuration
_HEARTBEAT = 5.0
GIVE_UP_AFTER = 600.0  # seconds without PostgreSQL before a worker or the ingest gives up
NO_WORKER_AFTER = 300.0  # seconds without a worker alive before a waiting ingest says so
_LINE_EVERY = 60.0  # off a terminal, a waiting ingest's line comes at most this often
_FIGURES_EVERY = 5.0  # seconds between a waiting ingest's counts of the work left
Log = Callable[[str], None]


def no_log(message: str) -> None:
    pass


def _duration(seconds: float) -> str:
    """``7s``, ``4m05s``, ``2h03m``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _bound(give_up_after: float | None) -> float | None:
    """``None``: the default bound; 0 (or less): never give up."""
    seconds = GIVE_UP_AFTER if give_up_after is None else give_up_after
    return seconds if seconds > 0 else None


# ====================================================================== what the user sees


class Console:
    """Where the distributed commands say what they are doing (stderr unless quiet): whole
    lines, and on a terminal one status line rewritten in place, erased before a whole line."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        try:
            self.tty = stream is not None and stream.isatty()
        except (AttributeError, ValueError):  # a closed or odd stream
            self.tty = False
        self._shown = False
        self._lock = threading.Lock()

    @classmethod
    def for_log(cls, log: Log) -> Console:
        """stderr, unless the caller is quiet (its log is ``no_log``)."""
        return cls(None if log is no_log else sys.stderr)

    def line(self, text: str) -> None:
        if self.stream is None:
            return
        with self._lock:
            self._erase()
            self.stream.write(text + "\n")
            self.stream.flush()

    def status(self, text: str) -> None:
        """The line rewritten in place; nothing off a terminal."""
        if self.stream is None or not self.tty:
            return
        width = max(20, shutil.get_terminal_size((100, 20)).columns - 1)
        with self._lock:
            self.stream.write("\r" + text[:width] + "\x1b[K")
            self.stream.flush()
            self._shown = True

    def clear(self) -> None:
        with self._lock:
            self._erase()

    def _erase(self) -> None:
        if self._shown and self.stream is not None:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False

    def logging(self, log: Log) -> Log:
        """``log``, erasing the status line first."""
        if log is no_log:
            return log

        def say(message: str) -> None:
            self.clear()
            log(message)

        return say


@dataclass
class Backoff:
    """Waits between attempts to reach PostgreSQL: ``first`` doubling up to ``cap``, each drawn
    from the upper half of its step (jitter: processes that lost it together spread out)."""

    first: float = 1.0
    cap: float = 60.0
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def next(self) -> float:
        step = min(self.cap, self.first * 2.0 ** min(self.failures, 30))
        self.failures += 1
        return step * self.rng.uniform(0.5, 1.0)

    def reset(self) -> None:
        self.failures = 0


class Link:
    """Whether PostgreSQL answers, shared by a process's threads: one line when it stops, one
    when it is back (never a line per attempt), and the bound after which the process gives
    up. Attempts are timed by ``clock`` (injectable); an attempt that began before another
    one got through is stale and changes nothing."""

    def __init__(
        self,
        url: str,
        say: Log,
        give_up_after: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.where = describe(url)
        self.say = say
        self.give_up_after = _bound(give_up_after)
        self.clock = clock
        self.down_since: float | None = None
        self.reason = ""
        self.failures = 0  # failed attempts since it went away
        self.gave_up: str | None = None
        self._last_up = -math.inf
        self._lock = threading.Lock()

    def up(self, started: float) -> None:
        """An attempt begun at ``started`` got through."""
        with self._lock:
            self._last_up = max(self._last_up, started)
            if self.down_since is None:
                return
            away = self.clock() - self.down_since
            self.say(
                f"PostgreSQL at {self.where} answers again after {_duration(away)} "
                f"({self.failures} failed attempt{'s' if self.failures != 1 else ''})"
            )
            self.down_since, self.failures = None, 0

    def down(self, started: float, reason: str) -> float | None:
        """An attempt begun at ``started`` failed: the seconds left before giving up (None:
        no bound); raises FrontierUnavailable (and sets ``gave_up``) once they are spent."""
        with self._lock:
            if self.gave_up is not None:
                raise FrontierUnavailable(self.gave_up, reason=self.reason)
            if self.down_since is None and started < self._last_up:
                return self.give_up_after  # stale: another thread got through since
            now = self.clock()
            self.reason = reason
            self.failures += 1
            if self.down_since is None:
                self.down_since = started
                bound = self.give_up_after
                until = f", giving up after {_duration(bound)}" if bound is not None else ""
                self.say(f"cannot reach PostgreSQL at {self.where}: {reason}; retrying{until}")
            if self.give_up_after is None:
                return None
            left = self.give_up_after - (now - self.down_since)
            if left <= 0:
                self.gave_up = (
                    f"gave up after {_duration(now - self.down_since)} without PostgreSQL at "
                    f"{self.where} ({self.failures} attempts): {reason}"
                )
                raise FrontierUnavailable(self.gave_up, reason=reason)
            return left


# ====================================================================== seeding


def enqueue(frontier_url: str, sites: Sequence[SiteConfig]) -> int:
    """Store the sites' configuration and make their start URLs, sitemaps and feeds due."""
    seeds = [
        NewUrl(canonicalize(url, site.strip_params), site.name, kind, due=True)
        for site in sites
        for kind, urls in (
            ("list", site.start_urls),
            ("sitemap", site.sitemaps),
            ("feed", site.feeds),
        )
        for url in urls
    ]
    with PgFrontier.connect(frontier_url) as frontier:
        frontier.save_sites(sites)
        frontier.enqueue(seeds, [s.name for s in sites], os.getpid(), socket.gethostname())
    return len(seeds)


def status(frontier_url: str) -> dict[str, Any]:
    with PgFrontier.connect(frontier_url) as frontier:
        return frontier.status()


# ====================================================================== results on the wire


def encode_result(
    page: Page | None,
    *,
    article: Article | None = None,
    digest: dedup.Digest | None = None,
    attempts: tuple[FetchAttempt, ...] = (),
    found: int = 0,
    failed: bool = False,
) -> tuple[bytes, bytes | None]:
    """A result as (JSON payload, raw bytes): the page without its bytes and decoded text.

    An article travels with its digest (fingerprint and MinHash signature, computed by the
    worker), so the ingest, the one writer, does not compute it.
    """
    data: dict[str, Any] = {"found": found, "failed": failed}
    if page is not None:
        meta = asdict(page)
        del meta["content"], meta["text"]
        data["page"] = meta
    if article is not None:
        data["article"] = article.to_dict()
    if digest is not None:
        fingerprint, signature = digest
        data["digest"] = [fingerprint, dedup.signature_to_bytes(signature).hex()]
    if attempts:
        data["attempts"] = [asdict(a) for a in attempts]
    return json.dumps(data, ensure_ascii=False).encode(), page.content if page else None


def decode_digest(data: dict[str, Any]) -> dedup.Digest | None:
    """The digest a worker sent, if any and if this archiver reads its hashing scheme."""
    if "digest" not in data:
        return None
    fingerprint, signature = data["digest"]
    try:
        return str(fingerprint), dedup.signature_from_bytes(bytes.fromhex(signature))
    except ValueError:  # another hashing scheme (a worker of another version): recompute
        return None


def decode_page(meta: dict[str, Any], content: bytes | None) -> Page:
    """The page a worker sent (``encode_result``), decoded as the worker decoded it."""
    return page_from_bytes(
        meta["url"],
        content or b"",
        fetched_at=meta.get("fetched_at", ""),
        final_url=meta.get("final_url"),
        status=meta["status"],
        content_type=meta.get("content_type"),
        encoding=meta.get("encoding") or "",
        headers=tuple((str(k), str(v)) for k, v in meta.get("headers", ())),
        elapsed=meta.get("elapsed"),
        attempts=tuple(FetchAttempt(**a) for a in meta.get("attempts", ())),
        redirects=tuple(meta.get("redirects", ())),
        request_headers=tuple((str(k), str(v)) for k, v in meta.get("request_headers", ())),
        http_version=meta.get("http_version"),
        reason=meta.get("reason"),
    )


# ====================================================================== the worker


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
        if not site.allow_private:
            host = host_of(cand.url)
            if host not in self._refused:
                self._refused[host] = refused_address(host)
            if self._refused[host] is not None:
                return "skip", site.revisit_after
        self._check_lease(site)
        if not site.obey_robots:
            return "fetch", 0.0
        if cand.robots_age is None or cand.robots_age > ROBOTS_MAX_AGE:
            return "robots", 0.0
        key = (cand.host, cand.robots_txt, cand.robots_status)
        robots = self._robots.get(key)
        if robots is None:
            robots = self._robots[key] = robots_for_status(cand.robots_status, cand.robots_txt)
        if not robots.allows(cand.url, site.user_agent or DEFAULT_USER_AGENT):
            return "skip", site.revisit_after
        return "fetch", 0.0

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
            task = Task(robots_url(c.url), "robots", site, settings)
        else:
            item = FrontierItem(
                c.url, c.site, c.host, c.kind, c.depth, "", c.failures, c.etag,
                c.last_modified, c.lastmod, c.next_url,
            )  # fmt: skip
            headers: list[tuple[str, str]] = []
            if c.etag:
                headers.append(("If-None-Match", c.etag))
            if c.last_modified:
                headers.append(("If-Modified-Since", c.last_modified))
            task = Task(c.url, c.kind, site, settings, item, tuple(headers))
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


# ====================================================================== what a result does


@dataclass
class _Plan:
    """What completing one claim writes; ``apply`` runs inside the completion transaction
    (and again, from the start, if a lost connection made it roll back)."""

    claim: Claim
    out: Outcome
    site: SiteConfig
    hosts: set[str] = field(default_factory=set)
    articles: list[NewUrl] = field(default_factory=list)
    entries: list[NewUrl] = field(default_factory=list)
    failed: bool = False
    lost: bool = False
    note: str | None = None  # why an index's sitemaps were not all queued

    def apply(self, tx: Completion) -> None:
        self.lost = False
        if self.claim.robots:
            self._robots_done(tx)
            return
        if self._page_done(tx):
            self._release(tx)
        else:
            self.lost = True
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
        out, site = self.out, self.site
        agent = site.user_agent or DEFAULT_USER_AGENT
        if out.error is not None:
            status = getattr(out.error, "status", None)
            if isinstance(out.error, FetchError):
                tx.push("attempts", out.task.url, *encode_result(None, attempts=out.error.attempts))
            if status is None or status >= 500 or status == 429 or too_large(out.error):
                # robots.txt unreachable (or refused for its size): leave the host alone for a
                # while (a local crawl sets it aside for the run); asked again after the pause.
                self.failed = True
                self._release(tx, pause=True)
                return
            rules, text = robots_for_status(status, None), None
        else:
            assert out.page is not None
            status = out.page.status
            head = robots_head(out.page.text, len(out.page.content))  # the first 500 KiB
            text = head if 200 <= status < 300 else None
            rules = robots_for_status(status, head)
            tx.push("attempts", out.task.url, *encode_result(None, attempts=out.page.attempts))
        delay = rules.crawl_delay(agent)
        self._release(tx, robots=(text, status), crawl_delay=delay)

    def _page_done(self, tx: Completion) -> bool:
        """Mirror of ``Crawl._page_done``; False when the lease was lost (nothing written)."""
        out, site, c = self.out, self.site, self.claim.candidate
        page, url = out.page, c.url
        revisit = site.revisit_after
        if out.error is not None:
            self.failed = True
            if not tx.finish_url(
                "failed",
                failure_wait(site, out.error, c.failures),
                failed=True,
                error=str(out.error)[:500],
            ):
                return False
            if isinstance(out.error, FetchError):
                tx.push(
                    "attempts", url, *encode_result(None, attempts=out.error.attempts, failed=True)
                )
            elif page is not None:
                tx.push("page", url, *encode_result(page, failed=True))
            return True
        assert page is not None
        if page.status == 304:
            if not tx.finish_url("not_modified", revisit):
                return False
            tx.push("not_modified", url, *encode_result(page))
            if c.kind == "list":
                self._follow_next(tx, c.next_url, news=False)
            return True
        etag, modified = page.header("etag"), page.header("last-modified")
        status_name, found = "ok", 0
        next_url = out.next_url if c.kind == "list" else None
        if c.kind == "article" and out.article is not None and not out.article.kept:
            status_name = "not_article"
        if not tx.finish_url(
            status_name,
            revisit,
            etag=etag,
            last_modified=modified,
            next_url=next_url,
            error=self.note,
        ):
            return False
        if c.kind == "article":
            assert out.article is not None
            if out.article.kept:
                canonical = canonicalize(out.article.canonical_url, site.strip_params)
                article = replace(out.article, canonical_url=canonical)
                digest = out.prepared.digest if out.prepared is not None else None
                result = encode_result(page, article=article, digest=digest)
                tx.push("article", url, *result)
            else:
                tx.push("page", url, *encode_result(page))
            return True
        if c.kind == "list":
            added = tx.add(self.articles)
            found = len(added)
            self._follow_next(tx, next_url, news=bool(added))
        else:
            added = tx.add(self.entries)
            found = len(added) if not out.is_index else 0
        tx.push("page", url, *encode_result(page, found=found))
        return True

    def _follow_next(self, tx: Completion, next_url: str | None, *, news: bool) -> None:
        """The next list page becomes due unless pages in a row brought nothing new."""
        c, site = self.claim.candidate, self.site
        unchanged = 0 if news else c.chain + 1
        if (
            next_url
            and is_crawlable(next_url)
            and site.allows_host(host_of(next_url))
            and c.depth + 1 < site.max_list_pages
            and unchanged < site.stop_after_unchanged
        ):
            url = canonicalize(next_url, site.strip_params)
            tx.add([NewUrl(url, site.name, "list", c.depth + 1, due=True)], chain=unchanged)


def _plan(claim: Claim, out: Outcome, site: SiteConfig) -> _Plan:
    """Work out, before the transaction, which URLs a result adds and so which hosts it locks."""
    plan = _Plan(claim, out, site)
    page = out.page
    if claim.robots or out.error is not None or page is None or page.status == 304:
        next_url = claim.candidate.next_url if claim.candidate.kind == "list" else None
    elif claim.candidate.kind == "list" and out.listing is not None:
        plan.articles = article_urls(site, out.listing.links, page.final_url)
        next_url = out.next_url
    else:
        depth = claim.candidate.depth
        plan.entries = entry_urls(site, out.entries, out.is_index, depth)
        if out.is_index and out.entries and depth >= site.max_sitemap_depth:
            plan.note = sitemap_depth_note(site)
        elif out.is_index and len(plan.entries) >= site.max_sitemaps < len(out.entries):
            plan.note = f"only the first {site.max_sitemaps} sitemaps followed (max_sitemaps)"
        next_url = None
    plan.hosts = {host_key(u.url) for u in (*plan.articles, *plan.entries)}
    if next_url and is_crawlable(next_url):
        plan.hosts.add(host_key(next_url))
    return plan


# ====================================================================== the ingest


@dataclass
class IngestStats(Counters):
    """What an ingest did: its pages' fates (``Counters``) and the run's own figures."""

    run_id: int = 0
    results: int = 0
    skipped: int = 0  # already in archive.db (a crash came between its commit and ours)
    found: int = 0
    pages: int = 0
    seconds: float = 0.0
    outcome: str = "ok"

    def summary(self) -> str:
        return summary_line(self)


class _Watch:
    """What a waiting ingest shows: its first line says what it waits for; then, on a
    terminal, one line rewritten in place, otherwise a line when the state changes (workers
    come or go, none for ``NO_WORKER_AFTER``) or once a minute."""

    def __init__(
        self, where: str, console: Console, started: float, clock: Callable[[], float]
    ) -> None:
        self.where = where
        self.console = console
        self.started = started
        self.clock = clock
        self.backlog: Backlog | None = None
        self._counted = -math.inf
        self._state: tuple[str, int] | None = None
        self._written = -math.inf

    def poll(self, frontier: PgFrontier, stats: IngestStats) -> None:
        """Count the work left every few seconds and show it."""
        if self.console.stream is None:
            return
        now = self.clock()
        if self.backlog is None or now - self._counted >= _FIGURES_EVERY:
            self.backlog = frontier.backlog()
            self._counted = now
        self.show(self.backlog, stats, now)

    def show(self, b: Backlog, stats: IngestStats, now: float) -> None:
        state, text = self.describe(b, stats, now)
        if self.console.tty:
            self.console.status(f"{text} [{_duration(now - self.started)}]")
        elif state != self._state or now - self._written >= _LINE_EVERY:
            self.console.line(text)
            self._written = now
        self._state = state

    def describe(self, b: Backlog, stats: IngestStats, now: float) -> tuple[tuple[str, int], str]:
        """The state (what a change of deserves a line) and its line."""
        work = f"{b.due} URLs due, {b.leased} leased, {b.results} results waiting"
        hint = "start one with `archiver worker --frontier URL`"
        if b.workers:
            plural = "s" if b.workers > 1 else ""
            return ("working", b.workers), (
                f"{b.workers} worker{plural} on {self.where}: {work}; "
                f"ingested {stats.results} (new {stats.new})"
            )
        waited = now - self.started
        if b.last_seen is not None:
            waited = min(waited, b.last_seen)
        if waited >= NO_WORKER_AFTER:
            last = "none ever" if b.last_seen is None else f"the last {_duration(b.last_seen)} ago"
            return ("no worker", 0), (
                f"no worker seen for {_duration(waited)} ({last}) on {self.where}: {work}; {hint}"
            )
        text = f"waiting for workers on {self.where}: {work}, 0 workers seen; {hint}"
        return ("waiting", 0), text


class Ingest:
    """The one writer: results from the frontier into archive.db, in order, exactly once.

    While it waits, ``console`` (default: stderr unless ``log`` is ``no_log``) says for what
    (``_Watch``); at ``time_limit`` it ends with outcome "time limit", saying what is left.
    ``run`` raises FrontierUnavailable once PostgreSQL has been away ``give_up_after``
    seconds (None: ``GIVE_UP_AFTER``; 0: never).
    """

    def __init__(
        self,
        frontier_url: str,
        archive: Archive,
        *,
        until_idle: bool = False,
        time_limit: float | None = None,
        batch: int = 100,
        max_failures: int | None = None,
        log: Log = no_log,
        console: Console | None = None,
        give_up_after: float | None = None,
    ) -> None:
        self.url = frontier_url
        self.archive = archive
        self.until_idle = until_idle
        self.time_limit = time_limit
        self.max_failures = max_failures
        self.batch = batch
        self.console = console or Console.for_log(log)
        self.log = self.console.logging(log)
        self.link = Link(frontier_url, self.console.line, give_up_after)
        self.stats = IngestStats()
        self.stop = threading.Event()

    def run(self) -> IngestStats:
        started = time.monotonic()
        self.stats.run_id = self.archive.run_start(stamp(), ["frontier"], os.getpid())
        self.stats.outcome = "interrupted"
        deadline = None if self.time_limit is None else started + self.time_limit
        conn = _Connection(self.url, self.stop, WorkerStats(), self.link, deadline=deadline)
        watch = _Watch(self.link.where, self.console, started, time.monotonic)
        locked = False
        try:
            while not self.stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    self.stats.outcome = "time limit"
                    break
                try:
                    frontier = conn.get()
                    if not locked:
                        if not frontier.try_ingest_lock():
                            raise LockError("another ingest is running on this frontier")
                        locked = True
                    results = frontier.results(self.batch)
                    if results:
                        self._write(frontier.frontier_id, results)
                        frontier.results_done([r.id for r in results])
                        self._save_figures(started)
                        if self.max_failures is not None and self.stats.failed > self.max_failures:
                            # as a local crawl does; what is not ingested waits for the next run
                            self.stats.outcome = "too many failures"
                            break
                        watch.poll(frontier, self.stats)
                        continue
                    if self.until_idle and frontier.idle() and frontier.pending_results() == 0:
                        self.stats.outcome = "ok"
                        break
                    watch.poll(frontier, self.stats)
                    self.stop.wait(0.2)
                except FrontierUnavailable:
                    conn.lost()  # reconnected at once; the link says so if that fails
                    locked = False
                    if self.link.gave_up is not None:
                        self.stats.outcome = "frontier unreachable"
                        break
            else:
                self.stats.outcome = "interrupted"
            if self.stats.outcome == "time limit":
                self._left(conn, started)
        finally:
            self.console.clear()
            conn.close()
            self.stats.seconds = time.monotonic() - started
            self._save_figures(started, final=True)
        if self.link.gave_up is not None:
            raise FrontierUnavailable(self.link.gave_up, reason=self.link.reason)
        return self.stats

    def _left(self, conn: _Connection, started: float) -> None:
        """At the time limit: one line on what the frontier still holds for the next run."""
        if self.console.stream is None:
            return
        spent = f"time limit reached after {_duration(time.monotonic() - started)}"
        frontier = conn.current
        try:
            if frontier is None:
                raise FrontierUnavailable("not connected")
            b = frontier.backlog()
        except FrontierUnavailable:
            self.console.line(
                f"{spent} without PostgreSQL at {self.link.where}: what it holds is left "
                "for the next `archiver crawl --frontier` or `archiver ingest`"
            )
            return
        self.console.line(
            f"{spent}: {b.due} URLs due, {b.leased} leased and {b.results} results not yet "
            f"ingested are left in the frontier ({b.workers} workers alive) for the next "
            "`archiver crawl --frontier` or `archiver ingest`"
        )

    def _save_figures(self, started: float, *, final: bool = False) -> None:
        s = self.stats
        counts = figures(s, time.monotonic() - started)
        if final:
            counts.update(finished=stamp(), outcome=s.outcome)
        self.archive.run_update(s.run_id, counts)

    def _write(self, frontier_id: str, results: Sequence[Result]) -> None:
        """One SQLite transaction for the batch; each result's id goes into the ledger with
        its records, so a batch re-read after a crash is recognised and skipped."""
        counts: dict[str, int] = {}
        pages = Counters()
        with self.archive.crawl_transaction():
            for result in results:
                if self.archive.result_ingested(frontier_id, result.id):
                    counts["skipped"] = counts.get("skipped", 0) + 1
                    continue
                for name in self._apply(result, pages):
                    counts[name] = counts.get(name, 0) + 1
                # written, its id not yet in the ledger, neither committed (crashpoints.py)
                crashpoint("save-before-commit")
                self.archive.mark_ingested(frontier_id, result.id, stamp())
        # committed to archive.db, not yet dropped from PostgreSQL (results_done)
        crashpoint("save-after-commit", len(results) - counts.get("skipped", 0))
        self.stats.add(pages)
        for name, n in counts.items():
            setattr(self.stats, name, getattr(self.stats, name) + n)

    def _apply(self, result: Result, pages: Counters) -> list[str]:
        """Write one result through the pipeline, counting its page in ``pages``; the run's
        other figures it moves (results, found, pages)."""
        data = json.loads(result.payload)
        failed = bool(data.get("failed"))
        names = ["results"] + ["found"] * int(data.get("found", 0))
        if result.kind == "attempts":
            attempts = tuple(FetchAttempt(**a) for a in data.get("attempts", ()))
            if not failed:  # a robots.txt fetch's attempts: bookkeeping, not a page
                self.archive.record_failure(attempts)
                return names
            reason = attempts[-1].error if attempts and attempts[-1].error else "fetch failed"
            record(self.archive, FetchError(reason, attempts=attempts), None, pages)
            return [*names, "pages"]
        page = decode_page(data["page"], result.content)
        parsed: Article | ScraperError | None = None
        prepared = None
        if result.kind == "article":
            digest = decode_digest(data)
            prepared = Prepared(digest) if digest is not None else None
            parsed = Article(**data["article"])
        elif failed:  # the worker's parser failed on it: the page is kept, counted failed
            parsed = ParseError("could not parse page", url=page.url)
        record(self.archive, page, parsed, pages, prepared=prepared)
        return [*names, "pages"]
