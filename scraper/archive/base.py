"""What every part of the archive shares: the connection, transactions, raw pages, fetches."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sqlite3
import zlib
from typing import Any

import sqlite_utils

from scraper.archive.prepare import RAW_COMPRESSION
from scraper.errors import ArchiveError
from scraper.models import FetchAttempt, Page

SQLITE_INT_MAX = 2**63 - 1  # SQLite integers are signed 64-bit
BUSY_TIMEOUT_ENV = "ARCHIVER_BUSY_TIMEOUT"

# SQLite's primary result codes that say the file or its medium failed us, not our SQL: busy
# or locked past the busy timeout, read-only, I/O error, corrupt, full, cannot open, not a
# database, no permission, out of memory. Anything else (a constraint, a missing column) is a
# bug and is left to be reported as one.
_ENVIRONMENT_CODES = frozenset(
    {
        sqlite3.SQLITE_PERM,
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
        sqlite3.SQLITE_NOTADB,
    }
)
# errno values of a file system that refuses us: read-only, full, over quota, no permission,
# an I/O error.
ENVIRONMENT_ERRNOS = frozenset(
    {errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EIO}
)


def busy_timeout() -> float:
    """Seconds a write waits for another writer's lock: ``ARCHIVER_BUSY_TIMEOUT``, default 60."""
    value = os.environ.get(BUSY_TIMEOUT_ENV, "60")
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 86400:
        raise ArchiveError(f"{BUSY_TIMEOUT_ENV} must be a number of seconds, not {value!r}")
    return seconds


def is_busy(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:  # raised by the sqlite3 module itself: only the message says
        return "locked" in str(error) or "busy" in str(error)
    return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def environment_fault(error: BaseException) -> bool:
    """Whether ``error`` is the disk, the file or another process failing us (exit 7), not a
    bug: a SQLite error of the kinds above, or an OSError of the errnos above."""
    if isinstance(error, sqlite3.DatabaseError):
        code = getattr(error, "sqlite_errorcode", None)
        if code is None:
            return isinstance(error, sqlite3.OperationalError) and is_busy(error)
        return code & 0xFF in _ENVIRONMENT_CODES
    if isinstance(error, OSError):
        return error.errno in ENVIRONMENT_ERRNOS
    return False


def site_since(site: str | None, since: str | None, alias: str = "") -> tuple[list[str], list[Any]]:
    """WHERE terms (and their arguments) for "of one site (host or name), published since"."""
    where: list[str] = []
    args: list[Any] = []
    if site:
        where.append(f"({alias}site = ? OR {alias}site_name = ?)")
        args += [site, site]
    if since:
        where.append(f"{alias}published >= ?")
        args.append(since)
    return where, args


class ArchiveBase:
    """The open database and the write helpers the archive's parts build on."""

    def __init__(self, db: sqlite_utils.Database, path: str) -> None:
        self.db = db
        self.path = path
        # Whether the works' bookkeeping (schema 9) exists: not while older migrations run.
        self._work_facts = True

    def _transaction(self) -> _Tx:
        return _Tx(self)

    def _before_commit(self) -> None:
        """Write what was held back until the end of the transaction (none here)."""

    def _after_rollback(self) -> None:
        """Forget what was held back for a transaction that was rolled back (none here)."""

    def _store_raw(self, content: bytes, packed: tuple[str, bytes] | None = None) -> str | None:
        """Keep page bytes once, by sha256; bytes already stored are not compressed again.

        ``packed`` is ``prepare.pack_raw(content)`` when the caller has it already.
        """
        if not content:
            return None
        sha = packed[0] if packed is not None else hashlib.sha256(content).hexdigest()
        if self.db.execute("SELECT 1 FROM raw_pages WHERE sha256 = ?", [sha]).fetchone():
            return sha
        blob = packed[1] if packed is not None else zlib.compress(content, RAW_COMPRESSION)
        self.db.execute(
            "INSERT OR IGNORE INTO raw_pages (sha256, size, compression, content) "
            "VALUES (?, ?, 'zlib', ?)",
            [sha, len(content), blob],
        )
        return sha

    def _insert_attempts(
        self,
        attempts: tuple[FetchAttempt, ...],
        sha: str | None,
        ident: int | None,
        page: Page | None = None,
    ) -> None:
        """One ``fetches`` row per attempt; the successful last one carries the page's
        headers (as JSON) and links to its raw bytes and article."""
        last = len(attempts) - 1
        for i, a in enumerate(attempts):
            ok = i == last and a.error is None
            wire: dict[str, str | None] = {}
            if ok and page is not None and page.headers:
                wire = {
                    "http_version": page.http_version,
                    "reason": page.reason,
                    "headers": json.dumps([list(h) for h in page.headers], ensure_ascii=False),
                    "request_headers": json.dumps(
                        [list(h) for h in page.request_headers], ensure_ascii=False
                    ),
                }
            record = {
                "url": a.url,
                "time": a.time,
                "status": a.status,
                "final_url": a.final_url,
                "bytes": a.bytes,
                "encoding": a.encoding,
                "elapsed": a.elapsed,
                "error": a.error,
                "etag": a.etag,
                "last_modified": a.last_modified,
                "raw_sha256": sha if ok else None,
                "article_id": ident if ok else None,
                **wire,
            }
            cols = list(record)
            self.db.execute(
                f"INSERT INTO fetches ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [record[c] for c in cols],
            )


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT on ``store``'s connection, rolled back on any error (the
    connection is autocommit). ``store``'s held-back writes go in just before the COMMIT, and
    are dropped on a rollback.

    Given ``path``, a sqlite error inside comes out as an ArchiveError naming the archive.
    """

    def __init__(self, store: ArchiveBase, path: str | None = None) -> None:
        self.store = store
        self.conn: sqlite3.Connection = store.db.conn
        self.path = path

    def __enter__(self) -> None:
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")
            self._owner = True
        else:
            self._owner = False

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if not self._owner:
            return
        if exc_type is None:
            try:
                self.store._before_commit()
                self.conn.execute("COMMIT")
                return
            except BaseException as error:
                self._roll_back()
                self._name_the_archive(error)
                raise
        self._roll_back()
        self._name_the_archive(exc[0])

    def _name_the_archive(self, error: object) -> None:
        if (
            self.path is not None
            and isinstance(error, sqlite3.DatabaseError)
            and environment_fault(error)
        ):
            raise ArchiveError(f"cannot write to archive {self.path}: {error}") from error

    def _roll_back(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        self.store._after_rollback()
