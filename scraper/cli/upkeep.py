"""Commands that look after an archive: ``prune``, ``backup`` and ``vacuum``.

``backup`` reads the archive read-only, so it runs beside a crawl; ``prune`` and ``vacuum``
write, each in its own transaction, waiting for a crawl's write like any other writer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scraper.cli import output
from scraper.cli.archives import open_existing
from scraper.cli.options import DEFAULT_DB, DbOption
from scraper.cli.output import safe
from scraper.cli.program import reported
from scraper.errors import InputError


def prune(
    db: DbOption = DEFAULT_DB,
    keep_versions: Annotated[
        int | None,
        typer.Option(
            "--keep-versions",
            metavar="N",
            min=0,
            help="Keep the newest N earlier versions of each article; remove older ones.",
        ),
    ] = None,
    failed_over: Annotated[
        int | None,
        typer.Option(
            "--failed-over",
            metavar="N",
            min=0,
            help="Remove crawl frontier rows of URLs that failed more than N times.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be removed; change nothing.")
    ] = False,
) -> None:
    """Remove what the archive no longer needs, printing one line per thing removed.

    Always: raw pages (and files) nothing refers to.

    With --keep-versions, old versions; with --failed-over, dead URLs of the crawl frontier.
    """
    with reported(), open_existing(db, readonly=False) as archive:
        pruned = archive.prune(
            keep_versions=keep_versions, failed_over=failed_over, dry_run=dry_run
        )
    for v in pruned.versions:
        output.fields(["version", v["id"], v["article_id"], v["replaced_at"], v["title"] or "-"])
    for f in pruned.frontier:
        output.fields(["frontier", f["url"], f["failures"], f["error"] or "-"])
    for r in pruned.raw_pages:
        output.fields(["raw", r["sha256"], r["size"]])
    verb = "would remove" if dry_run else "removed"
    output.summary(
        f"{verb} {len(pruned.versions)} version(s), {len(pruned.frontier)} frontier row(s), "
        f"{len(pruned.raw_pages)} raw page(s) ({pruned.raw_bytes} stored bytes)"
        + ("; `archiver vacuum` returns the space to the disk" if pruned.raw_pages else "")
    )


def backup(
    dest: Annotated[
        Path,
        typer.Argument(metavar="DEST", dir_okay=False, help="The backup file (must not exist)."),
    ],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Copy the archive to DEST with SQLite's online backup, safe while a crawl writes."""
    with reported():
        if dest.exists():
            raise InputError(f"{dest} exists: give a new file name")
        if not dest.parent.is_dir():
            raise InputError(f"{dest}: directory {dest.parent} does not exist")
        with open_existing(db) as archive:
            size = archive.backup(dest)
    output.summary(f"backed up {safe(db)} to {safe(dest)} ({size} bytes)")


def vacuum(db: DbOption = DEFAULT_DB) -> None:
    """Rebuild the archive file without its free space (after a prune)."""
    with reported(), open_existing(db, readonly=False) as archive:
        before, after = archive.vacuum()
    output.summary(f"vacuumed {safe(db)}: {before} -> {after} bytes")
