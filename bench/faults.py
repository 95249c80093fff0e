"""Load with faults: crawl N generated articles from local servers with 5% of the article
requests faulted (reset, 5xx, 429, truncated gzip, empty, PDF, image, redirect to file:), then
re-run; print pages, faults injected, faults survived and records lost.

    python bench/faults.py                 # 10,000 pages over 4 hosts
    python bench/faults.py --pages 2000 --hosts 8 --seed 1

The same code runs (at 1,000 pages) as tests/test_resilience.py's load test.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_resilience import load_with_faults


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--rate", type=float, default=0.05)
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        got = load_with_faults(args.pages, args.hosts, Path(tmp), seed=args.seed, rate=args.rate)
    got["total seconds"] = round(time.monotonic() - started, 1)
    width = max(len(k) for k in got)
    for key, value in got.items():
        text = json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value
        print(f"{key:<{width}}  {text}")
    ok = got["records lost"] == 0 and got["faults survived"] == got["faults injected"]
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
