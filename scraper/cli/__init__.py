"""The command line: the only package that prints or exits, and the only typer importer.

``program`` holds the app, ``main()`` and the one mapping of errors to exit codes;
``options`` every shared option; ``output`` every format a command prints; ``archives`` how a
command opens its archive; ``capture``, ``changes``, ``crawling``, ``reading`` and ``upkeep`` the
commands, which are named on the app here, in the order ``archiver --help`` lists them.

A command's module is imported when that command runs (or help or completion lists it), so
that a read command starts without the fetcher, the parser, the crawler, sqlite-utils or
numpy: ``program.add_commands``. What a command module imports at its top, every listing of
the commands imports; what only running the command needs it imports inside the command.
"""

from __future__ import annotations

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
    add_commands,
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

# (name, "module:function"): each command and the function in this package that is it.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("fetch", "capture:fetch"),
    ("parse", "capture:parse"),
    ("show", "reading:show"),
    ("attachment", "reading:attachment"),
    ("sites", "crawling:sites"),
    ("crawl", "crawling:crawl"),
    ("check", "crawling:check"),
    ("history", "reading:history"),
    ("changes", "changes:changes"),
    ("search", "reading:search"),
    ("list", "reading:list_articles"),
    ("export", "reading:export"),
    ("reparse", "capture:reparse"),
    ("stats", "reading:stats"),
    ("datasette-metadata", "reading:datasette_metadata"),
    ("prune", "upkeep:prune"),
    ("backup", "upkeep:backup"),
    ("vacuum", "upkeep:vacuum"),
    ("import", "capture:import_warcs"),
    ("worker", "crawling:worker"),
    ("ingest", "crawling:ingest"),
    ("status", "crawling:frontier_status"),
)
add_commands(COMMANDS)
