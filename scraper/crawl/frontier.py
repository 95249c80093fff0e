"""The frontier a crawl schedules from: every known URL, when it is due, and each host's state.

Two backends implement ``Frontier``: the archive (``Archive``, SQLite, a local crawl's) and
``PgFrontier`` (PostgreSQL, shared by distributed workers). Times are ``decide.stamp`` strings
(UTC, fixed width, so they sort as text) on both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

from scraper.models import FrontierItem, HostState, NewUrl, Visit


class Frontier(Protocol):
    """Adding URLs, reading the due ones, recording visits, and hosts' politeness state."""

    def crawl_transaction(self) -> AbstractContextManager[None]: ...

    def frontier_add(self, urls: Iterable[NewUrl], now: str) -> list[str]:
        """Insert unknown URLs (due at ``now``), return them; a known URL becomes due again
        when its lastmod is newer, or when ``due`` is set."""
        ...

    def frontier_due(
        self,
        host: str,
        sites: Sequence[str],
        now: str,
        since: str | None = None,
        fetched_before: str | None = None,
        limit: int = 1,
    ) -> list[FrontierItem]:
        """The next URLs due on ``host``: lists, sitemaps and feeds before articles, then by
        depth and by how long they have been due."""
        ...

    def frontier_hosts_due(self, sites: Sequence[str], now: str) -> list[str]: ...

    def frontier_done(self, url: str, visit: Visit) -> None:
        """What fetching ``url`` came to and when it is due again."""
        ...

    def host_state(self, host: str) -> HostState | None: ...

    def host_save(self, state: HostState) -> None: ...


if TYPE_CHECKING:  # both backends are checked against the protocol, never imported here
    from scraper.archive import Archive
    from scraper.crawl.frontier_pg import PgFrontier

    def _backends(archive: Archive, pg: PgFrontier) -> tuple[Frontier, Frontier]:
        return archive, pg
