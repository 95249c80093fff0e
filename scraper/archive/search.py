"""Full-text search over titles, bodies and attachments, for terms of any length (textindex.py).

``articles_fts`` is a contentless FTS5 table (it holds only the index of the bigram text, not
a second copy of every body) with a row per article: its title, its body, and the names and
text of its fetched attachments. Removing a row's old entry needs the old text again, which
the caller has (the previous ``articles`` row, the attachments as they were).

**The rowid is the article's date.** A row's rowid is ``articles.search_key``: the day of the
article (published, else first archived) shifted left by ``KEY_BITS``, plus its place among
that day's articles (see ``search_day`` and ``SearchIndex.key_for``). FTS5 walks a term's
matches in rowid order and stops at the LIMIT, so newest-first is as fast for a term in most
articles as for a rare one, and a page deep in the results costs its offset, not the whole
match list. BM25 (``ORDER BY rank``) must score every match before the first result; on an
archive of a million articles a term in most of them took seconds. Relevance is therefore
computed over a bounded candidate set: every match when there are at most ``CANDIDATES``,
else the ``CANDIDATES`` newest (the date order's first pages), with the rest following in
date order, so that every match can still be paged to. bench/search.py measures both.

Inside a transaction, index writes are held back and go in just before the COMMIT, sorted by
rowid: FTS5 writes what it has gathered to a new segment whenever a rowid comes that is lower
than the one before (10,000 bench articles saved in crawl-sized batches: 0.67 ms a page to
index unsorted, 0.27 sorted).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from scraper.archive import ranking, textindex
from scraper.errors import InputError
from scraper.models import SearchHit, SearchOrder, SearchResults

from .base import SQLITE_INT_MAX, Transactions, site_since

if TYPE_CHECKING:
    from .db import Database

_COLUMNS = "title, body, attachments, site"
_DELETE = (
    f"INSERT INTO articles_fts (articles_fts, rowid, {_COLUMNS}) VALUES ('delete', ?, ?, ?, ?, ?)"
)
_INSERT = f"INSERT INTO articles_fts (rowid, {_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
# BM25 weights of title, body, attachments and site: a term in the title counts five times,
# one only in an attached file half (the site tokens are a filter, not text).
WEIGHTS = (5.0, 1.0, 0.5, 0.0)
RANKING = f"bm25(articles_fts, {', '.join(map(str, WEIGHTS))})"
# Relevance is computed over at most this many matches (the newest; see the top). Scoring
# them took 3-7 ms on bench/search.py's archives, where scoring all 980,000 matches of 党 in
# a million articles took about a second.
CANDIDATES = 1000
# A key's low bits: the place of an article among those of its day (16.7 million a day).
KEY_BITS = 24
_DAY_SLOTS = 1 << KEY_BITS
# Held-back index writes beyond this many are written early (still sorted): the memory a
# transaction holds stays bounded, whatever its size (a rebuild of the whole index).
_HOLD_AT_MOST = 4096
_ISO_DATE = re.compile(r"(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?")


def _day(text: str | None) -> int | None:
    """The proleptic ordinal of an ISO date's day (``2024-03``: its first), None if none."""
    m = _ISO_DATE.match(text or "")
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2] or 1), int(m[3] or 1)).toordinal()
    except ValueError:
        return None


def search_day(published: str | None, first_seen: str | None) -> int:
    """The day an article sorts under: its published date, else the day it was first
    archived; never after the day after it was first archived (a page dated 2099 is dated
    wrongly, and would otherwise head every newest-first list for ever)."""
    seen = _day(first_seen)
    day = _day(published)
    if day is None:
        day = seen if seen is not None else date(1970, 1, 1).toordinal()
    elif seen is not None:
        day = min(day, seen + 1)
    return day


def site_tokens(site: str | None, site_name: str | None) -> str:
    """The ``site`` column of an article's index row: ``s`` and the hex of its host, ``n``
    and the hex of its site name (one token each, which no text makes; SQLite's ``hex()``
    gives the same: ``'s' || hex('www.gov.cn')``)."""
    return " ".join(
        f"{mark}{value.encode().hex()}" for mark, value in (("s", site), ("n", site_name)) if value
    )


def site_match(site: str) -> str:
    """The FTS5 expression for "of the site with this host or name"."""
    code = site.encode().hex()
    return f"{{site}} : (s{code} OR n{code})"


def day_key(day: int) -> int:
    """The lowest key of a day: every article of that day or later has a key at least this."""
    return day << KEY_BITS


@dataclass(frozen=True)
class Indexed:
    """What an article's index row was made from, to take it out again."""

    key: int
    title: str | None
    body: str
    attachments: str
    site: str


class SearchIndex:
    """Keeping ``articles_fts`` in step with ``articles``, and querying it."""

    def __init__(self, db: Database, transactions: Transactions) -> None:
        self.db = db
        self.transactions = transactions
        self._held: list[tuple[int, str, list[Any]]] = []  # (rowid, statement, arguments)
        transactions.before_commit.append(self._flush)
        transactions.after_rollback.append(self._forget)

    # ------------------------------------------------------------- writing

    def key_for(self, published: str | None, first_seen: str, old_key: int | None) -> int:
        """The search key of an article: ``old_key`` while its day stays the same, else the
        next free one of its day (its place among that day's articles, in archiving order)."""
        day = search_day(published, first_seen)
        if old_key is not None and old_key >> KEY_BITS == day:
            return old_key
        for slot_day in range(day, 0, -1):  # a full day (16.7 million) spills into the one before
            low = day_key(slot_day)
            top = self.db.execute(
                "SELECT max(search_key) FROM articles WHERE search_key >= ? AND search_key < ?",
                [low, low + _DAY_SLOTS],
            ).fetchone()[0]
            if top is None:
                return low
            if int(top) + 1 < low + _DAY_SLOTS:
                return int(top) + 1
        raise InputError(f"no search key left for an article dated {date.fromordinal(day)}")

    def put(
        self,
        key: int,
        title: str | None,
        body: str,
        attachments: str,
        site: str,
        old: Indexed | None,
        index: tuple[str | None, str | None] = (None, None),
    ) -> None:
        """Index an article under ``key`` (``site``: its ``site_tokens``; ``index``: its
        title's and body's index texts, if made already), taking out its ``old`` entry first."""
        writes: list[tuple[int, str, list[Any]]] = []
        if old is not None:
            old_texts = [
                textindex.index_text(old.title),
                textindex.index_text(old.body),
                textindex.index_text(old.attachments),
                old.site,
            ]
            writes.append((old.key, _DELETE, [old.key, *old_texts]))
        title_index, body_index = index
        new_texts = [
            textindex.index_text(title) if title_index is None else title_index,
            textindex.index_text(body) if body_index is None else body_index,
            textindex.index_text(attachments),
            site,
        ]
        writes.append((key, _INSERT, [key, *new_texts]))
        if not self.db.conn.in_transaction:
            self._write_index(writes)
            return
        self._held.extend(writes)
        if len(self._held) > _HOLD_AT_MOST:
            self._flush()

    def attachments_text(self, ident: int) -> str:
        """What the index holds of an article's attachments: the fetched ones' names and
        text, in the page's order."""
        parts: list[str] = []
        for name, text in self.db.execute(
            "SELECT name, text FROM attachments WHERE article_id = ? AND fetched_at IS NOT NULL "
            "ORDER BY position",
            [ident],
        ):
            parts.extend(p for p in (name, text) if p)
        return "\n".join(parts)

    def update(
        self,
        row: dict[str, Any],
        attachments: str,
        old: dict[str, Any] | None,
        old_attachments: str,
        index: tuple[str | None, str | None] = (None, None),
    ) -> None:
        """Bring an article's index row in line with its ``articles`` row and attachments'
        text, where they make another entry than ``old`` and ``old_attachments`` made (or
        where there was none)."""
        now = self.indexed(row, attachments)
        before = None if old is None else self.indexed(old, old_attachments)
        if now != before:
            self.put(now.key, now.title, now.body, attachments, now.site, before, index)

    def indexed(self, row: dict[str, Any], attachments: str) -> Indexed:
        """The index entry an ``articles`` row has (with its attachments' text)."""
        return Indexed(
            int(row["search_key"]),
            row["title"],
            row["body"] or "",
            attachments,
            site_tokens(row["site"], row["site_name"]),
        )

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
        """Index every article afresh (after a change in how text is cut); the count indexed.
        Articles without a search key (none, after schema 12) get one first."""
        with self.transactions.plain():
            self.db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('delete-all')")
            unkeyed = self.db.execute(
                "SELECT id, published, first_seen FROM articles WHERE search_key IS NULL "
                "ORDER BY first_seen, id"
            ).fetchall()
            for ident, published, first_seen in unkeyed:
                key = self.key_for(published, first_seen, None)
                self.db.execute("UPDATE articles SET search_key = ? WHERE id = ?", [key, ident])
            count = 0
            rows = self.db.execute(
                "SELECT id, search_key, title, body, site, site_name FROM articles "
                "ORDER BY search_key"
            )
            for ident, key, title, body, site, name in rows:
                attached = self.attachments_text(int(ident))
                self.put(int(key), title, body or "", attached, site_tokens(site, name), None)
                count += 1
        return count

    # ------------------------------------------------------------- querying

    def find(
        self,
        query: str,
        *,
        site: str | None = None,
        since: str | None = None,
        limit: int = 20,
        offset: int = 0,
        order: SearchOrder = SearchOrder.AUTO,
        works: bool = False,
    ) -> SearchResults:
        """A page of the articles matching ``query`` (see ``textindex.parse``).

        ``order``: newest first, by relevance (BM25 over the candidates, see the top), or
        ``AUTO``: relevance when there are at most ``CANDIDATES`` matches, else newest first.
        ``works``: one hit per work, its first copy in that order. ``offset`` skips that many
        hits (works), so that paging reaches every match in either order.

        A query with no letter or digit to look for (``""``, ``"，"``), or only terms to
        exclude, is an ``InputError``: an empty result would read as "nothing matches"."""
        expr = textindex.match_query(query)
        if expr is None:
            raise InputError(
                f"nothing to search for in {query!r}: give letters or digits "
                "(and a term that is not excluded)"
            )
        matches = _Matches(self.db, expr, site, since)
        limit = min(limit, SQLITE_INT_MAX)
        if order is SearchOrder.DATE:
            keys = matches.newest(offset, limit, works)
            return SearchResults(self._hits(keys, query), SearchOrder.DATE)
        head = matches.newest(0, CANDIDATES + 1, works=False)
        if order is SearchOrder.AUTO and len(head) > CANDIDATES:
            # the page may lie within the head already read, newest first
            within = not works and offset + limit <= len(head)
            keys = head[offset : offset + limit] if within else matches.newest(offset, limit, works)
            return SearchResults(self._hits(keys, query), SearchOrder.DATE)
        more = len(head) > CANDIDATES
        candidates = head[:CANDIDATES]
        # every match a candidate: FTS5's bm25() (its frequency count walks just these);
        # else the same formula over the candidates alone (ranking.py)
        if more:
            ranked = ranking.rank(self.db, query, candidates, WEIGHTS)
        else:
            ranked = matches.ranked(candidates)
        ordered = [k for k, _ in ranked]
        ranks = dict(ranked)
        if works:
            ordered = _first_of_each_work(self.db, ordered)
        page = ordered[offset : offset + limit]
        if more and len(page) < limit:  # past the ranked ones: the rest, newest first
            skip = max(0, offset - len(ordered))
            seen = set(ordered) if works else None
            page += matches.newest(skip, limit - len(page), works, below=candidates[-1], seen=seen)
        hits = self._hits(page, query, ranks)
        return SearchResults(hits, SearchOrder.RELEVANCE, ranked=len(candidates), more=more)

    def _hits(
        self, keys: list[int], query: str, ranks: dict[int, float] | None = None
    ) -> list[SearchHit]:
        """The hits for these keys, in their order, with snippets: from the body, else (the
        match is only in a file) from the first attachment holding a term, named."""
        if not keys:
            return []
        rows = {
            int(r[0]): r
            for r in self.db.execute(
                "SELECT search_key, id, title, published, site, url, body FROM articles "
                "WHERE search_key IN (SELECT value FROM json_each(?))",
                [json.dumps(keys)],
            )
        }
        wanted = textindex.terms(query)
        hits = []
        for key in keys:
            r = rows.get(key)
            if r is None:
                continue
            body, title = r[6] or "", r[2] or ""
            attachment = None
            text = body
            if not any(t in body or t in title for t in wanted):
                found = self._attachment_with(int(r[1]), wanted)
                if found is not None:
                    attachment, text = found
            hits.append(
                SearchHit(
                    id=int(r[1]),
                    title=r[2],
                    published=r[3],
                    site=r[4],
                    url=r[5],
                    snippet=textindex.snippet(text, query),
                    rank=None if ranks is None else ranks.get(key),
                    attachment=attachment,
                )
            )
        return hits

    def _attachment_with(self, ident: int, wanted: list[str]) -> tuple[str, str] | None:
        """The first fetched attachment of an article holding one of the terms: its name (or
        URL) and text."""
        for name, url, text in self.db.execute(
            "SELECT name, url, text FROM attachments WHERE article_id = ? "
            "AND fetched_at IS NOT NULL ORDER BY position",
            [ident],
        ):
            if any(t in (text or "") or t in (name or "") for t in wanted):
                return str(name or url), str(text or name or "")
        return None

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


class _Matches:
    """The keys of the articles a match expression finds, with the site and date filters.

    The FTS5 table alone answers (a key is the article's place in date order): the site is one
    more term (``site_match``), and ``since`` a lower bound on the key, so the walk stops at
    that day; only then is each match looked up in ``articles``, to keep ``published >=
    since`` exact (an undated article sorts by the day it was archived).
    """

    def __init__(self, db: Database, expr: str, site: str | None, since: str | None) -> None:
        self.db = db
        self.expr = f"({expr}) AND {site_match(site)}" if site else expr
        self.where, self.args = site_since(None, since, "a.")
        self.floor = day_key(_day(since) or 0) if since else None
        self.filtered = bool(self.where)

    def _bounds(self, below: int | None) -> tuple[str, list[Any]]:
        sql, args = "", []
        if self.floor is not None:
            sql += " AND f.rowid >= ?"
            args.append(self.floor)
        if below is not None:
            sql += " AND f.rowid < ?"
            args.append(below)
        return sql, args

    def _walk(self, below: int | None) -> Iterator[tuple[int, int | None]]:
        """(key, work) of every match, newest first, read as the caller goes."""
        bounds, bound_args = self._bounds(below)
        join = " AND ".join(["", *self.where]) if self.where else ""
        cursor = self.db.execute(
            "SELECT f.rowid, a.work_id FROM articles_fts f "
            "JOIN articles a ON a.search_key = f.rowid "
            f"WHERE articles_fts MATCH ?{bounds}{join} ORDER BY f.rowid DESC",
            [self.expr, *bound_args, *self.args],
        )
        for key, work in cursor:
            yield int(key), work

    def newest(
        self,
        offset: int,
        limit: int,
        works: bool,
        *,
        below: int | None = None,
        seen: set[int] | None = None,
    ) -> list[int]:
        """``limit`` keys from the ``offset``-th on, newest first (``works``: one per work,
        leaving out the works of the keys in ``seen``); only keys below ``below``."""
        if limit <= 0:
            return []
        if not works and not self.filtered:
            bounds, bound_args = self._bounds(below)
            return [
                int(r[0])
                for r in self.db.execute(
                    f"SELECT f.rowid FROM articles_fts f WHERE articles_fts MATCH ?{bounds} "
                    "ORDER BY f.rowid DESC LIMIT ? OFFSET ?",
                    [self.expr, *bound_args, limit, min(offset, SQLITE_INT_MAX)],
                )
            ]
        taken: list[int] = []
        works_seen = _works_of(self.db, seen) if works and seen else set()
        skipped = 0
        for key, work in self._walk(below):
            if works and work is not None:
                if work in works_seen:
                    continue
                works_seen.add(work)
            if skipped < offset:
                skipped += 1
                continue
            taken.append(key)
            if len(taken) >= limit:
                break
        return taken

    def ranked(self, keys: list[int]) -> list[tuple[int, float]]:
        """The keys (all the matches from the oldest of them to the newest that pass the
        filters) by relevance, best first; BM25 is computed for those rows only."""
        if not keys:
            return []
        join = " AND ".join(["", *self.where]) if self.where else ""
        rows = self.db.execute(
            f"SELECT f.rowid, {RANKING} AS rank FROM articles_fts f "
            + ("JOIN articles a ON a.search_key = f.rowid " if join else "")
            + f"WHERE articles_fts MATCH ? AND f.rowid BETWEEN ? AND ?{join} "
            "ORDER BY rank, f.rowid DESC",
            [self.expr, keys[-1], keys[0], *self.args],
        )
        return [(int(k), float(r)) for k, r in rows]


def _work_of(db: Database, keys: Iterable[int]) -> dict[int, int]:
    """The work of each of these keys' articles that belongs to one."""
    return {
        int(k): int(w)
        for k, w in db.execute(
            "SELECT search_key, work_id FROM articles WHERE work_id IS NOT NULL "
            "AND search_key IN (SELECT value FROM json_each(?))",
            [json.dumps(list(keys))],
        )
    }


def _works_of(db: Database, keys: Iterable[int]) -> set[int]:
    return set(_work_of(db, keys).values())


def _first_of_each_work(db: Database, keys: list[int]) -> list[int]:
    """The keys, leaving out each that is not the first of its work (a copy of no work
    always stays)."""
    work_of = _work_of(db, keys)
    seen: set[int] = set()
    out = []
    for key in keys:
        work = work_of.get(key)
        if work is not None:
            if work in seen:
                continue
            seen.add(work)
        out.append(key)
    return out
