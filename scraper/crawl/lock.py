"""The crawl lock: two runs never write to one archive at once."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scraper.errors import LockError


@contextmanager
def crawl_lock(db_path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold ``<archive>.lock`` with flock for the whole run; the kernel frees it on kill -9.

    A second run fails at once with LockError instead of waiting or writing beside the first.
    """
    path = Path(f"{os.fspath(db_path)}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
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
