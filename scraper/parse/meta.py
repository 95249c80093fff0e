"""Headline, site name and the labelled credit fields (来源, 作者, 编辑, 原文链接)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..urls import absolute, is_web_url
from .dates import DATE, find_dates
from .dom import Doc, squash

# Searched patterns that open with \s* start only where a whitespace run starts, ``(?!(?<=\s)\s)``:
# tried inside the run they fail the same way again and again, quadratic in the run's length.
# It changes no match: the run's first position is tried first and matches whatever a later
# one would, and no match ends inside a run (each ends with a greedy \s* or at $).
_RUN_START = r"(?!(?<=\s)\s)"
_SEP = re.compile(_RUN_START + r"\s*(?:_|\||｜|--|—|–|-(?=\s)|(?<=\s)-)\s*")
_BRACKETS = "[]【】()（）<>《》「」"

# Every label that can follow a value on a run-together meta line; a value stops there.
_NEXT = (
    r"(?:责任编辑|编辑|责编|选稿|审核|审校|校对|监制|主编|作者|记者|撰文|执笔|摄影|通讯员|来源|"
    r"信息来源|稿件来源|来自|转自|发布时间|发布日期|发布于|发布|时间|日期|更新时间|浏览|点击|阅读|字号|"
    r"打印|分享|收藏|评论|举报|关闭|返回|查看)(?:次数|量|数)?"
)
_STOP = re.compile(
    r"\s*" + _NEXT + r"\s*[:：︰丨|｜︱/]|\s{2,}|[】\]）)>》]|$"
    r"|\s+(?:分享|互动|收藏|评论|打印|举报|关注|点赞|编译|整理|综合)"
)
_SOURCE = re.compile(
    r"(?:信息|稿件|文章|本文|新闻|内容)?(?:来\s*源(?:于)?|转自|来自)\s*[:：︰丨|｜︱]\s*"
    r"|(?:信息|稿件|文章|本文|内容)来源于\s*"
)
_EDITOR_LABELS = (
    ("责任编辑", re.compile(r"责任编辑\s*[:：︰丨|｜︱/]?\s*")),
    ("责编", re.compile(r"责编\s*[:：︰丨|｜︱/]\s*")),
    ("编辑", re.compile(r"(?<![责任总主])编辑\s*[:：︰丨|｜︱/]\s*")),
    ("选稿", re.compile(r"选稿\s*[:：︰丨|｜︱/]\s*")),
)
_AUTHOR = re.compile(
    r"(?:作者(?:\s*[:：︰丨|｜︱/]|\s+)|撰文\s*[:：︰丨|｜︱/]?|执笔\s*[:：︰丨|｜︱/]?|文\s*/\s*图|图\s*/\s*文|"
    r"(?<![\u4e00-\u9fff])文\s*[:：︰丨|｜︱/]|记者)\s*"
)
_NAME = re.compile(r"[\u4e00-\u9fff·]{2,4}|[A-Za-z][A-Za-z .]{1,30}")
# A credit's end; ``…报道`` cuts from the start of its word (and the space before it), tried only
# there: from every position inside a long word it would scan the rest of the word again.
_NAME_CUT = re.compile(
    r"(?:发自|(?:^|(?<=\S)(?=\s))\s*\S*报道|/|／|\d|电|讯|来源|编辑|责任|通讯员|实习生|综合|整理|供图|图片|$)"
)
_PHOTO = re.compile(r"^[^（()）]{2,30}?摄(?:影)?\s*$|^[^（()）]{2,30}?摄[）)]")
_ROLE = re.compile(
    r"(?:评论员|研究员|记者|通讯员|主任|教授|讲师|博士|书记|委员|主席|干部|编辑|总编|社长|"
    r"[部院局处科厅县市省区镇乡村]长|员)(?=\s|$)"
)
_AFFILIATION = re.compile(_RUN_START + r"\s*[（(][^（()）]{2,30}[）)]\s*$")


def _lcp(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def title_segments(title: str) -> list[str]:
    return [s for s in _SEP.split(title) if s]


def _head(title: str) -> str:
    """<title> without its trailing site / channel segments."""
    segs = _SEP.split(title)
    while len(segs) > 1 and len(segs[-1]) <= 12:
        segs.pop()
    return " ".join(segs)


def site_name(doc: Doc) -> str | None:
    """og:site_name, else the last segment of <title> when it looks like a site suffix."""
    name = doc.meta.get("og:site_name")
    if name:
        return name
    segs = title_segments(doc.title)
    if len(segs) < 2:
        segs = re.split(r"[-—]+", doc.title)  # "headline-站点名" without spaces
    if len(segs) >= 2 and 2 <= len(segs[-1].strip()) <= 20:
        return segs[-1].strip()
    return None


def find_title(doc: Doc) -> tuple[str | None, int | None]:
    """The headline as shown and its (last) line index.

    Any short unlinked line may be the headline, but it must match the start of <title> /
    og:title; headings and title-classed blocks get a bonus, so a site-name <h1> loses to
    the real headline and a channel suffix in <title> never reaches the result.
    """
    refs = []
    for raw in (doc.meta.get("og:title", ""), doc.meta.get("articletitle", ""), doc.title):
        if raw:
            refs.append((squash(raw), len(squash(_head(raw)))))
    best: tuple[float, str, int] | None = None
    lines = doc.lines
    for i, ln in enumerate(lines):
        if ln.chars < 4 or ln.chars > 150 or ln.links * 2 > ln.chars + 4:
            continue
        el = doc.elems[ln.elem]
        hinted = bool(ln.heading) or "title" in el.attrs or "headline" in el.attrs
        texts = [(ln.text, i)]
        # A headline broken over several lines: join while the join stays inside <title>.
        joined, j = ln.text, i
        while j + 1 < len(lines) and j < i + 4 and lines[j + 1].chars < 60:
            nxt = joined + " " + lines[j + 1].text
            if not any(squash(nxt) in ref for ref, _ in refs):
                break
            joined, j = nxt, j + 1
        if j > i:
            texts.append((joined, j))
        for text, last in texts:
            s = squash(text)
            score = 0.0
            for ref, head_len in refs:
                common: float = _lcp(s, ref)
                if s in ref:
                    common = max(common, len(s) - ref.find(s) * 0.5)
                match = common / max(len(s), 1)
                if match < (0.6 if hinted else 0.9) or (not hinted and len(s) < 6):
                    continue
                cover = min(1.0, len(s) / max(head_len, 1))
                over = 0.5 if len(s) > head_len + 3 else 0.0
                score = max(score, match + 0.5 * cover - over)
            if score <= 0:
                continue
            score += 0.15 * hinted + 0.05 * (4 - min(ln.heading or 4, 4))
            if best is None or score > best[0] + 1e-9:
                best = (score, text, last)
    if best is not None:
        return best[1], best[2]
    return None, None


def title_above(doc: Doc, body_start: int) -> tuple[str | None, int | None]:
    """Fallback headline: the nearest plain short line above the body's meta block."""
    lines = doc.lines
    for i in range(min(body_start, len(lines) - 1), max(body_start - 10, -1), -1):
        ln = lines[i]
        if ln.heading and not ln.links and 5 <= ln.chars <= 80:
            return ln.text, i
    for i in range(body_start - 1, max(body_start - 10, -1), -1):
        ln = lines[i]
        text = ln.text
        if ln.links or ln.chars < 5 or ln.chars > 80 or DATE.search(text):
            continue
        if re.search(r"[:：]", text[:8]) or re.search(r"[。；]", text):
            continue
        return text, i
    segs = title_segments(doc.title)
    if segs:
        return (max(segs, key=len) if len(segs[0]) < 6 else segs[0]), None
    return None, None


# What surrounds a credit value and is not part of it: spaces, colons, separators.
_EDGE = " :：·|丨"
_PAIRS = {"）": "（", ")": "(", "】": "【", "]": "[", "》": "《", "」": "「", ">": "<"}
_OPENERS = {v: k for k, v in _PAIRS.items()}


def _balanced(value: str) -> str:
    """``value`` with the brackets at its ends dropped where they pair with nothing in it or
    only wrap it: ``《求是》杂志`` and ``中国（上海）自贸区`` stay whole, ``【新华社】`` loses
    its marks; ``《人民日报》`` keeps them (as printed)."""
    value = value.strip(_EDGE)
    while value:
        first, last = value[0], value[-1]
        if (
            first in _OPENERS
            and first != "《"
            and (  # a title in 《》 is printed with its marks
                _OPENERS[first] not in value[1:] or last == _OPENERS[first]
            )
        ):
            value = value[1:-1] if last == _OPENERS[first] else value[1:]
        elif (last in _PAIRS and _PAIRS[last] not in value[:-1]) or last in _OPENERS:
            value = value[:-1]
        else:
            break
        value = value.strip(_EDGE)
    return value


def _value(text: str, pos: int) -> str:
    """The value that starts at ``pos`` and runs to the next label, gap or unmatched closing
    bracket (one that closes a bracket opened inside the value does not end it)."""
    end = len(text)
    for m in _STOP.finditer(text, pos):
        mark = text[m.start() : m.start() + 1]
        if mark in _PAIRS and text.count(_PAIRS[mark], pos, m.start()) > text.count(
            mark, pos, m.start()
        ):
            continue
        end = m.start()
        break
    return _balanced(text[pos:end])


def find_source(texts: list[str]) -> str | None:
    """A labelled 来源; an empty label (a table cell) takes the next line as its value."""
    for n, text in enumerate(texts):
        for m in _SOURCE.finditer(text):
            raw = text[m.end() :].lstrip(" [【（(")
            if not raw.strip() and n + 1 < len(texts) and len(texts[n + 1]) <= 20:
                raw = texts[n + 1]
            value = _value(raw, 0)
            d = DATE.search(value)
            if d:
                value = _balanced(value[: d.start()])
            value = value.split(" ")[0] if value else value
            if value and len(value) <= 30 and not re.match(_NEXT, value):
                return value
    return None


def source_after_date(text: str) -> str | None:
    """An unlabelled source printed right after the date: ``2024-05-10 08:00 新华社``."""
    d = DATE.search(text)
    if not d:
        return None
    rest = text[d.end() :].lstrip(" ·|丨")
    m = re.match(r"([\u4e00-\u9fffA-Za-z·\-]{2,20})", rest)
    if not m:
        return None
    value = m.group(1)
    cut = re.search(_NEXT, value)
    if cut:
        value = value[: cut.start()]
    tail = rest[len(value) :].strip()
    if len(value) < 2 or (tail and not re.match(_NEXT, tail) and not tail.startswith("举报")):
        return None
    return value


_UI = re.compile(
    r"关注|分享|评论|收藏|下载|登录|注册|字号|打印|客户端|订阅|举报|原创|首页|正文|点赞|播放"
)
_NAMEISH = re.compile(r"[\u4e00-\u9fffA-Za-z][\u4e00-\u9fffA-Za-z·\-]{1,14}")


def source_near_headline(head: list[str]) -> str | None:
    """An unlabelled outlet printed right under the headline, just above or before its date.

    ``head`` starts with the line after the headline.
    """
    if not head:
        return None
    first = head[0]
    d = DATE.search(first)
    if d and d.start() > 1:
        value = first[: d.start()].strip(" ·|丨")
        if _NAMEISH.fullmatch(value) and not re.search(_NEXT, value) and not _UI.search(value):
            return value  # "新华社2024-05-10 08:00"
        return None
    if d or not _NAMEISH.fullmatch(first) or _UI.search(first) or re.search(_NEXT, first):
        return None
    if any(DATE.search(t) for t in head[1:5]):
        return first
    return None


def find_editor(texts: list[str]) -> str | None:
    for _label, pat in _EDITOR_LABELS:
        for text in texts:
            for m in pat.finditer(text):
                value = _value(text, m.end())
                if value and len(value) <= 30 and not re.match(_NEXT, value):
                    return value
    return None


def _names(value: str) -> str | None:
    if _PHOTO.match(value):
        return None  # a photo credit (记者 X 摄) names a photographer, not the author
    value = _AFFILIATION.sub("", value)  # 李明（澜江大学教授）: the name, not the affiliation
    cut = _NAME_CUT.search(value)
    value = value[: cut.start()] if cut else value
    roles = list(_ROLE.finditer(value))
    if roles:
        value = value[roles[-1].end() :]
    value = value.strip(" 、，,·")
    if not value or re.match(_NEXT, value):
        return None
    parts = re.split(r"\s+", value)
    if not all(_NAME.fullmatch(p) or re.fullmatch(r"[\u4e00-\u9fff、]{2,30}", p) for p in parts):
        return None
    return value


def find_author(texts: list[str]) -> str | None:
    for text in texts:
        for m in _AUTHOR.finditer(text):
            raw = _value(text, m.end())
            name = _names(raw)
            if name:
                return name
    return None


_ORIGINAL_ANCHOR = re.compile(r"原文链接|阅读原文|查看原文|原文地址|转自")
_ORIGINAL_PRINTED = re.compile(r"(?:原文链接|原文地址|转自|原文网址)\s*+[:：]?\s*+(https?://\S+)")
_ORIGINAL_LABEL = re.compile(r"(?:原文链接|原文地址|原文网址)\s*[:：]?")


def _web_url(base: str, href: str) -> str | None:
    """``href`` resolved against the page's URL when that is an http(s) URL with a host: a
    javascript:, data:, vbscript: or mailto: value names no source to go back to."""
    found = absolute(base, href)
    return found if found is not None and is_web_url(found) else None


def find_original_url(doc: Doc, base: str) -> str | None:
    """原文链接 / 阅读原文 anchors, or a URL printed after such a label."""
    for href, text, _line in doc.links:
        if _ORIGINAL_ANCHOR.search(text) and href.startswith(("http", "/")):
            found = _web_url(base, href)
            if found:
                return found
    for ln in doc.lines:
        m = _ORIGINAL_PRINTED.search(ln.text)
        if m:
            found = _web_url(base, m.group(1).rstrip("。，)）"))
            if found:
                return found
    for href, _text, line in doc.links:
        if 0 <= line < len(doc.lines) and _ORIGINAL_LABEL.search(doc.lines[line].text):
            found = _web_url(base, href)
            if found:
                return found
    return None


# Unlabelled credits inside the body: a dateline opens it (新华社…电（记者 X）), a closing
# credit ends it (（记者 X）, （文/X）), and so does an editor's (（编辑 X）, （某某网编辑 X）).
_DATELINE = re.compile(r"[（(]\s*(?:[^（()）]{0,12}记者|记者)\s*([^（()）]{2,30})[）)]")
_CLOSING_CREDIT = re.compile(
    r"[（(]\s*(?:[^（()）\s]{0,12}记者|文\s*/\s*图|文\s*[/／丨|]|作者\s*[:：]?)\s*([^（()）]{2,30})[）)]\s*$"
)
_CLOSING_EDITOR = re.compile(
    r"[（(]\s*[^（()）\s]{0,12}?(?:责任编辑|编辑|责编)(?:\s*[:：]\s*|\s+)"
    r"([\u4e00-\u9fff·]{2,4}(?:\s+[\u4e00-\u9fff·]{2,4})*)\s*[）)]\s*$"
)


@dataclass(frozen=True)
class Around:
    """The text around an article's body where its credits are printed, in page order."""

    head: list[str]  # between the headline and the body (the meta block)
    dropped: list[str]  # cut from the body's container, before or after the body
    credits: list[str]  # every line cut from the body's container (captions too)
    tail: list[str]  # after the body, up to the footer
    above: list[str]  # up to 25 lines above the headline (breadcrumbs, a meta bar)
    opening: list[str]  # the body's first two lines (a dateline)
    closing: list[str]  # the body's last three lines (a closing credit; counters)
    has_headline: bool
    declared: str | None = None  # the source the page's <head> declares (ContentSource)


def find_credits(around: Around) -> tuple[str | None, str | None, str | None]:
    """来源, 作者 and 编辑: every fallback for each field, in the order it is tried."""
    return _source(around), _author(around), _editor(around)


def _source(a: Around) -> str | None:
    # Labelled sources anywhere near the article first, then unlabelled outlet slots.
    source = find_source(a.head) or find_source(a.dropped + a.tail) or find_source(a.above)
    if source is None:
        for text in a.head:
            if find_dates(text) and (source := source_after_date(text)):
                break
    if source is None and a.has_headline:
        source = source_near_headline(a.head)
    if source is None and a.declared:  # printed nowhere: what the CMS declares in <head>
        source = _balanced(a.declared)[:60] or None
    return source


def _author(a: Around) -> str | None:
    author = find_author(a.head) or find_author(a.credits + a.tail)
    if author is not None:
        return author
    for text in a.opening:
        if m := _DATELINE.search(text[:60]):
            author = _names(m.group(1))
            break
    if author is not None:
        return author
    for text in a.closing:  # the last lines may be counters (阅读 539)
        if m := _CLOSING_CREDIT.search(text[-40:]):
            return _names(m.group(1))
    return None


def _editor(a: Around) -> str | None:
    editor = find_editor(a.head + a.credits + a.tail)
    if editor is None:
        for text in reversed(a.credits + a.tail + a.closing):
            if m := _CLOSING_EDITOR.search(text[-40:]):
                return m.group(1)
    return editor
