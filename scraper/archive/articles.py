"""The ``articles`` table: one row per canonical URL, its columns the ``Article`` dataclass's.

The row's columns are the ``Article`` fields (``ARTICLE_FIELDS``: a field added there, and
its column added by a migration in schema.py, is saved, compared and read back with no change
here) and what the archive derives on saving: ``site``, ``content_hash``, the work and MinHash
signature (works.py), the raw page and its encoding, and when it was first seen, last seen and
last changed. The integer id is derived from the canonical URL, so it stays stable across
rebuilds and VACUUM.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from scraper.archive import dedup
from scraper.models import Article
from scraper.urls import canonicalize, host_of

from .base import SQLITE_INT_MAX, site_since
from .db import Database

ARTICLE_FIELDS = Article.field_names()
# What saving derives beside the Article's own fields, in the order the row is written.
_DERIVED = (
    "site", "content_hash", "work_id", "signature", "raw_sha256", "encoding", "last_seen",
    "last_changed", "search_key",
)  # fmt: skip
_UPDATED = (*ARTICLE_FIELDS, *_DERIVED)
_INSERTED = ("id", *_UPDATED, "first_seen")
# Built once from the column lists above, not sqlite-utils' insert/upsert: the crawl's one
# writer writes a row per page, and with them (and for fetches) a save took 40% longer.
_INSERT = (
    f"INSERT INTO articles ({', '.join(_INSERTED)}) VALUES ({', '.join('?' * len(_INSERTED))})"
)
_UPDATE = f"UPDATE articles SET {', '.join(f'{c} = ?' for c in _UPDATED)} WHERE id = ?"


def article_id(canonical_url: str) -> int:
    """A stable positive 63-bit id from the canonical URL."""
    digest = hashlib.sha256(canonical_url.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


def content_hash(body: str) -> str:
    """Fingerprint of the normalized body: one body under two URLs is one work."""
    return dedup.fingerprint(body)


def article_row(article: Article, canonical: str, fingerprint: str) -> dict[str, Any]:
    """The columns an article gives its row (the rest are added as the save goes on)."""
    row: dict[str, Any] = {name: getattr(article, name) for name in ARTICLE_FIELDS}
    row["canonical_url"] = canonical
    row["is_article"] = int(article.is_article)
    row["site"] = host_of(canonical) or None
    row["content_hash"] = fingerprint
    return row


def changed(old: dict[str, Any], row: dict[str, Any]) -> bool:
    """Whether a re-fetched article says anything different (any of its fields)."""
    return any(old[k] != row[k] for k in ARTICLE_FIELDS)


class Articles:
    """Writing and reading ``articles`` rows."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def find(self, canonical: str) -> dict[str, Any] | None:
        """The whole row (signature included) at a canonical URL."""
        cur = self.db.execute("SELECT * FROM articles WHERE canonical_url = ?", [canonical])
        row = cur.fetchone()
        return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None

    def free_id(self, ident: int) -> int:
        """``ident`` (a URL's stable id), stepped past the (astronomically rare) collision."""
        while self.db.execute("SELECT 1 FROM articles WHERE id = ?", [ident]).fetchone():
            ident = (ident + 1) & 0x7FFF_FFFF_FFFF_FFFF
        return ident

    def insert(self, row: dict[str, Any]) -> None:
        self.db.execute(_INSERT, [row[c] for c in _INSERTED])

    def update(self, old: dict[str, Any], row: dict[str, Any]) -> None:
        """Write ``row`` over ``old`` (the stored row); columns ``row`` lacks keep their value."""
        values = {**old, **row}
        self.db.execute(_UPDATE, [*(values[c] for c in _UPDATED), old["id"]])

    def seen_again(self, url: str, when: str) -> int | None:
        """Note that the article fetched from ``url`` was seen unchanged (a 304); its id."""
        row = self.db.execute(
            "SELECT id FROM articles WHERE url = ? OR canonical_url = ? LIMIT 1",
            [url, canonicalize(url)],
        ).fetchone()
        if row is None:
            return None
        self.db.execute("UPDATE articles SET last_seen = ? WHERE id = ?", [when, row[0]])
        return int(row[0])

    def _public_columns(self) -> str:
        """Every articles column a reader wants (the MinHash signature is internal)."""
        cols = [c.name for c in self.db.table("articles").columns if c.name != "signature"]
        return ", ".join(f"[{c}]" for c in cols)

    def get(self, key: int | str) -> dict[str, Any] | None:
        """An article row by id or by URL (as fetched or canonical)."""
        args: list[Any]
        if isinstance(key, int):
            if not -SQLITE_INT_MAX - 1 <= key <= SQLITE_INT_MAX:  # no row has it, nor SQLite
                return None
            where, args = "id = ?", [key]
        else:
            try:
                canonical = canonicalize(key)
            except ValueError:  # not a well-formed URL: only an exact match can have it
                canonical = key
            where, args = "canonical_url = ? OR url = ? OR url = ?", [canonical, key, canonical]
        rows = list(
            self.db.table("articles").rows_where(
                where, args, limit=1, select=self._public_columns()
            )
        )
        return rows[0] if rows else None

    def rows(
        self, *, site: str | None = None, since: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Article rows in id order, optionally of one site (host or name) or published since."""
        where, args = site_since(site, since)
        yield from self.db.table("articles").rows_where(
            " AND ".join(["1", *where]), args, order_by="id", select=self._public_columns()
        )

    def last_seen_of(self, canonical_url: str) -> str | None:
        """When the article at this canonical URL was last captured (None if unknown)."""
        row = self.db.execute(
            "SELECT last_seen FROM articles WHERE canonical_url = ?", [canonical_url]
        ).fetchone()
        return str(row[0]) if row else None
