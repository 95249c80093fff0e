"""The parse side of a crawl's workers: what a fetched sitemap, feed or page becomes."""

from __future__ import annotations

import gzip

from scraper.crawl.config import SiteConfig
from scraper.crawl.parsing import parse_fetched
from scraper.crawl.worker import Outcome, Task
from scraper.errors import ParseError
from scraper.fetch import FetchSettings
from scraper.models import Page

URL = "http://a.test/sitemap.xml.gz"
URLSET = b"<urlset><url><loc>http://a.test/1.html</loc></url></urlset>"


def fetched(content: bytes, max_bytes: int = 10_000_000) -> Outcome:
    page = Page(
        url=URL,
        final_url=URL,
        status=200,
        content=content,
        text="",
        encoding="utf-8",
        content_type="application/gzip",
        fetched_at="2026-01-01T00:00:00Z",
    )
    site = SiteConfig(name="a", start_urls=("http://a.test/",))
    return Outcome(Task(URL, "sitemap", site, FetchSettings(max_bytes=max_bytes)), page)


def test_a_gzipped_sitemap_is_read() -> None:
    out = parse_fetched(fetched(gzip.compress(URLSET)))
    assert out.error is None
    assert [e.url for e in out.entries] == ["http://a.test/1.html"]


def test_a_corrupt_gzipped_sitemap_is_a_parse_error() -> None:
    """Not an "unexpected" error: the site sent bad bytes, archiver has no bug to report."""
    out = parse_fetched(fetched(b"\x1f\x8b\x08\x00" + b"not gzip at all" * 4))
    assert isinstance(out.error, ParseError) and "corrupt gzip sitemap" in str(out.error)


def test_a_sitemap_unzipping_past_the_cap_is_a_parse_error() -> None:
    out = parse_fetched(fetched(gzip.compress(URLSET * 100), max_bytes=1000))
    assert isinstance(out.error, ParseError) and "cap" in str(out.error)
