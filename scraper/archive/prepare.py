"""What the archive derives from a fetched article before writing it, computed beforehand.

Saving an article needs its body's dedup digest (fingerprint and MinHash signature), the
bigram text the search index holds for its title and body, and its raw page hashed and
compressed. None of it needs the archive, so a crawl computes it where the page is parsed (the
worker processes) and the one process that writes the archive, which the whole crawl waits on,
only writes. ``Archive.save`` computes whatever a ``Prepared`` leaves out.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass

from scraper.archive import dedup, textindex
from scraper.models import Article, Page

RAW_COMPRESSION = 1
"""zlib level of stored raw pages (the archive stores them as 'zlib'). Level 1 takes about a
third less time than the default 6 on a 7 KB page and the result is about 4% larger (2.5 KB
against 2.4 KB on bench/crawl.py's pages): the crawl's one writing process pays for every
page, the disk for a few percent of what is mostly the search index."""


@dataclass(frozen=True)
class Prepared:
    """An article's derived data, each part optional (None: the archive computes it)."""

    digest: dedup.Digest  # dedup.digest(article.body)
    title_index: str | None = None  # textindex.index_text(article.title)
    body_index: str | None = None  # textindex.index_text(article.body)
    raw: tuple[str, bytes] | None = None  # pack_raw(page.content)


def prepare(page: Page, article: Article) -> Prepared:
    """Everything ``Archive.save(page, article)`` derives from the two, computed now."""
    return Prepared(
        digest=dedup.digest(article.body),
        title_index=textindex.index_text(article.title),
        body_index=textindex.index_text(article.body),
        raw=pack_raw(page.content),
    )


def pack_raw(content: bytes) -> tuple[str, bytes] | None:
    """The raw page as stored: its sha256 (hex) and its zlib-compressed bytes."""
    if not content:
        return None
    return hashlib.sha256(content).hexdigest(), zlib.compress(content, RAW_COMPRESSION)
