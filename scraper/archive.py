"""The archive database: the only module that imports sqlite-utils.

One ``articles`` row per canonical URL, its integer id derived from that URL so it stays stable
across rebuilds and VACUUM; raw page bytes compressed and keyed by sha256 (identical bytes are
stored once) so any record can be re-parsed offline; one ``fetches`` row per attempt, failures
included. Each save is one transaction: a crash leaves the previous state, never half a record.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils

from scraper.errors import ArchiveError
from scraper.models import Article, FetchAttempt, Page, SaveResult, SaveStatus
from scraper.urls import canonicalize, host_of

SCHEMA_VERSION = 2
ARTICLE_FIELDS = Article.field_names()
# Columns compared to decide whether a re-fetched article changed.
_CONTENT_FIELDS = tuple(f for f in ARTICLE_FIELDS if f not in ("url",))
_WS = re.compile(r"\s+")

_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS articles (
    id INTEGER PRIMARY KEY,           -- stable: derived from canonical_url
    url TEXT NOT NULL,                -- the URL last fetched for this article
    canonical_url TEXT NOT NULL UNIQUE,
    site TEXT,                        -- host of canonical_url
    site_name TEXT,
    title TEXT,
    published TEXT,                   -- ISO 8601 at the precision printed, local time
    source TEXT,
    author TEXT,
    editor TEXT,
    original_url TEXT,
    body TEXT NOT NULL DEFAULT '',
    disclaimer TEXT,
    footer TEXT,
    is_article INTEGER NOT NULL DEFAULT 1,
    language TEXT,
    content_hash TEXT NOT NULL,       -- sha256 of the whitespace-free body
    raw_sha256 TEXT REFERENCES raw_pages(sha256),
    encoding TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    last_changed TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_published ON articles(published);
CREATE INDEX IF NOT EXISTS articles_site ON articles(site);
CREATE INDEX IF NOT EXISTS articles_content_hash ON articles(content_hash);
CREATE TABLE IF NOT EXISTS raw_pages (
    sha256 TEXT PRIMARY KEY,          -- of the uncompressed bytes
    size INTEGER NOT NULL,
    compression TEXT NOT NULL DEFAULT 'zlib',
    content BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS fetches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    time TEXT NOT NULL,
    status INTEGER,
    final_url TEXT,
    bytes INTEGER,
    encoding TEXT,
    elapsed REAL,
    error TEXT,
    etag TEXT,
    last_modified TEXT,
    raw_sha256 TEXT REFERENCES raw_pages(sha256),
    article_id INTEGER
);
CREATE INDEX IF NOT EXISTS fetches_url ON fetches(url);
CREATE INDEX IF NOT EXISTS fetches_article ON fetches(article_id);
"""
# Version 2: crawl state (issue 4). The frontier is every URL a crawl knows, with when it is due;
# hosts keeps robots.txt and politeness per host; runs has one row per `archiver crawl`.
_SCHEMA_V2 = """
CREATE TABLE IF NOT EXISTS frontier (
    url TEXT PRIMARY KEY,
    site TEXT NOT NULL,               -- the sites.toml name that found it
    host TEXT NOT NULL,               -- host[:port]: one request at a time per host
    kind TEXT NOT NULL,               -- list, article, sitemap, feed
    depth INTEGER NOT NULL DEFAULT 0, -- list pages: pages after the start URL
    discovered_at TEXT NOT NULL,
    next_fetch_at TEXT NOT NULL,      -- UTC ISO; due when not after now
    last_fetch_at TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    failures INTEGER NOT NULL DEFAULT 0,
    etag TEXT,
    last_modified TEXT,
    lastmod TEXT,                     -- date from a sitemap, feed or list page
    article_id INTEGER,
    next_url TEXT,                    -- list pages: the next page found on it
    error TEXT
);
CREATE INDEX IF NOT EXISTS frontier_host_due ON frontier(host, next_fetch_at);
CREATE INDEX IF NOT EXISTS frontier_due ON frontier(next_fetch_at);
CREATE TABLE IF NOT EXISTS hosts (
    host TEXT PRIMARY KEY,
    robots_txt TEXT,
    robots_status INTEGER,
    robots_fetched_at TEXT,
    next_allowed_at TEXT,
    crawl_delay REAL,
    failures INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL,
    finished TEXT,
    sites TEXT,
    found INTEGER NOT NULL DEFAULT 0,
    new INTEGER NOT NULL DEFAULT 0,
    changed INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    not_modified INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    pages INTEGER NOT NULL DEFAULT 0,
    seconds REAL,
    outcome TEXT,
    exit_code INTEGER,
    pid INTEGER
)
"""
_MIGRATIONS = {1: _SCHEMA_V1, 2: _SCHEMA_V2}


def article_id(canonical_url: str) -> int:
    """A stable positive 63-bit id from the canonical URL."""
    digest = hashlib.sha256(canonical_url.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


def content_hash(body: str) -> str:
    """Fingerprint of the body text, blind to whitespace and line breaks."""
    return hashlib.sha256(_WS.sub("", body).encode("utf-8")).hexdigest()


class Archive:
    """An open archive.db. Create with ``Archive.open(path)``; use as a context manager."""

    def __init__(self, db: sqlite_utils.Database, path: str) -> None:
        self.db = db
        self.path = path

    @classmethod
    def open(cls, path: str | Path) -> Archive:
        """Open (creating and migrating on first use) the archive at ``path``."""
        path = str(path)
        try:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=60.0, isolation_level=None)
            db = sqlite_utils.Database(conn)
            db.execute("PRAGMA busy_timeout = 60000")
            db.execute("PRAGMA foreign_keys = ON")
            if path != ":memory:":
                db.enable_wal()
            archive = cls(db, path)
            archive._migrate()
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"cannot open archive {path}: {exc}") from exc
        except OSError as exc:
            raise ArchiveError(f"cannot open archive {path}: {exc.strerror}") from exc
        return archive

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.conn.close()

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        current = self.schema_version
        if current > SCHEMA_VERSION:
            raise ArchiveError(
                f"{self.path} has schema version {current}; this archiver knows up to "
                f"{SCHEMA_VERSION}: upgrade archiver"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            with self._transaction():
                for statement in _MIGRATIONS[version].split(";\n"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {version}")

    def _transaction(self) -> _Tx:
        return _Tx(self.db.conn)

    # ----------------------------------------------------------------- writing

    def save(self, page: Page, article: Article) -> SaveResult:
        """Store a fetched page and its article in one transaction; report new/updated/unchanged.

        The same canonical URL always maps to the same row, updated in place.
        """
        canonical = canonicalize(article.canonical_url or article.url)
        row = _article_row(article, canonical)
        now = page.fetched_at
        try:
            with self._transaction():
                sha = self._store_raw(page.content)
                existing = self._find_row(canonical)
                if existing is None:
                    new_id = self._free_id(canonical)
                    row.update(
                        id=new_id,
                        raw_sha256=sha,
                        encoding=page.encoding,
                        first_seen=now,
                        last_seen=now,
                        last_changed=now,
                    )
                    self.db.table("articles").insert(row)
                    status = SaveStatus.NEW
                    ident = new_id
                else:
                    ident = int(existing["id"])
                    changed = any(existing[k] != row[k] for k in (*_CONTENT_FIELDS, "url"))
                    row.update(raw_sha256=sha, encoding=page.encoding, last_seen=now)
                    if changed:
                        row["last_changed"] = now
                    self.db.table("articles").update(ident, row)
                    status = SaveStatus.UPDATED if changed else SaveStatus.UNCHANGED
                self._insert_attempts(page.attempts, sha, ident)
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"cannot write to archive {self.path}: {exc}") from exc
        return SaveResult(id=ident, status=status, article=article)

    def record_page(self, page: Page) -> None:
        """Keep a fetched page that is not stored as an article (a list page): raw + fetches."""
        try:
            with self._transaction():
                sha = self._store_raw(page.content)
                self._insert_attempts(page.attempts, sha, None)
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"cannot write to archive {self.path}: {exc}") from exc

    def record_failure(self, attempts: Iterable[FetchAttempt]) -> None:
        """Record failed attempts (with their reasons) in ``fetches``; nothing else changes."""
        try:
            with self._transaction():
                self._insert_attempts(tuple(attempts), None, None)
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"cannot write to archive {self.path}: {exc}") from exc

    def _store_raw(self, content: bytes) -> str | None:
        if not content:
            return None
        sha = hashlib.sha256(content).hexdigest()
        self.db.execute(
            "INSERT OR IGNORE INTO raw_pages (sha256, size, compression, content) "
            "VALUES (?, ?, 'zlib', ?)",
            [sha, len(content), zlib.compress(content, 6)],
        )
        return sha

    def _insert_attempts(
        self, attempts: tuple[FetchAttempt, ...], sha: str | None, ident: int | None
    ) -> None:
        last = len(attempts) - 1
        for i, a in enumerate(attempts):
            ok = i == last and a.error is None
            self.db.table("fetches").insert(
                {
                    "url": a.url,
                    "time": a.time,
                    "status": a.status,
                    "final_url": a.final_url,
                    "bytes": a.bytes,
                    "encoding": a.encoding,
                    "elapsed": a.elapsed,
                    "error": a.error,
                    "etag": a.etag,
                    "last_modified": a.last_modified,
                    "raw_sha256": sha if ok else None,
                    "article_id": ident if ok else None,
                }
            )

    def _find_row(self, canonical: str) -> dict[str, Any] | None:
        rows = list(self.db.table("articles").rows_where("canonical_url = ?", [canonical], limit=1))
        return rows[0] if rows else None

    def _free_id(self, canonical: str) -> int:
        """The URL's stable id, stepped past the (astronomically rare) collision."""
        ident = article_id(canonical)
        while self.db.execute("SELECT 1 FROM articles WHERE id = ?", [ident]).fetchone():
            ident = (ident + 1) & 0x7FFF_FFFF_FFFF_FFFF
        return ident

    # ----------------------------------------------------------------- reading

    def get(self, key: int | str) -> dict[str, Any] | None:
        """An article row by id or by URL (as fetched or canonical)."""
        args: list[Any]
        if isinstance(key, int):
            where, args = "id = ?", [key]
        else:
            canonical = canonicalize(key)
            where, args = "canonical_url = ? OR url = ? OR url = ?", [canonical, key, canonical]
        rows = list(self.db.table("articles").rows_where(where, args, limit=1))
        return rows[0] if rows else None

    def fetches_for(self, article_id: int) -> list[dict[str, Any]]:
        return list(
            self.db.table("fetches").rows_where("article_id = ?", [article_id], order_by="id")
        )

    def raw_page(self, sha256: str) -> bytes | None:
        """The original bytes of a stored page, for re-parsing without the network."""
        row = self.db.execute(
            "SELECT compression, content FROM raw_pages WHERE sha256 = ?", [sha256]
        ).fetchone()
        if row is None:
            return None
        return zlib.decompress(row[1]) if row[0] == "zlib" else bytes(row[1])

    def articles(self) -> Iterator[dict[str, Any]]:
        yield from self.db.table("articles").rows_where(order_by="id")

    def count(self, table: str) -> int:
        return int(self.db.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0])

    # ================================================================ crawl state (issue 4)
    # Used by scraper/crawl.py through its ``CrawlState`` protocol. Every write is one
    # transaction; a crawl wraps a page's save and its frontier update in ``crawl_transaction``
    # so a kill -9 leaves either both or neither.

    def crawl_transaction(self) -> _Tx:
        """One transaction around several writes (the nested ``save`` joins it)."""
        return self._transaction()

    def frontier_add(self, urls: Iterable[NewUrl], now: str) -> list[str]:
        """Insert URLs not yet known (due now); return those that were new.

        A known URL becomes due again when its date (a sitemap lastmod) is newer than the one
        stored, or when ``due`` is set (a start URL, a feed, a page of a list being followed).
        """
        added: list[str] = []
        with self._write():
            for u in urls:
                row = self.db.execute(
                    "SELECT lastmod, next_fetch_at FROM frontier WHERE url = ?", [u.url]
                ).fetchone()
                if row is None:
                    self.db.execute(
                        "INSERT INTO frontier (url, site, host, kind, depth, discovered_at, "
                        "next_fetch_at, lastmod) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [u.url, u.site, host_key(u.url), u.kind, u.depth, now, now, u.lastmod],
                    )
                    added.append(u.url)
                    continue
                newer = bool(u.lastmod and (row[0] is None or u.lastmod > row[0]))
                if newer or (u.due and row[1] > now):
                    self.db.execute(
                        "UPDATE frontier SET next_fetch_at = ?, lastmod = coalesce(?, lastmod), "
                        "depth = min(depth, ?) WHERE url = ?",
                        [now, u.lastmod, u.depth, u.url],
                    )
        return added

    def frontier_next(
        self,
        host: str,
        sites: Sequence[str],
        now: str,
        since: str | None = None,
        fetched_before: str | None = None,
    ) -> FrontierItem | None:
        """The next URL due on ``host`` for these sites: lists, sitemaps and feeds first.

        With ``since``, articles whose known date is older are left for another run; with
        ``fetched_before`` (the run's start), URLs this run already fetched are skipped.
        """
        marks = ",".join("?" * len(sites))
        args: list[Any] = [host, now, *sites]
        where = ""
        if fetched_before:
            where = "AND (last_fetch_at IS NULL OR last_fetch_at < ?) "
            args.append(fetched_before)
        if since:
            where += (
                "AND NOT (kind = 'article' AND lastmod IS NOT NULL AND substr(lastmod, 1, 10) < ?)"
            )
            args.append(since[:10])
        cur = self.db.execute(
            f"SELECT url, site, host, kind, depth, status, failures, etag, last_modified, lastmod, "
            "next_url "
            f"FROM frontier WHERE host = ? AND next_fetch_at <= ? AND site IN ({marks}) {where}"
            f"ORDER BY kind = 'article', depth, next_fetch_at, rowid LIMIT 1",
            args,
        )
        row = cur.fetchone()
        return FrontierItem(*row) if row else None

    def frontier_hosts_due(self, sites: Sequence[str], now: str) -> list[str]:
        marks = ",".join("?" * len(sites))
        rows = self.db.execute(
            f"SELECT DISTINCT host FROM frontier WHERE next_fetch_at <= ? AND site IN ({marks})",
            [now, *sites],
        ).fetchall()
        return [r[0] for r in rows]

    def frontier_get(self, url: str) -> FrontierItem | None:
        row = self.db.execute(
            "SELECT url, site, host, kind, depth, status, failures, etag, last_modified, lastmod, "
            "next_url "
            "FROM frontier WHERE url = ?",
            [url],
        ).fetchone()
        return FrontierItem(*row) if row else None

    def frontier_done(self, url: str, visit: Visit) -> None:
        """Record what fetching ``url`` came to and when it is due again."""
        with self._write():
            failures = "failures + 1" if visit.failed else "0"
            self.db.execute(
                f"UPDATE frontier SET status = ?, last_fetch_at = ?, next_fetch_at = ?, "
                f"failures = {failures}, etag = coalesce(?, etag), "
                f"last_modified = coalesce(?, last_modified), "
                f"article_id = coalesce(?, article_id), next_url = coalesce(?, next_url), "
                f"error = ? WHERE url = ?",
                [
                    visit.status,
                    visit.time,
                    visit.next_fetch_at,
                    visit.etag,
                    visit.last_modified,
                    visit.article_id,
                    visit.next_url,
                    visit.error,
                    url,
                ],
            )

    def not_modified(self, page: Page) -> int | None:
        """A 304 for a stored article: only ``last_seen`` and a ``fetches`` row change."""
        with self._write():
            row = self.db.execute(
                "SELECT id FROM articles WHERE url = ? OR canonical_url = ? LIMIT 1",
                [page.url, canonicalize(page.url)],
            ).fetchone()
            ident = int(row[0]) if row else None
            if ident is not None:
                self.db.execute(
                    "UPDATE articles SET last_seen = ? WHERE id = ?", [page.fetched_at, ident]
                )
            self._insert_attempts(page.attempts, None, ident)
        return ident

    def host_state(self, host: str) -> HostState | None:
        row = self.db.execute(
            "SELECT host, robots_txt, robots_status, robots_fetched_at, next_allowed_at, "
            "crawl_delay, failures FROM hosts WHERE host = ?",
            [host],
        ).fetchone()
        return HostState(*row) if row else None

    def host_save(self, state: HostState) -> None:
        with self._write():
            self.db.execute(
                "INSERT OR REPLACE INTO hosts (host, robots_txt, robots_status, robots_fetched_at, "
                "next_allowed_at, crawl_delay, failures) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    state.host,
                    state.robots_txt,
                    state.robots_status,
                    state.robots_fetched_at,
                    state.next_allowed_at,
                    state.crawl_delay,
                    state.failures,
                ],
            )

    def run_start(self, started: str, sites: Sequence[str], pid: int) -> int:
        with self._write():
            cur = self.db.execute(
                "INSERT INTO runs (started, sites, pid) VALUES (?, ?, ?)",
                [started, " ".join(sites), pid],
            )
        return int(cur.lastrowid or 0)

    def run_update(self, run_id: int, figures: dict[str, Any]) -> None:
        """Store a run's figures: the counts, ``finished``, ``outcome``, ``exit_code``."""
        allowed = {
            "finished", "found", "new", "changed", "unchanged", "not_modified", "failed",
            "pages", "seconds", "outcome", "exit_code",
        }  # fmt: skip
        cols = [k for k in figures if k in allowed]
        if not cols:
            return
        with self._write():
            self.db.execute(
                f"UPDATE runs SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?",
                [*(figures[c] for c in cols), run_id],
            )

    def latest_run(self) -> int | None:
        row = self.db.execute("SELECT max(id) FROM runs").fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def _write(self) -> _Tx:
        """A transaction whose sqlite errors surface as ArchiveError."""
        return _Tx(self.db.conn, self.path)


def host_key(url: str) -> str:
    """``host[:port]`` of a URL: the unit of politeness (one request at a time)."""
    return urlsplit(canonicalize(url)).netloc


def _article_row(article: Article, canonical: str) -> dict[str, Any]:
    row: dict[str, Any] = {name: getattr(article, name) for name in ARTICLE_FIELDS}
    row["canonical_url"] = canonical
    row["is_article"] = int(article.is_article)
    row["site"] = host_of(canonical) or None
    row["content_hash"] = content_hash(article.body)
    return row


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (the connection is autocommit).

    Given ``path``, a sqlite error inside comes out as an ArchiveError naming the archive.
    """

    def __init__(self, conn: sqlite3.Connection, path: str | None = None) -> None:
        self.conn = conn
        self.path = path

    def __enter__(self) -> None:
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")
            self._owner = True
        else:
            self._owner = False

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if not self._owner:
            return
        if exc_type is None:
            self.conn.execute("COMMIT")
        elif self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        if self.path is not None and isinstance(exc[0], sqlite3.DatabaseError):
            raise ArchiveError(f"cannot write to archive {self.path}: {exc[0]}") from exc[0]


# ==================================================================== crawl records (issue 4)


@dataclass(frozen=True)
class NewUrl:
    """A URL a crawl found. ``due`` makes a known URL due now (start URLs, feeds, next pages)."""

    url: str
    site: str
    kind: str  # list, article, sitemap, feed
    depth: int = 0
    lastmod: str | None = None
    due: bool = False


@dataclass(frozen=True)
class FrontierItem:
    """A frontier row as the crawl sees it."""

    url: str
    site: str
    host: str
    kind: str
    depth: int
    status: str
    failures: int
    etag: str | None
    last_modified: str | None
    lastmod: str | None
    next_url: str | None = None


@dataclass(frozen=True)
class Visit:
    """What fetching a frontier URL came to, and when it is due again."""

    status: str  # ok, not_modified, not_article, failed, disallowed
    time: str
    next_fetch_at: str
    failed: bool = False
    etag: str | None = None
    last_modified: str | None = None
    article_id: int | None = None
    error: str | None = None
    next_url: str | None = None


@dataclass(frozen=True)
class HostState:
    """A host's robots.txt and politeness state, kept across runs."""

    host: str
    robots_txt: str | None = None
    robots_status: int | None = None
    robots_fetched_at: str | None = None
    next_allowed_at: str | None = None
    crawl_delay: float | None = None
    failures: int = 0
