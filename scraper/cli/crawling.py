"""Commands that crawl: ``sites`` and ``crawl``, and the distributed ``worker``, ``ingest``
and ``status``.

A configuration error exits 4, a held lock 5, more failed pages than --max-failures 3, an
interrupt (Ctrl-C or SIGTERM) 130, with the run's row in the archive closed either way.
scraper.crawl.distributed (and with it psycopg) is imported inside the distributed commands
only, so the local crawl and every other command run without psycopg installed; the crawler
itself (``scraper.crawl.run``: the fetcher, the parser) inside ``crawl``, so that the other
commands do not load it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from scraper.archive.base import environment_fault
from scraper.cli import output
from scraper.cli.archives import locked, open_archive
from scraper.cli.options import (
    DEFAULT_DB,
    DEFAULT_GIVE_UP_AFTER,
    ConfigOption,
    CrawlFrontierOption,
    CrawlSinceOption,
    CrawlTimeLimitOption,
    CreateDirsOption,
    DbOption,
    EnqueueOption,
    FrontierOption,
    GiveUpOption,
    JsonOption,
    QuietOption,
    TimeLimitOption,
    need_frontier,
    parse_since,
)
from scraper.cli.program import (
    EXIT_ARCHIVE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    print_error,
    reported,
    sigterm_interrupts,
)
from scraper.crawl.config import SiteConfig, config_path, load_config
from scraper.errors import ArchiveError, InputError

if TYPE_CHECKING:
    from scraper.archive import Archive
    from scraper.crawl import CrawlOptions, CrawlStats
    from scraper.crawl.log import CrawlLog


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


def sites(config: ConfigOption = None) -> None:
    """List the configured sites: name, start URLs, delay, revisit interval."""
    with reported():
        for site in _load(config)[0]:
            extra = [f"{len(site.sitemaps)} sitemaps"] if site.sitemaps else []
            extra += [f"{len(site.feeds)} feeds"] if site.feeds else []
            output.fields(
                [
                    site.name,
                    " ".join(site.start_urls),
                    f"delay {site.delay:g}s",
                    f"revisit {output.duration(site.revisit_after)}",
                    *extra,
                ]
            )


def check(
    site_names: Annotated[
        list[str] | None, typer.Argument(metavar="SITE", help="Sites to check (default: all).")
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Validate sites.toml and ask each start URL, sitemap, feed and JSON list once.

    Prints what each answered and what a crawl would find there; honours robots.txt and the
    sites' delays; writes nothing. Exit 3 when a URL did not answer usefully.
    """
    from scraper.crawl.check import Checked
    from scraper.crawl.check import check as check_sites

    def report(c: Checked) -> None:
        if as_json:
            output.json_line(asdict(c))
            return
        found = f"{c.found} {c.what}" if c.found is not None else "ok"
        output.fields(
            [
                c.site,
                c.status if c.status is not None else "-",
                f"{c.elapsed:.2f}s" if c.elapsed is not None else "-",
                c.kind,
                c.url,
                f"error: {c.error}" if c.error else found,
            ]
        )

    with reported():
        chosen = _load(config, site_names)[0]
        done = check_sites(chosen, report)
    failed = sum(1 for c in done if not c.ok)
    if failed:
        output.summary(f"{failed} of {len(done)} URLs failed")
        raise typer.Exit(EXIT_FAILED)


def crawl(
    site_names: Annotated[
        list[str] | None, typer.Argument(metavar="SITE", help="Sites to crawl (default: all).")
    ] = None,
    since: CrawlSinceOption = None,
    max_pages: Annotated[
        int | None, typer.Option("--max-pages", min=1, help="Stop after fetching this many pages.")
    ] = None,
    time_limit: CrawlTimeLimitOption = None,
    max_failures: Annotated[
        int, typer.Option("--max-failures", min=0, help="Exit 3 after more failed pages than this.")
    ] = 10,
    quiet: QuietOption = False,
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
    db: DbOption = DEFAULT_DB,
    frontier: CrawlFrontierOption = None,
    enqueue: EnqueueOption = False,
    create_dirs: CreateDirsOption = False,
    revisit_now: Annotated[
        bool,
        typer.Option(
            "--revisit-now",
            help="Fetch every known URL of the sites again in this run, whatever its revisit "
            "time (conditional requests still: an unchanged page answers 304).",
        ),
    ] = False,
    log_file: Annotated[
        Path | None,
        typer.Option(
            "--log",
            metavar="FILE",
            help="Append one JSON line per URL visited to FILE (time, site, url, kind, status, "
            "outcome, error, elapsed, attempts).",
            dir_okay=False,
        ),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Print a line per URL visited on stderr."),
    ] = False,
) -> None:
    """Crawl the configured sites: new articles are archived, known ones revisited when due.

    Prints a one-line summary on stderr; one run at a time per archive (a second exits with 5).
    """
    from scraper.crawl import CrawlOptions, default_processes

    code = EXIT_OK
    with reported():
        chosen, configured_frontier = _load(config, site_names)
        frontier = frontier or configured_frontier  # --frontier, else sites.toml's [frontier]
        if frontier is not None or enqueue:  # a distributed crawl: see below
            if since or max_pages or revisit_now or log_file or verbose:
                raise InputError(
                    "--since, --max-pages, --revisit-now, --log and --verbose apply to local "
                    "crawls, not --frontier"
                )
            raise typer.Exit(
                _crawl_frontier(
                    frontier, enqueue, chosen, db, time_limit, max_failures, quiet, create_dirs
                )
            )
        options = CrawlOptions(
            since=parse_since(since),
            max_pages=max_pages,
            time_limit=time_limit,
            max_failures=max_failures,
            processes=default_processes() if processes is None else processes,
            revisit_now=revisit_now,
        )
        with (
            _crawl_log(log_file, verbose) as log,
            locked(db, create_dirs=create_dirs),
            open_archive(db, create_dirs=create_dirs) as archive,
            sigterm_interrupts(),
        ):
            show_bar = output.show_progress(quiet) and not verbose
            try:
                stats = _crawl_with_progress(archive, chosen, options, show_bar, log)
            except KeyboardInterrupt:
                print_error("interrupted; run again to resume")
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
        print_error(f"more than {max_failures} pages failed; see the fetches table")
    if code != EXIT_OK or not quiet:
        output.summary(summary)
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


@contextmanager
def _crawl_log(path: Path | None, verbose: bool) -> Iterator[CrawlLog | None]:
    """The run's log (``--log``, ``--verbose``), or None without either."""
    if path is None and not verbose:
        yield None
        return
    from scraper.crawl.log import CrawlLog

    def say(text: str) -> None:
        output.summary(output.safe(text))

    try:
        log = CrawlLog(path, say if verbose else None)
    except OSError as exc:
        raise InputError(f"cannot open --log {path}: {exc.strerror or exc}") from None
    try:
        yield log
    finally:
        log.close()


def _crawl_with_progress(
    archive: Archive,
    chosen: list[SiteConfig],
    options: CrawlOptions,
    show_bar: bool,
    log: CrawlLog | None = None,
) -> CrawlStats:
    from scraper.crawl import crawl as run_crawl

    if not show_bar:
        return run_crawl(archive, chosen, options, log=log)
    from rich.progress import BarColumn, ProgressColumn, SpinnerColumn, TextColumn

    columns: list[ProgressColumn] = [SpinnerColumn(), TextColumn("{task.description}")]
    if options.max_pages:
        columns.append(BarColumn())
    with output.progress_bar(*columns) as bar:
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

        return run_crawl(archive, chosen, options, progress=update, log=log)


# ---------------------------------------------------------------------- distributed crawls
# `archiver worker`, `archiver ingest`, `archiver status`, and `crawl --frontier/--enqueue`.


def _crawl_frontier(
    frontier: str | None,
    enqueue: bool,
    chosen: list[SiteConfig],
    db: Path,
    time_limit: float | None,
    max_failures: int | None,
    quiet: bool,
    create_dirs: bool = False,
) -> int:
    """Queue the sites in the frontier; without --enqueue, then ingest until the workers are
    done (the coordinating crawl), exiting 3 after more than ``max_failures`` failed pages."""
    from scraper.crawl import distributed

    url = need_frontier(frontier)
    seeded = distributed.enqueue(url, chosen)
    if enqueue:
        if not quiet:
            output.summary(f"queued {seeded} URLs of {len(chosen)} sites")
        return EXIT_OK
    return _ingest(
        url,
        db,
        until_idle=True,
        time_limit=time_limit,
        max_failures=max_failures,
        quiet=quiet,
        create_dirs=create_dirs,
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
    create_dirs: bool = False,
) -> int:
    from scraper.crawl import distributed

    log = print_error if not quiet else distributed.no_log
    with (
        locked(db, create_dirs=create_dirs),
        open_archive(db, create_dirs=create_dirs) as archive,
        sigterm_interrupts(),
    ):
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
            print_error("interrupted; run again to resume")
            return EXIT_INTERRUPTED
        code = _run_outcome(archive, stats.run_id, stats.outcome)
    return _report_run(code, stats.summary(), max_failures, quiet)


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
    time_limit: TimeLimitOption = None,
    give_up_after: GiveUpOption = DEFAULT_GIVE_UP_AFTER,
    quiet: QuietOption = False,
) -> None:
    """Fetch and parse for a distributed crawl: claim URLs from the frontier, push results.

    Run any number, on any machines; PostgreSQL restarts are waited out. Stop with SIGTERM.
    """
    with reported():
        from scraper.crawl import distributed

        url = need_frontier(frontier)
        options = distributed.WorkerOptions(
            threads=threads,
            lease=lease,
            until_idle=until_idle,
            max_pages=max_pages,
            time_limit=time_limit,
            give_up_after=give_up_after,
        )
        log = print_error if not quiet else distributed.no_log
        run = distributed.Worker(url, options, log=log)
        with sigterm_interrupts():
            try:
                stats = run.run()
            except KeyboardInterrupt:
                run.stop.set()
                print_error("interrupted")
                raise typer.Exit(EXIT_INTERRUPTED) from None
    if not quiet:
        output.summary(stats.summary())


def ingest(
    frontier: FrontierOption = None,
    db: DbOption = DEFAULT_DB,
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Exit when the workers have nothing left.")
    ] = False,
    time_limit: TimeLimitOption = None,
    give_up_after: GiveUpOption = DEFAULT_GIVE_UP_AFTER,
    quiet: QuietOption = False,
    create_dirs: CreateDirsOption = False,
) -> None:
    """Write the workers' results into the archive: the one writer, exactly once.

    Holds the archive's crawl lock (a local crawl meanwhile exits with 5) and the frontier's
    ingest lock. Runs until stopped, or with --until-idle until the queue is drained.
    """
    with reported():
        code = _ingest(
            need_frontier(frontier),
            db,
            until_idle=until_idle,
            time_limit=time_limit,
            quiet=quiet,
            give_up_after=give_up_after,
            create_dirs=create_dirs,
        )
    raise typer.Exit(code)


def frontier_status(frontier: FrontierOption = None, as_json: JsonOption = False) -> None:
    """A distributed crawl's state: queue depth per host, leases, failures, workers alive."""
    with reported():
        from scraper.crawl import distributed

        figures = distributed.status(need_frontier(frontier))
    if as_json:
        output.json_line(figures)
        return
    output.figures(figures["totals"])
    output.line("\nhost\tdue\tleased\tfailed\turls")
    for h in figures["hosts"]:
        output.fields(h[k] for k in ("host", "due", "leased", "failed", "urls"))
    output.line("\nworker\tseen (s ago)\tpages\tfailures")
    for w in figures["workers"]:
        output.fields(w[k] for k in ("id", "seen_ago", "pages", "failures"))
