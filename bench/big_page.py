"""Memory and time of archiving one very large article (the size cap's worth of text).

Writes a page of ``--mb`` megabytes whose body is varied Chinese prose (random characters in
sentences: the worst case for the search index, whose memory grows with distinct terms), then
runs ``archiver fetch`` on it in a process of its own and prints that process's peak memory
(VmHWM) and wall time. Run: ``python bench/big_page.py [--mb 9.5]``.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = (
    "import sys\n"
    "import scraper.archive.textindex\n"
    "scraper.archive.textindex.INDEX_CHARS = int(sys.argv.pop(1)) or sys.maxsize\n"
    "from scraper.cli import main\n"
    "try:\n"
    "    main()\n"
    "finally:\n"
    "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
    "    print('peak_kb', hwm[0].split()[1] if hwm else 0, file=sys.stderr)\n"
)


def page(megabytes: float, seed: int = 1) -> str:
    rng = random.Random(seed)
    chars = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    head = (
        "<html><head><meta charset='utf-8'><title>超长公告测试 - 测试站</title></head><body>"
        "<h1>超长公告测试</h1><p>发布时间：2024-03-01 10:00　来源：测试站</p><div class='content'>"
    )
    parts = [head]
    size = len(head.encode())
    while size < megabytes * 1024 * 1024:
        words = ("".join(rng.choice(chars) for _ in range(rng.randint(8, 20))) for _ in range(8))
        para = "<p>" + "，".join(words) + "。</p>\n"
        parts.append(para)
        size += len(para.encode())
    parts.append("</div></body></html>")
    return "".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=float, default=9.5, help="page size (under the 10 MB cap)")
    ap.add_argument(
        "--index-chars", type=int, nargs="*", default=[0, 500_000],
        help="search-index limits to compare (0: none); default: none, then the shipped one",
    )  # fmt: skip
    args = ap.parse_args()
    for chars in args.index_chars:
        run(args.mb, chars)


def run(megabytes: float, chars: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp, "big.html")
        html.write_text(page(megabytes), encoding="utf-8")
        size = html.stat().st_size / 2**20
        started = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                CHILD,
                str(chars),
                "fetch",
                str(html),
                "--db",
                str(Path(tmp, "a.db")),
                "--url",
                "https://www.example.gov.cn/big.html",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        seconds = time.monotonic() - started
    peak = next((ln.split()[1] for ln in done.stderr.splitlines() if ln.startswith("peak_kb")), "0")
    status = "stored" if done.returncode == 0 else f"exit {done.returncode}: {done.stderr[-300:]!r}"
    limit = f"first {chars:,} characters indexed" if chars else "whole body indexed"
    print(f"{size:.1f} MB page, {limit}: {status}, peak {int(peak) / 1024:.0f} MB, {seconds:.1f} s")


if __name__ == "__main__":
    main()
