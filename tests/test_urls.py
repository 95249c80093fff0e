"""Canonical URLs are conservative: case, fragment and default port only."""

from __future__ import annotations

from scraper.urls import canonicalize, host_of


def test_scheme_host_case_fragment_and_default_port_are_normalized() -> None:
    assert canonicalize("HTTPS://WWW.Example.GOV.cn:443/a/B.html#top") == (
        "https://www.example.gov.cn/a/B.html"
    )


def test_query_parameters_are_kept_as_they_are() -> None:
    url = "http://www.example.gov.cn/index.php?m=content&id=20233&lid=35"
    assert canonicalize(url) == url


def test_non_default_port_is_kept() -> None:
    assert canonicalize("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080/x"


def test_host_of() -> None:
    assert host_of("https://News.Example.com/a") == "news.example.com"
    assert host_of("file:///tmp/a.html") == ""
