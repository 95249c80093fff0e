"""Bytes to text without trusting any single signal.

Order: BOM (authoritative), then the declared charsets (HTTP header, then ``<meta>``), each
accepted only if the bytes decode cleanly with it; then UTF-8 verification; then GB18030 (the
superset of GBK/GB2312 that most undeclared Chinese pages use); then statistical detection.
gb2312/gbk are always decoded as gb18030: the narrower codecs fail on real names (朱镕基).
"""

from __future__ import annotations

import codecs
import functools
import re

from charset_normalizer import from_bytes

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_OPEN = re.compile(rb"<meta", re.I)
_CHARSET_DECL = re.compile(rb"""charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""", re.I)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""", re.I)
_WIDEN = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "hz-gb-2312": "gb18030",
    "big5": "big5hkscs",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
}
# Text codecs that no web page is written in: a declaration of one is ignored.
_NOT_CHARSETS = frozenset(
    {"punycode", "unicode-escape", "raw-unicode-escape", "utf-7", "charmap", "undefined"}
)
# How far into the document a <meta charset> is looked for (the HTML spec says 1024 bytes;
# real CMS pages put it later, behind comments and scripts).
_META_WINDOW = 4096


@functools.lru_cache(maxsize=256)
def normalize_charset(name: str | None) -> str | None:
    """A Python codec name for a declared charset, widened where a narrow codec breaks.
    Remembered: every page declares one or two, from the few that sites use."""
    if not name:
        return None
    label = name.strip().strip("\"'").lower()
    if label in _WIDEN:  # before the lookup: Python knows no x-gbk, and calls latin1 iso8859-1
        return _WIDEN[label]
    try:
        canonical = codecs.lookup(label).name
        b"a".decode(canonical, "replace")  # rot13, base64, zlib, idna: no page's charset
    except (LookupError, UnicodeError):
        return None
    if canonical in _NOT_CHARSETS:
        return None
    widened = _WIDEN.get(label) or _WIDEN.get(canonical)
    if widened:
        return widened
    return "utf-8" if canonical in ("utf-8", "utf8") else canonical


def charset_from_content_type(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, or None."""
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return match.group(1) if match else None


def charset_from_meta(data: bytes) -> str | None:
    """The charset of ``<meta charset>`` or ``<meta http-equiv=Content-Type>``, or None.

    What ``<meta[^>]+charset=…`` finds (the first such tag, its last declaration), scanned tag
    by tag: that regex rescans the rest of an unclosed tag from every ``<meta`` inside it, and
    a window of ``<meta<meta…`` took it 30 ms per page.
    """
    head = data[:_META_WINDOW]
    lower = head.lower()
    pos = 0
    while (tag := _META_OPEN.search(head, pos)) is not None:
        end = head.find(b">", tag.end())
        end = len(head) if end < 0 else end
        # A tag inside this one ends at the same '>' and holds less: nothing to look at again.
        at = lower.rfind(b"charset", tag.end() + 1, end)
        while at >= 0:
            match = _CHARSET_DECL.match(head, at, end)
            if match:
                return match.group(1).decode("ascii", "replace")
            at = lower.rfind(b"charset", tag.end() + 1, at)
        pos = end
    return None


def _clean(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _reads_as_chinese(text: str) -> bool:
    """Most of the text beyond ASCII is common Chinese (GB2312's characters): other bytes
    read as GB18030 make characters too, but mostly rare ones, symbols and broken pairs."""
    wide = _wide(text)
    if len(wide) < 2:
        return False
    common = sum(1 for c in wide if _in_gb2312(c))
    return common >= 0.6 * len(wide)  # 朱镕基: 镕 is not in GB2312


def _wide(text: str) -> list[str]:
    """The decoded characters beyond ASCII (not the replacement mark) of the text's start."""
    return [c for c in text[:20_000] if ord(c) > 0x7F and c != "\ufffd"]


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def decode(data: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode page bytes; return ``(text, encoding used)``.

    A declared charset is used only when the bytes really decode with it; a page declaring
    gb2312 that is UTF-8 comes out as UTF-8.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace"), codec
    declared = [
        normalize_charset(charset_from_content_type(content_type)),
        normalize_charset(charset_from_meta(data)),
    ]
    # Bytes that decode cleanly as UTF-8 are UTF-8 whatever the declaration says (a GB page's
    # Chinese text essentially never forms valid UTF-8), so UTF-8 is verified first; then the
    # declarations in order; then GB18030, the usual undeclared encoding of Chinese pages.
    seen: dict[str, None] = {}  # ordered set
    for codec in ["utf-8", *[c for c in declared if c], "gb18030"]:
        if codec in seen:
            continue
        seen[codec] = None
        text = _clean(data, codec)
        if text is not None:
            return text, codec
    # Nothing decodes cleanly: real pages often carry a few broken bytes (a truncated
    # character, a pasted fragment). Accept the first candidate that mostly decodes.
    replaced: dict[str, str] = {}
    for codec in seen:
        text = replaced[codec] = data.decode(codec, errors="replace")
        if text.count("\ufffd") <= max(2, len(text) // 1000):
            return text, codec
    # Statistical detection guesses badly on a short text (a one-line notice with a broken
    # byte came out as iso8859-5): UTF-8 whose characters mostly decode is UTF-8, and a page
    # whose GB18030 reading is ordinary Chinese is Chinese.
    text = replaced["utf-8"]
    wide = _wide(text)
    if len(wide) >= 2 and text.count("\ufffd") <= 2 * len(wide):  # GBK read so: 11x
        return text, "utf-8"
    text = replaced["gb18030"]
    if _reads_as_chinese(text):
        return text, "gb18030"
    best = from_bytes(data[:200_000]).best()
    if best is not None and best.encoding:
        codec = normalize_charset(best.encoding) or best.encoding
        return data.decode(codec, errors="replace"), codec
    return data.decode("gb18030", errors="replace"), "gb18030"
