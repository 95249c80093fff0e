"""What the distributed commands say: whole lines, a status line on a terminal, and what a
waiting ingest waits for.
"""

from __future__ import annotations

import math
import shutil
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from scraper.crawl.frontier_pg import Backlog, PgFrontier

if TYPE_CHECKING:
    from .ingest import IngestStats


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
