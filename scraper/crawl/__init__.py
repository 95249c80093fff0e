"""Scheduled crawls: discovery, scheduling and politeness around fetch -> parse -> archive.

``run`` holds the scheduler (the one writer), ``worker`` the fetch-and-parse side that runs in
threads, ``procs`` the worker processes those threads run in when a crawl uses several cores,
``lock`` the kernel lock that keeps two runs apart.
"""

from .lock import crawl_lock
from .procs import default_processes
from .run import CrawlOptions, CrawlState, CrawlStats, crawl, stamp

__all__ = [
    "CrawlOptions",
    "CrawlState",
    "CrawlStats",
    "crawl",
    "crawl_lock",
    "default_processes",
    "stamp",
]
