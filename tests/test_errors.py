"""Exit codes: each error class maps to the code the README documents, and the disk, the file
or another writer failing us is exit 7 (not a bug), whatever error class carries it."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest

from scraper.archive.base import environment_fault, is_busy
from scraper.cli import (
    EXIT_ARCHIVE,
    EXIT_BLOCKED,
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_UNEXPECTED,
    EXIT_USAGE,
    exit_code_for,
)
from scraper.errors import (
    ArchiveError,
    BlockedError,
    ConfigError,
    DisallowedError,
    FetchError,
    HTTPStatusError,
    InputError,
    LockError,
    NotHTMLError,
    ParseError,
    ScraperError,
    TooLargeError,
    WarcError,
)


def sqlite_error(kind: type[sqlite3.Error], message: str, code: int | None) -> sqlite3.Error:
    """An error as SQLite raises it: with its (extended) result code, or none when the
    sqlite3 module raised it itself."""
    error = kind(message)
    if code is not None:
        error.sqlite_errorcode = code
    return error


def test_the_documented_codes_have_their_documented_values() -> None:
    assert (EXIT_UNEXPECTED, EXIT_USAGE, EXIT_FAILED, EXIT_CONFIG) == (1, 2, 3, 4)
    assert (EXIT_LOCKED, EXIT_BLOCKED, EXIT_ARCHIVE, EXIT_INTERRUPTED) == (5, 6, 7, 130)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InputError("no such file"), EXIT_USAGE),
        (ConfigError("bad", path="sites.toml", site="a", key="delay"), EXIT_CONFIG),
        (LockError("another crawl holds the lock"), EXIT_LOCKED),
        (ArchiveError("cannot open"), EXIT_ARCHIVE),
        (BlockedError("429 after retries", url="http://a.test/", status=429), EXIT_BLOCKED),
        (BlockedError("403 after retries", status=403), EXIT_BLOCKED),
        (FetchError("connection refused", url="http://a.test/"), EXIT_FAILED),
        (HTTPStatusError("gone", status=404), EXIT_FAILED),
        (TooLargeError("over the cap"), EXIT_FAILED),
        (NotHTMLError("a PDF"), EXIT_FAILED),
        (DisallowedError("private address"), EXIT_FAILED),
        (ParseError("no article"), EXIT_FAILED),
        (WarcError("bad record", path="x.warc", offset=7), EXIT_FAILED),
        (ScraperError("anything else archiver expects"), EXIT_FAILED),
        (KeyboardInterrupt(), EXIT_INTERRUPTED),
        (ValueError("a bug"), EXIT_UNEXPECTED),
        (RuntimeError("a bug"), EXIT_UNEXPECTED),
        (OSError(errno.ENOENT, "no such file"), EXIT_UNEXPECTED),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_each_error_class_exits_with_its_code(error: BaseException, code: int) -> None:
    assert exit_code_for(error) == code


@pytest.mark.parametrize(
    "error",
    [
        sqlite_error(sqlite3.OperationalError, "disk I/O error", sqlite3.SQLITE_IOERR),
        sqlite_error(sqlite3.OperationalError, "disk I/O error", 778),  # SQLITE_IOERR_WRITE
        sqlite_error(sqlite3.OperationalError, "database or disk is full", sqlite3.SQLITE_FULL),
        sqlite_error(sqlite3.OperationalError, "readonly", sqlite3.SQLITE_READONLY),
        sqlite_error(sqlite3.DatabaseError, "file is not a database", sqlite3.SQLITE_NOTADB),
        sqlite_error(sqlite3.DatabaseError, "malformed", sqlite3.SQLITE_CORRUPT),
        sqlite_error(sqlite3.OperationalError, "database is locked", sqlite3.SQLITE_BUSY),
        sqlite_error(sqlite3.OperationalError, "database is locked", None),
        sqlite_error(sqlite3.OperationalError, "database is busy", None),
        OSError(errno.ENOSPC, "No space left on device"),
        OSError(errno.EROFS, "Read-only file system"),
        PermissionError(errno.EACCES, "Permission denied"),
        OSError(errno.EIO, "Input/output error"),
    ],
    ids=str,
)
def test_the_environment_failing_us_is_exit_7_not_a_bug(error: BaseException) -> None:
    assert environment_fault(error)
    assert exit_code_for(error) == EXIT_ARCHIVE


@pytest.mark.parametrize(
    "error",
    [
        sqlite_error(sqlite3.IntegrityError, "UNIQUE constraint failed", 2067),
        sqlite_error(sqlite3.OperationalError, "no such column: x", sqlite3.SQLITE_ERROR),
        sqlite_error(sqlite3.OperationalError, "no such table: x", None),
        # only the sqlite3 module's own OperationalError is read by its message
        sqlite_error(sqlite3.DatabaseError, "database is locked", None),
        sqlite_error(sqlite3.ProgrammingError, "closed database is busy", None),
        OSError(errno.ENOENT, "No such file or directory"),
        OSError("no errno at all"),
        ValueError("database is locked"),
    ],
    ids=str,
)
def test_our_own_mistakes_stay_unexpected_errors(error: BaseException) -> None:
    assert not environment_fault(error)
    assert exit_code_for(error) == EXIT_UNEXPECTED


def test_a_busy_archive_is_recognized_by_code_or_else_by_message() -> None:
    locked = sqlite3.SQLITE_LOCKED
    assert is_busy(sqlite_error(sqlite3.OperationalError, "x", sqlite3.SQLITE_BUSY))
    assert is_busy(sqlite_error(sqlite3.OperationalError, "x", locked))
    assert is_busy(sqlite_error(sqlite3.OperationalError, "x", 517))  # SQLITE_BUSY_SNAPSHOT
    assert is_busy(sqlite_error(sqlite3.OperationalError, "x", 262))  # SQLITE_LOCKED_SHAREDCACHE
    assert not is_busy(sqlite_error(sqlite3.OperationalError, "busy", sqlite3.SQLITE_FULL))
    assert is_busy(sqlite_error(sqlite3.OperationalError, "database is locked", None))
    assert is_busy(sqlite_error(sqlite3.OperationalError, "database is busy", None))
    assert not is_busy(sqlite_error(sqlite3.OperationalError, "no such table", None))


def test_a_real_file_that_is_not_a_database_is_an_environment_fault(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are notes, not a database" * 100)
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError) as info:
        conn.execute("SELECT * FROM sqlite_master").fetchall()
    conn.close()
    assert info.value.sqlite_errorcode == sqlite3.SQLITE_NOTADB
    assert exit_code_for(info.value) == EXIT_ARCHIVE
