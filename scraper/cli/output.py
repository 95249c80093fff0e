"""The one way out for what a command prints: records, rows, figures and report lines.

Like sqlite-utils, every format is written in one place, so the commands cannot drift apart:
plain text (tab-separated fields, ``name  value`` figures, a record readably) goes through
``safe``, which shows a page's control and bidi characters as escapes rather than letting
them act on the terminal; JSON and JSON Lines are exact (``json.dumps`` escapes controls
itself); CSV cells go through ``csv_cell`` so a spreadsheet never runs one as a formula.
Data goes to stdout (or ``-o FILE``); summaries and progress bars to stderr.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import typer

from scraper.errors import ArchiveError

if TYPE_CHECKING:
    from rich.progress import Progress, ProgressColumn

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


# ---------------------------------------------------------------------- plain text


def line(text: str = "", *, nl: bool = True) -> None:
    """One line of text on stdout, already made safe by the caller (``safe``)."""
    typer.echo(text, nl=nl)


def fields(values: Iterable[object]) -> None:
    """One record as a tab-separated line, each field made safe (a tab in a field is shown
    as ``\\x09``, so the columns hold)."""
    typer.echo("\t".join(safe(v) for v in values))


def figures(named: Mapping[str, object]) -> None:
    """Named figures, one ``name  value`` line each, the values in one column."""
    width = max(len(k) for k in named)
    for key, value in named.items():
        typer.echo(f"{key:<{width}}  {safe(value) if value is not None else '-'}")


_LONG_FIELDS = ("body", "disclaimer", "footer")


def record(values: Mapping[str, Any]) -> None:
    """A record, readably: the short fields as ``name: value`` lines, then the long texts,
    then its lists (images, attachments, related documents) one item a line."""
    width = max(len(k) for k in values)
    for key, value in values.items():
        if key in _LONG_FIELDS or isinstance(value, list):
            continue
        if isinstance(value, bool):
            value = "yes" if value else "no"
        typer.echo(f"{key:<{width}}  {safe(value) if value is not None else '-'}")
    for key in _LONG_FIELDS:
        value = values.get(key)
        typer.echo(f"\n[{key}]")
        typer.echo(safe(value, multiline=True) if value else "-")
    for key, value in values.items():
        if isinstance(value, list) and value:
            typer.echo(f"\n[{key}]")
            for item in value:
                shown = item.values() if isinstance(item, dict) else [item]
                fields(v if v is not None else "-" for v in shown)


_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def duration(seconds: float) -> str:
    """A duration as sites.toml would write it: in its largest whole unit (``7d``, not
    ``168h``; ``90m``; ``1.5s`` where no unit divides it)."""
    for unit, size in _UNITS:
        count = seconds / size
        if seconds >= size and count == int(count):
            return f"{int(count)}{unit}"
    return f"{seconds:g}s"


def snippet(text: str, *, color: bool) -> str:
    """A search snippet made safe, its 【matches】 highlighted on a terminal (our own colour
    codes, added after the page's text is made safe)."""
    text = safe(text)
    if color:
        text = text.replace("【", "\x1b[1;33m").replace("】", "\x1b[0m")
    return text


def diff(change: Mapping[str, Any]) -> None:
    """A change between two versions as text: hunks of lines (`` `` kept, ``-`` out, ``+``
    in), and under each changed line pair the same line diffed by character, ``~`` and its
    deletions and insertions marked inline as ``[-old-]{+new+}`` (git's --word-diff marks)."""
    title = change.get("title")
    if title is not None:
        _changed_line(title, "title: ")
    for hunk in change["hunks"]:
        (a, a_len), (b, b_len) = hunk["before"], hunk["after"]
        typer.echo(f"@@ -{a},{a_len} +{b},{b_len} @@")
        for entry in hunk["lines"]:
            op = entry["op"]
            if op == "change":
                _changed_line(entry)
            else:
                sign = {"equal": " ", "delete": "-", "insert": "+"}[op]
                typer.echo(sign + safe(entry["text"]))


def _changed_line(entry: Mapping[str, Any], label: str = "") -> None:
    typer.echo(f"-{label}{safe(entry['before'])}")
    typer.echo(f"+{label}{safe(entry['after'])}")
    if entry["parts"] is not None:
        typer.echo(f"~{label}{inline(entry['parts'])}")


def inline(parts: Iterable[Mapping[str, str]]) -> str:
    """A line's character diff with its changes marked: ``[-deleted-]`` and ``{+inserted+}``."""
    marks = {"equal": "{}", "delete": "[-{}-]", "insert": "{{+{}+}}"}
    return "".join(marks[p["op"]].format(safe(p["text"])) for p in parts)


# A deleted or inserted run longer than this shows its start and how much more there is.
_CHANGED_MAX = 60


def change(item: Mapping[str, Any]) -> None:
    """One change (``archiver changes``): ``time  kind  id  site  title``, then what changed,
    each line indented: an edit's excerpts, a withdrawal's reason."""
    fields(
        [item["time"], item["kind"], item["article_id"], item["site"] or "-", item["title"] or "-"]
    )
    for text in change_details(item):
        typer.echo(f"    {text}")


def change_details(item: Mapping[str, Any], *, plain: bool = False) -> list[str]:
    """What a change changed, as lines: per edited excerpt ``field: …a[-b-]{+c+}d…`` (the body
    without its label), a withdrawal's reason and, for a work's original, the copies that
    survive it. ``plain``: the text as is (for a feed), not escaped for a terminal."""
    show = (lambda text: text) if plain else safe
    lines: list[str] = []
    if item["kind"] == "edited":
        if item.get("diff") is None:
            lines.append("(the version before this edit is no longer kept)")
        for excerpt in item.get("diff") or []:
            label = "" if excerpt["field"] == "body" else f"{excerpt['field']}: "
            marked = _excerpt(excerpt, show)
            lines.append(label + marked)
        if item.get("diff") == []:
            lines.append("(the text is unchanged: an attachment was replaced)")
    elif item["kind"] == "withdrawn":
        said = [show(item["reason"] or "gone")]
        gone = item.get("original_withdrawn")
        if gone:
            sites = ", ".join(show(c["site"] or c["url"]) for c in gone["surviving"])
            n = len(gone["surviving"])
            said.append(
                f"original withdrawn; {n} {'copy survives' if n == 1 else 'copies survive'}"
                + (f": {sites}" if sites else "")
            )
        lines.append("; ".join(said))
    return lines


def _excerpt(excerpt: Mapping[str, Any], show: Callable[[str], str]) -> str:
    """An excerpt with its changes marked ``[-deleted-]{+inserted+}``, line breaks as ⏎,
    ``…`` where text around it was left out, a long run cut to its start."""
    marks = {"equal": "{}", "delete": "[-{}-]", "insert": "{{+{}+}}"}
    out = ["…" if excerpt["cut_before"] else ""]
    for part in excerpt["parts"]:
        text = part["text"]
        if part["op"] != "equal" and len(text) > _CHANGED_MAX:
            text = f"{text[:_CHANGED_MAX]}…(+{len(text) - _CHANGED_MAX})"
        out.append(marks[part["op"]].format(show(text.replace("\n", "⏎"))))
    out.append("…" if excerpt["cut_after"] else "")
    return "".join(out)


# ---------------------------------------------------------------------- JSON, JSONL, CSV


def json_line(value: Any, *, indent: int | None = None, file: TextIO | None = None) -> None:
    """One JSON document (a JSON Lines line unless ``indent``), non-ASCII kept as is."""
    typer.echo(json.dumps(value, ensure_ascii=False, indent=indent), file=file)


def article_json(row: Mapping[str, Any], *, file: TextIO | None = None) -> None:
    """An archived article's row as one JSON line (``is_article`` as true/false)."""
    json_line({**row, "is_article": bool(row.get("is_article"))}, file=file)


FORMATS = ("jsonl", "csv")


# Excel opens a CSV file without a byte order mark in the locale's code page (GBK on a
# Chinese Windows, cp1252 elsewhere), garbling UTF-8 text; with U+FEFF first it reads UTF-8.
BOM = "\ufeff"


def rows(
    articles: Iterable[Mapping[str, Any]], fmt: str, out: TextIO, *, bom: bool = False
) -> None:
    """Articles' rows as JSON Lines or CSV (a header from the first row's columns; ``bom``:
    a UTF-8 byte order mark first, for Excel)."""
    if fmt == "jsonl":
        for row in articles:
            article_json(row, file=out)
        return
    import csv

    if bom:
        out.write(BOM)
    writer: Any = None
    for row in articles:
        if writer is None:
            writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\n")
            writer.writeheader()
        writer.writerow({k: csv_cell(v) for k, v in row.items()})


@contextmanager
def text_output(output: Path | None) -> Iterator[TextIO]:
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


# ---------------------------------------------------------------------- stderr


def warning(text: str) -> None:
    """One ``warning:`` line on stderr: something was left out, the command went on."""
    typer.echo(f"warning: {safe(text)}", err=True)


def summary(text: str) -> None:
    """A command's report line on stderr (stdout stays free for data)."""
    typer.echo(text, err=True)


def show_progress(quiet: bool) -> bool:
    """Whether a long command shows a progress bar: on a terminal's stderr, never with
    --quiet (nor in cron, a pipe or a log)."""
    return not quiet and sys.stderr.isatty()


def progress_bar(*columns: ProgressColumn) -> Progress:
    """A progress bar on stderr with the elapsed time, gone when done (a terminal only).

    Lines printed meanwhile appear above the bar; data on stdout goes there only when stdout
    is that terminal too: redirected, it stays out of the bar's way and off stderr."""
    from rich.console import Console
    from rich.progress import Progress, TimeElapsedColumn

    console = Console(stderr=True)  # stdout stays free for data
    return Progress(
        *columns,
        TimeElapsedColumn(),
        console=console,
        transient=True,
        redirect_stdout=sys.stdout.isatty(),
    )


@contextmanager
def counted(description: str, total: int | None, *, show: bool) -> Iterator[Callable[[], None]]:
    """A bar counting items (``total`` None: a count without a bar's end); yields the call
    that counts one more. Without ``show``, that call does nothing."""
    if not show:
        yield _nothing
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn

    with progress_bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()) as bar:
        task = bar.add_task(description, total=total)
        yield lambda: bar.advance(task)


def _nothing() -> None:
    return None
