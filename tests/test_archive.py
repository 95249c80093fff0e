"""The archive: one row per canonical URL, raw bytes once, every attempt recorded."""

from __future__ import annotations

import re
import sqlite3
import zlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.archive import SCHEMA_VERSION, Archive, article_id, host_key
from scraper.archive.prepare import prepare
from scraper.errors import ArchiveError
from scraper.models import Article, FetchAttempt, Page, SaveStatus
from scraper.urls import canonicalize

URL = "https://www.example.gov.cn/art/2022/6/24/art_1_1.html"


def page(
    content: bytes = b"<html><body><p>one</p></body></html>", when: str = "t1", url: str = URL
) -> Page:
    attempt = FetchAttempt(url=url, time=when, status=200, final_url=url, bytes=len(content))
    return Page(
        url=url,
        final_url=url,
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


def test_page_cache_size_comes_from_archiver_cache_mb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Archive.open(tmp_path / "a.db") as a:
        assert a.db.execute("PRAGMA cache_size").fetchone()[0] == -512 * 1024
    monkeypatch.setenv("ARCHIVER_CACHE_MB", "64")
    with Archive.open(tmp_path / "a.db") as a:
        assert a.db.execute("PRAGMA cache_size").fetchone()[0] == -64 * 1024
    monkeypatch.setenv("ARCHIVER_CACHE_MB", "lots")
    with pytest.raises(ArchiveError, match="ARCHIVER_CACHE_MB"):
        Archive.open(tmp_path / "a.db")


def test_unopenable_path_is_an_archive_error(tmp_path: Path) -> None:
    (tmp_path / "not-a-db").write_text("this is not sqlite" * 100)
    with pytest.raises(ArchiveError):
        Archive.open(tmp_path / "not-a-db")


# ------------------------------------------------------------- works, versions, search

PARAS = [
    "六月二十四日，全省机关党建工作推进会在省城召开。会议总结了上半年机关党建工作取得的成效，"
    "分析了当前面临的形势任务，对下半年重点工作作出部署。",
    "会议指出，上半年各级机关党组织坚持围绕中心、服务大局，扎实开展党支部标准化规范化建设，"
    "推动党建工作与业务工作深度融合，机关党员干部干事创业的精气神明显提升。",
    "会议强调，要把政治建设摆在首位，持续深化理论武装，严格落实党内组织生活制度，"
    "不断提高机关党建工作质量，为全省经济社会高质量发展提供坚强保证。",
    "会议要求，各单位党组织书记要切实履行第一责任人职责，层层压实责任，"
    "确保各项任务落地见效，以优异成绩迎接党的二十大胜利召开。",
]
BODY = "\n".join(PARAS)
OTHER = (
    "本报讯 今年以来，市交通运输局围绕农村公路提档升级，新改建道路一百二十公里，"
    "完成危桥改造十六座，群众出行条件进一步改善。\n下一步，该局将继续推进城乡客运一体化，"
    "让群众出行更方便、更安全、更舒心。"
)


def copy(
    url: str, body: str, when: str = "2026-01-01T00:00:00Z", **kw: object
) -> tuple[Page, Article]:
    art = Article(url=url, canonical_url=url, title="机关党建工作推进会召开", body=body)
    art = replace(art, **kw)  # type: ignore[arg-type]
    attempt = FetchAttempt(url=url, time=when, status=200, final_url=url)
    content = f"<html><body>{body}</body></html>".encode()
    pg = Page(
        url=url,
        final_url=url,
        status=200,
        content=content,
        text="",
        encoding="utf-8",
        fetched_at=when,
        attempts=(attempt,),
    )
    return pg, art


def work_of(a: Archive, url: str) -> int:
    row = a.get(url)
    assert row is not None
    return int(row["work_id"])


def test_exact_and_near_duplicate_copies_join_one_work_and_others_do_not(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as a:
        a.save(*copy("https://www.origin.gov.cn/a.html", BODY, published="2022-06-24"))
        # the same body in other whitespace and punctuation widths
        a.save(
            *copy(
                "https://portal.example.com/1.html", BODY.replace("，", ", ").replace("\n", "\n\n")
            )
        )
        # a copy with leftover boilerplate and one paragraph dropped
        noisy = "\n".join([*PARAS[:3], "来源：某某网  责任编辑：王某"])
        a.save(*copy("https://news.example.org/2.html", noisy, published="2022-06-25"))
        a.save(*copy("https://www.origin.gov.cn/b.html", OTHER, title="农村公路"))
        works = {
            work_of(a, u)
            for u in (
                "https://www.origin.gov.cn/a.html",
                "https://portal.example.com/1.html",
                "https://news.example.org/2.html",
            )
        }
        assert len(works) == 1
        assert work_of(a, "https://www.origin.gov.cn/b.html") not in works
        assert a.count("works") == 2


def test_a_copy_finds_its_work_when_its_bands_are_crowded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a few articles of a band are counted (stock sentences put thousands in
    one band); with that cap at one, a copy still joins its work and a stranger does not."""
    from scraper.archive import works

    monkeypatch.setattr(works, "_BAND_ROWS", 1)
    works._candidates_sql.cache_clear()
    try:
        with Archive.open(tmp_path / "a.db") as a:
            a.save(*copy("https://www.origin.gov.cn/a.html", BODY))
            for i in range(4):  # copies with one paragraph dropped: each band ever more full
                body = "\n".join(p for k, p in enumerate(PARAS) if k != i)
                a.save(*copy(f"https://portal{i}.example.com/a.html", body))
            a.save(*copy("https://news.example.org/2.html", BODY.replace("，", ", ")))
            a.save(*copy("https://www.origin.gov.cn/b.html", OTHER, title="农村公路"))
            grouped = {work_of(a, "https://www.origin.gov.cn/a.html")}
            grouped |= {work_of(a, f"https://portal{i}.example.com/a.html") for i in range(4)}
            grouped.add(work_of(a, "https://news.example.org/2.html"))
            assert len(grouped) == 1
            assert work_of(a, "https://www.origin.gov.cn/b.html") not in grouped
    finally:
        works._candidates_sql.cache_clear()


def test_what_the_caller_prepared_files_the_article_as_save_would(tmp_path: Path) -> None:
    """Workers derive digest, search text and packed raw page beside parsing and hand them to
    save(): the same records, works, raw pages and search hits."""
    bodies = [BODY, BODY.replace("，", ", "), "\n".join(PARAS[:3]), OTHER]
    stored = []
    for name, precomputed in (("own.db", False), ("given.db", True)):
        with Archive.open(tmp_path / name) as a:
            for i, body in enumerate(bodies):
                pg, art = copy(f"https://site{i}.gov.cn/a.html", body)
                a.save(pg, art, prepare(pg, art) if precomputed else None)
            stored.append(
                (
                    a.db.execute(
                        "SELECT canonical_url, work_id, content_hash, signature, raw_sha256 "
                        "FROM articles ORDER BY canonical_url"
                    ).fetchall(),
                    a.db.execute(
                        "SELECT sha256, size, content FROM raw_pages ORDER BY 1"
                    ).fetchall(),
                    [(h.url, h.snippet) for h in a.search("党建")],
                )
            )
    assert stored[0] == stored[1]
    assert len({r[1] for r in stored[0][0]}) == 2
    assert len(stored[0][2]) == 4  # every title names 党建


def test_original_is_the_copy_at_original_url_else_named_host_else_earliest(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as a:
        a.save(
            *copy(
                "https://portal.example.com/1.html",
                BODY,
                published="2022-06-20",
                original_url="https://www.origin.gov.cn/art/1.html",
            )
        )
        a.save(*copy("https://news.example.org/2.html", BODY, published="2022-06-21"))
        rows = a.db.execute("SELECT site, is_original FROM republications").fetchall()
        # the original is not archived and its host has no copy: the earliest published wins
        assert dict(rows)["portal.example.com"] == 1
        a.save(*copy("https://www.origin.gov.cn/art/1.html", BODY, published="2022-06-24"))
        rows = a.db.execute("SELECT site, is_original, copies FROM republications").fetchall()
        assert {r[0]: r[1] for r in rows} == {
            "www.origin.gov.cn": 1,
            "portal.example.com": 0,
            "news.example.org": 0,
        }
        assert {r[2] for r in rows} == {3}


def test_changed_article_keeps_its_previous_version(tmp_path: Path) -> None:
    url = "https://www.origin.gov.cn/a.html"
    with Archive.open(tmp_path / "a.db") as a:
        a.save(*copy(url, BODY, when="2026-01-01T00:00:00Z"))
        a.save(*copy(url, BODY, when="2026-01-02T00:00:00Z"))  # unchanged: no version
        assert a.count("versions") == 0
        edited = BODY.replace("六月二十四日", "6月24日")
        result = a.save(*copy(url, edited, when="2026-01-03T00:00:00Z"))
        assert result.status == SaveStatus.UPDATED
        versions = a.history(result.id)
        assert [v["body"] for v in versions] == [BODY, edited]
        assert versions[0]["first_seen"] == "2026-01-01T00:00:00Z"
        assert versions[0]["last_seen"] == "2026-01-02T00:00:00Z"
        assert a.count("works") == 1  # a light edit stays in its work


def test_search_finds_one_two_and_many_character_terms_ranked(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as a:
        a.save(*copy("https://www.origin.gov.cn/a.html", BODY))
        a.save(*copy("https://www.origin.gov.cn/b.html", OTHER, title="农村公路提档升级"))
        assert [h.url for h in a.search("党建")] == ["https://www.origin.gov.cn/a.html"]
        assert [h.url for h in a.search("党")] == ["https://www.origin.gov.cn/a.html"]
        assert a.search("公路")[0].url == "https://www.origin.gov.cn/b.html"
        assert len(a.search("群众")) == 1
        assert a.search("机关党建工作推进会")[0].snippet.count("【") >= 1
        assert a.search("党建", site="www.origin.gov.cn")
        assert not a.search("党建", site="elsewhere.example")
        assert not a.search("党建", since="2030-01-01")
        # an edited body is searchable by its new text only
        a.save(
            *copy(
                "https://www.origin.gov.cn/b.html",
                OTHER.replace("危桥", "旧桥"),
                title="农村公路提档升级",
            )
        )
        assert not a.search("危桥") and a.search("旧桥")


def test_opening_a_version_2_archive_migrates_and_backfills(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    from scraper.archive.schema import SCHEMA_V1, SCHEMA_V2

    conn = sqlite3.connect(path)
    for script in (SCHEMA_V1, SCHEMA_V2):
        conn.executescript(script)
    conn.execute(
        "INSERT INTO articles (id, url, canonical_url, site, title, body, content_hash, "
        "first_seen, last_seen, last_changed) VALUES (1, 'http://a.test/1', 'http://a.test/1', "
        "'a.test', '标题', ?, 'x', 't', 't', 't')",
        [BODY],
    )
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    with Archive.open(path) as a:
        assert a.schema_version == SCHEMA_VERSION
        assert a.count("works") == 1
        assert [h.id for h in a.search("党建")] == [1]


def test_index_writes_of_a_batch_go_in_at_its_commit_in_rowid_order(tmp_path: Path) -> None:
    """A batch's articles may be of any day: written as saved, FTS5 would cut a new segment at
    every lower search key. Held to the commit and sorted, they arrive in order, an edit's
    delete before its insert, and the search sees the batch then, as it was last saved."""
    urls = [f"https://www.origin.gov.cn/{n}.html" for n in range(12)]
    with Archive.open(tmp_path / "a.db") as a:
        statements: list[str] = []
        with a.batch():
            for url in urls:
                a.save(*copy(url, BODY))
            a.save(*copy(urls[0], BODY.replace("六月二十四日", "6月24日")))  # edited within it
            assert not a.search("党建")  # nothing indexed before the commit
            a.db.conn.set_trace_callback(statements.append)
        a.db.conn.set_trace_callback(None)
        written = [s for s in statements if s.startswith("INSERT INTO articles_fts")]
        ids = [int(re.search(r"VALUES \((?:'delete', )?(\d+)", s)[1]) for s in written]  # type: ignore[index]
        assert ids == sorted(ids) and len(written) == len(urls) + 2
        key = a.db.execute(
            "SELECT search_key FROM articles WHERE id = ?", [article_id(urls[0])]
        ).fetchone()[0]
        edited = [s for s, i in zip(written, ids, strict=True) if i == key]
        assert ["'delete'" in s for s in edited] == [False, True, False]
        assert {h.url for h in a.search("二十四日")} == set(urls[1:])
        assert [h.url for h in a.search("24日")] == [urls[0]]


def test_a_rolled_back_batch_leaves_nothing_in_the_search_index(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as a:
        a.save(*copy("https://www.origin.gov.cn/kept.html", BODY))
        with pytest.raises(RuntimeError), a.batch():
            a.save(*copy("https://www.origin.gov.cn/lost.html", OTHER, title="农村公路"))
            raise RuntimeError("the batch fails")
        a.save(*copy("https://www.origin.gov.cn/after.html", BODY))
        indexed = a.db.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH '公路'")
        assert not indexed.fetchall()  # neither written then nor carried into the next commit
        assert {h.url for h in a.search("党建")} == {
            "https://www.origin.gov.cn/kept.html",
            "https://www.origin.gov.cn/after.html",
        }


def test_rebuilding_the_index_holds_back_a_bounded_number_of_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scraper.archive import search

    monkeypatch.setattr(search, "_HOLD_AT_MOST", 3)
    urls = [f"https://www.origin.gov.cn/{n}.html" for n in range(10)]
    with Archive.open(tmp_path / "a.db") as a:
        for url in urls:
            a.save(*copy(url, BODY))
        seen: list[int] = []
        write = a._search._write_index

        def counted(writes: list[tuple[int, str, list[object]]]) -> None:
            seen.append(len(writes))
            write(writes)

        monkeypatch.setattr(a._search, "_write_index", counted)
        assert a.rebuild_search_index() == len(urls)
        assert max(seen) <= 4 and sum(seen) == len(urls)
        assert {h.url for h in a.search("党建")} == set(urls)


def test_search_index_merges_16_segments_at_a_time_and_writes_32_mb_ones(tmp_path: Path) -> None:
    """FTS5 merge settings live in the archive, for new and migrated archives alike: fewer
    rewrites of each article's index entries as the archive grows."""
    with Archive.open(tmp_path / "a.db") as a:
        a.save(*copy("https://www.origin.gov.cn/a.html", BODY))
        config = dict(a.db.execute("SELECT k, v FROM articles_fts_config").fetchall())
        assert (config["automerge"], config["crisismerge"]) == (16, 64)
        assert config["hashsize"] == 32 * 1024 * 1024
        assert [h.id for h in a.search("党建")] == [article_id("https://www.origin.gov.cn/a.html")]


def test_rewritten_article_leaves_its_work_and_its_old_band_keys(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as a:
        a.save(*copy("https://www.origin.gov.cn/a.html", BODY))
        a.save(*copy("https://portal.example.com/1.html", BODY))
        assert work_of(a, "https://www.origin.gov.cn/a.html") == work_of(
            a, "https://portal.example.com/1.html"
        )
        a.save(*copy("https://portal.example.com/1.html", OTHER, when="2026-02-01T00:00:00Z"))
        assert work_of(a, "https://www.origin.gov.cn/a.html") != work_of(
            a, "https://portal.example.com/1.html"
        )
        per_article = a.db.execute(
            "SELECT article_id, count(*) FROM article_bands GROUP BY article_id"
        ).fetchall()
        assert len(per_article) == 2 and {n for _, n in per_article} == {32}
        assert a.count("works") == 2


_URL_PARTS = st.sampled_from(
    ["http://", "HTTPS://", "ftp://", " http://", "Www.Gov.CN", "a.b", ":80", ":443", ":8080",
     "user:pw@", "[::1]", "/", "/x", "?q=1", "#f", "\t", "\n", " ", "中文", "%41"]
)  # fmt: skip


@given(st.lists(_URL_PARTS, max_size=7).map("".join))
@settings(max_examples=400, deadline=None)
def test_host_key_is_the_canonical_urls_host_part(url: str) -> None:
    """Remembered per scheme and host, ``host_key`` still equals its definition."""
    try:
        expected = urlsplit(canonicalize(url)).netloc
    except ValueError:  # not a URL at all: both must refuse it
        with pytest.raises(ValueError):
            host_key(url)
        return
    assert host_key(url) == expected


# ---------------------------------------------------------------- large works (issue 14)


def _full_recompute(a: Archive) -> dict[int, tuple[int, int]]:
    """Every work's (original, copies) named from all its copies, as before schema 9."""
    from scraper.archive.works import _COPY_COLUMNS, pick_original

    by_work: dict[int, list[dict[str, object]]] = {}
    for row in a.db.execute(
        f"SELECT work_id, {', '.join(_COPY_COLUMNS)} FROM articles ORDER BY id"
    ).fetchall():
        by_work.setdefault(int(row[0]), []).append(dict(zip(_COPY_COLUMNS, row[1:], strict=True)))
    return {w: (int(pick_original(cs)["id"]), len(cs)) for w, cs in by_work.items()}


@pytest.mark.parametrize("seed", range(6))
def test_joining_a_work_names_the_original_a_full_recompute_names(
    tmp_path: Path, seed: int
) -> None:
    """Random copies join one work (exact and near duplicates, 来源 naming other copies' sites,
    原文链接 to archived copies in other spellings, ties in publish and first-seen times),
    some change or leave it and come back: after every save the original kept incrementally
    is the one ``pick_original`` names over all copies."""
    import random

    rng = random.Random(seed)
    hosts = [f"www.site{i}.gov.cn" for i in range(12)]
    names = [f"第{i}网" for i in range(8)]
    noisy = "\n".join([*PARAS[:3], "来源：某某网  责任编辑：王某"])

    def url_of(i: int) -> str:
        return f"https://{hosts[i % len(hosts)]}/art/{i}.html"

    def spelled(url: str) -> str:  # the same canonical URL, written another way
        return rng.choice([url, url.replace("https://www.", "HTTPS://WWW."), url + "#top"])

    with Archive.open(tmp_path / "a.db") as a:
        saved: list[int] = []
        for step in range(90):
            if saved and rng.random() < 0.15:
                i = rng.choice(saved)  # a re-fetch: fields changed, or the body (leaves, returns)
            else:
                i = step
                saved.append(i)
            target = url_of(rng.choice([*saved, 200, 201]))
            body = rng.choice([BODY, BODY, noisy, OTHER if rng.random() < 0.1 else BODY])
            a.save(
                *copy(
                    url_of(i),
                    body,
                    when=f"2026-01-0{rng.randint(1, 3)}T00:00:00Z",
                    published=rng.choice([None, "2022-06-24", "2022-06-25", "2022-06-24T10:30"]),
                    site_name=rng.choice([None, *names]),
                    source=rng.choice([None, None, *names, hosts[rng.randrange(len(hosts))]]),
                    original_url=spelled(target) if rng.random() < 0.3 else None,
                )
            )
            stored = {
                int(w): (int(o), int(n))
                for w, o, n in a.db.execute("SELECT id, original_id, copies FROM works")
            }
            assert stored == _full_recompute(a), f"step {step}"
        assert max(n for _, n in stored.values()) >= 30  # one large work was exercised


def test_joining_a_work_costs_the_same_however_many_copies_it_has(tmp_path: Path) -> None:
    """SQLite's work (virtual machine steps) for one more copy of a notice in a work of 400
    copies is about that in a work of 20: nothing reads every copy again."""

    def steps_of_one_join(a: Archive, i: int) -> int:
        count = 0

        def tick() -> int:
            nonlocal count
            count += 1
            return 0

        a.db.conn.set_progress_handler(tick, 10)
        try:
            a.save(*copy(f"https://portal{i}.example.com/a.html", BODY, source="某某网"))
        finally:
            a.db.conn.set_progress_handler(None, 10)
        return count

    with Archive.open(tmp_path / "a.db") as a:
        a.save(*copy("https://www.origin.gov.cn/a.html", BODY, site_name="某某网"))
        for i in range(20):
            a.save(*copy(f"https://portal{i}.example.com/a.html", BODY, source="某某网"))
        small = min(steps_of_one_join(a, 1000 + k) for k in range(3))
        for i in range(20, 400):
            a.save(*copy(f"https://portal{i}.example.com/a.html", BODY, source="某某网"))
        large = min(steps_of_one_join(a, 2000 + k) for k in range(3))
        assert a.db.execute("SELECT count(*), max(copies) FROM works").fetchone() == (1, 407)
    assert large < small * 1.5, (small, large)


# ------------------------------------------------- several processes create one archive (issue 7)

_OPENER = """
import os, sys, time
start, path = sys.argv[1], sys.argv[2]
from scraper.archive import Archive
while not os.path.exists(start):
    time.sleep(0.0005)
with Archive.open(path) as a:
    print(a.schema_version)
"""


@pytest.mark.parametrize("round_", range(4))
def test_processes_creating_one_archive_at_once_all_succeed(tmp_path: Path, round_: int) -> None:
    """Eight processes open one new archive at the same moment (as ``xargs -P`` fetches do):
    exactly one creates the schema, every one succeeds, and the archive is whole."""
    import subprocess
    import sys
    import time

    start, path = tmp_path / "go", tmp_path / "archive.db"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _OPENER, str(start), str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    time.sleep(1.5)  # every process imported and waiting
    start.touch()
    results = [(p.wait(60), *p.communicate()) for p in procs]
    assert [(code, out.strip()) for code, out, _ in results] == [(0, str(SCHEMA_VERSION))] * 8, [
        err for _, _, err in results if err
    ]
    with Archive.open(path) as a:
        assert a.schema_version == SCHEMA_VERSION
        assert a.db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert a.db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        a.save(page(), article())
        assert a.count("articles") == 1


def test_article_ids_are_pinned_to_the_canonical_url() -> None:
    """Ids are stored and linked to (fetches, works): they must never change."""
    assert article_id(URL) == 4935850623391212896
    assert article_id("http://a.test/") == 3642918406703331535


def test_two_urls_with_one_id_hash_get_the_next_free_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import scraper.archive.core as core

    monkeypatch.setattr(core, "article_id", lambda canonical: 2**63 - 2)
    other = "https://www.example.gov.cn/art/2022/6/24/art_1_2.html"
    third = "https://www.example.gov.cn/art/2022/6/24/art_1_3.html"
    with Archive.open(tmp_path / "a.db") as a:
        ids = [a.save(page(), article(url=u, canonical_url=u)).id for u in (URL, other, third)]
    assert ids == [2**63 - 2, 2**63 - 1, 0]  # on past the largest SQLite integer, to 0


def test_save_keeps_the_pages_encoding_bytes_and_fetches_on_insert_and_update(
    tmp_path: Path,
) -> None:
    with Archive.open(tmp_path / "a.db") as a:
        first = a.save(page(), article())
        assert first.article == article()
        row = a.get(first.id)
        assert row is not None and row["encoding"] == "utf-8"
        sha = row["raw_sha256"]
        assert a.raw_page(sha) == page().content
        gb = replace(page(b"<html><p>\xd5\xfd\xce\xc4</p></html>", "t2"), encoding="gb18030")
        second = a.save(gb, article(body="改过的正文。"))
        row = a.get(second.id)
        assert row is not None and row["encoding"] == "gb18030"
        assert row["raw_sha256"] != sha and a.raw_page(row["raw_sha256"]) == gb.content
        fetches = a.fetches_for(first.id)
        assert [(f["time"], f["raw_sha256"], f["article_id"]) for f in fetches] == [
            ("t1", sha, first.id),
            ("t2", row["raw_sha256"], first.id),
        ]


def test_an_article_is_stored_under_its_canonical_url_not_the_fetched_one(tmp_path: Path) -> None:
    mobile = "https://m.example.gov.cn/a.html?id=1&utm_source=x"
    declared = "HTTPS://WWW.Example.GOV.cn/art/2022/6/24/art_1_1.html#top"
    with Archive.open(tmp_path / "a.db") as a:
        result = a.save(page(), article(url=mobile, canonical_url=declared))
        assert result.id == article_id(URL)
        row = a.get(result.id)
        assert row is not None and (row["url"], row["canonical_url"]) == (mobile, URL)
        undeclared = a.save(page(), article(url=mobile, canonical_url=""))
        assert undeclared.id == article_id("https://m.example.gov.cn/a.html?id=1")


# ------------------------------------------------- what an article carries (schema 10)

POLICY = "https://www.example.gov.cn/zwgk/2023/c1.html"
EXPLAINED = "https://www.example.gov.cn/zcjd/2023/c2.html"


def _carrying(
    url: str,
    *,
    related: Sequence[tuple[str, str, str]] = (),
    files: Sequence[tuple[str, str]] = (),
    images: Sequence[tuple[str, str]] = (),
    **kw: str,
) -> tuple[Page, Article]:
    from scraper.models import DocLink, Image, LinkKind

    got = replace(page(), url=url, final_url=url)
    return got, article(
        url=url,
        canonical_url=url,
        related=tuple(DocLink(u, n, LinkKind(k)) for u, n, k in related),
        attachments=tuple(DocLink(u, n, LinkKind.ATTACHMENT) for u, n in files),
        images=tuple(Image(u, None, c) for u, c in images),
        **kw,
    )


def test_a_policy_and_every_explanation_of_it_are_one_query_away(tmp_path: Path) -> None:
    from scraper.datasette import metadata_for

    with Archive.open(tmp_path / "a.db") as a:
        a.save(*_carrying(POLICY, title="关于耕地保护的通知",
                          related=[(EXPLAINED, "《通知》政策解读", "interpretation")]))  # fmt: skip
        a.save(*_carrying(EXPLAINED, title="《通知》政策解读", body="解读全文。",
                          related=[(POLICY, "关于耕地保护的通知", "policy")]))  # fmt: skip
        sql = metadata_for("a")["databases"]["a"]["queries"]["policy_and_interpretations"]["sql"]
        policy = article_id(canonicalize(POLICY))
        found = a.db.execute(sql, {"id": policy}).fetchall()
    assert {(r[0], r[2], r[3]) for r in found} == {(policy, "interpretation", "《通知》政策解读")}


def test_saving_again_brings_the_carried_rows_in_line_and_keeps_a_fetched_file(
    tmp_path: Path,
) -> None:
    from scraper.models import AttachmentFile

    files = [
        ("https://www.example.gov.cn/f/a.pdf", "附件1"),
        ("https://www.example.gov.cn/f/b.pdf", "附件2"),
    ]
    with Archive.open(tmp_path / "a.db") as a:
        result = a.save(*_carrying(POLICY, files=files, images=[("https://x.cn/1.jpg", "图")]))
        a.attach(
            AttachmentFile(files[0][0], "t2", size=3, kind="pdf", text="第一份文件"), b"pdf", ()
        )
        assert a.pending_attachments(result.id) == [files[1][0]]
        # the page now links only the first file, under a new name, and no picture
        a.save(*_carrying(POLICY, files=[(files[0][0], "附件一")]))
        carried = a.carried(result.id)
        assert [(f["name"], f["kind"], f["text_chars"]) for f in carried["attachments"]] == [
            ("附件一", "pdf", 5)
        ]
        assert carried["images"] == [] and a.search("第一份文件")[0].id == result.id
        assert a.search("附件一")[0].attachment == "附件一"  # the name is indexed anew


# ------------------------------------------------------------- upkeep: prune, backup, vacuum


def _raw(a: Archive, data: bytes) -> str:
    """A raw page stored as is, with nothing referring to it (yet)."""
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    a.db.execute(
        "INSERT INTO raw_pages (sha256, size, compression, content) VALUES (?, ?, 'none', ?)",
        [sha, len(data), data],
    )
    return sha


def test_prune_removes_old_versions_dead_urls_and_unreferenced_raw_pages(tmp_path: Path) -> None:
    url = "https://www.origin.gov.cn/a.html"
    with Archive.open(tmp_path / "a.db") as a:
        bodies = [BODY, BODY.replace("六月", "6月"), BODY.replace("六月", "六 月"), BODY + "\n完"]
        for n, body in enumerate(bodies):
            a.save(*copy(url, body, when=f"2026-01-0{n + 1}T00:00:00Z"))
        orphan = _raw(a, b"nobody refers to me")
        old_file = _raw(a, b"the file an earlier version attached")
        a.db.execute(
            "UPDATE versions SET attachments = ? WHERE id = (SELECT min(id) FROM versions)",
            [f'[["https://www.origin.gov.cn/f.pdf", "{old_file}"]]'],
        )
        a.db.conn.executemany(
            "INSERT INTO frontier (url, site, host, kind, discovered_at, next_fetch_at, status, "
            "failures) VALUES (?, 's', 'h', 'article', 't', 't', ?, ?)",
            [
                ("https://h/dead", "failed", 5),
                ("https://h/flaky", "failed", 2),
                ("https://h/ok", "ok", 9),
            ],
        )
        versions = a.db.execute("SELECT id FROM versions ORDER BY id").fetchall()
        assert len(versions) == 3

        dry = a.prune(keep_versions=1, failed_over=3, dry_run=True)
        assert [v["id"] for v in dry.versions] == [versions[0][0], versions[1][0]]
        assert [f["url"] for f in dry.frontier] == ["https://h/dead"]
        # the oldest version's file goes with it: nothing else refers to it
        assert {r["sha256"] for r in dry.raw_pages} == {orphan, old_file}
        assert (a.count("versions"), a.count("frontier"), a.count("raw_pages")) == (3, 3, 6)

        done = a.prune(keep_versions=1, failed_over=3, dry_run=False)
        assert (done.versions, done.frontier, done.raw_pages) == (
            dry.versions,
            dry.frontier,
            dry.raw_pages,
        )
        assert a.db.execute("SELECT id FROM versions").fetchall() == [versions[2]]
        assert {r[0] for r in a.db.execute("SELECT url FROM frontier")} == {
            "https://h/flaky",
            "https://h/ok",
        }
        assert a.count("raw_pages") == 4  # every page fetched is still referred to
        assert [v["body"] for v in a.history(article_id(url))] == bodies[2:]
        # only raw pages, by default; nothing left to remove the second time
        again = a.prune(dry_run=False)
        assert (again.versions, again.frontier, again.raw_pages) == ([], [], [])
        before, after = a.vacuum()
        assert after <= before


def test_prune_keeps_a_file_an_earlier_version_attached(tmp_path: Path) -> None:
    url = "https://www.origin.gov.cn/a.html"
    with Archive.open(tmp_path / "a.db") as a:
        a.save(*copy(url, BODY))
        a.save(*copy(url, BODY + "\n完", when="2026-01-02T00:00:00Z"))
        kept = _raw(a, b"an attached file")
        a.db.execute("UPDATE versions SET attachments = ?", [f'[["u", "{kept}"]]'])
        assert a.prune(dry_run=False).raw_pages == []
        assert a.raw_page(kept) == b"an attached file"


_WRITER = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from tests.test_archive import copy, BODY
from scraper.archive import Archive
with Archive.open(sys.argv[1]) as a:
    n = 0
    while not Path(sys.argv[2]).exists():
        a.save(*copy(f"https://www.origin.gov.cn/{n}.html", BODY + str(n)))
        n += 1
    print(n)
"""


def test_backup_is_a_whole_archive_while_another_process_writes(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    path, stop = tmp_path / "archive.db", tmp_path / "stop"
    with Archive.open(path):
        pass
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), str(stop), str(Path(__file__).parent.parent)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        with Archive.open(path, readonly=True) as a:
            while a.count("articles") < 20 and time.monotonic() < deadline:
                time.sleep(0.05)
            sizes = [a.backup(tmp_path / f"copy{n}.db") for n in range(3)]
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    written = int(out)
    counts = []
    for n, size in enumerate(sizes):
        target = tmp_path / f"copy{n}.db"
        assert target.stat().st_size == size and not Path(f"{target}.part").exists()
        with Archive.open(target, readonly=True) as b:
            assert b.db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            counts.append(b.count("articles"))
            assert b.count("articles") == b.count("fetches") == b.count("raw_pages")
            assert b.search("六月")  # the search index came along, in step
    assert 20 <= counts[0] <= counts[-1] <= written


# ------------------------------------------------- edits and takedowns (schema 11)


def test_an_edit_a_withdrawal_and_a_return_are_changes_and_the_text_is_kept(
    tmp_path: Path,
) -> None:
    gone = FetchAttempt(url=URL, time="t3", status=404, final_url=URL, error="HTTP 404")
    with Archive.open(tmp_path / "a.db") as a:
        first = a.save(page(when="t1"), article())
        a.save(page(when="t2"), article(body="第一段。\n第二段改了。"))
        assert a.withdraw(URL, "HTTP 404", "t3", (gone,), None) == first.id
        assert a.withdraw(URL, "HTTP 404", "t4", (replace(gone, time="t4"),), None) == first.id
        row = a.get(first.id)
        assert row is not None
        assert (row["withdrawn"], row["withdrawn_reason"]) == ("t3", "HTTP 404")
        assert row["body"] == "第一段。\n第二段改了。"  # the last good text, not the 404
        a.save(page(when="t5"), article(body="第一段。\n第二段改了。"))
        kinds = [(c["kind"], c["time"], c["reason"]) for c in a.changes()]
        assert kinds == [
            ("restored", "t5", None),
            ("withdrawn", "t3", "HTTP 404"),
            ("edited", "t2", None),
        ]
        assert a.get(first.id)["withdrawn"] is None  # type: ignore[index]
        (evidence,) = [c["fetch_id"] for c in a.changes(kind="withdrawn")]
        status = a.db.execute("SELECT status FROM fetches WHERE id = ?", [evidence]).fetchone()
        assert status == (404,)
        assert (
            a.withdraw("https://www.example.gov.cn/never.html", "HTTP 404", "t6", (), None) is None
        )
