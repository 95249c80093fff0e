"""The archive a command works on, opened the way that command needs it.

Write commands open it (creating or migrating it); read commands open one that must exist,
read-only. The archive in use is remembered, so that a fault of the disk or the file
(``program.fault``) can say which archive it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from scraper.archive import Archive
from scraper.archive.base import environment_fault
from scraper.crawl import crawl_lock
from scraper.errors import ArchiveError, InputError

# The archive the command is using, to name it when the disk or the file fails us.
_in_use: list[str] = []


def in_use() -> str | None:
    """The archive the command opened last, if any."""
    return _in_use[-1] if _in_use else None


def open_archive(db: Path, *, readonly: bool = False) -> Archive:
    """Open the archive a command works on (read commands: ``readonly``, never changing it)."""
    _in_use.append(str(db))
    return Archive.open(db, readonly=True) if readonly else Archive.open(db)


def open_existing(db: Path, *, readonly: bool = True) -> Archive:
    """An archive that must exist; read commands open it read-only (it may be on read-only
    media or a share; it is never migrated or changed, and a SQLite file that is not an
    archive is refused untouched)."""
    if not db.exists():
        raise ArchiveError(f"no archive at {db}")
    return open_archive(db, readonly=readonly)


def find(archive: Archive, key: str, db: Path) -> dict[str, Any]:
    """The article ``key`` names: its id, or its URL."""
    row = archive.get(int(key) if key.isdecimal() else key)  # not isdigit(): "²" is a digit
    if row is None:
        raise InputError(f"no article {key!r} in {db}")
    return row


@contextmanager
def locked(db: Path) -> Iterator[None]:
    """The crawl's lock on ``db``; a lock file the disk will not take (read-only, full, no
    permission) is an ArchiveError (exit 7), not a crash."""
    with ExitStack() as stack:
        try:
            stack.enter_context(crawl_lock(db))
        except OSError as exc:
            if not environment_fault(exc):
                raise
            raise ArchiveError(
                f"cannot lock archive {db} ({db}.lock): {exc.strerror or exc}"
            ) from exc
        yield
