"""Find the main text block by text and link density, then cut furniture off its lines.

Each line gets a score: clause-punctuated, unlinked text counts for it, link text and short
unpunctuated lines count against. An element scores the sum of its lines (prefix sums make
that O(1) per element); the best-scoring element is the content container.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import boilerplate as bp
from .dates import DATE
from .dom import Doc, Line


@dataclass(frozen=True)
class Content:
    """The chosen container's span and the line indices that form the body."""

    elem: int
    start: int
    end: int
    body: list[int]
    score: float


def line_score(ln: Line) -> float:
    """How much a line looks like article text (positive) or furniture (negative)."""
    n = ln.chars
    if ln.links * 2 > n:
        return -0.6 * ln.links - 2
    text_chars = n - ln.links
    if bp.is_footer(ln.text) or bp.is_disclaimer(ln.text):
        return -0.3 * n
    p = bp.punct_count(ln.text)
    if p and text_chars >= 10:
        return text_chars * min(1.0, 0.5 + p * 0.25)
    if text_chars >= 30:
        return text_chars * 0.3
    return -2.0 if n < 6 else -0.5


def pick_container(doc: Doc, scores: list[float]) -> tuple[int, float]:
    """The element whose lines add up to the highest score (deeper wins ties)."""
    prefix = [0.0]
    acc = 0.0
    for s in scores:
        acc += s
        prefix.append(acc)
    best, best_score = 0, float("-inf")
    for idx, el in enumerate(doc.elems):
        if el.end <= el.start:
            continue
        s = prefix[el.end] - prefix[el.start]
        if s >= best_score:
            best, best_score = idx, s
    return best, best_score


def _is_junk(ln: Line) -> bool:
    """A line dropped wherever it sits in the container."""
    text = ln.text
    if text.startswith("附件"):
        return False  # a notice's attachment line is part of the document, linked or not
    if ln.links * 2 > ln.chars and not (ln.chars > 40 and bp.is_prose(text)):
        return True
    return bp.is_noise(text) or bp.is_disclaimer(text)


def _is_stop(text: str, seen: int) -> bool:
    """A line after which nothing more is article text (``seen``: body chars so far)."""
    if bp.is_related(text) or bp.is_nav(text) or bp.is_comments(text):
        return True
    if bp.is_footer(text) and not bp.is_prose(text):
        return True
    return seen > 150 and (bp.is_chief_editor(text) or bp.is_disclaimer(text))


def _opens_body(ln: Line) -> bool:
    """Can the body start here? Prose, a long unlinked line, or an intro ending in a colon."""
    text = ln.text
    if ln.links * 2 > ln.chars or bp.is_noise(text) or bp.is_disclaimer(text):
        return False
    if bp.is_prose(text) or (text.endswith(("：", ":")) and len(text) < 20):
        return True
    if ln.chars < 25 or ln.heading or "http" in text or DATE.search(text):
        return False
    return not re.search(r"^[^，。：:]{1,8}[：:]", text)


def _is_tail_junk(ln: Line) -> bool:
    """Trailing credits, promo and link lines that close many articles."""
    text = ln.text
    if bp.is_noise(text) or bp.is_credit(text) or ln.links * 2 > ln.chars:
        return True
    return ln.chars < 20 and text.endswith(("：", ":"))  # an intro with nothing after it


def extract(doc: Doc, title_line: int | None) -> Content:
    """Choose the container and its body lines."""
    lines = doc.lines
    scores = [line_score(ln) for ln in lines]
    if title_line is not None:
        # Text above the headline is rarely the article: halve what it adds.
        for i in range(title_line):
            if scores[i] > 0:
                scores[i] *= 0.5
    elem, score = pick_container(doc, scores)
    el = doc.elems[elem]
    start, end = el.start, el.end
    if title_line is not None and start <= title_line < end:
        start = title_line + 1
    # Leading furniture: skip until the first sentence-like line.
    first = start
    while first < end and not _opens_body(lines[first]):
        first += 1
    if first >= end:
        first = start
    body: list[int] = []
    prose_seen = 0
    for i in range(first, end):
        text = lines[i].text
        if prose_seen and _is_stop(text, prose_seen):
            break
        if _is_junk(lines[i]):
            continue
        body.append(i)
        prose_seen += lines[i].chars
    # Trailing credit / link lines.
    while body and _is_tail_junk(lines[body[-1]]):
        body.pop()
    return Content(elem, start, end, body, score)
