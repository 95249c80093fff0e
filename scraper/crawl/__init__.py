"""Scheduled crawls: discovery, scheduling and politeness around fetch -> parse -> archive.

``decide`` holds what a fetched URL comes to (its frontier row, the URLs it adds, what the
archive gets), the one set of decisions for both crawlers; ``frontier`` the protocol both
frontiers (the archive's, PostgreSQL's ``frontier_pg``) implement. A local crawl: ``run`` is
the scheduler (the one writer), ``hosts`` its politeness per host, ``results`` what it does
with an outcome, ``worker`` the fetching side and ``parsing`` the parsing side of the
workers, ``procs`` the worker processes they run in when a crawl uses several cores, ``lock``
the kernel lock that keeps two runs apart, ``log`` the per-URL log a run writes for cron,
``check`` what ``archiver check`` asks of each configured URL. A distributed crawl: the
``distributed`` package (workers, the ingest, what they say).

The names below are loaded on first use: a fetching process imports ``worker`` through this
package and must not pull in the scheduler, the archive and SQLite with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .lock import crawl_lock as crawl_lock
    from .procs import default_processes as default_processes
    from .run import CrawlOptions as CrawlOptions
    from .run import CrawlState as CrawlState
    from .run import CrawlStats as CrawlStats
    from .run import crawl as crawl
    from .run import stamp as stamp

_EXPORTS = {
    "CrawlOptions": "run",
    "CrawlState": "run",
    "CrawlStats": "run",
    "crawl": "run",
    "crawl_lock": "lock",
    "default_processes": "procs",
    "stamp": "run",
}

__all__ = [
    "CrawlOptions",
    "CrawlState",
    "CrawlStats",
    "crawl",
    "crawl_lock",
    "default_processes",
    "stamp",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
