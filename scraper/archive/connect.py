"""Opening archive.db: the connection's settings, WAL, read-only opening, the archive check."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from scraper.errors import ArchiveError

from .base import busy_timeout, is_busy
from .db import Database
from .schema import SCHEMA_VERSION, newer_schema, not_an_archive, schema_version


def connect(path: str, readonly: bool) -> Database:
    """The archive's one connection (autocommit: transactions are ours), its pragmas set."""
    cache_mb = _cache_mb()
    timeout = busy_timeout()
    if readonly:
        conn = _connect_readonly(path, timeout)
    else:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    db = Database(conn)
    db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    db.execute("PRAGMA foreign_keys = ON")
    # Band keys and hash ids land in random places of their indexes: a cache that holds
    # them spares rewriting the same pages on every save (SQLite's default is 2 MB).
    # At most 512 MB, used as needed; ARCHIVER_CACHE_MB for archives of millions.
    db.execute(f"PRAGMA cache_size = -{cache_mb * 1024}")
    return db


def prepare_for_writing(db: Database, path: str) -> None:
    """WAL mode and its sync level, on a file (not ``:memory:``)."""
    if path == ":memory:":
        return
    enable_wal(db.conn, busy_timeout())
    # In WAL mode NORMAL still survives kill -9 at any moment; only a power cut
    # can lose the last commits. It spares an fsync per saved page.
    db.execute("PRAGMA synchronous = NORMAL")


def check_is_archive(db: Database, path: str, readonly: bool) -> None:
    """Refuse a SQLite file that is not an archive (before anything is written to it).

    An archive has ``user_version`` 1 or more and an ``articles`` table; a new archive is an
    empty file (no tables at all). Anything else is someone else's database.
    """
    # One statement, so one snapshot: read apart, another process's migration could commit
    # between the version (0) and the tables (all of them), a new archive taken for a stranger.
    rows = db.execute(
        "SELECT (SELECT user_version FROM pragma_user_version), name FROM sqlite_master "
        "WHERE type = 'table' UNION ALL SELECT user_version, NULL FROM pragma_user_version"
    ).fetchall()
    version = int(rows[0][0])
    tables = {str(name) for _, name in rows if name is not None}
    if version >= 1 and "articles" in tables:
        return
    if version == 0 and not tables and not readonly:
        return  # a new archive: schema.migrate creates it
    raise not_an_archive(path)


def check_readable_schema(db: Database, path: str) -> None:
    """A read-only archive must be of this schema: it cannot be migrated."""
    current = schema_version(db)
    if current > SCHEMA_VERSION:
        raise newer_schema(path, current)
    if current < SCHEMA_VERSION:
        raise ArchiveError(
            f"archive {path} has schema {current}; run a write command (archiver "
            f"fetch, crawl or reparse) to upgrade it to {SCHEMA_VERSION}"
        )


def _cache_mb() -> int:
    value = os.environ.get("ARCHIVER_CACHE_MB", "512")
    if not value.isdecimal() or int(value) < 1:
        raise ArchiveError(f"ARCHIVER_CACHE_MB must be a whole number of megabytes, not {value!r}")
    return int(value)


def _connect_readonly(path: str, timeout: float) -> sqlite3.Connection:
    """A connection that cannot write to the archive at ``path`` (which must exist).

    ``mode=ro`` still needs the WAL index (``-shm``) beside the file; where the directory is
    read-only (read-only media) and there is none, SQLite cannot make it, and the file is
    opened ``immutable=1``: read as it is, without locks (nothing can be writing to it there).
    """
    if not Path(path).is_file():
        raise ArchiveError(f"no archive at {path}")
    uri = Path(path).resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", timeout=timeout, isolation_level=None, uri=True)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        conn.close()
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code not in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY):
            raise
    return sqlite3.connect(f"{uri}?immutable=1", timeout=timeout, isolation_level=None, uri=True)


def enable_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Switch a new archive to WAL mode; several processes may be opening it at once.

    Changing the journal mode needs the file to itself, and SQLite does not always wait for
    it through the busy handler: a busy or locked answer is retried until the busy timeout.
    """
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            conn.execute("PRAGMA journal_mode = WAL").fetchone()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)
