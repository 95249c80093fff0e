"""WARC import speed against parsing the same pages from a folder.

Synthesises N distinct article pages from the samples (each paragraph's Chinese text replaced
by seeded random text, so bodies differ and dedup does real work), writes them both as a
gzip-per-record WARC (warcio) and as files in a folder, then times, on the same pages:

  parse only        read file, decode, parse_page (in process, nothing stored)
  fetch (folder)    `archiver fetch FILE...` into an empty archive (subprocess, batches of 500)
  import (WARC)     `archiver import FILE.warc.gz` into an empty archive (subprocess)

Usage: .venv/bin/python bench/warc_import.py [--pages 10000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import io
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from scraper.decode import decode
from scraper.parse import parse_page

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
ARTICLES = [
    "seed-utf8.html",
    "gb2312-but-utf8.html",
    "table-meta.html",
    "meta-below.html",
    "xxgk-labels.html",
    "portal-dateline.html",
    "read-original.html",
    "seed-gbk-header.html",
]
BIN = Path(sys.executable).parent
# Common characters of government prose, for the random paragraphs.
POOL = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能"
    "下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量"
    "都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各"
    "重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代"
    "想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接"
    "知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北"
    "造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清美再采转更单风切打白"
    "教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集"
    "温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿"
)


def vary(html: str, rng: random.Random, n: int) -> str:
    """A distinct page: every run of 6+ Chinese characters inside <p> text is replaced."""

    def swap_run(m: re.Match[str]) -> str:
        return "".join(rng.choice(POOL) for _ in m.group(0))

    def swap_p(m: re.Match[str]) -> str:
        return re.sub(r"[\u4e00-\u9fff]{6,}", swap_run, m.group(0))

    html = re.sub(r"<p[ >].*?</p>", swap_p, html, flags=re.S)
    html = re.sub(r"<link[^>]+rel=.?canonical[^>]*>", "", html)  # one record per page
    return html.replace("2021年", f"{2000 + n % 25}年第{n}期", 2)


def synthesise(count: int, folder: Path, warc: Path) -> list[tuple[Path, str]]:
    """Write the pages to ``folder`` and to ``warc``; return (file, url) pairs."""
    rng = random.Random(20240501)
    folder.mkdir(parents=True, exist_ok=True)
    templates = []
    for name in ARTICLES:
        data = (SAMPLES / name).read_bytes()
        charset = "gbk" if "gbk" in name else "utf-8"
        templates.append((name, data.decode("gb18030" if charset == "gbk" else "utf-8"), charset))
    out: list[tuple[Path, str]] = []
    with warc.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="1.1")
        writer.write_record(writer.create_warcinfo_record(warc.name, {"software": "bench"}))
        for n in range(count):
            name, text, charset = templates[n % len(templates)]
            body = vary(text, rng, n).encode("gbk" if charset == "gbk" else "utf-8")
            url = f"https://site{n % 40}.example.gov.cn/art/2022/6/24/art_{n}.html"
            path = folder / f"{n:05d}-{name}"
            path.write_bytes(body)
            out.append((path, url))
            headers = [
                ("Content-Type", f"text/html; charset={charset}"),
                ("Content-Length", str(len(body))),
            ]
            record = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1"),
                warc_headers_dict={"WARC-Date": f"2024-05-01T{n // 3600 % 24:02d}:"
                                   f"{n // 60 % 60:02d}:{n % 60:02d}Z"},
            )  # fmt: skip
            writer.write_record(record)
    return out


def timed(label: str, pages: int, fn: object) -> tuple[str, int, float]:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    return label, pages, time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=10_000)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="warc-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    folder, warc = work / "pages", work / "pages.warc.gz"
    t0 = time.perf_counter()
    pages = synthesise(args.pages, folder, warc)
    print(
        f"{len(pages)} pages, {sum(p.stat().st_size for p, _ in pages) / 1e6:.1f} MB in "
        f"{folder}; WARC {warc.stat().st_size / 1e6:.1f} MB ({time.perf_counter() - t0:.1f}s "
        "to write)"
    )
    archiver = str(BIN / "archiver")

    def parse_only() -> None:
        for path, url in pages:
            text, _ = decode(path.read_bytes(), None)
            parse_page(text, url)

    def fetch_folder() -> None:
        db = work / "fetch.db"
        db.unlink(missing_ok=True)
        files = [str(p) for p, _ in pages]
        for i in range(0, len(files), 500):
            subprocess.run([archiver, "fetch", "--db", str(db), *files[i : i + 500]],
                           stdout=subprocess.DEVNULL, check=True)  # fmt: skip

    def import_warc() -> None:
        db = work / "import.db"
        db.unlink(missing_ok=True)
        subprocess.run([archiver, "import", "--db", str(db), str(warc)], check=True)

    rows = [
        timed("parse only (folder)", len(pages), parse_only),
        timed("archiver fetch (folder)", len(pages), fetch_folder),
        timed("archiver import (WARC)", len(pages), import_warc),
    ]
    print(f"\n{'what':<26}{'pages':>8}{'seconds':>10}{'pages/s':>10}")
    for label, n, secs in rows:
        print(f"{label:<26}{n:>8}{secs:>10.1f}{n / secs:>10.1f}")
    print(f"\nfiles kept in {work}")


if __name__ == "__main__":
    main()
