#!/usr/bin/env python3
"""Parse every page of a labelled corpus and score it: all pages, a tuning half and a checking
half split by site family, and a leave-one-family-out figure.

usage: python bench/score_corpus.py [CORPUS ...] [--show-misses] [--ids a,b] [--dump ID]

CORPUS is a folder laid out like ../shared/corpus (html/<id>.html, gold/<id>.json,
manifest.json, optionally score.py); the default is ../shared/corpus and bench/corpus, each
where present. A corpus without its pages (bench/corpus/html is not kept in git: see its
README) is skipped with a note, so the script always exits 0 where nothing is there to score.

Why halves: rules written while looking at some pages fit those pages. A page's *site family*
(its registrable domain, or the manifest's ``family``) decides its half, by a hash, so no site
is in both. A rule should be let in only when it helps the half it was not written for.
Leave-one-family-out: each family scored alone, then the mean over families, so that a family
with many pages weighs no more than one with a single page. The parser fits no weights from
these pages today, so there is nothing to refit per held-out family; where a fitted model comes
in, it must be refitted without the family being scored.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPORA = [ROOT.parent / "shared" / "corpus", ROOT / "bench" / "corpus"]
SCORER = ROOT.parent / "shared" / "corpus" / "score.py"
sys.path.insert(0, str(ROOT))

from scraper.decode import decode  # noqa: E402
from scraper.parse import parse_page  # noqa: E402

# Second-level labels under which a registrable domain has three labels (example.gov.cn).
_SECOND_LEVEL = {"gov", "com", "org", "net", "edu", "ac", "mil"}


def family_of(entry: dict[str, Any]) -> str:
    """The site family: the manifest's ``family``, else the registrable domain of ``site``."""
    if entry.get("family"):
        return str(entry["family"])
    host = str(entry.get("site") or entry["id"]).split()[0].lower()
    labels = host.split(".")
    if len(labels) >= 3 and labels[-1] == "cn" and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def half_of(family: str) -> str:
    """'tuning' or 'checking', fixed by a hash of the family name."""
    return "tuning" if hashlib.sha256(family.encode()).digest()[0] % 2 == 0 else "checking"


def load_scorer(corpus: Path) -> ModuleType:
    path = corpus / "score.py" if (corpus / "score.py").exists() else SCORER
    spec = importlib.util.spec_from_file_location("corpus_score", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def manifest(corpus: Path) -> dict[str, dict[str, Any]]:
    return {m["id"]: m for m in json.loads((corpus / "manifest.json").read_text("utf-8"))}


def predict(
    corpus: Path, entries: dict[str, dict[str, Any]], ids: set[str] | None = None
) -> tuple[dict[str, dict[str, Any]], float]:
    """Every page's record (keyed by id) and the seconds spent parsing (decoding excluded)."""
    out: dict[str, dict[str, Any]] = {}
    elapsed = 0.0
    for path in sorted((corpus / "html").glob("*.html")):
        pid = path.stem
        if ids and pid not in ids:
            continue
        m = entries.get(pid, {})
        url = m.get("url") or f"http://{m.get('site') or 'corpus.test'}/{pid}.html"
        text, _enc = decode(path.read_bytes())
        t0 = time.perf_counter()
        art = parse_page(text, str(url).split()[0])
        elapsed += time.perf_counter() - t0
        rec = art.to_dict()
        rec["id"] = pid
        out[pid] = rec
    return out, elapsed


def quiet(fn: Callable[[], Any]) -> Any:
    with contextlib.redirect_stdout(io.StringIO()):
        return fn()


def table(
    scorer: ModuleType,
    gold: Path,
    preds: dict[str, dict[str, Any]],
    groups: dict[str, set[str]],
    families: dict[str, set[str]],
) -> str:
    """Field x (each group, leave-one-family-out) as aligned text."""
    cols: dict[str, dict[str, tuple[int, int]]] = {}
    for name, ids in groups.items():
        fields, _ = quiet(lambda ids=ids: scorer.score(str(gold), preds, ids))
        cols[name] = fields
    # Leave one family out: each family alone, then the mean of the families' percentages.
    lofo: dict[str, list[float]] = defaultdict(list)
    for ids in families.values():
        fields, _ = quiet(lambda ids=ids: scorer.score(str(gold), preds, ids))
        for field, (c, t) in fields.items():
            if t:
                lofo[field].append(100 * c / t)
    names = list(dict.fromkeys(f for fields in cols.values() for f in fields))
    head = f"{'field':16s}" + "".join(f"{n:>20s}" for n in groups) + f"{'per-family mean':>18s}"
    lines = [head]
    for field in names:
        row = f"{field:16s}"
        for name in groups:
            c, t = cols[name].get(field, (0, 0))
            row += f"{f'{c}/{t} {100 * c / t:5.1f}%' if t else '-':>20s}"
        vals = lofo.get(field, [])
        row += f"{f'{sum(vals) / len(vals):5.1f}% ({len(vals)})' if vals else '-':>18s}"
        lines.append(row)
    overall = f"{'overall':16s}"
    for name in groups:
        c = sum(c for c, _ in cols[name].values())
        t = sum(t for _, t in cols[name].values())
        overall += f"{f'{c}/{t} {100 * c / max(t, 1):5.1f}%':>20s}"
    lines.append(overall)
    return "\n".join(lines)


def run(corpus: Path, args: list[str]) -> None:
    if not (corpus / "manifest.json").exists() or not (corpus / "gold").is_dir():
        print(f"{corpus}: no corpus here; skipped")
        return
    entries = manifest(corpus)
    have = {p.stem for p in (corpus / "html").glob("*.html")}
    if not have:
        print(f"{corpus}: the pages are not here (see its README to bring them); skipped")
        return
    ids = set(args[args.index("--ids") + 1].split(",")) if "--ids" in args else None
    if "--dump" in args:
        pid = args[args.index("--dump") + 1]
        if pid in have:
            recs, _ = predict(corpus, entries, {pid})
            print(json.dumps(recs[pid], ensure_ascii=False, indent=1))
        return
    preds, elapsed = predict(corpus, entries, ids)
    scorer = load_scorer(corpus)
    families: dict[str, set[str]] = defaultdict(set)
    for pid in preds:
        families[family_of(entries.get(pid, {"id": pid}))].add(pid)
    halves: dict[str, set[str]] = {"tuning": set(), "checking": set()}
    for fam, members in families.items():
        halves[half_of(fam)] |= members
    groups = {
        f"all ({len(preds)})": set(preds),
        f"tuning ({len(halves['tuning'])})": halves["tuning"],
        f"checking ({len(halves['checking'])})": halves["checking"],
    }
    print(f"== {corpus}  ({len(preds)} pages, {len(families)} site families)")
    print(table(scorer, corpus / "gold", preds, groups, families))
    print(f"parse time {1000 * elapsed / max(len(preds), 1):.2f} ms/page")
    if "--show-misses" in args:
        scorer.score(str(corpus / "gold"), preds, set(preds), True)
    print()


def main() -> int:
    args = sys.argv[1:]
    value_of = {"--ids", "--dump"}
    corpora: list[Path] = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a in value_of:
            skip = True
        elif not a.startswith("--"):
            corpora.append(Path(a))
    for corpus in corpora or DEFAULT_CORPORA:
        run(corpus, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
