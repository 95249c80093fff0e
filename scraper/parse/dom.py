"""One pass over the DOM that turns a page into numbered text lines and an element table.

Everything downstream (content scoring, meta lines, footer) works on these lines, so the
tree is walked exactly once; an element is remembered only as the span of lines it holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from selectolax.lexbor import LexborHTMLParser

# Elements that start a new line of text (a paragraph boundary).
BLOCK = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "center",
        "dd",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "li",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "td",
        "th",
        "ul",
        "caption",
        "html",
    ]
)
# Elements whose text is never page text.
SKIP = frozenset(
    [
        "script",
        "style",
        "noscript",
        "template",
        "head",
        "iframe",
        "object",
        "embed",
        "svg",
        "canvas",
        "select",
        "option",
        "textarea",
        "button",
        "input",
        "math",
        "video",
        "audio",
        "map",
    ]
)
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_WS = re.compile(r"[\s\u3000\xa0\u200b\ufeff]+")
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_CENTERED = re.compile(r"text-align\s*:\s*center", re.I)


@dataclass(slots=True)
class Line:
    """A run of text between two block boundaries."""

    text: str
    chars: int  # length without whitespace
    links: int  # characters inside <a>
    elem: int  # innermost block element
    heading: int  # 1..6 inside <hN>, else 0


@dataclass(slots=True)
class Elem:
    """A block element, known by the span of lines it contains."""

    tag: str
    parent: int
    attrs: str  # id and class, lower-cased, for weak hints only
    depth: int
    start: int = 0
    end: int = 0
    centered: bool = False  # style text-align:center or align=center (captions, headlines)


@dataclass
class Doc:
    """The linearised page plus the few head fields the parser needs."""

    lines: list[Line] = field(default_factory=list)
    elems: list[Elem] = field(default_factory=list)
    links: list[tuple[str, str, int]] = field(default_factory=list)  # (href, text, line)
    # (src, alt, title, line, elem): an image sits before the text of line ``line``, inside
    # block element ``elem``
    images: list[tuple[str, str, str, int, int]] = field(default_factory=list)
    by_mem: dict[int, int] = field(default_factory=dict)  # selectolax mem_id -> elem index
    title: str = ""
    meta: dict[str, str] = field(default_factory=dict)
    canonical: str | None = None
    lang: str | None = None
    tree: Any = None

    def ancestors(self, idx: int) -> list[int]:
        """Element indices from ``idx`` up to the root."""
        out = []
        while idx >= 0:
            out.append(idx)
            idx = self.elems[idx].parent
        return out

    def text_of(self, start: int, end: int) -> list[str]:
        return [ln.text for ln in self.lines[start:end]]


def clean(text: str) -> str:
    """Collapse all whitespace kinds to single spaces."""
    return _WS.sub(" ", text).strip()


def squash(text: str) -> str:
    """Text with all whitespace removed, for comparisons."""
    return _WS.sub("", text)


MAX_DEPTH = 400
_PIXELS = re.compile(r"(\d{1,5})\s*(?:px)?")


def _tiny(attrs: dict[str, str | None]) -> bool:
    """A tracking pixel or a spacer: under 16 pixels wide or high, as its attributes say."""
    for key in ("width", "height"):
        m = _PIXELS.fullmatch((attrs.get(key) or "").strip())
        if m and int(m.group(1)) < 16:
            return True
    return False


class _Walker:
    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        self.buf: list[str] = []
        self.link_chars = 0
        self.in_link = 0
        self.heading = 0
        self.cur = -1

    def flush(self) -> None:
        if not self.buf:
            return
        text = clean("".join(self.buf))
        self.buf = []
        links, self.link_chars = self.link_chars, 0
        if text:
            chars = len(text) - text.count(" ")  # clean() left no other whitespace
            self.doc.lines.append(Line(text, chars, min(links, chars), self.cur, self.heading))

    def walk(self, node: Any, depth: int = 0) -> None:
        """Linearise ``node``'s subtree into lines and elements.

        Recursive for speed (an explicit stack measured 2x slower); below ``MAX_DEPTH`` levels,
        which no real page reaches, a subtree is taken as plain text so a hostile page nested
        100,000 deep never raises RecursionError.
        """
        doc = self.doc
        if depth > MAX_DEPTH:
            self.buf.append(" " + (node.text(deep=True, separator=" ") or ""))
            return
        for child in node.iter(include_text=True):
            tag = child.tag
            if tag == "-text":
                text = child.text_content
                if text:
                    self.buf.append(text)
                    if self.in_link:
                        self.link_chars += len(squash(text))
                continue
            if tag in SKIP or tag[0] == "-":
                continue
            attrs = child.attributes
            if attrs and ("hidden" in attrs or _HIDDEN.search(attrs.get("style") or "")):
                continue
            if tag in BLOCK:
                self.flush()
                parent = self.cur
                level = doc.elems[parent].depth + 1 if parent >= 0 else 0
                hint = f"{attrs.get('id') or ''} {attrs.get('class') or ''}".lower()
                idx = len(doc.elems)
                centered = tag == "center" or (attrs.get("align") or "").lower() == "center"
                if not centered and (style := attrs.get("style")):
                    centered = bool(_CENTERED.search(style))
                doc.elems.append(Elem(tag, parent, hint, level, len(doc.lines), 0, centered))
                doc.by_mem[child.mem_id] = idx
                self.cur = idx
                heading = self.heading
                if tag in HEADINGS:
                    self.heading = HEADINGS[tag]
                self.walk(child, depth + 1)
                self.flush()
                self.heading = heading
                self.cur = parent
                doc.elems[idx].end = len(doc.lines)
            elif tag == "br":
                self.flush()
            elif tag == "a":
                href = attrs.get("href")
                start = len(self.doc.lines)
                self.in_link += 1
                self.walk(child, depth + 1)
                self.in_link -= 1
                if href:
                    doc.links.append((href, clean(child.text() or ""), start))
            elif tag == "img":
                src = attrs.get("src") or attrs.get("data-src") or attrs.get("data-original")
                if src and not _tiny(attrs):
                    alt, title = attrs.get("alt") or "", attrs.get("title") or ""
                    doc.images.append(
                        (src.strip(), clean(alt), clean(title), len(doc.lines), self.cur)
                    )
            else:
                self.walk(child, depth + 1)


# The HTML parser's tree building is quadratic in nesting depth (100,000 nested <div>s take a
# minute of CPU), so markup nested deeper than this is flattened first: its tags are dropped,
# its text kept. Elements whose end tag is implied (p, li, td...) are not counted.
MAX_NESTING = 512
# The scan costs ~2 ms on a large page, so only pages with more tags than real article pages
# carry (a few thousand) pay it; below this count the parser's worst case stays under a second.
_SCAN_ABOVE = 20_000
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*?(/?)>")
_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
        "p",
        "li",
        "dt",
        "dd",
        "tr",
        "td",
        "th",
        "tbody",
        "thead",
        "tfoot",
        "option",
        "optgroup",
        "colgroup",
        "caption",
        "rb",
        "rt",
        "rp",
    ]
)


def flatten_deep(html: str) -> str:
    """``html`` with the tags nested deeper than ``MAX_NESTING`` removed (text kept).

    Counts naively (start tags up, end tags down), which is exact for the well-formed deep
    nesting a hostile page uses; a page that never goes that deep is returned unchanged.
    """
    if html.count("<") <= _SCAN_ABOVE:
        return html
    depth = 0
    cut: list[tuple[int, int]] = []
    # No tag ends past the last '>'. Without this bound every unclosed '<a' after it scans to
    # the end of the page before failing: quadratic, minutes for a page ending in 80,000 '<a'.
    for m in _TAG.finditer(html, 0, html.rfind(">") + 1):
        name = m.group(2).lower()
        if name in _VOID or m.group(3):
            continue
        if m.group(1):
            if depth > MAX_NESTING:
                cut.append(m.span())
            depth = max(0, depth - 1)
        else:
            depth += 1
            if depth > MAX_NESTING:
                cut.append(m.span())
    if not cut:
        return html
    parts: list[str] = []
    last = 0
    for start, end in cut:
        parts.append(html[last:start])
        last = end
    parts.append(html[last:])
    return " ".join(parts)


def build(html: str) -> Doc:
    """Parse ``html`` and linearise it."""
    tree = LexborHTMLParser(flatten_deep(html))
    doc = Doc(tree=tree)
    head = tree.head
    root = tree.root
    if root is not None:
        doc.lang = root.attributes.get("lang") or root.attributes.get("xml:lang") or None
    if head is not None:
        for node in head.iter():
            tag = node.tag
            if tag == "title" and not doc.title:
                doc.title = clean(node.text() or "")
            elif tag == "meta":
                a = node.attributes
                key = (a.get("property") or a.get("name") or "").lower()
                if key and a.get("content") and key not in doc.meta:
                    doc.meta[key] = clean(a.get("content") or "")
            elif tag == "link":
                a = node.attributes
                if (a.get("rel") or "").lower() == "canonical" and a.get("href"):
                    doc.canonical = (a.get("href") or "").strip()
    if not doc.title:
        found = tree.css_first("title")
        if found is not None:
            doc.title = clean(found.text() or "")
    body = tree.body
    if body is not None:
        walker = _Walker(doc)
        doc.elems.append(Elem("body", -1, "", 0, 0))
        doc.by_mem[body.mem_id] = 0
        walker.cur = 0
        walker.walk(body)
        walker.flush()
        doc.elems[0].end = len(doc.lines)
    return doc
