#!/usr/bin/env python3
"""Side-by-side benchmark: our parser against trafilatura, GNE and readability-lxml.

Every page is decoded once with ``scraper.decode.decode``; every extractor gets the same text
and URL. Outputs are mapped to the corpus record fields and scored with the corpus's own
``score.py``; speed is measured sequentially on one pinned core, timing only the extraction
call (not decoding, not mapping to a record).

usage: python bench/accuracy.py [FOLDER] [--peers trafilatura,gne,readability] [--repeat N]
                                [--json OUT] [--save-preds DIR] [--cpu N]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import io
import json
import logging
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FOLDER = ROOT.parent / "shared" / "corpus"
PEERS = ("trafilatura", "gne", "readability")
FIELDS = (
    "title",
    "published",
    "source",
    "author",
    "editor",
    "original_url",
    "body",
    "disclaimer",
    "footer",
    "is_article",
)
ROW_ORDER = (
    "title",
    "published_day",
    "published",
    "source",
    "author",
    "editor",
    "original_url",
    "body_start",
    "body_end",
    "body",
    "disclaimer",
    "footer_kept_out",
    "is_article",
)

Record = dict[str, Any]
Tally = dict[str, tuple[int, int]]


@dataclass
class Extractor:
    """One contender: ``extract`` is the timed call, ``to_record`` the untimed field mapping."""

    name: str
    version: str
    extract: Callable[[str, str], Any]
    to_record: Callable[[Any], Record]


@dataclass(frozen=True)
class Page:
    """A corpus page, decoded once."""

    id: str
    url: str
    text: str
    encoding: str


@dataclass
class Run:
    """What one extractor produced and how long its extraction calls took."""

    records: dict[str, Record] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    pass_seconds: list[float] = field(default_factory=list)


def _blank(value: Any) -> Any:
    """None for empty strings (and the peers' "no value" markers)."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


# --- extractors -------------------------------------------------------------------------------


def load_ours() -> Extractor:
    """``scraper.parse.parse_page``: all record fields, ``published`` already ISO."""
    from scraper.parse import parse_page

    def to_record(article: Any) -> Record:
        return {k: getattr(article, k, None) for k in FIELDS}

    return Extractor("ours", _version("archiver"), parse_page, to_record)


def load_trafilatura() -> Extractor:
    """``bare_extraction(with_metadata=True)`` -> Document: title, date (ISO day), author, text."""
    import trafilatura

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    logging.getLogger("htmldate").setLevel(logging.CRITICAL)

    def extract(text: str, url: str) -> Any:
        return trafilatura.bare_extraction(text, url=url or None, with_metadata=True)

    def to_record(doc: Any) -> Record:
        if doc is None:
            return {}
        if isinstance(doc, dict):  # trafilatura < 2 returned a dict
            get: Callable[[str], Any] = doc.get
        else:

            def get(name: str) -> Any:
                return getattr(doc, name, None)

        return {
            "title": _blank(get("title")),
            "published": _blank(get("date")),
            "author": _blank(get("author")),
            "body": get("text") or "",
        }

    return Extractor("trafilatura", _version("trafilatura"), extract, to_record)


# GNE's publish_time is the raw string it found: a plain regex maps the common printed forms
# (2024-05-13 12:03[:10], 2024/5/13, 2024年5月13日 12:03) to ISO at the precision printed.
_RAW_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:\D{0,3}?(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2}))?"
    r"(?:\.\d+)?\s*(Z|[+-]\d\d:?\d\d)?)?"
)


def iso_from_raw(raw: Any) -> str | None:
    """ISO 8601 from a printed date string, at the precision printed; None if none is found."""
    match = _RAW_DATE.search(str(raw or ""))
    if not match:
        return None
    y, mo, d, h, mi, s, offset = match.groups()
    iso = f"{int(y):04d}-{int(mo):02d}-{int(d):02d}"
    if h is not None:
        iso += f"T{int(h):02d}:{int(mi):02d}"
        if s is not None:
            iso += f":{int(s):02d}"
        iso += offset or ""  # kept as printed: the scorer compares the local time only
    return iso


def load_gne() -> Extractor:
    """``GeneralNewsExtractor().extract(text)`` -> dict: title, publish_time (raw), author,
    content."""
    from gne import GeneralNewsExtractor

    gne = GeneralNewsExtractor()

    def extract(text: str, url: str) -> Any:
        return gne.extract(text)

    def to_record(out: Any) -> Record:
        return {
            "title": _blank(out.get("title")),
            "published": iso_from_raw(out.get("publish_time")),
            "author": _blank(out.get("author")),
            "body": out.get("content") or "",
        }

    return Extractor("gne", _version("gne"), extract, to_record)


_BLOCKS = (
    "p",
    "div",
    "br",
    "li",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "blockquote",
    "pre",
    "section",
    "article",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
)


def html_to_text(fragment: str) -> str:
    """Text of an HTML fragment, one line per block element, blank lines dropped."""
    import lxml.html

    if not fragment.strip():
        return ""
    root = lxml.html.fromstring(fragment)
    for el in root.iter(*_BLOCKS):
        el.tail = "\n" + (el.tail or "")
        if el.tag != "br":
            el.text = "\n" + (el.text or "")
    lines = (line.strip() for line in root.text_content().splitlines())
    return "\n".join(line for line in lines if line)


def load_readability() -> Extractor:
    """``Document(text, url=url)``: short_title(), author() (meta author), summary() -> HTML."""
    from readability import Document

    logging.getLogger("readability").setLevel(logging.CRITICAL)
    logging.getLogger("readability.readability").setLevel(logging.CRITICAL)

    def extract(text: str, url: str) -> Any:
        doc = Document(text, url=url or None)
        # title/author first: summary() mutates the parsed tree.
        return doc.short_title(), doc.author(), doc.summary(html_partial=True)

    def to_record(out: Any) -> Record:
        title, author, summary = out
        author = None if author == "[no-author]" else _blank(author)
        return {"title": _blank(title), "author": author, "body": html_to_text(summary)}

    return Extractor("readability", _version("readability-lxml"), extract, to_record)


LOADERS: dict[str, Callable[[], Extractor]] = {
    "ours": load_ours,
    "trafilatura": load_trafilatura,
    "gne": load_gne,
    "readability": load_readability,
}


# --- corpus, scoring ---------------------------------------------------------------------------


def load_pages(folder: Path) -> list[Page]:
    """Decode every ``html/*.html`` once with our decoder; URL from the manifest."""
    from scraper.decode import decode

    manifest: dict[str, dict[str, Any]] = {}
    if (folder / "manifest.json").is_file():
        manifest = {m["id"]: m for m in json.loads((folder / "manifest.json").read_text())}
    pages = []
    for path in sorted((folder / "html").glob("*.html")):
        meta = manifest.get(path.stem, {})
        # A page saved without its URL gets its real host and a neutral path (a digest of its
        # bytes), so nothing about the page, such as a "list" in its corpus id, leaks in.
        url = meta.get("url") or ""
        if not url and meta.get("site"):
            url = f"http://{meta['site']}/{str(meta.get('sha256') or 'page')[:16]}.html"
        text, encoding = decode(path.read_bytes())
        pages.append(Page(path.stem, url, text, encoding))
    return pages


def load_scorer(folder: Path) -> tuple[Callable[[str, dict[str, Record]], Any], str]:
    """The folder's ``score.py`` ``score()`` (the authority), else a built-in copy of its rules."""
    path = folder / "score.py"
    if path.is_file():
        spec = importlib.util.spec_from_file_location("corpus_score", path)
        if spec and spec.loader:
            module: ModuleType = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module.score, str(path)
    return builtin_score, "built-in copy of the corpus scoring rules (no score.py in FOLDER)"


def score(
    scorer: Callable[[str, dict[str, Record]], Any], gold: Path, preds: dict[str, Record]
) -> tuple[Tally, float]:
    """Run the scorer quietly (it prints per-field lines); return its fields dict and overall."""
    with contextlib.redirect_stdout(io.StringIO()):
        fields, pct = scorer(str(gold), preds)
    return {k: (int(c), int(t)) for k, (c, t) in fields.items()}, float(pct)


_WS = re.compile(r"\s+")


def _norm(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        value = " ".join(str(x) for x in value)
    return _WS.sub("", str(value)).replace("\u3000", "").replace("\xa0", "") or None


def builtin_score(gold_dir: str, preds: dict[str, Record]) -> tuple[Tally, float]:
    """The rules of the corpus README's ``score.py``, for folders that do not ship one."""
    fields: Tally = {}

    def tally(name: str, ok: bool) -> None:
        c, t = fields.get(name, (0, 0))
        fields[name] = (c + bool(ok), t + 1)

    def alts(g: Record, key: str) -> set[str | None]:
        return {_norm(v) for v in [g.get(key), *(g.get(key + "_alt") or [])] if v}

    def date_ok(gold: str, pred: Any) -> bool:
        return bool(pred) and str(pred).replace(" ", "T")[: len(gold)] == gold.replace(" ", "T")

    for gpath in sorted(Path(gold_dir).glob("*.json")):
        g = json.loads(gpath.read_text())
        p = preds.get(g["id"]) or {}
        art = g.get("is_article", True)
        if "is_article" in p or not art:
            tally("is_article", bool(p.get("is_article", True)) == art)
        if not art:
            continue
        tally("title", _norm(p.get("title")) in alts(g, "title"))
        if g.get("published"):
            tally("published_day", date_ok(g["published"][:10], p.get("published")))
            tally("published", date_ok(g["published"], p.get("published")))
        for key in ("source", "author", "editor"):
            gv = alts(g, key)
            tally(key, _norm(p.get(key)) in gv if gv else _norm(p.get(key)) is None)
        if g.get("original_url") or p.get("original_url"):
            tally(
                "original_url", (p.get("original_url") or None) == (g.get("original_url") or None)
            )
        nb = _norm(p.get("body")) or ""
        alt = g.get("body_first_alt") or []
        firsts = [_norm(g.get("body_first"))] + [
            _norm(a) for a in ([alt] if isinstance(alt, str) else alt)
        ]
        start = any(f and 0 <= nb.find(f) <= 30 for f in firsts)
        last = _norm(g.get("body_last"))
        i = nb.rfind(last) if last else -1
        end = last is not None and i >= 0 and len(nb) - (i + len(last)) <= 30
        tally("body_start", start)
        tally("body_end", end)
        tally("body", start and end)
        d, pd = _norm(g.get("disclaimer_first")), _norm(p.get("disclaimer"))
        if "disclaimer" not in set(g.get("skip") or []):
            tally(
                "disclaimer",
                pd is not None and d[:10] in pd and d[:10] not in nb if d else pd is None,
            )
        f = _norm(g.get("footer_first"))
        if f:
            tally("footer_kept_out", f[:10] not in nb)
    total_c = sum(c for c, _ in fields.values())
    total_t = sum(t for _, t in fields.values())
    return fields, 100 * total_c / max(total_t, 1)


# --- running -----------------------------------------------------------------------------------


def pin_one_core(cpu: int | None) -> str:
    """Pin this process to one CPU (the last allowed one unless given); describe the result."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity on this platform)"
    allowed = sorted(os.sched_getaffinity(0))
    target = cpu if cpu is not None else allowed[-1]
    try:
        os.sched_setaffinity(0, {target})
    except OSError as exc:
        return f"not pinned ({exc})"
    return f"pinned to CPU {target}"


def one_pass(ext: Extractor, pages: list[Page], run: Run, keep: bool) -> None:
    """Extract every page once, timing only ``ext.extract``; on ``keep`` map and store records."""
    gc.collect()
    total = 0
    for page in pages:
        start = time.perf_counter_ns()
        try:
            out = ext.extract(page.text, page.url)
        except Exception as exc:
            total += time.perf_counter_ns() - start
            if keep:
                run.errors[page.id] = f"{type(exc).__name__}: {exc}"[:200]
                run.records[page.id] = {"id": page.id}
            continue
        total += time.perf_counter_ns() - start
        if keep:
            try:
                record = ext.to_record(out)
            except Exception as exc:
                run.errors[page.id] = f"mapping {type(exc).__name__}: {exc}"[:200]
                record = {}
            run.records[page.id] = {"id": page.id, **record}
    run.pass_seconds.append(total / 1e9)


def pct(cell: tuple[int, int] | None) -> str:
    """``87.7% 50/57`` or ``-`` for a field never scored."""
    if not cell or not cell[1]:
        return "-"
    c, t = cell
    return f"{100 * c / t:5.1f}% {c}/{t}"


def render(
    names: list[str],
    tallies: dict[str, Tally],
    overall: dict[str, float],
    runs: dict[str, Run],
    n_pages: int,
    pinned: str,
    repeat: int,
) -> str:
    """The accuracy table, then the speed table."""
    rows = [k for k in ROW_ORDER if any(k in tallies[n] for n in names)]
    rows += sorted({k for n in names for k in tallies[n]} - set(rows))
    width = max(16, *(len(n) + 2 for n in names))
    out = [
        "accuracy (score.py rules; cell = percent correct, correct/scored)",
        f"{'field':16s}" + "".join(f"{n:>{width}s}" for n in names),
    ]
    out += [
        f"{k:16s}" + "".join(f"{pct(tallies[n].get(k)):>{width}s}" for n in names) for k in rows
    ]
    out.append(f"{'overall':16s}" + "".join(f"{overall[n]:>{width - 1}.1f}%" for n in names))
    out.append(f"{'failed pages':16s}" + "".join(f"{len(runs[n].errors):>{width}d}" for n in names))
    if any(n != "ours" for n in names):
        out += [
            "(peers give no source, editor, disclaimer or is_article: those rows count only",
            " pages where gold has none; is_article only the list pages, taken as articles)",
        ]
    out += [
        "",
        f"speed ({pinned}; sequential, in-process; extraction call only, "
        f"{n_pages} pages x {repeat} passes)",
        f"{'extractor':16s}{'best p/s':>10s}{'median p/s':>12s}{'ms/page':>9s}{'ours/peer':>11s}",
    ]
    best = {n: n_pages / min(runs[n].pass_seconds) for n in names}
    for n in names:
        med = n_pages / statistics.median(runs[n].pass_seconds)
        ratio = f"{best['ours'] / best[n]:.2f}x" if "ours" in best and n != "ours" else "-"
        out.append(f"{n:16s}{best[n]:10.1f}{med:12.1f}{1000 / best[n]:9.2f}{ratio:>11s}")
    out.append("(ours/peer = our best pages/s divided by the peer's; above 1 means ours is faster)")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the tables; optionally write JSON and per-extractor JSONL."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "folder",
        nargs="?",
        type=Path,
        default=DEFAULT_FOLDER,
        help="corpus with html/, gold/, score.py (default: %(default)s)",
    )
    ap.add_argument(
        "--peers",
        default=",".join(PEERS),
        help="comma-separated peers to run beside ours (default: %(default)s)",
    )
    ap.add_argument("--repeat", type=int, default=3, help="timed passes per extractor")
    ap.add_argument("--json", type=Path, help="write the results as JSON here")
    ap.add_argument(
        "--save-preds",
        type=Path,
        metavar="DIR",
        help="write DIR/<extractor>.jsonl, scorable with score.py --show-misses",
    )
    ap.add_argument("--cpu", type=int, help="CPU to pin to (default: the last allowed one)")
    args = ap.parse_args(argv)
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        ap.error(f"unknown peer(s) {', '.join(unknown)}; choose from {', '.join(PEERS)}")
    folder: Path = args.folder
    if not (folder / "html").is_dir() or not (folder / "gold").is_dir():
        ap.error(f"{folder} has no html/ and gold/ folders")

    extractors: list[Extractor] = []
    unavailable: dict[str, str] = {}
    for name in ["ours", *peers]:
        try:
            extractors.append(LOADERS[name]())
        except Exception as exc:
            unavailable[name] = f"{type(exc).__name__}: {exc}"
            print(f"{name}: not available ({unavailable[name]}); going on without it")
    if not extractors:
        print("no extractor could be loaded")
        return 1

    pages = load_pages(folder)
    scorer, scorer_name = load_scorer(folder)
    pinned = pin_one_core(args.cpu)
    repeat = max(1, args.repeat)
    runs = {ext.name: Run() for ext in extractors}
    for i in range(repeat):  # passes interleaved so background load hits all alike
        for ext in extractors:
            one_pass(ext, pages, runs[ext.name], keep=i == 0)

    names = [ext.name for ext in extractors]
    tallies: dict[str, Tally] = {}
    overall: dict[str, float] = {}
    for name in names:
        tallies[name], overall[name] = score(scorer, folder / "gold", runs[name].records)

    print(f"corpus: {folder} ({len(pages)} pages, decoded once with scraper.decode)")
    print(f"scorer: {scorer_name}")
    print(
        "extractors: "
        + ", ".join(f"{e.name} {e.version}" for e in extractors)
        + (f"; unavailable: {', '.join(unavailable)}" if unavailable else "")
    )
    print()
    print(render(names, tallies, overall, runs, len(pages), pinned, repeat))
    for name in names:
        for pid, err in sorted(runs[name].errors.items()):
            print(f"  {name} failed on {pid}: {err}")

    if args.save_preds:
        args.save_preds.mkdir(parents=True, exist_ok=True)
        for name in names:
            with open(args.save_preds / f"{name}.jsonl", "w", encoding="utf-8") as fh:
                for rec in runs[name].records.values():
                    fh.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
    if args.json:
        result = {
            "corpus": str(folder),
            "pages": len(pages),
            "scorer": scorer_name,
            "cpu": pinned,
            "repeat": repeat,
            "python": platform.python_version(),
            "unavailable": unavailable,
            "extractors": {
                n: {
                    "version": e.version,
                    "overall": overall[n],
                    "fields": {k: {"correct": c, "total": t} for k, (c, t) in tallies[n].items()},
                    "pass_seconds": runs[n].pass_seconds,
                    "pages_per_second_best": len(pages) / min(runs[n].pass_seconds),
                    "pages_per_second_median": len(pages) / statistics.median(runs[n].pass_seconds),
                    "errors": runs[n].errors,
                }
                for n, e in zip(names, extractors, strict=True)
            },
        }
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
