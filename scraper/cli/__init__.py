"""The command line: the only package that prints or exits, and the only typer importer.

``program`` holds the app, ``main()`` and the one mapping of errors to exit codes;
``options`` every shared option; ``output`` every format a command prints; ``archives`` how a
command opens its archive; ``capture``, ``changes``, ``crawling``, ``reading`` and ``upkeep`` the
commands, which are registered on the app here, in the order ``archiver --help`` lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scraper.cli import capture, changes, crawling, reading, upkeep
from scraper.cli.output import csv_cell, safe
from scraper.cli.program import (
    EXIT_ARCHIVE,
    EXIT_BLOCKED,
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_UNEXPECTED,
    EXIT_USAGE,
    Command,
    app,
    exit_code_for,
    main,
)

__all__ = [
    "EXIT_ARCHIVE",
    "EXIT_BLOCKED",
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_LOCKED",
    "EXIT_OK",
    "EXIT_UNEXPECTED",
    "EXIT_USAGE",
    "app",
    "csv_cell",
    "exit_code_for",
    "main",
    "safe",
]

COMMANDS: tuple[tuple[str, Callable[..., Any]], ...] = (
    ("fetch", capture.fetch),
    ("parse", capture.parse),
    ("show", reading.show),
    ("attachment", reading.attachment),
    ("sites", crawling.sites),
    ("crawl", crawling.crawl),
    ("check", crawling.check),
    ("history", reading.history),
    ("changes", changes.changes),
    ("search", reading.search),
    ("list", reading.list_articles),
    ("export", reading.export),
    ("reparse", capture.reparse),
    ("stats", reading.stats),
    ("datasette-metadata", reading.datasette_metadata),
    ("prune", upkeep.prune),
    ("backup", upkeep.backup),
    ("vacuum", upkeep.vacuum),
    ("import", capture.import_warcs),
    ("worker", crawling.worker),
    ("ingest", crawling.ingest),
    ("status", crawling.frontier_status),
)
for _name, _command in COMMANDS:
    app.command(_name, cls=Command)(_command)
del _name, _command
