"""Changes: when an archived article was edited, withdrawn or came back (schema 11).

An edit is recorded when a re-fetch keeps a version (versions.py says when that is); a
withdrawal when a revisit finds the article gone (404/410, the site's "not found" page served
with 200, a redirect to the home or a list page), with its reason and the fetch that showed it;
a return when a withdrawn article is fetched as an article again. The article's own row keeps
its last good text: ``withdrawn`` (when it was first seen gone) and ``withdrawn_reason`` are
set and cleared, nothing else.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from .base import site_since
from .db import Database


class ChangeKind(StrEnum):
    EDITED = "edited"
    WITHDRAWN = "withdrawn"
    RESTORED = "restored"


class Changes:
    """The ``changes`` rows and the articles' ``withdrawn`` mark."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self,
        ident: int,
        kind: ChangeKind,
        time: str,
        reason: str | None = None,
        fetch_id: int | None = None,
        version_id: int | None = None,
    ) -> None:
        self.db.execute(
            "INSERT INTO changes (article_id, kind, time, reason, fetch_id, version_id) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [ident, str(kind), time, reason, fetch_id, version_id],
        )

    def withdraw(self, ident: int, time: str, reason: str, fetch_id: int | None) -> bool:
        """Mark an article gone (once: a later revisit that finds it still gone changes
        nothing); whether this was news."""
        cursor = self.db.execute(
            "UPDATE articles SET withdrawn = ?, withdrawn_reason = ? "
            "WHERE id = ? AND withdrawn IS NULL",
            [time, reason, ident],
        )
        if cursor.rowcount:
            self.add(ident, ChangeKind.WITHDRAWN, time, reason, fetch_id)
            return True
        return False

    def restore(self, ident: int, time: str) -> bool:
        """Clear the mark of an article fetched as an article again; whether it had one."""
        cursor = self.db.execute(
            "UPDATE articles SET withdrawn = NULL, withdrawn_reason = NULL "
            "WHERE id = ? AND withdrawn IS NOT NULL",
            [ident],
        )
        if cursor.rowcount:
            self.add(ident, ChangeKind.RESTORED, time)
            return True
        return False

    def since(
        self,
        *,
        since: str | None = None,
        site: str | None = None,
        kind: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Changes, newest first, each with its article's title, URL, site and work."""
        filters, args = site_since(site, None, "a.")
        where = list(filters)
        if since:
            where.append("c.time >= ?")
            args.append(since)
        if kind:
            where.append("c.kind = ?")
            args.append(kind)
        sql = (
            "SELECT c.id, c.article_id, c.kind, c.time, c.reason, c.fetch_id, c.version_id, "
            "a.title, a.url, a.site, a.published, a.work_id, a.withdrawn "
            "FROM changes c JOIN articles a ON a.id = c.article_id "
            + (f"WHERE {' AND '.join(where)} " if where else "")
            + "ORDER BY c.time DESC, c.id DESC"
            + (" LIMIT ?" if limit is not None else "")
        )
        if limit is not None:
            args.append(limit)
        cursor = self.db.execute(sql, args)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
