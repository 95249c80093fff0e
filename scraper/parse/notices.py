"""Article-level disclaimers and the site footer, found by keyword and position."""

from __future__ import annotations

from . import boilerplate as bp
from .dom import Doc

_STRONG_FOOTER = (
    "版权所有",
    "版 权 所 有",
    "Copyright",
    "copyright",
    "COPYRIGHT",
    "©",
    "ICP",
    "主办",
    "All Rights Reserved",
    "承办",
    "公网安备",
)


def _strong(text: str) -> bool:
    return len(text) < 300 and any(k in text for k in _STRONG_FOOTER)


def find_footer(doc: Doc, after: int) -> tuple[int | None, str | None]:
    """First line after ``after`` with a strong footer keyword, widened to its block.

    Returns the footer's first line index and its text.
    """
    lines = doc.lines
    for i in range(max(after + 1, 0), len(lines)):
        text = lines[i].text
        if not _strong(text) or (bp.is_prose(text) and len(text) > 80):
            continue
        block: int | None = None
        for anc in doc.ancestors(lines[i].elem):
            el = doc.elems[anc]
            if el.start <= after or el.end - el.start > 40:
                break
            block = anc
        if block is None:  # its own block holds the body too (lines split by <br>): from here
            start, end = i, doc.elems[lines[i].elem].end
        else:
            start, end = min(doc.elems[block].start, i), doc.elems[block].end
        texts = [ln.text for ln in lines[start:end] if ln.chars]
        return start, "\n".join(texts) or None
    return None, None


def find_disclaimer(doc: Doc, lo: int, hi: int) -> tuple[int | None, str | None]:
    """The first disclaimer line in ``[lo, hi)`` plus its continuation in the same block."""
    lines = doc.lines
    for i in range(max(lo, 0), min(hi, len(lines))):
        ln = lines[i]
        if bp.is_disclaimer(ln.text) and ln.links * 2 <= ln.chars:
            el = doc.elems[ln.elem]
            # A bare heading (特别声明) takes the text that follows it, whatever block.
            stop = min(i + 6, hi) if ln.chars < 12 else min(el.end, i + 6, hi)
            end = i + 1
            while end < stop and not bp.is_footer(lines[end].text):
                end += 1
            return i, "\n".join(ln.text for ln in lines[i:end])
    return None, None
