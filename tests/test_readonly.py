"""Environment faults (issue 11): read-only archives, files that are not archives, a corrupt
page, a lock held too long, a full disk: exit 7 with one line, never a crash or a change."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from scraper.archive import SCHEMA_VERSION, Archive
from scraper.errors import ArchiveError

from .conftest import SAMPLES

SEEDS = ["seed-utf8.html", "seed-gbk.html", "table-meta.html"]
READS = [
    ["stats"],
    ["search", "党"],
    ["export"],
    ["export", "--format", "csv"],
    ["changes"],
    ["list"],
]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scraper", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def archive_of_samples(tmp_path: Path) -> Path:
    db = tmp_path / "archive.db"
    pages = [str(SAMPLES / name) for name in SEEDS if (SAMPLES / name).exists()]
    done = cli("fetch", *pages, "--db", str(db))
    assert done.returncode == 0, done.stderr
    return db


def state(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "please report" not in lines[0]
    return lines[0]


def test_read_commands_never_change_the_archive(tmp_path: Path) -> None:
    """Read commands open the file read-only (works as root too, where chmod does not)."""
    db = archive_of_samples(tmp_path)
    before = state(db)
    ident = cli("export", "--db", str(db)).stdout.split('"id": ')[1].split(",")[0]
    for args in [*READS, ["show", ident], ["history", ident]]:
        done = cli(*args, "--db", str(db))
        assert done.returncode == 0, (args, done.stderr)
    assert state(db) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod: covered by mode=ro")
def test_read_commands_work_on_an_archive_in_a_read_only_directory(tmp_path: Path) -> None:
    db = archive_of_samples(tmp_path / "rw")
    ro = tmp_path / "ro"
    ro.mkdir()
    shutil.copy(db, ro / "archive.db")
    (ro / "archive.db").chmod(0o444)
    ro.chmod(0o555)
    try:
        for args in READS:
            done = cli(*args, "--db", str(ro / "archive.db"))
            assert done.returncode == 0, (args, done.stderr)
        done = cli("fetch", str(SAMPLES / "seed-utf8.html"), "--db", str(ro / "archive.db"))
        assert done.returncode == 7
        one_error_line(done)
    finally:
        ro.chmod(0o755)


def test_a_sqlite_file_that_is_not_an_archive_is_refused_and_left_as_it_was(
    tmp_path: Path,
) -> None:
    other = tmp_path / "notes.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        conn.execute("INSERT INTO notes (text) VALUES ('mine')")
    conn.close()
    before = state(other)
    for args in [*READS, ["show", "1"], ["history", "1"]]:
        done = cli(*args, "--db", str(other))
        assert done.returncode == 7, (args, done.stderr)
        assert "is not an archive" in one_error_line(done)
    done = cli("fetch", str(SAMPLES / "seed-utf8.html"), "--db", str(other))
    assert done.returncode == 7 and "is not an archive" in one_error_line(done)
    assert state(other) == before
    with sqlite3.connect(other) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("notes",)]


def test_an_older_archive_read_only_says_how_to_upgrade(tmp_path: Path) -> None:
    from scraper.archive.schema import SCHEMA_V1, SCHEMA_V2

    old = tmp_path / "old.db"
    with sqlite3.connect(old) as conn:
        conn.executescript(SCHEMA_V1 + ";" + SCHEMA_V2)
        conn.execute("PRAGMA user_version = 2")
    conn.close()
    before = state(old)
    done = cli("stats", "--db", str(old))
    assert done.returncode == 7 and "run a write command" in one_error_line(done)
    assert state(old) == before
    with Archive.open(old) as archive:  # a write opening upgrades it
        assert archive.schema_version == SCHEMA_VERSION


def test_a_corrupt_page_is_exit_7_with_one_line(tmp_path: Path) -> None:
    db = archive_of_samples(tmp_path)
    with sqlite3.connect(db) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        roots = [
            r[0]
            for r in conn.execute(
                "SELECT rootpage FROM sqlite_master WHERE tbl_name IN ('articles', 'runs', "
                "'works', 'fetches', 'raw_pages', 'versions') AND rootpage > 1"
            )
        ]
    conn.close()
    with db.open("r+b") as fh:
        for root in roots:  # the middle of every b-tree root page of what stats reads
            fh.seek((root - 1) * page_size + 8)
            fh.write(b"\xa5" * (page_size // 2))
    done = cli("stats", "--db", str(db))
    assert done.returncode == 7, done.stderr
    assert "malformed" in one_error_line(done)


def test_a_write_lock_held_past_the_busy_timeout_is_exit_7(tmp_path: Path) -> None:
    db = archive_of_samples(tmp_path)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        done = cli(
            "fetch", str(SAMPLES / "seed-utf8.html"), "--db", str(db),
            env={"ARCHIVER_BUSY_TIMEOUT": "0.5"},
        )  # fmt: skip
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert done.returncode == 7
    assert "locked" in one_error_line(done)


def test_a_full_disk_is_an_archive_error_and_the_archive_stays_whole(tmp_path: Path) -> None:
    """``max_page_count`` makes SQLite answer "database or disk is full" as a full disk does."""
    from .test_archive import article, page

    db = tmp_path / "a.db"
    with Archive.open(db) as archive:
        archive.save(page(), article())
        pages = archive.db.execute("PRAGMA page_count").fetchone()[0]
        archive.db.execute(f"PRAGMA max_page_count = {pages}")
        big = "长文。" * 20000
        with pytest.raises(ArchiveError, match="full"):
            archive.save(page(b"<html>" + b"x" * 200000 + b"</html>", "t2"), article(body=big))
        with pytest.raises(ArchiveError, match="full"), archive.crawl_transaction():
            archive.db.execute("INSERT INTO raw_pages VALUES ('x', 1, 'zlib', ?)", [b"y" * 99999])
        assert archive.db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert archive.count("articles") == 1


def test_a_run_left_open_is_closed_by_the_next(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as archive:
        first = archive.run_start("2026-01-01T00:00:00Z", ["s"], 2**22 + 12345)  # no such pid
        second = archive.run_start("2026-01-02T00:00:00Z", ["s"], os.getpid())
        rows = archive.db.execute("SELECT id, finished, outcome FROM runs ORDER BY id").fetchall()
        assert rows == [
            (first, "2026-01-02T00:00:00Z", "abandoned"),
            (second, None, None),
        ]
        assert archive.close_run(second, "2026-01-02T00:01:00Z", "archive error", 7)
        assert archive.db.execute(
            "SELECT finished, outcome, exit_code FROM runs WHERE id = ?", [second]
        ).fetchone() == ("2026-01-02T00:01:00Z", "archive error", 7)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod")
def test_a_lock_file_the_disk_will_not_take_is_exit_7(tmp_path: Path) -> None:
    config = tmp_path / "sites.toml"
    config.write_text('[sites.a]\nstart_urls = ["http://127.0.0.1:9/"]\n', encoding="utf-8")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        done = cli("crawl", "--config", str(config), "--db", str(ro / "archive.db"))
    finally:
        ro.chmod(0o755)
    assert done.returncode == 7
    one_error_line(done)
