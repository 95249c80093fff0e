"""The 信息公开 record table: 索引号, 发布机构, 发文字号, 成文日期, 主题分类, 有效性.

Government information-disclosure pages print a document's record above it (or beside it) in
one of a few layouts: a table of label and value cells, a list of ``label：value`` items, or
several pairs run together on one line (``索引号：… 发布机构：…``), the labels often spaced out to
align (``索 引 号``). All of them linearise to the same lines, so the fields are read from the
lines, not from markup: a label (with or without its colon) is followed by its value on the
same line, up to the next label, or alone in its cell with the value in the next one.

A page is taken to have a record table only where two or more distinct record labels are
printed: one ``文号：`` inside a paragraph is prose, not a record.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .dates import find_dates
from .dom import squash

# Each field's labels, best first: where a page prints two (主题分类 and 主题词), the first wins.
FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "index_number": ("索引号", "信息索引号", "索取号"),
    "issuer": (
        "发布机构",
        "发文机关",
        "发文单位",
        "发布机关",
        "发布单位",
        "制发机关",
        "制定机关",
        "成文单位",
    ),
    "doc_number": ("发文字号", "文号", "发文号", "文件编号"),
    "written": ("成文日期", "成文时间", "印发日期", "发文日期"),
    "subject": ("主题分类", "主题词", "信息分类", "分类"),
    "validity": ("有效性", "是否有效", "效力状态", "时效性", "有效状态"),
}
RECORD_FIELDS = tuple(FIELD_LABELS)

# Labels a record prints that no field keeps; they end the value before them all the same.
_OTHER_LABELS = (
    "发布日期",
    "发布时间",
    "公布日期",
    "施行日期",
    "实施日期",
    "生成日期",
    "公开日期",
    "标题",
    "名称",
    "文件名称",
    "关键词",
    "公开方式",
    "公开范围",
    "公开时限",
    "所属机构",
    "信息类别",
    "体裁分类",
    "组配分类",
    "服务对象",
    "内容分类",
    "来源",
    "废止日期",
    "失效日期",
)
_FIELD_OF = {label: name for name, labels in FIELD_LABELS.items() for label in labels}
_ALL = sorted({*_FIELD_OF, *_OTHER_LABELS}, key=len, reverse=True)  # longest first: 发文字号, 文号
# A label starts its line or follows a space or a separator, never the middle of a word (主题分类
# holds 分类, and a sentence may hold 文号), and ends at its colon or the line's end (alone in a
# table cell). Its characters may be spaced out to align (索 引 号).
_LABEL = re.compile(
    r"(?:^|(?<=[\s|｜;；,，、\]】）)]))"
    r"(" + "|".join(r"\s*".join(map(re.escape, label)) for label in _ALL) + r")"
    r"\s*(?:[:：︰]|$)"
)
# Any field's label, spaced out or not: a page without one has no record to read.
_ANY_FIELD = re.compile("|".join(r"\s*".join(map(re.escape, label)) for label in _FIELD_OF))
_MAX_LINE = 300  # a record line is short; a paragraph that happens to hold 文号： is not one
_BLANK = {"", "-", "--", "—", "无", "暂无", "/"}
_EDGES = "|｜;；,，、 "


def _pairs(text: str) -> list[tuple[str, str | None]]:
    """``(label, value)`` for each label on a line; value None where the label ends the line
    (its value is in the next cell)."""
    matches = list(_LABEL.finditer(text))
    out: list[tuple[str, str | None]] = []
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        value = text[m.end() : end].strip(_EDGES)
        out.append((squash(m.group(1)), value if value or end < len(text) else None))
    return out


def _clean(field: str, value: str) -> str | None:
    if value in _BLANK:
        return None
    if field == "written":
        found = find_dates(value)
        return found[0].iso[:10] if found else None
    if field in ("index_number", "doc_number"):
        return squash(value)
    return value


def find_record(texts: Sequence[str]) -> dict[str, str | None]:
    """The record fields printed in ``texts`` (a page's lines in order), each None where the
    page prints no record table or no value for it."""
    if not _ANY_FIELD.search("\n".join(texts)):  # most pages: no record, one pass in C
        return dict.fromkeys(FIELD_LABELS)
    found: dict[str, dict[str, str]] = {name: {} for name in FIELD_LABELS}
    labels_seen: set[str] = set()
    waiting: str | None = None  # a label alone in its cell: its value is the next line
    for raw in texts:
        text = " ".join(raw.split())
        if not text or len(text) > _MAX_LINE:
            waiting = None
            continue
        pairs = _pairs(text)
        if not pairs:
            if waiting is not None and waiting in _FIELD_OF:
                found[_FIELD_OF[waiting]].setdefault(waiting, text)
            waiting = None
            continue
        waiting = None
        for label, value in pairs:
            labels_seen.add(label)
            if value is None:
                waiting = label
            elif label in _FIELD_OF:
                found[_FIELD_OF[label]].setdefault(label, value)
    if len(labels_seen) < 2:
        return dict.fromkeys(FIELD_LABELS)
    record: dict[str, str | None] = {}
    for name, labels in FIELD_LABELS.items():
        record[name] = None
        for label in labels:
            if label in found[name] and (value := _clean(name, found[name][label])):
                record[name] = value
                break
    return record
