"""What every part of the archive shares: transactions on the one connection, error kinds."""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Callable
from typing import Any

from scraper.errors import ArchiveError

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


class Transactions:
    """The one connection's transactions, and what parts hold back until a commit.

    A part that gathers writes to make at the end of a transaction (the search index) adds
    its flush to ``before_commit`` and its reset to ``after_rollback``.
    """

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self.before_commit: list[Callable[[], None]] = []
        self.after_rollback: list[Callable[[], None]] = []

    def plain(self) -> _Tx:
        """A transaction whose sqlite errors come out as they are (the caller names them)."""
        return _Tx(self)

    def named(self) -> _Tx:
        """A transaction whose sqlite errors surface as an ArchiveError naming the archive."""
        return _Tx(self, self.path)


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT on the connection, rolled back on any error (the connection
    is autocommit). Held-back writes go in just before the COMMIT, and are dropped on a
    rollback (``Transactions.before_commit``, ``after_rollback``). A transaction opened inside
    another joins it.

    Given ``path``, a sqlite error inside comes out as an ArchiveError naming the archive.
    """

    def __init__(self, transactions: Transactions, path: str | None = None) -> None:
        self.transactions = transactions
        self.conn = transactions.conn
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
                for flush in self.transactions.before_commit:
                    flush()
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
        for forget in self.transactions.after_rollback:
            forget()
