"""bench/search.py at a tiny size: its bulk-built archive is the one the product would make.

The bench fills the archive by SQL (``Archive.save`` would take an hour for a million
articles), so its figures stand for the product only if what it writes is what the product
writes: the same search keys and an index that answers every query as the product's own
rebuilt index does. No timings are asserted: the bench reports them.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from scraper.archive import Archive
from scraper.models import SearchOrder

ROOT = Path(__file__).resolve().parents[1]
N = 300


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_search", ROOT / "bench" / "search.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "bench.db"
    bench.build(path, N, procs=0, log=lambda _: None)
    return path


def _keys(path: Path) -> dict[int, int]:
    conn = sqlite3.connect(path)
    keys = {int(i): int(k) for i, k in conn.execute("SELECT id, search_key FROM articles")}
    conn.close()
    return keys


def test_bulk_built_archive_is_the_products(built: Path, tmp_path: Path) -> None:
    """A copy whose keys are forgotten and whose index the product rebuilds (its migration's
    way: keys in archiving order, then every article indexed) has the bench's keys and
    answers every query with the same hits in the same order."""
    copy = tmp_path / "rebuilt.db"
    shutil.copyfile(built, copy)
    conn = sqlite3.connect(copy)
    conn.execute("UPDATE articles SET search_key = NULL")
    conn.commit()
    conn.close()
    with Archive.open(copy) as archive:
        assert archive.rebuild_search_index() == N
    ours, theirs = _keys(built), _keys(copy)
    assert len(ours) == N
    assert {i: k >> bench.KEY_BITS for i, k in ours.items()} == {
        i: k >> bench.KEY_BITS for i, k in theirs.items()
    }
    assert ours == theirs  # the day's articles numbered in the same order, too

    classes = bench.choose_queries(built, N, 2)
    queries = ["党", "党建", "纪委书记", "党建 纪委", "党建 OR 纪委", "-党 发展"]
    queries += [q for c in classes for q in c.queries]
    with Archive.open(built, readonly=True) as a, Archive.open(copy, readonly=True) as b:
        for query in queries:
            for order in SearchOrder:
                for offset in (0, 20):
                    got = a.find(query, limit=20, offset=offset, order=order)
                    want = b.find(query, limit=20, offset=offset, order=order)
                    assert [h.id for h in got.hits] == [h.id for h in want.hits], (query, order)
                    assert got.order == want.order
    assert any(c.name.endswith("common") and c.queries for c in classes)
    assert any(c.name.endswith("rare") and c.queries for c in classes)


def test_corpus_is_deterministic() -> None:
    """The same articles every time and in every process (each has its own random stream)."""
    assert bench.corpus(50) == bench.corpus(50)
    texts = [bench.article_text(i) for i in (0, 7, 49)]
    assert texts == [bench.article_text(i) for i in (0, 7, 49)]
    code = (
        "import json, runpy; b = runpy.run_path('bench/search.py'); "
        "print(json.dumps([b['article_text'](i) for i in (0, 7, 49)], ensure_ascii=False))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert [tuple(t) for t in json.loads(other.stdout)] == texts
    title, body = texts[1]
    assert title and 100 < len(body) <= 8000 and "，" in body and "。" in body


def test_keys_are_in_date_order() -> None:
    """A later day's articles have higher keys; undated ones are dated by first_seen."""
    corpus = bench.corpus(200)
    days = [
        bench.search_day(p, s) for p, s in zip(corpus.published, corpus.first_seen, strict=True)
    ]
    assert [k >> bench.KEY_BITS for k in corpus.keys] == days
    assert len(set(corpus.keys)) == 200
    assert None in corpus.published
    assert len(set(corpus.urls)) == 200


def test_main_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.json"
    argv = ["--sizes", "300", "--queries-per-class", "2", "--cli-runs", "1", "--repeat", "2"]
    argv += ["--procs", "0", "--classes", "2 chars,OR", "--dir", str(tmp_path), "--json", str(out)]
    results = bench.main(argv)
    printed = capsys.readouterr().out
    assert "old bm25" in printed and "2 chars common" in printed and "OR common|medium" in printed
    assert "peak RSS" in printed
    assert json.loads(out.read_text())["runs"][0]["articles"] == N
    (run,) = results["runs"]
    assert all(c["cli"] for c in run["classes"])
    again = bench.main(["--sizes", "300", "--dir", str(tmp_path), "--only-build"])
    assert again["runs"][0]["build"] == run["build"]  # reused, not built again
