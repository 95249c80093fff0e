"""BM25 over a bounded candidate set, for a query with more matches than are ranked.

FTS5's ``bm25()`` weighs each phrase by its inverse document frequency, which it counts by
walking every match of the phrase in the whole table before the first row is scored. On a
million articles that walk, with a phrase's positions checked at each match, took 140-300 ms
for a three to five character term in most articles (bench/search.py), however few rows were
to be ranked. Here the same formula (k1 1.2, b 0.75, the same column weights, a row's length
and the table's average from FTS5's own ``docsize`` and ``averages`` records) is computed for
the candidates alone, a term counted in their text, and each term's document frequency counted
up to ``DF_CAP`` matches: a term in more than that many articles gets the weight of one in
that many, which only matters between the terms of one query (``党建 纪委``), never for the
order of a one-term query. search.py uses FTS5's ``bm25()`` itself when every match is a
candidate, where its count is cheap.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from scraper.archive import textindex

if TYPE_CHECKING:
    from .db import Database

K1 = 1.2
B = 0.75
DF_CAP = 20_000


def varints(blob: bytes) -> list[int]:
    """The SQLite varints of an FTS5 record (``docsize.sz``, the averages record)."""
    out: list[int] = []
    i = 0
    while i < len(blob):
        value = 0
        for n in range(9):
            byte = blob[i]
            i += 1
            if n == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        out.append(value)
    return out


def rank(
    db: Database, query: str, keys: Sequence[int], weights: Sequence[float]
) -> list[tuple[int, float]]:
    """``keys`` (search keys of articles matching ``query``) best first, with their BM25
    scores as FTS5 gives them (negative, lower is better); ties newest first."""
    if not keys:
        return []
    terms = [t for group in textindex.parse(query) for t in group if not t.excluded]
    averages = db.execute("SELECT block FROM articles_fts_data WHERE id = 1").fetchone()
    totals = varints(bytes(averages[0])) if averages else [0]
    rows = max(totals[0], 1)
    average = max(sum(totals[1:]) / rows, 1.0)
    idf = [_idf(db, textindex.phrase(t), rows) for t in terms]
    listed = json.dumps(list(keys))
    sizes = {
        int(k): sum(varints(bytes(sz)))
        for k, sz in db.execute(
            "SELECT id, sz FROM articles_fts_docsize WHERE id IN (SELECT value FROM json_each(?))",
            [listed],
        )
    }
    texts: dict[int, list[str]] = {}
    articles: dict[int, int] = {}
    for key, ident, title, body in db.execute(
        "SELECT search_key, id, title, body FROM articles "
        "WHERE search_key IN (SELECT value FROM json_each(?))",
        [listed],
    ):
        texts[int(key)] = [(title or "").lower(), (body or "").lower(), ""]
        articles[int(ident)] = int(key)
    for ident, name, text in db.execute(
        "SELECT article_id, name, text FROM attachments WHERE fetched_at IS NOT NULL "
        "AND article_id IN (SELECT value FROM json_each(?)) ORDER BY article_id, position",
        [json.dumps(list(articles))],
    ):
        columns = texts[articles[int(ident)]]
        columns[2] += "\n" + "\n".join(p for p in (name, text) if p).lower()
    wanted = [textindex.clean_term(t.text).lower() for t in terms]
    scored = []
    for key in keys:
        columns = texts.get(key, ["", "", ""])
        length = sizes.get(key, sum(len(c) for c in columns))
        norm = K1 * (1 - B + B * length / average)
        score = 0.0
        for term, word, weight in zip(terms, wanted, idf, strict=True):
            counted = columns[:1] if term.title_only else columns
            tf = sum(w * c.count(word) for w, c in zip(weights, counted, strict=False))
            score += weight * tf * (K1 + 1) / (tf + norm)
        scored.append((key, -score))
    scored.sort(key=lambda pair: (pair[1], -pair[0]))
    return scored


def _idf(db: Database, phrase: str, rows: int) -> float:
    """FTS5's IDF of a phrase, its document frequency counted up to ``DF_CAP``."""
    hits = db.execute(
        "SELECT count(*) FROM (SELECT 1 FROM articles_fts WHERE articles_fts MATCH ? LIMIT ?)",
        [phrase, DF_CAP],
    ).fetchone()[0]
    idf = math.log((rows - hits + 0.5) / (hits + 0.5))
    return idf if idf > 0 else 1e-6
