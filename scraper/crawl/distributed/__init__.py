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

Modules: ``worker`` (claim, fetch, complete), ``complete`` (what completing a claim writes, as
crawl/decide.py decides for a local crawl too), ``ingest`` (the one writer), ``wire`` (results
as they travel), ``link`` (reconnecting with backoff), ``console`` (what the user sees).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from typing import Any

from scraper.crawl import decide
from scraper.crawl.config import SiteConfig
from scraper.crawl.frontier_pg import PgFrontier

from .console import NO_WORKER_AFTER, Console, Log, no_log
from .ingest import Ingest, IngestStats
from .link import GIVE_UP_AFTER, Backoff, Link
from .wire import decode_digest, decode_page, encode_result
from .worker import Worker, WorkerOptions, WorkerStats

__all__ = [
    "GIVE_UP_AFTER",
    "NO_WORKER_AFTER",
    "Backoff",
    "Console",
    "Ingest",
    "IngestStats",
    "Link",
    "Log",
    "Worker",
    "WorkerOptions",
    "WorkerStats",
    "decode_digest",
    "decode_page",
    "encode_result",
    "enqueue",
    "no_log",
    "status",
]


def enqueue(frontier_url: str, sites: Sequence[SiteConfig]) -> int:
    """Store the sites' configuration and make their start URLs, sitemaps and feeds due."""
    seeds = decide.seeds(sites)
    with PgFrontier.connect(frontier_url) as frontier:
        frontier.save_sites(sites)
        frontier.enqueue(seeds, [s.name for s in sites], os.getpid(), socket.gethostname())
    return len(seeds)


def status(frontier_url: str) -> dict[str, Any]:
    with PgFrontier.connect(frontier_url) as frontier:
        return frontier.status()
