"""The crawl lock: one writer per archive, and a lock file that cannot be turned on its owner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scraper.cli import EXIT_ARCHIVE
from scraper.crawl.lock import crawl_lock
from scraper.errors import ArchiveError, LockError

from .test_crawl import run, write_config


def test_a_second_holder_is_refused_and_names_the_first(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    with crawl_lock(db), pytest.raises(LockError, match=f"pid {os.getpid()}"), crawl_lock(db):
        pass
    with crawl_lock(db):  # released at the end of the first
        pass


def test_a_lock_file_that_is_a_symlink_is_not_followed(tmp_path: Path) -> None:
    """cron runs as root: a link planted where the lock goes must not aim its pid anywhere."""
    target = tmp_path / "precious.conf"
    target.write_text("keep me\n")
    db = tmp_path / "a.db"
    Path(f"{db}.lock").symlink_to(target)
    with pytest.raises(ArchiveError, match="symbolic link"), crawl_lock(db):
        pass
    assert target.read_text() == "keep me\n"


def test_a_dangling_symlink_is_not_created_through(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    target = tmp_path / "made-by-the-crawl"
    Path(f"{db}.lock").symlink_to(target)
    with pytest.raises(ArchiveError, match="symbolic link"), crawl_lock(db):
        pass
    assert not target.exists()


def test_a_lock_path_that_is_not_a_file_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    os.mkfifo(f"{db}.lock")  # opening a FIFO for writing would block without O_NONBLOCK
    with pytest.raises(ArchiveError, match="not a regular file"), crawl_lock(db):
        pass


def test_crawl_with_a_planted_lock_link_exits_7_and_changes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "precious.conf"
    target.write_text("keep me\n")
    db = tmp_path / "a.db"
    Path(f"{db}.lock").symlink_to(target)
    cfg = write_config(tmp_path / "s.toml", {"gov": {"start_urls": ["http://127.0.0.1:9/"]}})
    code, _, err = run(cfg, db, "--processes", "0")
    assert code == EXIT_ARCHIVE, err
    assert "symbolic link" in err and len(err.strip().splitlines()) == 1
    assert target.read_text() == "keep me\n"
