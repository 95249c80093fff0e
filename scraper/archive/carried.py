"""What an article carries besides its text: its images, attachments and related documents.

Each has a table keyed by the article (schema 10). Saving an article brings the rows in line
with what the page now links to: rows for links that are gone are deleted, new links get rows,
and an attachment (or image) whose URL the page still links to keeps what was fetched of it.
The files themselves are kept in ``raw_pages`` by sha256, like pages, and come in later, when
the front end that fetched the article fetches them (``Archive.attach``).
"""

from __future__ import annotations

from typing import Any

from scraper.models import Article, AttachmentFile

from .db import Database


class Carried:
    """The ``images``, ``attachments`` and ``related`` rows of articles."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, ident: int, article: Article, *, new: bool = False) -> bool:
        """Bring the article's rows in line with its page; whether anything changed. A ``new``
        article has no rows yet: nothing is read (the crawl's writer saves one per page)."""
        if new and not (article.images or article.related or article.attachments):
            return False
        changed = self._put_images(ident, article, new)
        changed |= self._put_related(ident, article, new)
        return self._put_attachments(ident, article, new) or changed

    def _put_images(self, ident: int, article: Article, new: bool) -> bool:
        rows = (
            []
            if new
            else self.db.execute(
                "SELECT url, alt, caption, sha256, size, error FROM images WHERE article_id = ? "
                "ORDER BY position",
                [ident],
            ).fetchall()
        )
        wanted = [(i.url, i.alt, i.caption) for i in article.images]
        if [tuple(r[:3]) for r in rows] == wanted:
            return False
        kept = {r[0]: tuple(r[3:]) for r in rows}
        if rows:
            self.db.execute("DELETE FROM images WHERE article_id = ?", [ident])
        for position, (url, alt, caption) in enumerate(wanted, 1):
            sha, size, error = kept.get(url, (None, None, None))
            self.db.execute(
                "INSERT OR IGNORE INTO images VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [ident, position, url, alt, caption, sha, size, error],
            )
        return True

    def _put_related(self, ident: int, article: Article, new: bool) -> bool:
        rows = (
            []
            if new
            else self.db.execute(
                "SELECT url, kind, name FROM related WHERE article_id = ? ORDER BY url, kind",
                [ident],
            ).fetchall()
        )
        wanted = sorted({(d.url, str(d.kind), d.name) for d in article.related})
        if [tuple(r) for r in rows] == wanted:
            return False
        if rows:
            self.db.execute("DELETE FROM related WHERE article_id = ?", [ident])
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO related (article_id, url, kind, name) VALUES (?, ?, ?, ?)",
            [(ident, *row) for row in wanted],
        )
        return True

    def _put_attachments(self, ident: int, article: Article, new: bool) -> bool:
        rows = (
            {}
            if new
            else {
                str(r[1]): (int(r[0]), int(r[2]), r[3])
                for r in self.db.execute(
                    "SELECT id, url, position, name FROM attachments WHERE article_id = ?", [ident]
                )
            }
        )
        wanted = {d.url: (position, d.name) for position, d in enumerate(article.attachments, 1)}
        changed = False
        for url, (rowid, position, name) in rows.items():
            if url not in wanted:
                self.db.execute("DELETE FROM attachments WHERE id = ?", [rowid])
                changed = True
            elif wanted[url] != (position, name):
                self.db.execute(
                    "UPDATE attachments SET position = ?, name = ? WHERE id = ?",
                    [*wanted[url], rowid],
                )
                changed = True
        for url, (position, name) in wanted.items():
            if url not in rows:
                self.db.execute(
                    "INSERT INTO attachments (article_id, position, url, name) VALUES (?, ?, ?, ?)",
                    [ident, position, url, name],
                )
                changed = True
        return changed

    def pending(self, ident: int) -> list[str]:
        """The URLs of the article's attachments not fetched yet."""
        return [
            str(r[0])
            for r in self.db.execute(
                "SELECT url FROM attachments WHERE article_id = ? AND fetched_at IS NULL "
                "ORDER BY position",
                [ident],
            )
        ]

    def pending_images(self, ident: int) -> list[str]:
        """The URLs of the article's pictures not fetched yet (no file, no reason)."""
        return [
            str(r[0])
            for r in self.db.execute(
                "SELECT url FROM images WHERE article_id = ? AND sha256 IS NULL "
                "AND error IS NULL GROUP BY url ORDER BY min(position)",
                [ident],
            )
        ]

    def keep_image(self, url: str, sha: str | None, size: int | None, error: str | None) -> int:
        """Record a fetched picture (its file, or why there is none) on every article that
        shows ``url``; a failed re-fetch keeps the file kept before. The rows changed."""
        if sha is None:
            cursor = self.db.execute(
                "UPDATE images SET error = ? WHERE url = ?", [error or "empty file", url]
            )
        else:
            cursor = self.db.execute(
                "UPDATE images SET sha256 = ?, size = ?, error = NULL WHERE url = ?",
                [sha, size, url],
            )
        return int(cursor.rowcount)

    def replaced(self, got: AttachmentFile) -> list[int]:
        """The articles whose attachment at ``got.url`` this file replaces (another file than
        the one kept before): each keeps a version when it comes in."""
        if got.sha256 is None:
            return []
        return [
            int(r[0])
            for r in self.db.execute(
                "SELECT DISTINCT article_id FROM attachments WHERE url = ? AND sha256 IS NOT NULL "
                "AND sha256 != ?",
                [got.url, got.sha256],
            )
        ]

    def state(self, ident: int) -> list[list[str | None]]:
        """The article's attachments as ``[url, sha256]`` pairs, in order (kept in versions)."""
        return [
            [r[0], r[1]]
            for r in self.db.execute(
                "SELECT url, sha256 FROM attachments WHERE article_id = ? ORDER BY position",
                [ident],
            )
        ]

    def articles_attaching(self, url: str) -> list[int]:
        """The articles that attach the file at ``url``."""
        return [
            int(r[0])
            for r in self.db.execute(
                "SELECT DISTINCT article_id FROM attachments WHERE url = ?", [url]
            )
        ]

    def attach(self, got: AttachmentFile) -> None:
        """Record a fetched attachment on every article that links to its URL."""
        for rowid, old_sha in self.db.execute(
            "SELECT id, sha256 FROM attachments WHERE url = ?", [got.url]
        ).fetchall():
            if got.sha256 is None and old_sha is not None:
                # a failed re-fetch keeps the file already kept; it notes why it failed
                self.db.execute("UPDATE attachments SET error = ? WHERE id = ?", [got.error, rowid])
                continue
            self.db.execute(
                "UPDATE attachments SET kind = ?, mime = ?, size = ?, sha256 = ?, text = ?, "
                "error = ?, fetched_at = ? WHERE id = ?",
                [
                    got.kind,
                    got.mime,
                    got.size,
                    got.sha256,
                    got.text,
                    got.error,
                    got.fetched_at,
                    rowid,
                ],
            )

    def wanted(self, url: str) -> bool:
        """Whether an article attaches ``url`` and holds no file for it yet."""
        row = self.db.execute(
            "SELECT 1 FROM attachments WHERE url = ? AND sha256 IS NULL LIMIT 1", [url]
        ).fetchone()
        return row is not None

    def find(self, key: int | str) -> list[dict[str, Any]]:
        """Attachments by their id, or by URL (one file may be attached to several articles),
        with their text."""
        where, args = ("id = ?", [key]) if isinstance(key, int) else ("url = ?", [key])
        return [
            dict(r) for r in self.db.table("attachments").rows_where(where, args, order_by="id")
        ]

    def of(self, ident: int) -> dict[str, list[dict[str, Any]]]:
        """The article's images, attachments (without their text) and related links."""
        images = self.db.table("images").rows_where("article_id = ?", [ident], order_by="position")
        attachments = self.db.table("attachments").rows_where(
            "article_id = ?",
            [ident],
            order_by="position",
            select="id, position, url, name, kind, mime, size, sha256, error, fetched_at, "
            "length(text) AS text_chars",
        )
        related = self.db.table("related").rows_where("article_id = ?", [ident], order_by="kind")
        return {
            "images": [dict(r) for r in images],
            "attachments": [dict(r) for r in attachments],
            "related": [dict(r) for r in related],
        }
