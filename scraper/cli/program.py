"""The program: the typer app, its root options, ``main()``, and every exit code.

This is the one place an error becomes an exit code. ``exit_code_for`` maps the error
hierarchy of scraper/errors.py (and faults of the disk or the file) onto the README's table;
``reported`` (an error that ends a command), ``Batch`` (one input's failure among many) and
``main`` (whatever escapes a command) all go through it, so no two commands can disagree.
The commands themselves live in the modules beside this one; ``add_commands`` names them on
the root (``Group``), which imports a command's module and builds its typer command only when
that command is asked for: ``archiver search`` loads neither the fetcher nor the crawler, and
typer builds one command, not twenty.
"""

from __future__ import annotations

import importlib
import os
import signal
import sqlite3
import sys
from collections.abc import Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import typer
import typer.main
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from scraper import __version__
from scraper.archive.base import environment_fault
from scraper.cli.archives import in_use
from scraper.cli.output import safe
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

try:
    from scraper.cli.coercion import quicken
except ImportError:  # a typer without the internals it uses: typer's coercion throughout

    def quicken(params: list[Any]) -> None:
        return None


EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
EXIT_CONFIG = 4
EXIT_LOCKED = 5
EXIT_BLOCKED = 6
EXIT_ARCHIVE = 7
EXIT_INTERRUPTED = 130


class StdoutClosed(Exception):
    """stdout's reader went away (``archiver export | head``): the end of the output, not a
    fault. Raised instead of BrokenPipeError so that typer does not turn it into exit 1."""


def _readable(params: list[Any]) -> None:
    """Help that names values, not Python types: a flag shows no ``<bool>``, an argument with
    a metavar shows that name alone (typer prints ``<list[str]>`` beside it otherwise). And
    plain values coerced without pydantic (``coercion``)."""
    quicken(params)
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
        elif isinstance(param, TyperArgument) and param.metavar is not None:
            param.display_type_rich = _no_type  # type: ignore[method-assign]


def _no_type(ctx: object) -> None:
    return None


class Command(TyperCommand):
    """A command with readable help whose closed stdout ends it quietly (see ``main``)."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        _readable(params)
        return params

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise StdoutClosed from exc


class Group(TyperGroup):
    """The root of the program, with the same readable help as its commands, which are made
    when first asked for (``add_commands``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = _Commands(self.commands)

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        _readable(params)
        return params

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # the names: no command is made for them


# Every command: its name, and where it is ("module:function" in this package), in the order
# ``archiver --help`` lists them (add_commands).
_NAMED: dict[str, str] = {}


def add_commands(commands: Iterable[tuple[str, str]]) -> None:
    """Name commands on the root: ``(name, "module:function")``, ``module`` in scraper.cli."""
    _NAMED.update(commands)


class _Commands(MutableMapping[str, Any]):
    """The root's commands by name: every name known, each command made when it is first
    looked up (its module imported, its typer command built as ``app.command`` would)."""

    def __init__(self, made: MutableMapping[str, Any]) -> None:
        self._made = dict(made)
        self._names = dict.fromkeys([*_NAMED, *made])

    def __getitem__(self, name: str) -> Any:
        if name not in self._made:
            if name not in _NAMED:
                raise KeyError(name)
            self._made[name] = _command(name, _NAMED[name])
        return self._made[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._names[name] = None
        self._made[name] = command

    def __delitem__(self, name: str) -> None:
        del self._names[name]
        self._made.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names


def _command(name: str, where: str) -> Any:
    """The typer command ``name``: the function at ``where`` registered as ``app.command``
    registers it, and built as typer builds the commands of ``app``."""
    module, _, function = where.partition(":")
    callback = getattr(importlib.import_module(f"{__package__}.{module}"), function)
    made = typer.Typer()
    made.command(name, cls=Command)(callback)
    return typer.main.get_command_from_info(
        made.registered_commands[0],
        pretty_exceptions_short=app.pretty_exceptions_short,
        rich_markup_mode=app.rich_markup_mode,
    )


app = typer.Typer(
    name="archiver",
    help="Capture republished government articles into one deduplicated SQLite archive.",
    cls=Group,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


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


def print_error(message: str) -> None:
    """One ``error:`` line on stderr, made safe for the terminal."""
    typer.echo(f"error: {safe(message)}", err=True)


def fault(error: BaseException) -> ArchiveError | None:
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
    db = in_use()
    archive = f"archive {db}" if db is not None else "the archive"
    return ArchiveError(f"cannot use {archive}: {detail}")


@dataclass
class Batch:
    """Tracks the first failure of a batch: its exit code is the command's."""

    code: int = EXIT_OK

    def fail(self, error: BaseException, target: str) -> None:
        text = str(error)
        print_error(text if target in text else f"{target}: {text}")
        if self.code == EXIT_OK:
            self.code = exit_code_for(error)


@contextmanager
def reported() -> Iterator[None]:
    """Turn an error that ends a whole command into one stderr line and its exit code."""
    try:
        yield
    except ScraperError as exc:
        print_error(str(exc))
        raise typer.Exit(exit_code_for(exc)) from None
    except (sqlite3.Error, OSError) as exc:
        found = fault(exc)
        if found is None:
            raise
        print_error(str(found))
        raise typer.Exit(EXIT_ARCHIVE) from None


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
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


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush of what is still
    buffered cannot fail again on the closed pipe (the Python documentation's recipe)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real stdout to point anywhere
        pass


def main() -> None:
    """Console entry point: run the app, turning errors into one stderr line and an exit code."""
    try:
        code = app(standalone_mode=False)
    except (StdoutClosed, BrokenPipeError):  # the reader has all it wanted: not an error
        _quiet_stdout()
        sys.exit(EXIT_OK)
    except (KeyboardInterrupt, typer.Abort):
        print_error("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except ScraperError as exc:
        print_error(str(exc))
        sys.exit(exit_code_for(exc))
    except Exception as exc:  # click's usage errors, environment faults and genuine bugs
        found = fault(exc)
        if found is not None:
            print_error(str(found))
            sys.exit(EXIT_ARCHIVE)
        code = getattr(exc, "exit_code", None)
        if code is not None:
            show_ = getattr(exc, "show", None)
            if callable(show_):
                show_()
            else:
                print_error(str(exc))
            sys.exit(int(code))
        print_error(f"unexpected {type(exc).__name__}: {exc} (please report this)")
        if os.environ.get("ARCHIVER_DEBUG"):
            raise
        sys.exit(EXIT_UNEXPECTED)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
