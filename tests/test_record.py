"""The 信息公开 record table read into fields, in the layouts government sites print it."""

from __future__ import annotations

import pytest

from scraper.parse.dom import build
from scraper.parse.record import RECORD_FIELDS, find_record

FULL = {
    "index_number": "115200000099000456/2023-00031",
    "issuer": "澜江省自然资源厅",
    "doc_number": "澜自然资发〔2023〕7号",
    "written": "2023-04-18",
    "subject": "国土资源、能源",
    "validity": "有效",
}

# Three templates, as three CMS families print the same record.
CELLS = """<table class="xxgk">
<tr><td>索 引 号：</td><td>115200000099000456/2023-00031</td>
    <td>主题分类：</td><td>国土资源、能源</td></tr>
<tr><td>发布机构：</td><td>澜江省自然资源厅</td><td>成文日期：</td><td>2023年04月18日</td></tr>
<tr><td>标　　题：</td><td colspan="3">关于做好耕地保护工作的通知</td></tr>
<tr><td>发文字号：</td><td>澜自然资发〔2023〕7号</td><td>有 效 性：</td><td>有效</td></tr>
</table>"""
ITEMS = """<ul class="info">
<li><span>索引号：</span>115200000099000456/2023-00031</li>
<li><span>发文机关：</span>澜江省自然资源厅</li>
<li><span>文号：</span>澜自然资发〔2023〕7号</li>
<li><span>成文日期：</span>2023-04-18</li>
<li><span>主题词：</span>国土资源、能源</li>
<li><span>是否有效：</span>有效</li>
</ul>"""
RUN_TOGETHER = """<div class="meta">
<p>索引号：115200000099000456/2023-00031　　发布机构：澜江省自然资源厅　　成文日期：2023.4.18</p>
<p>发文字号：澜自然资发〔2023〕7号 | 主题分类：国土资源、能源 | 有效性：有效</p>
</div>"""
LABEL_CELLS_NO_COLON = """<table>
<tr><th>索引号</th><td>115200000099000456/2023-00031</td></tr>
<tr><th>发布机构</th><td>澜江省自然资源厅</td></tr>
<tr><th>文号</th><td>澜自然资发〔2023〕7号</td></tr>
<tr><th>成文日期</th><td>2023年4月18日</td></tr>
<tr><th>主题分类</th><td>国土资源、能源</td></tr>
<tr><th>有效性</th><td>有效</td></tr>
</table>"""


def record_of(html: str) -> dict[str, str | None]:
    doc = build(f"<html><body>{html}<h1>关于做好耕地保护工作的通知</h1><p>正文。</p></body></html>")
    return find_record([ln.text for ln in doc.lines])


@pytest.mark.parametrize(
    "layout",
    [CELLS, ITEMS, RUN_TOGETHER, LABEL_CELLS_NO_COLON],
    ids=["label-and-value-cells", "list-items", "pairs-on-one-line", "header-cells"],
)
def test_every_field_is_read_from_each_layout(layout: str) -> None:
    assert record_of(layout) == FULL


def test_a_label_spaced_out_to_align_reads_as_written() -> None:
    assert record_of(CELLS)["index_number"] == FULL["index_number"]


def test_the_first_label_of_a_field_wins_where_a_page_prints_two() -> None:
    html = "<p>主题词：耕地</p><p>主题分类：国土资源、能源</p><p>索引号：1/2</p>"
    assert record_of(html)["subject"] == "国土资源、能源"


def test_a_label_inside_a_word_is_not_a_label() -> None:
    # 分类 inside 主题分类 and 文号 inside 发文字号 must not start values of their own.
    assert record_of(ITEMS)["doc_number"] == FULL["doc_number"]
    assert record_of(RUN_TOGETHER)["subject"] == FULL["subject"]


def test_prose_that_names_one_label_is_not_a_record() -> None:
    html = "<p>本通知发文字号：澜自然资发〔2023〕7号，请各地遵照执行。</p>"
    assert record_of(html) == dict.fromkeys(RECORD_FIELDS)


def test_blank_values_are_none_and_do_not_take_the_next_label() -> None:
    html = "<p>索引号：1/2 发文字号：无 有效性：</p><p>成文日期：见附件</p>"
    record = record_of(html)
    assert record["index_number"] == "1/2"
    assert record["doc_number"] is None
    assert record["validity"] is None
    assert record["written"] is None  # not a date


def test_a_page_without_a_record_has_none() -> None:
    assert record_of("<p>今天天气很好。</p>") == dict.fromkeys(RECORD_FIELDS)
