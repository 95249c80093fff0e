"""Search in date order and by relevance over a bounded candidate set (archive/search.py)."""

from __future__ import annotations

import random
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from scraper.archive import Archive, article_id
from scraper.archive import search as search_module
from scraper.archive.search import KEY_BITS, search_day
from scraper.models import AttachmentFile, SearchOrder

from .test_archive import copy

SITE = "https://www.origin.gov.cn"


def _url(n: int, site: str = SITE) -> str:
    return f"{site}/art/{n}.html"


def _save_dated(a: Archive, n: int, published: str | None, body: str, **kw: object) -> int:
    when = kw.pop("when", "2026-01-01T00:00:00Z")
    pg, art = copy(_url(n, str(kw.pop("site", SITE))), body, when=str(when), **kw)
    from dataclasses import replace

    return a.save(pg, replace(art, published=published)).id


def _published(a: Archive, ident: int) -> str | None:
    row = a.get(ident)
    assert row is not None
    return row["published"] if row["published"] else None


@pytest.fixture
def few_candidates(monkeypatch: pytest.MonkeyPatch) -> int:
    """Relevance over at most 5 matches, so that a dozen articles are "many"."""
    monkeypatch.setattr(search_module, "CANDIDATES", 5)
    return 5


def test_the_day_is_the_published_date_else_first_archived_and_never_far_ahead() -> None:
    assert search_day("2024-03-01 10:00", "2026-01-01T00:00:00Z") == date(2024, 3, 1).toordinal()
    assert search_day("2024-03", "2026-01-01T00:00:00Z") == date(2024, 3, 1).toordinal()
    assert search_day(None, "2026-01-05T08:00:00Z") == date(2026, 1, 5).toordinal()
    assert search_day("not a date", "2026-01-05T08:00:00Z") == date(2026, 1, 5).toordinal()
    # a page dated 2099 sorts the day after it was archived, not ahead of everything for ever
    assert search_day("2099-01-01", "2026-01-05T08:00:00Z") == date(2026, 1, 6).toordinal()
    assert search_day("1949-10-01", "2026-01-05T08:00:00Z") == date(1949, 10, 1).toordinal()


def test_date_order_is_newest_published_first_whatever_the_archiving_order(
    tmp_path: Path,
) -> None:
    days = [f"2024-{m:02d}-{d:02d}" for m in (1, 5, 9) for d in (3, 17, 28)]
    shuffled = days[:]
    random.Random(7).shuffle(shuffled)
    with Archive.open(tmp_path / "a.db") as a:
        ids = {
            _save_dated(a, n, day, f"第{n}篇，党建工作。"): day for n, day in enumerate(shuffled)
        }
        undated = _save_dated(a, 99, None, "党建工作，日期不详。", when="2024-06-01T00:00:00Z")
        hits = a.find("党建", order=SearchOrder.DATE, limit=50)
    assert hits.order is SearchOrder.DATE
    got = [h.id for h in hits.hits]
    by_day = sorted({**ids, undated: "2024-06-01"}.items(), key=lambda kv: kv[1], reverse=True)
    assert got == [ident for ident, _ in by_day]


def test_paging_reaches_every_match_exactly_once_in_each_order(
    tmp_path: Path, few_candidates: int
) -> None:
    """Relevance ranks the newest CANDIDATES matches, then the rest follow newest first: with
    either order (and one hit per work), pages of any size cover every match once."""
    with Archive.open(tmp_path / "a.db") as a:
        wanted = set()
        for n in range(23):
            body = f"第{n}号通知：" + "党建" * (1 + n % 4) + f"，编号{n}。"
            wanted.add(_save_dated(a, n, f"2024-02-{1 + n % 20:02d}", body))
        _save_dated(a, 50, "2024-02-02", "与此无关的文字。", title="另一条新闻")
        for order in SearchOrder:
            for works in (False, True):
                for size in (1, 4, 7, 30):
                    seen: list[int] = []
                    offset = 0
                    while page := a.search(
                        "党建", limit=size, offset=offset, order=order, works=works
                    ):
                        seen += [h.id for h in page]
                        offset += size
                    assert sorted(seen) == sorted(wanted), (order, works, size)


def test_auto_ranks_a_few_matches_and_dates_many(tmp_path: Path, few_candidates: int) -> None:
    with Archive.open(tmp_path / "a.db") as a:
        # three matches: ranked, the one with the term in its title (and twice) first
        _save_dated(a, 1, "2024-05-03", "乡村振兴。", title="会议召开")
        best = _save_dated(a, 2, "2024-01-01", "乡村振兴，乡村振兴。", title="乡村振兴推进会")
        _save_dated(a, 3, "2024-05-02", "其他内容，乡村振兴。", title="会议召开")
        ranked = a.find("乡村振兴")
        assert ranked.order is SearchOrder.RELEVANCE and ranked.ranked == 3 and not ranked.more
        first, second = ranked.hits[0].rank, ranked.hits[1].rank
        assert ranked.hits[0].id == best and first is not None and second is not None
        assert first < second
        for n in range(4, 10):  # now nine matches, more than the five candidates
            _save_dated(a, n, f"2024-03-0{n}", "乡村振兴。", title="会议召开")
        dated = a.find("乡村振兴")
        assert dated.order is SearchOrder.DATE and {h.rank for h in dated.hits} == {None}
        assert [_published(a, h.id) for h in dated.hits][:2] == ["2024-05-03", "2024-05-02"]
        asked = a.find("乡村振兴", order=SearchOrder.RELEVANCE, limit=50)
        assert asked.order is SearchOrder.RELEVANCE and asked.ranked == 5 and asked.more
        # the oldest match, with the best title, is past the newest five: it comes after them,
        # in date order, so last
        assert [h.id for h in asked.hits].index(best) == 8 == len(asked.hits) - 1


def test_since_and_site_filter_in_both_orders(tmp_path: Path, few_candidates: int) -> None:
    with Archive.open(tmp_path / "a.db") as a:
        for n in range(12):
            site = SITE if n % 3 else "https://portal.example.com"
            _save_dated(a, n, f"2023-0{1 + n % 9}-15", "疫情防控工作。", site=site)
        for order in SearchOrder:
            recent = a.search("疫情防控", since="2023-05-01", order=order, limit=50)
            assert recent and all(str(_published(a, h.id)) >= "2023-05-01" for h in recent)
            assert len(recent) == sum(1 for n in range(12) if 1 + n % 9 >= 5)
            portal = a.search("疫情防控", site="portal.example.com", order=order, limit=50)
            assert len(portal) == 4 and {h.site for h in portal} == {"portal.example.com"}


def test_a_site_is_a_term_of_the_index_by_host_or_by_name(tmp_path: Path) -> None:
    """--site is intersected inside the index, in date order (a walk that looked up every
    match took seconds for a small site), and follows a renamed site."""
    with Archive.open(tmp_path / "a.db") as a:
        for n in range(30):
            _save_dated(a, n, f"2024-01-{1 + n % 28:02d}", "党建工作。", site_name="大站")
        small = _save_dated(a, 90, "2023-01-01", "党建工作。", site="https://small.example.cn",
                            site_name="小站")  # fmt: skip
        for order in SearchOrder:
            assert [h.id for h in a.search("党", site="small.example.cn", order=order)] == [small]
            assert [h.id for h in a.search("党", site="小站", order=order)] == [small]
            assert len(a.search("党建", site="大站", order=order, limit=50)) == 30
        _save_dated(a, 90, "2023-01-01", "党建工作。", site="https://small.example.cn",
                    site_name="新名字", when="2026-03-01T00:00:00Z")  # fmt: skip
        assert not a.search("党", site="小站") and a.search("党", site="新名字")[0].id == small
        tokens = a.db.execute(
            "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH "
            "'{site} : s' || hex('small.example.cn')"
        ).fetchone()[0]
        assert tokens == 1  # what a sqlite3 user writes finds it too


def test_a_new_published_date_moves_the_article_and_leaves_no_stale_entry(
    tmp_path: Path,
) -> None:
    with Archive.open(tmp_path / "a.db") as a:
        moved = _save_dated(a, 1, "2020-01-01", "旧的正文，党建。")
        other = _save_dated(a, 2, "2022-01-01", "另一篇，党建。")
        assert a.search("党建", order=SearchOrder.DATE)[0].id == other
        _save_dated(a, 1, "2024-01-01", "新的正文，党建。", when="2026-02-01T00:00:00Z")
        assert [h.id for h in a.search("党建", order=SearchOrder.DATE)] == [moved, other]
        assert not a.search("旧的正文") and a.search("新的正文")[0].id == moved
        key = a.db.execute("SELECT search_key FROM articles WHERE id = ?", [moved]).fetchone()[0]
        assert key >> KEY_BITS == date(2024, 1, 1).toordinal()
        rows = a.db.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH '党建'")
        assert rows.fetchone()[0] == 2


def test_a_full_day_spills_into_the_day_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "_DAY_SLOTS", 2)
    with Archive.open(tmp_path / "a.db") as a:
        ids = [_save_dated(a, n, "2024-04-10", f"第{n}篇，党建。") for n in range(3)]
        keys = [
            a.db.execute("SELECT search_key FROM articles WHERE id = ?", [i]).fetchone()[0]
            for i in ids
        ]
        day = date(2024, 4, 10).toordinal()
        assert [k >> KEY_BITS for k in keys] == [day, day, day - 1]
        assert len(set(keys)) == 3 and len(a.search("党建", limit=10)) == 3


def test_a_phrase_only_in_an_attachment_is_found_named_and_gone_when_replaced(
    tmp_path: Path,
) -> None:
    from .test_archive import POLICY, _carrying

    pdf = "https://www.example.gov.cn/f/a.pdf"
    with Archive.open(tmp_path / "a.db") as a:
        saved = a.save(*_carrying(POLICY, files=[(pdf, "附件1")]))
        assert not a.search("耕地占补平衡")  # not fetched: nothing of it is indexed
        a.attach(AttachmentFile(pdf, "t2", "s1", 3, "pdf", text="落实耕地占补平衡制度"), b"1", ())
        hit = a.search("耕地占补平衡")[0]
        assert (hit.id, hit.attachment) == (saved.id, "附件1") and "【耕地占补平衡】" in hit.snippet
        a.attach(AttachmentFile(pdf, "t3", "s2", 3, "pdf", text="改为耕地保护制度"), b"2", ())
        assert not a.search("耕地占补平衡") and a.search("耕地保护")[0].id == saved.id
        # the body and title stay found after their row was indexed again
        assert a.search("第一段", order=SearchOrder.DATE)[0].attachment is None


def test_opening_a_schema_11_archive_keys_and_indexes_every_article(tmp_path: Path) -> None:
    """Schema 12 drops the old index tables (articles_fts keyed by id, attachments_fts) and
    indexes every article again under its search key, attachments included."""
    from scraper.archive.schema import MIGRATIONS

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for version in range(1, 12):
        for statement in MIGRATIONS[version].sql.split(";\n"):
            if statement.strip():
                conn.execute(statement)
    for n, published in enumerate(["2021-01-01", None, "2023-06-30"]):
        conn.execute(
            "INSERT INTO articles (id, url, canonical_url, site, title, published, body, "
            "content_hash, first_seen, last_seen, last_changed) VALUES "
            "(?, ?, ?, 'a.test', '标题', ?, '党建工作。', 'x', '2022-02-02T00:00:00Z', 't', 't')",
            [n + 1, f"http://a.test/{n}", f"http://a.test/{n}", published],
        )
    conn.execute(
        "INSERT INTO attachments (article_id, position, url, name, text, fetched_at) "
        "VALUES (1, 1, 'http://a.test/f.pdf', '附件', '耕地占补平衡', 't')"
    )
    conn.execute("PRAGMA user_version = 11")
    conn.commit()
    conn.close()
    with Archive.open(path) as a:
        assert [h.id for h in a.search("党建", order=SearchOrder.DATE)] == [3, 2, 1]
        assert [(h.id, h.attachment) for h in a.search("耕地占补平衡")] == [(1, "附件")]
        tables = {r[0] for r in a.db.execute("SELECT name FROM sqlite_master")}
        assert "attachments_fts" not in tables


def test_the_documented_sqlite3_query_pages_newest_first(tmp_path: Path) -> None:
    """What the README gives a sqlite3 user: the index walked in rowid (date) order."""
    from scraper.datasette import RANKED_SQL, SEARCH_SQL

    with Archive.open(tmp_path / "a.db") as a:
        ids = [_save_dated(a, n, f"2024-01-{n + 1:02d}", "纪委书记讲话。") for n in range(60)]
        _save_dated(a, 99, "2024-03-01", "纪委监委。")
        sql = (
            "SELECT a.id FROM articles_fts f JOIN articles a ON a.search_key = f.rowid "
            "WHERE articles_fts MATCH ? ORDER BY f.rowid DESC LIMIT 20 OFFSET ?"
        )
        pages = [[r[0] for r in a.db.execute(sql, ['"纪委 委书 书记"', o])] for o in (0, 20, 40)]
        assert [i for p in pages for i in p] == ids[::-1]
        plan = " ".join(str(r) for r in a.db.execute("EXPLAIN QUERY PLAN " + sql, ["x", 0]))
        assert "TEMP B-TREE" not in plan  # the index gives the order: no sort of every match

        def canned(sql: str, page: str) -> list[int]:
            return [r[0] for r in a.db.execute(sql, {"q": "纪委书记", "page": page})]

        assert canned(SEARCH_SQL, "") + canned(SEARCH_SQL, "2") == ids[::-1]
        assert sorted(canned(RANKED_SQL, "1") + canned(RANKED_SQL, "2")) == sorted(ids)
        assert canned(SEARCH_SQL, "1")[0] == article_id(_url(59))


def test_every_sqlite3_example_in_the_readme_runs_with_the_sqlite3_tool(tmp_path: Path) -> None:
    """The README's queries, run as written by the real sqlite3 on an archive the CLI wrote:
    the search ones find the sample that holds the term, newest first."""
    import re
    import shlex
    import shutil
    import subprocess

    from .conftest import SAMPLES
    from .test_cli import run

    if shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 tool is not installed")
    db = tmp_path / "archive.db"
    pages = ["table-meta.html", "portal-dateline.html", "xxgk-labels.html"]
    code, _, err = run("fetch", *(str(SAMPLES / p) for p in pages), "--db", str(db))
    assert code == 0, err
    seed = str(SAMPLES / "seed-utf8.html")  # under the host the README's site example names
    code, _, err = run("fetch", seed, "--url", "https://www.gov.cn/a/1.html", "--db", str(db))
    assert code == 0, err
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", readme, flags=re.S)
    commands = re.findall(r'^(sqlite3 [^"\n]*"(?:[^"\\]|\\.)*")', "".join(blocks), flags=re.M)
    assert len(commands) >= 10
    searched = 0
    for command in commands:
        argv = [str(db) if a == "archive.db" else a for a in shlex.split(command)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        assert (done.returncode, done.stderr) == (0, ""), command
        if "articles_fts" in command:
            searched += 1
            assert "党建" in done.stdout or "执法练兵" in done.stdout, command
    assert searched == 3
