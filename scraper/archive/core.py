"""``Archive``: an open archive.db, composed of parts over its one connection.

Each part is a small class over the one ``db.Database`` (the connection) and owns some tables:
``Articles`` (articles.py), ``Captures`` (captures.py: raw pages and fetches), ``Works``
(works.py), ``Versions`` (versions.py), ``SearchIndex`` (search.py), ``Frontier`` and ``Runs``
(crawlstate.py). No part knows another; where one operation needs several, a method here calls
them in turn (``save``: raw page, article row with its work, versions, search index, fetches).
The rest of ``Archive``'s methods hand the call to the part that owns it, so callers (the
crawl's ``CrawlState``, the pipeline's ``Store``, the cli) see one object.

Each save is one transaction: a crash leaves the previous state, never half a record.

About 500 lines, most of them the one-line hand-offs that let callers see one object; the
logic lives in the parts.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from scraper.archive import dedup
from scraper.archive.prepare import Prepared
from scraper.errors import ArchiveError
from scraper.models import (
    Article,
    AttachmentFile,
    FetchAttempt,
    FrontierItem,
    HostState,
    NewUrl,
    Page,
    SaveResult,
    SaveStatus,
    SearchHit,
    SearchOrder,
    SearchResults,
    Visit,
)
from scraper.pages import page_from_bytes
from scraper.urls import canonicalize

from . import connect, schema
from .articles import ARTICLE_FIELDS, Articles, article_id, article_row, changed, content_hash
from .base import Transactions, _Tx
from .captures import Capture, Captures
from .carried import Carried
from .changes import ChangeKind, Changes
from .crawlstate import Frontier, Runs
from .db import Database
from .search import SearchIndex
from .upkeep import Pruned, Upkeep
from .versions import Versions
from .works import Works

__all__ = ["ARTICLE_FIELDS", "Archive", "article_id", "content_hash"]

# Files already compressed inside (zip-based office formats, OFD, archives, pictures) are kept
# as they are: zlib would spend time for a few bytes.
_STORED_AS_IS = frozenset({"docx", "xlsx", "pptx", "ofd", "zip", "jpeg", "png", "gif", "webp"})


def _compressible(kind: str | None) -> bool:
    return kind not in _STORED_AS_IS


class Archive:
    """An open archive.db. Create with ``Archive.open(path)``; use as a context manager."""

    def __init__(self, db: Database, path: str) -> None:
        self.db = db
        self.path = path
        self._tx = Transactions(db.conn, path)
        self._articles = Articles(db)
        self._captures = Captures(db)
        self._works = Works(db)
        self._versions = Versions(db)
        self._carried = Carried(db)
        self._changes = Changes(db)
        self._search = SearchIndex(db, self._tx)
        self._frontier = Frontier(db, self._tx)
        self._runs = Runs(db, self._tx)

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
        try:
            db = connect.connect(path, readonly)
            archive = cls(db, path)
            try:
                connect.check_is_archive(db, path, readonly)
                if readonly:
                    connect.check_readable_schema(db, path)
                    return archive
                connect.prepare_for_writing(db, path)
                schema.migrate(db, archive._tx, archive._search)
            except BaseException:
                db.conn.close()
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
        return schema.schema_version(self.db)

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
        row = article_row(article, canonical, fingerprint)
        now = page.fetched_at
        try:
            with self._tx.plain():
                sha = self._captures.store_raw(page.content, prepared.raw)
                row.update(raw_sha256=sha, encoding=page.encoding, last_seen=now)
                old = self._articles.find(canonical)
                ident = int(old["id"]) if old else self._articles.free_id(article_id(canonical))
                # the work (and signature) go into the row before it is written
                touched = self._works.place(ident, row, old, signature, now)
                row["search_key"] = self._search.key_for(
                    row["published"],
                    now if old is None else old["first_seen"],
                    None if old is None else old["search_key"],
                )
                attached = "" if old is None else self._search.attachments_text(ident)
                if old is None:
                    row.update(id=ident, first_seen=now, last_changed=now)
                    self._articles.insert(row)
                    status = SaveStatus.NEW
                else:
                    if Versions.worth_keeping(old, row):
                        kept = self._versions.keep(old, now, self._attachment_state(ident))
                        self._changes.add(ident, ChangeKind.EDITED, now, version_id=kept)
                    status = SaveStatus.UPDATED if changed(old, row) else SaveStatus.UNCHANGED
                    if status is SaveStatus.UPDATED:
                        row["last_changed"] = now
                    self._articles.update(old, row)
                self._carried.put(ident, article, new=old is None)
                self._index(ident, row, old, attached, prepared)
                for work, joined in touched:
                    self._works.refresh(work, now, joined)
                self._captures.record(page.attempts, sha, ident, page)
                if old is not None and old["withdrawn"] is not None:
                    self._changes.restore(ident, now)
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"cannot write to archive {self.path}: {exc}") from exc
        return SaveResult(id=ident, status=status, article=article)

    def _index(
        self,
        ident: int,
        row: dict[str, Any],
        old: dict[str, Any] | None,
        attached: str,
        prepared: Prepared,
    ) -> None:
        """Index a saved article where its index entry changed (``attached``: its
        attachments' indexed text before the save)."""
        attachments = "" if old is None else self._search.attachments_text(ident)
        index = (prepared.title_index, prepared.body_index)
        self._search.update({**(old or {}), **row}, attachments, old, attached, index)

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
        articles (see ``Captures.rejected``). ``reconsider`` parses one again."""
        return self._captures.rejected()

    def reconsider(self, fetch_id: int, parse: Callable[[Page], Article]) -> SaveResult | None:
        """Parse a page kept only as raw bytes again; save it if it is now kept as an article.

        The fetch (and the crawl's frontier row, if any) then points to the article, so the
        page is not reconsidered twice. Returns None when the parser still rejects it.
        """
        fetch = self._captures.fetch(fetch_id)
        if fetch is None:
            raise ArchiveError(f"no fetch {fetch_id} in {self.path}")
        url, final_url, sha, encoding, when = fetch
        page = self._stored_page(url, final_url or url, sha, encoding, when)
        article = parse(page)
        if not article.kept:
            return None
        result = self.save(page, article)
        try:
            with self._tx.plain():
                self._captures.link(fetch_id, result.id)
                self._frontier.article_found(url, result.id)
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"cannot write to archive {self.path}: {exc}") from exc
        return result

    def attach(
        self,
        got: AttachmentFile,
        content: bytes | None,
        attempts: Sequence[FetchAttempt],
        page: Page | None = None,
    ) -> list[int]:
        """Keep a fetched attachment (or why it could not be had) for every article linking to
        its URL: the file in raw_pages, its text in the search index, its fetches (with the
        exchange's headers when ``page`` is given, for WARC export). An article
        whose attachment is now another file keeps a version; those articles are returned."""
        try:
            with self._tx.plain():
                sha = self._captures.store_raw(content, compress=_compressible(got.kind))
                got = replace(got, sha256=sha) if content else got
                replaced = self._carried.replaced(got)
                for ident in replaced:
                    row = self._articles.get(ident)
                    if row is None:
                        continue
                    kept = self._versions.keep(row, got.fetched_at, self._attachment_state(ident))
                    self._changes.add(
                        ident, ChangeKind.EDITED, got.fetched_at, "attachment replaced", None, kept
                    )
                    self.db.execute(
                        "UPDATE articles SET last_changed = ? WHERE id = ?", [got.fetched_at, ident]
                    )
                attaching = self._carried.articles_attaching(got.url)
                before = {i: self._search.attachments_text(i) for i in attaching}
                self._carried.attach(got)
                for ident in attaching:
                    self._reindex_attachments(ident, before[ident])
                self._captures.record(tuple(attempts), sha, None, page)
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"cannot write to archive {self.path}: {exc}") from exc
        return replaced

    def _reindex_attachments(self, ident: int, before: str) -> None:
        """Index an article again if its attachments' indexed text is no longer ``before``."""
        after = self._search.attachments_text(ident)
        row = self._articles.get(ident) if after != before else None
        if row is not None:
            self._search.update(row, after, row, before)

    def keep_image(
        self,
        url: str,
        content: bytes | None,
        attempts: Sequence[FetchAttempt],
        error: str | None = None,
    ) -> int:
        """Keep a fetched picture (or why it could not be had) for every article showing it:
        the file in raw_pages as it is (pictures are compressed already), its fetches; how
        many ``images`` rows it filled."""
        try:
            with self._tx.plain():
                sha = None if error else self._captures.store_raw(content, compress=False)
                size = len(content) if sha is not None and content is not None else None
                kept = self._carried.keep_image(url, sha, size, error)
                self._captures.record(tuple(attempts), sha, None)
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"cannot write to archive {self.path}: {exc}") from exc
        return kept

    def _attachment_state(self, ident: int) -> str | None:
        state = self._carried.state(ident)
        return json.dumps(state) if state else None

    def withdraw(
        self, url: str, reason: str, time: str, attempts: Sequence[FetchAttempt], page: Page | None
    ) -> int | None:
        """A revisit found the archived article at ``url`` gone: mark it withdrawn (once) with
        the reason and the fetch that showed it, keeping its last good text and the page
        that answered (a not-found page's bytes, in raw_pages). The article's id, or None
        when no article is archived under ``url``."""
        try:
            with self._tx.plain():
                found = self._articles.find(canonicalize(url))
                if found is None:
                    return None
                ident = int(found["id"])
                sha = self._captures.store_raw(page.content) if page is not None else None
                fetch = self._captures.record(tuple(attempts), sha, ident, page)
                self._changes.withdraw(ident, time, reason, fetch)
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"cannot write to archive {self.path}: {exc}") from exc
        return ident

    def changes(
        self,
        *,
        since: str | None = None,
        site: str | None = None,
        kind: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        return self._changes.since(since=since, site=site, kind=kind, limit=limit)

    def record_page(self, page: Page) -> None:
        """Keep a fetched page that is not stored as an article (a list page): raw + fetches."""
        try:
            with self._tx.plain():
                sha = self._captures.store_raw(page.content)
                self._captures.record(page.attempts, sha, None, page)
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"cannot write to archive {self.path}: {exc}") from exc

    def record_failure(self, attempts: Iterable[FetchAttempt]) -> None:
        """Record failed attempts (with their reasons) in ``fetches``; nothing else changes."""
        try:
            with self._tx.plain():
                self._captures.record(tuple(attempts), None, None)
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"cannot write to archive {self.path}: {exc}") from exc

    def not_modified(self, page: Page) -> int | None:
        """A 304 for a stored article: only ``last_seen`` and a ``fetches`` row change."""
        with self._tx.named():
            ident = self._articles.seen_again(page.url, page.fetched_at)
            self._captures.record(page.attempts, None, ident, page)
        return ident

    def batch(self) -> _Tx:
        """One transaction around many saves (each save's own transaction joins it): an
        import of thousands of pages commits, and syncs, once per batch, not once per page."""
        return self._tx.named()

    def crawl_transaction(self) -> _Tx:
        """One transaction around several writes (the nested ``save`` joins it); a full disk,
        an I/O error or a lock held past the busy timeout inside it is an ArchiveError."""
        return self._tx.named()

    # ----------------------------------------------------------------- reading

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

    # ------------------------------------------------- handed to the part that owns the call
    # articles.py

    def get(self, key: int | str) -> dict[str, Any] | None:
        return self._articles.get(key)

    def articles(
        self, *, site: str | None = None, since: str | None = None
    ) -> Iterator[dict[str, Any]]:
        return self._articles.rows(site=site, since=since)

    def last_seen_of(self, canonical_url: str) -> str | None:
        return self._articles.last_seen_of(canonical_url)

    # captures.py

    def raw_page(self, sha256: str) -> bytes | None:
        return self._captures.raw_page(sha256)

    def fetches_for(self, article_id: int) -> list[dict[str, Any]]:
        return self._captures.fetches_for(article_id)

    def captures(self, *, site: str | None = None, since: str | None = None) -> Iterator[Capture]:
        return self._captures.captures(site=site, since=since)

    def has_capture(self, url: str, time: str, raw_sha256: str) -> bool:
        return self._captures.has_capture(url, time, raw_sha256)

    def raw_shas_for_url(self, url: str) -> list[str]:
        return self._captures.raw_shas_for_url(url)

    # carried.py

    def carried(self, ident: int) -> dict[str, list[dict[str, Any]]]:
        return self._carried.of(ident)

    def pending_attachments(self, ident: int) -> list[str]:
        return self._carried.pending(ident)

    def pending_images(self, ident: int) -> list[str]:
        return self._carried.pending_images(ident)

    def attachments(self, key: int | str) -> list[dict[str, Any]]:
        return self._carried.find(key)

    def wants_attachment(self, url: str) -> bool:
        return self._carried.wanted(url)

    # versions.py

    def history(self, ident: int) -> list[dict[str, Any]]:
        return self._versions.history(ident)

    def version_fields(self, article_id: int, raw_sha256: str) -> dict[str, Any] | None:
        return self._versions.fields(article_id, raw_sha256)

    # search.py

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
        return self._search.find(
            query, site=site, since=since, limit=limit, offset=offset, order=order, works=works
        )

    def search(self, query: str, **options: Any) -> list[SearchHit]:
        """The hits of ``find`` (with its options), when how they were ordered is not asked."""
        return self.find(query, **options).hits

    def rebuild_search_index(self) -> int:
        return self._search.rebuild()

    # crawlstate.py: the crawl's ``CrawlState``

    def frontier_add(self, urls: Iterable[NewUrl], now: str) -> list[str]:
        return self._frontier.add(urls, now)

    def frontier_due(
        self,
        host: str,
        sites: Sequence[str],
        now: str,
        since: str | None = None,
        fetched_before: str | None = None,
        limit: int = 1,
    ) -> list[FrontierItem]:
        return self._frontier.due(host, sites, now, since, fetched_before, limit)

    def frontier_hosts_due(self, sites: Sequence[str], now: str) -> list[str]:
        return self._frontier.hosts_due(sites, now)

    def frontier_revisit_now(self, sites: Sequence[str], now: str) -> int:
        return self._frontier.revisit_now(sites, now)

    def frontier_get(self, url: str) -> FrontierItem | None:
        return self._frontier.get(url)

    def frontier_done(self, url: str, visit: Visit) -> None:
        return self._frontier.done(url, visit)

    def result_ingested(self, frontier: str, result_id: int) -> bool:
        return self._frontier.result_ingested(frontier, result_id)

    def mark_ingested(self, frontier: str, result_id: int, when: str) -> None:
        return self._frontier.mark_ingested(frontier, result_id, when)

    def host_state(self, host: str) -> HostState | None:
        return self._frontier.host_state(host)

    def host_save(self, state: HostState) -> None:
        return self._frontier.host_save(state)

    def run_start(self, started: str, sites: Sequence[str], pid: int) -> int:
        return self._runs.start(started, sites, pid)

    def run_update(self, run_id: int, figures: dict[str, Any]) -> None:
        return self._runs.update(run_id, figures)

    def close_run(self, run_id: int, finished: str, outcome: str, exit_code: int) -> bool:
        return self._runs.close(run_id, finished, outcome, exit_code)

    def latest_run(self) -> int | None:
        return self._runs.latest()

    # works.py, for bench/dedup.py, which times grouping alone

    def _assign_work(
        self,
        ident: int,
        body: str,
        fingerprint: str,
        old_work: int | None,
        now: str,
        sig: dedup.Signature,
        old_signature: bytes | None,
        named: tuple[str | None, str | None],
    ) -> tuple[int, bool]:
        return self._works.assign(
            ident, body, fingerprint, old_work, now, sig, old_signature, named
        )

    def _refresh_work(self, work: int, now: str, joined: int | None = None) -> None:
        self._works.refresh(work, now, joined)

    # ------------------------------------------------- finding and upkeep (search.py, upkeep.py)

    def copies(self, idents: list[int]) -> dict[int, int]:
        return self._search.copies(idents)

    def newest(
        self, *, site: str | None = None, since: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        return self._search.newest(site=site, since=since, limit=limit)

    def prune(
        self, *, keep_versions: int | None = None, failed_over: int | None = None, dry_run: bool
    ) -> Pruned:
        return Upkeep(self.db, self._tx, self.path).prune(
            keep_versions=keep_versions, failed_over=failed_over, dry_run=dry_run
        )

    def backup(self, dest: Path) -> int:
        return Upkeep(self.db, self._tx, self.path).backup(dest)

    def vacuum(self) -> tuple[int, int]:
        return Upkeep(self.db, self._tx, self.path).vacuum()

    def revisit_dates(self, url: str) -> tuple[str | None, str | None, str | None] | None:
        """The published date, first_seen and latest change (edited, withdrawn or restored)
        of the article archived under ``url`` (its canonical URL, indexed): what a crawl's
        revisit schedule goes by. None when there is none."""
        row = self.db.execute(
            "SELECT published, first_seen, "
            "(SELECT max(time) FROM changes WHERE article_id = a.id) FROM articles a "
            "WHERE canonical_url = ?",
            [canonicalize(url)],
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None
