"""The archive: one row per canonical URL, raw bytes once, every attempt recorded."""

from __future__ import annotations

import sqlite3
import zlib
from dataclasses import replace
from pathlib import Path

import pytest

from scraper.archive import SCHEMA_VERSION, Archive, article_id
from scraper.errors import ArchiveError
from scraper.models import Article, FetchAttempt, Page, SaveStatus

URL = "https://www.example.gov.cn/art/2022/6/24/art_1_1.html"


def page(content: bytes = b"<html><body><p>one</p></body></html>", when: str = "t1") -> Page:
    attempt = FetchAttempt(url=URL, time=when, status=200, final_url=URL, bytes=len(content))
    return Page(
        url=URL,
        final_url=URL,
        status=200,
        content=content,
        text=content.decode("utf-8", "replace"),
        encoding="utf-8",
        fetched_at=when,
        attempts=(attempt,),
    )


def article(**kw: object) -> Article:
    base = Article(url=URL, canonical_url=URL, title="标题", body="第一段。\n第二段。")
    return replace(base, **kw)  # type: ignore[arg-type]


def test_schema_is_created_with_a_version_and_wal(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as a:
        assert a.schema_version == SCHEMA_VERSION
    conn = sqlite3.connect(tmp_path / "a.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"articles", "raw_pages", "fetches"} <= tables


def test_same_url_twice_is_one_row_and_raw_bytes_stored_once(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as a:
        first = a.save(page(when="t1"), article())
        second = a.save(page(when="t2"), article())
        assert (first.status, second.status) == (SaveStatus.NEW, SaveStatus.UNCHANGED)
        assert first.id == second.id == article_id(URL)
        assert a.count("articles") == 1
        assert a.count("fetches") == 2
        assert a.count("raw_pages") == 1
        row = a.get(first.id)
        assert row is not None
        assert (row["first_seen"], row["last_seen"]) == ("t1", "t2")


def test_changed_content_updates_the_row_in_place(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as a:
        a.save(page(), article())
        result = a.save(page(b"<html><p>two</p></html>", "t2"), article(body="改过的正文。"))
        assert result.status == SaveStatus.UPDATED
        assert a.count("articles") == 1 and a.count("raw_pages") == 2
        row = a.get(URL)
        assert row is not None and row["body"] == "改过的正文。" and row["last_changed"] == "t2"


def test_url_variants_map_to_the_same_row(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as a:
        a.save(page(), article())
        variant = "HTTPS://WWW.EXAMPLE.GOV.CN:443/art/2022/6/24/art_1_1.html#top"
        result = a.save(page(), article(url=variant, canonical_url=variant))
        assert result.status == SaveStatus.UPDATED  # only `url` differs
        assert a.count("articles") == 1
        assert a.get(variant) is not None


def test_raw_page_can_be_read_back_for_reparsing(tmp_path: Path) -> None:
    content = "<html><body><p>正文</p></body></html>".encode("gbk")
    with Archive.open(tmp_path / "a.db") as a:
        result = a.save(page(content), article())
        row = a.get(result.id)
        assert row is not None
        assert a.raw_page(row["raw_sha256"]) == content
        stored = a.db.execute("SELECT content FROM raw_pages").fetchone()[0]
        assert zlib.decompress(stored) == content


def test_failed_attempts_are_recorded_without_touching_articles(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as a:
        a.save(page(), article())
        before = a.get(URL)
        a.record_failure([FetchAttempt(url=URL, time="t3", status=500, error="HTTP 500")])
        assert a.get(URL) == before
        errors = [r["error"] for r in a.db.table("fetches").rows]
        assert errors == [None, "HTTP 500"]


def test_a_failed_save_leaves_nothing_half_written(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as a:
        # The articles insert fails after raw_pages was written in the same transaction.
        a.db.execute(
            "CREATE TRIGGER boom BEFORE INSERT ON articles BEGIN SELECT RAISE(ABORT, 'boom'); END"
        )
        with pytest.raises(ArchiveError, match="boom"):
            a.save(page(), article())
        assert (a.count("articles"), a.count("fetches"), a.count("raw_pages")) == (0, 0, 0)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    Archive.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ArchiveError, match="upgrade archiver"):
        Archive.open(path)


def test_unopenable_path_is_an_archive_error(tmp_path: Path) -> None:
    (tmp_path / "not-a-db").write_text("this is not sqlite" * 100)
    with pytest.raises(ArchiveError):
        Archive.open(tmp_path / "not-a-db")
