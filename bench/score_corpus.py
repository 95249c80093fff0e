#!/usr/bin/env python3
"""Parse every corpus page, write predictions JSONL, and run the corpus scorer on it.

usage: python bench/score_corpus.py [--show-misses] [--ids a,b] [--dump ID]
Skips cleanly (exit 0) when ../shared/corpus is absent.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(ROOT))

from scraper.decode import decode  # noqa: E402
from scraper.parse import parse_page  # noqa: E402


def corpus_urls() -> dict[str, str]:
    manifest = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
    return {
        m["id"]: m.get("url") or f"http://{m.get('site') or 'corpus.test'}/{m['sha256'][:16]}.html"
        for m in manifest
    }


def predict(ids: set[str] | None = None) -> tuple[list[dict[str, object]], float]:
    urls = corpus_urls()
    out: list[dict[str, object]] = []
    elapsed = 0.0
    for path in sorted((CORPUS / "html").glob("*.html")):
        pid = path.stem
        if ids and pid not in ids:
            continue
        text, _enc = decode(path.read_bytes())
        t0 = time.perf_counter()
        art = parse_page(text, urls.get(pid, f"http://corpus.test/{pid}.html"))
        elapsed += time.perf_counter() - t0
        rec = art.to_dict()
        rec["id"] = pid
        out.append(rec)
    return out, elapsed


def main() -> int:
    if not (CORPUS / "score.py").exists():
        print(f"corpus not found at {CORPUS}; skipping")
        return 0
    args = sys.argv[1:]
    ids = None
    if "--ids" in args:
        ids = set(args[args.index("--ids") + 1].split(","))
    if "--dump" in args:
        pid = args[args.index("--dump") + 1]
        recs, _ = predict({pid})
        print(json.dumps(recs[0], ensure_ascii=False, indent=1))
        return 0
    recs, elapsed = predict(ids)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as fh:
        for rec in recs:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        pred = fh.name
    cmd = [sys.executable, str(CORPUS / "score.py"), str(CORPUS / "gold"), pred]
    if "--show-misses" in args:
        cmd.append("--show-misses")
    subprocess.run(cmd, check=False)
    print(f"pages {len(recs)}  parse time {1000 * elapsed / max(len(recs), 1):.2f} ms/page")
    Path(pred).unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
