"""Finding URLs to crawl, as pure functions over text: robots.txt, sitemaps, feeds, pagination.

Nothing here fetches or stores: crawl.py hands in the text it fetched and gets frozen records
back, so every rule is testable on a string.
"""

from __future__ import annotations

import contextlib
import email.utils
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

from scraper.errors import ParseError
from scraper.urls import absolute

# ------------------------------------------------------------------ robots.txt


MAX_CRAWL_DELAY = 86400.0  # seconds: a longer Crawl-delay is a day (times must stay dates)
# RFC 9309 2.5: a crawler parses at least the first 500 KiB of a robots.txt. Only that much is
# fetched (the rest is never read), so a huge file keeps the rules at its top.
ROBOTS_MAX_BYTES = 500 * 1024


@dataclass(frozen=True)
class Robots:
    """A host's robots.txt rules. ``text`` None means no rules (everything allowed)."""

    text: str | None = None
    deny_all: bool = False

    @cached_property
    def _parser(self) -> RobotFileParser:
        rp = RobotFileParser()
        rp.parse((self.text or "").splitlines())
        rp.modified()  # can_fetch() refuses everything until the parser looks "read"
        return rp

    def allows(self, url: str, agent: str) -> bool:
        if self.deny_all:
            return False
        if not self.text:
            return True
        return self._parser.can_fetch(agent, url)

    def crawl_delay(self, agent: str) -> float | None:
        """The Crawl-delay of the group that applies to ``agent`` (fractions allowed: the
        stdlib parser reads whole seconds only)."""
        if not self.text or self.deny_all:
            return None
        token = agent.split("/")[0].lower()
        groups: list[tuple[list[str], float | None]] = []
        in_agents = False
        for raw in self.text.splitlines():
            key, _, value = raw.split("#", 1)[0].partition(":")
            key, value = key.strip().lower(), value.strip()
            if key == "user-agent":
                if not in_agents:
                    groups.append(([], None))
                groups[-1][0].append(value.lower())
                in_agents = True
                continue
            in_agents = False
            if key == "crawl-delay" and groups:
                with contextlib.suppress(ValueError):
                    delay = float(value)
                    if math.isfinite(delay):  # "inf" and "1e300" are honoured as a day
                        groups[-1] = (groups[-1][0], min(max(0.0, delay), MAX_CRAWL_DELAY))
                    elif delay > 0:
                        groups[-1] = (groups[-1][0], MAX_CRAWL_DELAY)
        mine = [d for agents, d in groups if any(a != "*" and a in token for a in agents)]
        anyone = [d for agents, d in groups if "*" in agents]
        for found in (mine, anyone):
            if found:
                return found[0]
        return None

    def sitemaps(self) -> tuple[str, ...]:
        if not self.text:
            return ()
        return tuple(self._parser.site_maps() or ())


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))


def robots_head(text: str, size: int | None = None) -> str:
    """The part of a robots.txt that is read: its first ``ROBOTS_MAX_BYTES``.

    A file cut there (``size``, its bytes as fetched, reached the cap; or the text is longer
    than the cap) loses its last line, which the cut may have broken: ``Allow: /news/`` cut
    to ``Allow: /`` would allow everything. Only the part of that line before a ``#`` comment
    is whole, and is kept.
    """
    if len(text) <= ROBOTS_MAX_BYTES and (size is None or size < ROBOTS_MAX_BYTES):
        return text
    text = text[:ROBOTS_MAX_BYTES]
    end = max(text.rfind("\n"), text.rfind("\r")) + 1
    last = text[end:]
    return text[:end] + (last.split("#", 1)[0] if "#" in last else "")


def robots_for_status(status: int | None, text: str | None) -> Robots:
    """The rules a robots.txt answer means: 2xx its text (the first ``ROBOTS_MAX_BYTES``);
    401/403 keep out; other 4xx none."""
    if status is not None and 200 <= status < 300:
        return Robots(robots_head(text or ""))
    if status in (401, 403):
        return Robots(deny_all=True)
    return Robots()


# ------------------------------------------------------------------ sitemaps and feeds


@dataclass(frozen=True)
class Entry:
    """A URL found in a sitemap or feed, with its date (ISO) when the document gives one."""

    url: str
    date: str | None = None


@dataclass(frozen=True)
class Sitemap:
    """A sitemap: an index lists more sitemaps, a urlset lists pages."""

    is_index: bool
    entries: tuple[Entry, ...] = field(default_factory=tuple)


def _xml(text: str, what: str) -> ET.Element:
    if "<!ENTITY" in text[:4096].upper():
        raise ParseError(f"{what} declares XML entities; refused")
    try:
        return ET.fromstring(text.lstrip("\ufeff \r\n\t"))
    except ET.ParseError as exc:
        raise ParseError(f"{what} is not well-formed XML ({exc})") from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _child_text(el: ET.Element, name: str) -> str | None:
    for child in el:
        if _local(child.tag) == name and child.text and child.text.strip():
            return child.text.strip()
    return None


def parse_sitemap(text: str, base: str = "") -> Sitemap:
    """A sitemap index or urlset (namespaces ignored); URLs made absolute against ``base``."""
    root = _xml(text, "sitemap")
    kind = _local(root.tag)
    if kind not in ("sitemapindex", "urlset"):
        raise ParseError(f"not a sitemap (root element <{kind}>)")
    child = "sitemap" if kind == "sitemapindex" else "url"
    entries = []
    for el in root:
        if _local(el.tag) != child:
            continue
        loc = _child_text(el, "loc")
        url = absolute(base, loc) if loc else None
        if url:
            entries.append(Entry(url, iso_date(_child_text(el, "lastmod"))))
    return Sitemap(is_index=kind == "sitemapindex", entries=tuple(entries))


def parse_feed(text: str, base: str = "") -> tuple[Entry, ...]:
    """The item links of an RSS 2.0, RSS 1.0 (RDF) or Atom feed, with their dates."""
    root = _xml(text, "feed")
    kind = _local(root.tag)
    out: list[Entry] = []
    if kind == "feed":  # Atom
        for entry in root:
            if _local(entry.tag) != "entry":
                continue
            href = None
            for link in entry:
                if _local(link.tag) == "link" and link.get("rel", "alternate") == "alternate":
                    href = link.get("href")
                    break
            date = _child_text(entry, "published") or _child_text(entry, "updated")
            url = absolute(base, href) if href else None
            if url:
                out.append(Entry(url, iso_date(date)))
        return tuple(out)
    if kind not in ("rss", "rdf"):
        raise ParseError(f"not an RSS or Atom feed (root element <{kind}>)")
    for item in root.iter():
        if _local(item.tag) != "item":
            continue
        href = _child_text(item, "link")
        if not href:
            for guid in item:
                if _local(guid.tag) == "guid" and guid.get("isPermaLink", "true") == "true":
                    href = (guid.text or "").strip() or None
        date = _child_text(item, "pubdate") or _child_text(item, "date")
        url = absolute(base, href) if href else None
        if url:
            out.append(Entry(url, iso_date(date)))
    return tuple(out)


def iso_date(value: str | None) -> str | None:
    """A W3C, ISO 8601 or RFC 822 date as ISO 8601 (UTC when it had a zone); None if unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):  # 31 Dec 9999 -1200
            m = re.match(r"\d{4}-\d{2}-\d{2}", value)
            try:  # a day of the calendar: not 2022-02-30
                return date.fromisoformat(m.group(0)).isoformat() if m else None
            except ValueError:
                return None
    if len(value) == 10 and when.tzinfo is None:
        return when.date().isoformat()
    if when.tzinfo is not None:
        try:
            when = when.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first UTC day
            return None
    return when.replace(microsecond=0).isoformat()


def older_than(date: str | None, since: str | None) -> bool:
    """True when ``date`` is known and falls before ``since`` (both ISO; compared by day)."""
    return bool(date and since and date[:10] < since[:10])


# ------------------------------------------------------------------ pagination

_INDEX_N = re.compile(
    r"^(?P<stem>.*/(?:index|list|default)[\w-]*?)(?:_(?P<n>\d+))?(?P<ext>\.s?html?)$", re.I
)
_PAGE_PARAMS = ("page", "pagenum", "pageno", "pageindex", "curpage", "currentpage", "p")
_TRS_SCRIPT = re.compile(
    r"createPageHTML\(\s*['\"]?(\d+)['\"]?\s*,\s*['\"]?(\d+)['\"]?\s*,\s*['\"]([\w-]+)['\"]\s*,\s*['\"](\w+)['\"]"
)
_BINARY = re.compile(
    r"\.(?:pdf|docx?|xlsx?|pptx?|zip|rar|7z|gz|jpe?g|png|gif|bmp|webp|svg|mp[34]|avi|wmv|flv|exe|apk|wps|ofd|txt|css|js)$",
    re.I,
)


def _page_param(query: str) -> tuple[str, int] | None:
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key.lower() in _PAGE_PARAMS and value.isdecimal():  # "²" is a digit, not a number
            return key, int(value)
    return None


def page_family(url: str) -> str:
    """The URL with its page number taken out: pages of one list share a family."""
    parts = urlsplit(url)
    path = parts.path
    m = _INDEX_N.match(path)
    if m:
        path = f"{m.group('stem')}{{n}}{m.group('ext')}"
    pairs = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in _PAGE_PARAMS
    ]
    host = (parts.hostname or "").lower()
    return urlunsplit(
        (
            parts.scheme.lower(),
            host + (f":{parts.port}" if parts.port else ""),
            path,
            urlencode(pairs),
            "",
        )
    )


def page_number(url: str) -> int | None:
    """The page number a list URL carries (``index_3.html`` → 3, ``?page=3`` → 3), if any."""
    parts = urlsplit(url)
    found = _page_param(parts.query)
    if found:
        return found[1]
    m = _INDEX_N.match(parts.path)
    if m and m.group("n"):
        return int(m.group("n"))
    return None


def is_pagination_of(url: str, list_url: str) -> bool:
    """True when ``url`` is another page of the same list as ``list_url``."""
    return (
        url != list_url
        and page_number(url) is not None
        and page_family(url) == page_family(list_url)
    )


def script_next_page(html: str, url: str) -> str | None:
    """The next page of a TRS list whose pager is written by ``createPageHTML(count, current,
    "index", "html")`` in a script: the links are not in the HTML, so they are computed."""
    m = _TRS_SCRIPT.search(html)
    if not m:
        return None
    count, current, stem, ext = int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)
    if current + 1 >= count:
        return None
    return urljoin(url, f"{stem}_{current + 1}.{ext}")


def matches_any(url: str, patterns: tuple[str, ...]) -> bool:
    return any(re.search(p, url) for p in patterns)


def is_crawlable(url: str) -> bool:
    """An http(s) URL that can hold an HTML page (not a PDF, image or download)."""
    parts = urlsplit(url)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not _BINARY.search(parts.path)
    )


_LISTY = re.compile(r"/(?:index|list|default)[\w-]*\.s?html?$|/$", re.I)


def looks_like_list(url: str) -> bool:
    """A URL shaped like a channel or list page (``.../index.html``, a directory)."""
    return bool(_LISTY.search(urlsplit(url).path or "/"))
