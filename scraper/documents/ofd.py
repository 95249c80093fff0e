"""OFD (GB/T 33190) text with the standard library: the format is a zip of XML.

OFD.xml names each document's Document.xml, which lists the pages' Content.xml in order. Text
is in TextObject/TextCode elements; writers emit them in no fixed order (invoice generators
write fields by type), so each page's pieces are placed by position: grouped into lines by
baseline, lines top to bottom, pieces left to right. Elements are matched by local name,
since some writers leave out or change the namespace.
"""

from __future__ import annotations

import itertools
import posixpath
from xml.etree import ElementTree as ET

from .limits import MAX_PDF_PAGES, Budget
from .safezip import SafeZip

# Pieces whose baselines differ by less than this (mm) are on one line.
_LINE_TOLERANCE = 1.5
# Reading order of a page's pieces (see page_text); chosen by bench/documents.py.
ORDER = "document"
# A horizontal gap wider than this (mm) between pieces of one line becomes a space.
_GAP = 3.0


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in el.iter() if _local(child.tag) == name]


def _first_text(el: ET.Element, name: str) -> str | None:
    for child in el.iter():
        if _local(child.tag) == name and child.text:
            return child.text.strip()
    return None


def _resolve(base_dir: str, loc: str) -> str:
    loc = loc.strip().replace("\\", "/")
    path = loc.lstrip("/") if loc.startswith("/") else posixpath.join(base_dir, loc)
    return posixpath.normpath(path)


def _floats(value: str | None, count: int) -> list[float]:
    out: list[float] = []
    for part in (value or "").split():
        try:
            out.append(float(part))
        except ValueError:
            out.append(0.0)
    return (out + [0.0] * count)[:count]


def page_paths(zf: SafeZip) -> list[str]:
    """Content.xml of every page of every document, in reading order."""
    paths: list[str] = []
    root = zf.parse("OFD.xml")
    for body in _children(root, "DocBody"):
        doc_root = _first_text(body, "DocRoot")
        if not doc_root:
            continue
        doc_path = _resolve("", doc_root)
        if not zf.has(doc_path):
            continue
        document = zf.parse(doc_path)
        doc_dir = posixpath.dirname(doc_path)
        for page in _children(document, "Page"):
            loc = page.get("BaseLoc")
            if loc:
                paths.append(_resolve(doc_dir, loc))
    return paths


def _pieces(content: ET.Element) -> list[tuple[float, float, float, str]]:
    """(baseline y, start x, end x, text) of each TextCode, in document order."""
    pieces: list[tuple[float, float, float, str]] = []
    for obj in _children(content, "TextObject"):
        bx, by, _, _ = _floats(obj.get("Boundary"), 4)
        size = _floats(obj.get("Size"), 1)[0] or 3.5
        x = y = 0.0
        for code in obj:
            if _local(code.tag) != "TextCode" or not code.text:
                continue
            # X and Y may be left out on later TextCodes of an object; they then continue on.
            x = _floats(code.get("X"), 1)[0] if code.get("X") is not None else x
            y = _floats(code.get("Y"), 1)[0] if code.get("Y") is not None else y
            start = bx + x
            width = sum(size if ord(ch) > 0x2E7F else size * 0.5 for ch in code.text)
            pieces.append((by + y, start, start + width, code.text))
    return pieces


def _join(lines: list[list[tuple[float, float, float, str]]]) -> str:
    out: list[str] = []
    for line in lines:
        text = line[0][3]
        for before, piece in itertools.pairwise(line):
            text += (" " if piece[1] - before[2] > _GAP else "") + piece[3]
        if text.strip():
            out.append(text.strip())
    return "\n".join(out)


def page_text(content: ET.Element, order: str | None = None) -> str:
    """A page's text: pieces in document order, a new line where the baseline moves
    (``order="document"``), or placed by position (``order="position"``)."""
    order = order or ORDER
    pieces = _pieces(content)
    lines: list[list[tuple[float, float, float, str]]] = []
    if order == "position":
        pieces.sort(key=lambda piece: (piece[0], piece[1]))
    for piece in pieces:
        last = lines[-1][-1] if lines else None
        same_line = last is not None and abs(piece[0] - last[0]) <= _LINE_TOLERANCE
        # In document order a piece that starts left of where the last one began is a new line.
        if same_line and last is not None and (order == "position" or piece[1] >= last[1]):
            lines[-1].append(piece)
        else:
            lines.append([piece])
    if order == "position":
        for line in lines:
            line.sort(key=lambda piece: piece[1])
    return _join(lines)


def ofd_text(zf: SafeZip, budget: Budget) -> str:
    out: list[str] = []
    for number, path in enumerate(page_paths(zf)):
        if number >= MAX_PDF_PAGES:
            budget.truncated = True
            break
        if budget.spent:
            break
        if not zf.has(path):
            continue
        text = page_text(zf.parse(path))
        if text.strip():
            out.append(budget.take(text + "\n"))
    return "".join(out)
