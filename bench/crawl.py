"""Crawl speed: archiver and Scrapy side by side on the same local sites, at equal politeness.

One process serves N sites (one loopback address per site, so one host each for both
crawlers) with TRS-style paginated lists (index.html, index_1.html ... with 下一页, 20 links a
page) and generated 5-10 KB article pages. archiver (`archiver crawl`) and a Scrapy spider then
crawl every site from its index.html, one request at a time per host with the same delay, all
hosts in parallel, each in its own subprocess. The server logs every request, so pages, the
per-host gaps and the crawl span are counted outside the crawlers; CPU is the subprocess's
user+sys from wait4 for both.

    .venv-bench/bin/python bench/crawl.py --quick           # 10 sites x 50 articles
    .venv-bench/bin/python bench/crawl.py                   # 50 sites x 200 articles, delay 0.05 s
    .venv-bench/bin/python bench/crawl.py --sites 20 --articles 100 --delay 0.2 --only archiver
    .venv-bench/bin/python bench/crawl.py --rounds 4 --no-equal-work   # median of 4 ratios

archiver parses every article (metadata, body, boilerplate), groups duplicates and stores it
into SQLite with its raw bytes; the Scrapy spider only takes the <h1> and the paragraph text
with CSS selectors and writes a JSON line. Scrapy does no metadata parsing, no dedup and no
SQLite storage. So a third run, scrapy+archiver, is the same spider doing archiver's work:
each article parsed by archiver's parser and stored with ``Archive.save`` (as a Scrapy user
of archiver's library would); the two archiver columns then differ only in the crawl engine
(archiver also keeps its crawl state and list pages in the archive; the spider does not).

Each crawler first crawls the sites once untimed (``--warmup 1``): the first crawl of an
invocation was often the slowest, and with archiver always first in round 1, that slowness
fell on archiver's ratio.

Politeness is checked at the server. archiver waits the delay after a response before the next
request to that host. Scrapy waits it between dispatching two requests to a host, so when its
reactor is busy two requests can reach the server closer together than the delay; the table
counts those gaps.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

PER_PAGE = 20
LIST_PATH = "/zwgk/tzgg/index.html"
ROBOTS = b"User-agent: *\nAllow: /\n"

# ------------------------------------------------------------------------------ pages

_CITIES = (
    "东川 南平 西岭 北固 清河 安远 临江 永宁 长乐 广平 新安 宁远 丰城 定南 明溪 兴化 泰和 崇义"
)
_DEPTS = (
    "发展和改革委员会",
    "教育局",
    "财政局",
    "人力资源和社会保障局",
    "自然资源和规划局",
    "生态环境局",
    "住房和城乡建设局",
    "交通运输局",
    "农业农村局",
    "卫生健康委员会",
    "市场监督管理局",
    "应急管理局",
)
_TOPICS = (
    "优化营商环境",
    "安全生产大检查",
    "城乡居民医疗保险参保缴费",
    "高标准农田建设",
    "老旧小区改造",
    "义务教育招生入学",
    "森林防火",
    "燃气安全专项整治",
    "就业创业补贴申领",
    "政务服务“一网通办”",
    "农村人居环境整治",
    "防汛抗旱",
    "食品安全抽检",
    "消费券发放",
    "重点项目建设",
)
_KINDS = (
    "关于做好{t}工作的通知",
    "关于印发《{t}实施方案》的通知",
    "{d}召开{t}工作推进会",
    "关于开展{t}专项行动的公告",
    "{t}工作情况通报（第{n}期）",
    "关于公布{t}有关事项的公示",
)
_SENTENCES = (
    "为深入贯彻落实党中央、国务院决策部署，进一步做好{t}工作，结合我{c}实际，现将有关事项通知如下",
    "各乡镇人民政府、街道办事处，{c}直各有关单位要高度重视，切实加强组织领导，明确责任分工",
    "截至{m}月底，全{c}累计完成投资{x}亿元，同比增长{y}%，完成年度目标任务的{z}%",
    "会议指出，{t}事关人民群众切身利益，事关经济社会发展大局，必须坚持问题导向、目标导向",
    "要聚焦重点领域和关键环节，建立健全工作台账，实行清单化管理、项目化推进、节点化落实",
    "各责任单位要加强部门协同，形成工作合力，确保各项任务按时保质完成",
    "对工作推进不力、敷衍塞责的单位和个人，将按照有关规定严肃追责问责",
    "本次检查共出动检查人员{w}人次，检查企业{v}家，发现并督促整改问题隐患{u}处",
    "申请人应当于{m}月{dd}日前通过政务服务网或者各级政务服务中心窗口提交申请材料",
    "符合条件的，经审核后按照每人每月{x}百元的标准发放补贴，资金直接拨付至本人社会保障卡",
    "下一步，{d}将持续深化改革，创新工作方式，推动{t}工作取得新成效",
    "会议要求，要坚持以人民为中心的发展思想，着力解决群众急难愁盼问题，不断提升群众获得感",
    "各地要严格落实属地管理责任、部门监管责任和企业主体责任，做到守土有责、守土负责、守土尽责",
    "请各单位于{m}月{dd}日前将工作开展情况及典型经验做法报送至{d}办公室，联系电话：0{u}-8{w}{v}",
    "此次活动共覆盖{v}个村（社区），惠及群众{w}余户，发放宣传资料{u}份",
    "要加强宣传引导，充分利用报纸、广播、电视和政务新媒体等渠道，广泛宣传政策内容和办理流程",
    "经研究决定，对{v}个项目予以立项支持，安排专项资金{x}万元，现予以公示",
    "公示期间，如有异议，请以书面形式向{d}反映，反映情况应当客观真实，并提供必要的证明材料",
    "市政府分管负责同志出席会议并讲话，{d}主要负责同志通报了前一阶段工作情况",
    "各项工作总体进展顺利，但也存在部分项目开工滞后、要素保障不足等问题，需要引起高度重视",
)


@dataclass(frozen=True)
class SiteSpec:
    """One generated site: its index, host address and pages (path -> full HTTP response)."""

    index: int
    name: str
    address: str
    responses: dict[str, bytes]
    titles: dict[str, str]  # article path -> title


def _fill(template: str, rng: random.Random, topic: str, city: str, dept: str, n: int = 0) -> str:
    return template.format(
        n=n,
        t=topic,
        c="市" if city.endswith("市") else "县",
        d=dept,
        m=rng.randint(1, 12),
        dd=rng.randint(1, 28),
        x=rng.randint(2, 980),
        y=round(rng.uniform(0.5, 30), 1),
        z=rng.randint(40, 120),
        w=rng.randint(100, 9000),
        v=rng.randint(10, 900),
        u=rng.randint(100, 999),
    )


def article_html(site: int, n: int, site_name: str, city: str) -> tuple[str, bytes]:
    """A distinct gov article page (~5-10 KB): chrome, meta line, 8-15 paragraphs, footer."""
    rng = random.Random(site * 1_000_003 + n)
    topic, dept = rng.choice(_TOPICS), city + rng.choice(_DEPTS)
    title = _fill(rng.choice(_KINDS), rng, topic, city, dept, n // 7 + 1)
    title = f"{title}（{n + 1}）"
    day = f"2024-{1 + n % 12:02d}-{1 + (n * 7 + site) % 28:02d}"
    clock = f"{8 + n % 10:02d}:{(n * 13) % 60:02d}"
    paras = []
    for _ in range(rng.randint(8, 15)):
        count = rng.randint(2, 4)
        text = "；".join(
            _fill(rng.choice(_SENTENCES), rng, topic, city, dept) for _ in range(count)
        )
        paras.append(f'<p style="text-indent:2em;">{text}。</p>')
    author = rng.choice(("李明", "王芳", "张伟", "刘洋", "陈静", "杨帆"))
    editor = rng.choice(("赵磊", "孙丽", "周强", "吴敏"))
    html = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<meta name="SiteName" content="{site_name}">
<meta name="ColumnName" content="通知公告">
<meta name="ArticleTitle" content="{title}">
<meta name="PubDate" content="{day} {clock}">
<meta name="ContentSource" content="{dept}">
<title>{title}_{site_name}</title>
<link rel="stylesheet" href="/images/style.css"><script src="/images/jquery.min.js"></script>
</head><body>
<div class="header"><div class="logo"><a href="/">{site_name}</a></div>
<ul class="nav"><li><a href="/">首页</a></li><li><a href="/zwgk/index.html">政务公开</a></li>
<li><a href="/zwfw/index.html">政务服务</a></li><li><a href="/hdjl/index.html">互动交流</a></li>
<li><a href="/zjxx/index.html">走进{city[:2]}</a></li></ul></div>
<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/index.html">政务公开</a>
 &gt; <a href="{LIST_PATH}">通知公告</a></div>
<div class="main"><div class="article">
<h1 class="title">{title}</h1>
<div class="info"><span>发布时间：{day} {clock}</span><span>来源：{dept}</span>
<span>作者：{author}</span><span>字号：<a href="javascript:doZoom(18)">大</a>
<a href="javascript:doZoom(16)">中</a> <a href="javascript:doZoom(14)">小</a></span></div>
<div class="article-content" id="zoom">
{"".join(paras)}
</div>
<div class="editor">（责任编辑：{editor}）</div>
<div class="tools"><a href="javascript:window.print()">打印本页</a>
<a href="javascript:window.close()">关闭窗口</a></div>
</div></div>
<div class="footer"><p>主办：{site_name}办公室　承办：{city}大数据中心</p>
<p>网站标识码：{3300000000 + site}　备案号：浙ICP备{10000000 + site}号
　浙公网安备 {33010202000000 + site}号</p>
<p>地址：{city}人民路{site + 1}号　联系电话：0571-8{site:04d}　技术支持：{city}信息中心</p></div>
</body></html>
"""
    return title, html.encode("utf-8")


def list_html(
    site_name: str, items: Sequence[tuple[str, str, str]], page: int, pages: int
) -> bytes:
    """One TRS list page: 20 dated links and a 首页/上一页/下一页/尾页 pager."""
    lis = "\n".join(
        f'<li><a href="{href}" target="_blank" title="{title}">{title}</a><span>{day}</span></li>'
        for href, title, day in items
    )

    def page_href(p: int) -> str:
        return "index.html" if p == 0 else f"index_{p}.html"

    pager = [f'<span>共{pages}页</span><a href="index.html">首页</a>']
    pager.append(f'<a href="{page_href(page - 1)}">上一页</a>' if page else "<span>上一页</span>")
    pager.append(
        f'<a href="{page_href(page + 1)}">下一页</a>' if page + 1 < pages else "<span>下一页</span>"
    )
    pager.append(f'<a href="{page_href(pages - 1)}">尾页</a>')
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>通知公告_{site_name}</title></head><body>
<div class="header"><div class="logo"><a href="/">{site_name}</a></div>
<ul class="nav"><li><a href="/">首页</a></li><li><a href="/zwgk/index.html">政务公开</a></li>
<li><a href="/zwfw/index.html">政务服务</a></li></ul></div>
<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/index.html">政务公开</a>
 &gt; 通知公告</div>
<div class="list-box"><ul class="list">
{lis}
</ul><div class="page">{" ".join(pager)}</div></div>
<div class="footer"><p>主办：{site_name}办公室</p></div>
</body></html>
""".encode()


def _response(status: str, body: bytes, ctype: str = "text/html; charset=utf-8") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode("ascii") + body


NOT_FOUND = _response("404 Not Found", b"<html><body>not found</body></html>")


def address(index: int) -> str:
    """Site ``index``'s own loopback address: Scrapy's per-domain slot ignores the port."""
    return f"127.0.{index // 250}.{index % 250 + 2}"


def build_site(index: int, articles: int) -> SiteSpec:
    """Every page of one site, rendered once up front so serving costs no generation."""
    cities = _CITIES.split()
    city = cities[index % len(cities)] + ("市" if index % 3 else "县")
    name = f"{city}人民政府" + (f"（{index}）" if index >= len(cities) else "")
    responses: dict[str, bytes] = {"/robots.txt": _response("200 OK", ROBOTS, "text/plain")}
    titles: dict[str, str] = {}
    items: list[tuple[str, str, str]] = []
    for n in range(articles):
        title, body = article_html(index, n, name, city)
        day = f"2024-{1 + n % 12:02d}-{1 + (n * 7 + index) % 28:02d}"
        href = f"/art/2024/{1 + n % 12}/{1 + (n * 7 + index) % 28}/art_{index + 1}_{n + 1}.html"
        responses[href] = _response("200 OK", body)
        titles[href] = title
        items.append((href, title, day))
    pages = max(1, -(-articles // PER_PAGE))
    for p in range(pages):
        path = LIST_PATH if p == 0 else LIST_PATH.replace("index.html", f"index_{p}.html")
        chunk = items[p * PER_PAGE : (p + 1) * PER_PAGE]
        responses[path] = _response("200 OK", list_html(name, chunk, p, pages))
    return SiteSpec(index, name, address(index), responses, titles)


# ------------------------------------------------------------------------------ server


class Farm:
    """All sites served by one asyncio loop in a thread: one listening socket per site.

    Every request is logged as (monotonic time, site index, path) when its head arrives.
    """

    def __init__(self, sites: Sequence[SiteSpec]) -> None:
        self.sites = sites
        self.ports: list[int] = []
        self.log: list[tuple[float, int, str]] = []
        self.connections = 0
        self.loop = asyncio.new_event_loop()
        self._ready: Future[None] = Future()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.result(timeout=60)

    def url(self, index: int, path: str = LIST_PATH) -> str:
        return f"http://{self.sites[index].address}:{self.ports[index]}{path}"

    def cpu(self) -> float:
        """CPU seconds the server thread has used so far."""

        async def now() -> float:
            return time.thread_time()

        return asyncio.run_coroutine_threadsafe(now(), self.loop).result(timeout=30)

    def take_log(self) -> tuple[list[tuple[float, int, str]], int]:
        """The requests and the number of connections opened since the last call."""
        log, self.log = self.log, []
        connections, self.connections = self.connections, 0
        return log, connections

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            for site in self.sites:
                server = self.loop.run_until_complete(
                    asyncio.start_server(
                        lambda r, w, i=site.index: self._serve(i, r, w),
                        site.address,
                        0,
                        backlog=512,
                    )
                )
                self.ports.append(server.sockets[0].getsockname()[1])
        except BaseException as exc:
            self._ready.set_exception(exc)
            return
        self._ready.set_result(None)
        self.loop.run_forever()

    async def _serve(
        self, index: int, reader: asyncio.StreamReader, w: asyncio.StreamWriter
    ) -> None:
        pages = self.sites[index].responses
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                arrived = time.monotonic()
                line, _, rest = head.partition(b"\r\n")
                parts = line.split(b" ")
                path = parts[1].decode("latin-1") if len(parts) == 3 else ""
                self.log.append((arrived, index, path))
                w.write(pages.get(path, NOT_FOUND))
                await w.drain()
                lowered = rest.lower()
                if parts[-1] == b"HTTP/1.0" or b"connection: close" in lowered:
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            w.close()


# ------------------------------------------------------------------------------ crawlers


@dataclass
class Result:
    """One crawler's run, as the server and wait4 saw it."""

    name: str
    exit_code: int
    wall: float
    cpu_user: float
    cpu_sys: float
    max_rss_mb: float
    server_cpu: float
    load_before: float
    log: list[tuple[float, int, str]]
    connections: int
    stored: int = 0
    titles_ok: int = 0
    stderr: str = ""
    extra: dict[str, object] = field(default_factory=dict)


def run_measured(
    name: str, cmd: list[str], cwd: Path, farm: Farm, env: dict[str, str] | None = None
) -> Result:
    """Run ``cmd`` to completion; its CPU (and its children's) comes from wait4."""
    farm.take_log()
    load = os.getloadavg()[0]
    server0 = farm.cpu()
    out_path, err_path = cwd / f"{name}.stdout", cwd / f"{name}.stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    server = farm.cpu() - server0
    time.sleep(0.05)  # let a last logged request settle
    err_text = err_path.read_text("utf-8", "replace")
    log, connections = farm.take_log()
    return Result(
        name=name,
        exit_code=code,
        wall=wall,
        cpu_user=usage.ru_utime,
        cpu_sys=usage.ru_stime,
        max_rss_mb=usage.ru_maxrss / 1024,
        server_cpu=server,
        load_before=load,
        log=log,
        connections=connections,
        stderr=err_text,
    )


def archiver_command() -> list[str]:
    script = Path(sys.executable).with_name("archiver")
    return [str(script)] if script.exists() else [sys.executable, "-m", "scraper"]


def run_archiver(farm: Farm, work: Path, delay: float, list_pages: int) -> Result:
    """`archiver crawl --quiet` over a generated sites.toml into a new archive."""
    lines = [
        "[defaults]",
        f"delay = {delay!r}",
        "allow_private = true",
        "obey_robots = false",
        f"max_list_pages = {list_pages + 5}",
        "",
    ]
    for site in farm.sites:
        lines += [
            f"[sites.s{site.index:03d}]",
            f"start_urls = [{json.dumps(farm.url(site.index))}]",
        ]
    config, db = work / "sites.toml", work / "archive.db"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cmd = [*archiver_command(), "crawl", "--config", str(config), "--db", str(db), "--quiet"]
    result = run_measured("archiver", cmd, work, farm)
    expected = {
        farm.url(s.index, path): title for s in farm.sites for path, title in s.titles.items()
    }
    if result.exit_code:
        print(f"archiver exited {result.exit_code}:\n{result.stderr[-3000:]}", file=sys.stderr)
    if not db.exists():
        return result
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select url, title from articles where is_article = 1").fetchall()
        run = conn.execute("select found, new, failed, pages, seconds from runs").fetchone()
    result.stored = len(rows)
    result.titles_ok = sum(1 for url, title in rows if expected.get(url) == title)
    result.extra = dict(
        zip(("found", "new", "failed", "pages", "seconds"), run or (), strict=False)
    )
    result.extra["db MB"] = round(sum(p.stat().st_size for p in work.glob("archive.db*")) / 1e6, 1)
    return result


SPIDER = '''"""Generated by bench/crawl.py: follow lists and articles, yield title + body."""

import scrapy
from scrapy.settings import default_settings

START_URLS = {starts!r}
if hasattr(default_settings, "DOWNLOAD_DELAY_JITTER"):
    NO_JITTER = {{"DOWNLOAD_DELAY_JITTER": 0}}
else:
    NO_JITTER = {{"RANDOMIZE_DOWNLOAD_DELAY": False}}


class GovSpider(scrapy.Spider):
    name = "gov"
    start_urls = START_URLS
    custom_settings = {{
        "DOWNLOAD_DELAY": {delay!r},
        **NO_JITTER,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "CONCURRENT_REQUESTS": {concurrency},
        "ROBOTSTXT_OBEY": False,
        "AUTOTHROTTLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False,
        "FEEDS": {{{feed!r}: {{"format": "jsonlines", "encoding": "utf8"}}}},
    }}

    def parse(self, response):
        for href in response.css("ul.list li a::attr(href)").getall():
            yield response.follow(href, self.parse_article)
        following = response.xpath('//a[normalize-space()="下一页"]/@href').get()
        if following:
            yield response.follow(following, self.parse)

    def parse_article(self, response):
        paragraphs = response.css("div.article-content p::text").getall()
        yield {{
            "url": response.url,
            "title": response.css("h1.title::text").get(default="").strip(),
            "body": "\\n".join(p.strip() for p in paragraphs),
        }}
'''


SPIDER_ARCHIVE = """

# scrapy+archiver: the same crawl, each article parsed by archiver's parser and stored with
# Archive.save (one transaction each), as a Scrapy user of archiver's library would.
from datetime import UTC as _UTC, datetime as _datetime

from scraper.archive import Archive
from scraper.models import FetchAttempt, Page
from scraper.parse import parse_page

ARCHIVE = Archive.open({archive!r})


def _parse_article(self, response):
    now = _datetime.now(_UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    page = Page(
        url=response.url,
        final_url=response.url,
        status=response.status,
        content=response.body,
        text=response.text,
        encoding=response.encoding,
        content_type=response.headers.get("Content-Type", b"").decode("latin-1"),
        fetched_at=now,
        attempts=(FetchAttempt(response.url, now, response.status, response.url,
                               len(response.body), response.encoding),),
    )
    article = parse_page(response.text, response.url)
    ARCHIVE.save(page, article)
    yield {{"url": response.url, "title": article.title or ""}}


GovSpider.parse_article = _parse_article
"""


def run_scrapy(farm: Farm, work: Path, delay: float, archive: bool = False) -> Result:
    """`scrapy runspider` on a generated spider writing a JSON Lines feed (and, with
    ``archive``, parsing and storing each article with archiver's library)."""
    feed = work / "items.jsonl"
    spider = work / "gov_spider.py"
    text = SPIDER.format(
        starts=[farm.url(s.index) for s in farm.sites],
        delay=delay,
        concurrency=max(16, len(farm.sites)),
        feed=str(feed),
    )
    if archive:
        text += SPIDER_ARCHIVE.format(archive=str(work / "archive.db"))
    spider.write_text(text, encoding="utf-8")
    cmd = [sys.executable, "-m", "scrapy", "runspider", str(spider)]
    env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
    result = run_measured("scrapy+archiver" if archive else "scrapy", cmd, work, farm, env)
    expected = {
        farm.url(s.index, path): title for s in farm.sites for path, title in s.titles.items()
    }
    items = []
    if feed.exists():
        with feed.open(encoding="utf-8") as lines:
            items = [json.loads(line) for line in lines if line.strip()]
    result.stored = len(items)
    result.titles_ok = sum(1 for item in items if expected.get(item["url"]) == item["title"])
    return result


# ------------------------------------------------------------------------------ report


@dataclass(frozen=True)
class Figures:
    """What the server log and wait4 say about one run."""

    pages: int
    other: int
    per_host_min: int
    per_host_max: int
    min_gap: float
    median_gap: float
    under_delay: int
    span: float


def figures(result: Result, sites: Sequence[SiteSpec], delay: float) -> Figures:
    by_host: dict[int, list[float]] = {}
    pages = other = 0
    for when, index, path in result.log:
        if path in sites[index].responses and path != "/robots.txt":
            pages += 1
        else:
            other += 1
        by_host.setdefault(index, []).append(when)
    gaps: list[float] = []
    counts = []
    for index in range(len(sites)):
        times = sorted(by_host.get(index, []))
        counts.append(len(times))
        gaps += [b - a for a, b in itertools.pairwise(times)]
    stamps = [when for when, _, _ in result.log]
    return Figures(
        pages=pages,
        other=other,
        per_host_min=min(counts),
        per_host_max=max(counts),
        min_gap=min(gaps) if gaps else float("nan"),
        median_gap=statistics.median(gaps) if gaps else float("nan"),
        under_delay=sum(1 for g in gaps if g < delay),
        span=(max(stamps) - min(stamps)) if stamps else 0.0,
    )


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def report(
    results: Sequence[Result], sites: Sequence[SiteSpec], delay: float, expected: int
) -> dict[str, dict[str, object]]:
    """Print the side-by-side table and ratios; return the numbers."""
    figs = {r.name: figures(r, sites, delay) for r in results}
    rows: list[tuple[str, list[str]]] = []
    numbers: dict[str, dict[str, object]] = {r.name: {} for r in results}

    def add(label: str, key: str, values: list[object], fmt: str = "{}") -> None:
        rows.append((label, [fmt.format(v) for v in values]))
        for r, v in zip(results, values, strict=True):
            numbers[r.name][key] = v

    f = [figs[r.name] for r in results]
    cpu = [r.cpu_user + r.cpu_sys for r in results]
    add("exit code", "exit_code", [r.exit_code for r in results])
    add("pages fetched (server count)", "pages", [x.pages for x in f])
    add("other requests (404, robots)", "other_requests", [x.other for x in f])
    add("TCP connections opened", "connections", [r.connections for r in results])
    add("requests per host, min-max", "per_host", [f"{x.per_host_min}-{x.per_host_max}" for x in f])
    add("smallest gap, one host (ms)", "min_gap_ms", [x.min_gap * 1000 for x in f], "{:.1f}")
    add("median gap, one host (ms)", "median_gap_ms", [x.median_gap * 1000 for x in f], "{:.1f}")
    add(f"gaps under the {delay * 1000:g} ms delay", "gaps_under_delay", [x.under_delay for x in f])
    add("wall seconds (process)", "wall_s", [r.wall for r in results], "{:.2f}")
    add("crawl span (first->last request)", "span_s", [x.span for x in f], "{:.2f}")
    add(
        "pages/s (process wall)",
        "pages_per_s",
        [x.pages / r.wall for x, r in zip(f, results, strict=True)],
        "{:.1f}",
    )
    add(
        "pages/s (crawl span)",
        "pages_per_s_span",
        [x.pages / x.span if x.span else 0.0 for x in f],
        "{:.1f}",
    )
    add("CPU seconds user+sys", "cpu_s", cpu, "{:.2f}")
    add(
        "  of which user / sys",
        "cpu_user_sys",
        [f"{r.cpu_user:.2f} / {r.cpu_sys:.2f}" for r in results],
    )
    add(
        "CPU ms per page",
        "cpu_ms_per_page",
        [c / x.pages * 1000 if x.pages else 0.0 for c, x in zip(cpu, f, strict=True)],
        "{:.2f}",
    )
    add(
        "cores busy (CPU / wall)",
        "cores_busy",
        [c / r.wall for c, r in zip(cpu, results, strict=True)],
        "{:.2f}",
    )
    add("peak RSS (MB)", "max_rss_mb", [r.max_rss_mb for r in results], "{:.0f}")
    add("articles stored / items written", "stored", [r.stored for r in results])
    add("titles exactly right", "titles_ok", [r.titles_ok for r in results])
    add(
        "server CPU s (its busy %)",
        "server_cpu",
        [f"{r.server_cpu:.2f} ({r.server_cpu / r.wall:.0%})" for r in results],
    )
    add("load average (1 min) before", "load_before", [r.load_before for r in results], "{:.2f}")
    width = max(len(label) for label, _ in rows)
    cols = [max(12, len(r.name)) for r in results]
    print(
        f"{'':<{width}}  " + "  ".join(f"{r.name:>{c}}" for r, c in zip(results, cols, strict=True))
    )
    for label, values in rows:
        print(
            f"{label:<{width}}  "
            + "  ".join(f"{v:>{c}}" for v, c in zip(values, cols, strict=True))
        )
    print(
        f"(expected pages: {expected}; delay bound: {len(sites)} hosts / {delay:g} s = "
        f"{len(sites) / delay:.0f} pages/s if a request took no time)"
    )
    for r in results:
        if r.extra:
            print(f"{r.name}: " + ", ".join(f"{k} {v}" for k, v in r.extra.items()))
        if r.exit_code:
            print(f"{r.name} stderr (last lines):\n" + "\n".join(r.stderr.splitlines()[-15:]))
    names = [r.name for r in results]
    for peer in ("scrapy", "scrapy+archiver"):
        if "archiver" not in names or peer not in names:
            continue
        a, s = numbers["archiver"], numbers[peer]
        print(
            "ratios: archiver/{} pages/s {:.2f} (process wall), {:.2f} (crawl span); "
            "CPU per page archiver/{} {:.2f} (below 1 = archiver uses less)".format(
                peer,
                float(a["pages_per_s"]) / float(s["pages_per_s"]),
                float(a["pages_per_s_span"]) / float(s["pages_per_s_span"]),
                peer,
                float(a["cpu_ms_per_page"]) / float(s["cpu_ms_per_page"]),
            )
        )
    return numbers


def summarize(rounds: Sequence[dict[str, dict[str, object]]]) -> None:
    """Each round's archiver/peer ratios, and their medians."""
    for peer in ("scrapy", "scrapy+archiver"):
        pairs = [
            (
                _ratio(r["archiver"]["pages_per_s"], r[peer]["pages_per_s"]),
                _ratio(r["archiver"]["cpu_ms_per_page"], r[peer]["cpu_ms_per_page"]),
            )
            for r in rounds
            if "archiver" in r and peer in r
        ]
        if not pairs:
            continue
        speed, cpu = zip(*pairs, strict=True)
        print(
            f"\nover {len(pairs)} rounds, archiver/{peer}: pages/s "
            + " ".join(f"{v:.2f}" for v in speed)
            + f" (median {statistics.median(speed):.2f}); CPU per page "
            + " ".join(f"{v:.2f}" for v in cpu)
            + f" (median {statistics.median(cpu):.2f}, below 1 = archiver uses less)"
        )


def _ratio(mine: object, theirs: object) -> float:
    assert isinstance(mine, float | int) and isinstance(theirs, float | int)
    return float(mine) / float(theirs) if theirs else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--articles", type=int, default=200, help="articles per site")
    parser.add_argument(
        "--delay", type=float, default=0.05, help="seconds between requests to a host"
    )
    parser.add_argument("--quick", action="store_true", help="10 sites x 50 articles")
    parser.add_argument(
        "--only", choices=("archiver", "scrapy", "scrapy+archiver"), help="run one crawler"
    )
    parser.add_argument(
        "--no-equal-work",
        action="store_true",
        help="leave out the scrapy+archiver run (Scrapy with archiver's parser and archive)",
    )
    parser.add_argument(
        "--order", choices=("archiver-first", "scrapy-first"), default="archiver-first"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the crawlers this many times, the order swapped each round, and report the "
        "median ratios (the machine's speed drifts between runs; a ratio within a round holds)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="untimed crawls by each crawler before the measured rounds (default 1): the first "
        "crawl of an invocation was often the slowest, and it was always archiver's",
    )
    parser.add_argument("--json", type=Path, help="also write every number here")
    parser.add_argument("--keep", type=Path, help="keep the configs, archive and feed here")
    args = parser.parse_args()
    if args.quick:
        args.sites, args.articles = 10, 50
    if not 1 <= args.sites <= 2500 or args.articles < 1:
        parser.error("--sites must be 1-2500 and --articles at least 1")
    if args.rounds < 1 or args.warmup < 0:
        parser.error("--rounds must be at least 1 and --warmup at least 0")

    started = time.monotonic()
    sites = [build_site(i, args.articles) for i in range(args.sites)]
    list_pages = max(1, -(-args.articles // PER_PAGE))
    expected = args.sites * (args.articles + list_pages)
    sizes = [len(b) for s in sites for p, b in s.responses.items() if p.startswith("/art/")]
    farm = Farm(sites)
    farm.start()
    print(
        f"{args.sites} sites x {args.articles} articles (+{list_pages} list pages each) = "
        f"{expected} pages; article pages {min(sizes) / 1024:.1f}-{max(sizes) / 1024:.1f} KB "
        f"(mean {statistics.mean(sizes) / 1024:.1f}); delay {args.delay:g} s, one request at a "
        f"time per host; generated in {time.monotonic() - started:.1f} s"
    )
    print(
        f"python {platform.python_version()}, archiver {version('archiver')}, scrapy "
        f"{version('scrapy')}, twisted {version('twisted')}; {os.cpu_count()} CPUs; load "
        "average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    )
    order = ["archiver", "scrapy"] if args.order == "archiver-first" else ["scrapy", "archiver"]
    if not args.no_equal_work:
        order.append("scrapy+archiver")
    if args.only:
        order = [args.only]
    base = Path(tempfile.mkdtemp(prefix="bench-crawl-"))
    rounds: list[dict[str, dict[str, object]]] = []
    failed = False
    try:
        for warm in range(args.warmup):
            for name in order:
                work = base / f"warmup{warm}-{name}"
                work.mkdir()
                if name == "archiver":
                    result = run_archiver(farm, work, args.delay, list_pages)
                else:
                    result = run_scrapy(farm, work, args.delay, name == "scrapy+archiver")
                cpu = (result.cpu_user + result.cpu_sys) / max(1, len(result.log)) * 1000
                print(f"warm-up {warm + 1}, {name}: {result.wall:.1f} s, {cpu:.2f} ms CPU a page")
                shutil.rmtree(work, ignore_errors=True)
        for round_no in range(args.rounds):
            # Swapped each round, so that neither crawler always runs on a warmer machine.
            names = order if round_no % 2 == 0 else [*order[:2][::-1], *order[2:]]
            if args.rounds > 1:
                print(f"\n== round {round_no + 1} of {args.rounds}: {', '.join(names)}")
            results = []
            for name in names:
                work = base / f"{round_no}-{name}"
                work.mkdir()
                if name == "archiver":
                    results.append(run_archiver(farm, work, args.delay, list_pages))
                else:
                    results.append(run_scrapy(farm, work, args.delay, name == "scrapy+archiver"))
            print()
            rounds.append(report(results, sites, args.delay, expected))
            failed = failed or any(r.exit_code != 0 for r in results)
        if args.rounds > 1:
            summarize(rounds)
        print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        self_cpu = resource.getrusage(resource.RUSAGE_SELF)
        own = self_cpu.ru_utime + self_cpu.ru_stime
        print(f"bench process CPU (server + generation): {own:.1f} s")
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "args": {k: str(v) for k, v in vars(args).items()},
                        "results": rounds[0] if args.rounds == 1 else rounds,
                    },
                    indent=2,
                    ensure_ascii=False,
                ),
                encoding="utf-8",
            )
        if args.keep:
            shutil.copytree(base, args.keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
