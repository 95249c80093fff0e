"""Full-text search over titles and bodies, for terms of any length (see textindex.py).

``articles_fts`` is a contentless FTS5 table whose rowid is ``articles.id``: it holds only the
index of the bigram text, not a second copy of every body. Removing a row's old entry needs
the old text again, which the caller has (the previous ``articles`` row).

Inside a transaction, index writes are held back and go in just before the COMMIT, sorted by
rowid. FTS5 writes what it has gathered to a new segment whenever a rowid comes that is lower
than the one before; article ids are hashes of their URLs, so written as they came, a crawl's
batch made a segment every other article, and then merged them all (10,000 bench articles
saved in crawl-sized batches: 0.67 ms a page to index, 0.27 when sorted).
"""

from __future__ import annotations

import json
from itertools import groupby
from operator import itemgetter
from typing import Any

import sqlite_utils

from scraper.archive import textindex
from scraper.errors import InputError
from scraper.models import SearchHit

from .base import SQLITE_INT_MAX, Transactions, site_since

_DELETE = "INSERT INTO articles_fts (articles_fts, rowid, title, body) VALUES ('delete', ?, ?, ?)"
_INSERT = "INSERT INTO articles_fts (rowid, title, body) VALUES (?, ?, ?)"
# Held-back index writes beyond this many are written early (still sorted): the memory a
# transaction holds stays bounded, whatever its size (a rebuild of the whole index).
_HOLD_AT_MOST = 4096


class SearchIndex:
    """Keeping ``articles_fts`` in step with ``articles``, and querying it."""

    def __init__(self, db: sqlite_utils.Database, transactions: Transactions) -> None:
        self.db = db
        self.transactions = transactions
        self._held: list[tuple[int, str, list[Any]]] = []  # (rowid, statement, arguments)
        transactions.before_commit.append(self._flush)
        transactions.after_rollback.append(self._forget)

    def put(
        self,
        ident: int,
        title: str | None,
        body: str,
        old: dict[str, Any] | None,
        index: tuple[str | None, str | None] = (None, None),
    ) -> None:
        """Index a row's title and body (``index``: their index texts, if made already)."""
        writes: list[tuple[int, str, list[Any]]] = []
        if old is not None:
            old_texts = [textindex.index_text(old["title"]), textindex.index_text(old["body"])]
            writes.append((ident, _DELETE, [ident, *old_texts]))
        title_index, body_index = index
        new_texts = [
            textindex.index_text(title) if title_index is None else title_index,
            textindex.index_text(body) if body_index is None else body_index,
        ]
        writes.append((ident, _INSERT, [ident, *new_texts]))
        if not self.db.conn.in_transaction:
            self._write_index(writes)
            return
        self._held.extend(writes)
        if len(self._held) > _HOLD_AT_MOST:
            self._flush()

    def _flush(self) -> None:
        """Write the held-back index writes, in rowid order (a row's own in the order made)."""
        held, self._held = self._held, []
        if held:
            held.sort(key=itemgetter(0))  # stable: a row's delete stays before its insert
            self._write_index(held)

    def _forget(self) -> None:
        self._held = []

    def _write_index(self, writes: list[tuple[int, str, list[Any]]]) -> None:
        """The writes in their order, each run of one statement as one executemany."""
        for statement, run in groupby(writes, key=itemgetter(1)):
            self.db.conn.executemany(statement, [args for _, _, args in run])

    def rebuild(self) -> int:
        """Index every article afresh (after a change in how text is cut); the count indexed."""
        with self.transactions.plain():
            self.db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('delete-all')")
            count = 0
            rows = self.db.execute("SELECT id, title, body FROM articles ORDER BY id")
            for ident, title, body in rows:
                self.put(int(ident), title, body or "", None)
                count += 1
        return count

    def search(
        self,
        query: str,
        *,
        site: str | None = None,
        since: str | None = None,
        limit: int = 20,
        works: bool = False,
    ) -> list[SearchHit]:
        """Articles matching ``query`` (see ``textindex.parse``), ranked by BM25 (title 5x).

        ``works``: only the best-ranked copy of each work (``copies`` tells how many it has).
        A query with no letter or digit to look for (``""``, ``"，"``), or only terms to
        exclude, is an ``InputError``: an empty result would read as "nothing matches"."""
        expr = textindex.match_query(query)
        if expr is None:
            raise InputError(
                f"nothing to search for in {query!r}: give letters or digits "
                "(and a term that is not excluded)"
            )
        filters, filter_args = site_since(site, since, "a.")
        where = ["articles_fts MATCH ?", *filters]
        args: list[Any] = [expr, *filter_args]
        cap = min(limit, SQLITE_INT_MAX)
        # Per work, the best copy: ranked rows are read until enough works are seen.
        rows = self.db.execute(
            "SELECT a.id, a.title, a.published, a.site, a.url, a.body, a.work_id, "
            "bm25(articles_fts, 5.0, 1.0) AS rank "
            "FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
            f"WHERE {' AND '.join(where)} ORDER BY rank" + ("" if works else " LIMIT ?"),
            args if works else [*args, cap],
        )
        hits: dict[int, SearchHit] = {}
        seen_works: set[int] = set()
        for r in rows:
            if works and not _first_of_work(r[6], seen_works):
                continue
            hits[int(r[0])] = SearchHit(
                id=int(r[0]),
                title=r[1],
                published=r[2],
                site=r[3],
                url=r[4],
                snippet=textindex.snippet(r[5] or "", query),
                rank=float(r[7]),
            )
            if len(hits) >= cap:
                break
        if not textindex.names_titles(query):
            self._attachment_hits(query, where, args, cap, hits, seen_works if works else None)
        return sorted(hits.values(), key=lambda h: h.rank)[:cap]

    def _attachment_hits(
        self,
        query: str,
        where: list[str],
        args: list[Any],
        cap: int,
        hits: dict[int, SearchHit],
        seen_works: set[int] | None,
    ) -> None:
        """Add the articles found only by their attachments' text (a phrase in the PDF)."""
        where = ["attachments_fts MATCH ?", *where[1:]]
        for r in self.db.execute(
            "SELECT a.id, a.title, a.published, a.site, a.url, t.name, t.text, t.url, "
            "bm25(attachments_fts, 2.0, 1.0) AS rank, a.work_id "
            "FROM attachments_fts JOIN attachments t ON t.id = attachments_fts.rowid "
            "JOIN articles a ON a.id = t.article_id "
            f"WHERE {' AND '.join(where)} ORDER BY rank LIMIT ?",
            [*args, cap],
        ):
            ident = int(r[0])
            if ident in hits:
                continue
            if seen_works is not None and not _first_of_work(r[9], seen_works):
                continue
            hits[ident] = SearchHit(
                id=ident,
                title=r[1],
                published=r[2],
                site=r[3],
                url=r[4],
                snippet=textindex.snippet(r[6] or r[5] or "", query),
                rank=float(r[8]),
                attachment=r[5] or r[7],
            )

    def copies(self, idents: list[int]) -> dict[int, int]:
        """How many copies the work of each of these articles has (1: it stands alone)."""
        out: dict[int, int] = {}
        for ident, copies in self.db.execute(
            "SELECT a.id, coalesce(w.copies, 1) FROM articles a "
            "LEFT JOIN works w ON w.id = a.work_id "
            "WHERE a.id IN (SELECT value FROM json_each(?))",
            [json.dumps(idents)],
        ):
            out[int(ident)] = int(copies)
        return out

    def newest(
        self, *, site: str | None = None, since: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """What is archived, newest published first (undated ones by when first seen)."""
        where, args = site_since(site, since)
        sql = (
            "SELECT id, published, site, title, url FROM articles"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + " ORDER BY coalesce(published, first_seen) DESC, id"
        )
        if limit is not None:
            sql += " LIMIT ?"
            args.append(min(limit, SQLITE_INT_MAX))
        cursor = self.db.execute(sql, args)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]


def _first_of_work(work: int | None, seen: set[int]) -> bool:
    """Whether a hit is its work's first (best-ranked) one; a copy of no work always is."""
    if work is None:
        return True
    if work in seen:
        return False
    seen.add(work)
    return True
