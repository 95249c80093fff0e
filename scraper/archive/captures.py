"""Captures read back for web-archive (WARC) export and import: every successful fetch of an
article, with its wire headers, in the order they happened.

A capture is a ``fetches`` row with raw bytes and an article; its raw page is the decoded body
(Content-Encoding already undone by the fetcher), so the exporter, not this module, decides
what to say about the headers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .base import ArchiveBase, _Tx


@dataclass(frozen=True)
class Capture:
    """One successful fetch of an archived article, as the ``fetches`` table keeps it.

    ``headers`` is None when the page was read from a local file (nothing was kept).
    """

    fetch_id: int
    article_id: int
    url: str
    final_url: str
    time: str
    status: int | None
    raw_sha256: str
    encoding: str | None
    http_version: str | None
    reason: str | None
    headers: tuple[tuple[str, str], ...] | None
    request_headers: tuple[tuple[str, str], ...] | None


def _pairs(text: str | None) -> tuple[tuple[str, str], ...] | None:
    if not text:
        return None
    return tuple((str(k), str(v)) for k, v in json.loads(text))


class CaptureStore(ArchiveBase):
    """Reading captures back in fetch order, and the helpers a WARC import needs."""

    def captures(self, *, site: str | None = None, since: str | None = None) -> Iterator[Capture]:
        """Every successful fetch of an archived article, oldest first (the order they were
        made, so an import replays the history in the same order)."""
        where, args = ["f.raw_sha256 IS NOT NULL", "f.error IS NULL"], []
        if site:
            where.append("(a.site = ? OR a.site_name = ?)")
            args += [site, site]
        if since:
            where.append("a.published >= ?")
            args.append(since)
        sql = (
            "SELECT f.id, f.article_id, f.url, f.final_url, f.time, f.status, f.raw_sha256, "
            "f.encoding, f.http_version, f.reason, f.headers, f.request_headers "
            "FROM fetches f JOIN articles a ON a.id = f.article_id "
            f"WHERE {' AND '.join(where)} ORDER BY f.id"
        )
        for r in self.db.execute(sql, args):  # streamed: an archive may hold millions
            yield Capture(
                fetch_id=int(r[0]),
                article_id=int(r[1]),
                url=r[2],
                final_url=r[3] or r[2],
                time=r[4],
                status=r[5],
                raw_sha256=r[6],
                encoding=r[7],
                http_version=r[8],
                reason=r[9],
                headers=_pairs(r[10]),
                request_headers=_pairs(r[11]),
            )

    def version_fields(self, article_id: int, raw_sha256: str) -> dict[str, Any] | None:
        """The fields of an earlier version of an article that came from these raw bytes."""
        rows = list(
            self.db.table("versions").rows_where(
                "article_id = ? AND raw_sha256 = ?",
                [article_id, raw_sha256],
                order_by="id DESC",
                limit=1,
                select="title, published, source, author, editor, body",
            )
        )
        return rows[0] if rows else None

    def has_capture(self, url: str, time: str, raw_sha256: str) -> bool:
        """True when this exact capture (URL asked for, time, bytes) is archived: importing the
        same WARC twice, or resuming an interrupted import, adds nothing."""
        row = self.db.execute(  # by url alone: indexed, so an import stays linear
            "SELECT 1 FROM fetches WHERE url = ? AND time = ? AND raw_sha256 = ? LIMIT 1",
            [url, time, raw_sha256],
        ).fetchone()
        return row is not None

    def last_seen_of(self, canonical_url: str) -> str | None:
        """When the article at this canonical URL was last captured (None if unknown)."""
        row = self.db.execute(
            "SELECT last_seen FROM articles WHERE canonical_url = ?", [canonical_url]
        ).fetchone()
        return str(row[0]) if row else None

    def raw_shas_for_url(self, url: str) -> list[str]:
        """The raw pages fetched from a URL, newest first (to resolve a WARC revisit record
        whose original capture was imported earlier)."""
        rows = self.db.execute(
            "SELECT raw_sha256 FROM fetches WHERE (url = ? OR final_url = ?) "
            "AND raw_sha256 IS NOT NULL GROUP BY raw_sha256 ORDER BY max(id) DESC",
            [url, url],
        ).fetchall()
        return [str(r[0]) for r in rows]

    def batch(self) -> _Tx:
        """One transaction around many saves (each save's own transaction joins it): an
        import of thousands of pages commits, and syncs, once per batch, not once per page."""
        return _Tx(self, self.path)
