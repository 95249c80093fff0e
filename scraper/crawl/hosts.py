"""A local run's politeness per host: its robots.txt rules, its delay and slowdown after
failures, and when it may be asked again; loaded from and saved to the frontier's host rows.

The scheduler (run.py) keeps one ``Host`` per host it has met in the run.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from scraper.crawl.discover import Robots, robots_for_status
from scraper.models import FrontierItem, HostState

from .decide import ROBOTS_MAX_AGE, RobotsVerdict, stamp
from .rules import host_failure
from .worker import Outcome

MAX_SLOWDOWN = 8.0  # a host's delay grows up to this factor after 429/503
# A host that may not be asked again for longer than this (a robots.txt Crawl-delay of an
# hour, a day) is left for a later run: its next time is saved, and a cron run does not idle
# for it while every other host is done.
LONGEST_WAIT = 600.0
SAVED_WAIT_BOUND = 3600.0  # a saved next time is trusted this far ahead at most


@dataclass
class Host:
    """A host's politeness state for this run (monotonic clock)."""

    name: str
    robots: Robots | None = None
    robots_status: int | None = None
    robots_at: str | None = None  # when robots.txt was fetched (a stamp)
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

    @classmethod
    def load(cls, name: str, saved: HostState | None) -> Host:
        """The host as a run meets it: its saved robots.txt while fresh, and its saved next
        time, bounded (a clock that was wrong when it was saved must not keep it away)."""
        h = cls(name)
        if saved is None:
            return h
        fetched = saved.robots_fetched_at
        if fetched and fetched > stamp(time.time() - ROBOTS_MAX_AGE):
            h.robots = robots_for_status(saved.robots_status, saved.robots_txt)
            h.crawl_delay = saved.crawl_delay or 0.0
            h.robots_status, h.robots_at = saved.robots_status, fetched
        if saved.next_allowed_at and saved.next_allowed_at > stamp():
            bound = max(saved.crawl_delay or 0.0, SAVED_WAIT_BOUND)
            wait = min(seconds_until(saved.next_allowed_at), bound)
            h.allowed_at = time.time() + wait
            h.hold(wait)
        return h

    def hold(self, wait: float) -> None:
        """Keep the host idle for ``wait`` seconds, or, past ``LONGEST_WAIT``, for a later run."""
        self.next_at = time.monotonic() + wait
        if wait > LONGEST_WAIT:
            self.aside = True

    def answered(self, out: Outcome) -> float:
        """A request to the host came back: count a host failure (slowing down, and setting
        the host aside after the site's ``max_host_failures`` in a row) and hold the host for
        its delay; the time.time() from which it may be asked again."""
        site = out.task.site
        self.busy = False
        if host_failure(out.error):
            self.failures += 1
            self.slowdown = min(self.slowdown * 2, MAX_SLOWDOWN)
            if self.failures >= site.max_host_failures:
                self.aside = True
        elif out.page is not None:
            self.failures = 0
        delay = max(site.delay, self.crawl_delay) * self.slowdown
        # The delay runs from the end of the response, not from when it is written (the
        # writer may be a batch behind): the host is not kept idle for longer than asked.
        allowed = (out.answered or time.time()) + delay
        self.hold(max(0.0, allowed - time.time()))
        return allowed

    def learned(self, verdict: RobotsVerdict) -> None:
        """A robots.txt answer: its rules, or, unreachable, the host set aside for the run."""
        if verdict.unreachable:
            self.aside = True
            return
        self.robots = verdict.rules
        self.crawl_delay = verdict.crawl_delay or 0.0
        self.robots_status, self.robots_at = verdict.status, stamp()

    def state(self) -> HostState:
        """What is kept across runs."""
        return HostState(
            host=self.name,
            robots_txt=self.robots.text if self.robots else None,
            robots_status=self.robots_status,
            robots_fetched_at=self.robots_at,
            next_allowed_at=stamp(self.allowed_at),
            crawl_delay=self.crawl_delay or None,
            failures=self.failures,
        )


def seconds_until(iso: str) -> float:
    try:
        when = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return 0.0
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
