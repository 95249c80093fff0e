"""Regression floor: extraction accuracy on the real-page corpus must not drop.

The corpus lives outside the repository (../shared/corpus) and is skipped where absent.
Scoring reuses the corpus's own score.py, so the figures are the ones it prints.

Floors are counts of pages, not rounded percentages, and each field's number of scored pages
is pinned too: a field the scorer stops counting on some pages (a key the parser no longer
returns, a page it no longer reads) fails instead of keeping its percentage. The pages the
parser still gets wrong are listed by id; a miss on any other page fails, even where a fix
elsewhere keeps the count.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from scraper.decode import decode
from scraper.parse import parse_page

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

# (pages right, pages scored) per field, as the parser stands; fewer right, or a different
# number scored, fails.
FLOORS = {
    "is_article": (65, 65),
    "title": (57, 57),
    "published_day": (54, 55),
    "published": (54, 55),
    "source": (55, 57),
    "author": (55, 57),
    "editor": (57, 57),
    "body_start": (57, 57),
    "body_end": (57, 57),
    "body": (57, 57),
    "disclaimer": (55, 56),
    "footer_kept_out": (46, 46),
}
# Scored only on pages where gold or parser has a value (none here): wherever it appears it
# must be right.
ALL_RIGHT_WHERE_SCORED = {"original_url"}
# (field, page id) the parser is known to miss; any other miss is a regression.
KNOWN_MISSES = {
    ("published_day", "dahe-1"),
    ("published", "dahe-1"),
    ("disclaimer", "gmw-3"),
    ("source", "qq-1"),
    ("author", "qq-1"),
    ("author", "sohu-1"),
    ("source", "toutiao-2"),
}
PAGES = 65


def _scorer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("corpus_score", CORPUS / "score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _predictions() -> dict[str, dict[str, Any]]:
    manifest = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
    # Where the manifest has no URL, a neutral one: the page id names its kind ("...-list"),
    # which must not leak into what the parser sees.
    urls = {
        m["id"]: m.get("url") or f"http://{m.get('site') or 'corpus.test'}/{m['sha256'][:16]}.html"
        for m in manifest
    }
    preds = {}
    for path in sorted((CORPUS / "html").glob("*.html")):
        text, _enc = decode(path.read_bytes())
        url = urls[path.stem]
        rec = parse_page(text, url).to_dict()
        rec["id"] = path.stem
        preds[path.stem] = rec
    return preds


@pytest.mark.skipif(not (CORPUS / "score.py").exists(), reason="corpus not available")
def test_corpus_accuracy_does_not_drop() -> None:
    scorer = _scorer()
    preds = _predictions()
    assert len(preds) == PAGES == len(list((CORPUS / "gold").glob("*.json")))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        fields, _overall = scorer.score(str(CORPUS / "gold"), preds, None, True)
    # With show=True the scorer prints one "field<TAB>id<TAB>detail" line per miss.
    misses = {tuple(line.split("\t")[:2]) for line in out.getvalue().splitlines() if "\t" in line}
    low = {}
    for name, (floor, scored) in FLOORS.items():
        correct, total = fields.get(name, (0, 0))
        if total != scored or correct < floor:
            low[name] = f"{correct}/{total} right, floor {floor}/{scored}"
    for name, (correct, total) in fields.items():
        if name not in FLOORS and (name not in ALL_RIGHT_WHERE_SCORED or correct != total):
            low[name] = f"{correct}/{total} right on a field with no floor"
    assert not low, low
    new = sorted(misses - KNOWN_MISSES)
    assert not new, f"misses on pages the parser got right: {new}"
