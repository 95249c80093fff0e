"""Fetching and parsing processes, so that a crawl uses more than one core.

In one process, the worker threads and the one writer share one interpreter lock, so a crawl
never used more than about one core, and the writer, which the whole crawl waits on, spent
much of its time waiting for the lock. Here fetching runs in other processes, whose threads
fetch (``worker.fetch_task``) and mostly wait on the network. Parsing (``parsing.parse_fetched``)
runs in one thread: with fetching and parsing threads in one process a page cost about a
third more CPU, each socket that woke a fetching thread making it fight the parsing thread for
the interpreter lock.

Where that thread runs depends on the cores. With one fetching process (a two-core machine),
the crawl's own process parses what comes back, between writes: a third process and a second
hop between processes cost more than they free (measured with bench/crawl.py: about 7% more
CPU a page with a parsing process, for 20% more pages a second than the ~340 a second that
one writing and parsing process keeps up with). With more, each fetching process has a
parsing process beside it, one thread that parses and hashes what its fetching process brings
and sends plain ``Outcome`` data on, and the crawl's process keeps only the scheduler and the
writer.

Tasks go out through one pipe that every fetching thread reads (``TaskPipe``); fetched pages
go to the parser, and outcomes back to the crawl, through pipes too. A
``multiprocessing.Queue`` hands each item to a feeder thread, one more thread to wake per
page: in the crawl's process that thread fought the writer for the interpreter lock. A pipe
written directly can fill up, so the crawl never has more tasks out than its fetching threads
can hold (``Crawl`` caps what is in flight) and the pipe never holds more than that.

A worker process never outlives the crawl: on Linux the kernel kills it when the crawl's
process dies (kill -9 included), and everywhere it also checks, while idle, that its parent
is still there. A worker process that dies ends the run with an error; the next run resumes.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from scraper.errors import ScraperError

if sys.platform != "win32":
    import fcntl

from .worker import Fetchers, Outcome, Task, fetch_all

_PR_SET_PDEATHSIG = 1


def default_processes() -> int:
    """Fetching processes for a machine (each with a parsing process when there are two or
    more): one core is kept for the crawl's own process (a fetching process mostly waits, so
    it and its parser take about one core)."""
    cores = os.cpu_count() or 1
    return max(0, min(4, cores - 1))


class WorkerProcesses:
    """``count`` fetching processes of ``threads`` threads each and, with ``parse``, a parsing
    process beside each; without, the crawl's own process parses what they fetch."""

    def __init__(self, count: int, threads: int, *, parse: bool = True) -> None:
        ctx = mp.get_context("spawn")  # no fork of a process holding an open SQLite connection
        self.tasks = TaskPipe(ctx)
        self.parsed = parse  # whether outcomes come back parsed
        self._fetching_threads = count * max(1, threads)
        self._procs: list[BaseProcess] = []
        self._child_ends: list[Connection] = []
        readers: list[Connection] = []
        parent = os.getpid()
        self._own_cpus, worker_cpus = _split_cpus()
        self._allowed: frozenset[int] | None = None  # this thread's CPUs before start()
        for i in range(count):
            results_in, results_out = ctx.Pipe(duplex=False)
            readers.append(results_in)
            self._child_ends.append(results_out)
            fetched_out = results_out
            if parse:
                fetched_in, fetched_out = ctx.Pipe(duplex=False)
                self._procs.append(
                    ctx.Process(
                        target=_parsing,
                        args=(fetched_in, results_out, parent, worker_cpus),
                        name=f"archiver-parse-{i + 1}",
                        daemon=True,
                    )
                )
                self._child_ends += [fetched_in, fetched_out]
            self._procs.append(
                ctx.Process(
                    target=_fetching,
                    args=(self.tasks, fetched_out, threads, parent, worker_cpus),
                    name=f"archiver-fetch-{i + 1}",
                    daemon=True,
                )
            )
        self.results = ResultPipes(readers, self)

    def start(self) -> None:
        with _main_script_hidden():
            for proc in self._procs:
                proc.start()
        self._allowed = _set_cpus(self._own_cpus)
        for end in self._child_ends:  # the children have theirs: a child's death reads as EOF
            end.close()

    def check(self) -> None:
        """Raise if a worker process has died: its tasks would never come back."""
        for proc in self._procs:
            if proc.exitcode is not None:
                raise ScraperError(
                    f"crawl worker process {proc.name} died (exit code {proc.exitcode}); "
                    "run again to resume"
                )

    def stop(self, wait: float = 5.0) -> None:
        """Ask every fetching thread to finish, then make sure every process is gone."""
        with contextlib.suppress(Exception):
            for _ in range(self._fetching_threads):
                self.tasks.put(None)
        for proc in self._procs:
            if proc.pid is not None:
                proc.join(wait)
        for proc in self._procs:
            if proc.is_alive():
                proc.kill()
                proc.join(1.0)
        self.tasks.close()
        self.results.close()
        _set_cpus(self._allowed)  # this process may go on with other work


class TaskPipe:
    """Tasks from the crawl (the only writer) to every fetching thread of every worker
    process. ``put`` writes at once, with no feeder thread; ``get`` reads one task under a
    lock shared by the readers, or raises ``queue.Empty`` after ``timeout``."""

    def __init__(self, ctx: Any) -> None:
        self._reader, self._writer = ctx.Pipe(duplex=False)
        self._lock = ctx.Lock()
        if sys.platform == "linux":  # room for many tasks of large site configs
            with contextlib.suppress(OSError):
                fcntl.fcntl(self._writer.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)

    def put(self, task: Task | None) -> None:
        self._writer.send(task)

    def get(self, block: bool = True, timeout: float | None = None) -> Task | None:
        wait = timeout if block else 0.0
        if not self._lock.acquire(True, wait):
            raise queue.Empty
        try:
            if not self._reader.poll(wait):
                raise queue.Empty
            task: Task | None = self._reader.recv()
            return task
        finally:
            self._lock.release()

    def close(self) -> None:
        self._reader.close()
        self._writer.close()


class ResultPipes:
    """The parsing processes' outcomes, read from their pipes as from a queue."""

    def __init__(self, readers: list[Connection], owner: WorkerProcesses) -> None:
        self._readers = readers
        self._owner = owner
        self._ready: collections.deque[Any] = collections.deque()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """The next outcome; ``queue.Empty`` when none comes within ``timeout``."""
        end = None if timeout is None else time.monotonic() + timeout
        while not self._ready:
            left = None if end is None else max(0.0, end - time.monotonic())
            ready = wait(self._readers, left if block else 0)
            if not ready:
                raise queue.Empty
            for reader in ready:
                self._read(reader)  # type: ignore[arg-type]
        return self._ready.popleft()

    def get_nowait(self) -> Any:
        return self.get(block=False)

    def _read(self, reader: Connection) -> None:
        try:
            while True:
                out = reader.recv()
                if out is not None:  # a fetching process's last word (meant for a parser)
                    self._ready.append(out)
                if not reader.poll(0):
                    return
        except (EOFError, OSError) as exc:
            self._owner.check()
            raise ScraperError(
                "a crawl worker process closed its pipe; run again to resume"
            ) from exc

    def close(self) -> None:
        for reader in self._readers:
            reader.close()


def _fetching(
    tasks: Any, fetched: Connection, threads: int, parent: int, cpus: frozenset[int] | None
) -> None:
    """A fetching process: ``threads`` threads until told to stop or orphaned; each outcome
    goes to ``fetched`` (its parser's pipe, or the crawl's), then ``None``."""
    _die_with(parent)
    _set_cpus(cpus)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the crawl's to handle
    fetchers = Fetchers()
    lock = threading.Lock()

    def send(out: Outcome | None) -> None:
        with lock:
            fetched.send(out)

    with contextlib.suppress(OSError):  # the parser gone: the crawl sees it and stops
        fetch_all(tasks, send, fetchers, threads, parent)
    fetchers.close()


def _parsing(
    fetched: Connection, results: Connection, parent: int, cpus: frozenset[int] | None
) -> None:
    """A parsing process: parse what its fetching process sends, until ``None`` or its end."""
    from .parsing import parse_fetched  # here, not above: fetching processes never parse

    _die_with(parent)
    _set_cpus(cpus)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(EOFError, OSError):
        while (out := fetched.recv()) is not None:
            results.send(parse_fetched(out, slim=True))


@contextlib.contextmanager
def _main_script_hidden() -> Iterator[None]:
    """Start processes without their running the command's script first.

    A spawned process runs the parent's ``__main__`` file again (for targets defined there);
    for the ``archiver`` script that imported the whole command line, archive and parser: about
    0.4 s of CPU for each worker process of every run, three times what the worker needs. The
    targets here are importable by name, and under ``python -m scraper`` multiprocessing already
    skips the script.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None:
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


def _die_with(parent: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux), if it is not gone."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(0)


def _split_cpus() -> tuple[frozenset[int] | None, frozenset[int] | None]:
    """The CPU the crawl's process keeps to, and the CPUs its worker processes share: the ones
    this process may run on (``taskset`` narrows them), split. None: no split (one CPU, or an
    OS without affinity).

    Left to the scheduler, the crawl's process and a worker process woke each other onto the
    same core and traded caches: on two cores a page cost about 8% more CPU (bench/crawl.py,
    A/B runs alternated). The crawl's process keeps the CPU it is on, so that two crawls
    started apart do not both pick the first one.
    """
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    allowed = os.sched_getaffinity(0)
    if len(allowed) < 2:
        return None, None
    mine = _current_cpu()
    if mine not in allowed:
        mine = min(allowed)
    return frozenset({mine}), frozenset(allowed - {mine})


def _current_cpu() -> int:
    """The CPU this process last ran on (Linux), else -1."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[36])
    except (OSError, ValueError, IndexError):
        return -1


def _set_cpus(cpus: frozenset[int] | None) -> frozenset[int] | None:
    """Keep this thread, and the threads it starts, to ``cpus``; return what it had."""
    if cpus is None or not hasattr(os, "sched_setaffinity"):
        return None
    before = frozenset(os.sched_getaffinity(0))
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, cpus)
    return before
