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


from scraper.parse import notices  # noqa: E402  (imported with the tests below)
from scraper.parse.dom import Doc, Elem, Line  # noqa: E402

# ------------------------------------------------------------------ footer and disclaimer
# (scraper/parse/notices.py) on hand-built documents: each line's block, span and link share
# set exactly, so every bound is tested on both sides.


def notice_doc(
    lines: list[tuple[str, int]], elems: list[tuple[int, int, int]], **links: int
) -> Doc:
    """A linearised page: ``lines`` as (text, innermost block), ``elems`` as (parent, first
    line, end line); ``links`` gives line ``l<i>`` that many linked characters."""
    doc = Doc()
    doc.elems = [Elem("div", parent, "", 0, start, end) for parent, start, end in elems]
    doc.lines = [
        Line(text, len(text.replace(" ", "")), links.get(f"l{i}", 0), elem, 0)
        for i, (text, elem) in enumerate(lines)
    ]
    return doc


def test_the_footer_is_looked_for_after_the_given_line_only() -> None:
    doc = notice_doc(
        [("版权所有 甲网", 1), ("版权所有 乙网", 2), ("正文。", 3), ("Copyright 丙网", 4)],
        [(-1, 0, 99), (0, 0, 1), (0, 1, 2), (0, 2, 3), (0, 3, 4)],  # the page: too long
    )
    assert notices.find_footer(doc, -1) == (0, "版权所有 甲网")
    assert notices.find_footer(doc, 0) == (1, "版权所有 乙网")
    assert notices.find_footer(doc, 1) == (3, "Copyright 丙网")
    assert notices.find_footer(doc, 3) == (None, None)


def test_a_footer_line_is_short_and_not_prose_unless_short_prose() -> None:
    def one(text: str) -> tuple[int | None, str | None]:
        return notices.find_footer(notice_doc([(text, 1)], [(-1, 0, 1), (0, 0, 1)]), -1)

    assert one("版权所有" + "甲" * 295) == (0, "版权所有" + "甲" * 295)  # 299 characters
    assert one("版权所有" + "甲" * 296) == (None, None)  # 300
    prose = "本站版权所有，" + "甲" * 73  # a sentence of 80 characters
    assert one(prose) == (0, prose)
    assert one(prose + "甲") == (None, None)
    assert one("本站版权所有，转载请注明出处。") == (0, "本站版权所有，转载请注明出处。")
    assert one("版权所有 " + "甲" * 90)[0] == 0  # long but no sentence


def test_a_long_sentence_naming_copyright_is_passed_over_for_the_footer_below() -> None:
    prose = "本站版权所有，" + "甲" * 74
    doc = notice_doc([(prose, 1), ("京ICP备00000000号", 2)], [(-1, 0, 99), (0, 0, 1), (0, 1, 2)])
    assert notices.find_footer(doc, -1) == (1, "京ICP备00000000号")


FOOTER_LINES = [
    ("正文第一段。", 1),
    ("正文第二段。", 1),
    ("关于我们 联系我们", 3),
    ("版权所有 示例网站", 4),
    ("", 4),
    ("地址：某市某路1号", 5),
]
FOOTER_ELEMS = [(-1, 0, 6), (0, 0, 2), (0, 2, 6), (2, 2, 3), (2, 3, 5), (2, 5, 6)]


def test_the_footer_widens_to_its_block_but_never_back_into_the_text() -> None:
    doc = notice_doc(FOOTER_LINES, FOOTER_ELEMS)
    assert notices.find_footer(doc, 1) == (
        2,
        "关于我们 联系我们\n版权所有 示例网站\n地址：某市某路1号",
    )
    # the footer block starts on line 2: after line 2 only the line's own block is taken
    assert notices.find_footer(doc, 2) == (3, "版权所有 示例网站")


@pytest.mark.parametrize(("span", "lines"), [(40, 40), (41, 1)])
def test_a_footer_block_is_at_most_forty_lines(span: int, lines: int) -> None:
    texts = [("正文。", 2), ("版权所有 示例网站", 3)] + [(f"链接{k}", 1) for k in range(span - 1)]
    doc = notice_doc(texts, [(-1, 0, span + 1), (0, 1, span + 1), (0, 0, 1), (1, 1, 2)])
    start, text = notices.find_footer(doc, 0)
    assert start == 1 and text is not None and len(text.split("\n")) == lines


def test_a_footer_sharing_its_block_with_the_text_is_only_the_footer() -> None:
    html = (
        "<html><head><title>标题</title></head><body><h1>标题</h1><div class='content'>"
        f"{PARA}<br>{PARA}<br>{PARA}<br>版权所有 示例网站 京ICP备00000000号</div></body></html>"
    )
    assert parse_page(html, "http://e.test/").footer == "版权所有 示例网站 京ICP备00000000号"


DISCLAIMER = "免责声明：本网站转载的文章仅供参考，不代表本网站观点。"


def test_a_disclaimer_is_looked_for_between_lo_and_hi_only() -> None:
    other = "特别声明：本文仅代表作者本人观点。"
    doc = notice_doc(
        [(DISCLAIMER, 1), ("正文。", 2), (other, 3)], [(-1, 0, 3), (0, 0, 1), (0, 1, 2), (0, 2, 3)]
    )
    assert notices.find_disclaimer(doc, 0, 1) == (0, DISCLAIMER)
    assert notices.find_disclaimer(doc, -5, 1) == (0, DISCLAIMER)
    assert notices.find_disclaimer(doc, 1, 99) == (2, other)
    assert notices.find_disclaimer(doc, 1, 2) == (None, None)


@pytest.mark.parametrize(("linked", "found"), [(0, True), (13, True), (14, False)])
def test_a_disclaimer_line_is_at_most_half_links(linked: int, found: bool) -> None:
    text = "免责声明：转载文章请联系原作者以获得授权许可"  # 22 characters without spaces
    text = text + "甲" * (26 - len(text))
    doc = notice_doc([(text, 1)], [(-1, 0, 1), (0, 0, 1)], l0=linked)
    assert notices.find_disclaimer(doc, 0, 1) == ((0, text) if found else (None, None))


def test_a_disclaimer_runs_on_to_its_block_end_six_lines_or_hi() -> None:
    lines = [(DISCLAIMER, 1)] + [(f"第{k}条。", 1) for k in range(1, 9)] + [("正文。", 2)]
    doc = notice_doc(lines, [(-1, 0, 10), (0, 0, 9), (0, 9, 10)])
    assert notices.find_disclaimer(doc, 0, 10)[1] == "\n".join(t for t, _ in lines[:6])
    assert notices.find_disclaimer(doc, 0, 3)[1] == "\n".join(t for t, _ in lines[:3])
    short = notice_doc(lines, [(-1, 0, 10), (0, 0, 2), (0, 2, 10)])
    assert notices.find_disclaimer(short, 0, 10)[1] == "\n".join(t for t, _ in lines[:2])


@pytest.mark.parametrize(
    ("heading", "takes"), [("特别声明", 6), ("特别声明" + "甲" * 7, 6), ("特别声明" + "甲" * 8, 1)]
)
def test_a_bare_disclaimer_heading_takes_the_lines_after_it_whatever_their_block(
    heading: str, takes: int
) -> None:
    lines = [(heading, 1)] + [(f"第{k}条。", 2) for k in range(1, 9)]
    doc = notice_doc(lines, [(-1, 0, 9), (0, 0, 1), (0, 1, 9)])
    start, text = notices.find_disclaimer(doc, 0, 9)
    assert start == 0 and text == "\n".join(t for t, _ in lines[:takes])
    if takes > 1:
        assert notices.find_disclaimer(doc, 0, 3)[1] == "\n".join(t for t, _ in lines[:3])


def test_a_disclaimer_stops_at_the_footer() -> None:
    footer = ("版权所有 示例网站", 2)
    doc = notice_doc([("特别声明", 1), footer, ("正文。", 2)], [(-1, 0, 3), (0, 0, 1), (0, 1, 3)])
    assert notices.find_disclaimer(doc, 0, 3) == (0, "特别声明")
    lines = [("正文。", 1), ("特别声明", 1)] + [(f"第{k}条。", 2) for k in range(1, 4)]
    lines += [footer, ("第九条。", 2)]
    doc = notice_doc(lines, [(-1, 0, 7), (0, 0, 2), (0, 2, 7)])
    assert notices.find_disclaimer(doc, 1, 7) == (1, "特别声明\n第1条。\n第2条。\n第3条。")


# ------------------------------------------------------------------ credit values (meta.py)


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("【张三】", "张三"),  # marks that only wrap it
        ("【张三", "张三"),  # an opener closed nowhere
        ("张三】", "张三"),  # a closer opened nowhere
        ("张三【", "张三"),  # an opener at the end
        ("（新华社", "新华社"),
        ("中国（上海）自贸区", "中国（上海）自贸区"),  # a pair inside
        ("（上海）自贸区", "（上海）自贸区"),  # a pair at the start that does not wrap it
        ("《人民日报》", "《人民日报》"),  # a title keeps its marks
        ("《求是》杂志", "《求是》杂志"),
        (": 张三 |", "张三"),
        ("【张三】 ·", "张三"),
        ("：【【张三】】", "张三"),
        ("", ""),
    ],
)
def test_a_credit_value_loses_only_the_brackets_that_pair_with_nothing_or_wrap_it(
    value: str, kept: str
) -> None:
    assert meta._balanced(value) == kept


@pytest.mark.parametrize(
    ("line", "editor"),
    [
        ("编辑：张三（实习）李四 审核：王五", "张三（实习）李四"),  # a pair inside the value
        ("（编辑：张三）李四", "张三"),  # the bracket opened before the label closes it
        ("编辑：张三）李四", "张三"),  # a closer opened nowhere ends the value
        ("编辑：【张三】", "张三"),
        ("编辑：张三  李四", "张三"),  # a wide gap ends it
    ],
)
def test_a_labelled_value_runs_to_the_next_label_gap_or_unmatched_bracket(
    line: str, editor: str
) -> None:
    assert meta.find_editor([line]) == editor


@pytest.mark.parametrize(
    ("line", "author"),
    [
        ("作者：John Smith", "John Smith"),
        ("作者：张三、李四", "张三、李四"),
        ("作者：审核 张三", None),  # a label, not a name
        ("作者：张三 李四", "张三 李四"),
        ("作者：张三 2024", "张三"),
    ],
)
def test_an_author_is_one_or_more_names(line: str, author: str | None) -> None:
    assert meta.find_author([line]) == author


def test_names_drop_list_marks_around_them() -> None:
    assert meta._names("、张三，") == "张三"
    assert meta._names("记者 张三 摄") is None  # a photo credit


def test_headline_matching_counts_the_common_prefix() -> None:
    assert meta._lcp("市政府召开会议", "市政府召开常务会议") == 5
    assert meta._lcp("", "市政府") == 0
    assert meta._lcp("市政府", "市政府") == 3
    assert meta._lcp("甲", "乙") == 0


@pytest.mark.parametrize(
    ("line", "source"),
    [
        ("2024-05-10 08:00 新华社", "新华社"),
        ("2024-05-10 · 新华社", "新华社"),
        ("2024-05-10|新华社", "新华社"),
        ("2024-05-10 新华社 浏览次数：3", "新华社"),  # a label may follow
        ("2024-05-10 新华社浏览：3", "新华社"),  # even run on
        ("2024-05-10 新华社 举报", "新华社"),
        ("2024-05-10 人民", "人民"),  # two characters are a name
        ("2024-05-10 Xinhua", "Xinhua"),
        ("2024-05-10 新来源：新华社", None),  # one character before the label
        ("2024-05-10 新华社 今天上午", None),  # a sentence goes on: not a source
        ("2024-05-10 。新华社", None),
        ("无日期 新华社", None),
    ],
)
def test_an_unlabelled_source_right_after_the_date(line: str, source: str | None) -> None:
    assert meta.source_after_date(line) == source


@pytest.mark.parametrize(
    ("head", "source"),
    [
        (["新华社2024-05-10 08:00"], "新华社"),  # run into its date
        (["新华社 · 2024-05-10"], "新华社"),
        (["·新华社2024-05-10"], "新华社"),
        (["新2024-05-10"], None),  # the date one character in: nothing before it
        (["浏览2024-05-10"], None),  # a label, not an outlet
        (["新华社客户端2024-05-10"], None),  # interface words
        (["新华社 北京 2024-05-10"], None),
        (["2024-05-10 新华社"], None),  # after the date: source_after_date's case
        (["新华社", "2024-05-10 08:00"], "新华社"),  # on its own line above the date
        (["新华社", "甲", "乙", "丙", "2024-05-10"], "新华社"),
        (["新华社", "甲", "乙", "丙", "丁", "2024-05-10"], None),  # the date too far down
        (["新华社"], None),  # no date at all
        (["新华社 北京", "2024-05-10"], None),
        (["新华社客户端", "2024-05-10"], None),
        (["来源新华社", "2024-05-10"], None),
        ([], None),
    ],
)
def test_an_unlabelled_outlet_under_the_headline(head: list[str], source: str | None) -> None:
    assert meta.source_near_headline(head) == source


@pytest.mark.parametrize("low", [0x20, 0x80, 0xA1])
def test_random_bytes_served_as_html_are_not_a_text_page(low: int) -> None:
    """Random bytes decode as GB18030 to plausible hanzi: refused by their private-use code
    points, controls and replacement characters, with or without markup around them."""
    import random

    from scraper.decode import decode

    rng = random.Random(low)
    for size in (600, 30_000):
        noise = bytes(rng.randint(low, 0xFE) for _ in range(size))
        for data in (noise, b"<html><head><title>t</title></head><body>" + noise):
            text, _codec = decode(data, "text/html")
            art = parse_page(text, "http://example.gov.cn/a/1.html")
            assert not art.is_article
            assert art.rejected == "not a text page (binary or undecodable content)"


@pytest.mark.parametrize(("icons", "paragraphs"), [(12, 1), (30, 10)])
def test_icon_font_glyphs_do_not_make_a_page_binary(icons: int, paragraphs: int) -> None:
    bar = "".join(f"<i class='icon'>{chr(0xE600 + i)}</i>" for i in range(icons))
    content = f"<p>{PARA}</p>" * paragraphs
    html = page("<title>示例标题</title>", f"<h1>示例标题</h1><div>{bar}</div>", content)
    art = parse_page(html, "http://e.test/")
    assert art.is_article and art.rejected is None


@pytest.mark.parametrize(
    "href",
    [
        "javascript:void(0)",
        "JavaScript:alert(1)",
        " javascript:open('http://x.test/')",
        "data:text/html,<b>x</b>",
        "vbscript:msgbox(1)",
        "mailto:editor@example.test",
        "ftp://example.test/a.txt",
        "about:blank",
    ],
)
def test_original_url_is_only_ever_a_web_url(href: str) -> None:
    for content in (
        f'<p>{PARA}</p><p><a href="{href}">阅读原文</a></p>',
        f'<p>{PARA}</p><p>原文链接：<a href="{href}">点此</a></p>',
        f"<p>{PARA}</p><p>原文地址：{href}</p>",
    ):
        assert headed(content).original_url is None


def test_original_url_resolves_relative_links_against_the_page() -> None:
    art = headed(f"<p>{PARA}</p><p>原文链接：<a href='/orig/1.html'>点此</a></p>")
    assert art.original_url == "http://e.test/orig/1.html"
    art = headed(f"<p>{PARA}</p><p><a href='https://news.example.test/x'>阅读原文</a></p>")
    assert art.original_url == "https://news.example.test/x"


# ------------------------------------------------------------------ headline (meta.py)


def headline_doc(lines: list[tuple[str, int, int]], title: str = "", **head: str) -> Doc:
    """A page of (text, heading level, linked characters) lines in one block."""
    doc = Doc(title=title, meta=dict(head))
    doc.elems = [Elem("div", -1, "", 0, 0, len(lines))]
    doc.lines = [Line(t, len(t.replace(" ", "")), links, 0, h) for t, h, links in lines]
    return doc


LINKED = ("栏目链接文字", 0, 6)  # a line that is all link: never a headline


def test_the_fallback_headline_is_the_nearest_heading_from_the_body_start_up() -> None:
    lines = [LINKED, LINKED, ("市政府召开常务会议", 1, 0), ("正文第一段。", 0, 0)]
    assert meta.title_above(headline_doc(lines), 3) == ("市政府召开常务会议", 2)
    lines = [LINKED, ("上一级标题文字", 2, 0), ("市政府召开常务会议", 1, 0)]
    assert meta.title_above(headline_doc(lines), 2) == ("市政府召开常务会议", 2)  # itself
    assert meta.title_above(headline_doc(lines), 3) == ("市政府召开常务会议", 2)  # no body


@pytest.mark.parametrize(
    ("heading", "found"),
    [("甲乙丙丁戊", True), ("甲乙丙丁", False), ("甲" * 80, True), ("甲" * 81, False)],
)
def test_a_fallback_heading_is_five_to_eighty_characters(heading: str, found: bool) -> None:
    lines = [(heading, 2, 0), LINKED, ("正文。", 0, 0)]
    assert meta.title_above(headline_doc(lines), 2) == ((heading, 0) if found else (None, None))


def test_a_linked_heading_is_no_fallback_headline() -> None:
    lines = [("市政府召开常务会议", 1, 3), ("正文。", 0, 0)]
    assert meta.title_above(headline_doc(lines), 1) == (None, None)


def test_the_fallback_looks_nine_lines_up_and_never_below() -> None:
    for at, found in ((1, True), (0, False)):
        lines = [LINKED] * 10 + [("正文第一段。", 0, 0), ("市政府召开常务会议", 1, 0)]
        lines[at] = ("市政府召开常务会议", 1, 0)
        expected = ("市政府召开常务会议", at) if found else (None, None)
        assert meta.title_above(headline_doc(lines), 10) == expected
    below = [LINKED, LINKED, LINKED, ("正文第一段。", 0, 0), ("市政府召开常务会议", 1, 0)]
    assert meta.title_above(headline_doc(below), 3) == (None, None)


def test_without_a_heading_the_nearest_plain_short_line_above_is_the_headline() -> None:
    lines = [
        LINKED,
        ("市政府召开常务会议", 0, 0),
        ("2024年5月10日 来源：新华社", 0, 0),
        ("正文。", 0, 0),
    ]
    assert meta.title_above(headline_doc(lines), 3) == ("市政府召开常务会议", 1)
    lines = [("市政府召开常务会议", 0, 0), ("正文。", 0, 0), ("正文第二段", 0, 0)]
    assert meta.title_above(headline_doc(lines), 1) == ("市政府召开常务会议", 0)  # not the body


@pytest.mark.parametrize(
    ("line", "taken"),
    [
        ("市政府召开常务会议", True),
        ("甲乙丙丁戊", True),
        ("甲乙丙丁", False),  # too short
        ("甲" * 80, True),
        ("甲" * 81, False),  # too long
        ("2024年5月10日 市政府召开", False),  # a date line
        ("发布机构和单位：某某", False),  # a label in its first eight characters
        ("发布机构和单位名：某某", True),  # a colon later on
        ("市政府召开常务会议。", False),  # a sentence
        ("市政府召开会议；部署工作", False),
    ],
)
def test_a_plain_fallback_line_is_short_dateless_and_no_label_or_sentence(
    line: str, taken: bool
) -> None:
    lines = [LINKED, (line, 0, 0), ("正文。", 0, 0)]
    assert meta.title_above(headline_doc(lines), 2) == ((line, 1) if taken else (None, None))


def test_without_a_line_the_fallback_is_the_main_segment_of_the_title() -> None:
    assert meta.title_above(headline_doc([], "市政府召开常务会议_要闻_示例网"), 0) == (
        "市政府召开常务会议",
        None,
    )
    title = "要闻_市政府召开常务会议研究部署_示例网"  # the first segment is a channel
    assert meta.title_above(headline_doc([], title), 0) == ("市政府召开常务会议研究部署", None)
    assert meta.title_above(headline_doc([], "甲乙丙丁戊己_短_示例网"), 0) == ("甲乙丙丁戊己", None)
    assert meta.title_above(headline_doc([]), 0) == (None, None)


@pytest.mark.parametrize(
    ("title", "head"),
    [
        ("市政府召开常务会议_要闻_示例网", "市政府召开常务会议"),
        ("市政府召开常务会议_要闻", "市政府召开常务会议"),
        ("短标题", "短标题"),  # one segment stays, however short
        ("市政府召开常务会议_" + "甲" * 12, "市政府召开常务会议"),
        ("市政府召开常务会议_" + "甲" * 13, "市政府召开常务会议 " + "甲" * 13),
    ],
)
def test_the_title_head_drops_trailing_segments_of_at_most_12_characters(
    title: str, head: str
) -> None:
    assert meta._head(title) == head


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("标题-示例网", "示例网"),
        ("标题_示例", "示例"),
        ("标题_" + "示" * 20, "示" * 20),
        ("标题_" + "示" * 21, None),
        ("标题 - 示", None),
        ("标题", None),
    ],
)
def test_the_site_name_is_a_short_last_title_segment(title: str, name: str | None) -> None:
    assert meta.site_name(Doc(title=title)) == name
    assert meta.site_name(Doc(title=title, meta={"og:site_name": "示例网站"})) == "示例网站"


@pytest.mark.parametrize(
    ("lines", "editor"),
    [
        (["编辑：" + "甲" * 30], "甲" * 30),
        (["编辑：" + "甲" * 31], None),  # too long for a name
        (["编辑：  来源：新华社"], None),  # nothing after the label
    ],
)
def test_an_editor_is_a_short_value_after_its_label(lines: list[str], editor: str | None) -> None:
    assert meta.find_editor(lines) == editor


@pytest.mark.parametrize(
    ("lines", "source"),
    [
        (["来源：", "新华社"], "新华社"),  # a table cell: the value on the next line
        (["来源：", "甲" * 20], "甲" * 20),
        (["来源：", "甲" * 21], None),
        (["来源："], None),
        (["来源：【新华社】北京"], "新华社"),
        (["来源：新华社\u3000北京"], "新华社\u3000北京"),  # only a plain space ends it
        (["来源：新华社 北京"], "新华社"),
        (["来源：" + "甲" * 30], "甲" * 30),
        (["来源：" + "甲" * 31], None),
    ],
)
def test_a_source_is_a_short_value_after_its_label_or_in_the_next_cell(
    lines: list[str], source: str | None
) -> None:
    assert meta.find_source(lines) == source


def link_doc(lines: list[str], links: list[tuple[str, str, int]]) -> Doc:
    doc = headline_doc([(t, 0, 0) for t in lines])
    doc.links = links
    return doc


def test_the_original_link_is_an_anchor_a_printed_url_or_a_link_on_a_labelled_line() -> None:
    base = "http://a.test/n/1.html"
    anchor = link_doc(["阅读原文"], [("http://b.test/a.html", "阅读原文", 0)])
    assert meta.find_original_url(anchor, base) == "http://b.test/a.html"
    relative = link_doc(["阅读原文"], [("/a.html", "阅读原文", 0)])
    assert meta.find_original_url(relative, base) == "http://a.test/a.html"
    script = link_doc(["阅读原文"], [("javascript:void(0)", "阅读原文", 0)])
    assert meta.find_original_url(script, base) is None
    printed = link_doc(["正文。", "原文链接：http://b.test/b.html。"], [])
    assert meta.find_original_url(printed, base) == "http://b.test/b.html"
    labelled = link_doc(["原文地址：点击这里", "正文。"], [("/c.html", "点击这里", 0)])
    assert meta.find_original_url(labelled, base) == "http://a.test/c.html"
    unlabelled = link_doc(["正文。", "原文地址："], [("/c.html", "点击这里", 0)])
    assert meta.find_original_url(unlabelled, base) is None
    outside = link_doc(["原文地址："], [("/c.html", "点击这里", 1), ("/d.html", "点击", -1)])
    assert meta.find_original_url(outside, base) is None


HEADLINE = "市政府召开常务会议研究部署春季农业生产工作"


def test_the_headline_is_matched_against_og_title_articletitle_or_title() -> None:
    for head in ({"og:title": HEADLINE}, {"articletitle": HEADLINE}):
        assert meta.find_title(headline_doc([(HEADLINE, 0, 0)], **head)) == (HEADLINE, 0)
    assert meta.find_title(headline_doc([(HEADLINE, 0, 0)], HEADLINE + "_要闻")) == (HEADLINE, 0)
    assert meta.find_title(headline_doc([(HEADLINE, 0, 0)])) == (None, None)


@pytest.mark.parametrize(
    ("line", "heading", "found"),
    [
        ("甲" * 150, 0, True),
        ("甲" * 151, 0, False),  # too long for a headline
        ("甲乙丙丁", 1, True),
        ("甲乙丙", 1, False),  # too short
        ("甲乙丙丁戊己", 0, True),
        ("甲乙丙丁戊", 0, False),  # unhinted: six characters at least
    ],
)
def test_a_headline_line_has_a_length_within_bounds(line: str, heading: int, found: bool) -> None:
    doc = headline_doc([(line, heading, 0)], line)
    assert meta.find_title(doc) == ((line, 0) if found else (None, None))


@pytest.mark.parametrize(("linked", "found"), [(0, True), (12, True), (13, False)])
def test_a_headline_is_not_mostly_a_link(linked: int, found: bool) -> None:
    doc = headline_doc([(HEADLINE, 0, linked)], HEADLINE)  # 21 characters: 2 * 12 <= 21 + 4
    assert meta.find_title(doc) == ((HEADLINE, 0) if found else (None, None))


@pytest.mark.parametrize(
    ("attrs", "heading", "found"),
    [("", 0, False), ("title", 0, True), ("headline", 0, True), ("", 2, True)],
)
def test_a_hinted_line_may_match_the_title_more_loosely(
    attrs: str, heading: int, found: bool
) -> None:
    line = "市政府召开常务会议部署"  # 9 of its 11 characters begin the title
    doc = headline_doc([(line, heading, 0)], HEADLINE)
    doc.elems[0].attrs = attrs
    assert meta.find_title(doc) == ((line, 0) if found else (None, None))


def test_a_headline_broken_over_lines_is_joined_while_it_stays_in_the_title() -> None:
    lines = [("市政府召开常务会议", 0, 0), ("研究部署", 0, 0), ("春季农业生产工作", 0, 0)]
    assert meta.find_title(headline_doc(lines, HEADLINE)) == (
        "市政府召开常务会议 研究部署 春季农业生产工作",
        2,
    )
    parts = ["甲乙丙丁戊", "己庚辛壬癸", "子丑寅卯辰", "巳午未申酉", "戌亥天地玄", "黄宇宙洪荒"]
    doc = headline_doc([(p, 1, 0) for p in parts], "".join(parts))
    assert meta.find_title(doc) == (" ".join(parts[:5]), 4)  # at most four lines joined


@pytest.mark.parametrize(("length", "joined"), [(59, True), (60, False)])
def test_only_a_short_next_line_is_joined_to_a_headline(length: int, joined: bool) -> None:
    rest = "甲" * length
    doc = headline_doc([("市政府召开", 1, 0), (rest, 0, 0)], "市政府召开" + rest)
    assert meta.find_title(doc) == (("市政府召开 " + rest, 1) if joined else (rest, 1))


def test_the_headline_beats_a_line_that_also_carries_the_site_suffix() -> None:
    title = "市政府召开常务会议_要闻_示例网"
    lines = [(title, 0, 0), ("市政府召开常务会议", 0, 0)]
    assert meta.find_title(headline_doc(lines, title)) == ("市政府召开常务会议", 1)


def test_a_higher_heading_wins_and_equal_lines_go_to_the_first() -> None:
    line = "市政府召开常务会议"
    assert meta.find_title(headline_doc([(line, 3, 0), (line, 1, 0)], line)) == (line, 1)
    assert meta.find_title(headline_doc([(line, 0, 0), (line, 2, 0)], line)) == (line, 1)
    assert meta.find_title(headline_doc([(line, 0, 0), (line, 0, 0)], line)) == (line, 0)
    assert meta.find_title(headline_doc([(line, 2, 0), (line, 2, 0)], line)) == (line, 0)


def test_a_footer_line_above_a_disclaimer_does_not_cut_it_short() -> None:
    lines = [("版权所有 示例网站", 1), ("特别声明", 2), ("第1条。", 2), ("第2条。", 2)]
    doc = notice_doc(lines, [(-1, 0, 4), (0, 0, 1), (0, 1, 4)])
    assert notices.find_disclaimer(doc, 1, 4) == (1, "特别声明\n第1条。\n第2条。")


_HEAD_ONLY = """<html><head><title>澜江省召开全省防汛工作会议_澜江省人民政府</title>
<meta name="PubDate" content="2023-06-05 09:30"><meta name="ContentSource" content="澜江日报">
</head><body><h1>澜江省召开全省防汛工作会议</h1><div class="content">
<p>6月4日，澜江省召开全省防汛工作会议，部署今年汛期各项工作，要求各地压实责任、细化预案。</p>
<p>会议强调，要加强雨情水情监测预报，做好山洪地质灾害防范，确保人民群众生命财产安全。</p>
</div></body></html>"""


def test_a_date_and_source_declared_only_in_the_head_are_taken() -> None:
    article = parse_page(_HEAD_ONLY, "https://www.example.gov.cn/art/2023/6/5/art_1.html")
    assert (article.published, article.source) == ("2023-06-05T09:30", "澜江日报")


def test_what_the_page_prints_wins_over_what_its_head_declares() -> None:
    meta_line = "<p>发布时间：2023-06-04 来源：省水利厅</p>"
    printed = _HEAD_ONLY.replace('<div class="content">', meta_line + '<div class="content">')
    article = parse_page(printed, "https://www.example.gov.cn/art/2023/6/5/art_1.html")
    assert (article.published, article.source) == ("2023-06-04", "省水利厅")
