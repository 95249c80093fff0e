"""A crawl's log: one JSON line per URL visited, for cron runs looked at afterwards.

Written by the one writer as results come in; each line goes out in one ``write`` to a file
opened for appending, so a killed run leaves whole lines only, and two runs' lines never mix.
A line is written when its result is handled, before the batch commits: after kill -9 the
lost batch's URLs are fetched again by the next run and logged again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from scraper.errors import FetchError, ScraperError

from .worker import Outcome


@dataclass(frozen=True)
class Visited:
    """One URL visited (or refused before a request): what became of it.

    ``outcome`` is new, updated, unchanged, not_modified, not_article, older, page (a list
    page, sitemap or feed read), failed, disallowed, withdrawn (an archived article found
    gone), attachment, image or robots; ``attempts`` the HTTP requests it took (each is a
    row of ``fetches``).
    """

    time: str
    site: str
    url: str
    kind: str
    outcome: str
    status: int | None = None
    error: str | None = None
    elapsed: float | None = None
    attempts: int = 0

    def line(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    def text(self) -> str:
        """Readable, for ``--verbose``: time, outcome, status, seconds, kind, URL, error."""
        seconds = f"{self.elapsed:.2f}s" if self.elapsed is not None else "-"
        parts = [
            self.time[11:19],
            self.outcome,
            str(self.status or "-"),
            seconds,
            self.kind,
            self.url,
        ]
        if self.error:
            parts.append(self.error)
        return "  ".join(parts)


def visited(out: Outcome, outcome: str, time: str) -> Visited:
    """What a handled outcome says of its URL."""
    page, error = out.page, out.error
    attempts = page.attempts if page is not None else ()
    if page is None and isinstance(error, FetchError):
        attempts = error.attempts
    status = page.status if page is not None else getattr(error, "status", None)
    elapsed = page.elapsed if page is not None else sum(a.elapsed or 0.0 for a in attempts)
    why = reason(error, out.task.url) if error is not None else None
    if why is None and out.article is not None and not out.article.kept:
        why = f"not an article: {out.article.rejected}"
    return Visited(
        time,
        out.task.site.name,
        out.task.url,
        str(out.task.kind),
        outcome,
        status,
        why,
        round(elapsed, 3),
        len(attempts),
    )


def reason(error: ScraperError, url: str) -> str:
    """An error's message without the URL it is about (the line names that already)."""
    return str(error).removeprefix(f"{url}: ")


Log = Callable[[Visited], None]


class CrawlLog:
    """Appends JSON lines to ``path`` and passes a readable line to ``echo`` (either may be
    None); call ``close`` at the end."""

    def __init__(self, path: Path | None, echo: Callable[[str], None] | None = None) -> None:
        self._fd = (
            os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            if path is not None
            else None
        )
        self._echo = echo

    def __call__(self, entry: Visited) -> None:
        if self._fd is not None:
            data = (entry.line() + "\n").encode()
            while data:  # a regular file takes it in one write; a short write is finished
                data = data[os.write(self._fd, data) :]
        if self._echo is not None:
            self._echo(entry.text())

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
