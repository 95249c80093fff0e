"""Canonical URLs are conservative: case, fragment and default port only."""

from __future__ import annotations

from urllib.parse import urlsplit

from hypothesis import example, given, settings
from hypothesis import strategies as st

from scraper.urls import absolute, canonicalize, host_of


def test_scheme_host_case_fragment_and_default_port_are_normalized() -> None:
    assert canonicalize("HTTPS://WWW.Example.GOV.cn:443/a/B.html#top") == (
        "https://www.example.gov.cn/a/B.html"
    )


def test_meaningful_query_parameters_are_kept_and_sorted() -> None:
    url = "http://www.example.gov.cn/index.php?m=content&id=20233&lid=35&pageNum=2&uid=7"
    assert canonicalize(url) == (
        "http://www.example.gov.cn/index.php?id=20233&lid=35&m=content&pageNum=2&uid=7"
    )


def test_tracking_parameters_are_dropped() -> None:
    url = "https://www.example.gov.cn/a.html?id=5&utm_source=wx&utm_medium=x&spm=1.2&from=timeline"
    assert canonicalize(url) == "https://www.example.gov.cn/a.html?id=5"


def test_from_with_a_meaningful_value_is_kept() -> None:
    url = "https://www.example.gov.cn/a.html?from=xxgk&id=5"
    assert canonicalize(url) == url


def test_site_strip_list_drops_the_named_parameters() -> None:
    url = "https://www.example.gov.cn/a.html?id=5&sessionid=abc&t=123"
    assert canonicalize(url, ["SessionID", "t"]) == "https://www.example.gov.cn/a.html?id=5"


def test_values_and_repeated_keys_are_kept_as_written() -> None:
    url = "http://a.test/s?tag=%E5%85%9A&tag=b&q=a+b"
    assert canonicalize(url) == "http://a.test/s?q=a+b&tag=%E5%85%9A&tag=b"


def test_non_default_port_is_kept() -> None:
    assert canonicalize("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080/x"


def test_host_of() -> None:
    assert host_of("https://News.Example.com/a") == "news.example.com"
    assert host_of("file:///tmp/a.html") == ""


def test_an_empty_host_never_takes_the_path_as_its_host() -> None:
    assert canonicalize("http://:80//x") == "http:///x"
    assert urlsplit(canonicalize("HTTPS://:443//a/b")).netloc == ""


_PARTS = st.sampled_from(
    ["http://", "HTTPS://", "ftp://", " http://", "Www.Gov.CN", ":80", ":8080", "user:pw@",
     "[::1]", "/", "//", "/x", "?q=1", "&utm_source=a", "?b=2&a=1", "#f", "\t", " ", "中文", "%41"]
)  # fmt: skip


@given(st.lists(_PARTS, max_size=8).map("".join))
@settings(max_examples=400, deadline=None)
@example("http://a.b/x #f")  # the space before a fragment goes with it
def test_canonicalizing_twice_changes_nothing(url: str) -> None:
    """A canonical web URL is its own canonical form: the archive keys articles by it.
    (Other text passes through as the standard library splits and joins it.)"""
    try:
        once = canonicalize(url)
    except ValueError:
        return
    if once.startswith(("http:", "https:")):
        assert canonicalize(once) == once


def test_absolute_resolves_links_and_refuses_malformed_ones() -> None:
    assert absolute("http://a.test/x/", " ../b.html ") == "http://a.test/b.html"
    assert absolute("http://a.test/", "http://[::1]:8080/") == "http://[::1]:8080/"
    for bad in (
        "http://[unfilled]/a",
        "http://[x/a",
        "http://a.test:8o/",
        "//a.test:99999/",
        "https:////:8o",
    ):
        assert absolute("http://a.test/", bad) is None
