"""Discovery rules on strings: robots.txt, sitemaps, feeds, pagination URLs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.crawl.config import SiteConfig
from scraper.crawl.discover import (
    ROBOTS_MAX_BYTES,
    Entry,
    Robots,
    is_crawlable,
    is_pagination_of,
    iso_date,
    looks_like_list,
    older_than,
    page_family,
    page_number,
    parse_feed,
    parse_sitemap,
    robots_for_status,
    robots_head,
    robots_url,
    script_next_page,
)
from scraper.crawl.rules import entry_urls
from scraper.errors import ParseError
from scraper.urls import absolute

AGENT = "archiver/0.1.0 (+https://example.org; archiving)"


def test_robots_disallow_crawl_delay_and_sitemaps() -> None:
    robots = Robots(
        "User-agent: *\nDisallow: /private/\nCrawl-delay: 2.5\n"
        "Sitemap: https://x.gov.cn/sitemap.xml\n"
    )
    assert robots.allows("https://x.gov.cn/art/1.html", AGENT)
    assert not robots.allows("https://x.gov.cn/private/1.html", AGENT)
    assert robots.crawl_delay(AGENT) == 2.5  # fractions too (the stdlib reads whole seconds)
    assert robots.sitemaps() == ("https://x.gov.cn/sitemap.xml",)


def test_robots_group_for_archiver_wins_over_star() -> None:
    robots = Robots("User-agent: archiver\nDisallow: /\n\nUser-agent: *\nDisallow:\n")
    assert not robots.allows("https://x.gov.cn/a.html", AGENT)
    assert robots.allows("https://x.gov.cn/a.html", "OtherBot/1.0")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2.5", 2.5), ("-5", 0.0), ("inf", 86400.0), ("1e300", 86400.0), ("nan", None)],
)
def test_crawl_delay_is_a_finite_number_of_seconds(value: str, expected: float | None) -> None:
    """A hostile or broken Crawl-delay must not overflow the times a crawl stores."""
    assert Robots(f"User-agent: *\nCrawl-delay: {value}\n").crawl_delay(AGENT) == expected


@pytest.mark.parametrize(
    "value",
    [
        "Mon, 31 Dec 9999 23:59:59 -1200",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "2022-02-30 whenever",
    ],
)
def test_a_date_past_the_calendar_is_unreadable(value: str) -> None:
    """In a feed or sitemap, the first three made the whole file fail (OverflowError)."""
    assert iso_date(value) is None


def test_robots_status_meanings() -> None:
    assert robots_for_status(404, None).allows("https://x/a", AGENT)
    assert not robots_for_status(403, None).allows("https://x/a", AGENT)
    assert robots_for_status(200, "").allows("https://x/a", AGENT)
    assert robots_url("https://x.gov.cn:8443/a/b.html?q=1") == "https://x.gov.cn:8443/robots.txt"


def test_only_the_first_500_kib_of_robots_txt_are_read() -> None:
    top = "User-agent: *\nDisallow: /private/\n"
    junk = "# " + "x" * 98 + "\n"
    text = top + junk * (ROBOTS_MAX_BYTES // len(junk) + 100) + "User-agent: *\nDisallow: /\n"
    head = robots_head(text)
    assert head.startswith(top) and head.endswith("\n") and len(head) <= ROBOTS_MAX_BYTES
    robots = robots_for_status(200, text)  # a long text is cut the same way
    assert robots.text == head
    assert not robots.allows("https://x.gov.cn/private/1.html", AGENT)
    assert robots.allows("https://x.gov.cn/art/1.html", AGENT)  # the Disallow: / is past it
    # a body cut at the cap (as fetched) loses its broken last line: "Allow: /" of
    # "Allow: /news/" would allow everything
    cut = "User-agent: *\nDisallow: /\nAllow: /"
    assert robots_head(cut, ROBOTS_MAX_BYTES) == "User-agent: *\nDisallow: /\n"
    assert robots_head(cut, ROBOTS_MAX_BYTES - 1) == cut  # a whole file keeps it
    # ...but what comes before a comment on that line is whole
    cut = "User-agent: *\nDisallow: /  # everything"
    assert robots_head(cut, ROBOTS_MAX_BYTES) == "User-agent: *\nDisallow: /  "
    assert not Robots(robots_head(cut, ROBOTS_MAX_BYTES)).allows("https://x.gov.cn/a", AGENT)


def test_nested_sitemaps_are_bounded_in_depth_and_number() -> None:
    site = SiteConfig(
        "gov", ("https://x.gov.cn/",), allowed_hosts=("x.gov.cn",), max_sitemap_depth=2,
        max_sitemaps=3,
    )  # fmt: skip
    children = [Entry(f"https://x.gov.cn/sm/{k}.xml") for k in range(5)]
    urls = entry_urls(site, children, is_index=True, depth=1)
    assert [(u.url, u.kind, u.depth) for u in urls] == [
        (f"https://x.gov.cn/sm/{k}.xml", "sitemap", 2) for k in range(3)
    ]
    assert entry_urls(site, children, is_index=True, depth=2) == []  # as deep as they go
    articles = entry_urls(site, children, is_index=False, depth=2)  # a urlset's pages: all
    assert [(u.kind, u.depth) for u in articles] == [("article", 0)] * 5


def test_sitemap_index_and_urlset_with_lastmod() -> None:
    index = parse_sitemap(
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<sitemap><loc>https://x.gov.cn/s1.xml</loc><lastmod>2024-03-01T10:00:00+08:00</lastmod>"
        "</sitemap></sitemapindex>"
    )
    assert index.is_index
    assert [(e.url, e.date) for e in index.entries] == [
        ("https://x.gov.cn/s1.xml", "2024-03-01T02:00:00")
    ]
    urlset = parse_sitemap(
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>/art/1.html</loc><lastmod>2024-03-02</lastmod></url><url><loc>"
        "https://x.gov.cn/art/2.html</loc></url></urlset>",
        "https://x.gov.cn/sitemap.xml",
    )
    assert not urlset.is_index
    assert [(e.url, e.date) for e in urlset.entries] == [
        ("https://x.gov.cn/art/1.html", "2024-03-02"),
        ("https://x.gov.cn/art/2.html", None),
    ]


def test_rss_and_atom_feeds() -> None:
    rss = parse_feed(
        "<rss version='2.0'><channel><item><title>t</title><link>https://x.gov.cn/a.html</link>"
        "<pubDate>Fri, 01 Mar 2024 10:00:00 +0800</pubDate></item>"
        "<item><guid>https://x.gov.cn/b.html</guid></item></channel></rss>"
    )
    assert [(e.url, e.date) for e in rss] == [
        ("https://x.gov.cn/a.html", "2024-03-01T02:00:00"),
        ("https://x.gov.cn/b.html", None),
    ]
    atom = parse_feed(
        '<feed xmlns="http://www.w3.org/2005/Atom"><entry><link rel="alternate" href="/c.html"/>'
        "<updated>2024-03-03T00:00:00Z</updated></entry></feed>",
        "https://x.gov.cn/atom.xml",
    )
    assert [(e.url, e.date) for e in atom] == [("https://x.gov.cn/c.html", "2024-03-03T00:00:00")]


def test_malformed_locations_are_skipped_and_the_others_kept() -> None:
    urlset = parse_sitemap(
        "<urlset><url><loc>http://[unfilled]/a.html</loc></url><url><loc>http://x.gov.cn:8o/b"
        "</loc></url><url><loc>/c.html</loc></url></urlset>",
        "https://x.gov.cn/sitemap.xml",
    )
    assert [e.url for e in urlset.entries] == ["https://x.gov.cn/c.html"]
    rss = parse_feed(
        "<rss><channel><item><link>http://[x/a.html</link></item>"
        "<item><link>https://x.gov.cn/d.html</link></item></channel></rss>"
    )
    assert [e.url for e in rss] == ["https://x.gov.cn/d.html"]


def test_bad_xml_and_entities_are_refused() -> None:
    with pytest.raises(ParseError):
        parse_sitemap("<urlset><url>")
    with pytest.raises(ParseError, match="entities"):
        parse_feed('<!DOCTYPE x [<!ENTITY a "aaaa">]><rss>&a;</rss>')
    with pytest.raises(ParseError, match="not a sitemap"):
        parse_sitemap("<html></html>")


@pytest.mark.parametrize(
    ("url", "number"),
    [
        ("https://x.gov.cn/xwdt/index.html", None),
        ("https://x.gov.cn/xwdt/index_3.html", 3),
        ("https://x.gov.cn/list.jsp?id=7&page=4", 4),
        ("https://x.gov.cn/col?pageNum=2&uid=9", 2),
        ("https://x.gov.cn/list.jsp?page=²", None),  # a digit to str.isdigit(), no number
    ],
)
def test_page_numbers(url: str, number: int | None) -> None:
    assert page_number(url) == number


def test_pages_of_one_list_are_recognised_and_other_lists_are_not() -> None:
    base = "https://x.gov.cn/xwdt/index.html"
    assert is_pagination_of("https://x.gov.cn/xwdt/index_2.html", base)
    assert not is_pagination_of("https://x.gov.cn/tzgg/index_2.html", base)
    assert is_pagination_of("https://x.gov.cn/l?id=7&page=2", "https://x.gov.cn/l?id=7")
    assert not is_pagination_of("https://x.gov.cn/l?id=8&page=2", "https://x.gov.cn/l?id=7")


def test_trs_script_pager() -> None:
    html = '<script>createPageHTML(5, 0, "index", "html");</script>'
    assert (
        script_next_page(html, "https://x.gov.cn/a/index.html") == "https://x.gov.cn/a/index_1.html"
    )
    assert script_next_page('createPageHTML(5, 4, "index", "html")', "https://x.gov.cn/a/") is None


def test_small_predicates() -> None:
    assert is_crawlable("https://x.gov.cn/a.html") and not is_crawlable("https://x.gov.cn/a.pdf")
    assert looks_like_list("https://x.gov.cn/xwdt/") and not looks_like_list("https://x/art_1.html")
    assert older_than("2024-01-01", "2024-02-01") and not older_than(None, "2024-02-01")
    assert iso_date("not a date") is None


_PARTS = st.lists(
    st.sampled_from(
        ["http://", "https://", "//", "x.gov.cn", ":8080", ":8o", "[", "]", "::1", "/", "..",
         "index_2.html", "index_99999999999999999999.html", "?page=3", "&pageNum=²", "#top",
         "%zz", " ", "中文", "@", "list", "_", "-", "0"]
    ),
    max_size=8,
).map("".join)  # fmt: skip


@given(_PARTS, _PARTS)
@settings(max_examples=300, deadline=None)
def test_discovery_takes_any_link_a_page_can_give(href: str, other: str) -> None:
    """Every URL that link extraction lets through (``absolute``) is one these can read."""
    url = absolute("http://x.gov.cn/list/", href)
    base = absolute("http://x.gov.cn/list/", other) or "http://x.gov.cn/list/"
    if url is None:
        return
    page_family(url)
    page_number(url)
    is_pagination_of(url, base)
    is_crawlable(url)
    looks_like_list(url)
    if is_crawlable(url):
        robots_url(url)
