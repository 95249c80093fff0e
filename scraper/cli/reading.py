"""Commands that read the archive back: ``show``, ``attachment``, ``history``, ``search``,
``list``, ``export``, ``stats`` and ``datasette-metadata``.

They open an existing archive read-only (it may sit on read-only media; it is never migrated
or changed) and print through ``output``, which owns every format.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote, urlsplit

import typer

from scraper.archive.search import CANDIDATES
from scraper.cli import output
from scraper.cli.archives import find, open_existing
from scraper.cli.options import (
    DEFAULT_DB,
    DbOption,
    JsonOption,
    KeyArgument,
    NoSummaryOption,
    SinceOption,
    SiteOption,
    parse_since,
)
from scraper.cli.output import safe
from scraper.cli.program import reported
from scraper.errors import InputError
from scraper.models import SearchOrder


def show(key: KeyArgument, db: DbOption = DEFAULT_DB, as_json: JsonOption = False) -> None:
    """Print one stored record readably (or as JSON), with its fetch history."""
    with reported(), open_existing(db) as archive:
        row = find(archive, key, db)
        fetches = archive.fetches_for(int(row["id"]))
        carried = archive.carried(int(row["id"]))
    if as_json:
        output.article_json({**row, **carried, "fetches": [_fetch_json(f) for f in fetches]})
        return
    row = dict(row)
    row["is_article"] = bool(row["is_article"])
    row.pop("raw_sha256", None)
    row["attachments"] = [
        [a["id"], a["name"], a["kind"], a["size"], _text_or_error(a), a["url"]]
        for a in carried["attachments"]
    ]
    row["images"] = [[i["position"], i["url"], i["caption"]] for i in carried["images"]]
    row["related"] = [[r["kind"], r["name"], r["url"]] for r in carried["related"]]
    output.record(row)
    output.line(f"\n[fetches] {len(fetches)}")
    for f in fetches:
        output.line(f"{safe(f['time'])}  {f['status'] or '-'}  {safe(f['final_url'] or f['url'])}")


def _text_or_error(attachment: dict[str, Any]) -> str:
    if attachment["fetched_at"] is None:
        return "not fetched"
    if attachment["text_chars"] is not None:
        return f"{attachment['text_chars']} characters of text"
    return str(attachment["error"] or "no text")


def attachment(
    key: Annotated[
        str,
        typer.Argument(
            metavar="ID|URL",
            help="An attachment's id (as show lists it) or URL, or an article's id or URL: "
            "all its attachments.",
        ),
    ],
    db: DbOption = DEFAULT_DB,
    save: Annotated[
        Path | None,
        typer.Option(
            "--save",
            metavar="DIR",
            file_okay=False,
            help="Write the files into DIR (created if missing), named <id>-<file name>.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show an article's attachments (附件) with their text, or write the files back out."""
    with reported(), open_existing(db) as archive:
        rows = archive.attachments(int(key) if key.isdecimal() else key)
        if not rows:
            article = find(archive, key, db)
            rows = [
                r
                for a in archive.carried(int(article["id"]))["attachments"]
                for r in archive.attachments(int(a["id"]))
            ]
        files = {r["id"]: archive.raw_page(r["sha256"]) if r["sha256"] else None for r in rows}
    for r in rows:
        if save is not None:
            r["saved_to"] = _save_file(save, r, files[r["id"]])
        if as_json:
            output.json_line(r)
            continue
        shown = [r["id"], r["article_id"], r["kind"], r["size"], r["name"], r["url"]]
        output.fields(v if v is not None else "-" for v in shown)
        if save is None:
            text = r["text"] if r["text"] is not None else f"({r['error'] or 'not fetched'})"
            output.line(safe(text, multiline=True))
        elif r["saved_to"] is not None:
            output.line(f"saved {safe(r['saved_to'])}")


_UNSAFE_NAME = re.compile(r"[^\w.\-\u4e00-\u9fff]+")


def _save_file(folder: Path, row: dict[str, Any], data: bytes | None) -> str | None:
    """Write one attachment's bytes as ``folder/<id>-<file name>``; None when none are kept.
    The name is the URL's last segment (or the link text), cut to safe characters, so a
    hostile name cannot leave the folder."""
    if data is None:
        return None
    tail = unquote(urlsplit(row["url"]).path.rsplit("/", 1)[-1]) or row["name"] or "file"
    name = _UNSAFE_NAME.sub("_", tail).strip("._")[:120] or "file"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{row['id']}-{name}"
    path.write_bytes(data)
    return str(path)


def _fetch_json(row: dict[str, Any]) -> dict[str, Any]:
    """A fetch row for JSON: its headers as the lists they are, not JSON text inside JSON."""
    out = dict(row)
    for key in ("headers", "request_headers"):
        if isinstance(out.get(key), str):
            with suppress(ValueError):
                out[key] = json.loads(out[key])
    return out


def history(
    key: KeyArgument,
    db: DbOption = DEFAULT_DB,
    diff: Annotated[bool, typer.Option("--diff/--no-diff", help="Show what changed.")] = True,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON object: the versions and, per change, the changed lines "
            "with their parts (equal, delete, insert).",
        ),
    ] = False,
) -> None:
    """List the versions of an article, oldest first, with a diff between each two.

    Within a changed line the diff is by character, shown inline: [-deleted-]{+inserted+}.
    """
    with reported(), open_existing(db) as archive:
        row = find(archive, key, db)
        versions = archive.history(int(row["id"]))
    changes = [_changes(versions[n - 1], versions[n]) for n in range(1, len(versions))]
    if as_json:
        output.json_line(
            {
                "id": row["id"],
                "url": row["url"],
                "versions": versions,
                "changes": [{"from": n, "to": n + 1, **c} for n, c in enumerate(changes, 1)]
                if diff
                else [],
            }
        )
        return
    output.line(f"{row['id']}  {safe(row['url'])}  ({len(versions)} version(s))")
    for n, v in enumerate(versions, 1):
        current = "  (current)" if n == len(versions) else ""
        output.line(f"v{n}  {v['first_seen']} .. {v['last_seen']}  {safe(v['title'])}{current}")
    if not diff:
        return
    for n, change in enumerate(changes, 1):
        output.line(f"\n--- v{n}\n+++ v{n + 1}")
        output.diff(change)


# A changed line is diffed by character when at least this much of it is kept; below, it was
# rewritten, and shows as one line out and one line in.
_SIMILAR = 0.4


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What changed from one version to the next: the title, and the body's hunks (a line of
    context either side), each changed line pair split into equal, delete and insert parts."""
    from difflib import SequenceMatcher

    title = None
    if before["title"] != after["title"]:
        title = _line("change", before["title"] or "", after["title"] or "")
    old = (before["body"] or "").splitlines()
    new = (after["body"] or "").splitlines()
    hunks: list[dict[str, Any]] = []
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    for group in matcher.get_grouped_opcodes(1):
        lines: list[dict[str, Any]] = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [{"op": "equal", "text": text} for text in old[i1:i2]]
                continue
            gone, came = old[i1:i2], new[j1:j2]
            paired = min(len(gone), len(came))
            for a, b in zip(gone[:paired], came[:paired], strict=True):
                lines.append(_line("change", a, b))
            lines += [{"op": "delete", "text": text} for text in gone[paired:]]
            lines += [{"op": "insert", "text": text} for text in came[paired:]]
        first, last = group[0], group[-1]
        hunks.append(
            {
                "before": [first[1] + 1, last[2] - first[1]],
                "after": [first[3] + 1, last[4] - first[3]],
                "lines": lines,
            }
        )
    return {"title": title, "hunks": hunks}


def _line(op: str, before: str, after: str) -> dict[str, Any]:
    """A changed line: by character (its parts) when enough of it stayed, else rewritten."""
    from difflib import SequenceMatcher

    matcher = SequenceMatcher(None, before, after, autojunk=False)
    if matcher.ratio() < _SIMILAR:
        return {"op": op, "before": before, "after": after, "parts": None}
    parts: list[dict[str, str]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            parts.append({"op": "equal", "text": before[i1:i2]})
            continue
        if i2 > i1:
            parts.append({"op": "delete", "text": before[i1:i2]})
        if j2 > j1:
            parts.append({"op": "insert", "text": after[j1:j2]})
    return {"op": op, "before": before, "after": after, "parts": parts}


def search(
    query: Annotated[
        str,
        typer.Argument(
            metavar="QUERY",
            help="Terms of any length, all of which must match; A OR B for either, NOT A "
            "or -A to leave A out, title:A for A in titles.",
        ),
    ],
    db: DbOption = DEFAULT_DB,
    site: SiteOption = None,
    since: SinceOption = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="Print at most this many hits.")
    ] = 20,
    offset: Annotated[
        int,
        typer.Option(
            "--offset", min=0, help="Skip this many hits first: the next page is --offset 20."
        ),
    ] = 0,
    sort: Annotated[
        SearchOrder,
        typer.Option(
            "--sort",
            help="date: newest first. relevance: best first (title 5x), ranked over the "
            f"newest {CANDIDATES:,} matches, the rest after them newest first. auto: "
            f"relevance up to {CANDIDATES:,} matches, else date.",
        ),
    ] = SearchOrder.AUTO,
    works: Annotated[
        bool,
        typer.Option(
            "--works",
            help="One line per work (an article and its republications): its first copy in "
            "this order, with how many copies the work has.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Full-text search over titles, bodies and attachments, with highlighted snippets.

    Terms side by side must all match: 党建 纪委.

    OR between two terms accepts either, and binds tighter: 党建 纪委 OR 监委.

    NOT 试点 or -试点 leaves out what holds 试点; title:通知 finds 通知 in titles only.

    When nothing matches, a line on stderr says so (exit 0). When more matches than are
    ranked, a line on stderr says which order the hits are in.
    """
    with reported(), open_existing(db) as archive:
        found = archive.find(
            query,
            site=site,
            since=parse_since(since),
            limit=limit,
            offset=offset,
            order=sort,
            works=works,
        )
        hits = found.hits
        copies = archive.copies([h.id for h in hits]) if works else {}
    if not hits:
        output.summary(f"no match for {safe(query)}" + (f" past {offset}" if offset else ""))
    elif sort is SearchOrder.AUTO and found.order is SearchOrder.DATE:
        output.summary(
            f"more than {CANDIDATES:,} matches: newest first (--sort relevance ranks the "
            f"newest {CANDIDATES:,})"
        )
    elif found.more:
        output.summary(
            f"more than {CANDIDATES:,} matches: the newest {CANDIDATES:,} ranked, the rest "
            "after them newest first"
        )
    color = sys.stdout.isatty() and not as_json
    for hit in hits:
        if as_json:
            record = asdict(hit)
            if works:
                record["copies"] = copies.get(hit.id, 1)
            output.json_line(record)
            continue
        shown: list[object] = [hit.id, hit.published or "-", hit.site or "-", hit.title or "-"]
        if works:
            shown.insert(1, f"{copies.get(hit.id, 1)} copies")
        output.fields(shown)
        if hit.attachment is not None:
            output.line(f"    in attachment: {safe(hit.attachment)}")
        output.line(f"    {output.snippet(hit.snippet, color=color)}")


def list_articles(
    db: DbOption = DEFAULT_DB,
    site: SiteOption = None,
    since: SinceOption = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Print at most this many articles.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """What is archived, newest first: id, published, site, title (--json: with the URL)."""
    with reported(), open_existing(db) as archive:
        found = archive.newest(site=site, since=parse_since(since), limit=limit)
    for row in found:
        if as_json:
            output.json_line(row)
        else:
            output.fields(
                [row["id"], row["published"] or "-", row["site"] or "-", row["title"] or "-"]
            )


def export(
    db: DbOption = DEFAULT_DB,
    fmt: Annotated[str, typer.Option("--format", help="jsonl, csv or warc.")] = "jsonl",
    site: SiteOption = None,
    since: SinceOption = None,
    output_path: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write to this file (required for warc: FILE.warc.gz, gzip per record).",
            dir_okay=False,
        ),
    ] = None,
    bom: Annotated[
        bool,
        typer.Option(
            "--bom",
            help="CSV: begin with a UTF-8 byte order mark, without which Excel reads the file "
            "in the system's code page and garbles the Chinese text.",
        ),
    ] = False,
    quiet: NoSummaryOption = False,
) -> None:
    """Write the archived articles as JSON Lines or CSV (stdout), or every capture as a WARC.

    --format warc writes WARC/1.1 (response, request, metadata, revisit) to -o FILE.
    """
    with reported():
        if fmt not in (*output.FORMATS, "warc"):
            raise InputError(f"unknown format {fmt!r}: use jsonl, csv or warc")
        if bom and fmt != "csv":
            raise InputError("--bom is for --format csv (for Excel)")
        if fmt == "warc":
            if output_path is None:
                raise InputError("--format warc writes a binary file: give -o FILE.warc.gz")
            from scraper.warc import export_warc

            with open_existing(db) as archive:
                done = export_warc(archive, output_path, site=site, since=parse_since(since))
            if not quiet:
                output.summary(done.summary())
            return
        with open_existing(db) as archive, output.text_output(output_path) as out:
            # a bar beside the data on one terminal would only get in its way
            show = output.show_progress(quiet) and (out is not sys.stdout or not out.isatty())
            total = archive.count("articles") if show and not (site or since) else None
            with output.counted("exporting", total, show=show) as advance:
                articles = archive.articles(site=site, since=parse_since(since))
                output.rows(_counting(articles, advance), fmt, out, bom=bom)


def _counting(
    rows: Iterator[dict[str, Any]], advance: Callable[[], None]
) -> Iterator[dict[str, Any]]:
    """The rows, each counted on the progress bar as it is written."""
    for row in rows:
        yield row
        advance()


def stats(db: DbOption = DEFAULT_DB, as_json: JsonOption = False) -> None:
    """The archive's figures: articles, works, versions, fetches, sizes, runs."""
    with reported(), open_existing(db) as archive:
        figures = archive.stats()
    if as_json:
        output.json_line(figures)
        return
    output.figures(figures)


def datasette_metadata(db: DbOption = DEFAULT_DB) -> None:
    """Print Datasette metadata (titles, facets, search, canned queries) for the archive."""
    from scraper.datasette import metadata_for

    output.json_line(metadata_for(db.stem), indent=2)
