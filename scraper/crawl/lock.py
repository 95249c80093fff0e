"""The crawl lock: two runs never write to one archive at once."""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scraper.errors import ArchiveError, LockError


@contextmanager
def crawl_lock(db_path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold ``<archive>.lock`` with flock for the whole run; the kernel frees it on kill -9.

    A second run fails at once with LockError instead of waiting or writing beside the first.
    The lock file is never opened through a symlink (cron often runs as root: a link planted
    in the archive's folder would have the crawl overwrite its target with a pid), and it must
    be a regular file.
    """
    path = Path(f"{os.fspath(db_path)}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ArchiveError(
                f"{path} is a symbolic link; refusing to follow it: remove it and run again"
            ) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ArchiveError(f"{path} is not a regular file; remove it and run again")
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise LockError(
                f"another crawl{who} is running on {os.fspath(db_path)}; "
                f"this run did nothing (lock {path})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
