"""Every pattern that reads page text runs in linear time.

A hostile or broken page repeats the start of a match that never completes (``<a`` with no
``>``, a label followed by a long run of spaces, a run of digits); a backtracking pattern then
rescans the rest of the page from each repetition and one page stalls the crawl for hours. Each
family below is timed at n and 8n characters: linear grows about 8x, quadratic 64x. The bound
(24x, best of several runs) leaves room for a loaded machine.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from types import ModuleType

import pytest

import scraper.parse as parse_init
from scraper import decode
from scraper.archive import dedup, textindex
from scraper.crawl import discover
from scraper.parse import (
    attached,
    boilerplate,
    dates,
    dom,
    links,
    listing,
    meta,
    record,
    scripted,
    template,
)

GROWTH = 24
BASE = 2000  # characters at n


def _best(fn: Callable[[], object], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def assert_linear(run: Callable[[str], object], make: Callable[[int], str], name: str) -> None:
    """``run(make(8n))`` takes under ``GROWTH`` times ``run(make(n))``, retried once when a
    busy machine makes the first measurement noisy."""
    small, large = make(BASE), make(8 * BASE)
    for runs in (3, 7):
        t_small = max(_best(lambda: run(small), runs), 2e-5)
        t_large = _best(lambda: run(large), runs)
        if t_large < GROWTH * t_small:
            return
    pytest.fail(f"{name}: {t_small * 1e3:.2f} ms at n, {t_large * 1e3:.2f} ms at 8n")


def _repeat(prefix: str, unit: str, suffix: str = "x") -> Callable[[int], str]:
    return lambda size: prefix + unit * max(1, (size - len(prefix)) // len(unit)) + suffix


def _scan(pattern: re.Pattern[str]) -> Callable[[str], object]:
    return lambda text: sum(1 for _ in pattern.finditer(text))


def _hanweb(text: str) -> object:
    return scripted.hanweb_next(text, "http://x/")


# The patterns found superlinear, each on the input that made it so.
FAMILIES: list[tuple[str, Callable[[str], object], Callable[[int], str]]] = [
    ("meta._NAME_CUT (a long word without 报道)", meta._names, _repeat("", "甲")),
    ("meta._NAME_CUT (many short words)", meta._names, _repeat("", "</")),
    ("meta._AFFILIATION (spaces)", _scan(meta._AFFILIATION), _repeat("（", " ")),
    ("meta._SEP (spaces)", meta.title_segments, _repeat("a", " ", "b")),
    ("meta._ORIGINAL_PRINTED (spaces)", _scan(meta._ORIGINAL_PRINTED), _repeat("原文地址", " ")),
    ("boilerplate._META_BARE (spaces)", _scan(boilerplate._META_BARE), _repeat("字", "\u3000")),
    ("boilerplate._PRINT_ED (spaces)", _scan(boilerplate._PRINT_ED), _repeat("（", "\t")),
    ("boilerplate.COMMENTS (digits)", _scan(boilerplate.COMMENTS), _repeat("热", "2020")),
    ("dates.PUBLISH_LABEL (spaces)", _scan(dates.PUBLISH_LABEL), _repeat("日期", "\n")),
    (
        "links._NEXT_TEXT (spaces)",
        lambda text: links._NEXT_TEXT.match(text),
        _repeat("next", "\u3000"),
    ),
    ("template.rename_classes (<body)", lambda h: template._body_open(h), _repeat("", "<body")),
    ("dom.clean", dom.clean, _repeat("", " \u3000 a")),
    ("dates.find_dates", dates.find_dates, _repeat("", "2020-1-1 ")),
    ("meta.find_author", lambda t: meta.find_author([t]), _repeat("作者：", "甲")),
    ("meta.find_source", lambda t: meta.find_source([t]), _repeat("来源：", "甲")),
    ("meta.find_editor", lambda t: meta.find_editor([t]), _repeat("编辑：", "甲 ")),
    ("listing.looks_binary", lambda t: listing.looks_binary(t, t), _repeat("", "\ue000a")),
    ("discover.script_next_page", lambda t: discover.script_next_page(t, "http://x/"),
     _repeat("", "createPageHTML(1,")),
    ("textindex.index_text", textindex.index_text, _repeat("", "纪委 a_")),
    ("dedup.normalize", dedup.normalize, _repeat("", "，。 a")),
    ("record._LABEL (spaced-out label starts)", _scan(record._LABEL), _repeat("", " 索 引  ")),
    ("scripted.written_html (records)", scripted.written_html, _repeat("", "<record><![CDATA[")),
    ("scripted.written_html (writes)", scripted.written_html, _repeat("", "document.write('")),
    ("scripted.script_items", scripted.script_items, _repeat("<script>", "{url:'/a")),
    ("scripted.hanweb_next", _hanweb, _repeat("", "<nextgroup><![CDATA[<record>")),
    ("record.find_record", lambda t: record.find_record([t]), _repeat("", "文号：")),
]  # fmt: skip


@pytest.mark.parametrize(("name", "run", "make"), FAMILIES, ids=[f[0] for f in FAMILIES])
def test_family_is_linear(
    name: str, run: Callable[[str], object], make: Callable[[int], str]
) -> None:
    assert_linear(run, make, name)


def _patterns(module: ModuleType) -> list[tuple[str, re.Pattern[str]]]:
    found = []
    for key, value in vars(module).items():
        values = value if isinstance(value, tuple) else (value,)
        for item in values:
            for pat in item if isinstance(item, tuple) else (item,):
                if isinstance(pat, re.Pattern) and isinstance(pat.pattern, str):
                    found.append((f"{module.__name__}.{key}", pat))
    return found


MODULES = (parse_init, attached, boilerplate, dates, dom, links, listing, meta, record, template)
MODULES += (scripted, discover)
# Tag patterns searched only up to the page's last '>' (or in a 400-character window), where
# each unclosed opening cannot scan on: timed through their callers instead.
BOUNDED_BY_CALLER = {"scraper.parse.dom._TAG", "scraper.parse.template._BODY_OPEN"}
BOUNDED_BY_CALLER |= {"scraper.parse.template._BLOCK_OPEN"}
PATTERNS = [p for m in MODULES for p in _patterns(m) if p[0] not in BOUNDED_BY_CALLER]
# Runs that start a match and never finish it: spaces, digits, hanzi, tag and label openings.
UNITS = (" ", "\t", "1", "中", "a", "<a", "<!--", "（", "记者", "：", "-", "/", "2020-1-1 ")


@pytest.mark.parametrize(("name", "pattern"), PATTERNS, ids=[p[0] for p in PATTERNS])
def test_every_pattern_is_linear_on_repeated_runs(name: str, pattern: re.Pattern[str]) -> None:
    for unit in UNITS:
        assert_linear(_scan(pattern), _repeat("", unit), f"{name} on {unit!r}")


@pytest.mark.parametrize("unit", ["<a", "<a b='>'", "<div>", "</div", "<p"])
def test_flatten_deep_is_linear(monkeypatch: pytest.MonkeyPatch, unit: str) -> None:
    """The nesting scan, made to run on small pages too: ``<a`` with no ``>`` was quadratic."""
    monkeypatch.setattr(dom, "_SCAN_ABOVE", 0)
    assert_linear(dom.flatten_deep, _repeat("<p>x</p>", unit, ""), f"flatten_deep on {unit!r}")


def test_flatten_deep_still_cuts_deep_nesting() -> None:
    html = "<div>" * 30_000 + "深处" + "</div>" * 30_000 + "<a"
    flat = dom.flatten_deep(html)
    assert "深处" in flat and flat.count("<div>") == dom.MAX_NESTING and flat.endswith("<a")


def test_meta_charset_scan_is_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    """The window bounds it on real pages; unbounded, the scan itself must still be linear."""
    monkeypatch.setattr(decode, "_META_WINDOW", 10**9)
    for unit in ("<meta", "<meta charset", "<meta <meta charset= >"):
        assert_linear(lambda text: decode.charset_from_meta(text.encode()), _repeat("", unit), unit)
    assert decode.charset_from_meta(b"<meta <meta http-equiv=x content='charset=GBK'>") == "GBK"
    assert decode.charset_from_meta(b"<META charset=utf-8><meta charset=gbk>") == "utf-8"
    assert decode.charset_from_meta(b"<meta a=1> charset=gbk") is None


_WHOLE_PAGE = """
import sys, time
from scraper.decode import decode
from scraper.parse import parse_page
from scraper.parse.links import extract_list
head = "<html><head><title>标题</title></head><body><h1>标题</h1><p>正文，正文。</p>"
unit = sys.argv[1]
for size in (80_000, 320_000, 2_000_000):
    html = head + unit * ((size - len(head)) // len(unit))
    start = time.perf_counter()
    parse_page(html, "http://x.gov.cn/a.html")
    extract_list(html, "http://x.gov.cn/a.html")
    decode(html.encode("utf-8"), "text/html")
    print(size, time.perf_counter() - start, flush=True)
"""
WHOLE_PAGE_UNITS = ("<a", "<a ", "<div>", "<!--", "<meta ", "作者：", "2020-1-1 ", "\u3000")


@pytest.mark.parametrize("unit", WHOLE_PAGE_UNITS)
def test_whole_page_parse_has_a_time_cap(unit: str) -> None:
    """Parse, list extraction and decoding of adversarial pages up to 2 MB: a few seconds at
    most (a page ending in 80 KB of ``<a`` once took 30 s, 160 KB minutes). Run in a child
    process so that a regression fails at the timeout instead of hanging the suite."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _WHOLE_PAGE, unit],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{unit!r}: still parsing after 60 s ({exc.stdout!r})")
    times = {int(size): float(t) for size, t in (ln.split() for ln in done.stdout.splitlines())}
    assert times[2_000_000] < 5.0, times
