"""Crawl rules shared by the local crawl and the distributed workers, so both behave alike."""

from __future__ import annotations

from scraper.config import SiteConfig
from scraper.discover import (
    is_crawlable,
    is_pagination_of,
    looks_like_list,
    matches_any,
    page_family,
)
from scraper.errors import BlockedError, DisallowedError, FetchError, ScraperError
from scraper.parse.links import Link
from scraper.urls import host_of


def is_article_link(site: SiteConfig, link: Link, list_url: str) -> bool:
    """Whether a link on a list page leads to an article of the site."""
    url = link.url
    if not is_crawlable(url) or not site.allows_host(host_of(url)):
        return False
    if url in site.start_urls or url == list_url or is_pagination_of(url, list_url):
        return False
    if page_family(url) == page_family(list_url):
        return False
    if matches_any(url, site.pagination_patterns):
        return False
    if site.article_patterns:
        return matches_any(url, site.article_patterns)
    # Without patterns: an article link reads like a headline, not like 首页 or 更多.
    return len(link.text) >= 5 and not looks_like_list(url)


def host_failure(error: ScraperError | None) -> bool:
    """Failures that say the host is in trouble (not just one bad page)."""
    if not isinstance(error, FetchError) or isinstance(error, DisallowedError):
        return False
    if isinstance(error, BlockedError):
        return True
    return error.status is None or error.status >= 500 or error.status == 429
