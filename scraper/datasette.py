"""Datasette metadata for an archive: titles, descriptions, facets, search and canned queries.

Printed by ``archiver datasette-metadata`` (the database name is the archive's file stem, as
Datasette names it), used as ``datasette archive.db -m metadata.json``.
"""

from __future__ import annotations

from typing import Any

# Any-length Chinese search from Datasette: the term is cut into the same bigram phrase that
# scraper/archive/textindex.py builds (``纪委书记`` -> ``"纪委 委书 书记"``, one character ``党``
# -> ``"党"*``), in SQL, because a Datasette user cannot run Python. One term per query; Latin
# words: use the table's search. Newest first: the index's rowid is the article's search_key,
# its place in date order, so the walk stops at the page's end however many articles match
# (scraper/archive/search.py). ``:page`` 1, 2, ... pages through every match.
_CUT = """
WITH RECURSIVE q(t) AS (SELECT trim(:q)),
cut(i, acc) AS (
  SELECT 1, '' UNION ALL
  SELECT i + 1, acc || substr((SELECT t FROM q), i, 2) || ' ' FROM cut
  WHERE i < length((SELECT t FROM q))
),
expr(m) AS (
  SELECT CASE WHEN length(t) = 1 THEN '"' || t || '"*'
    ELSE '"' || rtrim((SELECT acc FROM cut ORDER BY i DESC LIMIT 1)) || '"' END FROM q
)"""
_PAGE = "LIMIT 50 OFFSET 50 * (max(1, cast(coalesce(nullif(:page, ''), '1') AS INTEGER)) - 1)"
SEARCH_SQL = f"""{_CUT.strip()}
SELECT a.id, a.published, a.site, a.source, a.title,
       substr(a.body, max(1, instr(a.body, trim(:q)) - 20), 80) AS snippet, a.url
FROM articles_fts JOIN articles a ON a.search_key = articles_fts.rowid
WHERE articles_fts MATCH (SELECT m FROM expr)
ORDER BY articles_fts.rowid DESC
{_PAGE}"""

# Ranked: BM25 (title 5x) over the newest 1,000 matches, as ``archiver search --sort relevance``.
RANKED_SQL = f"""{_CUT.strip()},
newest(k) AS (
  SELECT rowid FROM articles_fts WHERE articles_fts MATCH (SELECT m FROM expr)
  ORDER BY rowid DESC LIMIT 1000
)
SELECT a.id, a.published, a.site, a.source, a.title,
       substr(a.body, max(1, instr(a.body, trim(:q)) - 20), 80) AS snippet, a.url
FROM articles_fts JOIN articles a ON a.search_key = articles_fts.rowid
WHERE articles_fts MATCH (SELECT m FROM expr)
  AND articles_fts.rowid >= (SELECT min(k) FROM newest)
ORDER BY bm25(articles_fts, 5.0, 1.0, 0.5), articles_fts.rowid DESC
{_PAGE}"""

# The same, in the text of attachments (PDF, Word, Excel, OFD files attached to articles).
ATTACHMENT_SEARCH_SQL = f"""{_CUT.strip()}
SELECT a.id, a.published, a.site, a.title, t.name AS attachment,
       substr(t.text, max(1, instr(t.text, trim(:q)) - 20), 80) AS snippet, t.url
FROM articles_fts JOIN articles a ON a.search_key = articles_fts.rowid
JOIN attachments t ON t.article_id = a.id AND instr(t.text, trim(:q)) > 0
WHERE articles_fts MATCH '{{attachments}} : ' || (SELECT m FROM expr)
ORDER BY articles_fts.rowid DESC
{_PAGE}"""

# Changes newest first with their article; a withdrawn original of a republished work says how
# many of its copies are still there (NULL for every other change).
CHANGES_SQL = """
SELECT c.id, c.time, c.kind, c.reason, a.id AS article_id, a.site, a.title, a.url,
       CASE WHEN c.kind = 'withdrawn' AND w.original_id = a.id THEN
         (SELECT count(*) FROM articles s
          WHERE s.work_id = a.work_id AND s.id != a.id AND s.withdrawn IS NULL)
       END AS surviving_copies
FROM changes c JOIN articles a ON a.id = c.article_id
LEFT JOIN works w ON w.id = a.work_id AND w.copies > 1
ORDER BY c.time DESC, c.id DESC
LIMIT 200
""".strip()


def metadata_for(database: str) -> dict[str, Any]:
    """The metadata document for an archive Datasette will call ``database``."""
    return {
        "title": "archiver: republished government articles",
        "description": (
            "Articles captured by archiver: one row per canonical URL, grouped into works "
            "(every republication of one article), with versions and crawl history."
        ),
        "databases": {
            database: {
                "tables": {
                    "articles": {
                        "title": "Articles",
                        "description": (
                            "One row per canonical URL. With archiver installed beside "
                            "Datasette, the search box finds terms of any length (党, 纪委书记) "
                            "and takes OR, -term and title:term; without it, two-character "
                            "words (党建) only, and the 'search' query any one term."
                        ),
                        # search_key: the index's rowid, the article's place in date order
                        # (newest first, whether searching or not)
                        "sort_desc": "search_key",
                        "facets": ["site", "source", "issuer", "subject", "is_article"],
                        "fts_table": "articles_fts",
                        "fts_pk": "search_key",
                        # The plugin (datasette_plugin.py) hands Datasette the bigram match
                        # expression; escaped, its quotes and prefix mark would be lost.
                        "searchmode": "raw",
                        "label_column": "title",
                    },
                    "works": {
                        "title": "Works",
                        "description": "One row per distinct article; original_id is its original.",
                        "sort_desc": "copies",
                        "label_column": "title",
                    },
                    "versions": {
                        "title": "Earlier versions",
                        "description": "The previous title and body of articles that changed.",
                        "sort_desc": "replaced_at",
                    },
                    "changes": {
                        "title": "Changes: edits, withdrawals, returns",
                        "description": (
                            "One row per change seen: kind edited (version_id: the text "
                            "before it), withdrawn (reason: HTTP 404, not-found page ...; "
                            "fetch_id: the fetch that showed it) or restored."
                        ),
                        "sort_desc": "time",
                        "facets": ["kind", "reason"],
                    },
                    "fetches": {
                        "title": "Fetch attempts",
                        "description": "One row per attempt, failures with their reason.",
                        "sort_desc": "time",
                        "facets": ["status", "error"],
                    },
                    "attachments": {
                        "title": "Attachments (附件)",
                        "description": (
                            "Files attached to articles, with their text; error says why a file "
                            "has no text. The file itself is in raw_pages by sha256."
                        ),
                        "facets": ["kind", "error"],
                        "label_column": "name",
                    },
                    "images": {"title": "Images in article bodies", "facets": ["error"]},
                    "related": {
                        "title": "Related documents",
                        "description": (
                            "Typed links: a policy's interpretations (解读, 图解), an "
                            "interpretation's policy."
                        ),
                        "facets": ["kind"],
                    },
                    "runs": {"title": "Crawl runs", "sort_desc": "started"},
                    "frontier": {"title": "Crawl frontier", "facets": ["status", "kind", "site"]},
                    "hosts": {"title": "Hosts (robots.txt, politeness)"},
                    "raw_pages": {"hidden": True},
                    "article_bands": {"hidden": True},
                    "work_facts": {"hidden": True},
                    "republications": {
                        "title": "Republications",
                        "description": "Every copy of every work; is_original marks the original.",
                        "facets": ["site", "is_original"],
                    },
                    "latest_articles": {"title": "Latest articles"},
                    "site_counts": {"title": "Articles per site"},
                },
                "queries": {
                    "search": {
                        "title": "Search titles, bodies and attachments (a term of any length)",
                        "description": (
                            "One term: 党, 党建, 纪委书记 ... newest first, 50 a page (page: 2, "
                            "3, ... for more)."
                        ),
                        "sql": SEARCH_SQL,
                    },
                    "search_ranked": {
                        "title": "Search, best first (a Chinese term of any length)",
                        "description": (
                            "One term, ranked by BM25 (title 5x) over its newest 1,000 "
                            "matches, 50 a page."
                        ),
                        "sql": RANKED_SQL,
                    },
                    "republished": {
                        "title": "Most republished articles",
                        "sql": (
                            "SELECT w.id AS work_id, w.copies, w.published, w.title, "
                            "a.site AS original_site, a.url AS original_url "
                            "FROM works w LEFT JOIN articles a ON a.id = w.original_id "
                            "WHERE w.copies > 1 ORDER BY w.copies DESC, w.published DESC "
                            "LIMIT 100"
                        ),
                    },
                    "search_attachments": {
                        "title": "Search attachment text (a Chinese term of any length)",
                        "description": "Articles whose attached files hold the term.",
                        "sql": ATTACHMENT_SEARCH_SQL,
                    },
                    "policy_and_interpretations": {
                        "title": "A policy and every explanation of it",
                        "description": "Give the policy's article id (or leave it empty: all).",
                        "sql": (
                            "SELECT p.id AS policy_id, p.title AS policy, r.kind, "
                            "coalesce(i.title, r.name) AS related, r.url "
                            "FROM related r JOIN articles p ON p.id = r.article_id "
                            "LEFT JOIN articles i ON i.url = r.url "
                            "WHERE r.kind = 'interpretation' AND (:id = '' OR p.id = :id) "
                            "UNION ALL "
                            "SELECT p.id, p.title, 'interpretation', i.title, i.url "
                            "FROM related r JOIN articles i ON i.id = r.article_id "
                            "JOIN articles p ON p.url = r.url "
                            "WHERE r.kind = 'policy' AND (:id = '' OR p.id = :id) "
                            "ORDER BY 1"
                        ),
                    },
                    # not "changes": a query named like a table hides the table in Datasette
                    "recent_changes": {
                        "title": "What changed, newest first",
                        "description": (
                            "Edits, withdrawals and returns with their article; for a "
                            "withdrawn original, how many copies of its work survive."
                        ),
                        "sql": CHANGES_SQL,
                    },
                    "recent_failures": {
                        "title": "Recent failed fetches",
                        "sql": (
                            "SELECT time, status, error, url FROM fetches "
                            "WHERE error IS NOT NULL ORDER BY time DESC LIMIT 100"
                        ),
                    },
                },
            }
        },
    }
