"""Is this page one article, or a list / index / channel / board / search page?"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from . import boilerplate as bp
from .dom import Doc

_LIST_PATH = re.compile(
    r"(?:^|/)(?:index|list|search|channel|node|column)[\w-]*(?:\.s?html?|/|$)"
    r"|[?&](?:page|p|q|keyword|kw|wd)=",
    re.I,
)


def is_article(doc: Doc, body: list[int], url: str, headline: bool = True) -> bool:
    """An article has a run of prose; a list page is mostly links with little prose between."""
    lines = doc.lines
    prose = [i for i in body if bp.is_prose(lines[i].text)]
    prose_chars = sum(lines[i].chars for i in prose)
    total = sum(ln.chars for ln in lines) or 1
    linked = sum(ln.links for ln in lines)
    link_ratio = linked / total
    listy_url = bool(_LIST_PATH.search(urlsplit(url).path + "?" + urlsplit(url).query))
    if prose_chars < 80:
        return False
    if not headline and len(body) > 30 and len(prose) < 0.35 * len(body):
        return False  # no headline and prose scattered among many short items: a board
    if listy_url and prose_chars < 400:
        return False
    return not (link_ratio > 0.6 and prose_chars < 300)
