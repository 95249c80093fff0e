"""Full-text search over titles and bodies, for terms of any length (see scraper/textindex.py).

``articles_fts`` is a contentless FTS5 table whose rowid is ``articles.id``: it holds only the
index of the bigram text, not a second copy of every body. Removing a row's old entry needs
the old text again, which the caller has (the previous ``articles`` row).
"""

from __future__ import annotations

from typing import Any

from scraper import textindex
from scraper.errors import InputError
from scraper.models import SearchHit

from .base import SQLITE_INT_MAX, ArchiveBase, site_since


class SearchStore(ArchiveBase):
    """Keeping ``articles_fts`` in step with ``articles``, and querying it."""

    def _fts_put(
        self,
        ident: int,
        title: str | None,
        body: str,
        old: dict[str, Any] | None,
        index: tuple[str | None, str | None] = (None, None),
    ) -> None:
        """Index a row's title and body (``index``: their index texts, if made already)."""
        if old is not None:
            self.db.execute(
                "INSERT INTO articles_fts (articles_fts, rowid, title, body) "
                "VALUES ('delete', ?, ?, ?)",
                [ident, textindex.index_text(old["title"]), textindex.index_text(old["body"])],
            )
        title_index, body_index = index
        self.db.execute(
            "INSERT INTO articles_fts (rowid, title, body) VALUES (?, ?, ?)",
            [
                ident,
                textindex.index_text(title) if title_index is None else title_index,
                textindex.index_text(body) if body_index is None else body_index,
            ],
        )

    def rebuild_search_index(self) -> int:
        """Index every article afresh (after a change in how text is cut); the count indexed."""
        with self._transaction():
            self.db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('delete-all')")
            count = 0
            for ident, title, body in self.db.execute("SELECT id, title, body FROM articles"):
                self._fts_put(int(ident), title, body or "", None)
                count += 1
        return count

    def search(
        self, query: str, *, site: str | None = None, since: str | None = None, limit: int = 20
    ) -> list[SearchHit]:
        """Articles matching every term of ``query``, ranked by BM25 (title weighs 5x).

        A query with no letter or digit to look for (``""``, ``"，"``) is an ``InputError``:
        an empty result would read as "nothing archived matches"."""
        expr = textindex.match_query(query)
        if expr is None:
            raise InputError(f"nothing to search for in {query!r}: give letters or digits")
        filters, filter_args = site_since(site, since, "a.")
        where = ["articles_fts MATCH ?", *filters]
        args: list[Any] = [expr, *filter_args]
        rows = self.db.execute(
            "SELECT a.id, a.title, a.published, a.site, a.url, a.body, "
            "bm25(articles_fts, 5.0, 1.0) AS rank "
            "FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
            f"WHERE {' AND '.join(where)} ORDER BY rank LIMIT ?",
            [*args, min(limit, SQLITE_INT_MAX)],
        ).fetchall()
        return [
            SearchHit(
                id=int(r[0]),
                title=r[1],
                published=r[2],
                site=r[3],
                url=r[4],
                snippet=textindex.snippet(r[5] or "", query),
                rank=float(r[6]),
            )
            for r in rows
        ]
