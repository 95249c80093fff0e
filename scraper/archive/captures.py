"""Raw pages and fetches: what was fetched, when, and the bytes that came back.

Raw page bytes are compressed and keyed by sha256 (identical bytes are stored once) so any
record can be re-parsed offline; there is one ``fetches`` row per attempt, failures included.

A capture, read back for web-archive (WARC) export and import, is a ``fetches`` row with raw
bytes and an article; its raw page is the decoded body (Content-Encoding already undone by the
fetcher), so the exporter, not this module, decides what to say about the headers.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from scraper.archive.prepare import RAW_COMPRESSION
from scraper.models import FetchAttempt, Page

from .db import Database


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
    attachment: bool = False  # a file the article attaches, not the article's page


def _pairs(text: str | None) -> tuple[tuple[str, str], ...] | None:
    if not text:
        return None
    return tuple((str(k), str(v)) for k, v in json.loads(text))


# The columns of a ``fetches`` row, in the order written. One statement built once, not
# sqlite-utils' insert (50 us a row more): the crawl's one writer writes one or more a page.
_FETCH_COLUMNS = (
    "url", "time", "status", "final_url", "bytes", "encoding", "elapsed", "error", "etag",
    "last_modified", "raw_sha256", "article_id", "http_version", "reason", "headers",
    "request_headers",
)  # fmt: skip
_INSERT_FETCH = (
    f"INSERT INTO fetches ({', '.join(_FETCH_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_FETCH_COLUMNS))})"
)


class Captures:
    """Storing raw pages and fetches, and reading them back (captures, for WARC files)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def store_raw(
        self,
        content: bytes | None,
        packed: tuple[str, bytes] | None = None,
        *,
        compress: bool = True,
    ) -> str | None:
        """Keep page (or file) bytes once, by sha256; bytes already stored are not compressed
        again. ``packed`` is ``prepare.pack_raw(content)`` when the caller has it already;
        ``compress`` False keeps bytes that are compressed already as they are."""
        if not content:
            return None
        sha = packed[0] if packed is not None else hashlib.sha256(content).hexdigest()
        if self.db.execute("SELECT 1 FROM raw_pages WHERE sha256 = ?", [sha]).fetchone():
            return sha
        if packed is not None or compress:
            blob = packed[1] if packed is not None else zlib.compress(content, RAW_COMPRESSION)
            method = "zlib"
        else:
            blob, method = content, "none"
        self.db.execute(
            "INSERT OR IGNORE INTO raw_pages (sha256, size, compression, content) "
            "VALUES (?, ?, ?, ?)",
            [sha, len(content), method, blob],
        )
        return sha

    def record(
        self,
        attempts: tuple[FetchAttempt, ...],
        sha: str | None,
        ident: int | None,
        page: Page | None = None,
    ) -> int | None:
        """One ``fetches`` row per attempt; the successful last one carries the page's
        headers (as JSON) and links to its raw bytes and article. The last row's id (the
        evidence a withdrawal names), None for no attempts."""
        last = len(attempts) - 1
        rowid: int | None = None
        for i, a in enumerate(attempts):
            ok = i == last and a.error is None
            wire: tuple[str | None, ...] = (None, None, None, None)
            if ok and page is not None and page.headers:
                wire = (
                    page.http_version,
                    page.reason,
                    json.dumps([list(h) for h in page.headers], ensure_ascii=False),
                    json.dumps([list(h) for h in page.request_headers], ensure_ascii=False),
                )
            rowid = self.db.execute(
                _INSERT_FETCH,
                [
                    a.url, a.time, a.status, a.final_url, a.bytes, a.encoding, a.elapsed,
                    a.error, a.etag, a.last_modified, sha if ok else None,
                    ident if ok else None, *wire,
                ],
            ).lastrowid  # fmt: skip
        return rowid

    def raw_page(self, sha256: str) -> bytes | None:
        """The original bytes of a stored page, for re-parsing without the network."""
        row = self.db.execute(
            "SELECT compression, content FROM raw_pages WHERE sha256 = ?", [sha256]
        ).fetchone()
        if row is None:
            return None
        return zlib.decompress(row[1]) if row[0] == "zlib" else bytes(row[1])

    def fetches_for(self, article_id: int) -> list[dict[str, Any]]:
        return list(
            self.db.table("fetches").rows_where("article_id = ?", [article_id], order_by="id")
        )

    def fetch(self, fetch_id: int) -> tuple[str, str | None, str | None, str | None, str] | None:
        """A fetch's (url, final_url, raw_sha256, encoding, time)."""
        row = self.db.execute(
            "SELECT url, final_url, raw_sha256, encoding, time FROM fetches WHERE id = ?",
            [fetch_id],
        ).fetchone()
        return (row[0], row[1], row[2], row[3], row[4]) if row else None

    def link(self, fetch_id: int, article_id: int) -> None:
        """Point a fetch at the article it now is (a page kept only as raw bytes, reparsed)."""
        self.db.execute("UPDATE fetches SET article_id = ? WHERE id = ?", [article_id, fetch_id])

    def rejected(self) -> list[int]:
        """Fetches of pages that were kept only as raw bytes, not as articles, and may be
        articles: the last good fetch of each URL that no article came from, other than the
        crawl's list pages, sitemaps and feeds."""
        sql = """
        SELECT f.id FROM fetches f
        WHERE f.raw_sha256 IS NOT NULL AND f.article_id IS NULL AND f.error IS NULL
          AND f.status BETWEEN 200 AND 299
          AND f.id = (SELECT max(g.id) FROM fetches g
                      WHERE g.url = f.url AND g.raw_sha256 IS NOT NULL)
          AND NOT EXISTS (SELECT 1 FROM fetches g WHERE g.url = f.url
                          AND g.article_id IS NOT NULL)
          AND NOT EXISTS (SELECT 1 FROM frontier r WHERE r.url = f.url
                          AND r.kind != 'article')
          AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.canonical_url = f.url)
        ORDER BY f.id
        """
        return [int(r[0]) for r in self.db.execute(sql).fetchall()]

    def captures(self, *, site: str | None = None, since: str | None = None) -> Iterator[Capture]:
        """Every successful fetch of an archived article, and of the files it attaches, oldest
        first (the order they were made, so an import replays the history in the same order:
        an article's page before its attachments)."""
        where, args = ["f.raw_sha256 IS NOT NULL", "f.error IS NULL"], []
        if site:
            where.append("(a.site = ? OR a.site_name = ?)")
            args += [site, site]
        if since:
            where.append("a.published >= ?")
            args.append(since)
        # an attachment's fetch has no article of its own: it goes with the first that links it
        sql = (
            "WITH linked(fetch_id, article_id, attachment) AS ("
            " SELECT id, article_id, 0 FROM fetches WHERE article_id IS NOT NULL"
            " UNION ALL"
            " SELECT f.id, min(t.article_id), 1 FROM fetches f"
            " JOIN attachments t ON t.url = f.url AND t.sha256 = f.raw_sha256"
            " WHERE f.article_id IS NULL GROUP BY f.id) "
            "SELECT f.id, l.article_id, f.url, f.final_url, f.time, f.status, f.raw_sha256, "
            "f.encoding, f.http_version, f.reason, f.headers, f.request_headers, l.attachment "
            "FROM linked l JOIN fetches f ON f.id = l.fetch_id "
            "JOIN articles a ON a.id = l.article_id "
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
                attachment=bool(r[12]),
            )

    def has_capture(self, url: str, time: str, raw_sha256: str) -> bool:
        """True when this exact capture (URL asked for, time, bytes) is archived: importing the
        same WARC twice, or resuming an interrupted import, adds nothing."""
        row = self.db.execute(  # by url alone: indexed, so an import stays linear
            "SELECT 1 FROM fetches WHERE url = ? AND time = ? AND raw_sha256 = ? LIMIT 1",
            [url, time, raw_sha256],
        ).fetchone()
        return row is not None

    def raw_shas_for_url(self, url: str) -> list[str]:
        """The raw pages fetched from a URL, newest first (to resolve a WARC revisit record
        whose original capture was imported earlier)."""
        rows = self.db.execute(
            "SELECT raw_sha256 FROM fetches WHERE (url = ? OR final_url = ?) "
            "AND raw_sha256 IS NOT NULL GROUP BY raw_sha256 ORDER BY max(id) DESC",
            [url, url],
        ).fetchall()
        return [str(r[0]) for r in rows]
