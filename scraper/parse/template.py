"""Template changes that must not change what the parser extracts (metamorphic testing).

A site redesign renames classes, and portals wrap the same article in breadcrumbs, share bars,
tag lines and related-article lists with other dates. Each function here makes one such change
to a page's HTML, placed by the text the parser found (the headline, the body's last line), and
returns None where it cannot place it. ``bench/metamorphic.py`` and
``tests/test_parse_metamorphic.py`` check that the record stays the same.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

_ATTR = re.compile(r"""\b(class|id)\s*=\s*("[^"<>]*"|'[^'<>]*'|[^\s"'<>=`]+)""", re.I)
_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.I)
_BLOCK_CLOSE = re.compile(r"</(?:p|div|td|li|section|article|font|span)\s*>", re.I)
_BLOCK_OPEN = re.compile(r"<(?:h[1-6]|p|div|td|span|font|strong|b)\b[^>]*>", re.I)

BREADCRUMB = (
    '<div class="crumbs">当前位置：<a href="/">首页</a> &gt; <a href="/xwzx/">新闻中心</a>'
    ' &gt; <a href="/xwzx/zwyw/">政务要闻</a> &gt; 正文</div>'
)
SHARE = (
    '<div class="share-bar">分享到：<a href="#wx">微信</a> <a href="#wb">微博</a>'
    ' <a href="#qz">QQ空间</a>　阅读 1,024　点赞 36</div>'
)
TAGS = '<div class="tags">标签：<a href="/tag/1">政务公开</a> <a href="/tag/2">民生</a></div>'
_OLD_NEWS = [
    ("市政府召开第三季度经济形势分析会", "2019-10-21"),
    ("全市安全生产大检查工作部署会召开", "2019-09-30"),
    ("关于进一步做好冬季供暖工作的通知", "2019-11-02"),
    ("我市举办2019年农民丰收节庆祝活动", "2019-09-23"),
    ("市人大常委会开展环境保护执法检查", "2019-08-15"),
]
RELATED = (
    '<div class="related"><h3>相关新闻</h3><ul>'
    + "".join(
        f'<li><a href="/art/{d.replace("-", "/")}/art_{i}.html">{t}</a><span>{d}</span></li>'
        for i, (t, d) in enumerate(_OLD_NEWS)
    )
    + "</ul></div>"
)
SIDEBAR = RELATED.replace("related", "hot-list").replace("相关新闻", "热点新闻")


def _hashed(m: re.Match[str]) -> str:
    value = m.group(2).strip("\"'")
    return f'{m.group(1)}="x{hashlib.sha1(value.encode()).hexdigest()[:6]}"'


def rename_classes(html: str, title: str, last: str) -> str | None:
    """Every class and id replaced by a meaningless name: nothing may hang on them."""
    return _ATTR.sub(_hashed, html)


def _body_open(html: str) -> re.Match[str] | None:
    """The <body> tag, looked for only up to the last '>': past it each unclosed ``<body`` would
    scan to the end of the page before failing (quadratic)."""
    return _BODY_OPEN.search(html, 0, html.rfind(">") + 1)


def _anchor(html: str, text: str, from_end: bool) -> int | None:
    """Where a piece of the page's text sits in its HTML's body (a few characters of it)."""
    text = text.strip()
    if len(text) < 4:
        return None
    piece = text[-6:] if from_end else text[:6]
    body = _body_open(html)
    start = body.end() if body else 0
    pos = html.rfind(piece, start) if from_end else html.find(piece, start)
    if pos < 0 or html.count(piece, start) > 2:
        return None
    return pos + len(piece) if from_end else pos


def _after_text(html: str, last: str, block: str) -> str | None:
    pos = _anchor(html, last, from_end=True)
    if pos is None:
        return None
    close = _BLOCK_CLOSE.search(html, pos)
    if close is None:
        return None
    return html[: close.end()] + block + html[close.end() :]


def _before_text(html: str, title: str, block: str) -> str | None:
    pos = _anchor(html, title, from_end=False)
    if pos is None:
        return None
    opens = list(_BLOCK_OPEN.finditer(html, max(pos - 400, 0), pos))
    if not opens:
        return None
    at = opens[-1].start()
    return html[:at] + block + html[at:]


def breadcrumb_on_top(html: str, title: str, last: str) -> str | None:
    m = _body_open(html)
    return html[: m.end()] + BREADCRUMB + html[m.end() :] if m else None


def share_after_body(html: str, title: str, last: str) -> str | None:
    return _after_text(html, last, SHARE)


def tags_after_body(html: str, title: str, last: str) -> str | None:
    return _after_text(html, last, TAGS)


def related_after_body(html: str, title: str, last: str) -> str | None:
    return _after_text(html, last, RELATED)


def sidebar_before_headline(html: str, title: str, last: str) -> str | None:
    return _before_text(html, title, SIDEBAR)


CHANGES: dict[str, Callable[[str, str, str], str | None]] = {
    "rename classes": rename_classes,
    "breadcrumb on top": breadcrumb_on_top,
    "share bar after body": share_after_body,
    "tag line after body": tags_after_body,
    "related list after body": related_after_body,
    "dated list before headline": sidebar_before_headline,
}
