"""Commands that read the archive back: ``show``, ``history``, ``search``, ``export``,
``stats`` and ``datasette-metadata``.

They open an existing archive read-only (it may sit on read-only media; it is never migrated
or changed) and print through ``output``, which owns every format.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from scraper.cli import output
from scraper.cli.archives import find, open_existing
from scraper.cli.options import (
    DEFAULT_DB,
    DbOption,
    JsonOption,
    KeyArgument,
    SinceOption,
    SiteOption,
    parse_since,
)
from scraper.cli.output import safe
from scraper.cli.program import reported
from scraper.datasette import metadata_for
from scraper.errors import InputError
from scraper.warc import export_warc


def show(key: KeyArgument, db: DbOption = DEFAULT_DB, as_json: JsonOption = False) -> None:
    """Print one stored record readably (or as JSON)."""
    with reported(), open_existing(db) as archive:
        row = find(archive, key, db)
        fetches = archive.fetches_for(int(row["id"]))
    if as_json:
        output.article_json(row)
        return
    row = dict(row)
    row["is_article"] = bool(row["is_article"])
    row.pop("raw_sha256", None)
    output.record(row)
    output.line(f"\n[fetches] {len(fetches)}")
    for f in fetches:
        output.line(f"{safe(f['time'])}  {f['status'] or '-'}  {safe(f['final_url'] or f['url'])}")


def history(
    key: KeyArgument,
    db: DbOption = DEFAULT_DB,
    diff: Annotated[bool, typer.Option("--diff/--no-diff", help="Show what changed.")] = True,
) -> None:
    """List the versions of an article, oldest first, with a diff between each two."""
    with reported(), open_existing(db) as archive:
        row = find(archive, key, db)
        versions = archive.history(int(row["id"]))
    output.line(f"{row['id']}  {safe(row['url'])}  ({len(versions)} version(s))")
    for n, v in enumerate(versions, 1):
        current = "  (current)" if n == len(versions) else ""
        output.line(f"v{n}  {v['first_seen']} .. {v['last_seen']}  {safe(v['title'])}{current}")
    if not diff:
        return
    for n in range(1, len(versions)):
        before, after = versions[n - 1], versions[n]
        output.line(f"\n--- v{n}\n+++ v{n + 1}")
        output.line(safe(_diff(before, after), multiline=True), nl=False)


def _diff(before: dict[str, Any], after: dict[str, Any]) -> str:
    import difflib

    out: list[str] = []
    if before["title"] != after["title"]:
        out += [f"-title: {before['title']}\n", f"+title: {after['title']}\n"]
    body = difflib.unified_diff(
        (before["body"] or "").splitlines(keepends=True),
        (after["body"] or "").splitlines(keepends=True),
        n=1,
    )
    out += [line if line.endswith("\n") else line + "\n" for line in list(body)[2:]]
    return "".join(out)


def search(
    query: Annotated[str, typer.Argument(help="Terms of any length; all must match.")],
    db: DbOption = DEFAULT_DB,
    site: SiteOption = None,
    since: SinceOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 20,
    as_json: JsonOption = False,
) -> None:
    """Full-text search over titles and bodies, ranked, with highlighted snippets."""
    with reported(), open_existing(db) as archive:
        hits = archive.search(query, site=site, since=parse_since(since), limit=limit)
    color = sys.stdout.isatty() and not as_json
    for hit in hits:
        if as_json:
            output.json_line(asdict(hit))
            continue
        output.fields([hit.id, hit.published or "-", hit.site or "-", hit.title or "-"])
        output.line(f"    {output.snippet(hit.snippet, color=color)}")


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
            help="Write to this file (required for warc: FILE.warc.gz, gzip per record).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Write the archived articles as JSON Lines or CSV (stdout), or every capture as a WARC.

    --format warc writes WARC/1.1 (response, request, metadata, revisit) to -o FILE.
    """
    with reported():
        if fmt not in (*output.FORMATS, "warc"):
            raise InputError(f"unknown format {fmt!r}: use jsonl, csv or warc")
        if fmt == "warc":
            if output_path is None:
                raise InputError("--format warc writes a binary file: give -o FILE.warc.gz")
            with open_existing(db) as archive:
                done = export_warc(archive, output_path, site=site, since=parse_since(since))
            output.summary(done.summary())
            return
        with open_existing(db) as archive, output.text_output(output_path) as out:
            output.rows(archive.articles(site=site, since=parse_since(since)), fmt, out)


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
    output.json_line(metadata_for(db.stem), indent=2)
