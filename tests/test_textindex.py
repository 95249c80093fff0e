"""Bigram search text: a term of any length matches exactly where it is a substring."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scraper.archive.textindex import (
    _SHORT,
    INDEX_CHARS,
    index_text,
    match_query,
    snippet,
    terms,
    tokens,
)


def test_cjk_runs_become_bigrams_plus_their_last_character() -> None:
    assert tokens("纪委书记") == ["纪委", "委书", "书记", "记"]
    assert tokens("党") == ["党"]
    assert tokens("2022年度ICP备案") == ["2022", "年度", "度", "icp", "备案", "案"]
    assert index_text("党建，工作。").split() == ["党建", "建", "工作", "作"]


_MIXED = st.text(
    alphabet=st.one_of(
        st.sampled_from("党建纪委书记工作中国𠀀豈ΣΑİ_ aZ09，。\n\t-\u0301\u3000"),
        st.characters(),
    ),
    max_size=60,
)


@settings(max_examples=500, deadline=None)
@given(_MIXED)
@example("\ufada")  # unassigned, inside the CJK compatibility range: not a word character
def test_index_text_holds_exactly_the_tokens(text: str) -> None:
    """The fast index text and the token-by-token definition never disagree: what the
    index holds is what queries (built from tokens()) look for. Padded past the length
    where short texts (titles) are cut token by token, the array passes are checked too."""
    assert index_text(text).split() == tokens(text)
    padded = text + " " * _SHORT
    assert index_text(padded).split() == tokens(text)


def test_queries_become_phrases_of_bigrams_and_one_character_a_prefix() -> None:
    """A run of two or more characters needs no prefix match (which reads every 纪X list):
    its bigrams in a row are the substring. One character ending a term is a prefix."""
    assert match_query("党") == '"党"*'
    assert match_query("党建") == '"党建"'
    assert match_query("纪委书记 ICP") == '"纪委 委书 书记" AND "icp"'
    assert match_query("2024年") == '"2024 年"*'
    assert match_query("党建2024") == '"党建 建 2024"'
    assert match_query("，。 ") is None


def _fts(docs: list[str]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE t USING fts5(body, content='', "
        "tokenize='unicode61 remove_diacritics 0')"
    )
    conn.executemany(
        "INSERT INTO t (rowid, body) VALUES (?, ?)",
        [(i, index_text(d)) for i, d in enumerate(docs)],
    )
    return conn


def _hits(conn: sqlite3.Connection, query: str) -> set[int]:
    expr = match_query(query)
    assert expr is not None
    return {r[0] for r in conn.execute("SELECT rowid FROM t WHERE t MATCH ?", [expr])}


DOCS = [
    "省纪委书记主持召开会议，研究部署党建工作。",
    "党的建设是根本保证。",
    "纪委监委通报三起典型问题。",
    "全省党建工作会议召开",
    "Beijing 2022年度ICP备案说明",
]


def test_one_two_and_four_character_terms_are_found() -> None:
    conn = _fts(DOCS)
    assert _hits(conn, "党建") == {0, 3}
    assert _hits(conn, "纪委") == {0, 2}
    assert _hits(conn, "党") == {0, 1, 3}
    assert _hits(conn, "纪委书记") == {0}
    assert _hits(conn, "建设") == {1}
    assert _hits(conn, "icp") == {4}
    assert _hits(conn, "党建 会议") == {0, 3}  # every term must match
    assert _hits(conn, "党建 监委") == set()


def test_only_the_first_index_chars_of_a_huge_body_are_indexed() -> None:
    """A 10 MB body would hold FTS5's memory at hundreds of MB; its start is what is found."""
    filler = "，".join("政府工作" for _ in range(INDEX_CHARS // 5 + 10))
    body = "开篇乡村振兴" + filler + "末尾碳达峰"
    assert len(body) > INDEX_CHARS
    indexed = index_text(body)
    assert indexed == index_text(body[:INDEX_CHARS])
    conn = _fts([body, "碳达峰行动方案"])
    assert _hits(conn, "乡村振兴") == {0}
    assert _hits(conn, "碳达峰") == {1}  # past the indexed part of the long body


ALPHABET = "党建纪委书记省市会议工作政府人民"


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.text(alphabet=ALPHABET, min_size=1, max_size=30), min_size=1, max_size=8),
    st.text(alphabet=ALPHABET, min_size=1, max_size=5),
)
def test_match_is_exactly_substring_within_a_run(docs: list[str], term: str) -> None:
    conn = _fts(docs)
    assert _hits(conn, term) == {i for i, d in enumerate(docs) if term in d}


def test_snippet_marks_every_term() -> None:
    text = "前言。" * 30 + "省纪委书记主持召开会议，研究部署党建工作。"
    out = snippet(text, "纪委 党建", width=40)
    assert "【纪委】" in out and out.startswith("…")


def test_or_not_and_title_become_fts5_operators() -> None:
    assert match_query("党建 纪委 OR 监委") == '"党建" AND ("纪委" OR "监委")'
    assert match_query("党 -建设") == '("党"*) NOT "建设"'
    assert match_query("党 NOT 建设") == match_query("党 -建设")
    assert match_query("title:党建") == '{title} : "党建"'
    assert match_query("OR 党 OR") == '"党"*'  # an operator with nothing to join is ignored
    assert match_query("-党") is None  # only "everything but": FTS5 cannot say that
    assert terms("title:党建 纪委 -监委 OR") == ["党建", "纪委"]


def _titled(rows: list[tuple[str, str]]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE t USING fts5(title, body, content='', "
        "tokenize='unicode61 remove_diacritics 0')"
    )
    conn.executemany(
        "INSERT INTO t (rowid, title, body) VALUES (?, ?, ?)",
        [(i, index_text(title), index_text(body)) for i, (title, body) in enumerate(rows)],
    )
    return conn


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("党", {0, 1, 2}),
        ("党 -党建", {1, 2}),
        ("党 NOT 建设", {0, 2}),
        ("纪委 OR 户外劳动者", {0, 3}),
        ("title:党", {1}),
        ("党 -title:党", {0, 2}),
        ("title:通知 OR title:党", {1, 3}),
    ],
)
def test_query_syntax_finds_what_it_says(query: str, expected: set[int]) -> None:
    conn = _titled(
        [
            ("工作纪实", "省纪委书记研究部署党建工作。"),
            ("党的建设", "根本保证。"),
            ("会议", "党员大会召开。"),
            ("通知", "一线户外劳动者送清凉。"),
        ]
    )
    expr = match_query(query)
    assert expr is not None
    assert {r[0] for r in conn.execute("SELECT rowid FROM t WHERE t MATCH ?", [expr])} == expected
