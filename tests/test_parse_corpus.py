"""Regression floor: extraction accuracy on the real-page corpus must not drop.

The corpus lives outside the repository (../shared/corpus) and is skipped where absent.
Scoring reuses the corpus's own score.py, so the figures are the ones it prints.
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

# Percent correct reached by the parser (rounded down); any drop fails the test.
FLOORS = {
    "is_article": 100,
    "title": 100,
    "published_day": 98,
    "published": 98,
    "source": 96,
    "author": 96,
    "editor": 100,
    "body_start": 100,
    "body_end": 100,
    "body": 100,
    "disclaimer": 98,
    "footer_kept_out": 100,
}


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
    with contextlib.redirect_stdout(io.StringIO()):
        fields, _overall = scorer.score(str(CORPUS / "gold"), _predictions())
    low = {}
    for name, floor in FLOORS.items():
        correct, total = fields[name]
        pct = 100 * correct / total
        if pct < floor:
            low[name] = f"{pct:.1f}% < {floor}%"
    assert not low, low
