"""Crawl state in archive.db: the frontier, per-host politeness, runs.

Used by the crawl through its ``Frontier`` protocol (scraper/crawl/frontier.py), which
``Archive`` implements by handing each call to these parts, as ``PgFrontier``
(scraper/crawl/frontier_pg.py) does for the distributed crawl; tests/test_frontier.py runs one
behaviour suite on both. Every write is one transaction; a crawl wraps a page's save and its
frontier update in ``Archive.crawl_transaction`` so a kill -9 leaves either both or neither.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from scraper.errors import ArchiveError
from scraper.models import FrontierItem, HostState, NewUrl, Visit
from scraper.urls import canonicalize

from .base import Transactions
from .db import Database


class Frontier:
    """The URLs a crawl knows (``frontier``), its hosts' politeness (``hosts``), and the
    distributed crawl's results already written (``frontier_results``)."""

    def __init__(self, db: Database, transactions: Transactions) -> None:
        self.db = db
        self._write = transactions.named

    def result_ingested(self, frontier: str, result_id: int) -> bool:
        """Was this distributed-crawl result already written (before a crash, say)?"""
        row = self.db.execute(
            "SELECT 1 FROM frontier_results WHERE frontier = ? AND result_id = ?",
            [frontier, result_id],
        ).fetchone()
        return row is not None

    def mark_ingested(self, frontier: str, result_id: int, when: str) -> None:
        """Note a result as written, in the same transaction as its records."""
        # raw, not sqlite-utils' insert: one a page in a distributed crawl's one writer
        self.db.execute(
            "INSERT INTO frontier_results (frontier, result_id, ingested_at) VALUES (?, ?, ?)",
            [frontier, result_id, when],
        )

    def add(self, urls: Iterable[NewUrl], now: str) -> list[str]:
        """Insert URLs not yet known (due now); return those that were new.

        A known URL becomes due again when its date (a sitemap lastmod) is newer than the one
        stored, or when ``due`` is set (a start URL, a feed, a page of a list being followed).
        """
        added: list[str] = []
        with self._write():
            for u in urls:
                row = self.db.execute(
                    "SELECT lastmod, next_fetch_at FROM frontier WHERE url = ?", [u.url]
                ).fetchone()
                if row is None:
                    self.db.execute(
                        "INSERT INTO frontier (url, site, host, kind, depth, discovered_at, "
                        "next_fetch_at, lastmod) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [u.url, u.site, host_key(u.url), u.kind, u.depth, now, now, u.lastmod],
                    )
                    added.append(u.url)
                    continue
                newer = bool(u.lastmod and (row[0] is None or u.lastmod > row[0]))
                if newer or (u.due and row[1] > now):
                    self.db.execute(
                        "UPDATE frontier SET next_fetch_at = ?, lastmod = coalesce(?, lastmod), "
                        "depth = min(depth, ?) WHERE url = ?",
                        [now, u.lastmod, u.depth, u.url],
                    )
        return added

    def due(
        self,
        host: str,
        sites: Sequence[str],
        now: str,
        since: str | None = None,
        fetched_before: str | None = None,
        limit: int = 1,
    ) -> list[FrontierItem]:
        """The next ``limit`` URLs due on ``host`` for these sites: lists, sitemaps and feeds
        first, then by depth and by how long they have been due.

        With ``since``, articles whose known date is older are left for another run; with
        ``fetched_before`` (the run's start), URLs this run already fetched are skipped.
        """
        marks = ",".join("?" * len(sites))
        args: list[Any] = [host, now, *sites]
        where = ""
        if fetched_before:
            where = "AND (last_fetch_at IS NULL OR last_fetch_at < ?) "
            args.append(fetched_before)
        if since:
            where += (
                "AND NOT (kind = 'article' AND lastmod IS NOT NULL AND substr(lastmod, 1, 10) < ?)"
            )
            args.append(since[:10])
        rows = self.db.execute(
            f"SELECT url, site, host, kind, depth, status, failures, etag, last_modified, lastmod, "
            "next_url "
            f"FROM frontier WHERE host = ? AND next_fetch_at <= ? AND site IN ({marks}) {where}"
            f"ORDER BY kind = 'article', depth, next_fetch_at, rowid LIMIT {int(limit)}",
            args,
        ).fetchall()
        return [FrontierItem(*row) for row in rows]

    def revisit_now(self, sites: Sequence[str], now: str) -> int:
        """Make every page URL of these sites due at ``now`` (``crawl --revisit-now``); kept
        files stay off the schedule. Returns how many rows changed."""
        marks = ",".join("?" * len(sites))
        with self._write():
            cur = self.db.execute(
                f"UPDATE frontier SET next_fetch_at = ? WHERE next_fetch_at > ? "
                f"AND kind NOT IN ('attachment', 'image') AND site IN ({marks})",
                [now, now, *sites],
            )
        return cur.rowcount

    def hosts_due(self, sites: Sequence[str], now: str) -> list[str]:
        marks = ",".join("?" * len(sites))
        rows = self.db.execute(
            f"SELECT DISTINCT host FROM frontier WHERE next_fetch_at <= ? AND site IN ({marks})",
            [now, *sites],
        ).fetchall()
        return [r[0] for r in rows]

    def get(self, url: str) -> FrontierItem | None:
        row = self.db.execute(
            "SELECT url, site, host, kind, depth, status, failures, etag, last_modified, lastmod, "
            "next_url "
            "FROM frontier WHERE url = ?",
            [url],
        ).fetchone()
        return FrontierItem(*row) if row else None

    def done(self, url: str, visit: Visit) -> None:
        """Record what fetching ``url`` came to and when it is due again."""
        with self._write():
            failures = "failures + 1" if visit.failed else "0"
            self.db.execute(
                f"UPDATE frontier SET status = ?, last_fetch_at = ?, next_fetch_at = ?, "
                f"failures = {failures}, etag = coalesce(?, etag), "
                f"last_modified = coalesce(?, last_modified), "
                f"article_id = coalesce(?, article_id), next_url = coalesce(?, next_url), "
                f"error = ? WHERE url = ?",
                [
                    visit.status,
                    visit.time,
                    visit.next_fetch_at,
                    visit.etag,
                    visit.last_modified,
                    visit.article_id,
                    visit.next_url,
                    visit.error,
                    url,
                ],
            )

    def host_state(self, host: str) -> HostState | None:
        row = self.db.execute(
            "SELECT host, robots_txt, robots_status, robots_fetched_at, next_allowed_at, "
            "crawl_delay, failures FROM hosts WHERE host = ?",
            [host],
        ).fetchone()
        return HostState(*row) if row else None

    def host_save(self, state: HostState) -> None:
        with self._write():
            self.db.table("hosts").insert(dataclasses.asdict(state), replace=True)

    def article_found(self, url: str, article_id: int) -> None:
        """A page the crawl fetched as not an article was kept as one after all (reparse)."""
        self.db.execute(
            "UPDATE frontier SET article_id = ?, status = 'ok', error = NULL "
            "WHERE url = ? AND status = 'not_article'",
            [article_id, url],
        )


class Runs:
    """One ``runs`` row per ``archiver crawl``: its sites, process, figures and outcome."""

    def __init__(self, db: Database, transactions: Transactions) -> None:
        self.db = db
        self._write = transactions.named

    def start(self, started: str, sites: Sequence[str], pid: int) -> int:
        """A new ``runs`` row. Rows an earlier run left open (its process gone: killed, or
        stopped by a disk that no longer took even the closing update) are closed first, with
        outcome ``abandoned`` and this run's start as their end."""
        with self._write():
            self._close_stale(started)
            table = self.db.table("runs").insert(
                {"started": started, "sites": " ".join(sites), "pid": pid}
            )
        return int(table.last_rowid or 0)

    def update(self, run_id: int, figures: dict[str, Any]) -> None:
        """Store a run's figures: the counts, ``finished``, ``outcome``, ``exit_code``."""
        allowed = {
            "finished", "found", "new", "changed", "unchanged", "not_modified", "failed",
            "pages", "seconds", "outcome", "exit_code",
        }  # fmt: skip
        values = {k: v for k, v in figures.items() if k in allowed}
        if not values:
            return
        from sqlite_utils.db import NotFoundError  # a write: sqlite-utils is loaded for it

        # no such run: nothing to update (sqlite-utils reads the row first, and says so)
        with self._write(), contextlib.suppress(NotFoundError):
            self.db.table("runs").update(run_id, values)

    def close(self, run_id: int, finished: str, outcome: str, exit_code: int) -> bool:
        """Close a run that ended on an error, if the archive still takes a write; whether
        it did (else the next run closes it: ``run_start``)."""
        try:
            with self._write():
                self.db.execute(
                    "UPDATE runs SET finished = coalesce(finished, ?), outcome = ?, "
                    "exit_code = ? WHERE id = ?",
                    [finished, outcome, exit_code, run_id],
                )
        except (ArchiveError, sqlite3.Error):
            return False
        return True

    def _close_stale(self, now: str) -> None:
        rows = self.db.execute("SELECT id, pid FROM runs WHERE finished IS NULL").fetchall()
        stale = [int(ident) for ident, pid in rows if not _alive(pid)]
        for ident in stale:
            self.db.execute(
                "UPDATE runs SET finished = ?, outcome = coalesce(outcome, 'abandoned') "
                "WHERE id = ?",
                [now, ident],
            )

    def latest(self) -> int | None:
        row = self.db.execute("SELECT max(id) FROM runs").fetchone()
        return int(row[0]) if row and row[0] is not None else None


def _alive(pid: object) -> bool:
    """Whether a run's process is still running (another process of this machine)."""
    if not isinstance(pid, int) or pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but not ours to signal
        return True
    return True


_ORIGIN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#\s]+(?=[/?#]|\Z)")


def host_key(url: str) -> str:
    """``host[:port]`` of a URL: the unit of politeness (one request at a time)."""
    origin = _ORIGIN.match(url)
    if origin is None:
        return urlsplit(canonicalize(url)).netloc
    return _origin_key(origin.group())


@functools.lru_cache(maxsize=1024)
def _origin_key(origin: str) -> str:
    """``host_key`` of ``scheme://netloc``: a crawl asks it of every URL it meets, and a
    canonical URL's host part depends on nothing else (a few hosts, many URLs)."""
    return urlsplit(canonicalize(origin)).netloc
