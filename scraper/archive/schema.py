"""The archive's schema, one script per version; ``PRAGMA user_version`` says which ran."""

from __future__ import annotations

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
MIGRATIONS = {
    1: SCHEMA_V1,
    2: SCHEMA_V2,
    3: SCHEMA_V3,
    4: SCHEMA_V4,
    5: SCHEMA_V5,
    6: SCHEMA_V6,
    7: SCHEMA_V7,
    8: SCHEMA_V8,
    9: SCHEMA_V9,
}
SCHEMA_VERSION = max(MIGRATIONS)
