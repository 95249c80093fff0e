"""The ingest side of a distributed crawl: the one writer, results into archive.db in order,
exactly once.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scraper.archive import Archive
from scraper.archive.prepare import Prepared
from scraper.crashpoints import crashpoint
from scraper.crawl.decide import stamp
from scraper.crawl.frontier_pg import FrontierUnavailable, Result
from scraper.crawl.rules import figures, summary_line
from scraper.errors import DisallowedError, FetchError, LockError, ParseError, ScraperError
from scraper.models import Article, FetchAttempt, RunOutcome, TaskKind
from scraper.pipeline import Counters, Kind, record

from .console import Console, Log, _duration, _Watch, no_log
from .link import Link
from .wire import decode_attachment, decode_digest, decode_page
from .worker import WorkerStats, _Connection


@dataclass
class IngestStats(Counters):
    """What an ingest did: its pages' fates (``Counters``) and the run's own figures."""

    run_id: int = 0
    results: int = 0
    skipped: int = 0  # already in archive.db (a crash came between its commit and ours)
    found: int = 0
    pages: int = 0
    attachments: int = 0  # files archived articles carry: not pages, not articles
    images: int = 0
    seconds: float = 0.0
    outcome: str = RunOutcome.OK

    def summary(self) -> str:
        return summary_line(self)


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
        self.stats.outcome = RunOutcome.INTERRUPTED
        deadline = None if self.time_limit is None else started + self.time_limit
        conn = _Connection(self.url, self.stop, WorkerStats(), self.link, deadline=deadline)
        watch = _Watch(self.link.where, self.console, started, time.monotonic)
        locked = False
        try:
            while not self.stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    self.stats.outcome = RunOutcome.TIME_LIMIT
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
                            self.stats.outcome = RunOutcome.TOO_MANY_FAILURES
                            break
                        watch.poll(frontier, self.stats)
                        continue
                    if self.until_idle and frontier.idle() and frontier.pending_results() == 0:
                        self.stats.outcome = RunOutcome.OK
                        break
                    watch.poll(frontier, self.stats)
                    self.stop.wait(0.2)
                except FrontierUnavailable:
                    conn.lost()  # reconnected at once; the link says so if that fails
                    locked = False
                    if self.link.gave_up is not None:
                        self.stats.outcome = RunOutcome.FRONTIER_UNREACHABLE
                        break
            else:
                self.stats.outcome = RunOutcome.INTERRUPTED
            if self.stats.outcome == RunOutcome.TIME_LIMIT:
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

    def _withdraw(self, result: Result, data: dict[str, Any], pages: Counters) -> list[str]:
        """An article's revisit found it gone (``decide.takedown``): withdraw the archived
        article; with none there, a 404 is a failed fetch and a not-found or home page a page
        that is not an article, as a local crawl keeps them."""
        page = decode_page(data["page"], result.content) if "page" in data else None
        attempts = tuple(FetchAttempt(**a) for a in data.get("attempts", ()))
        attempts = page.attempts if page is not None else attempts
        when = page.fetched_at if page is not None else (attempts[-1].time if attempts else "")
        reason = str(data["reason"])
        if self.archive.withdraw(result.url, reason, when or stamp(), attempts, page) is not None:
            return ["pages"]
        if page is None:
            record(self.archive, FetchError(reason, attempts=attempts), None, pages)
        else:
            self.archive.record_page(page)
            pages.count(Kind.NOT_ARTICLE)
        return ["pages"]

    def _apply(self, result: Result, pages: Counters) -> list[str]:
        """Write one result through the pipeline, counting its page in ``pages``; the run's
        other figures it moves (results, found, pages)."""
        data = json.loads(result.payload)
        failed = bool(data.get("failed"))
        names = ["results"] + ["found"] * int(data.get("found", 0))
        if result.kind in (TaskKind.ATTACHMENT, TaskKind.IMAGE):
            attempts = tuple(FetchAttempt(**a) for a in data.get("attempts", ()))
            if result.kind == TaskKind.ATTACHMENT:
                self.archive.attach(decode_attachment(data), result.content, attempts)
                return [*names, "attachments"]
            self.archive.keep_image(result.url, result.content, attempts, data.get("error"))
            return [*names, "images"]
        if result.kind == "attempts":
            attempts = tuple(FetchAttempt(**a) for a in data.get("attempts", ()))
            if not failed:  # a robots.txt fetch's attempts: bookkeeping, not a page
                self.archive.record_failure(attempts)
                return names
            reason = attempts[-1].error if attempts and attempts[-1].error else "fetch failed"
            error = DisallowedError if data.get("disallowed") else FetchError
            record(self.archive, error(reason, attempts=attempts), None, pages)
            return [*names, "pages"]
        if result.kind == "withdrawn":
            return [*names, *self._withdraw(result, data, pages)]
        page = decode_page(data["page"], result.content)
        parsed: Article | ScraperError | None = None
        prepared = None
        if result.kind == "article":
            digest = decode_digest(data)
            prepared = Prepared(digest) if digest is not None else None
            parsed = Article.from_dict(data["article"])
        elif failed:  # the worker's parser failed on it: the page is kept, counted failed
            parsed = ParseError("could not parse page", url=page.url)
        record(self.archive, page, parsed, pages, prepared=prepared)
        return [*names, "pages"]
