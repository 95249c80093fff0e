"""`archiver crawl` end to end against real HTTP servers on 127.0.0.1 (one port = one site).

Each test builds the few sites it needs from generated article and list pages; the kill -9 and
lock tests run the crawl in a subprocess, the others in-process through typer's runner.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scraper.cli import EXIT_CONFIG, EXIT_FAILED, EXIT_LOCKED, EXIT_USAGE, app

ROOT = Path(__file__).resolve().parents[1]

Route = Callable[["Handler", int], tuple[int, bytes, dict[str, str]]]


class Site(ThreadingHTTPServer):
    """A small web site: path (with query) -> page, every request logged with its headers."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes: dict[str, bytes | Route] = {}
        self.fallback: Route | None = None  # answers any path not in routes (else 404)
        self.log: list[tuple[float, str, dict[str, str]]] = []
        self.lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client closing a kept-alive connection is not news

    def hits(self, path: str) -> int:
        return sum(1 for _, p, _ in self.log if p == path)

    def paths(self) -> list[str]:
        return [p for _, p, _ in self.log]


class Handler(BaseHTTPRequestHandler):
    server: Site
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        srv = self.server
        with srv.lock:
            srv.log.append((time.monotonic(), self.path, dict(self.headers)))
            count = srv.hits(self.path)
        route = srv.routes.get(self.path, srv.fallback)
        headers: dict[str, str] = {}
        if route is None:
            status, body = 404, b"<html><body>not found</body></html>"
        elif callable(route):
            status, body, headers = route(self, count)
        else:
            status, body = 200, route
        ctype = headers.pop("Content-Type", "text/html; charset=utf-8")
        if status == 200:
            etag = '"' + hashlib.sha1(body).hexdigest()[:12] + '"'
            headers["ETag"] = etag
            if self.headers.get("If-None-Match") == etag:
                status, body = 304, b""
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def hanging_host() -> Iterator[str]:
    """A host that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def article(n: int, day: str = "2024-03-01") -> bytes:
    paras = "".join(
        f"<p>第{n}号通知第{k}段：为进一步做好政务公开工作，推进信息发布规范化、标准化，"
        "现将有关事项通知如下，请各单位结合实际认真贯彻落实，确保各项措施落到实处。</p>"
        for k in range(4)
    )
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>关于开展第{n}批政务公开工作的通知_示例市人民政府</title></head><body>
<div class="nav"><a href="/">首页</a> <a href="/news/index.html">政务动态</a></div>
<h1>关于开展第{n}批政务公开工作的通知</h1>
<div class="info">发布时间：{day} 来源：示例市政府办公室</div>
<div class="content">{paras}</div><div class="editor">责任编辑：张三</div>
<div class="footer">版权所有：示例市人民政府 网站标识码 1234</div></body></html>""".encode()


def robots(text: bytes) -> Route:
    return lambda h, n: (200, text, {"Content-Type": "text/plain"})


def listing(items: list[tuple[str, int, str]], pager: str = "") -> bytes:
    lis = "".join(
        f'<li><a href="{href}">关于开展第{n}批政务公开工作的通知</a><span>{day}</span></li>'
        for href, n, day in items
    )
    return (
        '<html><head><meta charset="utf-8"><title>政务动态_示例市人民政府</title></head><body>'
        f'<div class="nav"><a href="/">首页</a> <a href="/about.html">机构概况</a></div>'
        f"<ul>{lis}</ul><div class='page'>{pager}</div></body></html>"
    ).encode()


def news_site(site: Site, articles: int, per_page: int, style: str = "trs") -> list[str]:
    """A list of ``articles`` over pages of ``per_page``; returns the list-page paths.

    trs: index.html, index_1.html... with 下一页; page: ?page=N with numbered links only;
    script: index_N.html whose pager only exists as a createPageHTML(...) call.
    """
    pages = (articles + per_page - 1) // per_page
    paths = []
    for p in range(pages):
        if style == "page":
            path = "/list?cat=7" if p == 0 else f"/list?cat=7&page={p + 1}"
            pager = " ".join(
                f'<a href="/list?cat=7{f"&page={k + 1}" if k else ""}">{k + 1}</a>'
                for k in range(pages)
            )
        else:
            path = "/news/index.html" if p == 0 else f"/news/index_{p}.html"
            pager = (
                f'<a href="index_{p + 1}.html">下一页</a>'
                if p + 1 < pages
                else "<span>下一页</span>"
            )
            if style == "script":
                pager = f'<script>createPageHTML({pages}, {p}, "index", "html");</script>'
        items = []
        for i in range(p * per_page, min(articles, (p + 1) * per_page)):
            href = f"/art/{style}/{i}.html"
            day = f"2024-03-{28 - i % 28:02d}"
            site.routes[href] = article(i, day)
            items.append((href, i, day))
        site.routes[path] = listing(items, pager)
        paths.append(path)
    return paths


def write_config(path: Path, sites: dict[str, dict[str, Any]]) -> Path:
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(v) if isinstance(v, str) else repr(v)

    lines = []
    for name, table in sites.items():
        lines.append(f"[sites.{name}]")
        # every test site is on 127.0.0.1, which a crawl refuses unless the site allows it
        table = {"delay": 0, "timeout": 5, "retries": 0, "allow_private": True, **table}
        lines += [f"{k} = {value(v)}" for k, v in table.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(cfg: Path, db: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["crawl", "--config", str(cfg), "--db", str(db), *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def rows(db: Path, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def figures(stderr: str) -> dict[str, int]:
    """found/new/changed/unchanged/not modified/failed from the summary line."""
    line = stderr.strip().splitlines()[-1]
    out = {}
    for part in line.split(", ")[:6]:
        name, _, number = part.rpartition(" ")
        out[name] = int(number)
    return out


# ------------------------------------------------------------------------ discovery


def test_three_pagination_styles_on_three_hosts(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    trs, paged, script = make_site(), make_site(), make_site()
    lists = {
        "trs": news_site(trs, 5, 2, "trs"),
        "paged": news_site(paged, 5, 2, "page"),
        "script": news_site(script, 5, 2, "script"),
    }
    cfg = write_config(
        tmp_path / "sites.toml",
        {
            "trs": {"start_urls": [trs.url(lists["trs"][0])]},
            "paged": {"start_urls": [paged.url(lists["paged"][0])]},
            "script": {"start_urls": [script.url(lists["script"][0])]},
        },
    )
    db = tmp_path / "a.db"
    code, out, err = run(cfg, db)
    assert code == 0 and out == ""
    assert figures(err) == {
        "found": 15,
        "new": 15,
        "changed": 0,
        "unchanged": 0,
        "not modified": 0,
        "failed": 0,
    }
    assert rows(db, "select count(*), count(distinct canonical_url) from articles") == [(15, 15)]
    # list pages were fetched and kept as pages, never stored as articles
    for site, paths in ((trs, lists["trs"]), (paged, lists["paged"]), (script, lists["script"])):
        assert all(site.hits(p) == 1 for p in paths), site.paths()
        assert site.hits("/about.html") == 0  # a short navigation link is not an article
    assert rows(
        db, "select count(*) from articles where url like '%index%' or url like '%list%'"
    ) == [(0,)]
    assert rows(db, "select found, new, failed, outcome, exit_code from runs") == [
        (15, 15, 0, "ok", 0)
    ]


def test_pagination_stops_after_pages_with_nothing_new(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    site = make_site()
    paths = news_site(site, 12, 2, "trs")  # six list pages
    cfg = write_config(tmp_path / "s.toml", {"news": {"start_urls": [site.url(paths[0])]}})
    db = tmp_path / "a.db"
    assert run(cfg, db)[0] == 0
    assert all(site.hits(p) == 1 for p in paths)
    # one new article appears on the first page; known articles are not fetched again
    site.routes["/art/new.html"] = article(99)
    first = site.routes[paths[0]]
    assert isinstance(first, bytes)
    site.routes[paths[0]] = first.replace(
        b"<ul>",
        '<ul><li><a href="/art/new.html">关于开展第99批政务公开工作的通知</a></li>'.encode(),
    )
    site.log.clear()
    code, _, err = run(cfg, db)
    assert code == 0 and figures(err)["new"] == 1
    fetched = site.paths()
    assert fetched.count("/art/new.html") == 1
    assert not [p for p in fetched if p.startswith("/art/") and p != "/art/new.html"]
    # page 0 had news, pages 1 and 2 had none: the default stop_after_unchanged = 2 ends it
    assert [p for p in fetched if p.startswith("/news/")] == paths[:3]


def test_sitemap_index_and_feed_and_lastmod(make_site: Callable[[], Site], tmp_path: Path) -> None:
    site = make_site()
    for i in range(5):
        site.routes[f"/a/{i}.html"] = article(i)
    site.routes["/news/index.html"] = listing([])

    def index(lastmod: str) -> bytes:
        return (
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap>'
            f"<loc>{site.url('/sm1.xml')}</loc><lastmod>{lastmod}</lastmod></sitemap></sitemapindex>"
        ).encode()

    def urlset(lastmod: str) -> bytes:
        urls = "".join(
            f"<url><loc>{site.url(f'/a/{i}.html')}</loc>"
            f"<lastmod>{lastmod if i == 0 else '2024-03-01'}</lastmod></url>"
            for i in range(3)
        )
        return (
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()
        )

    site.routes["/sitemap.xml"] = index("2024-03-01")
    site.routes["/sm1.xml"] = urlset("2024-03-01")
    site.routes["/feed.xml"] = (
        "<rss version='2.0'><channel>"
        + "".join(f"<item><link>{site.url(f'/a/{i}.html')}</link></item>" for i in (3, 4))
        + "</channel></rss>"
    ).encode()
    cfg = write_config(
        tmp_path / "s.toml",
        {
            "gov": {
                "start_urls": [site.url("/news/index.html")],
                "sitemaps": [site.url("/sitemap.xml")],
                "feeds": [site.url("/feed.xml")],
            }
        },
    )
    db = tmp_path / "a.db"
    code, _, err = run(cfg, db)
    assert code == 0 and figures(err)["new"] == 5
    # the index says sm1.xml changed, sm1.xml says /a/0.html changed: only that is refetched
    site.routes["/sitemap.xml"] = index("2024-03-05")
    site.routes["/sm1.xml"] = urlset("2024-03-05")
    site.log.clear()
    code, _, err = run(cfg, db)
    assert code == 0
    assert sorted(p for p in site.paths() if p.startswith("/a/")) == ["/a/0.html"]
    assert figures(err)["not modified"] == 3  # the article, the list page and the feed: 304


def endless_sitemaps(site: Site, fan: int) -> None:
    """Every ``/sm/<id>.xml`` is a sitemap index of ``fan`` new indexes, never seen before
    (``/sm/<id>-0.xml``...), so the indexes never end; the others are 404. An index changes
    at each request (never a 304), as a generated one would."""
    served = itertools.count()

    def index(h: Handler, count: int) -> tuple[int, bytes, dict[str, str]]:
        path = h.path.split("?")[0]
        if not (path.startswith("/sm/") and path.endswith(".xml")):
            return 404, b"not found", {}
        stem = path[: -len(".xml")]
        children = "".join(
            f"<sitemap><loc>{site.url(f'{stem}-{k}.xml')}</loc></sitemap>" for k in range(fan)
        )
        body = (
            '<?xml version="1.0"?><sitemapindex '
            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{children}</sitemapindex>'
            f"<!-- request {next(served)} -->"
        )
        return 200, body.encode(), {"Content-Type": "application/xml"}

    site.fallback = index


def sitemap_fetches(site: Site) -> list[str]:
    return [p for p in site.paths() if p.startswith("/sm/")]


def test_endless_sitemap_indexes_stop_at_max_sitemap_depth(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    site = make_site()
    endless_sitemaps(site, fan=3)
    site.routes["/news/index.html"] = listing([])
    cfg = write_config(
        tmp_path / "s.toml",
        {
            "gov": {
                "start_urls": [site.url("/news/index.html")],
                "sitemaps": [site.url("/sm/0.xml")],
                "max_sitemap_depth": 2,
            }
        },
    )
    db = tmp_path / "a.db"
    # --time-limit only so that a crawl that never ends fails here instead of hanging
    code, _, err = run(cfg, db, "--time-limit", "60")
    assert code == 0 and "stopped" not in err, err
    # the configured index, its 3 indexes and their 9: nothing two levels further down
    fetched = sitemap_fetches(site)
    assert len(fetched) == len(set(fetched)) == 1 + 3 + 9, fetched
    assert max(p.count("-") for p in fetched) == 2
    assert rows(db, "select depth, count(*) from frontier where kind = 'sitemap' group by 1") == [
        (0, 1),
        (1, 3),
        (2, 9),
    ]
    assert "max_sitemap_depth = 2" in err and "site gov" in err
    assert figures(err)["failed"] == 0  # the summary is still the last line
    noted = rows(db, "select count(*) from frontier where error like '%max_sitemap_depth%'")
    assert noted == [(9,)]  # the deepest indexes record why their sitemaps were not queued


def test_endless_sitemap_indexes_stop_at_max_sitemaps_per_run(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    site = make_site()
    endless_sitemaps(site, fan=50)  # 50, 2,500, 125,000 indexes at depths 1, 2, 3
    site.routes["/news/index.html"] = listing([])
    cfg = write_config(
        tmp_path / "s.toml",
        {
            "gov": {
                "start_urls": [site.url("/news/index.html")],
                "sitemaps": [site.url("/sm/0.xml")],
                "max_sitemaps": 30,
            }
        },
    )
    db = tmp_path / "a.db"
    started = time.monotonic()
    code, _, err = run(cfg, db, "--time-limit", "60")
    assert code == 0 and "stopped" not in err, err
    assert time.monotonic() - started < 60  # a hang guard: the counts below show the bound
    fetched = sitemap_fetches(site)
    assert len(fetched) == len(set(fetched)) == 30
    assert rows(db, "select count(*) from frontier where kind = 'sitemap'") == [(30,)]
    assert "max_sitemaps = 30 reached" in err
    assert rows(db, "select count(*) from runs where outcome = 'ok'") == [(1,)]
    # the next run, with everything known not yet due again: 30 more at most, still bounded
    site.log.clear()
    code, _, err = run(cfg, db, "--time-limit", "60")
    assert code == 0 and "stopped" not in err, err
    assert len(sitemap_fetches(site)) <= 30
    ((second,),) = rows(db, "select count(*) from frontier where kind = 'sitemap'")
    assert 30 < second <= 60  # new indexes found, and at most 30 more
    # every known sitemap due again at once: 30 are fetched, the others wait for a later run
    with sqlite3.connect(db) as conn:
        conn.execute("update frontier set next_fetch_at = '2000-01-01' where kind = 'sitemap'")
    site.log.clear()
    code, _, err = run(cfg, db, "--time-limit", "60")
    assert code == 0 and "stopped" not in err and "max_sitemaps = 30 reached" in err, err
    assert len(sitemap_fetches(site)) == 30
    ((known,),) = rows(db, "select count(*) from frontier where kind = 'sitemap'")
    waiting = rows(
        db,
        "select count(*) from frontier where kind = 'sitemap' and status = 'pending' "
        "and error like '%max_sitemaps%'",
    )
    assert second <= known <= second + 30 and waiting == [(known - 30,)]  # due next run


# ------------------------------------------------------------------------ politeness


def huge_robots(head: bytes, size: int = 12 * 1024 * 1024) -> bytes:
    """``head``, then comment and junk lines up to ``size`` bytes: past every size cap."""
    junk = b"# " + b"x" * 60 + b"\nnot a rule, just junk text in a robots file\n"
    return head + junk * (size // len(junk))


def test_a_robots_txt_past_the_size_cap_keeps_its_disallow_at_the_top(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    site = make_site()
    site.routes["/robots.txt"] = robots(huge_robots(b"User-agent: *\nDisallow: /\n"))
    site.routes["/news/index.html"] = listing([("/art/1.html", 1, "2024-03-01")])
    site.routes["/art/1.html"] = article(1)
    cfg = write_config(tmp_path / "s.toml", {"gov": {"start_urls": [site.url("/news/index.html")]}})
    db = tmp_path / "a.db"
    code, _, err = run(cfg, db)
    assert code == 0, err
    assert site.paths() == ["/robots.txt"]  # no page of the site, not even the list
    assert rows(db, "select count(*) from articles") == [(0,)]
    (stored,) = rows(db, "select robots_txt from hosts")
    assert stored[0] is None or len(stored[0]) <= 500 * 1024


def test_the_first_500_kib_of_a_huge_robots_txt_are_read(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    site = make_site()
    site.routes["/robots.txt"] = robots(
        huge_robots(b"User-agent: *\nDisallow: /art/secret\n")
        # past the first 500 KiB: never read, so it disallows nothing
        + b"User-agent: *\nDisallow: /art/1.html\n"
    )
    site.routes["/news/index.html"] = listing(
        [("/art/1.html", 1, "2024-03-01"), ("/art/secret.html", 2, "2024-03-01")]
    )
    site.routes["/art/1.html"] = article(1)
    site.routes["/art/secret.html"] = article(2)
    cfg = write_config(tmp_path / "s.toml", {"gov": {"start_urls": [site.url("/news/index.html")]}})
    db = tmp_path / "a.db"
    code, _, err = run(cfg, db)
    assert code == 0 and figures(err)["new"] == 1, err
    assert site.hits("/art/1.html") == 1 and site.hits("/art/secret.html") == 0
    assert rows(db, "select status from frontier where url like '%secret%'") == [("disallowed",)]
    ((stored,),) = rows(db, "select robots_txt from hosts")
    assert stored.startswith("User-agent: *\nDisallow: /art/secret\n")
    assert 400 * 1024 < len(stored) <= 500 * 1024 and stored.endswith("\n")


def test_robots_disallow_and_crawl_delay(make_site: Callable[[], Site], tmp_path: Path) -> None:
    site = make_site()
    site.routes["/robots.txt"] = robots(b"User-agent: *\nDisallow: /art/secret\nCrawl-delay: 0.6\n")
    site.routes["/art/1.html"] = article(1)
    site.routes["/art/2.html"] = article(2)
    site.routes["/art/secret.html"] = article(3)
    site.routes["/news/index.html"] = listing(
        [
            ("/art/1.html", 1, "2024-03-01"),
            ("/art/2.html", 2, "2024-03-01"),
            ("/art/secret.html", 3, "2024-03-01"),
        ]
    )
    cfg = write_config(tmp_path / "s.toml", {"gov": {"start_urls": [site.url("/news/index.html")]}})
    db = tmp_path / "a.db"
    code, _, err = run(cfg, db)
    assert code == 0 and figures(err)["new"] == 2
    assert site.hits("/art/secret.html") == 0
    assert rows(db, "select status from frontier where url like '%secret%'") == [("disallowed",)]
    times = [t for t, p, _ in site.log if p != "/robots.txt"]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 3 and min(gaps) >= 0.55, gaps  # Crawl-delay beats the site's delay 0
    agents = {headers.get("User-Agent", "") for _, _, headers in site.log}
    assert all(a.startswith("archiver/") and "archiving" in a for a in agents)


def test_a_crawl_delay_of_hours_leaves_the_host_for_a_later_run(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    """``Crawl-delay: inf`` stopped the whole crawl (its next request time was no date); a
    day, or an hour, kept a cron run idle that long. The host's next time is kept instead."""
    site = make_site()
    site.routes["/robots.txt"] = robots(b"User-agent: *\nCrawl-delay: inf\n")
    site.routes["/art/1.html"] = article(1)
    site.routes["/news/index.html"] = listing([("/art/1.html", 1, "2024-03-01")])
    cfg = write_config(tmp_path / "s.toml", {"gov": {"start_urls": [site.url("/news/index.html")]}})
    db = tmp_path / "a.db"
    for _ in range(2):  # the second run keeps away too, and ends at once
        started = time.monotonic()
        code, _, err = run(cfg, db)
        assert code == 0, err
        assert time.monotonic() - started < 30
    assert site.hits("/news/index.html") == 1 and site.hits("/art/1.html") == 0
    assert rows(db, "select crawl_delay from hosts") == [(86400.0,)]
    (next_allowed,) = rows(db, "select next_allowed_at from hosts")[0]
    ahead = datetime.strptime(next_allowed, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert ahead - datetime.now(UTC) > timedelta(hours=23)


def test_429_is_retried_after_retry_after(make_site: Callable[[], Site], tmp_path: Path) -> None:
    site = make_site()
    body = article(1)
    site.routes["/art/1.html"] = lambda h, n: (
        (429, b"slow down", {"Retry-After": "1", "Content-Type": "text/plain"})
        if n == 1
        else (200, body, {})
    )
    site.routes["/news/index.html"] = listing([("/art/1.html", 1, "2024-03-01")])
    cfg = write_config(
        tmp_path / "s.toml", {"gov": {"start_urls": [site.url("/news/index.html")], "retries": 2}}
    )
    code, _, err = run(cfg, tmp_path / "a.db")
    assert code == 0 and figures(err)["new"] == 1 and figures(err)["failed"] == 0
    tries = [t for t, p, _ in site.log if p == "/art/1.html"]
    assert len(tries) == 2 and tries[1] - tries[0] >= 0.95


def test_a_403_page_is_a_failed_page_of_the_crawl(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    """README: a refused page is recorded with its reason, its URL marked ``failed`` in the
    frontier for a later run, and the crawl goes on (exit 0); more failed pages than
    ``--max-failures`` make it exit 3. Exit 6 is for ``fetch``, not a crawl."""
    site = make_site()
    news_site(site, 3, 5)
    site.routes["/art/trs/1.html"] = lambda h, n: (403, b"<html>forbidden</html>", {})
    cfg = write_config(tmp_path / "s.toml", {"gov": {"start_urls": [site.url("/news/index.html")]}})
    db = tmp_path / "a.db"
    code, _, err = run(cfg, db)
    assert code == 0, err
    f = figures(err)
    assert (f["new"], f["failed"]) == (2, 1)
    assert site.hits("/art/trs/1.html") == 1  # a 403 is not retried
    assert rows(db, "select status, error from fetches where url like '%/art/trs/1.html'") == [
        (403, "HTTP 403")
    ]
    assert rows(db, "select status, failures, error from frontier where url like '%/1.html'") == [
        ("failed", 1, site.url("/art/trs/1.html: HTTP 403"))
    ]
    assert rows(db, "select outcome, exit_code, failed from runs") == [("ok", 0, 1)]
    code, _, err = run(cfg, tmp_path / "b.db", "--max-failures", "0")
    assert code == EXIT_FAILED and "stopped: too many failures" in err, err
    assert rows(tmp_path / "b.db", "select outcome, exit_code from runs") == [
        ("too many failures", EXIT_FAILED)
    ]


def test_hanging_and_failing_hosts_are_set_aside(
    make_site: Callable[[], Site], hanging_host: str, tmp_path: Path
) -> None:
    good, broken = make_site(), make_site()
    news_site(good, 2, 5)
    for i in range(6):
        broken.routes[f"/art/trs/{i}.html"] = lambda h, n: (503, b"down", {})
    news_site_paths = news_site(broken, 6, 6)
    for i in range(6):
        broken.routes[f"/art/trs/{i}.html"] = lambda h, n: (503, b"down", {})
    cfg = write_config(
        tmp_path / "s.toml",
        {
            "good": {"start_urls": [good.url("/news/index.html")]},
            "hangs": {"start_urls": [hanging_host + "/news/index.html"], "timeout": 1},
            "broken": {"start_urls": [broken.url(news_site_paths[0])], "max_host_failures": 2},
        },
    )
    db = tmp_path / "a.db"
    started = time.monotonic()
    code, _, err = run(cfg, db, "--max-failures", "5")
    assert time.monotonic() - started < 30  # a hang guard only: the timeout is checked below
    assert code == 0, err
    # the hung host's robots.txt ended at its 1 s timeout, by the attempt's recorded time
    ((took,),) = rows(db, "select elapsed from fetches where url like ?", (hanging_host + "%",))
    assert took < 1 + 1.5
    f = figures(err)
    assert f["new"] == 2 and f["failed"] == 3  # the hung robots.txt, two 503 articles
    assert sum(1 for p in broken.paths() if p.startswith("/art/")) == 2  # then set aside
    assert rows(
        db,
        "select count(*) from frontier where url like ? and status = 'pending'",
        (hanging_host + "%",),
    ) == [(1,)]
    # with a lower limit the same crawl is a failure: exit 3
    code, _, err = run(cfg, tmp_path / "b.db", "--max-failures", "1")
    assert code == EXIT_FAILED and "stopped: too many failures" in err
    assert rows(tmp_path / "b.db", "select outcome, exit_code from runs") == [
        ("too many failures", 3)
    ]


# ------------------------------------------------------------------------ incremental


def test_revisits_are_conditional_and_304_changes_nothing(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    site = make_site()
    news_site(site, 3, 5)
    cfg = write_config(
        tmp_path / "s.toml",
        {"gov": {"start_urls": [site.url("/news/index.html")], "revisit_after": 0}},
    )
    db = tmp_path / "a.db"
    assert run(cfg, db)[0] == 0
    before = rows(db, "select id, title, body, last_changed, raw_sha256 from articles order by id")
    fetches = rows(db, "select count(*) from fetches")[0][0]
    site.log.clear()
    code, _, err = run(cfg, db)
    assert code == 0
    assert figures(err) == {
        "found": 0,
        "new": 0,
        "changed": 0,
        "unchanged": 0,
        "not modified": 4,
        "failed": 0,
    }
    assert all("If-None-Match" in headers for _, p, headers in site.log if p != "/robots.txt")
    assert (
        rows(db, "select id, title, body, last_changed, raw_sha256 from articles order by id")
        == before
    )
    assert rows(db, "select count(*) from fetches")[0][0] == fetches + 4
    assert rows(
        db, "select count(*) from fetches where status = 304 and article_id is not null"
    ) == [(3,)]


def test_since_skips_older_articles_and_stops_paginating(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    site = make_site()
    paths = news_site(site, 16, 4)  # dates fall from 03-28 to 03-13 down the pages
    cfg = write_config(tmp_path / "s.toml", {"gov": {"start_urls": [site.url(paths[0])]}})
    db = tmp_path / "a.db"
    code, _, err = run(cfg, db, "--since", "2024-03-23")
    assert code == 0
    got = sorted(p for p in site.paths() if p.startswith("/art/"))
    assert got == [f"/art/trs/{i}.html" for i in range(6)]  # 03-28 .. 03-23
    assert site.hits(paths[2]) == 1 and site.hits(paths[3]) == 0  # page 2: all older, stop
    assert figures(err)["new"] == 6
    assert run(cfg, db, "--since", "yesterday")[0] == EXIT_USAGE


# ------------------------------------------------------------------------ cron safety


def test_limits_quiet_and_runs_row(make_site: Callable[[], Site], tmp_path: Path) -> None:
    site = make_site()
    news_site(site, 8, 10)
    cfg = write_config(tmp_path / "s.toml", {"gov": {"start_urls": [site.url("/news/index.html")]}})
    db = tmp_path / "a.db"
    code, out, err = run(cfg, db, "--max-pages", "3")
    assert code == 0 and "stopped: page limit" in err
    assert rows(db, "select pages, new from runs") == [(3, 2)]
    code, out, err = run(cfg, db, "--quiet")
    assert (code, out, err) == (0, "", "")
    assert rows(db, "select count(*) from articles") == [(8,)]
    last = rows(
        db, "select found, new, changed, unchanged, not_modified, failed, exit_code from runs"
    )
    assert last[-1] == (0, 6, 0, 0, 1, 0, 0)

    slow = make_site()
    news_site(slow, 20, 20)
    cfg = write_config(
        tmp_path / "slow.toml",
        {"gov": {"start_urls": [slow.url("/news/index.html")], "delay": 0.4}},
    )
    started = time.monotonic()
    code, _, err = run(cfg, tmp_path / "b.db", "--time-limit", "1")
    assert code == 0 and "stopped: time limit" in err
    # stopped early: the whole site takes over 8 s at one request per 0.4 s, and a second at
    # most went to requests (a loaded machine only makes fewer); then a 2 s grace at most
    assert len(slow.log) <= 1 + 1 / 0.4 + 1
    assert rows(tmp_path / "b.db", "select outcome from runs") == [("time limit",)]
    assert time.monotonic() - started < 12  # 3x the former ceiling: a loaded 2-core machine


def test_config_errors_unknown_sites_and_sites_command(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[sites.gov]\nstart_urls = ["https://x.gov.cn/"]\ndelay = "often"\n')
    code, _, err = run(bad, tmp_path / "a.db")
    assert code == EXIT_CONFIG
    assert str(bad) in err and "'gov'" in err and "'delay'" in err
    good = write_config(tmp_path / "ok.toml", {"gov": {"start_urls": ["https://x.gov.cn/i.html"]}})
    assert run(good, tmp_path / "a.db", "nosuch")[0] == EXIT_USAGE
    result = CliRunner().invoke(app, ["sites", "--config", str(good)])
    assert result.exit_code == 0 and result.stdout.startswith("gov\thttps://x.gov.cn/i.html")
    result = CliRunner().invoke(app, ["sites", "--config", str(tmp_path / "none.toml")])
    assert result.exit_code == EXIT_CONFIG


def _subprocess_crawl(cfg: Path, db: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "scraper", "crawl", "--config", str(cfg), "--db", str(db), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc; empty where there is none)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"  # a zombie has exited


def _count(db: Path, sql: str) -> int:
    try:
        return int(rows(db, sql)[0][0])
    except sqlite3.Error:
        return 0


def news_sites(
    make_site: Callable[[], Site], tmp_path: Path, *, count: int, articles: int, delay: float
) -> tuple[list[Site], Path]:
    """``count`` news sites of ``articles`` articles (5 a list page) and their sites.toml."""
    sites = [make_site() for _ in range(count)]
    for s in sites:
        news_site(s, articles, 5)
    cfg = write_config(
        tmp_path / "s.toml",
        {
            f"s{i}": {"start_urls": [s.url("/news/index.html")], "delay": delay}
            for i, s in enumerate(sites)
        },
    )
    return sites, cfg


def test_worker_processes_archive_what_worker_threads_archive(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    """Fetching (and parsing) in worker processes changes where the work runs, not the result:
    same articles, titles, bodies, works and search index; politeness still holds per host.
    With one worker process the crawl's own process parses; with two, a parsing process each."""
    sites, cfg = news_sites(make_site, tmp_path, count=3, articles=12, delay=0.05)
    archived = []
    for processes in ("0", "1", "2"):
        db = tmp_path / f"p{processes}.db"
        code, _, err = run(cfg, db, "--processes", processes)
        assert code == 0 and figures(err)["new"] == 36, err
        archived.append(
            rows(
                db,
                "select url, title, body, content_hash, signature is not null from articles "
                "order by url",
            )
        )
        fts = "select count(*) from articles_fts where articles_fts match '\"政务\"'"
        assert rows(db, fts) == [(36,)]
    assert archived[0] == archived[1] == archived[2]
    for s in sites:  # every run, one request at a time per host, the delay between them
        times = [t for t, _, _ in s.log]
        assert min(b - a for a, b in itertools.pairwise(times)) >= 0.045


def test_kill_9_mid_crawl_then_rerun_archives_each_article_once(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    from scraper.crawl.run import _BATCH_SECONDS

    # Enough pages that the crawl outlasts a batch (each host fetches one page per 20 ms or
    # so): the kill comes after a commit and before the last.
    per_site = int(_BATCH_SECONDS / 0.02)
    total = 2 * per_site
    sites, cfg = news_sites(make_site, tmp_path, count=2, articles=per_site, delay=0.02)
    db = tmp_path / "a.db"
    proc = _subprocess_crawl(cfg, db, "--processes", "2")
    deadline = time.monotonic() + 20
    while _count(db, "select count(*) from articles") < 8 and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    workers = _children(proc.pid)
    assert len(workers) >= 2 or not Path("/proc").is_dir()  # the two worker processes
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # the worker processes die with the crawl: none goes on fetching
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if _alive(pid)]
    killed_at = _count(db, "select count(*) from articles")
    assert 8 <= killed_at < total
    assert rows(db, "select finished from runs") == [(None,)]  # the killed run never finished

    code, _, err = run(cfg, db)
    assert code == 0, err
    assert rows(db, "pragma integrity_check") == [("ok",)]
    assert rows(db, "select count(*), count(distinct url) from articles") == [(total, total)]
    assert figures(err)["new"] == total - killed_at
    # exactly once: every article was fetched (200) once over both runs, and nothing is left
    assert rows(
        db, "select count(*) from fetches where status = 200 and article_id is not null"
    ) == [(total,)]
    assert rows(db, "select count(*) from frontier where status = 'pending'") == [(0,)]
    # refetched: at most the batch that was not committed (_BATCH_SECONDS of pages on each host,
    # one per delay) and the page in flight on each host at the kill
    for s in sites:
        paths = [p for p in s.paths() if p.startswith("/art/")]
        assert len(paths) - len(set(paths)) <= _BATCH_SECONDS / 0.02 + 1


def test_crash_points_are_parsed_strictly() -> None:
    from scraper import crashpoints

    assert crashpoints.parse("save-before-commit:3") == ("save-before-commit", 3)
    for bad in ("save-before-commit", "save:1", "save-after-commit:0", "save-after-commit:x"):
        with pytest.raises(ValueError, match="ARCHIVER_CRASH_AT"):
            crashpoints.parse(bad)
    try:
        crashpoints.arm("save-after-comit:1")  # a typo must not pass for a test that crashed
        with pytest.raises(RuntimeError, match="expected <point>:<n>"):
            crashpoints.crashpoint("save-after-commit")
        crashpoints.arm("save-after-commit:5")
        with pytest.raises(RuntimeError, match="unknown crash point"):
            crashpoints.crashpoint("save-before-comit")
        crashpoints.crashpoint("save-before-commit")  # another point: not counted
        crashpoints.crashpoint("save-after-commit", 4)  # 4 of 5: no crash yet
    finally:
        crashpoints.arm(None)
    crashpoints.crashpoint("save-after-commit", 100)  # unarmed: nothing happens


def crash_env(point: str) -> dict[str, str]:
    """The environment of a subprocess that ends as if killed -9 at ``point`` (crashpoints.py)."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "ARCHIVER_CRASH_AT": point}


def assert_frontier_matches_archive(db: Path) -> None:
    """Every archived article has its frontier row done (with its id), and every article row
    the frontier calls done is archived: a page and its frontier row commit together."""
    assert (
        rows(
            db,
            "select a.url, f.status, f.article_id = a.id from articles a "
            "left join frontier f on f.url = a.url "
            "where f.status is not 'ok' or f.article_id != a.id",
        )
        == []
    )
    assert (
        rows(
            db,
            "select f.url from frontier f left join articles a on a.id = f.article_id "
            "where f.kind = 'article' and f.status = 'ok' and a.id is null",
        )
        == []
    )


@pytest.mark.parametrize(
    ("point", "n"),
    [
        ("save-before-commit", 1),
        ("save-before-commit", 7),
        ("save-after-commit", 1),
        ("save-after-commit", 7),
    ],
)
def test_a_crash_at_the_nth_save_then_a_rerun_archives_each_article_once(
    make_site: Callable[[], Site], tmp_path: Path, point: str, n: int
) -> None:
    """Deterministic kill -9: the crawl ends (``os._exit(137)``) right before or right after
    the commit holding its ``n``-th article, with the next pages already in flight."""
    per_site = 6
    total = 2 * per_site
    sites, cfg = news_sites(make_site, tmp_path, count=2, articles=per_site, delay=0)
    db = tmp_path / "a.db"
    crashed = subprocess.run(
        [sys.executable, "-m", "scraper", "crawl", "--config", str(cfg), "--db", str(db)],
        capture_output=True,
        text=True,
        env=crash_env(f"{point}:{n}"),
        timeout=120,
    )
    assert crashed.returncode == 137, crashed.stderr
    assert f"crash point {point}:{n} reached" in crashed.stderr
    assert_frontier_matches_archive(db)
    kept = _count(db, "select count(*) from articles")
    if point == "save-before-commit":
        assert kept < n  # the n-th save (and its batch) was never committed
    else:
        assert n <= kept <= total  # the commit holding it was
    assert rows(db, "select finished from runs") == [(None,)]
    stored = {url for (url,) in rows(db, "select url from articles")}
    code, _, err = run(cfg, db)
    assert code == 0, err
    assert rows(db, "pragma integrity_check") == [("ok",)]
    assert rows(db, "select count(*), count(distinct url) from articles") == [(total, total)]
    assert figures(err)["new"] == total - kept and figures(err)["unchanged"] == 0
    # exactly once: one successful fetch row per article over both runs, no later version
    assert rows(
        db,
        "select count(*), count(distinct url) from fetches "
        "where status = 200 and article_id is not null",
    ) == [(total, total)]
    assert rows(db, "select count(*) from versions") == [(0,)]
    assert_frontier_matches_archive(db)
    assert rows(db, "select count(*) from frontier where status in ('pending', 'failed')") == [(0,)]
    assert rows(db, "select outcome from runs order by id") == [("abandoned",), ("ok",)]
    for s in sites:
        for path in {p for p in s.paths() if p.startswith("/art/")}:
            # a committed article is never fetched again; a lost one once more at most
            assert s.hits(path) == 1 if s.url(path) in stored else s.hits(path) <= 2, path


def test_two_runs_started_together_one_exits_locked(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    site = make_site()
    news_site(site, 3, 5)
    cfg = write_config(
        tmp_path / "s.toml", {"gov": {"start_urls": [site.url("/news/index.html")], "delay": 0.5}}
    )
    db = tmp_path / "a.db"
    first, second = _subprocess_crawl(cfg, db), _subprocess_crawl(cfg, db)
    results = sorted(
        [
            (first.wait(timeout=30), first.communicate()[1]),
            (second.wait(timeout=30), second.communicate()[1]),
        ]
    )
    (ok_code, ok_err), (locked_code, locked_err) = results
    assert (ok_code, locked_code) == (0, EXIT_LOCKED), results
    assert "another crawl" in locked_err and "new 3" in ok_err
    assert rows(db, "select count(*) from articles") == [(3,)]
    assert rows(db, "select count(*) from runs") == [(1,)]


def test_sigterm_stops_the_run_cleanly_with_130(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    from scraper.crawl.run import _BATCH_SECONDS

    site = make_site()
    news_site(site, int(3 * _BATCH_SECONDS / 0.3), 10)  # three batches long: stopped amid it
    cfg = write_config(
        tmp_path / "s.toml", {"gov": {"start_urls": [site.url("/news/index.html")], "delay": 0.3}}
    )
    db = tmp_path / "a.db"
    proc = _subprocess_crawl(cfg, db)
    deadline = time.monotonic() + 20
    while _count(db, "select count(*) from articles") < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 130
    assert "interrupted" in proc.communicate()[1]
    assert rows(db, "select outcome, exit_code, finished is not null from runs") == [
        ("interrupted", 130, 1)
    ]


def test_an_interrupt_while_the_workers_stop_still_closes_the_run_row(
    make_site: Callable[[], Site], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SIGTERM that lands after the last page, while the worker processes are stopped."""
    from scraper.crawl import procs

    site = make_site()
    news_site(site, 2, 10)
    cfg = write_config(tmp_path / "s.toml", {"gov": {"start_urls": [site.url("/news/index.html")]}})
    db = tmp_path / "a.db"
    stop = procs.WorkerProcesses.stop

    def interrupted(self: procs.WorkerProcesses, wait: float = 5.0) -> None:
        stop(self, wait)
        raise KeyboardInterrupt

    monkeypatch.setattr(procs.WorkerProcesses, "stop", interrupted)
    assert run(cfg, db)[0] == 130
    assert rows(db, "select outcome, exit_code, finished is not null, new from runs") == [
        ("interrupted", 130, 1, 2)
    ]


def test_tracking_and_site_strip_parameters_do_not_make_new_articles(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    site = make_site()
    site.routes["/art/1.html?id=1"] = article(1)
    site.routes["/art/2.html?id=2"] = article(2)
    links = [
        ("/art/1.html?id=1", 1, "2024-03-01"),
        ("/art/1.html?id=1&utm_source=wx&sid=aa", 1, "2024-03-01"),
        ("/art/1.html?sid=bb&id=1#comments", 1, "2024-03-01"),
        ("/art/2.html?id=2&spm=3.4", 2, "2024-03-02"),
    ]
    site.routes["/news/index.html"] = listing(links)
    cfg = write_config(
        tmp_path / "sites.toml",
        {"gov": {"start_urls": [site.url("/news/index.html")], "strip_params": ["SID"]}},
    )
    db = tmp_path / "a.db"
    code, _, err = run(cfg, db)
    assert code == 0, err
    assert rows(db, "select url from articles order by url") == [
        (site.url("/art/1.html?id=1"),),
        (site.url("/art/2.html?id=2"),),
    ]
    assert site.hits("/art/1.html?id=1") == 1


def test_crawl_stamps_read_as_datetime_writes_them() -> None:
    """Frontier times are compared as text: the fast stamp must equal datetime's own format,
    rounding of the microsecond and its carry into the next second included."""

    from scraper.crawl.run import stamp

    for t in (0.0, 1.5, 1_700_000_000.9999996, 1_700_000_000.0000004, 648936646.2112635):
        assert stamp(t) == datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_a_crawl_keeps_short_real_articles_and_leaves_the_home_page_out(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    """Short notices linked from a list page are stored (once rejected as 'list pages', they
    were skipped for good); a home page linked as if it were an article is not stored."""
    site = make_site()
    samples = ROOT / "samples"
    names = ["holiday", "appoint", "photo", "water"]
    for name in names:
        site.routes[f"/art/{name}.html"] = (samples / "short" / f"{name}.html").read_bytes()
    site.routes["/art/home.html"] = (samples / "negative" / "home.html").read_bytes()
    items = [(f"/art/{name}.html", n, "2026-12-01") for n, name in enumerate([*names, "home"])]
    site.routes["/news/index.html"] = listing(items)
    cfg = write_config(
        tmp_path / "sites.toml", {"gov": {"start_urls": [site.url("/news/index.html")]}}
    )
    db = tmp_path / "a.db"
    code, _, err = run(cfg, db)
    assert code == 0, err
    stored = dict(rows(db, "select url, title from articles"))
    for name in names:
        want = json.loads((samples / "expected" / "short" / f"{name}.json").read_text("utf-8"))
        assert stored[site.url(f"/art/{name}.html")] == want["title"]
    assert len(stored) == 4
    ((status, error),) = rows(db, "select status, error from frontier where url like '%home%'")
    assert status == "not_article" and "list or index page" in error


# ------------------------------------------------------------------ what articles carry


def notice_site(site: Site, *, extra: str = "") -> None:
    """A list page, a notice with four real attachments and a fifth that is gone (404), and
    two pictures in its body (the second too large for a 1 KiB cap)."""
    from .test_pipeline import DOCUMENTS, NOTICE

    files = {
        "/files/a.pdf": ("procurement-consultation.pdf", "application/pdf"),
        "/files/b.docx": ("nea-standard-draft-part1.docx", "application/octet-stream"),
        "/files/c.xlsx": ("issues-closed.xlsx", "application/vnd.ms-excel"),
        "/files/d.ofd": ("district-health-bureau-reply.ofd", "application/ofd"),
    }
    for path, (name, ctype) in files.items():
        data = (DOCUMENTS / name).read_bytes()
        site.routes[path] = lambda h, n, data=data, ctype=ctype: (
            200,
            data,
            {"Content-Type": ctype},
        )
    pictures = {"/img/small.png": PNG, "/img/large.png": PNG + bytes(4096)}
    for path, data in pictures.items():
        site.routes[path] = lambda h, n, data=data: (200, data, {"Content-Type": "image/png"})
    link = '<p>附件：<a href="/files/a.pdf">1.磋商文件</a></p>'
    assert link in NOTICE
    pictures_html = (
        '<p><img src="/img/small.png" alt="示意图"></p><p><img src="/img/large.png"></p>'
    )
    site.routes["/notice.html"] = NOTICE.replace(link, pictures_html + extra + link).encode()
    site.routes["/news/index.html"] = listing([("/notice.html", 1, "2023-04-18")])


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def test_a_crawl_fetches_an_articles_attachments_politely_once(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    from scraper.archive import Archive

    from .test_pipeline import ATTACHED

    site = make_site()
    notice_site(site)
    delay = 0.3
    cfg = write_config(
        tmp_path / "s.toml",
        {"gov": {"start_urls": [site.url("/news/index.html")], "delay": delay, "revisit_after": 0}},
    )
    db = tmp_path / "a.db"
    code, _, err = run(cfg, db)
    assert code == 0, err
    assert figures(err)["new"] == 1 and figures(err)["failed"] == 0
    assert "attachments 5 (1 failed)" in err and "images" not in err  # images are off
    assert rows(db, "select pages, new, failed from runs") == [(2, 1, 0)]
    got = rows(db, "select url, kind, sha256 is not null, error from attachments order by position")
    assert [(u.rsplit("/", 1)[1], k, s) for u, k, s, _ in got] == [
        ("a.pdf", "pdf", 1),
        ("b.docx", "docx", 1),
        ("c.xlsx", "xlsx", 1),
        ("d.ofd", "ofd", 1),
        ("missing.pdf", None, 0),
    ]
    assert "404" in str(got[4][3])
    assert rows(db, "select count(*) from images where sha256 is not null") == [(0,)]
    with Archive.open(db) as archive:
        for phrase in ATTACHED.values():
            hits = archive.search(phrase)
            assert [h.url for h in hits] == [site.url("/notice.html")], phrase
            assert hits[0].attachment is not None
    # each a fetch row; the frontier row of each file done, the missing one failed
    assert rows(db, "select count(*) from fetches where url like '%/files/%'") == [(5,)]
    assert rows(
        db, "select status, count(*) from frontier where kind = 'attachment' group by status"
    ) == [("failed", 1), ("ok", 4)]
    # one request at a time, the host's delay between the page and each attachment
    times = [t for t, p, _ in site.log if p != "/robots.txt"]
    assert all(b - a >= delay * 0.95 for a, b in itertools.pairwise(times)), times

    # a second run (everything due again) fetches no kept file again: only a new attachment,
    # and the one that failed, retried
    notice_site(site, extra='<p><a href="/files/e.pdf">6.补充说明</a></p>')
    site.routes["/files/e.pdf"] = site.routes["/files/a.pdf"]
    code, _, err = run(cfg, db)
    assert code == 0, err
    assert figures(err)["unchanged"] == 1, err  # the same text; one attachment more
    assert {p: site.hits(p) for p in ("/files/a.pdf", "/files/b.docx", "/files/e.pdf")} == {
        "/files/a.pdf": 1,
        "/files/b.docx": 1,
        "/files/e.pdf": 1,
    }
    assert site.hits("/files/missing.pdf") == 2
    assert rows(db, "select sha256 is not null from attachments where url like '%e.pdf'") == [(1,)]


def test_attachments_off_and_images_on(make_site: Callable[[], Site], tmp_path: Path) -> None:
    site = make_site()
    notice_site(site)
    cfg = write_config(
        tmp_path / "s.toml",
        {
            "gov": {
                "start_urls": [site.url("/news/index.html")],
                "attachments": False,
                "images": True,
                "max_image_bytes": 1024,
            }
        },
    )
    db = tmp_path / "a.db"
    code, _, err = run(cfg, db, "--processes", "2")  # files parsed in a parsing process
    assert code == 0, err
    assert "images 2 (1 failed)" in err and "attachments" not in err
    assert not [p for p in site.paths() if p.startswith("/files/")]
    got = rows(db, "select url, sha256, size, error from images order by position")
    small, large = got
    assert small[1] == hashlib.sha256(PNG).hexdigest() and small[2] == len(PNG)
    assert small[3] is None
    assert large[1] is None and large[3]
    (stored,) = rows(db, "select content from raw_pages where sha256 = ?", (small[1],))
    assert bytes(stored[0]) == PNG  # kept as it is, not compressed
    assert rows(db, "select pages, new, failed from runs") == [(2, 1, 0)]
    # a second run fetches no picture again
    code, _, err = run(cfg, db)
    assert code == 0 and "images" not in err
    assert site.hits("/img/small.png") == 1 and site.hits("/img/large.png") == 1


# ------------------------------------------------------------------------ operating runs


def test_revisit_now_fetches_known_articles_again(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    site = make_site()
    news_site(site, 3, 5)
    cfg = write_config(tmp_path / "s.toml", {"gov": {"start_urls": [site.url("/news/index.html")]}})
    db = tmp_path / "a.db"
    assert run(cfg, db)[0] == 0
    arts = {f"/art/trs/{i}.html" for i in range(3)}
    site.log.clear()
    assert run(cfg, db)[0] == 0  # not due for a week: the start page only
    assert not arts & set(site.paths())
    site.log.clear()
    code, _, err = run(cfg, db, "--revisit-now")
    assert code == 0 and figures(err)["not modified"] == 4
    assert sorted(p for p in site.paths() if p in arts) == sorted(arts)  # once each
    assert all("If-None-Match" in h for _, p, h in site.log if p in arts)
    site.log.clear()
    assert run(cfg, db)[0] == 0  # due a revisit interval after the fetch again
    assert not arts & set(site.paths())


def test_log_has_a_json_line_per_url_visited(make_site: Callable[[], Site], tmp_path: Path) -> None:
    site = make_site()
    site.routes["/robots.txt"] = robots(b"User-agent: *\nDisallow: /art/secret\n")
    site.routes["/art/1.html"] = article(1)
    site.routes["/art/secret.html"] = article(3)
    site.routes["/news/index.html"] = listing(
        [
            ("/art/1.html", 1, "2024-03-01"),
            ("/art/gone.html", 2, "2024-03-01"),
            ("/art/secret.html", 3, "2024-03-01"),
        ]
    )
    cfg = write_config(tmp_path / "s.toml", {"gov": {"start_urls": [site.url("/news/index.html")]}})
    db, log = tmp_path / "a.db", tmp_path / "crawl.log"
    code, _, err = run(cfg, db, "--log", str(log), "-v")
    assert code == 0
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    outcomes = {entry["url"].removeprefix(site.base): entry["outcome"] for entry in lines}
    assert outcomes == {
        "/robots.txt": "robots",
        "/news/index.html": "page",
        "/art/1.html": "new",
        "/art/gone.html": "failed",
        "/art/secret.html": "disallowed",
    }
    assert all(e["site"] == "gov" and e["time"].endswith("Z") for e in lines)
    gone = next(e for e in lines if e["url"].endswith("gone.html"))
    assert gone["status"] == 404 and "404" in gone["error"]
    # every fetch row of the run is a line's attempt
    fetched: dict[str, int] = {}
    for (url,) in rows(db, "select url from fetches"):
        fetched[url] = fetched.get(url, 0) + 1
    assert fetched == {e["url"]: e["attempts"] for e in lines if e["attempts"]}
    # --verbose: the same, readable, on stderr
    for path in outcomes:
        assert path in err
    # a second run appends
    assert run(cfg, db, "--log", str(log))[0] == 0
    assert len(log.read_text(encoding="utf-8").splitlines()) > len(lines)
    code, _, err = run(cfg, db, "--log", str(tmp_path / "no" / "crawl.log"))
    assert code == EXIT_USAGE and "cannot open --log" in err
    for flag in ("--revisit-now", "--verbose"):  # a distributed crawl takes neither
        code, _, err = run(cfg, db, "--frontier", "postgresql://db/x", flag)
        assert code == EXIT_USAGE and "apply to local crawls" in err


def check(cfg: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["check", "--config", str(cfg), *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_check_asks_each_configured_url_once_and_writes_nothing(
    make_site: Callable[[], Site], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site()
    news_site(site, 3, 5)
    site.routes["/robots.txt"] = robots(b"User-agent: *\nDisallow: /private/\n")
    site.routes["/sitemap.xml"] = (
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(f"<url><loc>{site.url(f'/art/trs/{i}.html')}</loc></url>" for i in range(3))
        + "</urlset>"
    ).encode()
    site.routes["/feed.xml"] = (
        "<rss version='2.0'><channel><item><link>"
        + site.url("/art/trs/0.html")
        + "</link></item></channel></rss>"
    ).encode()
    site.routes["/api/list?page=1"] = json.dumps(
        {"data": {"list": [{"id": 7, "title": "关于开展第7批政务公开工作的通知"}]}}
    ).encode()
    site.routes["/api/list?page=2"] = b'{"data": {"list": []}}'
    cfg = tmp_path / "s.toml"
    write_config(
        cfg,
        {
            "gov": {
                "start_urls": [site.url("/news/index.html")],
                "sitemaps": [site.url("/sitemap.xml")],
                "feeds": [site.url("/feed.xml")],
            }
        },
    )
    with cfg.open("a", encoding="utf-8") as f:  # an inline table the helper does not write
        f.write(
            f'json_lists = [{{ endpoint = "{site.url("/api/list?page={page}")}", '
            'items = "data.list", url = "/content/{id}.html", title = "title" }]\n'
        )
    monkeypatch.chdir(tmp_path)  # no archive.db may appear in the working directory
    code, out, err = check(cfg)
    assert code == 0, err
    found = {
        line.split("\t")[4].removeprefix(site.base): line.split("\t") for line in out.splitlines()
    }
    assert (
        found["/news/index.html"][1] == "200" and found["/news/index.html"][5] == "3 article links"
    )
    assert found["/sitemap.xml"][5] == "3 sitemap entries"
    assert found["/feed.xml"][5] == "1 feed entries"
    assert found["/api/list?page=1"][5] == "1 items"
    assert all(line[0] == "gov" and line[2].endswith("s") for line in found.values())
    assert sorted(site.paths()) == sorted(
        ["/robots.txt", "/news/index.html", "/sitemap.xml", "/feed.xml", "/api/list?page=1"]
    )
    assert list(tmp_path.glob("*.db*")) == []
    # --json: one object per URL; a disallowed and a failing URL: reported, exit 3
    write_config(
        cfg,
        {
            "gov": {"start_urls": [site.url("/private/index.html"), site.url("/gone.html")]},
            "other": {"start_urls": [site.url("/news/index.html")]},
        },
    )
    site.log.clear()
    code, out, err = check(cfg, "gov", "--json")
    assert code == EXIT_FAILED and "2 of 2 URLs failed" in err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(c["url"].removeprefix(site.base), c["ok"], c["status"]) for c in lines] == [
        ("/private/index.html", False, None),
        ("/gone.html", False, 404),
    ]
    assert lines[0]["error"] == "disallowed by robots.txt" and "404" in lines[1]["error"]
    assert "/private/index.html" not in site.paths()
    # a bad file: the one-line error and exit code of crawl
    cfg.write_text('[sites.gov]\nstart_urls = ["https://x.gov.cn/"]\ndelay = "often"\n')
    code, out, err = check(cfg)
    assert code == EXIT_CONFIG and out == "" and err.count("\n") == 1 and "'delay'" in err
    assert check(cfg.with_name("none.toml"))[0] == EXIT_CONFIG


# ------------------------------------------------------------------ edits and takedowns


def not_found_page(handler: Handler, count: int) -> tuple[int, bytes, dict[str, str]]:
    """A site's "not found" page served with 200 for any unknown path (a soft 404); it
    names the path asked for, in words no fallback list knows: only its likeness to the
    page for a surely missing URL gives it away."""
    links = "".join(f'<li><a href="/col/{k}/index.html">栏目{k}</a></li>' for k in range(30))
    return (
        200,
        f"""<html><head><meta charset="utf-8"><title>示例市人民政府</title></head><body>
<div class="nav"><a href="/">首页</a> <a href="/news/index.html">政务动态</a></div>
<div class="box"><p>很抱歉，您要访问的页面 {handler.path} 找不到了，请返回首页继续浏览。</p>
<ul>{links}</ul></div>
<div class="footer">版权所有：示例市人民政府 主办单位：示例市人民政府办公室
网站标识码 1234 ICP备案号 56789 联系我们 网站地图 使用帮助 隐私声明</div></body></html>""".encode(),
        {},
    )


def test_three_runs_notice_an_edit_three_takedowns_and_a_return(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    """Between runs one article is edited, one answers 404, one is replaced by the site's
    not-found page (status 200), one redirects to the home page and one answers 404 and then
    comes back: the archive's changes say exactly that, and no takedown page is ever kept
    as an article's text."""
    from scraper.archive import Archive

    site = make_site()
    site.routes["/robots.txt"] = robots(b"User-agent: *\nAllow: /\n")
    site.routes["/"] = (ROOT / "samples" / "negative" / "home.html").read_bytes()
    site.fallback = not_found_page
    paths = [f"/art/{n}.html" for n in range(6)]
    for n, path in enumerate(paths):
        site.routes[path] = article(n)
    site.routes["/news/index.html"] = listing([(p, n, "2024-03-01") for n, p in enumerate(paths)])
    cfg = write_config(
        tmp_path / "s.toml",
        {"gov": {"start_urls": [site.url("/news/index.html")], "revisit_after": 0}},
    )
    db = tmp_path / "a.db"
    assert run(cfg, db)[0] == 0
    texts = dict(rows(db, "select url, body from articles"))
    assert len(texts) == 6

    def gone(h: Handler, count: int) -> tuple[int, bytes, dict[str, str]]:
        return 404, b"<html><body>404</body></html>", {}

    def home(h: Handler, count: int) -> tuple[int, bytes, dict[str, str]]:
        return 302, b"", {"Location": "/"}

    site.routes[paths[0]] = article(0).replace("第2段".encode(), "第二段（修订）".encode())
    site.routes[paths[1]] = gone
    del site.routes[paths[2]]  # the fallback: the not-found page, with 200
    site.routes[paths[3]] = home
    site.routes[paths[4]] = gone
    before = stamp_now()
    code, _, err = run(cfg, db)
    assert code == 0, err
    between = stamp_now()
    site.routes[paths[4]] = article(4)
    code, _, err = run(cfg, db)
    assert code == 0, err
    after = stamp_now()
    assert sum("archiver-missing" in p for p in site.paths()) == 2  # once a run with a revisit

    archive = Archive.open(db)
    try:
        changes = sorted(
            (c["url"].removeprefix(site.base), c["kind"], c["reason"], c["time"])
            for c in archive.changes()
        )
    finally:
        archive.close()
    assert [c[:3] for c in changes] == [
        ("/art/0.html", "edited", None),
        ("/art/1.html", "withdrawn", "HTTP 404"),
        ("/art/2.html", "withdrawn", "not-found page"),
        ("/art/3.html", "withdrawn", "redirected to home page"),
        ("/art/4.html", "restored", None),
        ("/art/4.html", "withdrawn", "HTTP 404"),
    ]
    for _, kind, _, when in changes:  # fetch times, to the second
        start, end = (between, after) if kind == "restored" else (before, between)
        assert seconds(start) // 1 <= seconds(when) <= seconds(end)
    stored = dict(rows(db, "select url, body from articles"))
    assert len(stored) == 6  # neither the home page nor the not-found page became one
    for n in (1, 2, 3, 4, 5):
        assert stored[site.url(paths[n])] == texts[site.url(paths[n])]
    assert "第二段（修订）" in stored[site.url(paths[0])]
    marks = rows(db, "select url, withdrawn_reason from articles where withdrawn is not null")
    assert sorted((u.removeprefix(site.base), r) for u, r in marks) == [
        ("/art/1.html", "HTTP 404"),
        ("/art/2.html", "not-found page"),
        ("/art/3.html", "redirected to home page"),
    ]
    # a withdrawn URL stays in the frontier, due again on its schedule, not as a failure
    frontier = dict(rows(db, "select url, error from frontier where failures = 0"))
    assert frontier[site.url(paths[1])] == "withdrawn: HTTP 404"
    assert frontier[site.url(paths[3])] == "withdrawn: redirected to home page"
    assert frontier[site.url(paths[4])] is None


def seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def stamp_now() -> str:
    from scraper.crawl.decide import stamp

    return stamp()


def test_a_short_page_that_says_it_is_gone_is_a_not_found_page() -> None:
    from scraper.crawl.worker import page_shape, says_missing

    short = "<html><body><div>该信息已删除！</div><script>var t = 1;</script></body></html>"
    assert says_missing(short)
    assert says_missing("<html><body><h1>404</h1><p>您访问的页面不存在</p></body></html>")
    assert not says_missing(article(1).decode())
    assert not says_missing("<html><body><p>通知全文</p></body></html>")
    # one not-found page for two missing addresses, times and counters aside
    one = "<p>页面 /a/1.html 不存在</p><p>2024-03-01 12:00</p>"
    two = "<p>页面 /b/22.html 不存在</p><p>2025-11-30 08:13</p>"
    assert page_shape(one, "http://x/a/1.html") == page_shape(two, "http://x/b/22.html")
    assert page_shape(one, "http://x/a/1.html") != page_shape(article(1).decode(), "http://x/")


def test_the_revisit_schedule_follows_an_articles_age() -> None:
    from dataclasses import replace

    from scraper.crawl.config import SiteConfig
    from scraper.crawl.decide import DAY, HOUR, revisit_wait, seconds_since

    site = SiteConfig(name="gov", start_urls=("https://www.example.gov.cn/",))
    assert site.revisit_after == 7 * DAY
    table = [
        (0.0, 6 * HOUR),
        (47 * HOUR, 6 * HOUR),
        (2 * DAY, DAY),
        (6.9 * DAY, DAY),
        (7 * DAY, 2 * DAY),
        (29 * DAY, 2 * DAY),
        (30 * DAY, 7 * DAY),
        (400 * DAY, 7 * DAY),
        (None, 7 * DAY),
    ]
    assert [revisit_wait(site, age) for age, _ in table] == [wait for _, wait in table]
    # changed in the last two days: every 6 h whatever its age
    assert revisit_wait(site, 400 * DAY, since_change=DAY) == 6 * HOUR
    assert revisit_wait(site, 400 * DAY, since_change=3 * DAY) == 7 * DAY
    # revisit_after is the ceiling for all
    hourly = replace(site, revisit_after=3600.0)
    assert revisit_wait(hourly, 0.0) == revisit_wait(hourly, 10 * DAY) == 3600.0
    now = datetime(2024, 3, 3, tzinfo=UTC).timestamp()
    assert seconds_since("2024-03-01", now) == 2 * DAY
    assert seconds_since("2024-03-02T12:00:00.000000Z", now) == 12 * HOUR
    assert seconds_since("not a date", now) is None and seconds_since(None, now) is None


def test_a_young_article_is_due_again_sooner_than_revisit_after(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    site = make_site()
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    site.routes["/art/new.html"] = article(1, today)
    site.routes["/art/old.html"] = article(2, "2020-01-01")
    items = [("/art/new.html", 1, today), ("/art/old.html", 2, "2020-01-01")]
    site.routes["/news/index.html"] = listing(items)
    cfg = write_config(tmp_path / "s.toml", {"gov": {"start_urls": [site.url("/news/index.html")]}})
    db = tmp_path / "a.db"
    assert run(cfg, db)[0] == 0
    waits = {
        url.removeprefix(site.base): (
            datetime.fromisoformat(due) - datetime.fromisoformat(last)
        ).total_seconds()
        for url, last, due in rows(
            db, "select url, last_fetch_at, next_fetch_at from frontier where kind = 'article'"
        )
    }
    assert waits == {"/art/new.html": 6 * 3600, "/art/old.html": 7 * 86400}
