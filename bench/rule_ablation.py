#!/usr/bin/env python3
"""Which Chinese rules earn their place: each parser constant with a Chinese literal added since
a commit, where it fires in the corpus and what the corpus loses without it.

For every module-level constant of ``scraper/parse`` that an added line with a Chinese literal
belongs to, it prints:

- ``families``: in how many site families of the corpus (bench/score_corpus.py's families) a
  page's text holds a match (a pattern) or the string (a label, a set of labels);
- ``tuning`` / ``checking``: fields right with the rule taken out, minus fields right with it,
  on each half (a negative number: the rule helps that half). The halves are score_corpus's:
  a hash of the site family decides, so a rule written while looking at some pages is judged
  on the half it was not written for.

A rule is taken out by putting a pattern that never matches (or an empty set, tuple or dict)
in its place while the corpus is parsed again. A pattern compiled into another at import (a
label list joined into a bigger pattern) is not reached that way and is reported as such.

usage: python bench/rule_ablation.py [--since COMMIT] [CORPUS]
"""

from __future__ import annotations

import argparse
import importlib
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import score_corpus as sc  # noqa: E402

from scraper.decode import decode  # noqa: E402
from scraper.parse.dom import build  # noqa: E402

_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
_OWNER = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(?::[^=]+)?=")
_NEVER = re.compile(r"(?!)")


def added_owners(since: str) -> dict[tuple[str, str], int]:
    """(module, constant) -> how many added lines with a Chinese literal it holds."""
    diff = subprocess.run(
        ["git", "diff", "-U0", since, "--", "scraper/parse"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout  # fmt: skip
    owners: dict[tuple[str, str], int] = defaultdict(int)
    path: Path | None = None
    for line in diff.splitlines():
        if line.startswith("+++ b/"):
            path = ROOT / line[6:]
            source = path.read_text("utf-8").splitlines() if path.exists() else []
        elif line.startswith("@@") and path is not None:
            start = int(re.search(r"\+(\d+)", line).group(1))  # type: ignore[union-attr]
            count_m = re.search(r"\+\d+,(\d+)", line)
            count = int(count_m.group(1)) if count_m else 1
            for n in range(start, start + count):
                text = source[n - 1] if n - 1 < len(source) else ""
                if not _CJK.search(text) or not ('"' in text or "'" in text):
                    continue
                owner = None
                for back in range(n - 1, -1, -1):  # the assignment at column 0 above it
                    m = _OWNER.match(source[back])
                    if m:
                        owner = m.group(1)
                        break
                    if source[back].startswith(("def ", "class ")):
                        owner = source[back].split("(")[0].split()[1] + "()"
                        break
                module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
                owners[(module, owner or "?")] += 1
    return owners


def texts(corpus: Path) -> dict[str, list[str]]:
    """Each page's visible text, line by line (as the rules see it)."""
    return {
        p.stem: [ln.text for ln in build(decode(p.read_bytes())[0]).lines]
        for p in sorted((corpus / "html").glob("*.html"))
    }


def fires(value: Any, page: list[str]) -> bool:
    """Whether ``value`` matches a line of the page (a pattern) or is in one (a string)."""
    if isinstance(value, re.Pattern):
        return any(value.search(line) for line in page)
    if isinstance(value, str):
        return bool(value.strip()) and any(value in line for line in page)
    if isinstance(value, dict):
        return any(fires(k, page) or fires(v, page) for k, v in value.items())
    if isinstance(value, (tuple, list, frozenset, set)):
        return any(fires(v, page) for v in value)
    return False


def _has_pattern(value: Any) -> bool:
    if isinstance(value, re.Pattern):
        return True
    return isinstance(value, (tuple, list)) and any(_has_pattern(v) for v in value)


def emptied(value: Any) -> Any:
    """``value`` with its rule taken out; None where it cannot be (a plain string)."""
    if isinstance(value, re.Pattern):
        return _NEVER
    if isinstance(value, (tuple, list)) and _has_pattern(value):  # (label, pattern) pairs
        return type(value)(emptied(v) if _has_pattern(v) else v for v in value)
    if isinstance(value, (tuple, list, frozenset, set, dict)):
        return type(value)()
    return None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", nargs="?", type=Path, default=sc.DEFAULT_CORPORA[0])
    ap.add_argument("--since", default="HEAD~1")
    args = ap.parse_args()
    corpus: Path = args.corpus
    entries = sc.manifest(corpus)
    scorer = sc.load_scorer(corpus)
    page_text = texts(corpus)
    family = {pid: sc.family_of(entries.get(pid, {"id": pid})) for pid in page_text}
    halves: dict[str, set[str]] = {"tuning": set(), "checking": set()}
    for pid, fam in family.items():
        halves[sc.half_of(fam)].add(pid)

    def correct() -> dict[str, int]:
        """Fields right on each half, the corpus parsed once."""
        preds, _ = sc.predict(corpus, entries)
        out = {}
        for half, ids in halves.items():
            fields, _ = sc.quiet(lambda ids=ids: scorer.score(str(corpus / "gold"), preds, ids))
            out[half] = sum(c for c, _ in fields.values())
        return out

    base = correct()
    n_fam = len(set(family.values()))
    print(f"{corpus}: {len(page_text)} pages, {n_fam} site families; fields right: "
          f"tuning {base['tuning']}, checking {base['checking']}")  # fmt: skip
    print(f"{'constant':44s} {'lines':>5s} {'families':>9s} {'tuning':>7s} {'checking':>9s}")
    for (module, name), lines in sorted(added_owners(args.since).items()):
        mod = importlib.import_module(module)
        value = getattr(mod, name, None) if not name.endswith("()") else None
        fam_hit = {family[pid] for pid, t in page_text.items() if fires(value, t)}
        gone = emptied(value) if value is not None else None
        if gone is None:
            delta = ("-", "-")
        else:
            setattr(mod, name, gone)
            try:
                now = correct()
                delta = tuple(str(now[h] - base[h]) for h in ("tuning", "checking"))
            except Exception:  # other constants are derived from it at import
                delta = ("breaks", "breaks")
            finally:
                setattr(mod, name, value)
        hits = str(len(fam_hit)) if value is not None else "-"
        label = f"{module.removeprefix('scraper.parse.')}.{name}"
        print(f"{label:44s} {lines:5d} {hits:>9s} {delta[0]:>7s} {delta[1]:>9s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
