"""The worker side of a crawl: fetch and parse one URL, touching no shared state.

Workers run in threads, one host at a time each; everything they learn goes back to the
scheduler as an ``Outcome``, and only the scheduler writes to the archive.
"""

from __future__ import annotations

import queue
import zlib
from dataclasses import dataclass

from scraper.config import SiteConfig
from scraper.decode import decode
from scraper.discover import (
    Entry,
    is_pagination_of,
    page_number,
    parse_feed,
    parse_sitemap,
    script_next_page,
)
from scraper.errors import ParseError, ScraperError
from scraper.fetch import Fetcher
from scraper.models import (
    Article,
    FrontierItem,
    Page,
)
from scraper.parse import parse_page
from scraper.parse.links import Listing, extract_list


@dataclass(frozen=True)
class Task:
    url: str
    kind: str  # robots, list, article, sitemap, feed
    site: SiteConfig
    fetcher: Fetcher
    item: FrontierItem | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Outcome:
    task: Task
    page: Page | None = None
    error: ScraperError | None = None
    article: Article | None = None
    listing: Listing | None = None
    next_url: str | None = None
    entries: tuple[Entry, ...] = ()
    is_index: bool = False


def perform(task: Task) -> Outcome:
    """Fetch and parse one URL. Runs in a worker thread; touches no shared state."""
    headers = dict(task.headers)
    try:
        if task.kind == "robots":
            page = task.fetcher.fetch_text(task.url)
        elif task.kind in ("sitemap", "feed"):
            page = task.fetcher.fetch_text(task.url, headers=headers)
        else:
            page = task.fetcher.fetch(task.url, headers=headers)
    except ScraperError as exc:
        return Outcome(task, error=exc)
    if page.status == 304 or task.kind == "robots":
        return Outcome(task, page=page)
    try:
        if task.kind == "list":
            listing = extract_list(page.text, page.final_url)
            return Outcome(task, page, listing=listing, next_url=next_page(page, listing))
        if task.kind in ("sitemap", "feed"):
            text = xml_text(page, task.fetcher.settings.max_bytes)
            if task.kind == "feed":
                return Outcome(task, page, entries=parse_feed(text, page.final_url))
            sitemap = parse_sitemap(text, page.final_url)
            return Outcome(task, page, entries=sitemap.entries, is_index=sitemap.is_index)
        return Outcome(task, page, article=parse_page(page.text, page.final_url))
    except ParseError as exc:
        return Outcome(task, page, error=exc)
    except (RecursionError, ValueError, TypeError, IndexError, KeyError) as exc:
        error = ParseError(f"could not parse page ({type(exc).__name__}: {exc})", url=task.url)
        return Outcome(task, page, error=error)


def xml_text(page: Page, cap: int) -> str:
    """The text of a sitemap or feed, gunzipped when served as a .gz file."""
    data = page.content
    if data[:2] == b"\x1f\x8b":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        data = inflater.decompress(data, cap)
        if inflater.unconsumed_tail:
            raise ParseError(f"unzipped sitemap is over the {cap}-byte cap", url=page.url)
        return decode(data, "application/xml")[0]
    return page.text


def next_page(page: Page, listing: Listing) -> str | None:
    """下一页/next link, else the sibling page numbered next, else a TRS script pager."""
    url = page.final_url
    if listing.next_url and listing.next_url not in (url, page.url):
        return listing.next_url
    current = page_number(url) or 0
    siblings = [
        (n, link.url)
        for link in listing.links
        if is_pagination_of(link.url, url) and (n := page_number(link.url) or 0) > current
    ]
    if siblings:
        return min(siblings)[1]
    return script_next_page(page.text, url)


def worker(tasks: queue.Queue[Task | None], results: queue.Queue[Outcome]) -> None:
    while True:
        task = tasks.get()
        if task is None:
            return
        try:
            results.put(perform(task))
        except Exception as exc:  # a bug must not stall the run: report it as a failure
            error = ScraperError(f"unexpected {type(exc).__name__}: {exc}", url=task.url)
            results.put(Outcome(task, error=error))
