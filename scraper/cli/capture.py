"""Commands that capture pages: ``fetch``, ``parse``, ``reparse`` and ``import`` (WARC).

Each takes a batch of inputs through the one pipeline (scraper/pipeline.py); one input's
failure is an ``error:`` line and the rest go on, and the first failure's exit code is the
command's (``program.Batch``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from scraper.archive import Archive
from scraper.cli import output
from scraper.cli.archives import find, open_archive, open_existing
from scraper.cli.options import (
    DEFAULT_DB,
    DEFAULT_MAX_BYTES,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    DbOption,
    JsonOption,
    MaxBytesOption,
    NoSummaryOption,
    RetriesOption,
    TargetsArgument,
    TimeoutOption,
    UrlOption,
    UserAgentOption,
    fetch_settings,
)
from scraper.cli.program import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    Batch,
    print_error,
    reported,
    sigterm_interrupts,
)
from scraper.errors import InputError, ParseError, ScraperError
from scraper.fetch import DEFAULT_USER_AGENT, Fetcher, FetchSettings, is_local, read_local
from scraper.models import Article, Page, SaveResult
from scraper.pipeline import Counters, record, safe_parse
from scraper.urls import is_web_url
from scraper.warc import ImportStats, import_warc


def _check_url_option(targets: list[str], url: str | None) -> None:
    if url is not None and (len(targets) != 1 or not is_local(targets[0])):
        raise InputError("--url applies to exactly one saved page (a path or file:// URL)")
    if url is not None and not is_web_url(url):
        raise InputError(f"--url wants the page's web address (http:// or https://), not {url!r}")


def _pages(
    targets: list[str], url: str | None, settings: FetchSettings
) -> Iterator[tuple[str, Page | ScraperError]]:
    """Each target's page, or the error that stopped it, in input order."""
    with Fetcher(settings) as fetcher:
        for target in targets:
            try:
                if is_local(target):
                    yield target, read_local(target, url=url, max_bytes=settings.max_bytes)
                else:
                    yield target, fetcher.fetch(target)
            except ScraperError as exc:
                yield target, exc


def fetch(
    targets: TargetsArgument,
    db: DbOption = DEFAULT_DB,
    url: UrlOption = None,
    as_json: JsonOption = False,
    user_agent: UserAgentOption = DEFAULT_USER_AGENT,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    max_bytes: MaxBytesOption = DEFAULT_MAX_BYTES,
    retries: RetriesOption = DEFAULT_RETRIES,
) -> None:
    """Fetch pages, parse them and store one record per article in the archive.

    Prints one line per page: id, new/updated/unchanged, published, source, title.
    """
    batch = Batch()
    settings = fetch_settings(user_agent, timeout, max_bytes, retries)
    with reported():
        _check_url_option(targets, url)
        with open_archive(db) as archive:
            _fetch_all(archive, _pages(targets, url, settings), batch, as_json)
    raise typer.Exit(batch.code)


def _fetch_all(
    archive: Archive,
    pages: Iterator[tuple[str, Page | ScraperError]],
    batch: Batch,
    as_json: bool,
) -> None:
    counters = Counters()
    for target, got in pages:
        parsed: Article | ScraperError | None = None
        if isinstance(got, Page):
            try:
                parsed = safe_parse(got)
            except ParseError as exc:
                parsed = exc
        done = record(archive, got, parsed, counters)
        if done.saved is not None:
            _report_saved(archive, done.saved, as_json)
        elif done.error is not None:
            batch.fail(done.error, target)


def _report_saved(archive: Archive, result: SaveResult, as_json: bool) -> None:
    """A stored page's line: its row as JSON, or id, status, published, source, title."""
    if as_json:
        row = archive.get(result.id)
        output.article_json({**(row or {}), "status": result.status.value})
        return
    a = result.article
    values = [str(result.id), result.status.value, a.published, a.source, a.title]
    output.fields(v or "-" for v in values)


def parse(
    targets: TargetsArgument,
    url: UrlOption = None,
    as_json: JsonOption = False,
    user_agent: UserAgentOption = DEFAULT_USER_AGENT,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    max_bytes: MaxBytesOption = DEFAULT_MAX_BYTES,
    retries: RetriesOption = DEFAULT_RETRIES,
) -> None:
    """Show what the parser makes of pages, without storing anything.

    With --json, exactly one JSON object per input, in input order (an "error" key on failure).
    """
    with reported():
        _check_url_option(targets, url)
    batch = Batch()
    settings = fetch_settings(user_agent, timeout, max_bytes, retries)
    for target, got in _pages(targets, url, settings):
        try:
            if isinstance(got, ScraperError):
                raise got
            article = safe_parse(got)
        except ScraperError as exc:
            batch.fail(exc, target)
            if as_json:
                output.json_line({"input": target, "error": str(exc)})
            continue
        if as_json:
            output.json_line({**article.to_dict(), "encoding": got.encoding})
        else:
            output.record(article.to_dict())
    raise typer.Exit(batch.code)


def reparse(
    keys: Annotated[list[str] | None, typer.Argument(help="Ids or URLs (default: all).")] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Re-extract stored raw pages with the current parser; changed records keep versions.

    Without ids, pages earlier judged not to be articles (kept as raw bytes) are parsed again
    too, and stored where the parser now keeps them.
    """
    counts = {"updated": 0, "unchanged": 0, "failed": 0}
    recovered = 0
    batch = Batch()
    with reported(), open_existing(db, readonly=False) as archive:
        rows = [find(archive, k, db) for k in keys] if keys else list(archive.articles())
        for row in rows:
            try:
                result = archive.reparse(int(row["id"]), safe_parse)
            except ScraperError as exc:
                counts["failed"] += 1
                batch.fail(exc, str(row["url"]))
                continue
            counts[result.status.value if result.status.value in counts else "updated"] += 1
        rejected = [] if keys else archive.rejected_pages()
        for fetch_id in rejected:
            try:
                saved = archive.reconsider(fetch_id, safe_parse)
            except ScraperError as exc:
                counts["failed"] += 1
                batch.fail(exc, f"fetch {fetch_id}")
                continue
            if saved is not None:
                recovered += 1
                _report_saved(archive, saved, as_json=False)
    output.summary(
        f"reparsed {len(rows)}: updated {counts['updated']}, unchanged {counts['unchanged']}, "
        f"failed {counts['failed']}; pages not taken as articles {len(rejected)}, "
        f"now stored {recovered}"
    )
    raise typer.Exit(batch.code)


# `archiver import FILE.warc[.gz]...`: one `error:` line per bad record (with its offset) or
# failed page, the rest still imported; a summary line on stderr; a progress bar on a terminal.


def import_warcs(
    files: Annotated[
        list[Path],
        typer.Argument(metavar="WARC", help="WARC files (.warc or .warc.gz)."),
    ],
    db: DbOption = DEFAULT_DB,
    quiet: NoSummaryOption = False,
) -> None:
    """Archive every HTML page in WARC files, as a fetch would, dated by their WARC-Date.

    Non-HTML records are counted and skipped; a bad record is reported with its offset.

    Exit 3 if any record or page failed; the rest is still imported.
    """
    batch = Batch()
    with reported():
        missing = [f for f in files if not f.is_file()]
        if missing:
            raise InputError(f"{missing[0]}: no such file")
        with open_archive(db) as archive, sigterm_interrupts():
            show_bar = not quiet and sys.stderr.isatty()
            try:
                stats = _import_with_progress(archive, files, show_bar, batch)
            except KeyboardInterrupt:
                print_error("interrupted; run again to resume (archived captures are skipped)")
                raise typer.Exit(EXIT_INTERRUPTED) from None
    if batch.code != EXIT_OK or not quiet:
        output.summary(stats.summary())
    raise typer.Exit(batch.code)


def _import_with_progress(
    archive: Archive, files: list[Path], show_bar: bool, batch: Batch
) -> ImportStats:
    def report(error: ScraperError) -> None:
        batch.fail(error, str(getattr(error, "path", "")))

    if not show_bar:
        return import_warc(archive, files, parse=safe_parse, on_error=report)
    from rich.progress import BarColumn, DownloadColumn, TextColumn

    sizes = {f: f.stat().st_size for f in files}
    done_before: dict[Path, int] = {}
    total = 0
    for f in files:
        done_before[f] = total
        total += sizes[f]
    with output.progress_bar(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn()
    ) as bar:
        task = bar.add_task("importing", total=total)

        def progress(path: Path, offset: int) -> None:
            bar.update(task, completed=done_before[path] + offset, description=path.name)

        return import_warc(archive, files, parse=safe_parse, progress=progress, on_error=report)
