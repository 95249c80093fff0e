"""Fetch-and-parse worker processes, so that a crawl uses more than one core.

In one process, the worker threads and the one writer share one interpreter lock, so a crawl
never used more than about one core, and the writer, which the whole crawl waits on, spent
much of its time waiting for the lock. Here the worker threads run in other processes: they
fetch, parse and hash (``worker.perform``), and send back plain ``Outcome`` data; the crawl's
own process keeps the scheduler and the writer.

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
import time
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from scraper.errors import ScraperError

from .worker import Fetchers, WorkerPool

_PR_SET_PDEATHSIG = 1


def default_processes() -> int:
    """Worker processes for a machine: one core is kept for the crawl's own process."""
    cores = os.cpu_count() or 1
    return max(0, min(4, cores - 1))


class WorkerProcesses:
    """``processes`` processes of ``threads`` fetching threads each, fed through one queue.

    Results come back through a pipe per process, written by its parsing thread: a
    ``multiprocessing.Queue`` would hand each one to a feeder thread to pickle and send,
    one more thread waking for the interpreter lock per page.
    """

    def __init__(self, processes: int, threads: int) -> None:
        ctx = mp.get_context("spawn")  # no fork of a process holding an open SQLite connection
        self.tasks: Any = ctx.Queue()
        self._threads = threads
        pipes = [ctx.Pipe(duplex=False) for _ in range(processes)]
        self.results = ResultPipes([reader for reader, _ in pipes], self)
        self._writers = [writer for _, writer in pipes]
        self._procs: list[BaseProcess] = [
            ctx.Process(
                target=_child,
                args=(self.tasks, writer, threads, os.getpid()),
                name=f"archiver-worker-{i + 1}",
                daemon=True,
            )
            for i, (_, writer) in enumerate(pipes)
        ]

    def start(self) -> None:
        for proc in self._procs:
            proc.start()
        for writer in self._writers:  # the children have theirs: a child's death reads as EOF
            writer.close()

    def check(self) -> None:
        """Raise if a worker process has died: its tasks would never come back."""
        for proc in self._procs:
            if proc.exitcode is not None:
                raise ScraperError(
                    f"crawl worker process {proc.name} died (exit code {proc.exitcode}); "
                    "run again to resume"
                )

    def stop(self, wait: float = 5.0) -> None:
        """Ask every worker thread to finish, then make sure every process is gone."""
        for _ in range(len(self._procs) * self._threads):
            with contextlib.suppress(Exception):
                self.tasks.put(None)
        for proc in self._procs:
            if proc.pid is not None:
                proc.join(wait)
        for proc in self._procs:
            if proc.is_alive():
                proc.kill()
                proc.join(1.0)
        self.tasks.cancel_join_thread()
        self.tasks.close()
        self.results.close()


class ResultPipes:
    """The worker processes' results, read from their pipes as from a queue."""

    def __init__(self, readers: list[Connection], owner: WorkerProcesses) -> None:
        self._readers = readers
        self._owner = owner
        self._ready: collections.deque[Any] = collections.deque()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """The next result; ``queue.Empty`` when none comes within ``timeout``."""
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
                self._ready.append(reader.recv())
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


class _PipeWriter:
    """The child's end of its result pipe, put to as to a queue (by one thread only)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def put(self, obj: Any, block: bool = True, timeout: float | None = None) -> None:
        self._conn.send(obj)


def _child(tasks: Any, results: Connection, threads: int, parent: int) -> None:
    """A worker process: ``threads`` fetching threads and a parser, until told to stop or
    orphaned."""
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the crawl's to handle
    fetchers = Fetchers()
    pool = WorkerPool(tasks, _PipeWriter(results), fetchers, threads, parent=parent, slim=True)
    pool.start()
    pool.join()
    fetchers.close()


def _die_with(parent: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux), if it is not gone."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(0)
