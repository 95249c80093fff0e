"""The archive's schema: one migration per version, and the one function that applies them.

``PRAGMA user_version`` says which ran. A migration is SQL, and where rows already written need
something computed in Python (grouping into works, the search index), a named backfill run
after it in the same transaction. A new ``Article`` field (scraper/models.py) needs one line
here, ``ALTER TABLE articles ADD COLUMN <field> TEXT`` as the next version, and nothing else in
the archive: its rows follow ``ARTICLE_FIELDS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scraper.archive import dedup
from scraper.errors import ArchiveError

from .base import Transactions
from .db import Database
from .search import SearchIndex
from .works import Works

SCHEMA_V1 = """
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
SCHEMA_V2 = """
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
# Works (one per distinct article, every republication pointing to it), versions, full-text
# search over bigram text (see scraper/archive/textindex.py), and views with plain names.
SCHEMA_V3 = """
CREATE TABLE IF NOT EXISTS works (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    original_id INTEGER,              -- the copy identified as the original
    title TEXT,                       -- the original's title and publish time
    published TEXT,
    copies INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
ALTER TABLE articles ADD COLUMN work_id INTEGER REFERENCES works(id);
ALTER TABLE articles ADD COLUMN signature BLOB;
CREATE INDEX IF NOT EXISTS articles_work ON articles(work_id);
CREATE INDEX IF NOT EXISTS articles_site_published ON articles(site, published);
CREATE TABLE IF NOT EXISTS article_bands (
    band_key INTEGER NOT NULL,        -- one LSH band of the body's MinHash signature
    -- no index by article: an article's rows are found again from its stored signature
    article_id INTEGER NOT NULL,
    PRIMARY KEY (band_key, article_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id INTEGER NOT NULL,      -- a previous version of this article
    title TEXT,
    published TEXT,
    source TEXT,
    author TEXT,
    editor TEXT,
    body TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    raw_sha256 TEXT,
    first_seen TEXT NOT NULL,         -- when this version was first seen
    last_seen TEXT NOT NULL,          -- when it was last seen unchanged
    replaced_at TEXT NOT NULL         -- when the next version was seen
);
CREATE INDEX IF NOT EXISTS versions_article ON versions(article_id, id);
CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(
    title, body, content='', tokenize='unicode61 remove_diacritics 0'
);
CREATE VIEW IF NOT EXISTS latest_articles AS
SELECT id, published, site, site_name, source, title, url, work_id
FROM articles
WHERE is_article = 1
ORDER BY coalesce(published, first_seen) DESC;
CREATE VIEW IF NOT EXISTS republications AS
SELECT a.work_id, w.title AS work_title, a.id AS article_id, a.site, a.site_name, a.url,
       a.published, a.source, a.original_url, (a.id = w.original_id) AS is_original,
       w.copies
FROM articles a JOIN works w ON w.id = a.work_id
ORDER BY a.work_id, is_original DESC, a.published;
CREATE VIEW IF NOT EXISTS site_counts AS
SELECT site, max(site_name) AS site_name, count(*) AS articles,
       min(published) AS first_published, max(published) AS last_published,
       max(last_seen) AS last_seen
FROM articles
GROUP BY site
ORDER BY articles DESC
"""
# What a web archive needs to rebuild the exchange: the headers as sent and received.
# headers and request_headers are JSON lists of [name, value] pairs.
SCHEMA_V4 = """
ALTER TABLE fetches ADD COLUMN http_version TEXT;
ALTER TABLE fetches ADD COLUMN reason TEXT;
ALTER TABLE fetches ADD COLUMN headers TEXT;
ALTER TABLE fetches ADD COLUMN request_headers TEXT
"""
# Results of a distributed crawl already ingested (exactly once across crashes).
SCHEMA_V5 = """
CREATE TABLE IF NOT EXISTS frontier_results (
    frontier TEXT NOT NULL,           -- which PostgreSQL frontier
    result_id INTEGER NOT NULL,       -- the result's id there
    ingested_at TEXT NOT NULL,
    PRIMARY KEY (frontier, result_id)
) WITHOUT ROWID
"""
# The search index merges its segments 16 at a time instead of 4: each article's entries are
# rewritten about half as often as the index grows. One more article into a million-article
# archive cost a mean of 7.3 ms with SQLite's default, 4.2 ms with this (bench/dedup.py
# --reopen); the median, 2.3 ms, is the same. A level may hold up to 63 segments before it is
# merged at once (crisismerge), so that the incremental merge, not a sudden full one, does it.
SCHEMA_V6 = """
INSERT INTO articles_fts (articles_fts, rank) VALUES ('automerge', 16);
INSERT INTO articles_fts (articles_fts, rank) VALUES ('crisismerge', 64)
"""
# The index gathers up to 32 MB of new entries in memory before it writes them as a segment
# (FTS5's default is 1 MB): a crawl's batch of 2,048 articles, held to its commit and sorted
# (search.py), then makes one segment instead of some twenty to merge. Indexing 10,000 bench
# articles took 0.12-0.14 ms an article instead of 0.21-0.25.
SCHEMA_V7 = """
INSERT INTO articles_fts (articles_fts, rank) VALUES ('hashsize', 33554432)
"""
# Pages the parser doubts are kept as articles with the reason (issue 16): a short notice, a
# page with no headline. ``WHERE doubt IS NOT NULL`` finds them.
SCHEMA_V8 = """
ALTER TABLE articles ADD COLUMN doubt TEXT
"""
# Joining a work costs the same however many copies it has (a notice republished by hundreds
# of portals is the normal case): a work of two or more copies keeps what naming its original
# needs (works.link_id, named_id, earliest_id and the work_facts rows; see archive/works.py),
# so a newcomer is compared with those, not with every copy again; and the earliest copy with
# a fingerprint is the first entry of (content_hash, first_seen). Filled in by the migration.
SCHEMA_V9 = """
ALTER TABLE works ADD COLUMN link_id INTEGER;
ALTER TABLE works ADD COLUMN named_id INTEGER;
ALTER TABLE works ADD COLUMN earliest_id INTEGER;
CREATE TABLE IF NOT EXISTS work_facts (
    work_id INTEGER NOT NULL,
    kind TEXT NOT NULL,               -- link, host, source, site, name
    value TEXT NOT NULL,              -- a canonical original_url, a host, a 来源, a site name
    article_id INTEGER NOT NULL,      -- the copy that stands for it (works.py says which)
    PRIMARY KEY (work_id, kind, value)
) WITHOUT ROWID;
DROP INDEX IF EXISTS articles_content_hash;
CREATE INDEX IF NOT EXISTS articles_content_hash ON articles(content_hash, first_seen)
"""

# Government documents as records: the 信息公开 record table's fields on articles (and kept in
# versions), and what the body carries in tables of their own: its images in order, its
# attachments (附件) with their extracted text, and typed links to related documents (a
# policy's interpretations, an interpretation's policy). Files are kept in raw_pages by sha256.
# A version also keeps the attachments it had (a JSON list of [url, sha256] pairs): a changed
# attachment is a new version of the article.
_RECORD_COLUMNS = ("index_number", "issuer", "doc_number", "written", "subject", "validity")
SCHEMA_V10 = (
    "".join(f"ALTER TABLE articles ADD COLUMN {c} TEXT;\n" for c in _RECORD_COLUMNS)
    + "".join(f"ALTER TABLE versions ADD COLUMN {c} TEXT;\n" for c in _RECORD_COLUMNS)
    + """ALTER TABLE versions ADD COLUMN attachments TEXT;
CREATE INDEX IF NOT EXISTS articles_issuer ON articles(issuer);
CREATE INDEX IF NOT EXISTS articles_doc_number ON articles(doc_number);
CREATE TABLE IF NOT EXISTS images (
    article_id INTEGER NOT NULL,
    position INTEGER NOT NULL,        -- 1, 2, ... in the body's order
    url TEXT NOT NULL,
    alt TEXT,
    caption TEXT,
    sha256 TEXT,                      -- the picture in raw_pages, where the site keeps images
    size INTEGER,
    error TEXT,                       -- why it was not kept
    PRIMARY KEY (article_id, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attachments (
    id INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL,
    position INTEGER NOT NULL,        -- 1, 2, ... in the page's order
    url TEXT NOT NULL,
    name TEXT,                        -- the link text: the attachment's title as the page names it
    kind TEXT,                        -- pdf, docx, xlsx, ofd, doc, xls, wps, zip, ...
    mime TEXT,
    size INTEGER,
    sha256 TEXT,                      -- the file in raw_pages
    text TEXT,                        -- its text, extracted
    error TEXT,                       -- why there is no text (or no file)
    fetched_at TEXT,
    UNIQUE (article_id, url)
);
CREATE INDEX IF NOT EXISTS attachments_url ON attachments(url);
CREATE VIRTUAL TABLE IF NOT EXISTS attachments_fts USING fts5(
    name, text, content='', tokenize='unicode61 remove_diacritics 0'
);
CREATE TABLE IF NOT EXISTS related (
    article_id INTEGER NOT NULL,
    url TEXT NOT NULL,
    kind TEXT NOT NULL,               -- interpretation (解读 of this policy), policy (it explains)
    name TEXT,
    PRIMARY KEY (article_id, url, kind)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS related_url ON related(url)
"""
)

# Edits and takedowns: when an article was edited, withdrawn or came back (archive/changes.py).
# An article's row keeps its last good text; withdrawn says since when it has been gone.
SCHEMA_V11 = """
ALTER TABLE articles ADD COLUMN withdrawn TEXT;
ALTER TABLE articles ADD COLUMN withdrawn_reason TEXT;
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL,
    kind TEXT NOT NULL,               -- edited, withdrawn, restored
    time TEXT NOT NULL,               -- UTC, when the fetch that showed it was made
    reason TEXT,                      -- withdrawn: HTTP 404, HTTP 410, not-found page, ...
    fetch_id INTEGER,                 -- the fetch that showed it
    version_id INTEGER                -- edited: the version kept (the text before the edit)
);
CREATE INDEX IF NOT EXISTS changes_time ON changes(time);
CREATE INDEX IF NOT EXISTS changes_article ON changes(article_id, time);
CREATE INDEX IF NOT EXISTS articles_withdrawn ON articles(withdrawn) WHERE withdrawn IS NOT NULL
"""

# Search that stays fast on a national archive (search.py): one index row per article (its
# title, body and fetched attachments, so paging runs over one ordered list), whose rowid is
# the article's search_key, its place in date order: newest first stops at the LIMIT however
# many articles match. prefix='1' indexes every token's first character as well, so a
# one-character term (党, "党"*) reads one list instead of merging those of every 党X bigram:
# on bench/search.py's 100,000 articles the index was no larger (its rowid gaps, now small,
# paid for it), and 党 went from 98 ms to under 1 ms for a first page. The old tables are
# dropped and every article keyed and indexed again, once: 90 s for 100,000 bench articles. The
# ``site`` column holds two tokens, ``s`` + the hex of the host and ``n`` + the hex of the site
# name (search.site_tokens), so that --site is one more term the index intersects in date
# order: a walk that looked each match up in ``articles`` took 4.6 s for 党 on a one-article
# site of a 100,000-article archive.
SCHEMA_V12 = """
ALTER TABLE articles ADD COLUMN search_key INTEGER;
CREATE UNIQUE INDEX IF NOT EXISTS articles_search_key ON articles(search_key);
DROP TABLE IF EXISTS attachments_fts;
DROP TABLE IF EXISTS articles_fts;
CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, body, attachments, site, content='', prefix='1',
    tokenize='unicode61 remove_diacritics 0'
);
INSERT INTO articles_fts (articles_fts, rank) VALUES ('automerge', 16);
INSERT INTO articles_fts (articles_fts, rank) VALUES ('crisismerge', 64);
INSERT INTO articles_fts (articles_fts, rank) VALUES ('hashsize', 33554432)
"""


def _search_keys(db: Database, search: SearchIndex) -> None:
    """Schema 12: every article its search key, in the order first archived, and indexed."""
    search.rebuild()


def _works(db: Database, search: SearchIndex) -> None:
    """Schema 3 on an archive that has articles: fingerprint and group them all (schema 12
    indexes them)."""
    works = Works(db, facts=False)  # the bookkeeping of schema 9 is not there yet
    for row in list(db.table("articles").rows_where(order_by="first_seen, id")):
        ident, body = int(row["id"]), row["body"] or ""
        fp = dedup.fingerprint(body)
        db.execute("UPDATE articles SET content_hash = ? WHERE id = ?", [fp, ident])
        works.group(ident, body, fp, None, row["last_seen"], named=(row["title"], row["published"]))


def _work_state(db: Database, search: SearchIndex) -> None:
    """Schema 9: the bookkeeping of every work of two or more copies, read from its copies."""
    works = Works(db)
    for work, updated in db.execute("SELECT id, updated FROM works WHERE copies >= 2").fetchall():
        works.refresh(int(work), str(updated))


@dataclass(frozen=True)
class Migration:
    """What takes an archive to one version: SQL statements, then a backfill (if any)."""

    sql: str
    backfill: Callable[[Database, SearchIndex], None] | None = None


MIGRATIONS = {
    1: Migration(SCHEMA_V1),
    2: Migration(SCHEMA_V2),
    3: Migration(SCHEMA_V3, _works),
    4: Migration(SCHEMA_V4),
    5: Migration(SCHEMA_V5),
    6: Migration(SCHEMA_V6),
    7: Migration(SCHEMA_V7),
    8: Migration(SCHEMA_V8),
    9: Migration(SCHEMA_V9, _work_state),
    10: Migration(SCHEMA_V10),
    11: Migration(SCHEMA_V11),
    12: Migration(SCHEMA_V12, _search_keys),
}
SCHEMA_VERSION = max(MIGRATIONS)


def schema_version(db: Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def newer_schema(path: str, version: int) -> ArchiveError:
    return ArchiveError(
        f"{path} has schema version {version}; this archiver knows up to "
        f"{SCHEMA_VERSION}: upgrade archiver"
    )


def not_an_archive(path: str) -> ArchiveError:
    return ArchiveError(f"{path} is not an archive (a SQLite file of something else); left as is")


def migrate(db: Database, transactions: Transactions, search: SearchIndex) -> None:
    """Bring the schema up to date in one transaction taken with the write lock.

    The version is read again once the lock is held, so of several processes opening one new
    (or old) archive at once exactly one migrates and the others find it done. ``search`` is
    the archive's index, whose held-back writes go in at the commit.
    """
    if schema_version(db) == SCHEMA_VERSION:  # the common case: nothing to lock for
        return
    with transactions.plain():
        current = schema_version(db)  # again, now that no one else can write
        if current > SCHEMA_VERSION:
            raise newer_schema(transactions.path, current)
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if current == 0 and tables:
            raise not_an_archive(transactions.path)
        for version in range(current + 1, SCHEMA_VERSION + 1):
            migration = MIGRATIONS[version]
            for statement in migration.sql.split(";\n"):
                if statement.strip():
                    db.execute(statement)
            if migration.backfill is not None:
                migration.backfill(db, search)
            db.execute(f"PRAGMA user_version = {version}")
