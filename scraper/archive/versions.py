"""Versions: an article's earlier titles and bodies, kept when a re-fetch changes them."""

from __future__ import annotations

from typing import Any

from .db import Database

# What a version keeps of the row it replaces, beside when it was seen.
_KEPT = (
    "title", "published", "source", "author", "editor", "body", "content_hash", "raw_sha256",
    "index_number", "issuer", "doc_number", "written", "subject", "validity",
)  # fmt: skip
_COLUMNS = ("article_id", *_KEPT, "attachments", "first_seen", "last_seen", "replaced_at")
# Record-table fields whose change (from one value to another) is an edit worth a version; a
# field that was empty and is now read (an older parser) is not.
_RECORD = ("index_number", "issuer", "doc_number", "written", "subject", "validity")
# raw, not sqlite-utils' insert (110 us a row more): a reparse of the archive keeps thousands
_INSERT = f"INSERT INTO versions ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


class Versions:
    """Keeping the previous version of a changed article, and reading an article's history."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def worth_keeping(old: dict[str, Any], row: dict[str, Any]) -> bool:
        """Whether a re-fetch changed what a reader would call the document: its title or
        text, or a record-table value (有效 → 废止), not a field an older parser left empty."""
        if old["title"] != row["title"] or old["body"] != row["body"]:
            return True
        return any(old[c] is not None and old[c] != row[c] for c in _RECORD)

    def keep(self, old: dict[str, Any], now: str, attachments: str | None = None) -> int:
        """Keep the previous version of an article that just changed (``attachments``: the
        JSON ``[url, sha256]`` pairs it had); the version's id."""
        kept = [old[c] for c in _KEPT]
        cursor = self.db.execute(
            _INSERT, [old["id"], *kept, attachments, old["last_changed"], old["last_seen"], now]
        )
        return int(cursor.lastrowid or 0)

    def history(self, ident: int) -> list[dict[str, Any]]:
        """Every version of an article, oldest first; the last one is the current record."""
        cols = ", ".join(_KEPT)
        previous = [
            dict(r)
            for r in self.db.table("versions").rows_where(
                "article_id = ?", [ident], order_by="id", select=f"{cols}, first_seen, last_seen"
            )
        ]
        current = self.db.execute(
            f"SELECT {cols}, last_changed, last_seen FROM articles WHERE id = ?", [ident]
        ).fetchone()
        if current is None:
            return previous
        names = [*_KEPT, "first_seen", "last_seen"]
        return [*previous, dict(zip(names, current, strict=True))]

    def fields(self, article_id: int, raw_sha256: str) -> dict[str, Any] | None:
        """The fields of an earlier version of an article that came from these raw bytes."""
        rows = list(
            self.db.table("versions").rows_where(
                "article_id = ? AND raw_sha256 = ?",
                [article_id, raw_sha256],
                order_by="id DESC",
                limit=1,
                select="title, published, source, author, editor, body, index_number, issuer, "
                "doc_number, written, subject, validity",
            )
        )
        return rows[0] if rows else None
