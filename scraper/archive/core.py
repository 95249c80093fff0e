"""Articles in the archive: opening and migrating, saving pages and records, reading them.

One ``articles`` row per canonical URL, its integer id derived from that URL so it stays stable
across rebuilds and VACUUM; raw page bytes compressed and keyed by sha256 (identical bytes are
stored once) so any record can be re-parsed offline; one ``fetches`` row per attempt, failures
included. Each save is one transaction: a crash leaves the previous state, never half a record.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import sqlite_utils

from scraper.archive import dedup
from scraper.archive.prepare import Prepared
from scraper.errors import ArchiveError
from scraper.models import Article, FetchAttempt, Page, SaveResult, SaveStatus
from scraper.pages import page_from_bytes
from scraper.urls import canonicalize, host_of

from .base import SQLITE_INT_MAX, busy_timeout, is_busy, site_since
from .captures import CaptureStore
from .crawlstate import CrawlStateStore
from .schema import MIGRATIONS, SCHEMA_VERSION
from .search import SearchStore
from .works import FACTS_VERSION as _FACTS_VERSION
from .works import HistoryStore, WorksStore

ARTICLE_FIELDS = Article.field_names()
# Columns compared to decide whether a re-fetched article changed.
_CONTENT_FIELDS = tuple(f for f in ARTICLE_FIELDS if f not in ("url",))


def _cache_mb() -> int:
    value = os.environ.get("ARCHIVER_CACHE_MB", "512")
    if not value.isdecimal() or int(value) < 1:
        raise ArchiveError(f"ARCHIVER_CACHE_MB must be a whole number of megabytes, not {value!r}")
    return int(value)


def _connect_readonly(path: str, timeout: float) -> sqlite3.Connection:
    """A connection that cannot write to the archive at ``path`` (which must exist).

    ``mode=ro`` still needs the WAL index (``-shm``) beside the file; where the directory is
    read-only (read-only media) and there is none, SQLite cannot make it, and the file is
    opened ``immutable=1``: read as it is, without locks (nothing can be writing to it there).
    """
    if not Path(path).is_file():
        raise ArchiveError(f"no archive at {path}")
    uri = Path(path).resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", timeout=timeout, isolation_level=None, uri=True)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        conn.close()
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code not in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY):
            raise
    return sqlite3.connect(f"{uri}?immutable=1", timeout=timeout, isolation_level=None, uri=True)


def _not_an_archive(path: str) -> ArchiveError:
    return ArchiveError(f"{path} is not an archive (a SQLite file of something else); left as is")


def _enable_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Switch a new archive to WAL mode; several processes may be opening it at once.

    Changing the journal mode needs the file to itself, and SQLite does not always wait for
    it through the busy handler: a busy or locked answer is retried until the busy timeout.
    """
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            conn.execute("PRAGMA journal_mode = WAL").fetchone()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)


def article_id(canonical_url: str) -> int:
    """A stable positive 63-bit id from the canonical URL."""
    digest = hashlib.sha256(canonical_url.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


def content_hash(body: str) -> str:
    """Fingerprint of the normalized body: one body under two URLs is one work."""
    return dedup.fingerprint(body)


class Archive(CrawlStateStore, WorksStore, HistoryStore, SearchStore, CaptureStore):
    """An open archive.db. Create with ``Archive.open(path)``; use as a context manager."""

    @classmethod
    def open(cls, path: str | Path, *, readonly: bool = False) -> Archive:
        """Open (creating and migrating on first use) the archive at ``path``.

        Several processes may open one new archive at once: the schema is read and written
        under the write lock, so exactly one of them creates it. A SQLite file that holds
        other tables and no archive is refused, never given the archive's schema.

        ``readonly`` (the read commands): the file is opened read-only (``mode=ro``; on a
        read-only directory, where SQLite cannot make the WAL index, ``immutable=1``), never
        migrated and never changed; an archive of an older schema is refused with a message
        saying a write command upgrades it.
        """
        path = str(path)
        cache_mb = _cache_mb()
        timeout = busy_timeout()
        try:
            if readonly:
                conn = _connect_readonly(path, timeout)
            else:
                if path != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
            db = sqlite_utils.Database(conn)
            db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            db.execute("PRAGMA foreign_keys = ON")
            # Band keys and hash ids land in random places of their indexes: a cache that holds
            # them spares rewriting the same pages on every save (SQLite's default is 2 MB).
            # At most 512 MB, used as needed; ARCHIVER_CACHE_MB for archives of millions.
            db.execute(f"PRAGMA cache_size = -{cache_mb * 1024}")
            archive = cls(db, path)
            try:
                archive._check_is_archive(readonly)
                if readonly:
                    archive._check_readable_schema()
                    return archive
                if path != ":memory:":
                    _enable_wal(conn, timeout)
                    # In WAL mode NORMAL still survives kill -9 at any moment; only a power cut
                    # can lose the last commits. It spares an fsync per saved page.
                    db.execute("PRAGMA synchronous = NORMAL")
                archive._migrate()
            except BaseException:
                conn.close()
                raise
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"cannot open archive {path}: {exc}") from exc
        except OSError as exc:
            raise ArchiveError(f"cannot open archive {path}: {exc.strerror or exc}") from exc
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

    def _check_is_archive(self, readonly: bool) -> None:
        """Refuse a SQLite file that is not an archive (before anything is written to it).

        An archive has ``user_version`` 1 or more and an ``articles`` table; a new archive is an
        empty file (no tables at all). Anything else is someone else's database.
        """
        # One statement, so one snapshot: read apart, another process's migration could commit
        # between the version (0) and the tables (all of them), a new archive taken for a stranger.
        rows = self.db.execute(
            "SELECT (SELECT user_version FROM pragma_user_version), name FROM sqlite_master "
            "WHERE type = 'table' UNION ALL SELECT user_version, NULL FROM pragma_user_version"
        ).fetchall()
        version = int(rows[0][0])
        tables = {str(name) for _, name in rows if name is not None}
        if version >= 1 and "articles" in tables:
            return
        if version == 0 and not tables and not readonly:
            return  # a new archive: _migrate creates it
        raise _not_an_archive(self.path)

    def _check_readable_schema(self) -> None:
        current = self.schema_version
        if current > SCHEMA_VERSION:
            raise ArchiveError(
                f"{self.path} has schema version {current}; this archiver knows up to "
                f"{SCHEMA_VERSION}: upgrade archiver"
            )
        if current < SCHEMA_VERSION:
            raise ArchiveError(
                f"archive {self.path} has schema {current}; run a write command (archiver "
                f"fetch, crawl or reparse) to upgrade it to {SCHEMA_VERSION}"
            )

    def _migrate(self) -> None:
        """Bring the schema up to date in one transaction taken with the write lock.

        The version is read after the lock is held, so of several processes opening one new
        (or old) archive at once exactly one migrates and the others find it done.
        """
        if self.schema_version == SCHEMA_VERSION:  # the common case: nothing to lock for
            return
        with self._transaction():
            current = self.schema_version  # again, now that no one else can write
            if current > SCHEMA_VERSION:
                raise ArchiveError(
                    f"{self.path} has schema version {current}; this archiver knows up to "
                    f"{SCHEMA_VERSION}: upgrade archiver"
                )
            tables = self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if current == 0 and tables:
                raise _not_an_archive(self.path)
            for version in range(current + 1, SCHEMA_VERSION + 1):
                self._work_facts = version > _FACTS_VERSION
                for statement in MIGRATIONS[version].split(";\n"):
                    if statement.strip():
                        self.db.execute(statement)
                if version == 3:
                    self._backfill_works_and_search()
                if version == _FACTS_VERSION:
                    self._work_facts = True
                    self._backfill_work_state()
                self.db.execute(f"PRAGMA user_version = {version}")

    def _backfill_works_and_search(self) -> None:
        """Schema 3 on an archive that has articles: fingerprint, group and index them all."""
        rows = list(self.db.table("articles").rows_where(order_by="first_seen, id"))
        for row in rows:
            fp = dedup.fingerprint(row["body"] or "")
            self.db.execute("UPDATE articles SET content_hash = ? WHERE id = ?", [fp, row["id"]])
            self._fts_put(int(row["id"]), row["title"], row["body"] or "", None)
            self._group(
                int(row["id"]),
                row["body"] or "",
                fp,
                None,
                row["last_seen"],
                named=(row["title"], row["published"]),
            )

    # ----------------------------------------------------------------- writing

    def save(self, page: Page, article: Article, prepared: Prepared | None = None) -> SaveResult:
        """Store a fetched page and its article in one transaction; report new/updated/unchanged.

        The same canonical URL always maps to the same row, updated in place. ``prepared`` is
        what the caller already derived from the two (``prepare.prepare(page, article)``, or
        a part of it); the rest is computed here.
        """
        canonical = canonicalize(article.canonical_url or article.url)
        if prepared is None:
            prepared = Prepared(dedup.digest(article.body))
        fingerprint, signature = prepared.digest
        row = _article_row(article, canonical, fingerprint)
        now = page.fetched_at
        try:
            with self._transaction():
                sha = self._store_raw(page.content, prepared.raw)
                existing = self._find_row(canonical)
                ident = int(existing["id"]) if existing else self._free_id(canonical)
                # The work is found before the row is written, so work_id and signature go in
                # with it: updating them afterwards rewrites the whole row, body included.
                touched = self._place_in_work(ident, row, existing, signature, now)
                if existing is None:
                    row.update(
                        id=ident,
                        raw_sha256=sha,
                        encoding=page.encoding,
                        first_seen=now,
                        last_seen=now,
                        last_changed=now,
                    )
                    self._write_row("INSERT INTO articles", row)
                    status = SaveStatus.NEW
                else:
                    changed = any(existing[k] != row[k] for k in (*_CONTENT_FIELDS, "url"))
                    if existing["title"] != row["title"] or existing["body"] != row["body"]:
                        self._keep_version(existing, now)
                    row.update(raw_sha256=sha, encoding=page.encoding, last_seen=now)
                    if changed:
                        row["last_changed"] = now
                    self._write_row("UPDATE articles", row, ident)
                    status = SaveStatus.UPDATED if changed else SaveStatus.UNCHANGED
                if existing is None or any(existing[k] != row[k] for k in ("title", "body")):
                    index = (prepared.title_index, prepared.body_index)
                    self._fts_put(ident, row["title"], row["body"], existing, index)
                for work, joined in touched:
                    self._refresh_work(work, now, joined)
                self._insert_attempts(page.attempts, sha, ident, page)
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"cannot write to archive {self.path}: {exc}") from exc
        return SaveResult(id=ident, status=status, article=article)

    def _write_row(self, verb: str, row: dict[str, Any], ident: int | None = None) -> None:
        """INSERT or UPDATE an articles row; column names come from our own dict keys."""
        cols = list(row)
        if ident is None:
            sql = f"{verb} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            self.db.execute(sql, [row[c] for c in cols])
        else:
            sql = f"{verb} SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?"
            self.db.execute(sql, [*(row[c] for c in cols), ident])

    def _place_in_work(
        self,
        ident: int,
        row: dict[str, Any],
        old: dict[str, Any] | None,
        signature: dedup.Signature,
        now: str,
    ) -> list[tuple[int, int | None]]:
        """Set ``row``'s work (and signature) before it is written; return the works to refresh,
        each with the article when all that changed is that it joined the work.

        Grouping runs again only when the body's fingerprint changed (or it never ran).
        """
        old_work = old["work_id"] if old is not None else None
        if old is not None and old_work is not None and old["content_hash"] == row["content_hash"]:
            row["work_id"] = old_work
            fields = ("published", "source", "original_url", "title", "site_name")
            return [(int(old_work), None)] if any(old[k] != row[k] for k in fields) else []
        old_signature = old["signature"] if old is not None else None
        work, created = self._assign_work(
            ident,
            row["body"],
            row["content_hash"],
            old_work,
            now,
            signature,
            old_signature,
            (row["title"], row["published"]),
        )
        row["work_id"] = work
        row["signature"] = dedup.signature_to_bytes(signature)
        if old_work is not None and old_work != work:
            return [(int(old_work), None)] if created else [(int(old_work), None), (work, ident)]
        if created:
            return []
        return [(work, ident if old_work is None else None)]

    def reparse(self, ident: int, parse: Callable[[Page], Article]) -> SaveResult:
        """Parse a stored record's raw page again and save the result like a fresh fetch.

        The record keeps its canonical URL (so it stays one row) and its ``last_seen``: the
        change is dated to the capture it comes from. Changed text keeps a version.
        """
        row = self.get(ident)
        if row is None:
            raise ArchiveError(f"no article {ident} in {self.path}")
        page = self._stored_page(
            row["url"], row["url"], row["raw_sha256"], row["encoding"], row["last_seen"]
        )
        article = replace(parse(page), canonical_url=row["canonical_url"])
        return self.save(page, article)

    def _stored_page(
        self, url: str, final_url: str, sha: str | None, encoding: str | None, when: str
    ) -> Page:
        """A page rebuilt from its stored raw bytes, decoded as it was when fetched."""
        data = self.raw_page(sha) if sha else None
        if data is None:
            raise ArchiveError("no stored raw page", url=url)
        hint = f"text/html; charset={encoding}" if encoding else None
        # decoded anew (the hint first): a reparse may meet a better decoder; no fetch row
        return page_from_bytes(
            url, data, final_url=final_url, fetched_at=when, content_type=hint, attempts=()
        )

    def rejected_pages(self) -> list[int]:
        """Fetches of pages that were kept only as raw bytes, not as articles, and may be
        articles: the last good fetch of each URL that no article came from, other than the
        crawl's list pages, sitemaps and feeds. ``reconsider`` parses one again."""
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

    def reconsider(self, fetch_id: int, parse: Callable[[Page], Article]) -> SaveResult | None:
        """Parse a page kept only as raw bytes again; save it if it is now kept as an article.

        The fetch (and the crawl's frontier row, if any) then points to the article, so the
        page is not reconsidered twice. Returns None when the parser still rejects it.
        """
        row = self.db.execute(
            "SELECT url, final_url, raw_sha256, encoding, time FROM fetches WHERE id = ?",
            [fetch_id],
        ).fetchone()
        if row is None:
            raise ArchiveError(f"no fetch {fetch_id} in {self.path}")
        url, final_url, sha, encoding, when = row
        page = self._stored_page(url, final_url or url, sha, encoding, when)
        article = parse(page)
        if not article.kept:
            return None
        result = self.save(page, article)
        try:
            with self._transaction():
                self.db.execute(
                    "UPDATE fetches SET article_id = ? WHERE id = ?", [result.id, fetch_id]
                )
                self.db.execute(
                    "UPDATE frontier SET article_id = ?, status = 'ok', error = NULL "
                    "WHERE url = ? AND status = 'not_article'",
                    [result.id, url],
                )
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"cannot write to archive {self.path}: {exc}") from exc
        return result

    def record_page(self, page: Page) -> None:
        """Keep a fetched page that is not stored as an article (a list page): raw + fetches."""
        try:
            with self._transaction():
                sha = self._store_raw(page.content)
                self._insert_attempts(page.attempts, sha, None, page)
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"cannot write to archive {self.path}: {exc}") from exc

    def record_failure(self, attempts: Iterable[FetchAttempt]) -> None:
        """Record failed attempts (with their reasons) in ``fetches``; nothing else changes."""
        try:
            with self._transaction():
                self._insert_attempts(tuple(attempts), None, None)
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"cannot write to archive {self.path}: {exc}") from exc

    def _find_row(self, canonical: str) -> dict[str, Any] | None:
        cur = self.db.execute("SELECT * FROM articles WHERE canonical_url = ?", [canonical])
        row = cur.fetchone()
        return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None

    def _free_id(self, canonical: str) -> int:
        """The URL's stable id, stepped past the (astronomically rare) collision."""
        ident = article_id(canonical)
        while self.db.execute("SELECT 1 FROM articles WHERE id = ?", [ident]).fetchone():
            ident = (ident + 1) & 0x7FFF_FFFF_FFFF_FFFF
        return ident

    # ----------------------------------------------------------------- reading

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

    def articles(
        self, *, site: str | None = None, since: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Article rows in id order, optionally of one site (host or name) or published since."""
        where, args = site_since(site, since)
        yield from self.db.table("articles").rows_where(
            " AND ".join(["1", *where]), args, order_by="id", select=self._public_columns()
        )

    def count(self, table: str) -> int:
        if table not in self.db.table_names():  # a name, never SQL: checked, then quoted
            raise ValueError(f"no table {table!r} in the archive")
        return int(self.db.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0])

    def stats(self) -> dict[str, Any]:
        """The archive's figures, for ``archiver stats``."""

        def one(sql: str) -> Any:
            return self.db.execute(sql).fetchone()[0]

        return {
            "articles": one("SELECT count(*) FROM articles"),
            "sites": one("SELECT count(DISTINCT site) FROM articles"),
            "works": one("SELECT count(*) FROM works"),
            "republished works": one("SELECT count(*) FROM works WHERE copies > 1"),
            "versions kept": one("SELECT count(*) FROM versions"),
            "fetches": one("SELECT count(*) FROM fetches"),
            "failed fetches": one("SELECT count(*) FROM fetches WHERE error IS NOT NULL"),
            "raw pages": one("SELECT count(*) FROM raw_pages"),
            "raw bytes": one("SELECT coalesce(sum(size), 0) FROM raw_pages"),
            "stored raw bytes": one("SELECT coalesce(sum(length(content)), 0) FROM raw_pages"),
            "crawl runs": one("SELECT count(*) FROM runs"),
            "last run": one("SELECT max(started) FROM runs"),
            "newest article": one("SELECT max(published) FROM articles"),
            "schema version": self.schema_version,
            "file bytes": Path(self.path).stat().st_size if self.path != ":memory:" else 0,
        }


def _article_row(article: Article, canonical: str, fingerprint: str) -> dict[str, Any]:
    row: dict[str, Any] = {name: getattr(article, name) for name in ARTICLE_FIELDS}
    row["canonical_url"] = canonical
    row["is_article"] = int(article.is_article)
    row["site"] = host_of(canonical) or None
    row["content_hash"] = fingerprint
    return row
