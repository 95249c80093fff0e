"""Articles in the archive: opening and migrating, saving pages and records, reading them.

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
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

from scraper.errors import ArchiveError
from scraper.models import Article, FetchAttempt, Page, SaveResult, SaveStatus
from scraper.urls import canonicalize, host_of

from .crawlstate import CrawlStateStore
from .schema import MIGRATIONS, SCHEMA_VERSION

ARTICLE_FIELDS = Article.field_names()
# Columns compared to decide whether a re-fetched article changed.
_CONTENT_FIELDS = tuple(f for f in ARTICLE_FIELDS if f not in ("url",))
_WS = re.compile(r"\s+")


def article_id(canonical_url: str) -> int:
    """A stable positive 63-bit id from the canonical URL."""
    digest = hashlib.sha256(canonical_url.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


def content_hash(body: str) -> str:
    """Fingerprint of the body text, blind to whitespace and line breaks."""
    return hashlib.sha256(_WS.sub("", body).encode("utf-8")).hexdigest()


class Archive(CrawlStateStore):
    """An open archive.db. Create with ``Archive.open(path)``; use as a context manager."""

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
                for statement in MIGRATIONS[version].split(";\n"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {version}")

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


def _article_row(article: Article, canonical: str) -> dict[str, Any]:
    row: dict[str, Any] = {name: getattr(article, name) for name in ARTICLE_FIELDS}
    row["canonical_url"] = canonical
    row["is_article"] = int(article.is_article)
    row["site"] = host_of(canonical) or None
    row["content_hash"] = content_hash(article.body)
    return row
