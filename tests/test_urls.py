"""Canonical URLs are conservative: case, fragment and default port only."""

from __future__ import annotations

from scraper.urls import canonicalize, host_of


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
