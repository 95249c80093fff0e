"""Whether PostgreSQL answers: backoff between attempts (``Backoff``), one line when it goes
away and one when it is back, and the bound after which a process gives up (``Link``).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from scraper.crawl.frontier_pg import FrontierUnavailable, describe

from .console import Log, _duration

GIVE_UP_AFTER = 600.0  # seconds without PostgreSQL before a worker or the ingest gives up


def _bound(give_up_after: float | None) -> float | None:
    """``None``: the default bound; 0 (or less): never give up."""
    seconds = GIVE_UP_AFTER if give_up_after is None else give_up_after
    return seconds if seconds > 0 else None


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
