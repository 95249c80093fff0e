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

import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import sys
import threading
from multiprocessing.process import BaseProcess
from typing import Any

from scraper.errors import ScraperError

from .worker import Fetchers, worker

_PR_SET_PDEATHSIG = 1


def default_processes() -> int:
    """Worker processes for a machine: one core is kept for the crawl's own process."""
    cores = os.cpu_count() or 1
    return max(0, min(4, cores - 1))


class WorkerProcesses:
    """``processes`` processes of ``threads`` worker threads each, fed through one queue."""

    def __init__(self, processes: int, threads: int) -> None:
        ctx = mp.get_context("spawn")  # no fork of a process holding an open SQLite connection
        self.tasks: Any = ctx.Queue()
        self.results: Any = ctx.Queue()
        self._threads = threads
        self._procs: list[BaseProcess] = [
            ctx.Process(
                target=_child,
                args=(self.tasks, self.results, threads, os.getpid()),
                name=f"archiver-worker-{i + 1}",
                daemon=True,
            )
            for i in range(processes)
        ]

    def start(self) -> None:
        for proc in self._procs:
            proc.start()

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


def _child(tasks: Any, results: Any, threads: int, parent: int) -> None:
    """A worker process: ``threads`` worker threads until told to stop or orphaned."""
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the crawl's to handle
    results.cancel_join_thread()  # never hang on exit over results nobody will read
    fetchers = Fetchers()
    pool = [
        threading.Thread(
            target=worker,
            args=(tasks, results, fetchers),
            kwargs={"parent": parent, "slim": True},
            daemon=True,
        )
        for _ in range(max(1, threads))
    ]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    fetchers.close()


def _die_with(parent: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux), if it is not gone."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(0)
