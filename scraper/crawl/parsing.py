"""The parsing side of a crawl's workers: what a fetch brought, turned into what the
scheduler needs (an article and what the archive derives from it, a list page's links and next
page, a sitemap's or feed's entries).

Kept apart from worker.py, the fetching side, so that a fetching process starts without
the parser, numpy and SQLite: it only fetches (about a third of a second less to start).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import replace
from urllib.parse import urljoin

from scraper.archive.prepare import prepare
from scraper.crawl.config import JsonList, json_list_of
from scraper.crawl.discover import (
    is_pagination_of,
    page_number,
    parse_feed,
    parse_sitemap,
    script_next_page,
)
from scraper.decode import decode
from scraper.errors import ParseError
from scraper.fetch import Fetcher
from scraper.models import Page, TaskKind
from scraper.pages import looks_like_html
from scraper.parse.dates import find_dates
from scraper.parse.links import Link, Listing, extract_list
from scraper.parse.scripted import json_items
from scraper.pipeline import parser_guard, safe_parse, take_attachment

from .worker import Outcome, Task, fetch_task, says_missing, unexpected


def perform(task: Task, fetcher: Fetcher) -> Outcome:
    """Fetch and parse one URL. Runs in a worker thread; touches no shared state."""
    return parse_fetched(fetch_task(task, fetcher))


def parse_fetched(out: Outcome, *, slim: bool = False) -> Outcome:
    """What ``fetch_task`` brought, parsed (a failed fetch passes through); a bug in parsing
    comes back as a failure, not as an exception that would stall the run.

    ``slim`` drops a fetched page's decoded text (only robots.txt's is read by the
    scheduler), so that less crosses between processes.
    """
    if out.page is None:
        return out
    try:
        parsed = _use(out.task, out.page)
    except Exception as exc:
        parsed = unexpected(out.task, exc)
    missing = False
    if parsed.article is not None and not parsed.article.kept and out.page.status == 200:
        # no article where one was: the host's not-found page, or a short page saying so
        missing = out.missing or says_missing(out.page.text)
    if slim and parsed.page is not None and out.task.kind != TaskKind.ROBOTS:
        parsed = replace(parsed, page=replace(parsed.page, text=""))
    return replace(parsed, answered=out.answered, missing=missing)


def _use(task: Task, page: Page) -> Outcome:
    """Parse what was fetched for ``task``: an article, a list page, a sitemap or a feed."""
    if page.status == 304 or task.kind == TaskKind.ROBOTS:
        return Outcome(task, page=page)
    if task.kind == TaskKind.ATTACHMENT:  # its kind and text, extracted here, not by the writer
        return Outcome(task, page, attachment=take_attachment(task.url, page, None))
    if task.kind == TaskKind.IMAGE:
        kind = (page.content_type or "").split(";")[0].strip().lower()
        if kind.startswith("text/") or (not kind and looks_like_html(page.content[:1024])):
            return Outcome(task, page, error=ParseError(f"not a picture ({kind or 'html'})"))
        return Outcome(task, page)
    try:
        with parser_guard(task.url):
            if task.kind == TaskKind.LIST and (columns := json_list_of(task.site, page.url)):
                listing = json_listing(columns, page)
                return Outcome(task, page, listing=listing, next_url=listing.next_url)
            if task.kind == TaskKind.LIST:
                listing = extract_list(page.text, page.final_url)
                return Outcome(task, page, listing=listing, next_url=next_page(page, listing))
            if task.kind in (TaskKind.SITEMAP, TaskKind.FEED):
                text = xml_text(page, task.settings.max_bytes)
                if task.kind == TaskKind.FEED:
                    return Outcome(task, page, entries=parse_feed(text, page.final_url))
                sitemap = parse_sitemap(text, page.final_url)
                return Outcome(task, page, entries=sitemap.entries, is_index=sitemap.is_index)
            article = safe_parse(page)
            prepared = prepare(page, article) if article.kept else None
            return Outcome(task, page, article=article, prepared=prepared)
    except ParseError as exc:
        return Outcome(task, page, error=exc)


def json_listing(columns: JsonList, page: Page) -> Listing:
    """The items of a JSON list answer as links, and the next page's address (none after a
    page with no items; a page with nothing new ends the list as any list's does)."""
    try:
        data = json.loads(page.text)
    except ValueError as exc:
        raise ParseError(f"not a JSON list answer ({exc})", url=page.url) from None
    items = json_items(data, columns.items, columns.url, columns.title, columns.date)
    if items is None:
        raise ParseError(f"no array at {columns.items!r} in the JSON answer", url=page.url)
    links = []
    for href, title, date in items:
        dates = find_dates(date) if date else []
        links.append(Link(urljoin(page.url, href), title, dates[0].iso if dates else None))
    number = columns.number_of(page.url)
    next_url = columns.page(number + 1) if items and number is not None else None
    return Listing(links=tuple(links), next_url=next_url)


def xml_text(page: Page, cap: int) -> str:
    """The text of a sitemap or feed, gunzipped when served as a .gz file."""
    data = page.content
    if data[:2] == b"\x1f\x8b":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(data, cap)
        except zlib.error as exc:
            raise ParseError(f"corrupt gzip sitemap ({exc})", url=page.url) from None
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
