#!/usr/bin/env python3
"""The same page with its template changed must give the same record.

usage: python bench/metamorphic.py [CORPUS ...] [--show]

For every page of each corpus (default: ../shared/corpus, bench/corpus and samples/), each
change in scraper/parse/template.py is applied and the page parsed again; a change "holds" on a
page when every compared field is the same as on the unchanged page. Prints, per change, the
pages it could be applied to, how many held, and (with --show) each field that moved.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scraper.decode import decode  # noqa: E402
from scraper.parse import parse_page  # noqa: E402
from scraper.parse.template import CHANGES  # noqa: E402

FIELDS = ("title", "published", "source", "author", "editor", "is_article", "disclaimer")
DEFAULT = [ROOT.parent / "shared" / "corpus" / "html", ROOT / "bench" / "corpus" / "html"]


def record(html: str, url: str) -> dict[str, object]:
    rec = parse_page(html, url).to_dict()
    body = [ln for ln in str(rec["body"]).split("\n") if ln.strip()]
    out = {k: rec[k] for k in FIELDS}
    out["body first line"] = body[0] if body else None
    out["body last line"] = body[-1] if body else None
    return out


def pages(folders: list[Path]) -> list[Path]:
    found: list[Path] = []
    for folder in folders:
        if folder.is_dir():
            found += sorted(folder.rglob("*.htm*"))
    return found


def main() -> int:
    args = sys.argv[1:]
    folders = [Path(a) for a in args if not a.startswith("--")] or [
        *DEFAULT,
        ROOT / "samples",
    ]
    applied: Counter[str] = Counter()
    held: Counter[str] = Counter()
    moved: Counter[tuple[str, str]] = Counter()
    for path in pages(folders):
        html, _ = decode(path.read_bytes())
        url = f"http://metamorphic.test/{path.stem}.html"
        base = record(html, url)
        if not base["is_article"]:
            continue
        title = str(base["title"] or "")
        last = str(base["body last line"] or "")
        for name, change in CHANGES.items():
            changed = change(html, title, last)
            if changed is None:
                continue
            applied[name] += 1
            got = record(changed, url)
            diff = [k for k in base if got[k] != base[k]]
            if not diff:
                held[name] += 1
                continue
            for k in diff:
                moved[(name, k)] += 1
            if "--show" in args:
                for k in diff:
                    print(f"{name}\t{path.name}\t{k}\t{base[k]!r} -> {got[k]!r}"[:300])
    print(f"{'change':28s} {'pages':>6s} {'held':>6s}   fields that moved")
    for name in CHANGES:
        fields = ", ".join(f"{k} {n}" for (c, k), n in sorted(moved.items()) if c == name)
        print(f"{name:28s} {applied[name]:6d} {held[name]:6d}   {fields}")
    total, ok = sum(applied.values()), sum(held.values())
    print(f"{'all':28s} {total:6d} {ok:6d}   ({100 * ok / max(total, 1):.1f}% held)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
