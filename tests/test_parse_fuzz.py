"""Hostile input through decoding and parsing: never an uncaught exception, bounded time."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scraper.decode import decode
from scraper.parse import parse_page

TAGS = [
    "div",
    "p",
    "span",
    "a",
    "h1",
    "h2",
    "table",
    "tr",
    "td",
    "ul",
    "li",
    "br",
    "script",
    "style",
    "title",
    "meta",
    "img",
    "font",
    "strong",
    "iframe",
    "body",
    "html",
    "head",
]
WORDS = [
    "来源：",
    "责任编辑：",
    "作者：",
    "发布时间：",
    "2022-06-24 10:30",
    "2022年6月24日",
    "原文链接：",
    "http://a.test/x",
    "【免责声明】",
    "版权所有",
    "ICP备",
    "上一篇",
    "。",
    "，",
    "政府工作报告",
    "新华社北京6月24日电（记者 王某）",
    "\u3000",
    "&nbsp;",
    "<",
    ">",
    "&#0;",
    "\x00",
    "\ufffd",
    "下一页",
]


@st.composite
def html_pages(draw: st.DrawFn) -> str:
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 60))):
        kind = draw(st.integers(0, 3))
        if kind == 0:
            tag = draw(st.sampled_from(TAGS))
            attr = draw(
                st.sampled_from(
                    [
                        "",
                        " class='content'",
                        " id='footer'",
                        " href='/a'",
                        " rel='canonical' href='//x'",
                        " property='og:title'",
                    ]
                )
            )
            parts.append(f"<{tag}{attr}>")
        elif kind == 1:
            parts.append(f"</{draw(st.sampled_from(TAGS))}>")
        elif kind == 2:
            parts.append(draw(st.sampled_from(WORDS)))
        else:
            parts.append(draw(st.text(max_size=40)))
    return "".join(parts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html_pages(), st.sampled_from(["http://a.test/x.html", "https://b.test/", "file:///x"]))
def test_generated_html_never_raises(html: str, url: str) -> None:
    article = parse_page(html, url)
    assert isinstance(article.body, str)
    assert article.is_article in (True, False)


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=4000),
    st.sampled_from([None, "text/html; charset=gbk", "text/html; charset=bogus", "text/html"]),
)
def test_raw_bytes_decode_and_parse_without_raising(data: bytes, ctype: str | None) -> None:
    text, encoding = decode(data, ctype)
    assert isinstance(text, str) and encoding
    parse_page(text, "http://a.test/x.html")


def test_deeply_nested_page_parses_in_bounded_time() -> None:
    depth = 100_000
    html = "<html><body>" + "<div>" * depth + "<p>深层嵌套的正文，用于测试。</p>" + "</div>" * depth
    started = time.monotonic()
    article = parse_page(html + "</body></html>", "http://a.test/deep.html")
    assert time.monotonic() - started < 60
    assert "深层嵌套的正文" in article.body


def test_five_megabytes_of_html_parse_in_bounded_time() -> None:
    row = "<tr><td><a href='/a'>链接</a></td><td>一段文字，说明情况。</td></tr>"
    html = "<html><body><table>" + row * (5_000_000 // len(row.encode())) + "</table></body></html>"
    started = time.monotonic()
    parse_page(html, "http://a.test/big.html")
    assert time.monotonic() - started < 60
