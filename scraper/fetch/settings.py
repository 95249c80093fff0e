"""How to fetch: the settings every fetch takes, the User-Agent, and the archive's clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from scraper import __version__

DEFAULT_USER_AGENT = (
    f"archiver/{__version__} (+https://github.com/archiver-project/archiver; "
    "archiving public government articles)"
)


@dataclass(frozen=True)
class FetchSettings:
    """How politely and how patiently to fetch. Defaults suit one-off fetches."""

    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 10
    retries: int = 3
    backoff: float = 0.5
    max_retry_wait: float = 30.0
    # False in crawls (unless a site allows it): refuse any request, redirects included, to a
    # private, loopback or link-local address. A user's own `archiver fetch URL` may go anywhere.
    allow_private: bool = True


def now_iso() -> str:
    """Current UTC time, ISO 8601 with seconds, as stored in the archive."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
