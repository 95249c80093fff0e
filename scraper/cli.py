"""The command line: the only module that prints or exits, and the only typer importer.

Every expected failure is a ``ScraperError``; ``exit_code_for`` turns it into the documented
exit code in one place. In a batch, one input's failure is reported and the rest go on.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from scraper import __version__
from scraper.archive import Archive
from scraper.archive.base import environment_fault
from scraper.crawl import CrawlOptions, CrawlStats, crawl_lock, default_processes
from scraper.crawl import crawl as run_crawl
from scraper.crawl.config import CONFIG_ENV, SiteConfig, config_path, load_config
from scraper.datasette import metadata_for
from scraper.errors import (
    ArchiveError,
    BlockedError,
    ConfigError,
    FetchError,
    InputError,
    LockError,
    ParseError,
    ScraperError,
)
from scraper.fetch import DEFAULT_USER_AGENT, Fetcher, FetchSettings, is_local, read_local
from scraper.models import Article, Page, SaveResult
from scraper.pipeline import Counters, record, safe_parse
from scraper.urls import is_web_url
from scraper.warc import ImportStats, export_warc, import_warc

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
EXIT_CONFIG = 4
EXIT_LOCKED = 5
EXIT_BLOCKED = 6
EXIT_ARCHIVE = 7
EXIT_INTERRUPTED = 130

app = typer.Typer(
    name="archiver",
    help="Capture republished government articles into one deduplicated SQLite archive.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DbOption = Annotated[
    Path,
    typer.Option(
        "--db",
        envvar="ARCHIVER_DB",
        help="Archive database (created on first use).",
        dir_okay=False,
    ),
]
UrlOption = Annotated[
    str | None,
    typer.Option("--url", help="Where a saved page came from (one local file only)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON Lines.")]
UserAgentOption = Annotated[
    str,
    typer.Option("--user-agent", envvar="ARCHIVER_USER_AGENT", help="User-Agent header to send."),
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", min=0.1, help="Whole-page deadline in seconds.")
]
MaxBytesOption = Annotated[
    int, typer.Option("--max-bytes", min=1, help="Refuse pages larger than this many bytes.")
]
RetriesOption = Annotated[
    int, typer.Option("--retries", min=0, help="Retries on connection errors, 5xx and 429.")
]


def exit_code_for(error: BaseException) -> int:
    """The documented exit code of an error (the README's table)."""
    if environment_fault(error):  # the disk, the file or another writer: not a bug
        return EXIT_ARCHIVE
    if isinstance(error, InputError):
        return EXIT_USAGE
    if isinstance(error, ConfigError):
        return EXIT_CONFIG
    if isinstance(error, LockError):
        return EXIT_LOCKED
    if isinstance(error, ArchiveError):
        return EXIT_ARCHIVE
    if isinstance(error, BlockedError):
        return EXIT_BLOCKED
    if isinstance(error, (FetchError, ParseError)):
        return EXIT_FAILED
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(error, ScraperError):
        return EXIT_FAILED
    return EXIT_UNEXPECTED


# What a page may carry that a terminal would act on rather than show: C0 controls, DEL, C1
# controls (ESC and CSI sequences, BEL, a carriage return over the line) and the bidirectional
# formatting characters that reorder what follows (U+202E shows "gpj.exe" as "exe.jpg").
# Plain-text output shows each as a visible escape, ``\x1b`` or ``\u202e``: on a terminal and
# in a pipe alike. JSON output is left exact (json.dumps escapes the controls itself).
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE_LINE = re.compile(f"[\t\n{_UNSAFE}]")
_UNSAFE_TEXT = re.compile(f"[{_UNSAFE}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(value: object, *, multiline: bool = False) -> str:
    """``value`` as text fit for a terminal: controls and bidi overrides as visible escapes.

    ``multiline`` keeps line feeds and tabs (an article's body); otherwise they are escaped
    too, so one field stays on its line and in its column.
    """
    text = value if isinstance(value, str) else str(value)
    return (_UNSAFE_TEXT if multiline else _UNSAFE_LINE).sub(_escape, text)


# Spreadsheets run a cell that starts with these as a formula (=HYPERLINK(...), =cmd|...).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A CSV cell a spreadsheet shows as text: a leading ``'`` before a formula's first sign
    (OWASP's advice); every other value exactly as stored."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _error(message: str) -> None:
    typer.echo(f"error: {safe(message)}", err=True)


# The archive the command is using, to name it when the disk or the file fails us.
_current_db: list[str] = []


def _fault(error: BaseException) -> ArchiveError | None:
    """A SQLite or OS error of the environment (full or read-only disk, I/O error, corrupt
    file, a lock held past the busy timeout) as the ArchiveError it is; None for anything else
    (a bug, to be reported as one)."""
    if not environment_fault(error):
        return None
    if isinstance(error, OSError) and not isinstance(error, sqlite3.Error):
        where = f"{error.filename}: " if error.filename else ""
        detail = f"{where}{error.strerror or error}"
    else:
        detail = str(error)
    archive = f"archive {_current_db[-1]}" if _current_db else "the archive"
    return ArchiveError(f"cannot use {archive}: {detail}")


@dataclass
class _Batch:
    """Tracks the first failure of a batch: its exit code is the command's."""

    code: int = EXIT_OK

    def fail(self, error: BaseException, target: str) -> None:
        text = str(error)
        _error(text if target in text else f"{target}: {text}")
        if self.code == EXIT_OK:
            self.code = exit_code_for(error)


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


@contextmanager
def _reported() -> Iterator[None]:
    """Turn an error that ends a whole command into one stderr line and its exit code."""
    try:
        yield
    except ScraperError as exc:
        _error(str(exc))
        raise typer.Exit(exit_code_for(exc)) from None
    except (sqlite3.Error, OSError) as exc:
        fault = _fault(exc)
        if fault is None:
            raise
        _error(str(fault))
        raise typer.Exit(EXIT_ARCHIVE) from None


def _open(db: Path, *, readonly: bool = False) -> Archive:
    """Open the archive a command works on (read commands: ``readonly``, never changing it)."""
    _current_db.append(str(db))
    return Archive.open(db, readonly=True) if readonly else Archive.open(db)


@contextmanager
def _crawl_lock(db: Path) -> Iterator[None]:
    """The crawl's lock on ``db``; a lock file the disk will not take (read-only, full, no
    permission) is an ArchiveError (exit 7), not a crash."""
    with ExitStack() as stack:
        try:
            stack.enter_context(crawl_lock(db))
        except OSError as exc:
            if not environment_fault(exc):
                raise
            raise ArchiveError(
                f"cannot lock archive {db} ({db}.lock): {exc.strerror or exc}"
            ) from exc
        yield


def _settings(user_agent: str, timeout: float, max_bytes: int, retries: int) -> FetchSettings:
    return FetchSettings(
        user_agent=user_agent,
        total_timeout=timeout,
        read_timeout=min(30.0, timeout),
        max_bytes=max_bytes,
        retries=retries,
    )


def _row_json(row: dict[str, Any]) -> str:
    row = dict(row)
    row["is_article"] = bool(row.get("is_article"))
    return json.dumps(row, ensure_ascii=False)


@app.command()
def fetch(
    targets: Annotated[list[str], typer.Argument(help="URLs, saved pages or file:// URLs.")],
    db: DbOption = Path("archive.db"),
    url: UrlOption = None,
    as_json: JsonOption = False,
    user_agent: UserAgentOption = DEFAULT_USER_AGENT,
    timeout: TimeoutOption = 60.0,
    max_bytes: MaxBytesOption = 10 * 1024 * 1024,
    retries: RetriesOption = 3,
) -> None:
    """Fetch pages, parse them and store one record per article in the archive.

    Prints one line per page: id, new/updated/unchanged, published, source, title.
    """
    batch = _Batch()
    settings = _settings(user_agent, timeout, max_bytes, retries)
    with _reported():
        _check_url_option(targets, url)
        with _open(db) as archive:
            _fetch_all(archive, _pages(targets, url, settings), batch, as_json)
    raise typer.Exit(batch.code)


def _fetch_all(
    archive: Archive,
    pages: Iterator[tuple[str, Page | ScraperError]],
    batch: _Batch,
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
    if as_json:
        row = archive.get(result.id)
        typer.echo(_row_json({**(row or {}), "status": result.status.value}))
        return
    a = result.article
    fields = [str(result.id), result.status.value, a.published or "-", a.source or "-", a.title]
    typer.echo("\t".join(safe(f or "-") for f in fields))


@app.command()
def parse(
    targets: Annotated[list[str], typer.Argument(help="URLs, saved pages or file:// URLs.")],
    url: UrlOption = None,
    as_json: JsonOption = False,
    user_agent: UserAgentOption = DEFAULT_USER_AGENT,
    timeout: TimeoutOption = 60.0,
    max_bytes: MaxBytesOption = 10 * 1024 * 1024,
    retries: RetriesOption = 3,
) -> None:
    """Show what the parser makes of pages, without storing anything.

    With --json, exactly one JSON object per input, in input order (an "error" key on failure).
    """
    with _reported():
        _check_url_option(targets, url)
    batch = _Batch()
    settings = _settings(user_agent, timeout, max_bytes, retries)
    for target, got in _pages(targets, url, settings):
        try:
            if isinstance(got, ScraperError):
                raise got
            article = safe_parse(got)
        except ScraperError as exc:
            batch.fail(exc, target)
            if as_json:
                typer.echo(json.dumps({"input": target, "error": str(exc)}, ensure_ascii=False))
            continue
        if as_json:
            record = {**article.to_dict(), "encoding": got.encoding}
            typer.echo(json.dumps(record, ensure_ascii=False))
        else:
            _print_article(article.to_dict())
    raise typer.Exit(batch.code)


def _print_article(record: dict[str, Any]) -> None:
    """A record, readably: the short fields as ``name: value`` lines, then the long texts."""
    long_fields = ("body", "disclaimer", "footer")
    width = max(len(k) for k in record)
    for key, value in record.items():
        if key in long_fields:
            continue
        if isinstance(value, bool):
            value = "yes" if value else "no"
        typer.echo(f"{key:<{width}}  {safe(value) if value is not None else '-'}")
    for key in long_fields:
        value = record.get(key)
        typer.echo(f"\n[{key}]")
        typer.echo(safe(value, multiline=True) if value else "-")


@app.command()
def show(
    key: Annotated[str, typer.Argument(help="Article id or URL.")],
    db: DbOption = Path("archive.db"),
    as_json: JsonOption = False,
) -> None:
    """Print one stored record readably (or as JSON)."""
    with _reported(), _open_existing(db) as archive:
        row = _find(archive, key, db)
        fetches = archive.fetches_for(int(row["id"]))
    if as_json:
        typer.echo(_row_json(row))
        return
    row = dict(row)
    row["is_article"] = bool(row["is_article"])
    row.pop("raw_sha256", None)
    _print_article(row)
    typer.echo(f"\n[fetches] {len(fetches)}")
    for f in fetches:
        typer.echo(f"{safe(f['time'])}  {f['status'] or '-'}  {safe(f['final_url'] or f['url'])}")


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"archiver {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=version_callback, is_eager=True, help="Show version."),
    ] = False,
) -> None:
    """Capture republished government articles into one deduplicated SQLite archive."""


def main() -> None:
    """Console entry point: run the app, turning errors into one stderr line and an exit code."""
    try:
        code = app(standalone_mode=False)
    except (KeyboardInterrupt, typer.Abort):
        _error("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except ScraperError as exc:
        _error(str(exc))
        sys.exit(exit_code_for(exc))
    except Exception as exc:  # click's usage errors, environment faults and genuine bugs
        fault = _fault(exc)
        if fault is not None:
            _error(str(fault))
            sys.exit(EXIT_ARCHIVE)
        code = getattr(exc, "exit_code", None)
        if code is not None:
            show_ = getattr(exc, "show", None)
            if callable(show_):
                show_()
            else:
                _error(str(exc))
            sys.exit(int(code))
        _error(f"unexpected {type(exc).__name__}: {exc} (please report this)")
        if os.environ.get("ARCHIVER_DEBUG"):
            raise
        sys.exit(EXIT_UNEXPECTED)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


# ====================================================================== crawl (issue 4)
# `archiver sites` and `archiver crawl`: configuration errors exit 4, a held lock 5, more
# failed pages than --max-failures 3, an interrupt 130. The progress bar lives here only.

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar=CONFIG_ENV,
        help="Site configuration (default: sites.toml in the working directory).",
        dir_okay=False,
    ),
]


def _load_sites(config: Path | None, names: list[str] | None = None) -> list[SiteConfig]:
    return _load(config, names)[0]


def _load(
    config: Path | None, names: list[str] | None = None
) -> tuple[list[SiteConfig], str | None]:
    """The chosen sites (all when ``names`` is empty) and the config's [frontier] url."""
    loaded = load_config(config_path(config))
    if not names:
        return list(loaded.sites), loaded.frontier
    unknown = [n for n in names if loaded.site(n) is None]
    if unknown:
        known = ", ".join(s.name for s in loaded.sites)
        raise InputError(f"no site {unknown[0]!r} in {loaded.path} (sites: {known})")
    return [s for s in loaded.sites if s.name in names], loaded.frontier


@app.command()
def sites(config: ConfigOption = None) -> None:
    """List the configured sites: name, start URLs, delay, revisit interval."""
    with _reported():
        for site in _load_sites(config):
            extra = [f"{len(site.sitemaps)} sitemaps"] if site.sitemaps else []
            extra += [f"{len(site.feeds)} feeds"] if site.feeds else []
            typer.echo(
                "\t".join(
                    [
                        site.name,
                        " ".join(site.start_urls),
                        f"delay {site.delay:g}s",
                        f"revisit {site.revisit_after / 3600:g}h",
                        *extra,
                    ]
                )
            )


def _since(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        raise InputError(f"--since wants a date like 2026-11-01, not {value!r}") from None


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """cron and systemd stop jobs with SIGTERM: treat it like Ctrl-C so the run row is closed."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (a test runner)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@app.command()
def crawl(
    site_names: Annotated[
        list[str] | None, typer.Argument(metavar="[SITE]...", help="Sites to crawl (default: all).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Skip articles dated before this day.")
    ] = None,
    max_pages: Annotated[
        int | None, typer.Option("--max-pages", min=1, help="Stop after fetching this many pages.")
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", min=1, help="Stop after this many seconds.")
    ] = None,
    max_failures: Annotated[
        int, typer.Option("--max-failures", min=0, help="Exit 3 after more failed pages than this.")
    ] = 10,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes",
            min=0,
            help="Worker processes that fetch, each with one that parses when there are two "
            "or more (default: one per core but one, up to 4; 0: threads in this process).",
        ),
    ] = None,
    config: ConfigOption = None,
    db: DbOption = Path("archive.db"),
    frontier: CrawlFrontierOption = None,
    enqueue: EnqueueOption = False,
) -> None:
    """Crawl the configured sites: new articles are archived, known ones revisited when due.

    Prints a one-line summary on stderr; one run at a time per archive (a second exits with 5).
    """
    code = EXIT_OK
    with _reported():
        chosen, configured_frontier = _load(config, site_names)
        frontier = frontier or configured_frontier  # --frontier, else sites.toml's [frontier]
        if frontier is not None or enqueue:  # distributed (issue 7): see the end of this file
            if since or max_pages:
                raise InputError("--since and --max-pages apply to local crawls, not --frontier")
            raise typer.Exit(
                _crawl_frontier(frontier, enqueue, chosen, db, time_limit, max_failures, quiet)
            )
        options = CrawlOptions(
            since=_since(since),
            max_pages=max_pages,
            time_limit=time_limit,
            max_failures=max_failures,
            processes=default_processes() if processes is None else processes,
        )
        with _crawl_lock(db), _open(db) as archive, _sigterm_interrupts():
            show_bar = not quiet and sys.stderr.isatty()
            try:
                stats = _crawl_with_progress(archive, chosen, options, show_bar)
            except KeyboardInterrupt:
                _error("interrupted; run again to resume")
                _finish_run(archive, EXIT_INTERRUPTED)
                raise typer.Exit(EXIT_INTERRUPTED) from None
            except (ArchiveError, sqlite3.Error, OSError) as exc:
                if isinstance(exc, ArchiveError) or environment_fault(exc):
                    _close_failed_run(archive)
                raise
            code = _run_outcome(archive, stats.run_id, stats.outcome)
    raise typer.Exit(_report_run(code, stats.summary(), max_failures, quiet))


def _run_outcome(archive: Archive, run_id: int, outcome: str) -> int:
    """A finished run's exit code (3 after too many failures), kept in its ``runs`` row."""
    code = EXIT_FAILED if outcome == "too many failures" else EXIT_OK
    archive.run_update(run_id, {"exit_code": code})
    return code


def _report_run(code: int, summary: str, max_failures: int | None, quiet: bool) -> int:
    """The summary line on stderr (always on failure), after why it failed."""
    if code != EXIT_OK:
        _error(f"more than {max_failures} pages failed; see the fetches table")
    if code != EXIT_OK or not quiet:
        typer.echo(summary, err=True)
    return code


def _close_failed_run(archive: Archive) -> None:
    """A crawl the archive failed (a full disk): close its ``runs`` row if the archive still
    takes that write; if not, the next run closes it (``Archive.run_start``)."""
    from datetime import UTC, datetime

    try:
        run_id = archive.latest_run()
    except (ArchiveError, sqlite3.Error):
        return
    if run_id is not None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        archive.close_run(run_id, now, "archive error", EXIT_ARCHIVE)


def _finish_run(archive: Archive, code: int) -> None:
    run_id = archive.latest_run()
    if run_id is not None:
        archive.run_update(run_id, {"exit_code": code})


def _crawl_with_progress(
    archive: Archive, chosen: list[SiteConfig], options: CrawlOptions, show_bar: bool
) -> CrawlStats:
    if not show_bar:
        return run_crawl(archive, chosen, options)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if options.max_pages:
        columns.append(BarColumn())
    console = Console(stderr=True)  # stdout stays free for data
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("crawling", total=options.max_pages)

        def update(stats: CrawlStats, url: str) -> None:
            bar.update(
                task,
                completed=stats.pages,
                description=(
                    f"{stats.pages} pages · new {stats.new} · changed {stats.changed} · "
                    f"failed {stats.failed}"
                ),
            )

        return run_crawl(archive, chosen, options, progress=update)


# ====================================================================== query (issue 5)
# history, search, export, reparse, stats, datasette-metadata: reading the archive back.


def _open_existing(db: Path, *, readonly: bool = True) -> Archive:
    """An archive that must exist; read commands open it read-only (it may be on read-only
    media or a share; it is never migrated or changed, and a SQLite file that is not an
    archive is refused untouched)."""
    if not db.exists():
        raise ArchiveError(f"no archive at {db}")
    return _open(db, readonly=readonly)


def _find(archive: Archive, key: str, db: Path) -> dict[str, Any]:
    row = archive.get(int(key) if key.isdecimal() else key)  # not isdigit(): "²" is a digit
    if row is None:
        raise InputError(f"no article {key!r} in {db}")
    return row


@app.command()
def history(
    key: Annotated[str, typer.Argument(help="Article id or URL.")],
    db: DbOption = Path("archive.db"),
    diff: Annotated[bool, typer.Option("--diff/--no-diff", help="Show what changed.")] = True,
) -> None:
    """List the versions of an article, oldest first, with a diff between each two."""
    with _reported(), _open_existing(db) as archive:
        row = _find(archive, key, db)
        versions = archive.history(int(row["id"]))
    typer.echo(f"{row['id']}  {safe(row['url'])}  ({len(versions)} version(s))")
    for n, v in enumerate(versions, 1):
        current = "  (current)" if n == len(versions) else ""
        typer.echo(f"v{n}  {v['first_seen']} .. {v['last_seen']}  {safe(v['title'])}{current}")
    if not diff:
        return
    for n in range(1, len(versions)):
        before, after = versions[n - 1], versions[n]
        typer.echo(f"\n--- v{n}\n+++ v{n + 1}")
        typer.echo(safe(_diff(before, after), multiline=True), nl=False)


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


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Terms of any length; all must match.")],
    db: DbOption = Path("archive.db"),
    site: Annotated[str | None, typer.Option("--site", help="A host or site name.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Published on or after.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 20,
    as_json: JsonOption = False,
) -> None:
    """Full-text search over titles and bodies, ranked, with highlighted snippets."""
    with _reported(), _open_existing(db) as archive:
        hits = archive.search(query, site=site, since=_since(since), limit=limit)
    color = sys.stdout.isatty() and not as_json
    for hit in hits:
        if as_json:
            typer.echo(json.dumps(asdict(hit), ensure_ascii=False))
            continue
        snippet = safe(hit.snippet)
        if color:  # our own colour codes, after the page's text is made safe
            snippet = snippet.replace("【", "\x1b[1;33m").replace("】", "\x1b[0m")
        fields = (hit.published or "-", hit.site or "-", hit.title or "-")
        typer.echo("\t".join([str(hit.id), *(safe(f) for f in fields)]))
        typer.echo(f"    {snippet}")


@app.command()
def export(
    db: DbOption = Path("archive.db"),
    fmt: Annotated[str, typer.Option("--format", help="jsonl, csv or warc.")] = "jsonl",
    site: Annotated[str | None, typer.Option("--site", help="A host or site name.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Published on or after.")] = None,
    output: Annotated[
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
    with _reported():
        if fmt not in ("jsonl", "csv", "warc"):
            raise InputError(f"unknown format {fmt!r}: use jsonl, csv or warc")
        if fmt == "warc":
            if output is None:
                raise InputError("--format warc writes a binary file: give -o FILE.warc.gz")
            with _open_existing(db) as archive:
                done = export_warc(archive, output, site=site, since=_since(since))
            typer.echo(done.summary(), err=True)
            return
        with _open_existing(db) as archive, _text_output(output) as out:
            rows = archive.articles(site=site, since=_since(since))
            if fmt == "jsonl":
                for row in rows:
                    typer.echo(_row_json(row), file=out)
                return
            import csv

            writer: Any = None
            for row in rows:
                if writer is None:
                    writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\n")
                    writer.writeheader()
                writer.writerow({k: csv_cell(v) for k, v in row.items()})


@contextmanager
def _text_output(output: Path | None) -> Iterator[Any]:
    """stdout, or the -o file (an OSError becomes an ArchiveError naming it)."""
    if output is None:
        yield sys.stdout
        return
    try:
        fh = output.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise ArchiveError(f"cannot write {output}: {exc.strerror}") from exc
    with fh:
        yield fh


@app.command()
def reparse(
    keys: Annotated[list[str] | None, typer.Argument(help="Ids or URLs (default: all).")] = None,
    db: DbOption = Path("archive.db"),
) -> None:
    """Re-extract stored raw pages with the current parser; changed records keep versions.

    Without ids, pages earlier judged not to be articles (kept as raw bytes) are parsed again
    too, and stored where the parser now keeps them.
    """
    counts = {"updated": 0, "unchanged": 0, "failed": 0}
    recovered = 0
    batch = _Batch()
    with _reported(), _open_existing(db, readonly=False) as archive:
        rows = [_find(archive, k, db) for k in keys] if keys else list(archive.articles())
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
    typer.echo(
        f"reparsed {len(rows)}: updated {counts['updated']}, unchanged {counts['unchanged']}, "
        f"failed {counts['failed']}; pages not taken as articles {len(rejected)}, "
        f"now stored {recovered}",
        err=True,
    )
    raise typer.Exit(batch.code)


@app.command()
def stats(db: DbOption = Path("archive.db"), as_json: JsonOption = False) -> None:
    """The archive's figures: articles, works, versions, fetches, sizes, runs."""
    with _reported(), _open_existing(db) as archive:
        figures = archive.stats()
    if as_json:
        typer.echo(json.dumps(figures, ensure_ascii=False))
        return
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        typer.echo(f"{key:<{width}}  {safe(value) if value is not None else '-'}")


@app.command("datasette-metadata")
def datasette_metadata(db: DbOption = Path("archive.db")) -> None:
    """Print Datasette metadata (titles, facets, search, canned queries) for the archive."""
    typer.echo(json.dumps(metadata_for(db.stem), ensure_ascii=False, indent=2))


# ====================================================================== WARC import (issue 8)
# `archiver import FILE.warc[.gz]...`: one `error:` line per bad record (with its offset) or
# failed page, the rest still imported; a summary line on stderr; a progress bar on a terminal.


@app.command("import")
def import_warcs(
    files: Annotated[
        list[Path],
        typer.Argument(metavar="WARC", help="WARC files (.warc or .warc.gz)."),
    ],
    db: DbOption = Path("archive.db"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary line.")] = False,
) -> None:
    """Archive every HTML page in WARC files, as a fetch would, dated by their WARC-Date.

    Non-HTML records are counted and skipped; a bad record is reported with its offset.

    Exit 3 if any record or page failed; the rest is still imported.
    """
    batch = _Batch()
    with _reported():
        missing = [f for f in files if not f.is_file()]
        if missing:
            raise InputError(f"{missing[0]}: no such file")
        with _open(db) as archive, _sigterm_interrupts():
            show_bar = not quiet and sys.stderr.isatty()
            try:
                stats = _import_with_progress(archive, files, show_bar, batch)
            except KeyboardInterrupt:
                _error("interrupted; run again to resume (archived captures are skipped)")
                raise typer.Exit(EXIT_INTERRUPTED) from None
    if batch.code != EXIT_OK or not quiet:
        typer.echo(stats.summary(), err=True)
    raise typer.Exit(batch.code)


def _import_with_progress(
    archive: Archive, files: list[Path], show_bar: bool, batch: _Batch
) -> ImportStats:
    def report(error: ScraperError) -> None:
        batch.fail(error, str(getattr(error, "path", "")))

    if not show_bar:
        return import_warc(archive, files, parse=safe_parse, on_error=report)
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    sizes = {f: f.stat().st_size for f in files}
    done_before: dict[Path, int] = {}
    total = 0
    for f in files:
        done_before[f] = total
        total += sizes[f]
    console = Console(stderr=True)  # stdout stays free for data
    columns = [TextColumn("{task.description}"), BarColumn(), DownloadColumn()]
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("importing", total=total)

        def progress(path: Path, offset: int) -> None:
            bar.update(task, completed=done_before[path] + offset, description=path.name)

        return import_warc(archive, files, parse=safe_parse, progress=progress, on_error=report)


# ====================================================================== distributed (issue 7)
# `archiver worker`, `archiver ingest`, `archiver status`, and `crawl --frontier/--enqueue`.
# scraper.crawl.distributed (and with it psycopg) is imported inside these commands only, so the
# local crawl and every other command run without psycopg installed.

FrontierOption = Annotated[
    str | None,
    typer.Option(
        "--frontier",
        envvar="ARCHIVER_FRONTIER",
        help="PostgreSQL frontier (postgresql://...) for a crawl spread over many machines.",
    ),
]
# On `crawl`, only the option itself switches to a distributed crawl: an ARCHIVER_FRONTIER
# exported for the workers must never turn a plain local `archiver crawl` into one.
CrawlFrontierOption = Annotated[
    str | None,
    typer.Option(
        "--frontier",
        help="Queue the sites in this PostgreSQL frontier and ingest the workers' results.",
    ),
]
EnqueueOption = Annotated[
    bool,
    typer.Option("--enqueue", help="With --frontier: queue the sites for the workers and exit."),
]
GiveUpOption = Annotated[
    float,
    typer.Option(
        "--give-up-after",
        min=0,
        help="Exit 7 after this many seconds without PostgreSQL (0: never).",
    ),
]


def _need_frontier(frontier: str | None) -> str:
    if not frontier:
        raise InputError("--frontier postgresql://... (or ARCHIVER_FRONTIER) is required")
    return frontier


def _crawl_frontier(
    frontier: str | None,
    enqueue: bool,
    chosen: list[SiteConfig],
    db: Path,
    time_limit: float | None,
    max_failures: int | None,
    quiet: bool,
) -> int:
    """Queue the sites in the frontier; without --enqueue, then ingest until the workers are
    done (the coordinating crawl), exiting 3 after more than ``max_failures`` failed pages."""
    from scraper.crawl import distributed

    url = _need_frontier(frontier)
    seeded = distributed.enqueue(url, chosen)
    if enqueue:
        if not quiet:
            typer.echo(f"queued {seeded} URLs of {len(chosen)} sites", err=True)
        return EXIT_OK
    return _ingest(
        url, db, until_idle=True, time_limit=time_limit, max_failures=max_failures, quiet=quiet
    )


def _ingest(
    url: str,
    db: Path,
    *,
    until_idle: bool,
    time_limit: float | None,
    quiet: bool,
    max_failures: int | None = None,
    give_up_after: float | None = None,
) -> int:
    from scraper.crawl import distributed

    log = _error if not quiet else distributed.no_log
    with _crawl_lock(db), _open(db) as archive, _sigterm_interrupts():
        ingest_ = distributed.Ingest(
            url,
            archive,
            until_idle=until_idle,
            time_limit=time_limit,
            max_failures=max_failures,
            log=log,
            give_up_after=give_up_after,
        )
        try:
            stats = ingest_.run()
        except KeyboardInterrupt:
            _error("interrupted; run again to resume")
            return EXIT_INTERRUPTED
        code = _run_outcome(archive, stats.run_id, stats.outcome)
    return _report_run(code, stats.summary(), max_failures, quiet)


@app.command()
def worker(
    frontier: FrontierOption = None,
    threads: Annotated[
        int, typer.Option("--threads", min=1, help="Pages fetched at once by this process.")
    ] = 4,
    lease: Annotated[
        float,
        typer.Option("--lease", min=1, help="Seconds a claimed URL is ours (> slowest fetch)."),
    ] = 300.0,
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Exit when nothing is due or leased.")
    ] = False,
    max_pages: Annotated[
        int | None, typer.Option("--max-pages", min=1, help="Exit after this many pages.")
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", min=1, help="Exit after this many seconds.")
    ] = None,
    give_up_after: GiveUpOption = 600.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
) -> None:
    """Fetch and parse for a distributed crawl: claim URLs from the frontier, push results.

    Run any number, on any machines; PostgreSQL restarts are waited out. Stop with SIGTERM.
    """
    with _reported():
        from scraper.crawl import distributed

        url = _need_frontier(frontier)
        options = distributed.WorkerOptions(
            threads=threads,
            lease=lease,
            until_idle=until_idle,
            max_pages=max_pages,
            time_limit=time_limit,
            give_up_after=give_up_after,
        )
        log = _error if not quiet else distributed.no_log
        run = distributed.Worker(url, options, log=log)
        with _sigterm_interrupts():
            try:
                stats = run.run()
            except KeyboardInterrupt:
                run.stop.set()
                _error("interrupted")
                raise typer.Exit(EXIT_INTERRUPTED) from None
    if not quiet:
        typer.echo(stats.summary(), err=True)


@app.command()
def ingest(
    frontier: FrontierOption = None,
    db: DbOption = Path("archive.db"),
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Exit when the workers have nothing left.")
    ] = False,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", min=1, help="Exit after this many seconds.")
    ] = None,
    give_up_after: GiveUpOption = 600.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
) -> None:
    """Write the workers' results into the archive: the one writer, exactly once.

    Holds the archive's crawl lock (a local crawl meanwhile exits with 5) and the frontier's
    ingest lock. Runs until stopped, or with --until-idle until the queue is drained.
    """
    with _reported():
        code = _ingest(
            _need_frontier(frontier),
            db,
            until_idle=until_idle,
            time_limit=time_limit,
            quiet=quiet,
            give_up_after=give_up_after,
        )
    raise typer.Exit(code)


@app.command("status")
def frontier_status(frontier: FrontierOption = None, as_json: JsonOption = False) -> None:
    """A distributed crawl's state: queue depth per host, leases, failures, workers alive."""
    with _reported():
        from scraper.crawl import distributed

        figures = distributed.status(_need_frontier(frontier))
    if as_json:
        typer.echo(json.dumps(figures, ensure_ascii=False))
        return
    totals = figures["totals"]
    width = max(len(k) for k in totals)
    for key, value in totals.items():
        typer.echo(f"{key:<{width}}  {value}")
    typer.echo("\nhost\tdue\tleased\tfailed\turls")
    for h in figures["hosts"]:
        typer.echo("\t".join(safe(h[k]) for k in ("host", "due", "leased", "failed", "urls")))
    typer.echo("\nworker\tseen (s ago)\tpages\tfailures")
    for w in figures["workers"]:
        typer.echo(f"{w['id']}\t{w['seen_ago']}\t{w['pages']}\t{w['failures']}")
