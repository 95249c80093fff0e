"""Keeping an archive small and safe: pruning what is no longer needed, backups, VACUUM.

Pruning removes old versions beyond a number kept per article, frontier rows of URLs that
keep failing (a crawl that finds them again starts them afresh), and raw pages nothing refers
to any longer: no article, version (its page or its attachments), fetch, attachment or image.
Each prune is one transaction; a dry run makes the same deletions and rolls them back, so what
it reports is exactly what a real run would remove.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scraper.errors import ArchiveError

from .base import Transactions
from .db import Database

# Every sha256 something refers to: pages of articles and versions, fetched pages, attached
# files (and those an earlier version had, as [url, sha256] pairs), pictures.
_REFERENCED = """
SELECT raw_sha256 FROM articles WHERE raw_sha256 IS NOT NULL
UNION SELECT raw_sha256 FROM versions WHERE raw_sha256 IS NOT NULL
UNION SELECT raw_sha256 FROM fetches WHERE raw_sha256 IS NOT NULL
UNION SELECT sha256 FROM attachments WHERE sha256 IS NOT NULL
UNION SELECT sha256 FROM images WHERE sha256 IS NOT NULL
UNION SELECT json_extract(j.value, '$[1]') FROM versions v, json_each(v.attachments) j
  WHERE v.attachments IS NOT NULL AND json_valid(v.attachments)
    AND json_extract(j.value, '$[1]') IS NOT NULL
"""
_UNREFERENCED = f"FROM raw_pages WHERE sha256 NOT IN ({_REFERENCED})"
_OLD_VERSIONS = """
FROM (SELECT id, article_id, replaced_at, title,
             row_number() OVER (PARTITION BY article_id ORDER BY id DESC) AS newer
      FROM versions)
WHERE newer > ?
"""
_DEAD = "FROM frontier WHERE status = 'failed' AND failures > ?"


@dataclass
class Pruned:
    """What a prune removed (or, in a dry run, would remove)."""

    versions: list[dict[str, Any]] = field(default_factory=list)
    frontier: list[dict[str, Any]] = field(default_factory=list)
    raw_pages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def raw_bytes(self) -> int:
        return sum(int(r["stored"]) for r in self.raw_pages)


class _DryRun(Exception):
    """Raised inside a dry run's transaction so that it rolls back."""


class Upkeep:
    """Pruning, backing up and compacting one archive."""

    def __init__(self, db: Database, transactions: Transactions, path: str) -> None:
        self.db = db
        self.transactions = transactions
        self.path = path

    def _rows(self, sql: str, args: list[Any]) -> list[dict[str, Any]]:
        cursor = self.db.execute(sql, args)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def prune(
        self,
        *,
        keep_versions: int | None = None,
        failed_over: int | None = None,
        dry_run: bool = False,
    ) -> Pruned:
        """Remove versions beyond the newest ``keep_versions`` of each article, frontier rows
        failed more than ``failed_over`` times (each only when given), then every raw page
        nothing refers to. One transaction; ``dry_run`` rolls it back."""
        pruned = Pruned()
        try:
            with self.transactions.plain():
                if keep_versions is not None:
                    pruned.versions = self._rows(
                        f"SELECT id, article_id, replaced_at, title {_OLD_VERSIONS} ORDER BY id",
                        [keep_versions],
                    )
                    self.db.execute(
                        f"DELETE FROM versions WHERE id IN (SELECT id {_OLD_VERSIONS})",
                        [keep_versions],
                    )
                if failed_over is not None:
                    pruned.frontier = self._rows(
                        f"SELECT url, failures, error {_DEAD} ORDER BY url", [failed_over]
                    )
                    self.db.execute(f"DELETE {_DEAD}", [failed_over])
                pruned.raw_pages = self._rows(
                    "SELECT sha256, size, length(content) AS stored "
                    f"{_UNREFERENCED} ORDER BY sha256",
                    [],
                )
                self.db.execute(f"DELETE {_UNREFERENCED}")
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"cannot prune archive {self.path}: {exc}") from exc
        return pruned

    def backup(self, dest: Path) -> int:
        """Copy the archive to ``dest`` with SQLite's online backup; its size in bytes.

        All pages are copied in one step, from one snapshot: a crawl writing meanwhile (WAL)
        is neither blocked nor restarts the copy. It is written beside ``dest`` and renamed,
        so ``dest`` is never a half-copied archive."""
        part = dest.with_name(dest.name + ".part")
        try:
            part.unlink(missing_ok=True)
            target = sqlite3.connect(part)
            try:
                self.db.conn.backup(target)
                target.execute("PRAGMA journal_mode = DELETE")  # one file, fit to copy
            finally:
                target.close()
            os.replace(part, dest)
            return dest.stat().st_size
        except sqlite3.DatabaseError as exc:
            part.unlink(missing_ok=True)
            raise ArchiveError(f"cannot back up archive {self.path} to {dest}: {exc}") from exc
        except OSError as exc:
            part.unlink(missing_ok=True)
            raise ArchiveError(
                f"cannot back up archive {self.path} to {dest}: {exc.strerror or exc}"
            ) from exc

    def vacuum(self) -> tuple[int, int]:
        """Rebuild the file without its free pages (after a prune); bytes before and after.

        The write-ahead log is folded in and truncated first and after, so the sizes are the
        archive's own."""
        try:
            before = self._size()
            self.db.execute("VACUUM")
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return before, self._size()
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"cannot vacuum archive {self.path}: {exc}") from exc

    def _size(self) -> int:
        pages = self.db.execute("PRAGMA page_count").fetchone()[0]
        page_size = self.db.execute("PRAGMA page_size").fetchone()[0]
        return int(pages) * int(page_size)
