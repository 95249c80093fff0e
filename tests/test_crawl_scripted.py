"""Lists built by script, crawled across their pages: a Hanweb jpage column (its first group
inline, the rest POSTed from dataproxy.jsp), a JSON-API column configured in sites.toml, and a
list written by ``document.write``; each against a server on 127.0.0.1 that serves the form.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from .test_crawl import Handler, Site, article, rows, run, write_config

PROXY = "/module/web/jpage/dataproxy.jsp"
COLUMN = {"columnid": "1205", "unitid": "88231", "webid": "3", "path": "/", "webname": "示例市"}


def _item(i: int) -> str:
    title = f"关于开展第{i}批政务公开工作的通知"
    return (
        f'<li><a href="/art/2024/3/1/art_1205_{i}.html" target="_blank">{title}</a>'
        f"<span>2024-03-{1 + i % 28:02d}</span></li>"
    )


def _records(items: range) -> str:
    return "".join(f"<record><![CDATA[{_item(i)}]]></record>" for i in items)


class JpageHandler(Handler):
    """jpage's proxy as the real one is used: POST, the record range in the address and the
    column's parameters as the form; a GET there is refused."""

    server: HanwebSite

    def do_GET(self) -> None:
        if self.path.startswith(PROXY):
            self.server.refused += 1
            self._answer(405, b"method not allowed", "text/plain")
            return
        super().do_GET()

    def do_POST(self) -> None:
        srv = self.server
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(self.rfile.read(length).decode()))
        query = dict(parse_qsl(urlsplit(self.path).query))
        with srv.lock:
            srv.posts.append((query, form))
        if not self.path.startswith(PROXY) or any(form.get(k) != v for k, v in COLUMN.items()):
            self._answer(400, b"bad request", "text/plain")
            return
        start, end = int(query["startrecord"]), int(query["endrecord"])
        items = range(start, min(end, srv.total) + 1)
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><datastore>'
            f"<totalrecord>{srv.total}</totalrecord>"
            f"<totalpage>{-(-srv.total // srv.per_page)}</totalpage>"
            f"<recordset>{_records(items)}</recordset></datastore>"
        ).encode()
        self._answer(200, body, "text/xml;charset=UTF-8")

    def _answer(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class HanwebSite(Site):
    def __init__(self, total: int, per_page: int, group: int) -> None:
        super().__init__()
        self.RequestHandlerClass = JpageHandler
        self.total, self.per_page, self.group = total, per_page, group
        self.posts: list[tuple[dict[str, str], dict[str, str]]] = []
        self.refused = 0
        first = range(1, min(total, per_page * group) + 1)
        column = "&".join(f"{k}={v}" for k, v in COLUMN.items())
        self.routes["/col/col1205/index.html"] = (
            '<html><head><meta charset="utf-8"><title>通知公告_示例市人民政府</title></head><body>'
            '<div class="nav"><a href="/">首页</a></div><div id="88231">'
            '<script type="text/xml"><datastore>'
            f'<nextgroup><![CDATA[<a href="{PROXY}?page=1&appid=1&{column}'
            '&permissiontype=0"></a>]]></nextgroup>'
            f"<recordset>{_records(first)}</recordset></datastore></script></div>"
            '<script language="javascript" src="/module/jslib/jquery/jpage/jpage.js"></script>'
            "<script>$(document).ready(function(){$('#88231').jpage({baseUrl:'" + PROXY + "',"
            f"dataStore:dataStore,showMode:'full',totalRecord:{total},perPage:{per_page},"
            f"groupSize:{group},barPosition:'bottom',pageType:'all'}});}});</script>"
            "</body></html>"
        ).encode()
        for i in range(1, total + 1):
            self.routes[f"/art/2024/3/1/art_1205_{i}.html"] = article(
                i, f"2024-03-{1 + i % 28:02d}"
            )


@pytest.fixture
def hanweb() -> Iterator[HanwebSite]:
    """A Hanweb column of 100 records, 15 a page, 3 pages a group."""
    site = HanwebSite(total=100, per_page=15, group=3)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    yield site
    site.shutdown()
    site.server_close()


def test_a_hanweb_column_is_archived_across_its_groups(hanweb: HanwebSite, tmp_path: Path) -> None:
    site = hanweb
    cfg = write_config(
        tmp_path / "s.toml", {"hanweb": {"start_urls": [site.url("/col/col1205/index.html")]}}
    )
    db = tmp_path / "a.db"
    code, _, err = run(cfg, db)
    assert code == 0, err
    assert rows(db, "select count(*), count(distinct url) from articles") == [(100, 100)]
    # the inline group of 45, then two POSTs: records 46-90 and 91-100
    assert [(q["startrecord"], q["endrecord"], q["perpage"]) for q, _ in site.posts] == [
        ("46", "90", "15"),
        ("91", "100", "15"),
    ]
    assert site.refused == 0  # never asked by GET
    assert all(site.hits(f"/art/2024/3/1/art_1205_{i}.html") == 1 for i in range(1, 101))
    assert rows(db, "select count(*) from articles where url like '%dataproxy%'") == [(0,)]


def _json_column(site: Site, total: int, size: int, *, ignore_page: bool = False) -> None:
    """``/api/list?channel=tzgg&page=N&size=M`` answering ``{"code": 0, "data": {"list": [...]}}``
    (an empty list past the last page), the articles at ``/content/{id}.html``."""

    def answer(h: Handler, n: int) -> tuple[int, bytes, dict[str, str]]:
        query = dict(parse_qsl(urlsplit(h.path).query))
        page = 1 if ignore_page else int(query["page"])
        ids = range((page - 1) * size + 1, min(total, page * size) + 1)
        items = [
            {"id": 7000 + i, "title": f"关于开展第{i}批政务公开工作的通知", "pubDate": "2024-03-01"}
            for i in ids
        ]
        data = {"code": 0, "data": {"list": items, "total": total}}
        body = json.dumps(data, ensure_ascii=False).encode()
        return 200, body, {"Content-Type": "application/json;charset=UTF-8"}

    site.fallback = lambda h, n: (
        answer(h, n) if h.path.startswith("/api/list?") else (404, b"not found", {})
    )
    for i in range(1, total + 1):
        site.routes[f"/content/{7000 + i}.html"] = article(i)


def _json_config(tmp_path: Path, site: Site) -> Path:
    cfg = write_config(tmp_path / "s.toml", {"api": {"start_urls": []}})
    endpoint = site.url("/api/list?channel=tzgg&page={page}&size=10")
    with cfg.open("a", encoding="utf-8") as f:
        f.write(
            f'json_lists = [{{endpoint = "{endpoint}", items = "data.list", '
            'url = "/content/{id}.html", title = "title", date = "pubDate"}]\n'
        )
    return cfg


def _pages_asked(site: Site) -> list[str]:
    return [dict(parse_qsl(urlsplit(p).query))["page"] for p in site.paths() if "/api/" in p]


def test_a_json_api_column_is_archived_page_by_page(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    site = make_site()
    _json_column(site, total=25, size=10)
    db = tmp_path / "a.db"
    code, _, err = run(_json_config(tmp_path, site), db)
    assert code == 0, err
    assert rows(db, "select count(*) from articles where url like '%/content/%'") == [(25,)]
    # pages 1-3 bring items, page 4 none: the list ends there
    assert _pages_asked(site) == ["1", "2", "3", "4"]
    assert rows(db, "select count(*) from frontier where kind = 'list'") == [(4,)]


def test_a_json_api_that_ignores_the_page_ends_after_pages_with_nothing_new(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    site = make_site()
    _json_column(site, total=25, size=10, ignore_page=True)
    db = tmp_path / "a.db"
    code, _, err = run(_json_config(tmp_path, site), db)
    assert code == 0, err
    assert rows(db, "select count(*) from articles") == [(10,)]
    # the same ten items on every page: stop_after_unchanged (2) pages with nothing new
    assert _pages_asked(site) == ["1", "2", "3"]


def test_a_document_write_list_is_found_and_followed(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    site = make_site()
    pages, per_page = 3, 4
    for p in range(pages):
        writes = "".join(
            f"document.write('{_item(i)}');\n" for i in range(p * per_page, (p + 1) * per_page)
        )
        path = "/news/index.html" if p == 0 else f"/news/index_{p}.html"
        site.routes[path] = (
            '<html><head><meta charset="utf-8"><title>政务动态_示例市人民政府</title></head><body>'
            f'<div class="nav"><a href="/">首页</a></div><ul><script>{writes}</script></ul>'
            f'<script>createPageHTML({pages}, {p}, "index", "html");</script></body></html>'
        ).encode()
    for i in range(pages * per_page):
        site.routes[f"/art/2024/3/1/art_1205_{i}.html"] = article(i)
    cfg = write_config(tmp_path / "s.toml", {"dw": {"start_urls": [site.url("/news/index.html")]}})
    db = tmp_path / "a.db"
    code, _, err = run(cfg, db)
    assert code == 0, err
    assert rows(db, "select count(*) from articles") == [(12,)]
    assert all(site.hits(p) == 1 for p in ("/news/index_1.html", "/news/index_2.html"))


def test_the_options_of_files_and_json_lists_are_checked() -> None:
    from scraper.crawl.config import IMAGE_MAX_BYTES, JsonList, parse_config
    from scraper.errors import ConfigError
    from scraper.pipeline import ATTACHMENT_MAX_BYTES

    endpoint = "https://www.example.gov.cn/api/list?page={page}&size=20"
    lists = [{"endpoint": endpoint, "items": "data.list", "url": "/c/{id}.html", "title": "t"}]
    (site,) = parse_config({"sites": {"a": {"start_urls": [], "json_lists": lists}}}, "s").sites
    assert (site.attachments, site.max_attachment_bytes) == (True, ATTACHMENT_MAX_BYTES)
    assert (site.images, site.max_image_bytes) == (False, IMAGE_MAX_BYTES)
    assert site.json_lists == (JsonList(endpoint, "data.list", "/c/{id}.html", "t"),)
    assert site.allowed_hosts == ("www.example.gov.cn",)
    assert site.json_lists[0].first().endswith("page=1&size=20")

    def fails(table: dict[str, object], key: str, match: str) -> None:
        with pytest.raises(ConfigError, match=match) as info:
            parse_config({"sites": {"a": {"start_urls": ["https://x.cn/"], **table}}}, "s")
        assert info.value.key == key

    fails({"attachments": "yes"}, "attachments", "true or false")
    fails({"max_image_bytes": 0}, "max_image_bytes", "at least 1")
    fails({"json_lists": [{**lists[0], "endpoint": "https://x.cn/list"}]}, "json_lists", "{page}")
    fails({"json_lists": [{**lists[0], "items": ""}]}, "json_lists", "items")
    fails({"json_lists": [{**lists[0], "page_size": 20}]}, "json_lists", "page_size")
    fails({"json_lists": "x"}, "json_lists", "list of tables")
    with pytest.raises(ConfigError, match="at least one URL"):
        parse_config({"sites": {"a": {"start_urls": []}}}, "s")
