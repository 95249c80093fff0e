"""One behaviour, two frontiers: the archive's (SQLite) and the distributed crawl's (PostgreSQL).

Every test here runs on both through the ``Frontier`` protocol (crawl/frontier.py), so what a
local crawl and the distributed workers schedule from cannot drift apart. The PostgreSQL
cases start a throwaway server as tests/test_distributed.py does, and skip without one.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scraper.archive import Archive
from scraper.crawl.config import SiteConfig
from scraper.crawl.decide import (
    entry_plan,
    list_news,
    next_list_page,
    revisit,
    seeds,
    stamp,
)
from scraper.crawl.discover import Entry
from scraper.crawl.frontier import Frontier
from scraper.crawl.rules import FAIL_BACKOFF, article_urls, fetch_settings
from scraper.crawl.worker import Outcome, Task
from scraper.errors import DisallowedError, FetchError
from scraper.models import (
    FrontierItem,
    HostState,
    NewUrl,
    Page,
    TaskKind,
    Visit,
    VisitStatus,
)
from scraper.parse.links import Link, Listing

HOST = "news.example.gov.cn"
BASE = f"http://{HOST}"
SITE = SiteConfig(
    name="news",
    start_urls=(f"{BASE}/list/",),
    allowed_hosts=(HOST,),
    delay=0.0,
    revisit_after=3600.0,
    stop_after_unchanged=2,
    max_list_pages=5,
)
T0 = 1_800_000_000.0  # a fixed clock: every time below is T0 plus seconds


def at(seconds: float = 0.0) -> str:
    return stamp(T0 + seconds)


_dbs = itertools.count()


@pytest.fixture(scope="module")
def pg_server() -> Iterator[Any]:
    pytest.importorskip("psycopg")
    from .test_distributed import BINDIR, PgServer

    if BINDIR is None:
        pytest.skip("no PostgreSQL server binaries")
    server = PgServer(BINDIR)
    server.start()
    yield server
    server.remove()


@pytest.fixture(params=["sqlite", "postgresql"])
def frontier(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Frontier]:
    if request.param == "sqlite":
        archive = Archive.open(tmp_path / "archive.db")
        yield archive
        archive.close()
        return
    from scraper.crawl.frontier_pg import PgFrontier

    server = request.getfixturevalue("pg_server")
    with PgFrontier.connect(server.create_db(f"frontier_suite{next(_dbs)}")) as pg:
        yield pg


def as_frontier(frontier: Frontier) -> Frontier:
    """Typed to take the protocol: both backends are passed to it."""
    return frontier


def due(frontier: Frontier, seconds: float = 0.0, **kw: Any) -> list[str]:
    return [i.url for i in frontier.frontier_due(HOST, ["news"], at(seconds), limit=50, **kw)]


def item(frontier: Frontier, url: str, seconds: float = 0.0) -> FrontierItem:
    found = [
        i for i in frontier.frontier_due(HOST, ["news"], at(seconds), limit=50) if i.url == url
    ]
    assert found, f"{url} not due"
    return found[0]


def article(n: int, lastmod: str | None = None) -> NewUrl:
    return NewUrl(f"{BASE}/a/{n}.html", "news", TaskKind.ARTICLE, lastmod=lastmod)


# ---------------------------------------------------------------- adding URLs


def test_both_backends_are_frontiers(frontier: Frontier) -> None:
    assert as_frontier(frontier) is frontier


def test_add_returns_new_urls_once(frontier: Frontier) -> None:
    assert sorted(frontier.frontier_add([article(1), article(2), article(1)], at())) == [
        f"{BASE}/a/1.html",
        f"{BASE}/a/2.html",
    ]
    assert frontier.frontier_add([article(1), article(3)], at(1)) == [f"{BASE}/a/3.html"]
    assert sorted(due(frontier, 1)) == [f"{BASE}/a/{n}.html" for n in (1, 2, 3)]


def test_seeds_are_canonical_and_deduplicated(frontier: Frontier) -> None:
    site = SiteConfig(
        name="news",
        start_urls=(f"HTTP://{HOST.upper()}/list/", f"{BASE}/list/#top", f"{BASE}/list/"),
        feeds=(f"{BASE}/rss.xml",),
        allowed_hosts=(HOST,),
        strip_params=("from",),
    )
    added = frontier.frontier_add(seeds([site]), at())
    assert sorted(added) == [f"{BASE}/list/", f"{BASE}/rss.xml"]
    links = [
        Link(f"{BASE}/a/1.html?from=home", "一篇足够长的新闻标题"),
        Link(f"{BASE}/a/1.html", "同一篇文章的另一链接"),
    ]
    urls = article_urls(site, links, f"{BASE}/list/")
    assert frontier.frontier_add(urls, at()) == [f"{BASE}/a/1.html"]


def test_known_url_due_again_when_newer_or_due(frontier: Frontier) -> None:
    frontier.frontier_add([article(1, "2026-01-01")], at())
    frontier.frontier_done(f"{BASE}/a/1.html", Visit(VisitStatus.OK, at(), at(3600)))
    assert due(frontier, 10) == []
    frontier.frontier_add([article(1, "2025-12-31")], at(10))  # older date: stays put
    assert due(frontier, 10) == []
    frontier.frontier_add([article(1, "2026-02-01")], at(20))  # newer: due now
    assert due(frontier, 20) == [f"{BASE}/a/1.html"]
    assert item(frontier, f"{BASE}/a/1.html", 20).lastmod == "2026-02-01"

    seed = NewUrl(f"{BASE}/list/", "news", TaskKind.LIST, due=True)
    frontier.frontier_add([seed], at(30))
    frontier.frontier_done(seed.url, Visit(VisitStatus.OK, at(30), at(3600)))
    assert seed.url not in due(frontier, 40)
    assert frontier.frontier_add([seed], at(40)) == []  # known, but a start URL is due again
    assert seed.url in due(frontier, 40)


# ---------------------------------------------------------------- due order and filters


def test_due_order_lists_first_then_depth_then_time(frontier: Frontier) -> None:
    frontier.frontier_add([article(1)], at(0))
    frontier.frontier_add([NewUrl(f"{BASE}/list/?p=2", "news", TaskKind.LIST, 1)], at(1))
    frontier.frontier_add([NewUrl(f"{BASE}/sitemap.xml", "news", TaskKind.SITEMAP)], at(3))
    frontier.frontier_add([NewUrl(f"{BASE}/list/", "news", TaskKind.LIST)], at(2))
    frontier.frontier_add([article(2)], at(-1))
    assert due(frontier, 0.5) == [f"{BASE}/a/2.html", f"{BASE}/a/1.html"]
    assert due(frontier, 5) == [
        f"{BASE}/list/",
        f"{BASE}/sitemap.xml",
        f"{BASE}/list/?p=2",
        f"{BASE}/a/2.html",
        f"{BASE}/a/1.html",
    ]
    assert [i.url for i in frontier.frontier_due(HOST, ["news"], at(5), limit=2)] == [
        f"{BASE}/list/",
        f"{BASE}/sitemap.xml",
    ]
    assert frontier.frontier_due(HOST, ["other"], at(5)) == []
    assert frontier.frontier_hosts_due(["news"], at(5)) == [HOST]
    assert frontier.frontier_hosts_due(["news"], at(-5)) == []


def test_due_filters_since_and_fetched_before(frontier: Frontier) -> None:
    frontier.frontier_add([article(1, "2025-06-01"), article(2, "2026-03-01"), article(3)], at())
    assert sorted(due(frontier, 1, since="2026-01-01")) == [
        f"{BASE}/a/2.html",
        f"{BASE}/a/3.html",
    ]
    frontier.frontier_done(f"{BASE}/a/3.html", Visit(VisitStatus.FAILED, at(2), at(2), failed=True))
    assert f"{BASE}/a/3.html" not in due(frontier, 3, fetched_before=at(1))
    assert f"{BASE}/a/3.html" in due(frontier, 3, fetched_before=at(5))


# ---------------------------------------------------------------- visits


def test_done_failed_and_retried(frontier: Frontier) -> None:
    url = f"{BASE}/a/1.html"
    frontier.frontier_add([article(1)], at())
    for n in range(3):
        frontier.frontier_done(
            url, Visit(VisitStatus.FAILED, at(n * 100), at(n * 100 + 50), failed=True, error="boom")
        )
        assert url not in due(frontier, n * 100 + 49)
        got = item(frontier, url, n * 100 + 50)
        assert (got.status, got.failures) == (VisitStatus.FAILED, n + 1)
    frontier.frontier_done(
        url, Visit(VisitStatus.OK, at(300), at(3900), etag='"e1"', last_modified="Mon")
    )
    got = item(frontier, url, 3900)
    assert (got.status, got.failures, got.etag, got.last_modified) == ("ok", 0, '"e1"', "Mon")
    frontier.frontier_done(url, Visit(VisitStatus.NOT_MODIFIED, at(3900), at(7500)))
    got = item(frontier, url, 7500)  # a visit without validators keeps the stored ones
    assert (got.status, got.etag, got.last_modified) == ("not_modified", '"e1"', "Mon")


def test_host_state_round_trip(frontier: Frontier) -> None:
    assert frontier.host_state(HOST) is None
    state = HostState(HOST, "User-agent: *\nDisallow: /x", 200, at(), at(60), 2.5, 1)
    with frontier.crawl_transaction():
        frontier.host_save(state)
    assert frontier.host_state(HOST) == state
    bare = HostState(HOST)
    frontier.host_save(bare)
    assert frontier.host_state(HOST) == bare


# ---------------------------------------------------------------- the shared decisions


def outcome(url: str, kind: TaskKind, status: int = 200, **kw: Any) -> Outcome:
    page = Page(
        url, url, status, b"<html></html>", "<html></html>", "utf-8", headers=(("ETag", '"v1"'),)
    )
    row = FrontierItem(url, "news", HOST, kind, 0, "pending", 0, None, None, None)
    task = Task(url, kind, SITE, fetch_settings(SITE), row)
    return Outcome(task, page, **kw)


def apply(frontier: Frontier, out: Outcome, chain: int, now: float) -> tuple[list[str], int | None]:
    """What a list page's outcome writes, through the frontier: the page's row, its articles
    and its next page (what both crawlers do with ``decide``)."""
    assert out.task.item is not None and out.page is not None and out.listing is not None
    row = revisit(out, SITE, out.task.item.failures)
    candidates = article_urls(SITE, out.listing.links, out.page.final_url)
    added = frontier.frontier_add(candidates, stamp(now))
    news, all_old = list_news(candidates, set(added), None)
    follow = next_list_page(
        SITE, out.task.item.depth, chain, out.next_url, news=news, all_old=all_old
    )
    if follow is not None:
        frontier.frontier_add([follow.url], stamp(now))
    frontier.frontier_done(out.task.url, row.visit(now))
    return sorted(added), None if follow is None else follow.chain


def test_list_page_decisions_through_the_frontier(frontier: Frontier) -> None:
    list_url = f"{BASE}/list/"
    frontier.frontier_add(seeds([SITE]), at())
    links = tuple(Link(f"{BASE}/a/{n}.html", f"第{n}篇很长的新闻标题") for n in (1, 2))
    out = outcome(list_url, TaskKind.LIST, listing=Listing(links), next_url=f"{BASE}/list/?p=2")
    added, chain = apply(frontier, out, 0, T0 + 1)
    assert (added, chain) == ([f"{BASE}/a/1.html", f"{BASE}/a/2.html"], 0)
    assert due(frontier, 2) == [f"{BASE}/list/?p=2", f"{BASE}/a/1.html", f"{BASE}/a/2.html"]
    assert item(frontier, f"{BASE}/list/?p=2", 2).depth == 1
    seen = frontier.frontier_due(HOST, ["news"], at(3601), limit=50)
    row = next(i for i in seen if i.url == list_url)
    assert (row.status, row.etag, row.next_url) == ("ok", '"v1"', f"{BASE}/list/?p=2")

    # the same links again bring nothing new: the chain grows until the list stops
    again = outcome(list_url, TaskKind.LIST, listing=Listing(links), next_url=f"{BASE}/list/?p=2")
    assert apply(frontier, again, 0, T0 + 2) == ([], 1)
    assert apply(frontier, again, 1, T0 + 3) == ([], None)


def test_visit_decisions_through_the_frontier(frontier: Frontier) -> None:
    urls = [f"{BASE}/a/{n}.html" for n in range(4)]
    frontier.frontier_add([article(n) for n in range(4)], at())
    refused = DisallowedError("redirected to 10.0.0.1")
    gone = FetchError("HTTP 404", status=404)
    cases = [
        Outcome(outcome(urls[0], TaskKind.ARTICLE).task, error=FetchError("timed out")),
        Outcome(outcome(urls[1], TaskKind.ARTICLE).task, error=refused),
        Outcome(outcome(urls[2], TaskKind.ARTICLE).task, error=gone),
        outcome(urls[3], TaskKind.ARTICLE, status=304),
    ]
    for out in cases:
        frontier.frontier_done(out.task.url, revisit(out, SITE, 0).visit(T0))
    rows = {i.url: i for i in frontier.frontier_due(HOST, ["news"], at(1e6), limit=50)}
    assert [(rows[u].status, rows[u].failures) for u in urls] == [
        ("failed", 1),
        ("disallowed", 0),
        ("failed", 1),
        ("not_modified", 0),
    ]
    # due again: a timeout after its backoff (capped at the revisit interval), the rest later
    assert due(frontier, min(FAIL_BACKOFF, SITE.revisit_after)) == [urls[0]]
    assert sorted(due(frontier, SITE.revisit_after)) == urls


def test_sitemap_index_decisions_through_the_frontier(frontier: Frontier) -> None:
    site = SiteConfig(name="news", start_urls=(), allowed_hosts=(HOST,), max_sitemaps=2)
    index = f"{BASE}/sitemap.xml"
    entries = tuple(Entry(f"{BASE}/sitemap-{n}.xml", None) for n in range(3))
    row = FrontierItem(index, "news", HOST, TaskKind.SITEMAP, 0, "pending", 0, None, None, None)
    out = Outcome(
        Task(index, TaskKind.SITEMAP, site, fetch_settings(site), row),
        entries=entries,
        is_index=True,
    )
    plan = entry_plan(site, out, 0)
    assert plan.note is not None and "max_sitemaps = 2" in plan.note
    assert sorted(frontier.frontier_add(plan.urls, at())) == [
        f"{BASE}/sitemap-0.xml",
        f"{BASE}/sitemap-1.xml",
    ]
    assert {i.depth for i in frontier.frontier_due(HOST, ["news"], at(1), limit=9)} == {1}
    deep = Outcome(out.task, entries=entries, is_index=True)
    assert entry_plan(site, deep, site.max_sitemap_depth).urls == []


def test_stamps_sort_as_time() -> None:
    times = [T0 - 1.5, T0, T0 + 0.000001, T0 + 59.9999996, T0 + 86400]
    assert sorted(stamp(t) for t in times) == [stamp(t) for t in times]


# ---------------------------------------------------------------- drifts fixed


def test_local_chain_follows_canonical_next_pages(tmp_path: Path) -> None:
    """A next page whose link is not in canonical form still counts toward
    ``stop_after_unchanged``: the run keeps its chain under the URL the frontier hands back."""
    from scraper.crawl.results import Counts, Results

    site = SiteConfig(
        name="news",
        start_urls=(f"{BASE}/list/",),
        allowed_hosts=(HOST,),
        strip_params=("from",),
        stop_after_unchanged=2,
    )
    with Archive.open(tmp_path / "archive.db") as archive:
        archive.frontier_add(seeds([site]), at())
        results = Results(
            archive, Counts(), since=None, activate=lambda h: None, note=lambda s, n: None
        )
        url, followed = f"{BASE}/list/", []
        for n in range(1, 5):
            listed = archive.frontier_get(url)
            assert listed is not None
            row = FrontierItem(
                url, "news", HOST, TaskKind.LIST, listed.depth, "pending", 0, None, None, None
            )
            page = Page(url, url, 200, b"", "", "utf-8")
            nxt = f"http://{HOST.upper()}/list/?p={n + 1}&from=home"
            task = Task(url, TaskKind.LIST, site, fetch_settings(site), row)
            results.page_done(Outcome(task, page, listing=Listing(()), next_url=nxt))
            url = f"{BASE}/list/?p={n + 1}"
            if archive.frontier_get(url) is None:
                break
            followed.append(url)
        assert followed == [f"{BASE}/list/?p=2"]  # page 1 and page 2 brought nothing: stop


class _Tx:
    """What ``_Plan.apply`` writes, recorded instead of sent to PostgreSQL."""

    def __init__(self) -> None:
        self.finished: list[tuple[Any, ...]] = []
        self.pushed: list[tuple[str, bytes]] = []

    def finish_url(self, status: str, due_in: float, **kw: Any) -> bool:
        self.finished.append((status, due_in, kw.get("failed"), kw.get("error")))
        return True

    def add(self, urls: Any, chain: int = 0) -> list[str]:
        return [u.url for u in urls]

    def push(self, kind: str, url: str, payload: bytes, content: bytes | None) -> None:
        self.pushed.append((kind, payload))

    def release_host(self, delay: float, **kw: Any) -> None:
        pass


def test_distributed_refused_redirect_is_disallowed_not_failed() -> None:
    """As in a local crawl: a redirect to a private address leaves the URL ``disallowed``
    until its revisit, not ``failed`` and retried after a backoff; the ingest counts no
    failure for it."""
    pytest.importorskip("psycopg")
    from scraper.crawl.distributed.complete import _plan
    from scraper.crawl.frontier_pg import Candidate, Claim

    url = f"{BASE}/a/1.html"
    cand = Candidate(
        url,
        "news",
        HOST,
        "article",
        0,
        0,
        0,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        1.0,
        0,
    )
    task = Task(url, TaskKind.ARTICLE, SITE, fetch_settings(SITE))
    plan = _plan(
        Claim("t", "w", cand, robots=False),
        Outcome(task, error=DisallowedError("to 10.0.0.1")),
        SITE,
    )
    tx = _Tx()
    plan.apply(tx)  # type: ignore[arg-type]
    assert tx.finished == [("disallowed", SITE.revisit_after, False, "to 10.0.0.1")]
    assert [kind for kind, _ in tx.pushed] == ["attempts"]
    assert b'"disallowed": true' in tx.pushed[0][1]
    assert not plan.failed
