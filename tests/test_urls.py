"""Canonical URLs are conservative: case, fragment and default port only."""

from __future__ import annotations

from urllib.parse import urlsplit

from hypothesis import example, given, settings
from hypothesis import strategies as st

from scraper.urls import absolute, canonicalize, host_of, is_web_url, well_formed


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
@example("http://[::1")  # cannot be split
@example("http://Www.Gov.CN:8o/")  # a port that is no number
def test_canonicalizing_twice_changes_nothing(url: str) -> None:
    """A canonical web URL is its own canonical form: the archive keys articles by it.
    (Other text passes through as the standard library splits and joins it.) Only a URL that
    cannot be read is refused, with ValueError, and a web URL that cannot be read always is."""
    readable = well_formed(url.strip()) is not None
    try:
        once = canonicalize(url)
    except ValueError:
        assert not readable, "a well-formed URL was refused"
        return
    if once.startswith(("http:", "https:")):
        assert readable, "a malformed web URL was given a canonical form"
        assert well_formed(once) is not None
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


def test_other_schemes_only_lose_their_fragment() -> None:
    assert canonicalize("ftp://A.test:21/x?b=2&a=1#f") == "ftp://A.test:21/x?b=2&a=1"
    assert canonicalize("mailto:Someone@A.test") == "mailto:Someone@A.test"


def test_ipv6_hosts_keep_their_brackets_and_lose_only_the_default_port() -> None:
    assert canonicalize("http://[::1]:80/") == "http://[::1]/"
    assert canonicalize("HTTP://[::1]:8080/x") == "http://[::1]:8080/x"
    assert canonicalize("https://[2001:DB8::1]/") == "https://[2001:db8::1]/"


def test_a_port_is_default_only_for_its_own_scheme() -> None:
    assert canonicalize("https://a.test:80/") == "https://a.test:80/"
    assert canonicalize("http://a.test:443/") == "http://a.test:443/"
    assert canonicalize("http://a.test:80/") == "http://a.test/"


def test_credentials_are_kept_with_the_host_lowercased() -> None:
    assert canonicalize("http://User:Pw@A.test:8080/") == "http://User:Pw@a.test:8080/"
    assert canonicalize("http://user@a.test/") == "http://user@a.test/"
    assert canonicalize("http://user:@a.test/") == "http://user@a.test/"
    assert canonicalize("http://:pw@a.test/") == "http://:pw@a.test/"


def test_an_empty_path_is_the_root_and_surrounding_space_goes() -> None:
    assert canonicalize("http://a.test") == "http://a.test/"
    assert canonicalize("http://a.test?x=1") == "http://a.test/?x=1"
    assert canonicalize("  http://a.test/x \n") == "http://a.test/x"
    assert canonicalize("http://a.test/x #top") == "http://a.test/x"


def test_empty_parameters_go_and_equal_names_keep_their_order() -> None:
    assert canonicalize("http://a.test/?a=1&&b=2&") == "http://a.test/?a=1&b=2"
    assert canonicalize("http://a.test/?b=2&a=1&a=0&flag") == "http://a.test/?a=1&a=0&b=2&flag"
    assert canonicalize("http://a.test/?id=2&id=1&ID=3") == "http://a.test/?ID=3&id=2&id=1"


def test_tracking_names_and_share_values_match_in_any_case() -> None:
    url = "http://a.test/?UTM_Source=x&SPM=1&From=Timeline&from=WeChat&from=news&id=1"
    assert canonicalize(url) == "http://a.test/?from=news&id=1"
    assert canonicalize("http://a.test/?utm=1&autm_x=2") == "http://a.test/?autm_x=2&utm=1"


def test_a_parameter_named_like_a_tracking_value_is_kept() -> None:
    assert canonicalize("http://a.test/?timeline=1&weibo=2") == "http://a.test/?timeline=1&weibo=2"
    assert canonicalize("http://a.test/?x=from&y=spm") == "http://a.test/?x=from&y=spm"


def test_a_site_strip_list_matches_names_in_any_case_and_nothing_more() -> None:
    url = "http://a.test/?SID=1&sid2=2&t=3"
    assert canonicalize(url, ["sid"]) == "http://a.test/?sid2=2&t=3"
    assert canonicalize(url, frozenset({"Sid", "T"})) == "http://a.test/?sid2=2"
    assert canonicalize(url, iter(["t"])) == "http://a.test/?SID=1&sid2=2"


def test_web_urls_need_a_web_scheme_a_host_and_a_readable_port() -> None:
    assert is_web_url("HTTPS://a.test/x")
    assert is_web_url("http://a.test:8080/")
    assert not is_web_url("http:///x")
    assert not is_web_url("ftp://a.test/")
    assert not is_web_url("http://a.test:8o/")
    assert not is_web_url("http://[x/")


def test_well_formed_splits_or_refuses() -> None:
    parts = well_formed("http://a.test:8080/x?y=1")
    assert parts is not None and (parts.hostname, parts.port, parts.query) == (
        "a.test",
        8080,
        "y=1",
    )
    assert well_formed("http://a.test:8o/") is None
    assert well_formed("http://[x/") is None


def test_absolute_keeps_what_it_cannot_judge_and_refuses_hostless_web_urls() -> None:
    assert absolute("http://a.test/x/", "mailto:x@a.test") == "mailto:x@a.test"
    assert absolute("http://a.test/x/", "ftp://b.test/f") == "ftp://b.test/f"
    assert absolute("http://a.test/x/", "HTTPS:///y") is None
    assert absolute("http://a.test/x/", "?page=2") == "http://a.test/x/?page=2"
    assert absolute("http://a.test/x/", "") == "http://a.test/x/"


def test_a_value_with_an_equals_sign_belongs_to_the_first_name() -> None:
    assert canonicalize("http://a.test/?spm=a=b&id=1") == "http://a.test/?id=1"
    assert canonicalize("http://a.test/?b=1=z&b=0") == "http://a.test/?b=1=z&b=0"


def test_double_slashes_in_a_path_with_a_host_are_kept() -> None:
    assert canonicalize("http://a.test//x//y.html") == "http://a.test//x//y.html"


def test_every_leading_slash_of_a_hostless_path_folds_into_one() -> None:
    assert canonicalize("http://:80///x") == "http:///x"
    assert canonicalize("HTTPS://:443//Xy") == "https:///Xy"
