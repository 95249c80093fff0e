"""Every option and argument more than one command takes, declared once as an alias.

A command names its options by these ``Annotated`` aliases, so an option has the same flag,
environment variable, bounds and help wherever it appears, with its default beside it here.
Where one flag means something else to one command (``--quiet`` on ``import`` drops only the
summary line; ``--time-limit`` stops a crawl but ends a worker), that meaning has its own
alias. Options only one command takes stay with that command.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from scraper.crawl.config import CONFIG_ENV
from scraper.errors import InputError
from scraper.fetch import FetchSettings

# ---------------------------------------------------------------------- the archive and output

DEFAULT_DB = Path("archive.db")
DbOption = Annotated[
    Path,
    typer.Option(
        "--db",
        envvar="ARCHIVER_DB",
        help="Archive database (created on first use, in a directory that exists).",
        dir_okay=False,
    ),
]
CreateDirsOption = Annotated[
    bool,
    typer.Option(
        "--create-dirs",
        help="Create the --db file's missing directories (without it, a path whose directory "
        "does not exist is refused, so that a typo does not start a new archive elsewhere).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON Lines.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")]
NoSummaryOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="No summary line, no progress bar.")
]
NoProgressOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]

# ---------------------------------------------------------------------- what to read

TargetsArgument = Annotated[
    list[str],
    typer.Argument(metavar="URL|PATH", help="URLs, saved pages or file:// URLs."),
]
KeyArgument = Annotated[
    str,
    typer.Argument(
        metavar="ID|URL|PATH", help="Article id or URL, or the path of a saved page fetched."
    ),
]
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        metavar="URL",
        help="Where a saved page came from (one local file only; default: the address the "
        "browser recorded in the file, if any).",
    ),
]
SiteOption = Annotated[
    str | None, typer.Option("--site", metavar="SITE", help="A host or site name.")
]
SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        metavar="DATE",
        help="Published on or after this day: YYYY-MM-DD (a longer ISO 8601 time is cut to "
        "its day).",
    ),
]
CrawlSinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        metavar="DATE",
        help="Skip articles dated before this day: YYYY-MM-DD (a longer ISO 8601 time is cut "
        "to its day).",
    ),
]


def parse_since(value: str | None) -> str | None:
    """A --since value as an ISO date (a longer timestamp is cut to its day)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        raise InputError(f"--since wants a date like 2026-11-01, not {value!r}") from None


# ---------------------------------------------------------------------- fetching

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_RETRIES = 3
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


def fetch_settings(user_agent: str, timeout: float, max_bytes: int, retries: int) -> FetchSettings:
    """The fetch options as the fetcher's settings (a read never waits past 30 s)."""
    return FetchSettings(
        user_agent=user_agent,
        total_timeout=timeout,
        read_timeout=min(30.0, timeout),
        max_bytes=max_bytes,
        retries=retries,
    )


# ---------------------------------------------------------------------- crawling

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar=CONFIG_ENV,
        help="Site configuration (default: sites.toml in the working directory).",
        dir_okay=False,
    ),
]
CrawlTimeLimitOption = Annotated[
    float | None, typer.Option("--time-limit", min=1, help="Stop after this many seconds.")
]
TimeLimitOption = Annotated[
    float | None, typer.Option("--time-limit", min=1, help="Exit after this many seconds.")
]

# ---------------------------------------------------------------------- distributed crawls

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
DEFAULT_GIVE_UP_AFTER = 600.0


def need_frontier(frontier: str | None) -> str:
    """The frontier's URL, which a distributed command cannot go without."""
    if not frontier:
        raise InputError("--frontier postgresql://... (or ARCHIVER_FRONTIER) is required")
    return frontier
