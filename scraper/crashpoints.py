"""Deliberate crashes at named points, so the exactly-once tests need no lucky timing.

``ARCHIVER_CRASH_AT=<point>:<n>`` (read once, when this module is first imported) makes the
process end with ``os._exit(137)``, the status of a kill -9, at the ``n``-th hit of ``point``:
no ``finally``, no rollback, no flushed buffers, exactly as if it had been killed there. Unset
(always, outside the tests), ``crashpoint`` returns at once.

The points, each placed around the commit that writes a page with its bookkeeping:

``save-before-commit``
    a page (a local crawl's article, an ingested result, an imported capture) has just been
    written inside its transaction and nothing of that transaction is committed yet: a local
    crawl has saved the article but not yet written its frontier row; the ingest has applied
    the result but not yet noted its id in ``frontier_results``; an import has saved the
    capture. One hit per page.
``save-after-commit``
    the transaction holding the page has just committed, and nothing after it has happened
    yet: the ingest has not yet dropped the results from PostgreSQL, a crawl or an import has
    not yet gone on. One hit per page the commit held, so ``save-after-commit:5`` ends the
    process right after the commit that holds the fifth page.

Before ending, one line on stderr names the point, so a test can tell this crash from others.
"""

from __future__ import annotations

import os

ENV = "ARCHIVER_CRASH_AT"
POINTS = ("save-before-commit", "save-after-commit")
EXIT_STATUS = 137  # what a shell reports for a process killed with -9


def parse(value: str) -> tuple[str, int]:
    """``point:n`` as (point, n); a ValueError naming the problem otherwise."""
    point, sep, count = value.strip().rpartition(":")
    if not sep or point not in POINTS or not count.isdigit() or int(count) < 1:
        raise ValueError(
            f"{ENV}={value!r}: expected <point>:<n> with n >= 1 and a point among "
            + ", ".join(POINTS)
        )
    return point, int(count)


_armed: tuple[str, int] | None = None
_hits = 0
_invalid: str | None = None


def arm(value: str | None) -> None:
    """Set the crash from a value of ``ARCHIVER_CRASH_AT`` (None or empty: none)."""
    global _armed, _hits, _invalid
    _armed, _hits, _invalid = None, 0, None
    if value:
        try:
            _armed = parse(value)
        except ValueError as exc:
            _invalid = str(exc)


arm(os.environ.get(ENV))


def crashpoint(name: str, hits: int = 1) -> None:
    """Count ``hits`` hits of the point ``name``; end the process at the armed one."""
    global _hits
    if _armed is None:
        if _invalid is not None:  # a mistyped variable must not pass for a test that ran
            raise RuntimeError(_invalid)
        return
    if name not in POINTS:
        raise RuntimeError(f"unknown crash point {name!r}")
    point, count = _armed
    if name != point or hits <= 0:
        return
    _hits += hits
    if _hits >= count:
        os.write(2, f"crash point {point}:{count} reached\n".encode())
        os._exit(EXIT_STATUS)
