"""``archiver changes``: what was edited, withdrawn or restored, newest first, or as an Atom feed.

An edit is shown as the changed parts only, each with a few dozen characters around it, diffed
by character (a Chinese sentence has no spaces to diff words by); a withdrawal with its reason,
and when the article withdrawn was the original of a work, the copies that survive it. Opens
the archive read-only, like every read command. ``scraper.archive.feeds`` (with the XML
writer) is imported when the command runs, not with this module.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from pathlib import Path
from typing import Annotated, Any

import typer

from scraper.cli import output
from scraper.cli.archives import open_existing
from scraper.cli.options import DEFAULT_DB, DbOption, SiteOption, parse_since
from scraper.cli.program import reported
from scraper.errors import ArchiveError, InputError
from scraper.fetch import now_iso

KINDS = ("edited", "withdrawn", "restored")
# Characters of unchanged text kept either side of a change.
CONTEXT = 20


def changes(
    db: DbOption = DEFAULT_DB,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="Changes seen on or after this day: YYYY-MM-DD (a longer ISO 8601 time is "
            "cut to its day).",
        ),
    ] = None,
    site: SiteOption = None,
    kind: Annotated[
        str | None,
        typer.Option("--kind", metavar="KIND", help="edited, withdrawn or restored."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most this many changes, newest first.")
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="One JSON object per change, an edit's diff as parts (equal, delete, insert).",
        ),
    ] = False,
    atom: Annotated[
        Path | None,
        typer.Option(
            "--atom",
            metavar="FILE",
            dir_okay=False,
            help="Write the changes as an Atom feed to FILE (replaced whole, never half "
            "written) instead of printing them.",
        ),
    ] = None,
    feed_url: Annotated[
        str | None,
        typer.Option(
            "--feed-url",
            metavar="URL",
            help="With --atom: where subscribers fetch the feed (its id and self link; "
            "default: FILE's file:// URL).",
        ),
    ] = None,
) -> None:
    """What changed, newest first: time, kind, article id, site, title, then what changed.

    An edit: its changed parts by character, [-deleted-]{+inserted+}, a little text around.

    A withdrawal: its reason; for a work's original, the copies that survive it.
    """
    from scraper.archive.feeds import edit_texts, surviving_copies

    with reported():
        if kind is not None and kind not in KINDS:
            raise InputError(f"--kind wants edited, withdrawn or restored, not {kind!r}")
        if atom is not None and as_json:
            raise InputError("--atom writes a feed; --json prints: choose one")
        if feed_url is not None and atom is None:
            raise InputError("--feed-url is for --atom FILE")
        with open_existing(db) as archive:
            found = archive.changes(since=parse_since(since), site=site, kind=kind, limit=limit)
            for change in found:
                texts = None
                if change["kind"] == "edited":
                    texts = edit_texts(archive.db, change["article_id"], change["version_id"])
                change["diff"] = edits(*texts) if texts is not None else None
            gone = [c["article_id"] for c in found if c["kind"] == "withdrawn"]
            originals = surviving_copies(archive.db, gone)
        for change in found:
            change["original_withdrawn"] = (
                originals.get(change["article_id"]) if change["kind"] == "withdrawn" else None
            )
        if atom is not None:
            _write_feed(atom, feed_url, found, site=site, kind=kind)
            output.summary(f"{len(found)} change(s) written to {output.safe(atom)}")
            return
    for change in found:
        if as_json:
            output.json_line(change)
        else:
            output.change(change)


def _write_feed(
    path: Path, feed_url: str | None, found: list[dict[str, Any]], **filters: str | None
) -> None:
    from scraper.archive.feeds import entry_id, rfc3339, write_atom

    if not path.parent.is_dir():
        raise InputError(f"--atom {path}: directory {path.parent} does not exist")
    self_url = feed_url or path.resolve().as_uri()
    named = ", ".join(f"{k} {v}" for k, v in filters.items() if v)
    entries = [
        {
            "id": entry_id(c["url"], c["kind"], c["time"], c["id"]),
            "title": f"{c['kind']}: {c['title'] or c['url']}",
            "updated": rfc3339(c["time"]),
            "link": c["url"],
            "summary": "\n".join(output.change_details(c, plain=True)) or c["kind"],
            "author": c["site"],
        }
        for c in found
    ]
    feed = {
        "id": self_url,
        "title": "archiver: changes" + (f" ({named})" if named else ""),
        # the newest change; a feed of none was last changed now
        "updated": max((e["updated"] for e in entries), default=rfc3339(now_iso())),
        "self": self_url,
    }
    try:
        write_atom(path, feed, entries)
    except OSError as exc:
        raise ArchiveError(f"cannot write {path}: {exc.strerror or exc}") from exc


def edits(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """What an edit changed: per changed field (the title, the body, a record field), its
    excerpts, each the changed parts with up to ``CONTEXT`` characters either side."""
    from scraper.archive.feeds import TEXT_FIELDS

    found: list[dict[str, Any]] = []
    for field in TEXT_FIELDS:
        old, new = before[field] or "", after[field] or ""
        if old == new:
            continue
        for parts, cut_before, cut_after in _excerpts(_parts(old, new)):
            found.append(
                {"field": field, "parts": parts, "cut_before": cut_before, "cut_after": cut_after}
            )
    return found


def _parts(old: str, new: str) -> list[dict[str, str]]:
    """The whole text as equal, delete and insert parts: lines first (fast on long bodies),
    then each changed run of lines by character."""
    a = [line + "\n" for line in old.split("\n")]
    b = [line + "\n" for line in new.split("\n")]
    parts: list[dict[str, str]] = []

    def add(op: str, text: str) -> None:
        if not text:
            return
        if parts and parts[-1]["op"] == op:
            parts[-1]["text"] += text
        else:
            parts.append({"op": op, "text": text})

    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        gone, came = "".join(a[i1:i2]), "".join(b[j1:j2])
        if tag == "equal":
            add("equal", gone)
            continue
        chars = SequenceMatcher(None, gone, came, autojunk=False)
        for op, k1, k2, l1, l2 in chars.get_opcodes():
            if op == "equal":
                add("equal", gone[k1:k2])
                continue
            add("delete", gone[k1:k2])
            add("insert", came[l1:l2])
    # both texts got a line feed at their end above; it is no part of either
    if parts and parts[-1]["op"] == "equal" and parts[-1]["text"].endswith("\n"):
        parts[-1]["text"] = parts[-1]["text"][:-1]
        if not parts[-1]["text"]:
            parts.pop()
    return parts


def _excerpts(parts: list[dict[str, str]]) -> list[tuple[list[dict[str, str]], bool, bool]]:
    """The changes with up to ``CONTEXT`` characters of equal text either side, within their
    line (paragraph); changes closer than twice that on one line share one excerpt. Each with
    whether its line goes on before and after it."""
    found: list[tuple[list[dict[str, str]], bool, bool]] = []
    current: list[dict[str, str]] = []
    cut_before = False
    for n, part in enumerate(parts):
        if part["op"] != "equal":
            current.append(part)
            continue
        text = part["text"]
        first, last = n == 0, n == len(parts) - 1
        if not first and not last and len(text) <= 2 * CONTEXT and "\n" not in text:
            current.append(part)
            continue
        if not first:
            head, cut_after = _head(text)
            current.append({"op": "equal", "text": head})
            found.append(([p for p in current if p["text"]], cut_before, cut_after))
        if not last:
            tail, cut_before = _tail(text)
            current = [{"op": "equal", "text": tail}]
        else:
            current = []
    if any(p["op"] != "equal" for p in current):
        found.append(([p for p in current if p["text"]], cut_before, False))
    return found


def _head(text: str) -> tuple[str, bool]:
    """Up to ``CONTEXT`` characters from the start of ``text``, not past its line's end; and
    whether the line goes on."""
    head = text[:CONTEXT]
    if "\n" in head:
        return head[: head.index("\n")], False
    return head, len(text) > CONTEXT


def _tail(text: str) -> tuple[str, bool]:
    """Up to ``CONTEXT`` characters from the end of ``text``, not before its line's start;
    and whether the line began earlier."""
    tail = text[-CONTEXT:]
    if "\n" in tail:
        return tail[tail.rindex("\n") + 1 :], False
    return tail, len(text) > CONTEXT
