#!/usr/bin/env python3
"""Which library reads each attachment kind: time, memory and correctness on the same files.

Run from the project root: ``python bench/documents.py`` (2-3 minutes). The rejected
libraries are imported here only, so they are not project dependencies; to run this again:
``pip install pypdf pdfminer.six python-docx openpyxl cryptography``.

Files: the real ones in tests/documents/ (MANIFEST.json: Chinese government and standards
documents, OFD letters and forms, e-invoices), the ones tests/test_documents.py builds (a CJK
PDF reachable only through a ToUnicode map, a DOCX with a table, text box and deleted
revision, a WPS-style XLSX with dates and inline strings), and three large built files for
memory (a 300-page CJK PDF, a 5,000-paragraph DOCX, a 20,000-row XLSX).

Each (library, file) runs in its own process: ``rss`` is the growth of ru_maxrss over the
process after import and after loading the bytes (C allocations included, which tracemalloc
misses), ``py`` the tracemalloc peak of Python allocations, ``ms`` the median of repeated runs.
Correctness: the file's expected phrases (the ones tests/test_documents.py asserts, chosen by
reading the files) found in order, ``bad`` counts U+FFFD, private-use characters, control
characters and ``(cid:`` markers (mojibake), and ``forbidden`` counts text that must not come
out (deleted revisions, a text box's second copy).

Results of the last run (2 cores shared with other work, load average about 4, so the
milliseconds carry noise of +-50%; the ratios held in three runs, XLSX's least: 1.1-1.9x).
"ms small" sums the medians over the kind's real and built files, "ms large" is the large
built file, "rss" and "py" are the worst file's growth in MB, "phrases" the expected phrases
found, "order" the files whose phrases all came out in order:

  kind  library                ms small  ms large  rss MB  py MB  phrases  order  forb  bad
  pdf   pypdfium2 5.15             12.6       227     3.0    1.9    14/14   6/6     0    0
  pdf   pypdf 7.1.1                82.4      2834     7.1    7.2    13/14   5/6     0    0
  pdf   pdfminer.six 20260107     351.4      6942     5.8    5.2    12/14   4/6     0    0
  docx  stdlib zip+xml             91.8        26     1.9    1.3    23/23   5/5     0    0
  docx  python-docx 1.2.0         183.7       334     7.6    2.0    22/23   4/5     0    0
  xlsx  stdlib zip+xml             19.3       851     6.3    5.3    13/13   3/3     0    0
  xlsx  openpyxl 3.1.5             28.4      1395     6.9    5.3    13/13   3/3     0    0
  ofd   stdlib document order       4.5         -     0.8    0.6    18/18   5/5     0    0
  ofd   stdlib position order       4.4         -     0.7    0.6    18/18   4/5     0    0

PDF (5 real files, the built ToUnicode one, 300 pages): pypdf and pdfminer.six put the real
procurement document's vertical title one character per line, so "竞争性磋商文件" is not
found; pdfminer.six also reorders the itinerary's flight lines. PDFium's rss (about 2 MB) is
its one-off start-up, the same on every file. All three read the ToUnicode CJK without
mojibake. Choice: pypdfium2.
DOCX (3 real NEA standards documents, the built one, 5,000 paragraphs): both read the real
files alike; python-docx drops the text box and is 2-13x slower. Choice: the stdlib reader.
XLSX (the real issue list, the built one, 20,000 rows): both read every cell, dates as dates;
the stdlib reader is 1.1-1.9x faster in the same memory. Choice: the stdlib reader.
OFD (5 real files): position order places the e-invoice's columns side by side but breaks
the incoming-document form (the title lands inside the first table row). Choice: document
order, a new line where the baseline moves.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scraper.documents import limits  # noqa: E402
from scraper.documents.ofd import ofd_text  # noqa: E402
from scraper.documents.ooxml import docx_text, xlsx_text  # noqa: E402
from scraper.documents.pdf import pdf_text  # noqa: E402
from scraper.documents.safezip import SafeZip  # noqa: E402
from tests.test_documents import (  # noqa: E402
    DOCX_BODY,
    NOTICE_PAGES,
    REAL,
    in_order,
    make_cjk_pdf,
    make_docx,
    make_xlsx,
    para,
)

DOCS = ROOT / "tests" / "documents"

# --- files ---------------------------------------------------------------------------------


def _big_pdf() -> bytes:
    lines = ["第{}条 各级人民政府应当加强对数据安全工作的领导，建立健全工作协调机制。"]
    pages = [[line.format(p * 40 + n) for n in range(40) for line in lines] for p in range(300)]
    return make_cjk_pdf(pages)


def _big_docx() -> bytes:
    body = "".join(
        para(f"第{n}条 县级以上地方人民政府应当将安全生产工作纳入规划。") for n in range(5000)
    )
    return make_docx(body)


def _big_xlsx() -> bytes:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("名单")
    ws.append(["序号", "单位名称", "地址", "金额（万元）", "备注"])
    for n in range(20_000):
        ws.append([n, f"第{n}号企业有限公司", f"浙江省杭州市西湖区文三路{n}号", n * 1.5, "已认定"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


BUILT: dict[str, tuple[str, Callable[[], bytes], list[str], list[str]]] = {
    "built:cjk-tounicode.pdf": (
        "pdf",
        lambda: make_cjk_pdf(NOTICE_PAGES),
        [line for page in NOTICE_PAGES for line in page],
        [],
    ),
    "built:notice.docx": (
        "docx",
        lambda: make_docx(DOCX_BODY),
        [
            "关于开展2024年度安全生产检查的通知",
            "应急管理局：",
            "序号",
            "危险化学品企业",
            "文本框内容",
            "市应急管理局",
        ],
        ["已删除的文字", "文本框内容\n文本框内容"],
    ),
    "built:list.xlsx": (
        "xlsx",
        make_xlsx,
        [
            "单位名称",
            "杭州市第一人民医院",
            "2024-04-01",
            "120.5",
            "宁波市卫生健康委员会",
            "以上名单自公布之日起生效",
        ],
        ["ハンシュウ"],
    ),
    "large:300-pages.pdf": ("pdf", _big_pdf, ["第0条", "第11999条"], []),
    "large:5000-paragraphs.docx": ("docx", _big_docx, ["第0条", "第4999条"], []),
    "large:20000-rows.xlsx": (
        "xlsx",
        _big_xlsx,
        ["第0号企业有限公司", "第19999号企业有限公司"],
        [],
    ),
}


def files() -> dict[str, tuple[str, list[str], list[str]]]:
    """file id -> (kind, expected phrases in order, forbidden phrases)."""
    out = {name: (kind, phrases, []) for name, (kind, phrases) in REAL.items()}
    out.update({key: (kind, want, bad) for key, (kind, _, want, bad) in BUILT.items()})
    return out


def load(file_id: str) -> bytes:
    if file_id in BUILT:
        return BUILT[file_id][1]()
    return (DOCS / file_id).read_bytes()


# --- candidates ------------------------------------------------------------------------------


def _pdfium(data: bytes) -> str:
    return pdf_text(data, limits.Budget())


def _pypdf(data: bytes) -> str:
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):
        raise ValueError("password needed")
    return "\n".join(page.extract_text() or "" for page in reader.pages[: limits.MAX_PDF_PAGES])


def _pdfminer(data: bytes) -> str:
    from pdfminer.high_level import extract_text

    return str(extract_text(io.BytesIO(data), maxpages=limits.MAX_PDF_PAGES))


def _docx_stdlib(data: bytes) -> str:
    return docx_text(SafeZip(data), limits.Budget())


def _python_docx(data: bytes) -> str:
    import docx
    from docx.table import Table

    out = []
    for block in docx.Document(io.BytesIO(data)).iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                out.append("\t".join(cell.text for cell in row.cells))
        elif block.text.strip():
            out.append(block.text)
    return "\n".join(out)


def _xlsx_stdlib(data: bytes) -> str:
    return xlsx_text(SafeZip(data), limits.Budget())


def _openpyxl(data: bytes) -> str:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    out = []
    for ws in wb.worksheets:
        out.append(f"# {ws.title}")
        for row in ws.iter_rows(values_only=True):
            cells = ["" if value is None else str(value) for value in row]
            if any(cells):
                out.append("\t".join(cells))
    wb.close()
    return "\n".join(out)


def _ofd(order: str) -> Callable[[bytes], str]:
    def run(data: bytes) -> str:
        import scraper.documents.ofd as ofd

        ofd.ORDER = order
        return ofd_text(SafeZip(data), limits.Budget())

    return run


CANDIDATES: dict[str, dict[str, Callable[[bytes], str]]] = {
    "pdf": {"pypdfium2": _pdfium, "pypdf": _pypdf, "pdfminer.six": _pdfminer},
    "docx": {"stdlib zip+xml": _docx_stdlib, "python-docx": _python_docx},
    "xlsx": {"stdlib zip+xml": _xlsx_stdlib, "openpyxl": _openpyxl},
    "ofd": {"stdlib document order": _ofd("document"), "stdlib position order": _ofd("position")},
}

# --- one measurement, in a fresh process ------------------------------------------------------


def _bad_chars(text: str) -> int:
    bad = text.count("(cid:")
    for ch in text:
        code = ord(ch)
        if ch == "\ufffd" or 0xE000 <= code <= 0xF8FF or (code < 32 and ch not in "\t\n\r\f"):
            bad += 1
    return bad


_IMPORTS = {
    "pypdf": "pypdf",
    "pdfminer.six": "pdfminer.high_level",
    "python-docx": "docx",
    "openpyxl": "openpyxl",
}


def measure_one(kind: str, candidate: str, file_id: str) -> dict[str, object]:
    run = CANDIDATES[kind][candidate]
    data = load(file_id)
    if candidate in _IMPORTS:  # imported before the baseline: rss is the extraction's own
        importlib.import_module(_IMPORTS[candidate])
    _, want, forbidden = files()[file_id]
    gc.collect()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        text = run(data)
        error = None
    except Exception as exc:
        text, error = "", f"{type(exc).__name__}: {exc}"[:120]
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
    tracemalloc.start()
    with contextlib.suppress(Exception):
        run(data)
    py_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    times = []
    budget_end = time.perf_counter() + 2.0
    while len(times) < 5 and (not times or time.perf_counter() < budget_end):
        started = time.perf_counter()
        with contextlib.suppress(Exception):
            run(data)
        times.append(time.perf_counter() - started)
    normalized = text.replace("\r\n", "\n")
    found = sum(1 for phrase in want if phrase in normalized)
    return {
        "kind": kind,
        "candidate": candidate,
        "file": file_id,
        "ms": round(statistics.median(times) * 1000, 2),
        "rss_mb": round(rss_kb / 1024, 2),
        "py_mb": round(py_peak / 1024 / 1024, 2),
        "found": found,
        "want": len(want),
        "in_order": in_order(normalized, want),
        "forbidden": sum(1 for phrase in forbidden if phrase in normalized),
        "bad": _bad_chars(text),
        "chars": len(text),
        "error": error,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", nargs=3, metavar=("KIND", "CANDIDATE", "FILE"))
    parser.add_argument("--json", type=Path, help="write every measurement here")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(*args.one), ensure_ascii=False))
        return
    results = []
    for file_id, (kind, _, _) in files().items():
        if kind not in CANDIDATES:
            continue
        for candidate in CANDIDATES[kind]:
            proc = subprocess.run(
                [sys.executable, __file__, "--one", kind, candidate, file_id],
                capture_output=True,
                text=True,
                timeout=600,
                env={**os.environ, "PYTHONHASHSEED": "0"},
            )
            if proc.returncode:
                print(f"{candidate} on {file_id} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
                continue
            results.append(json.loads(proc.stdout))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    report(results)


def report(results: list[dict[str, object]]) -> None:
    print("per file")
    print(f"  {'kind':5} {'library':22} {'file':40} {'ms':>8} {'rss':>6} {'py':>6} "
          f"{'found':>6} {'order':>5} {'forb':>4} {'bad':>4}  error")  # fmt: skip
    for r in results:
        print(
            f"  {r['kind']:5} {r['candidate']:22} {r['file']!s:40.40} {r['ms']:>8} "
            f"{r['rss_mb']:>6} {r['py_mb']:>6} {r['found']!s:>3}/{r['want']!s:<2} "
            f"{'yes' if r['in_order'] else 'NO':>5} {r['forbidden']!s:>4} {r['bad']!s:>4}  "
            f"{r['error'] or ''}"
        )
    print("\nper library (small = real and built files; large = the large built file)")
    print(f"  {'kind':5} {'library':22} {'ms small':>9} {'ms large':>9} {'rss MB':>7} "
          f"{'py MB':>6} {'phrases':>8} {'in order':>9} {'forb':>4} {'bad':>4}")  # fmt: skip
    keys = sorted({(str(r["kind"]), str(r["candidate"])) for r in results})
    for kind, candidate in keys:
        rows = [r for r in results if r["kind"] == kind and r["candidate"] == candidate]
        small = [r for r in rows if not str(r["file"]).startswith("large:")]
        large = [r for r in rows if str(r["file"]).startswith("large:")]
        ms_small = sum(float(str(r["ms"])) for r in small)
        ms_large = sum(float(str(r["ms"])) for r in large)
        found = sum(int(str(r["found"])) for r in rows)
        want = sum(int(str(r["want"])) for r in rows)
        forbidden = sum(int(str(r["forbidden"])) for r in rows)
        bad = sum(int(str(r["bad"])) for r in rows)
        print(
            f"  {kind:5} {candidate:22} {ms_small:>9.1f} "
            f"{(f'{ms_large:.0f}' if large else '-'):>9} "
            f"{max(float(str(r['rss_mb'])) for r in rows):>7.1f} "
            f"{max(float(str(r['py_mb'])) for r in rows):>6.1f} "
            f"{found:>4}/{want:<3} "
            f"{sum(1 for r in rows if r['in_order'])!s:>5}/{len(rows):<3} "
            f"{forbidden:>4} {bad:>4}"
        )


if __name__ == "__main__":
    main()
