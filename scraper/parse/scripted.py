"""List items a browser would see but an HTML parser does not: lists built by script.

Three forms government CMSs use, read without running any script:

- Hanweb (大汉) jpage columns keep the first page's items as CDATA records in an XML
  ``<datastore>`` inside a ``<script type="text/xml">``; later pages come from
  ``/module/web/jpage/dataproxy.jsp`` as the same XML (``hanweb_next`` says which records to
  ask for next, ``crawl.discover.hanweb_post`` how).
- ``document.write('<li><a href=…>…</a></li>')``: the string literals are the HTML.
- Inline arrays of items (``var list = [{title: '…', url: '…', date: '…'}, …]``).

Each yields HTML fragments or ``(url, title, date)`` items that ``links.extract_list`` reads
like the page's own links.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

# A record's (or the next group's) CDATA section opens here and runs to the next ]]>, found by
# str.find from where the last one ended: a lazy .*? would rescan the page from every unclosed
# opening (quadratic on a hostile page).
_RECORD = re.compile(r"<record>\s*<!\[CDATA\[", re.I)
_NEXTGROUP = re.compile(r"<nextgroup>\s*<!\[CDATA\[", re.I)
_TOTAL = re.compile(r"<totalrecord>\s*(\d{1,9})\s*</totalrecord>|totalRecord\s*:\s*(\d{1,9})", re.I)
_PERPAGE = re.compile(r"\bperPage\s*:\s*(\d{1,4})|<perpage>\s*(\d{1,4})\s*</perpage>", re.I)
_GROUP = re.compile(r"\bgroupSize\s*:\s*(\d{1,3})", re.I)
_PROXY = re.compile(r"proxyUrl\s*:\s*['\"]([^'\"]{1,300})['\"]", re.I)
_HREF = re.compile(r"""href\s*=\s*["']([^"']{1,2000})["']""", re.I)
_START = re.compile(r"[?&]startrecord=(\d{1,9})", re.I)
_END = re.compile(r"[?&]endrecord=(\d{1,9})", re.I)
_PERPAGE_PARAM = re.compile(r"[?&]perpage=(\d{1,4})", re.I)
HANWEB_PROXY = "/module/web/jpage/dataproxy.jsp"

# document.write("…") / document.writeln('…'), string literals joined by +.
_WRITE = re.compile(r"document\s*\.\s*write(?:ln)?\s*\(", re.I)
# Tried only where a space run starts (``(?!(?<=\s)\s)``): scanned, it would retry inside it.
_STRING = re.compile(
    r"""(?!(?<=\s)\s)\s*(?:\+\s*)?(?:"((?:[^"\\\n]|\\.){0,20000})"|'((?:[^'\\\n]|\\.){0,20000})')"""
)
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)", re.S)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "", "b": "", "f": "", "v": "", "0": ""}

# An object literal without nested braces, and its "key": "value" / key: 'value' pairs.
_OBJECT = re.compile(r"\{([^{}]{1,3000})\}")
_PAIR = re.compile(
    r"""["']?([A-Za-z_][A-Za-z0-9_]{0,30})["']?\s*:\s*(?:"((?:[^"\\\n]|\\.){0,2000})"|'((?:[^'\\\n]|\\.){0,2000})')"""
)
URL_KEYS = ("url", "link", "href", "linkurl", "docurl", "docpuburl", "puburl", "path", "src")
TITLE_KEYS = ("title", "doctitle", "name", "text", "subject", "bt")
DATE_KEYS = ("date", "pubdate", "publishdate", "docreltime", "time", "pubtime", "created", "fbrq")
# A value that is a page address: a path or URL, not a picture, script or style.
_PAGE_URL = re.compile(r"^(?:https?://|/|\.{1,2}/|[\w-]+/)[^\s<>\"']*$")
_NOT_PAGE = re.compile(r"\.(?:jpe?g|png|gif|webp|svg|css|js|ico)(?:\?|$)", re.I)


def _sections(opening: re.Pattern[str], html: str) -> list[str]:
    """The CDATA sections that ``opening`` opens, each up to its ``]]>``."""
    out: list[str] = []
    pos = 0
    for m in opening.finditer(html):
        if m.start() < pos:
            continue
        end = html.find("]]>", m.end())
        if end < 0:
            break
        out.append(html[m.end() : end])
        pos = end + 3
    return out


def _unescape(literal: str) -> str:
    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        if code[0] in "ux" and len(code) > 1:
            return chr(int(code[1:], 16))
        return _SIMPLE_ESCAPES.get(code, code)

    return _ESCAPE.sub(one, literal)


def written_html(html: str) -> str:
    """The HTML a page's scripts would write: Hanweb datastore records and
    ``document.write`` string literals, joined (empty where there are none)."""
    parts = _sections(_RECORD, html)
    for m in _WRITE.finditer(html):
        pos = m.end()
        pieces = []
        while (s := _STRING.match(html, pos)) is not None:
            pieces.append(_unescape(s.group(1) if s.group(1) is not None else s.group(2)))
            pos = s.end()
        if pieces:
            parts.append("".join(pieces))
    return "\n".join(parts)


def script_items(html: str) -> list[tuple[str, str, str | None]]:
    """``(url, title, date)`` for each object literal in the page's scripts that names a page
    address and a title: the items of a list kept as a script array."""
    if "<script" not in html.lower():
        return []
    items = []
    for m in _OBJECT.finditer(html):
        pairs: dict[str, str] = {}
        for p in _PAIR.finditer(m.group(1)):
            value = p.group(2) if p.group(2) is not None else p.group(3)
            pairs.setdefault(p.group(1).lower(), _unescape(value).strip())
        url = next((pairs[k] for k in URL_KEYS if k in pairs and _is_page(pairs[k])), None)
        title = next((pairs[k] for k in TITLE_KEYS if pairs.get(k)), None)
        if url and title:
            items.append((url, title, next((pairs[k] for k in DATE_KEYS if pairs.get(k)), None)))
    return items


def _is_page(value: str) -> bool:
    return bool(_PAGE_URL.match(value)) and not _NOT_PAGE.search(value)


def hanweb_next(html: str, url: str) -> str | None:
    """The next records of a Hanweb jpage column, as a ``dataproxy.jsp`` address that carries
    every parameter jpage.js sends (``startrecord``, ``endrecord``, ``perpage`` and the column's
    own: ``columnid``, ``unitid``, ``webid`` ...); None after the last group or on other pages.

    The list page holds the first group of records inline and names the proxy in its
    ``<nextgroup>``; each answer from the proxy holds the group asked for, so an answer with
    fewer records than asked, or reaching ``totalRecord``, is the last."""
    records = len(_sections(_RECORD, html))
    total_m = _TOTAL.search(html)
    total = int(total_m.group(1) or total_m.group(2)) if total_m else None
    per_m = _PERPAGE.search(html)
    per_page = int(next(g for g in per_m.groups() if g)) if per_m else 15
    start_m, end_m = _START.search(url), _END.search(url)
    if start_m and end_m:  # an answer from the proxy: the group after the one asked for
        asked = int(end_m.group(1)) - int(start_m.group(1)) + 1
        if records < asked or asked < 1:
            return None
        done, size = int(end_m.group(1)), asked
        per_page = int(m.group(1)) if (m := _PERPAGE_PARAM.search(url)) else per_page
        proxy, query = url.split("?", 1)[0], urlsplit(url).query
    else:  # the list page: the records it holds inline are the first group
        nextgroup = _sections(_NEXTGROUP, html)[:1]
        href = _HREF.search(nextgroup[0]) if nextgroup else None
        if href is None or not records:
            return None
        group_m = _GROUP.search(html)
        done, size = records, per_page * (int(group_m.group(1)) if group_m else 3)
        proxy_m = _PROXY.search(html)
        proxy = urljoin(url, proxy_m.group(1) if proxy_m else HANWEB_PROXY).split("?", 1)[0]
        query = urlsplit(urljoin(url, href.group(1))).query
    if per_page < 1 or (total is not None and done >= total):
        return None
    end = done + size if total is None else min(done + size, total)
    params = [
        (k, v)
        for k, v in parse_qsl(query, keep_blank_values=True)
        if k.lower() not in ("page", "startrecord", "endrecord", "perpage")
    ]
    first = [("startrecord", str(done + 1)), ("endrecord", str(end)), ("perpage", str(per_page))]
    return f"{proxy}?{urlencode(first + params)}"


def _at(data: object, path: str) -> object:
    """``data`` followed down a dotted path (``data.list``, ``result.0.items``); None if absent."""
    for key in filter(None, path.split(".")):
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and key.isdecimal() and int(key) < len(data):
            data = data[int(key)]
        else:
            return None
    return data


def _field(item: dict[str, object], name: str) -> str | None:
    value = _at(item, name)
    return str(value).strip() or None if isinstance(value, (str, int)) else None


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]{0,60})\}")


def _fill(template: str, item: dict[str, object]) -> str | None:
    """``template`` with each ``{field}`` replaced by the item's value; None if one is missing."""
    values = {m.group(1): _field(item, m.group(1)) for m in _PLACEHOLDER.finditer(template)}
    if any(v is None for v in values.values()):
        return None
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)


def json_items(
    data: object,
    items: str,
    url: str,
    title: str,
    date: str | None = None,
) -> list[tuple[str, str, str | None]] | None:
    """``(url, title, date)`` for each item of a JSON list answer: ``items`` is the dotted path
    to the array, ``url``/``title``/``date`` the fields of an item (a dotted path each); ``url``
    may instead be a template such as ``/content/{id}.html`` filled from the item's fields.
    None where the answer has no array at ``items`` (not the answer expected)."""
    array = _at(data, items)
    if not isinstance(array, list):
        return None
    out = []
    for item in array:
        if not isinstance(item, dict):
            continue
        address = _fill(url, item) if "{" in url else _field(item, url)
        name = _field(item, title)
        if address and name:
            out.append((address, name, _field(item, date) if date else None))
    return out
