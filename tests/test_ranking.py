"""BM25 over the candidates alone (archive/ranking.py): FTS5's own formula and figures."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from scraper.archive import Archive, ranking
from scraper.archive.search import RANKING, WEIGHTS
from scraper.models import AttachmentFile, SearchOrder

from .test_archive import copy

WORDS = ["党建", "纪委书记", "乡村振兴", "会议", "工作", "推进", "落实", "群众", "发展", "改革"]


def _archive(path: Path) -> Archive:
    rng = random.Random(11)
    a = Archive.open(path)
    for n in range(40):
        body = "，".join(rng.choice(WORDS) for _ in range(rng.randint(3, 60))) + "。"
        title = "".join(rng.sample(WORDS, 2))
        url = f"https://www.origin.gov.cn/{n}.html"
        pg, art = copy(url, body, title=title)
        a.save(pg, replace(art, published=f"2024-01-{1 + n % 28:02d}"))
    return a


def _fts5(a: Archive, query: str) -> list[tuple[int, float]]:
    from scraper.archive.textindex import match_query

    return [
        (int(k), float(r))
        for k, r in a.db.execute(
            f"SELECT rowid, {RANKING} AS r FROM articles_fts WHERE articles_fts MATCH ? "
            "ORDER BY r, rowid DESC",
            [match_query(query)],
        )
    ]


@pytest.mark.parametrize(
    "query", ["党建", "纪委书记", "党建 乡村振兴", "会议 OR 群众", "title:党建"]
)
def test_scores_are_fts5s_bm25_when_every_frequency_is_counted(tmp_path: Path, query: str) -> None:
    with _archive(tmp_path / "a.db") as a:
        expected = _fts5(a, query)
        assert len(expected) > 3
        got = ranking.rank(a.db, query, [k for k, _ in expected], WEIGHTS)
    assert [k for k, _ in got] == [k for k, _ in expected]
    assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-9)


def test_an_attachments_text_counts_at_its_weight(tmp_path: Path) -> None:
    from .test_archive import POLICY, _carrying

    pdf = "https://www.example.gov.cn/f/a.pdf"
    with _archive(tmp_path / "a.db") as a:
        a.save(*_carrying(POLICY, files=[(pdf, "附件")]))
        a.attach(AttachmentFile(pdf, "t2", "s", 3, "pdf", text="党建，党建，党建。"), b"1", ())
        expected = _fts5(a, "党建")
        got = ranking.rank(a.db, "党建", [k for k, _ in expected], WEIGHTS)
    assert [k for k, _ in got] == [k for k, _ in expected]
    assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-9)


def test_a_common_terms_frequency_is_counted_up_to_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the cap a term weighs as one in DF_CAP articles: the order of a one-term query is
    unchanged (the weight is common to every row), and the search uses it past CANDIDATES."""
    from scraper.archive import search

    with _archive(tmp_path / "a.db") as a:
        expected = [k for k, _ in _fts5(a, "工作")]
        monkeypatch.setattr(ranking, "DF_CAP", 3)
        assert [k for k, _ in ranking.rank(a.db, "工作", expected, WEIGHTS)] == expected
        monkeypatch.setattr(search, "CANDIDATES", 5)
        found = a.find("工作", order=SearchOrder.RELEVANCE)
        assert found.more and found.ranked == 5
        newest = [k for k, _ in _fts5(a, "工作") if k in set(sorted(expected)[-5:])]
        keys = [
            a.db.execute("SELECT search_key FROM articles WHERE id = ?", [h.id]).fetchone()[0]
            for h in found.hits[:5]
        ]
        assert keys == newest  # the five newest, in FTS5's own order


def test_varints_are_sqlites() -> None:
    assert ranking.varints(bytes([0x05, 0x81, 0x00, 0xFF, 0x7F])) == [5, 128, 16383]
