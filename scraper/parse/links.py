"""Links on a list page: where each goes, its anchor text, the date printed beside it, and
which one is the next page (下一页/下页/next, ``rel=next``).

The crawl needs the date next to a link to stop at older articles before fetching them, and
the anchor text to tell an article title from a navigation link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser

from ..urls import absolute
from .dates import find_dates
from .dom import flatten_deep
from .scripted import hanweb_next, script_items, written_html

# Possessive \s*+ and [>›»]*+: "next", many spaces and a letter must not be split every way
# (quadratic); spaces and marks are disjoint, so nothing given back could have matched.
_NEXT_TEXT = re.compile(
    r"^\s*+(?:下一页|下页|后一页|后页|下一页\s*+[>›»]+|next(?:\s*+page)?\s*+[>›»]*+|[>›»])\s*+$",
    re.I,
)
_SPACE = re.compile(r"\s+")
_ITEM_TAGS = frozenset({"li", "tr", "dd", "dt", "p", "div", "td", "span"})


@dataclass(frozen=True)
class Link:
    """One link: absolute URL (no fragment), anchor text, and the date printed beside it."""

    url: str
    text: str
    date: str | None = None


@dataclass(frozen=True)
class Listing:
    """What a list page offers the crawl: its links in page order and the next page, if any."""

    links: tuple[Link, ...]
    next_url: str | None = None


def _absolute(base: str, href: str) -> str | None:
    href = href.strip()
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
        return None
    url = absolute(base, href)
    # absolute() lowercases the scheme and gives a web URL only with its //host
    if url is None or not url.startswith(("http://", "https://")):
        return None
    return url.split("#", 1)[0]


def _item_date(node: object, anchor_text: str) -> str | None:
    """The date in the link's list item (its parent or grandparent), if short enough to be one."""
    current = getattr(node, "parent", None)
    for _ in range(2):
        if current is None or getattr(current, "tag", None) not in _ITEM_TAGS:
            return None
        text = _SPACE.sub(" ", current.text(separator=" ") or "")
        if len(text) > 300:
            return None
        found = find_dates(text.replace(anchor_text, " "))
        if found:
            return found[0].iso
        current = current.parent
    return None


def extract_list(html: str, url: str) -> Listing:
    """Links of a page, deduplicated in order, and the next page of its list. Items a script
    writes (Hanweb datastores, ``document.write``, inline arrays) follow the page's own links."""
    tree = LexborHTMLParser(flatten_deep(html))
    base = url
    base_node = tree.css_first("base[href]")
    if base_node is not None:
        base = absolute(url, base_node.attributes.get("href") or "") or url
    seen: set[str] = set()
    links: list[Link] = []
    next_url: str | None = None
    for node in tree.css("link[rel=next][href]"):
        next_url = _absolute(base, node.attributes.get("href") or "")
    found = _anchors(tree, base, url, seen, links)
    if written := written_html(html):
        _anchors(LexborHTMLParser(flatten_deep(written)), base, url, seen, links)
    for href, title, date in script_items(html):
        target = _absolute(base, href)
        if target is not None and target not in seen:
            seen.add(target)
            dates = find_dates(date) if date else []
            links.append(Link(url=target, text=title, date=dates[0].iso if dates else None))
    next_url = next_url or found or hanweb_next(html, url)
    return Listing(links=tuple(links), next_url=next_url)


def _anchors(
    tree: LexborHTMLParser, base: str, url: str, seen: set[str], links: list[Link]
) -> str | None:
    """Append the tree's links not yet ``seen`` to ``links``; the next-page link, if any."""
    next_url: str | None = None
    for node in tree.css("a[href]"):
        target = _absolute(base, node.attributes.get("href") or "")
        if target is None:
            continue
        text = (
            _SPACE.sub(" ", node.text() or "").strip()
            or (node.attributes.get("title") or "").strip()
        )
        rel = (node.attributes.get("rel") or "").lower().split()
        if next_url is None and target != url and ("next" in rel or _NEXT_TEXT.match(text)):
            next_url = target
        if target in seen:
            continue
        seen.add(target)
        links.append(Link(url=target, text=text, date=_item_date(node, text)))
    return next_url
