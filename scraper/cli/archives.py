"""The archive a command works on, opened the way that command needs it.

Write commands open it (creating or migrating it); read commands open one that must exist,
read-only. The archive in use is remembered, so that a fault of the disk or the file
(``program.fault``) can say which archive it was.

Every command module imports this one, the read commands included: what it needs of the
archive, the crawl and the fetcher it imports when it is called (see ``scraper.cli``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from scraper.archive.base import environment_fault
from scraper.errors import ArchiveError, InputError

if TYPE_CHECKING:
    from scraper.archive import Archive

# The archive the command is using, to name it when the disk or the file fails us.
_in_use: list[str] = []


def in_use() -> str | None:
    """The archive the command opened last, if any."""
    return _in_use[-1] if _in_use else None


def need_directory(db: Path, create_dirs: bool) -> None:
    """Refuse an archive path whose directory does not exist (a typo in --db would otherwise
    start a new, empty archive somewhere unexpected), unless --create-dirs asks for it."""
    parent = db.parent
    if parent.is_dir():
        return
    if not create_dirs:
        if parent.exists():
            raise InputError(f"--db {db}: {parent} is not a directory")
        raise InputError(
            f"--db {db}: directory {parent} does not exist (give --create-dirs to create it)"
        )
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArchiveError(f"cannot create directory {parent}: {exc.strerror or exc}") from exc


def open_archive(db: Path, *, readonly: bool = False, create_dirs: bool = False) -> Archive:
    """Open the archive a command works on (read commands: ``readonly``, never changing it);
    a new archive only in a directory that exists, or with ``create_dirs``."""
    from scraper.archive import Archive

    if not readonly:
        need_directory(db, create_dirs)
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
    """The article ``key`` names: its id, its URL, or a saved page that ``fetch`` stored."""
    row = archive.get(int(key) if key.isdecimal() else key)  # not isdigit(): "²" is a digit
    if row is None and not key.isdecimal():
        from scraper.fetch import is_local

        if is_local(key):
            row = _saved_page(archive, key)
    if row is None:
        raise InputError(f"no article {key!r} in {db}")
    return row


def _saved_page(archive: Archive, target: str) -> dict[str, Any] | None:
    """What ``fetch PATH`` stored: under the address the page records of itself, else under
    its ``file://`` URL (as ``read_local`` keys it); failing both (it was fetched with
    ``--url``, or saved again elsewhere), the article a capture of these very bytes became."""
    import hashlib

    from scraper.fetch import saved_from

    split = urlsplit(target)
    path = Path(unquote(split.path)) if split.scheme.lower() == "file" else Path(target)
    try:
        data = path.read_bytes() if path.is_file() else None
    except OSError:
        data = None
    addresses = [path.resolve().as_uri()]
    recorded = saved_from(data) if data is not None else None
    if recorded is not None:
        addresses.insert(0, recorded)
    for address in addresses:
        row = archive.get(address)
        if row is not None:
            return row
    if data is None:
        return None
    found = archive.db.execute(
        "SELECT article_id FROM fetches WHERE raw_sha256 = ? AND article_id IS NOT NULL "
        "ORDER BY id DESC LIMIT 1",
        [hashlib.sha256(data).hexdigest()],
    ).fetchone()
    return archive.get(int(found[0])) if found else None


@contextmanager
def locked(db: Path, *, create_dirs: bool = False) -> Iterator[None]:
    """The crawl's lock on ``db``; a lock file the disk will not take (read-only, full, no
    permission) is an ArchiveError (exit 7), not a crash."""
    from scraper.crawl.lock import crawl_lock

    need_directory(db, create_dirs)
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
