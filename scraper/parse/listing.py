"""Is this page one article, or a list / index / channel / board / search page?

The answer is a verdict with reasons, not a bare yes/no: a page reached as an article that has
a headline and some text is kept even when the parser doubts it (a two-line 任免 notice, a
picture with one caption), because a rejected page is lost for good, while a doubtful one can
be found (``doubt``) and reconsidered. Only pages that are surely not articles are refused, and
each refusal names its true reason (blank, binary, no text, a list of links).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from urllib.parse import urlsplit

from . import boilerplate as bp
from .dom import Doc

_LIST_PATH = re.compile(
    r"(?:^|/)(?:index|list|search|channel|node|column)[\w-]*(?:\.s?html?|/|$)"
    r"|[?&](?:page|p|q|keyword|kw|wd)=",
    re.I,
)
# Characters that do not occur in a decoded text page: C0 controls (but tab/newlines) and the
# replacement character that undecodable bytes become.
_JUNK = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")
# Entries of a list: a linked line long enough to be an article title.
_ENTRY_CHARS = 8
# Below this much prose a page with a headline is still an article, but a doubtful one.
_SHORT = 80


@dataclass(frozen=True)
class Verdict:
    """``is_article``: the parser's judgement. ``doubt``: why it is unsure (the page is kept).
    ``rejected``: why the page is not kept as an article at all (None when it is kept)."""

    is_article: bool
    doubt: str | None = None
    rejected: str | None = None


def looks_binary(html: str) -> bool:
    """Control characters or undecodable bytes in more than a tenth of the page's start."""
    sample = html[:4096]
    return bool(sample) and len(_JUNK.findall(sample)) * 10 > len(sample)


def _entries(doc: Doc, lo: int, hi: int) -> int:
    """Linked lines long enough to be list entries in ``lines[lo:hi]``."""
    return sum(1 for ln in doc.lines[lo:hi] if ln.chars >= _ENTRY_CHARS and ln.links * 2 > ln.chars)


def judge(doc: Doc, body: list[int], url: str, headline: int | None, html: str = "") -> Verdict:
    """An article has a run of unlinked text under its headline; a list page has link entries.

    ``headline`` is the headline's line index (None when no line matched the page's title).
    """
    lines = doc.lines
    if html and looks_binary(html):
        return Verdict(False, rejected="not a text page (binary or undecodable content)")
    total = sum(ln.chars for ln in lines)
    if total == 0:
        return Verdict(False, rejected="blank page (no text)")
    body_chars = sum(lines[i].chars for i in body)
    prose = [i for i in body if bp.is_prose(lines[i].text)]
    prose_chars = sum(lines[i].chars for i in prose)
    links = _entries(doc, 0, len(lines))
    parts = urlsplit(url)
    listy_url = bool(_LIST_PATH.search(parts.path + "?" + parts.query))
    first = body[0] if body else len(lines)
    # Link entries between the headline and the text: a column page lists its articles there.
    entries = _entries(doc, headline + 1, min(first, headline + 80)) if headline is not None else 0
    # Link entries between the body's lines: results or list items, each with its summary.
    interleaved = sum(1 for a, b in pairwise(body) if _entries(doc, a + 1, b))
    list_reason = f"a list or index page ({links} links, {prose_chars} characters of prose)"

    if headline is None:
        if body_chars == 0 or prose_chars < _SHORT:
            return Verdict(False, rejected=f"no headline and no article text: {list_reason}")
        if len(body) > 30 and len(prose) < 0.35 * len(body):
            return Verdict(False, rejected=f"no headline, short items among links: {list_reason}")
        if total and sum(ln.links for ln in lines) / total > 0.6 and prose_chars < 300:
            return Verdict(False, rejected=list_reason)
        if prose_chars < 400:
            return Verdict(True, doubt="no line matches the page's title, and little text")
        return Verdict(True)
    if interleaved >= 4:
        return Verdict(
            False, rejected=f"{interleaved} linked entries among the text: {list_reason}"
        )
    if entries >= 5 and prose_chars < 400:
        return Verdict(
            False, rejected=f"{entries} linked entries under the headline: {list_reason}"
        )
    if body_chars == 0:
        return Verdict(False, rejected="no article text under the headline")
    if not prose and len(body) >= 5:
        return Verdict(False, rejected=f"{len(body)} short items and no prose: {list_reason}")
    if prose_chars < _SHORT:
        return Verdict(True, doubt=f"short text ({body_chars} characters)")
    if listy_url and prose_chars < 400:
        return Verdict(True, doubt="a list page's address, with little text")
    return Verdict(True)
