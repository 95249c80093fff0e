"""The fetching side of a crawl's workers: fetch one URL, touching no shared state.

Fetching threads take one task (one host) at a time and fetch it (``fetch_task``); a single
parsing thread, or process, parses what they bring (``parsing.parse_fetched``): see
``WorkerPool`` for a crawl in one process and procs.py for worker processes. Everything they
learn goes back to the scheduler as an ``Outcome``, and only the scheduler writes to the
archive. Tasks and outcomes are plain data, so they cross process boundaries as they are.
"""

from __future__ import annotations

import hashlib
import os
import queue
import re
import secrets
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from scraper.crawl.config import SiteConfig, json_list_of
from scraper.errors import ScraperError
from scraper.fetch import Fetcher, FetchSettings, tls_context
from scraper.models import AttachmentFile, FrontierItem, Page, TaskKind, VisitStatus
from scraper.urls import form_post

if TYPE_CHECKING:  # the fetching side never parses: these modules stay out of its processes
    from scraper.archive.prepare import Prepared
    from scraper.crawl.discover import Entry
    from scraper.models import Article
    from scraper.parse.links import Listing


@dataclass(frozen=True)
class Task:
    url: str
    kind: str  # a TaskKind
    site: SiteConfig
    settings: FetchSettings
    item: FrontierItem | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Outcome:
    task: Task
    page: Page | None = None
    error: ScraperError | None = None
    article: Article | None = None
    listing: Listing | None = None
    next_url: str | None = None
    entries: tuple[Entry, ...] = ()
    is_index: bool = False
    prepared: Prepared | None = None  # what the archive derives from page and article
    attachment: AttachmentFile | None = None  # an attachment's kind and text
    answered: float = 0.0  # time.time() when the fetch ended: the host's delay counts from it
    # An article's revisit answered with the site's "not found" page (and the parser agreed
    # it is no article): the host's page for a surely missing URL, or a short page saying so.
    missing: bool = False


class Fetchers:
    """A ``Fetcher`` per host (and fetch settings) for a process's worker threads.

    One client per host, not one for all: httpx's connection pool takes a lock shared by
    every request and, under it, checks each idle connection in the pool, so with many
    hosts the worker threads queued on that lock (a third of their time in a 50-host crawl).
    A host is fetched one request at a time, so its client is never contended. The clients
    share one TLS context, and the least recently used are closed past ``keep`` (open
    connections are file descriptors); ``keep`` is far above the number of requests in
    flight, so a client closed is never one in use.
    """

    def __init__(self, keep: int = 256) -> None:
        self._clients: OrderedDict[tuple[FetchSettings, str], Fetcher] = OrderedDict()
        self._tls: ssl.SSLContext | None = None
        self._keep = keep
        self._lock = threading.Lock()

    def get(self, settings: FetchSettings, url: str) -> Fetcher:
        key = (settings, urlsplit(url).netloc.lower())
        with self._lock:
            fetcher = self._clients.get(key)
            if fetcher is not None:
                self._clients.move_to_end(key)
                return fetcher
            if self._tls is None:
                self._tls = tls_context()
            fetcher = self._clients[key] = Fetcher(settings, tls=self._tls)
            while len(self._clients) > self._keep:
                self._clients.popitem(last=False)[1].close()
            return fetcher

    def close(self) -> None:
        with self._lock:
            for fetcher in self._clients.values():
                fetcher.close()
            self._clients.clear()


# What a crawl reads of a robots.txt (discover.ROBOTS_MAX_BYTES: not imported, so fetching
# processes stay free of the parsing modules).
ROBOTS_MAX_BYTES = 500 * 1024


def fetch_task(task: Task, fetcher: Fetcher) -> Outcome:
    """Only the fetch: the page, or the error, with when the answer came."""
    headers = dict(task.headers)
    try:
        if task.kind == TaskKind.ROBOTS:  # its first 500 KiB, however long it is (RFC 9309 2.5)
            page = fetcher.fetch_text(task.url, max_bytes=ROBOTS_MAX_BYTES, truncate=True)
        elif task.kind in (TaskKind.SITEMAP, TaskKind.FEED):
            page = fetcher.fetch_text(task.url, headers=headers)
        elif task.kind == TaskKind.ATTACHMENT:  # any file, as bytes, up to its own cap
            page = fetcher.fetch_file(task.url, max_bytes=task.site.max_attachment_bytes)
        elif task.kind == TaskKind.IMAGE:
            page = fetcher.fetch_file(task.url, max_bytes=task.site.max_image_bytes)
        elif task.kind == TaskKind.LIST and (
            json_list_of(task.site, task.url) is not None or form_post(task.url) is not None
        ):  # a JSON list answer, a Hanweb proxy's XML group: text, not HTML
            page = fetcher.fetch_text(task.url, headers=headers)
        else:
            page = fetcher.fetch(task.url, headers=headers)
    except ScraperError as exc:
        return Outcome(task, error=exc, answered=time.time())
    missing = False
    if revisits_article(task) and page.status == 200:
        missing = page_shape(page.text, page.final_url) == missing_shape(task, fetcher)
    return Outcome(task, page, answered=time.time(), missing=missing)


# ---------------------------------------------------------------- a site's "not found" page
# Many sites answer a missing page with their "not found" page and status 200 (a soft 404). A
# revisit of an archived article compares its answer with what the host serves for a URL that
# surely does not exist, fetched once per host (per worker process, so once a run).

_missing: dict[str, str | None] = {}  # host -> the shape of its not-found page (None: a real 404)
_missing_lock = threading.Lock()
_TAGS = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>|&\w+;|&#\w+;", re.S | re.I)
_NOISE = re.compile(r"[\d\s]+")
# What a short not-found page says (the fallback when the host's own page is not recognised).
MISSING_WORDS = (
    "该信息已删除",
    "信息已删除",
    "已被删除",
    "已删除",
    "页面不存在",
    "信息已过期",
    "您访问的页面不存在",
    "页面未找到",
    "找不到页面",
    "不存在或已",
    "404",
    "not found",
)
MISSING_TEXT_CHARS = 300  # a page with more visible text than this is not "short"
REVISITED = frozenset(
    {VisitStatus.OK, VisitStatus.NOT_MODIFIED, VisitStatus.NOT_ARTICLE, VisitStatus.FAILED}
)


def revisits_article(task: Task) -> bool:
    """A revisit of an article's URL by a local crawl (not its first visit): it may hold an
    archived article, or one found gone before."""
    item = task.item
    return task.kind == TaskKind.ARTICLE and item is not None and item.status in REVISITED


def visible_text(html: str) -> str:
    """A page's text without markup, scripts, digits or spaces: what its reader sees, with
    what changes between two answers of one not-found page (times, counters) left out."""
    return _NOISE.sub("", _TAGS.sub(" ", html))


def page_shape(html: str, url: str) -> str:
    """A page's normalised text, hashed; the asked-for address (which a not-found page may
    repeat) left out."""
    path = urlsplit(url).path
    text = html.replace(url, "")
    text = text.replace(path, "") if len(path) > 1 else text
    return hashlib.sha1(visible_text(text).encode()).hexdigest()


def says_missing(html: str) -> bool:
    """A short page that says it is gone (该信息已删除, 页面不存在 ... ``MISSING_WORDS``)."""
    text = _TAGS.sub(" ", html)
    short = _NOISE.sub("", text)
    if len(short) > MISSING_TEXT_CHARS:
        return False
    lowered = " ".join(text.split()).lower()
    return any(word in lowered for word in MISSING_WORDS)


def missing_shape(task: Task, fetcher: Fetcher) -> str | None:
    """The shape of the page ``task``'s host serves for a surely missing URL, learnt once:
    None when it answers such a URL with an error (as it should). Asked after the site's
    delay, so the host still gets one request at a time, spaced as configured."""
    parts = urlsplit(task.url)
    host = parts.netloc.lower()
    with _missing_lock:
        if host in _missing:
            return _missing[host]
    time.sleep(task.site.delay)
    probe = f"{parts.scheme}://{parts.netloc}/{secrets.token_hex(8)}-archiver-missing.html"
    try:
        page = fetcher.fetch(probe)
        shape = page_shape(page.text, page.final_url) if page.status == 200 else None
    except ScraperError:
        shape = None
    with _missing_lock:
        _missing[host] = shape
    return shape


class TaskQueue(Protocol):
    def get(self, block: bool = True, timeout: float | None = None) -> Task | None: ...


class OutcomeQueue(Protocol):
    def put(self, obj: Outcome, block: bool = True, timeout: float | None = None) -> None: ...


class WorkerPool:
    """``threads`` fetching threads and one parsing thread, taking tasks until a ``None`` each.

    A crawl's workers in its own process (``--processes 0``). Fetching waits on the network
    and parsing does not: the fetching threads only fetch, and one thread parses what they
    bring, so that only one thread at a time has CPU work for the interpreter lock.
    """

    def __init__(
        self,
        tasks: TaskQueue,
        results: OutcomeQueue,
        fetchers: Fetchers,
        threads: int,
        parse: Callable[[Outcome], Outcome],
    ) -> None:
        self._results = results
        self._parse = parse
        with _missing_lock:  # a run learns each host's not-found page afresh
            _missing.clear()
        self._fetched: queue.SimpleQueue[Outcome | None] = queue.SimpleQueue()
        self._fetching = threading.Thread(
            target=fetch_all, args=(tasks, self._fetched.put, fetchers, threads), daemon=True
        )
        self._parsing = threading.Thread(target=self._parse_loop, daemon=True)

    def start(self) -> None:
        self._fetching.start()
        self._parsing.start()

    def _parse_loop(self) -> None:
        while (fetched := self._fetched.get()) is not None:
            self._results.put(self._parse(fetched))


def fetch_all(
    tasks: TaskQueue,
    send: Callable[[Outcome | None], None],
    fetchers: Fetchers,
    threads: int,
    parent: int | None = None,
) -> None:
    """Run ``threads`` fetching threads (``fetch_loop``) until each has had its ``None``,
    then ``send`` a ``None`` after their outcomes: the parser's signal to stop."""
    pool = [
        threading.Thread(target=fetch_loop, args=(tasks, send, fetchers, parent), daemon=True)
        for _ in range(max(1, threads))
    ]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    send(None)


def fetch_loop(
    tasks: TaskQueue,
    send: Callable[[Outcome], None],
    fetchers: Fetchers,
    parent: int | None = None,
) -> None:
    """A fetching thread: take tasks until a ``None``, ``send`` each fetch's outcome. In a
    worker process (``parent`` set) it also stops once the crawl's process is gone."""
    while True:
        try:
            task = tasks.get(timeout=1.0)
        except queue.Empty:
            if parent is not None and os.getppid() != parent:
                return
            continue
        if task is None:
            return
        try:
            out = fetch_task(task, fetchers.get(task.settings, task.url))
        except Exception as exc:  # a bug must not stall the run: report it as a failure
            out = unexpected(task, exc)
        send(out)


def unexpected(task: Task, exc: Exception) -> Outcome:
    """A bug met while working on ``task``, as the task's failure."""
    error = ScraperError(f"unexpected {type(exc).__name__}: {exc}", url=task.url)
    return Outcome(task, error=error, answered=time.time())
