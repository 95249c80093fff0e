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
# Characters a decoded text page (almost) never holds: C0 controls (but tab/newlines), DEL and
# C1 controls, the replacement character that undecodable bytes become, private-use code points
# and lone surrogates. Random bytes decoded as GB18030 are plausible hanzi but for some 10-15%
# of these (its user-defined rows map to private use); a real page has a few icon-font glyphs.
_JUNK = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ue000-\uf8ff\ud800-\udfff\U000f0000-\U0010ffff]"
)
_SAMPLE = 4096
# More than a twelfth of a sample (random bytes: 10-18%, the icon-heaviest real page: 1.4%),
# and enough of them that a few icons on a near-empty page are not taken for it; any page
# start more than a tenth junk is binary outright.
_JUNK_SHARE = 12
_JUNK_MIN = 16
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


def _junky(sample: str) -> bool:
    junk = len(_JUNK.findall(sample))
    return junk >= _JUNK_MIN and junk * _JUNK_SHARE > len(sample)


def _text_start(doc: Doc) -> str:
    """The first ``_SAMPLE`` characters of the page's text (its lines, space-joined)."""
    parts: list[str] = []
    size = 0
    for ln in doc.lines:
        parts.append(ln.text)
        size += len(ln.text) + 1
        if size >= _SAMPLE:
            break
    return " ".join(parts)[:_SAMPLE]


def looks_binary(html: str, text: str = "") -> bool:
    """Not a text page: the start of its HTML or of its text (``text``) is junk characters,
    controls, undecodable bytes or private-use code points, beyond what any real page holds."""
    sample = html[:_SAMPLE]
    if sample and len(_JUNK.findall(sample)) * 10 > len(sample):
        return True
    return _junky(sample) or _junky(text[:_SAMPLE])


def _entries(doc: Doc, lo: int, hi: int) -> int:
    """Linked lines long enough to be list entries in ``lines[lo:hi]``."""
    return sum(1 for ln in doc.lines[lo:hi] if ln.chars >= _ENTRY_CHARS and ln.links * 2 > ln.chars)


def judge(doc: Doc, body: list[int], url: str, headline: int | None, html: str = "") -> Verdict:
    """An article has a run of unlinked text under its headline; a list page has link entries.

    ``headline`` is the headline's line index (None when no line matched the page's title).
    """
    lines = doc.lines
    if (html or lines) and looks_binary(html, _text_start(doc)):
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
