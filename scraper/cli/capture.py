"""Commands that capture pages: ``fetch``, ``parse``, ``reparse`` and ``import`` (WARC).

Each takes a batch of inputs through the one pipeline (scraper/pipeline.py); one input's
failure is an ``error:`` line and the rest go on, and the first failure's exit code is the
command's (``program.Batch``). The fetcher (httpx) and the WARC reader are imported by the
commands that use them, not with this module, which every command's start imports.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from scraper.cli import output
from scraper.cli.archives import find, open_archive, open_existing
from scraper.cli.options import (
    DEFAULT_DB,
    DEFAULT_MAX_BYTES,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    CreateDirsOption,
    DbOption,
    JsonOption,
    MaxBytesOption,
    NoProgressOption,
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
from scraper.fetch import DEFAULT_USER_AGENT
from scraper.models import Article, Page, SaveResult
from scraper.pipeline import (
    ATTACHMENT_MAX_BYTES,
    Counters,
    fetch_attachments,
    record,
    safe_parse,
)
from scraper.urls import is_web_url

if TYPE_CHECKING:
    from scraper.archive import Archive
    from scraper.fetch import Fetcher, FetchSettings
    from scraper.warc import ImportStats


def _check_url_option(targets: list[str], url: str | None) -> None:
    from scraper.fetch import is_local

    if url is not None and (len(targets) != 1 or not is_local(targets[0])):
        raise InputError("--url applies to exactly one saved page (a path or file:// URL)")
    if url is not None and not is_web_url(url):
        raise InputError(f"--url wants the page's web address (http:// or https://), not {url!r}")


# "www.gov.cn/zhengce/...": a host name (a dot in it, a top-level domain of letters) and a
# path, typed without its scheme.
_HOST_AND_PATH = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(:\d+)?/")

# One input of a batch: what to read, and where a saved page came from (None: from the page
# itself), or the error that stops it before it is read (a bad line of a --pairs list).
Item = tuple[str, "str | ScraperError | None"]


def _missing(target: str) -> InputError:
    """A local target that is not there; when it reads as an address without its scheme,
    the error says which address was probably meant."""
    if _HOST_AND_PATH.match(target):
        return InputError(f"{target}: no such file; did you mean https://{target}?")
    return InputError(f"{target}: no such file")


def _pages(
    items: list[Item],
    settings: FetchSettings,
    fetcher: Fetcher,
    advance: Callable[[], None] = lambda: None,
) -> Iterator[tuple[str, Page | ScraperError]]:
    """Each input's page, or the error that stopped it, in input order."""
    from scraper.fetch import is_local, read_local

    for target, url in items:
        try:
            if isinstance(url, ScraperError):
                raise url
            if is_local(target):
                if "://" not in target and not Path(target).exists():
                    raise _missing(target)
                yield target, read_local(target, url=url, max_bytes=settings.max_bytes)
            else:
                yield target, fetcher.fetch(target)
        except ScraperError as exc:
            yield target, exc
        finally:
            advance()


def read_pairs(listing: Path) -> list[Item]:
    """The saved pages a ``--pairs`` file names, one ``path,url`` CSV line each (a first line
    whose second cell is no web address is a header). A relative path is taken from the
    list's own directory, so a list travels with its pages. A bad line is an error of its own,
    in its place in the batch."""
    import csv

    from scraper.fetch import is_local

    try:
        text = listing.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"--pairs {listing}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InputError(f"--pairs {listing}: cannot read ({why})") from None
    items: list[Item] = []
    for number, cells in enumerate(csv.reader(text.splitlines()), 1):
        cells = [c.strip() for c in cells]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and (len(cells) < 2 or not is_web_url(cells[1])):
            continue  # a header: path,url
        where = f"{listing} line {number}"
        if len(cells) != 2 or not cells[0]:
            items.append((where, InputError(f"{where}: wants path,url")))
            continue
        path, url = cells
        if not is_web_url(url):
            items.append((where, InputError(f"{where}: {url!r} is not a web address")))
            continue
        if not is_local(path):
            items.append((where, InputError(f"{where}: {path!r} is not a saved page's path")))
            continue
        items.append((path if path.startswith("file:") else str(listing.parent / path), url))
    return items


PairsOption = Annotated[
    Path | None,
    typer.Option(
        "--pairs",
        metavar="FILE",
        help="Saved pages and the addresses they came from: a CSV file of path,url lines "
        "(a header line optional; paths relative to the file).",
        dir_okay=False,
    ),
]


def fetch(
    targets: Annotated[
        list[str] | None,
        typer.Argument(metavar="URL|PATH", help="URLs, saved pages or file:// URLs."),
    ] = None,
    db: DbOption = DEFAULT_DB,
    url: UrlOption = None,
    pairs: PairsOption = None,
    as_json: JsonOption = False,
    user_agent: UserAgentOption = DEFAULT_USER_AGENT,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    max_bytes: MaxBytesOption = DEFAULT_MAX_BYTES,
    retries: RetriesOption = DEFAULT_RETRIES,
    quiet: NoProgressOption = False,
    create_dirs: CreateDirsOption = False,
    attachments: Annotated[
        bool,
        typer.Option(
            "--attachments/--no-attachments",
            help="Also fetch the files a fetched article attaches (附件: PDF, Word, Excel, OFD "
            f"...; each up to {ATTACHMENT_MAX_BYTES // 2**20} MiB) and keep them with their text.",
        ),
    ] = True,
) -> None:
    """Fetch pages, parse them and store one record per article in the archive.

    Prints one line per page: id, new/updated/unchanged, published, source, title. The files
    an article attaches are fetched with it (not for saved pages: their links lead to disk).
    """
    from scraper.fetch import Fetcher

    batch = Batch()
    settings = fetch_settings(user_agent, timeout, max_bytes, retries)
    targets = targets or []
    with reported():
        _check_url_option(targets, url)
        items: list[Item] = [(t, url) for t in targets]
        if pairs is not None:
            items += read_pairs(pairs)
        if not items:
            raise InputError("nothing to fetch: give URLs or saved pages, or --pairs FILE")
        with (
            open_archive(db, create_dirs=create_dirs) as archive,
            Fetcher(settings) as fetcher,
            output.counted("fetching", len(items), show=_long(items, quiet)) as advance,
        ):
            pages = _pages(items, settings, fetcher, advance)
            _fetch_all(archive, pages, batch, as_json, fetcher if attachments else None)
    raise typer.Exit(batch.code)


def _long(items: list[Item], quiet: bool) -> bool:
    """A batch worth a progress bar: more than one page, on a terminal."""
    return len(items) > 1 and output.show_progress(quiet)


def _fetch_all(
    archive: Archive,
    pages: Iterator[tuple[str, Page | ScraperError]],
    batch: Batch,
    as_json: bool,
    attachments_by: Fetcher | None = None,
) -> None:
    from scraper.fetch import is_local

    counters = Counters()
    for target, got in pages:
        parsed: Article | ScraperError | None = None
        if isinstance(got, Page):
            try:
                parsed = safe_parse(got)
            except ParseError as exc:
                parsed = exc
        done = record(archive, got, parsed, counters)
        if done.saved is not None and attachments_by is not None and not is_local(target):
            fetch_attachments(archive, attachments_by, done.saved.id, on_failure=_no_attachment)
        if done.saved is not None:
            _report_saved(archive, done.saved, as_json)
        elif done.error is not None:
            batch.fail(done.error, target)


def _no_attachment(error: ScraperError) -> None:
    """An attachment that could not be had: said on stderr; the article is kept without it
    (its row keeps the reason), so the batch's exit code is not changed."""
    output.warning(f"attachment not kept: {error}")


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
    from scraper.fetch import Fetcher

    with reported():
        _check_url_option(targets, url)
    batch = Batch()
    settings = fetch_settings(user_agent, timeout, max_bytes, retries)
    with Fetcher(settings) as fetcher:
        for target, got in _pages([(t, url) for t in targets], settings, fetcher):
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
    keys: Annotated[
        list[str] | None, typer.Argument(metavar="ID|URL", help="Ids or URLs (default: all).")
    ] = None,
    db: DbOption = DEFAULT_DB,
    quiet: NoSummaryOption = False,
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
        rejected = [] if keys else archive.rejected_pages()
        total = len(rows) + len(rejected)
        show = total > 1 and output.show_progress(quiet)
        with output.counted("reparsing", total, show=show) as advance:
            for row in rows:
                advance()
                try:
                    result = archive.reparse(int(row["id"]), safe_parse)
                except ScraperError as exc:
                    counts["failed"] += 1
                    batch.fail(exc, str(row["url"]))
                    continue
                counts[result.status.value if result.status.value in counts else "updated"] += 1
            for fetch_id in rejected:
                advance()
                try:
                    saved = archive.reconsider(fetch_id, safe_parse)
                except ScraperError as exc:
                    counts["failed"] += 1
                    batch.fail(exc, f"fetch {fetch_id}")
                    continue
                if saved is not None:
                    recovered += 1
                    _report_saved(archive, saved, as_json=False)
    if batch.code != EXIT_OK or not quiet:
        output.summary(
            f"reparsed {len(rows)}: updated {counts['updated']}, "
            f"unchanged {counts['unchanged']}, failed {counts['failed']}; "
            f"pages not taken as articles {len(rejected)}, now stored {recovered}"
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
    create_dirs: CreateDirsOption = False,
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
        with open_archive(db, create_dirs=create_dirs) as archive, sigterm_interrupts():
            show_bar = output.show_progress(quiet)
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
    from scraper.warc import import_warc

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
