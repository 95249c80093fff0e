"""What an article carries besides its text: images, attached files (附件), related documents.

All three are read from the lines the body spans (and the few after it, where 附件 blocks and
相关解读 lines sit), so the images and links of navigation, sidebars and footers are left out.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from ..models import DocLink, Image, LinkKind
from ..urls import absolute, is_web_url
from .dom import Doc, clean

# File kinds governments attach; a link to one of these is an attachment, whatever its text.
ATTACHMENT_EXTENSIONS = frozenset(
    {"pdf", "doc", "docx", "wps", "xls", "xlsx", "et", "csv", "ofd", "ppt", "pptx", "dps"}
    | {"zip", "rar", "7z", "txt", "rtf"}
)
_EXTENSION = re.compile(r"\.([A-Za-z0-9]{2,4})$")
_ATTACHMENT_BLOCK = re.compile(r"附\s*件|附\s*表|下\s*载")
_ATTACHMENT_TEXT = re.compile(r"^附件\s*\d*\s*[:：.、]?")
TRAILER_LINES = 30  # lines after the body searched for 附件 and 相关解读 blocks
# An interpretation names itself: 《…》解读, 政策解读：…, 图解…, 一图读懂…, …答记者问.
_INTERPRETS = re.compile(r"解读|图解|一图读懂|答记者问")
_INTERPRETATION_LABEL = re.compile(r"^\s*(?:相关解读|政策解读|解读文件|解读|图解)\s*[:：]")
_POLICY_LABEL = re.compile(
    r"^\s*(?:相关政策|政策原文|原文件|文件原文|相关文件|解读的文件|原政策)\s*[:：]?\s*$"
    r"|^\s*(?:相关政策|政策原文|原文件|文件原文|相关文件|解读的文件|原政策)\s*[:：]"
)
# Captions say what they are: 图为…, （图：…）, ▲…, …摄, 图片来源：…
_CAPTION = re.compile(r"^(?:图为|图片|图\s*\d*\s*[:：]|[（(]\s*图|▲|△)|摄[）)]?$|摄影[:：]")
_CAPTION_MAX = 80


def _extension(href: str, text: str) -> str | None:
    """The document extension of a link, from its path (a raw href: cut by hand, since a
    malformed one makes urlsplit raise) or its text."""
    path = unquote(href.split("#", 1)[0].split("?", 1)[0])
    for candidate in (path, text.strip()):
        m = _EXTENSION.search(candidate)
        if m and m.group(1).lower() in ATTACHMENT_EXTENSIONS:
            return m.group(1).lower()
    return None


def _name(url: str, text: str) -> str:
    text = _ATTACHMENT_TEXT.sub("", clean(text)) or clean(text)
    return text or unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def find_images(doc: Doc, first: int, last: int, base: str) -> tuple[Image, ...]:
    """The images between body lines ``first`` and ``last`` (inclusive; one after the last
    too, an image closing the body), in order, each once, with absolute http(s) URLs."""
    out: list[Image] = []
    seen: set[str] = set()
    for n, (src, alt, title, line, elem) in enumerate(doc.images):
        if not first <= line <= last + 1:
            continue
        url = absolute(base, src)
        if not url or not is_web_url(url) or url in seen:
            continue
        seen.add(url)
        # a caption is the line under its picture: of pictures in a row, the last one's
        below = n + 1 == len(doc.images) or doc.images[n + 1][3] != line
        caption = _caption(doc, line, last, elem) if below else None
        out.append(Image(url, alt or title or None, caption))
    return tuple(out)


def _caption(doc: Doc, line: int, last: int, image_elem: int) -> str | None:
    """The caption under an image: a <figcaption>, a short line that says it is one, or the
    short centred line right under a picture in a block of its own (how most government CMSs
    print one)."""
    if line > last or line >= len(doc.lines):
        return None
    ln = doc.lines[line]
    if ln.chars > _CAPTION_MAX or ln.links:
        return None
    elem = doc.elems[ln.elem]
    if elem.tag == "figcaption" or _CAPTION.search(ln.text):
        return ln.text
    if elem.centered and ln.elem != image_elem and doc.elems[image_elem].end <= line:
        return ln.text
    return None


def find_links(
    doc: Doc,
    first: int,
    last: int,
    base: str,
    *,
    title_line: int | None = None,
    container_end: int | None = None,
) -> tuple[tuple[DocLink, ...], tuple[DocLink, ...]]:
    """The attachments and the related documents (interpretations, the policy explained)
    linked from the body or the lines just after it: ``(attachments, related)``."""
    end = min(last + TRAILER_LINES, len(doc.lines) - 1)
    start = first if title_line is None else min(first, title_line)
    attachments: list[DocLink] = []
    related: list[DocLink] = []
    seen: set[str] = set()
    # After the body, files count inside the body's own block (``container_end``: its first
    # line past it) or from an 附件 (or 下载) line on: a document link further down a page
    # without one is a sidebar's or an advertiser's, not this article's.
    block = next(
        (i for i in range(last + 1, end + 1) if _ATTACHMENT_BLOCK.search(doc.lines[i].text)),
        end + 1,
    )
    for href, text, line in doc.links:
        if not start <= line <= end:
            continue
        # what the link is, from its own href and text, before the (costlier) absolute URL
        inside = (
            line <= last or line >= block or (container_end is not None and line < container_end)
        )
        attached = _extension(href, text) is not None and inside
        kind = LinkKind.ATTACHMENT if attached else _related_kind(doc, text, line)
        if kind is None:
            continue
        url = absolute(base, href)
        if not url or not is_web_url(url) or url in seen:
            continue
        seen.add(url)
        if attached:
            attachments.append(DocLink(url, _name(url, text), kind))
        else:
            related.append(DocLink(url, clean(text), kind))
    return tuple(attachments), tuple(related)


def _related_kind(doc: Doc, text: str, line: int) -> LinkKind | None:
    """An interpretation names itself or sits under a 相关解读 label; the policy it explains
    sits under a 相关政策/政策原文 label. A bare menu entry (政策解读) is neither."""
    label = doc.lines[line].text if line < len(doc.lines) else ""
    above = doc.lines[line - 1].text if 0 < line <= len(doc.lines) else ""
    text = clean(text)
    if len(text) < 6:
        return None
    if _POLICY_LABEL.search(label) or _POLICY_LABEL.match(above):
        return LinkKind.POLICY
    if _INTERPRETATION_LABEL.search(label) or _INTERPRETATION_LABEL.match(above):
        return LinkKind.INTERPRETATION
    if _INTERPRETS.search(text):
        return LinkKind.INTERPRETATION
    return None
