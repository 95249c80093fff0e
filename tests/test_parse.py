"""Behaviours of the general extractor, pinned on small hand-written pages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.models import Article
from scraper.parse import _cjk_and_letters, meta, parse_page
from scraper.parse import boilerplate as bp
from scraper.parse.dates import find_dates

PARA = "这是一段用于测试的正文内容，包含足够多的文字和标点符号，以便被识别为文章的主体段落。"


def page(head: str = "", before: str = "", content: str = "", after: str = "") -> str:
    body = content or f"<p>{PARA}</p><p>第二段同样是正文，说明了更多的细节，并且以句号结束。</p>"
    return (
        f"<html><head><meta charset='utf-8'>{head}</head><body>"
        "<div class='nav'><a href='/'>首页</a> <a href='/news/'>新闻</a>"
        " <a href='/gov/'>政务</a></div>"
        f"{before}<div class='content'>{body}</div>{after}"
        "<div class='footer'><p>版权所有 示例网站 备案号：京ICP备00000000号</p>"
        "<p><a href='/about'>关于我们</a> | <a href='/contact'>联系我们</a></p></div>"
        "</body></html>"
    )


def headed(content: str) -> Article:
    """A page titled 标题 with ``content`` in its content block, parsed."""
    return parse_page(page("<title>标题</title>", "<h1>标题</h1>", content), "http://e.test/")


def test_title_is_headline_not_title_tag_with_site_suffix() -> None:
    html = page("<title>市政府召开常务会议_要闻_示例网</title>", "<h1>市政府召开常务会议</h1>")
    art = parse_page(html, "http://example.test/a/1.html")
    assert art.title == "市政府召开常务会议"
    assert art.site_name == "示例网"


def test_site_name_prefers_og_site_name() -> None:
    head = "<title>标题 - 频道</title><meta property='og:site_name' content='示例门户'>"
    art = parse_page(page(head, "<h1>标题</h1>"), "http://example.test/a/1.html")
    assert art.site_name == "示例门户"


def test_date_formats_keep_printed_precision() -> None:
    assert find_dates("2022-06-24 10:30:05")[0].iso == "2022-06-24T10:30:05"
    assert find_dates("2022年06月24日 10:30")[0].iso == "2022-06-24T10:30"
    assert find_dates("发布日期：2022/6/24")[0].iso == "2022-06-24"
    assert find_dates("2022.06.24")[0].iso == "2022-06-24"
    assert find_dates("2022年6月24日10:30")[0].iso == "2022-06-24T10:30"


def test_a_day_not_in_the_calendar_is_no_date() -> None:
    assert [d.iso for d in find_dates("2022-02-30 10:00 2023-02-29 2024-02-29")] == ["2024-02-29"]
    assert find_dates("2022年4月31日") == []


def test_published_is_the_date_under_the_headline_not_the_footer() -> None:
    html = page(
        "<title>通知公告</title>",
        "<h1>通知公告</h1><div class='info'>2021年03月05日 09:15</div>",
        after="<div class='side'><a href='/x'>旧闻一则</a> 2019-01-01</div>",
    )
    assert parse_page(html, "http://example.test/a.html").published == "2021-03-05T09:15"


def test_source_author_run_together_on_one_line() -> None:
    meta = (
        "<div class='info'>发布时间：2023-04-01 08:00 来源：示例日报 作者：王小明"
        " 浏览次数：12</div>"
    )
    art = parse_page(page("<title>会议召开</title>", "<h1>会议召开</h1>" + meta), "http://e.test/")
    assert art.published == "2023-04-01T08:00"
    assert art.source == "示例日报"
    assert art.author == "王小明"
    assert "来源" not in art.body


def test_chief_editor_preferred_over_plain_editor() -> None:
    content = f"<p>{PARA}</p><p>编辑：李四</p><p>责任编辑：张三</p>"
    art = headed(content)
    assert art.editor == "张三"
    assert "编辑" not in art.body


def test_dateline_gives_author() -> None:
    content = (
        "<p>新华社北京3月1日电（记者 张三 李四）国务院日前印发通知，部署相关工作，"
        "要求各地认真贯彻落实。</p><p>通知强调，要加强组织领导，确保各项措施落到实处。</p>"
    )
    art = parse_page(page("<title>通知</title>", "<h1>通知</h1>", content), "http://e.test/")
    assert art.author == "张三 李四"


def test_byline_run_into_where_it_was_filed_gives_the_name() -> None:
    before = "<h1>会议召开</h1><p><b>本报记者赵六发自上海</b></p>"
    art = parse_page(page("<title>会议召开</title>", before), "http://e.test/")
    assert art.author == "赵六"


def test_author_label_with_a_vertical_bar_form() -> None:
    content = f"<p>{PARA}</p><p><strong>作者︱钱七</strong></p>"
    art = headed(content)
    assert art.author == "钱七"


def test_closing_credit_above_a_read_counter_gives_author() -> None:
    content = f"<p>{PARA}</p><p>活动取得了良好效果。(文/图 孙八 周九)</p><p>阅读 128</p><p>A+</p>"
    art = headed(content)
    assert art.author == "孙八 周九"


def test_a_reporter_filing_with_no_name_gives_no_author() -> None:
    before = "<h1>会议召开</h1><p>本报记者北京报道</p>"
    art = parse_page(page("<title>会议召开</title>", before), "http://e.test/")
    assert art.author is None


def test_an_information_disclosure_record_table_is_not_the_body() -> None:
    table = (
        "<table class='xxgk'><tr><td>索 引 号：</td><td>00000000-0/2026-00001</td>"
        "<td>分 类：</td><td>城乡建设;通知</td></tr>"
        "<tr><td>发文机关：</td><td>示例市人民政府</td><td>2026年03月02日</td></tr>"
        "<tr><td>标 题：</td><td>示例市人民政府关于做好春耕工作的通知</td></tr>"
        "<tr><td>示政发〔2026〕3号</td><td>2026年03月05日</td></tr></table>"
    )
    content = table + f"<p>各区人民政府，市政府各部门：</p><p>{PARA}</p><p>示例市人民政府</p>"
    art = parse_page(page("<title>通知</title>", "<h1>通知</h1>", content), "http://e.test/")
    assert art.body.startswith("各区人民政府")
    assert "索" not in art.body and "〔2026〕" not in art.body


def test_an_unlabelled_closing_editor_credit_gives_the_editor() -> None:
    content = f"<p>{PARA}</p><p>第二段同样是正文，并且以句号结束。</p><p>（示例网编辑 吴十）</p>"
    art = headed(content)
    assert art.editor == "吴十"
    assert "吴十" not in art.body


def test_an_editorial_office_credit_is_not_an_editor() -> None:
    content = f"<p>{PARA}</p><p>第二段同样是正文，并且以句号结束。（编辑部供稿）</p>"
    art = headed(content)
    assert art.editor is None


def test_closing_social_tags_and_follow_us_lines_are_not_body() -> None:
    content = (
        f"<p>{PARA}</p><p>第二段同样是正文，并且以句号结束。</p>"
        "<p>#健康生活# @示例健康</p><p>（更多内容请继续关注 示例网 www.example.test）</p>"
    )
    art = headed(content)
    assert art.body.endswith("并且以句号结束。")


def test_a_malformed_original_link_or_canonical_does_not_fail_the_page() -> None:
    head = "<title>标题</title><link rel='canonical' href='http://[unfilled]/a.html'>"
    content = f"<p>{PARA}</p><p>第二段，继续说明。</p><p><a href='http://[x/a'>原文链接</a></p>"
    art = parse_page(page(head, "<h1>标题</h1>", content), "http://e.test/a.html")
    assert art.title == "标题" and art.body.startswith(PARA)
    assert art.original_url is None and art.canonical_url == "http://e.test/a.html"


def test_a_run_of_at_signs_is_not_a_social_tag_line() -> None:
    # Each tag must start where the one before cannot reach: with "@\S{1,20}" this line took
    # seconds (40 signs: 11 s), doubling with every sign: a page could hang the parser.
    assert not bp.is_share("@" * 40 + "。")
    assert bp.is_share("#话题# @账号 @另一个")


def test_unlabelled_name_is_not_an_author() -> None:
    content = f"<p>{PARA}</p><p>王五</p>"
    art = headed(content)
    assert art.author is None


def test_disclaimer_outside_content_is_found_and_kept_out_of_body() -> None:
    after = "<div class='notice'>免责声明：本文转载自其他网站，仅供参考，不代表本站观点。</div>"
    art = parse_page(page("<title>标题</title>", "<h1>标题</h1>", after=after), "http://e.test/")
    assert art.disclaimer is not None and art.disclaimer.startswith("免责声明")
    assert "免责声明" not in art.body


def test_footer_kept_out_of_body() -> None:
    art = parse_page(page("<title>标题</title>", "<h1>标题</h1>"), "http://e.test/")
    assert art.footer is not None and "版权所有" in art.footer
    assert "版权所有" not in art.body
    assert art.body.startswith("这是一段用于测试的正文内容")
    assert art.body.endswith("并且以句号结束。")


def test_list_page_is_not_an_article() -> None:
    items = "".join(
        f"<li><a href='/n/{i}.html'>第{i}条新闻标题示例文字</a><span>2023-01-{i:02d}</span></li>"
        for i in range(1, 25)
    )
    html = page("<title>新闻列表</title>", content=f"<ul>{items}</ul>")
    assert parse_page(html, "http://e.test/news/index.html").is_article is False


def test_original_link_is_resolved_absolute() -> None:
    content = f"<p>{PARA}</p><p><a href='/orig/123.html'>原文链接</a></p>"
    art = parse_page(
        page("<title>标题</title>", "<h1>标题</h1>", content), "http://e.test/a/b.html"
    )
    assert art.original_url == "http://e.test/orig/123.html"
    assert "原文链接" not in art.body


def test_original_title_and_related_list_dropped_from_body() -> None:
    content = (
        "<p>原标题：另一个标题</p>"
        f"<p>{PARA}</p><h3>相关新闻</h3><ul><li><a href='/1'>别的新闻一</a></li></ul>"
    )
    art = headed(content)
    assert art.body == PARA


def test_canonical_kept_only_on_same_site() -> None:
    same = page("<title>t</title><link rel='canonical' href='/c/1.html'>", "<h1>t</h1>")
    other = page("<title>t</title><link rel='canonical' href='http://other.test/x'>")
    assert parse_page(same, "http://www.e.test/a").canonical_url == "http://www.e.test/c/1.html"
    assert parse_page(other, "http://e.test/a").canonical_url == "http://e.test/a"


def test_language_detected_from_text() -> None:
    assert parse_page(page("<title>标题</title>"), "http://e.test/").language == "zh"


PROFILED = """<html><head><title>一条消息_示例站</title></head><body>
<div class="head"><h1>一条消息</h1><span class="when">2022-06-24 10:30</span>
<span class="from">示例日报</span></div>
<div class="main"><p>这是正文的第一段，由本项目为测试编写，说明站点配置覆盖通用结果。</p>
<p>这是正文的第二段，内容同样是虚构的，用来检查选择器。</p></div>
<div class="aside"><p>这一段本不是正文，但站点配置把它指定为正文。</p></div>
</body></html>"""


def test_site_profile_selectors_override_the_general_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles = tmp_path / "profiles.json"
    profiles.write_text(
        json.dumps(
            {"hosts": {"profiled.example.test": {"body": "div.aside", "source": "span.from"}}}
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("ARCHIVER_PROFILES", str(profiles))
    art = parse_page(PROFILED, "http://www.profiled.example.test/a.html")
    assert art.body == "这一段本不是正文，但站点配置把它指定为正文。"
    assert art.source == "示例日报"
    other = parse_page(PROFILED, "http://other.example.test/a.html")
    assert other.body.startswith("这是正文的第一段")


_LANG_ALPHABET = "\u4dff\u4e00\u4e2d\u6587\u9fff\ua000\u3400abcXYZ é１Ａ，。 \n\ud800😀"


@given(st.text(alphabet=_LANG_ALPHABET, max_size=60))
@settings(max_examples=300, deadline=None)
def test_language_counts_cjk_and_ascii_letters_as_a_regex_does(text: str) -> None:
    """The byte-level count behind ``language`` matches counting U+4E00..U+9FFF and A-Za-z."""
    cjk = len(re.findall("[\u4e00-\u9fff]", text))
    letters = len(re.findall("[A-Za-z\u4e00-\u9fff]", text))
    assert _cjk_and_letters(text) == (cjk, letters)


# ------------------------------------------------ credit values that run on (issue 16)


@pytest.mark.parametrize(
    ("line", "source"),
    [
        ("来源：中国（上海）自由贸易试验区管理委员会", "中国（上海）自由贸易试验区管理委员会"),
        ("来源：《求是》杂志", "《求是》杂志"),
        ("来源：《人民日报》（2024年01月02日 04 版）", "《人民日报》"),
        ("来源：【新华社】", "新华社"),
        ("来源：新华社 编译", "新华社"),
        ("来源：新华网 分享到：", "新华网"),
        ("来源：人民网-人民日报 点击：32", "人民网-人民日报"),
        ("来源： 作者：张三", None),
    ],
)
def test_a_source_value_keeps_its_brackets_and_stops_at_the_next_word(
    line: str, source: str | None
) -> None:
    assert meta.find_source([line]) == source


@pytest.mark.parametrize(
    ("line", "author"),
    [
        ("作者：县委书记 李四", "李四"),
        ("作者：中共澜城市纪委副书记 赵六", "赵六"),
        ("作者：李明（澜江大学教授）", "李明"),
        ("作者：张三 编译", "张三"),
        ("作者：陈晨 分享", "陈晨"),
        ("作者： 来源：新华社", None),
    ],
)
def test_an_author_is_the_name_without_job_title_affiliation_or_interface_word(
    line: str, author: str | None
) -> None:
    assert meta.find_author([line]) == author
