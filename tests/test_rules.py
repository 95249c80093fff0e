"""Crawl rules shared by the local crawl and the distributed workers: which links of a list
page are articles, what a sitemap or feed queues, which failures are the host's, how a site is
fetched and how long a failed URL waits, and how a run's figures are written."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from scraper.crawl.config import SiteConfig
from scraper.crawl.discover import Entry
from scraper.crawl.rules import (
    FAIL_BACKOFF,
    article_urls,
    entry_urls,
    failure_wait,
    fetch_settings,
    figures,
    host_failure,
    is_article_link,
    sitemap_count_note,
    sitemap_depth_note,
    summary_line,
)
from scraper.errors import (
    BlockedError,
    DisallowedError,
    FetchError,
    HTTPStatusError,
    ParseError,
    ScraperError,
)
from scraper.fetch import DEFAULT_USER_AGENT
from scraper.models import NewUrl
from scraper.parse.links import Link

HOST = "www.example.gov.cn"
LIST = f"http://{HOST}/xwdt/index.html"
HEADLINE = "关于做好春季农业生产工作的通知"  # reads like a headline: five characters or more


def site(**kw: object) -> SiteConfig:
    values: dict[str, object] = {
        "name": "gov",
        "start_urls": (LIST,),
        "allowed_hosts": (HOST, "feeds.example.gov.cn"),
    }
    values.update(kw)
    return SiteConfig(**values)  # type: ignore[arg-type]


# ------------------------------------------------------------------ list pages


def test_a_headline_link_on_the_site_is_an_article() -> None:
    url = f"http://{HOST}/xwdt/202401/t20240105_1.html"
    assert is_article_link(site(), Link(url, HEADLINE), LIST)
    assert is_article_link(site(), Link(url.replace(HOST, HOST.upper()), HEADLINE), LIST)


def test_without_patterns_five_characters_of_anchor_text_make_a_headline() -> None:
    url = f"http://{HOST}/xwdt/202401/t20240105_1.html"
    assert is_article_link(site(), Link(url, "春耕备耕忙"), LIST)  # five
    assert not is_article_link(site(), Link(url, "更多新闻"), LIST)  # four
    assert not is_article_link(site(), Link(url, ""), LIST)


@pytest.mark.parametrize(
    "url",
    [
        f"http://{HOST}/xwdt/202401/P020240105.pdf",  # not a page
        f"ftp://{HOST}/xwdt/a.html",  # not the web
        "http://www.other.gov.cn/xwdt/t20240105_1.html",  # another site
        LIST,  # the list itself
        f"http://{HOST}/xwdt/index_2.html",  # the list's next page
        f"http://{HOST}/xwdt/index.html?page=x",  # the list again, same family
        f"http://{HOST}/zwgk/index.html",  # another list (no patterns: looks like one)
        f"http://{HOST}/zwgk/",  # a channel
    ],
)
def test_what_is_not_an_article_link(url: str) -> None:
    assert not is_article_link(site(), Link(url, HEADLINE), LIST)


def test_start_urls_are_lists_not_articles() -> None:
    other = f"http://{HOST}/tzgg/t20240105_1.html"
    assert is_article_link(site(), Link(other, HEADLINE), LIST)
    assert not is_article_link(site(start_urls=(LIST, other)), Link(other, HEADLINE), LIST)


def test_article_patterns_decide_when_a_site_has_them() -> None:
    s = site(article_patterns=(r"/t\d{8}_\d+\.html$",))
    base = f"http://{HOST}/xwdt/202401/"
    assert is_article_link(s, Link(base + "t20240105_1.html", "短"), LIST)  # text not needed
    assert not is_article_link(s, Link(base + "a20240105_1.html", HEADLINE), LIST)


def test_pagination_patterns_are_never_articles() -> None:
    url = f"http://{HOST}/xwdt/202401/t20240105_1.html"
    s = site(pagination_patterns=(r"/202401/",))
    assert not is_article_link(s, Link(url, HEADLINE), LIST)
    s = site(pagination_patterns=(r"/202401/",), article_patterns=(r"t\d+_\d+",))
    assert not is_article_link(s, Link(url, HEADLINE), LIST)


def test_article_urls_are_canonical_frontier_entries_of_the_site() -> None:
    links = [
        Link(f"HTTP://{HOST}/xwdt/t1.html?id=5&sessionid=x&utm_source=wx", HEADLINE, "2024-01-05"),
        Link(f"http://{HOST}/xwdt/index_2.html", "下一页下一页"),
        Link(f"http://{HOST}/xwdt/t2.html#top", HEADLINE),
    ]
    assert article_urls(site(strip_params=("sessionid",)), links, LIST) == [
        NewUrl(f"http://{HOST}/xwdt/t1.html?id=5", "gov", "article", lastmod="2024-01-05"),
        NewUrl(f"http://{HOST}/xwdt/t2.html", "gov", "article"),
    ]


# ------------------------------------------------------------------ sitemaps and feeds


def test_an_index_queues_its_sitemaps_one_level_deeper_whatever_the_patterns() -> None:
    s = site(article_patterns=(r"/t\d+\.html$",), strip_params=("sid",))
    entries = [
        Entry(f"http://{HOST}/sitemap_1.xml?sid=1", "2024-01-05"),
        Entry("http://feeds.example.gov.cn/sitemap_2.xml"),
        Entry("http://elsewhere.example.com/sitemap_3.xml"),  # not the site's
        Entry(f"http://{HOST}/sitemap_4.pdf"),  # not crawlable
    ]
    assert entry_urls(s, entries, is_index=True, depth=1) == [
        NewUrl(f"http://{HOST}/sitemap_1.xml", "gov", "sitemap", 2, lastmod="2024-01-05"),
        NewUrl("http://feeds.example.gov.cn/sitemap_2.xml", "gov", "sitemap", 2),
    ]


def test_an_index_as_deep_as_sitemaps_may_go_queues_nothing() -> None:
    s = site(max_sitemap_depth=2)
    entries = [Entry(f"http://{HOST}/sitemap_1.xml")]
    assert entry_urls(s, entries, is_index=True, depth=2) == []
    assert entry_urls(s, entries, is_index=True, depth=3) == []
    assert entry_urls(s, entries, is_index=True, depth=1) == [
        NewUrl(f"http://{HOST}/sitemap_1.xml", "gov", "sitemap", 2)
    ]
    assert entry_urls(site(max_sitemap_depth=0), entries, is_index=True) == []


def test_an_index_queues_at_most_max_sitemaps_but_articles_are_not_capped() -> None:
    entries = [Entry(f"http://{HOST}/t{i}.html") for i in range(5)]
    s = site(max_sitemaps=3)
    assert [u.url for u in entry_urls(s, entries, is_index=True)] == [
        f"http://{HOST}/t{i}.html" for i in range(3)
    ]
    assert len(entry_urls(s, entries, is_index=False)) == 5


def test_a_sitemap_queues_its_articles_matching_the_patterns_at_depth_0() -> None:
    entries = [
        Entry(f"http://{HOST}/xwdt/t1.html", "2024-01-05"),
        Entry(f"http://{HOST}/xwdt/about.html"),
        Entry("http://elsewhere.example.com/xwdt/t2.html"),
    ]
    s = site(article_patterns=(r"/t\d+\.html$",))
    assert entry_urls(s, entries, is_index=False, depth=2) == [
        NewUrl(f"http://{HOST}/xwdt/t1.html", "gov", "article", 0, lastmod="2024-01-05")
    ]
    assert [u.url for u in entry_urls(site(), entries, is_index=False)] == [
        f"http://{HOST}/xwdt/t1.html",
        f"http://{HOST}/xwdt/about.html",
    ]


def test_the_notes_say_which_bound_was_reached() -> None:
    s = site(max_sitemap_depth=4, max_sitemaps=25)
    assert sitemap_depth_note(s) == (
        "sitemaps nested deeper than max_sitemap_depth = 4 are not followed"
    )
    assert sitemap_count_note(s) == "max_sitemaps = 25 reached: further sitemaps are not followed"


# ------------------------------------------------------------------ failures


@pytest.mark.parametrize(
    ("error", "host_trouble"),
    [
        (None, False),
        (ParseError("no article"), False),
        (ScraperError("other"), False),
        (DisallowedError("private address", status=None), False),
        (BlockedError("refused", status=403), True),
        (BlockedError("refused", status=None), True),
        (FetchError("connection refused", status=None), True),
        (HTTPStatusError("server error", status=500), True),
        (HTTPStatusError("bad gateway", status=503), True),
        (HTTPStatusError("too many requests", status=429), True),
        (HTTPStatusError("not found", status=404), False),
        (HTTPStatusError("forbidden", status=403), False),
        (HTTPStatusError("unavailable for legal reasons", status=451), False),
        (HTTPStatusError("client closed request", status=499), False),
        (HTTPStatusError("too many", status=430), False),
        (HTTPStatusError("odd", status=428), False),
    ],
    ids=repr,
)
def test_which_failures_say_the_host_is_in_trouble(
    error: ScraperError | None, host_trouble: bool
) -> None:
    assert host_failure(error) is host_trouble


def test_a_failed_url_waits_ten_minutes_doubling_with_each_failure() -> None:
    s = site(revisit_after=10**9)
    assert FAIL_BACKOFF == 600.0
    err = FetchError("timeout")
    assert [failure_wait(s, err, n) for n in range(4)] == [600.0, 1200.0, 2400.0, 4800.0]
    assert failure_wait(s, err, 10) == 600.0 * 1024
    assert failure_wait(s, err, 11) == 600.0 * 1024  # the doubling stops at ten failures
    assert failure_wait(s, err, 30) == 600.0 * 1024


def test_the_wait_is_capped_at_the_revisit_interval_or_a_minute() -> None:
    err = FetchError("timeout")
    assert failure_wait(site(revisit_after=1000.0), err, 1) == 1000.0
    assert failure_wait(site(revisit_after=1000.0), err, 0) == 600.0
    assert failure_wait(site(revisit_after=10.0), err, 0) == 60.0
    assert failure_wait(site(revisit_after=60.0), err, 3) == 60.0
    assert failure_wait(site(revisit_after=61.0), err, 3) == 61.0


@pytest.mark.parametrize(
    "error",
    [
        HTTPStatusError("not found", status=404),
        HTTPStatusError("gone", status=410),
        ParseError("no article"),
    ],
    ids=repr,
)
def test_a_gone_or_unparseable_page_waits_the_revisit_interval(error: ScraperError) -> None:
    assert failure_wait(site(revisit_after=86400.0), error, 0) == 86400.0
    assert failure_wait(site(revisit_after=30.0), error, 5) == 30.0
    other = HTTPStatusError("server error", status=500)
    assert failure_wait(site(revisit_after=86400.0), other, 0) == 600.0


def test_a_site_is_fetched_with_its_agent_timeouts_retries_and_address_rule() -> None:
    s = site(user_agent="gov-bot/1.0", timeout=45.0, retries=4, allow_private=True)
    settings = fetch_settings(s)
    assert settings.user_agent == "gov-bot/1.0"
    assert (settings.connect_timeout, settings.read_timeout, settings.total_timeout) == (
        10.0,
        30.0,
        45.0,
    )
    assert (settings.retries, settings.allow_private) == (4, True)
    short = fetch_settings(site(timeout=5.0))
    assert (short.connect_timeout, short.read_timeout, short.total_timeout) == (5.0, 5.0, 5.0)
    mid = fetch_settings(site(timeout=20.0))
    assert (mid.connect_timeout, mid.read_timeout, mid.total_timeout) == (10.0, 20.0, 20.0)
    default = fetch_settings(site())
    assert default.user_agent == DEFAULT_USER_AGENT
    assert (default.retries, default.allow_private) == (2, False)


# ------------------------------------------------------------------ run figures


@dataclass
class Figures:
    found: int = 12
    new: int = 5
    changed: int = 2
    unchanged: int = 3
    not_modified: int = 1
    failed: int = 1
    pages: int = 14
    seconds: float = 3.14159
    outcome: str = "ok"


def test_the_summary_line_has_every_count_and_says_why_a_run_stopped() -> None:
    line = "found 12, new 5, changed 2, unchanged 3, not modified 1, failed 1, 3.1s"
    assert summary_line(Figures()) == line
    assert summary_line(Figures(outcome="time limit")) == f"{line} (stopped: time limit)"


def test_figures_are_the_runs_row_with_seconds_to_the_millisecond() -> None:
    row = {
        "found": 12,
        "new": 5,
        "changed": 2,
        "unchanged": 3,
        "not_modified": 1,
        "failed": 1,
        "pages": 14,
    }
    assert figures(Figures()) == {**row, "seconds": 3.142}
    assert figures(Figures(), seconds=2.00049) == {**row, "seconds": 2.0}
    assert figures(Figures(), seconds=0.0) == {**row, "seconds": 0.0}


def test_a_configured_sitemap_index_is_depth_0_so_its_sitemaps_are_depth_1() -> None:
    entries = [Entry(f"http://{HOST}/sitemap_1.xml")]
    assert entry_urls(site(max_sitemap_depth=1), entries, is_index=True) == [
        NewUrl(f"http://{HOST}/sitemap_1.xml", "gov", "sitemap", 1)
    ]
