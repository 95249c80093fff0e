"""What ``archiver changes`` reads beside the ``changes`` rows, and the Atom feed it writes.

Read-only: the texts on either side of an edit (the version kept is the text before it; the
text after it is the next version kept, or the article's row), and for a withdrawn original
the copies of its work that survive it. The Atom 1.0 feed (RFC 4287) is written here, the one
place archiver writes XML, atomically (a temporary file renamed over FILE) so that a reader
polling the feed never sees half of one.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .db import Database

# The fields a version keeps that a reader would call the document (versions.py keeps a
# version when one of them changes).
TEXT_FIELDS = (
    "title", "body", "index_number", "issuer", "doc_number", "written", "subject", "validity",
)  # fmt: skip
_COLUMNS = ", ".join(TEXT_FIELDS)


def edit_texts(
    db: Database, article_id: int, version_id: int | None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The document before and after the edit that kept version ``version_id``; None when
    that version is no longer kept (``prune --keep-versions``)."""
    if version_id is None:
        return None
    cursor = db.execute(
        f"SELECT {_COLUMNS} FROM versions WHERE id = ? AND article_id = ?",
        [version_id, article_id],
    )
    before = cursor.fetchone()
    if before is None:
        return None
    after = db.execute(
        f"SELECT {_COLUMNS} FROM versions WHERE article_id = ? AND id > ? ORDER BY id LIMIT 1",
        [article_id, version_id],
    ).fetchone()
    if after is None:
        after = db.execute(f"SELECT {_COLUMNS} FROM articles WHERE id = ?", [article_id]).fetchone()
    if after is None:
        return None
    return dict(zip(TEXT_FIELDS, before, strict=True)), dict(zip(TEXT_FIELDS, after, strict=True))


def surviving_copies(db: Database, article_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """For each of ``article_ids`` that is the original of a work of two or more copies: how
    many other copies the work has and those not withdrawn (id, url, site), by id."""
    idents = sorted(set(article_ids))
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(idents), 500):  # under SQLite's bound-variable limit
        chunk = idents[start : start + 500]
        rows = db.execute(
            "SELECT o.id, c.id, c.url, c.site, c.withdrawn "
            "FROM articles o JOIN works w ON w.id = o.work_id AND w.original_id = o.id "
            "JOIN articles c ON c.work_id = o.work_id AND c.id != o.id "
            f"WHERE o.id IN ({', '.join('?' * len(chunk))}) ORDER BY o.id, c.site, c.id",
            chunk,
        ).fetchall()
        for original, ident, url, site, withdrawn in rows:
            entry = found.setdefault(original, {"copies": 0, "surviving": []})
            entry["copies"] += 1
            if withdrawn is None:
                entry["surviving"].append({"id": ident, "url": url, "site": site})
    return found


# ---------------------------------------------------------------------- Atom

ATOM = "http://www.w3.org/2005/Atom"
# What XML 1.0 cannot carry at all (C0 controls but tab, line feed and carriage return; lone
# surrogates; U+FFFE, U+FFFF) and the C1 controls it discourages: a page's stray control
# character must not make the whole feed unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: object) -> str:
    """Text an XML 1.0 document can hold: what it cannot is dropped (ElementTree escapes
    ``<``, ``&`` and ``>`` itself, so ``]]>`` is harmless)."""
    return _NOT_XML.sub("", value if isinstance(value, str) else str(value))


def rfc3339(value: str | None) -> str:
    """An archive time as an Atom date (RFC 3339, UTC, ``Z``); a naive time is taken as UTC,
    as the archive writes it."""
    try:
        when = datetime.fromisoformat(value or "")
    except ValueError:
        when = datetime(1970, 1, 1, tzinfo=UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def entry_id(url: str, kind: str, time: str, change_id: int) -> str:
    """A change's Atom id: the same for this change in any copy of the archive (a backup, a
    moved file), so a feed reader never shows one change twice."""
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{url}\n{kind}\n{time}\n{change_id}"))


def _add(parent: ET.Element, tag: str, text: object = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        child.text = xml_text(text)
    return child


def write_atom(path: Path, feed: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]) -> None:
    """Write an Atom 1.0 feed to ``path`` atomically.

    ``feed``: ``id``, ``title``, ``updated``, ``self`` (its own address). Each entry:
    ``id``, ``title``, ``updated``, ``link``, ``summary``, ``author``.
    """
    # the namespace as a plain attribute: ElementTree's default_namespace refuses the
    # unqualified attributes (rel, href, type) Atom uses
    root = ET.Element("feed", {"xmlns": ATOM})
    _add(root, "id", feed["id"])
    _add(root, "title", feed["title"])
    _add(root, "updated", feed["updated"])
    _add(root, "link", rel="self", href=feed["self"])
    _add(_add(root, "author"), "name", "archiver")
    _add(root, "generator", "archiver")
    for item in entries:
        entry = _add(root, "entry")
        _add(entry, "id", item["id"])
        _add(entry, "title", item["title"], type="text")
        _add(entry, "updated", item["updated"])
        if item.get("link"):
            _add(entry, "link", rel="alternate", href=item["link"])
        _add(_add(entry, "author"), "name", item.get("author") or "archiver")
        _add(entry, "summary", item["summary"], type="text")
    tree = ET.ElementTree(root)
    ET.indent(tree)
    folder = path.parent
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            tree.write(fh, encoding="utf-8", xml_declaration=True)
            fh.write(b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(temp, 0o644)  # mkstemp's 0600 would hide the feed from a web server
        os.replace(temp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise
