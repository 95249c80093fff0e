"""List-page links: absolute URLs, anchor texts, dates beside them, and the next page."""

from __future__ import annotations

from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from scraper.parse.links import extract_list
from scraper.urls import canonicalize

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def test_links_with_text_and_dates_and_next_by_label() -> None:
    html = """<html><body><a href="/">首页</a><ul>
    <li><a href="art/1.html#top">关于开展第一批工作的通知</a><span>2024-03-01</span></li>
    <li><a href="art/1.html">重复链接</a></li>
    <li><a href="javascript:void(0)">脚本</a></li>
    </ul><div><a href="index_1.html">下一页</a> <a href="index_9.html">尾页</a></div>
    </body></html>"""
    listing = extract_list(html, "https://x.gov.cn/xwdt/index.html")
    assert [(link.url, link.text, link.date) for link in listing.links] == [
        ("https://x.gov.cn/", "首页", None),
        ("https://x.gov.cn/xwdt/art/1.html", "关于开展第一批工作的通知", "2024-03-01"),
        ("https://x.gov.cn/xwdt/index_1.html", "下一页", None),
        ("https://x.gov.cn/xwdt/index_9.html", "尾页", None),
    ]
    assert listing.next_url == "https://x.gov.cn/xwdt/index_1.html"


def test_next_by_rel_and_english_label_and_base_href() -> None:
    rel = extract_list(
        '<link rel="next" href="?page=2"><a href="a.html">x</a>', "https://x/l?page=1"
    )
    assert rel.next_url == "https://x/l?page=2"
    english = extract_list(
        '<base href="https://y/dir/"><a href="p3.html">Next ›</a>', "https://x/l.html"
    )
    assert english.next_url == "https://y/dir/p3.html"
    none = extract_list('<a href="l.html">下一页</a>', "https://x/l.html")
    assert none.next_url is None  # a next link to the page itself (the last page)


def test_samples_list_pages() -> None:
    first = extract_list(
        (SAMPLES / "list" / "index.html").read_text(encoding="utf-8"),
        "http://samples.test/list/index.html",
    )
    assert first.next_url == "http://samples.test/list/index_1.html"
    assert "http://samples.test/seed-utf8.html" in {link.url for link in first.links}
    assert any(link.date for link in first.links)
    last = extract_list(
        (SAMPLES / "list" / "index_1.html").read_text(encoding="utf-8"),
        "http://samples.test/list/index_1.html",
    )
    assert last.next_url is None


def test_a_malformed_link_is_skipped_and_the_others_kept() -> None:
    """An unfilled template ([站点地址]) or a broken port on one link must not fail the list."""
    html = (
        "<ul><li><a href='http://[站点地址]/a.html'>第一篇文章的标题</a></li>"
        "<li><a href='http://x.gov.cn:8o/b.html'>第二篇文章的标题</a></li>"
        "<li><a href='/c.html'>第三篇文章的标题</a></li></ul>"
        "<base href='http://[bad/'>"
    )
    listing = extract_list(html, "http://x.gov.cn/list/")
    assert [link.url for link in listing.links] == ["http://x.gov.cn/c.html"]


_HREF = st.lists(
    st.sampled_from(
        ["http://", "https://", "//", "x.gov.cn", ":8080", ":8o", ":99999", "[", "]", "::1",
         "/", "a.html", "?page=2", "#top", "%", "%zz", " ", "\t", "中文", "@", "..", "javascript:"]
    ),
    max_size=8,
).map("".join)  # fmt: skip


@given(_HREF)
@settings(max_examples=300, deadline=None)
@example("https:////:8o")  # no host: rebuilt without its fragment, ":8o" became the host
def test_any_href_leaves_the_other_links_and_only_well_formed_urls(href: str) -> None:
    html = f"<ul><li><a href='{href}'>第一篇</a></li><li><a href='/c.html'>第三篇</a></li></ul>"
    urls = [link.url for link in extract_list(html, "http://x.gov.cn/list/").links]
    assert "http://x.gov.cn/c.html" in urls
    for url in urls:
        canonicalize(url)  # what the crawl does with every link next: it must not raise
