"""Decoding never trusts one signal: BOM, header, meta, verification, detection."""

from __future__ import annotations

import pytest

from scraper.decode import decode, normalize_charset

TEXT = "<html><body><p>朱镕基同志在国务院常务会议上讲话，强调政府工作要实事求是。</p></body></html>"


def test_utf8_with_meta_decodes_as_utf8() -> None:
    data = ('<meta charset="utf-8">' + TEXT).encode("utf-8")
    assert decode(data)[1] == "utf-8"


def test_gbk_declared_only_in_meta_decodes_as_gb18030() -> None:
    data = ('<meta http-equiv="Content-Type" content="text/html; charset=gbk">' + TEXT).encode(
        "gbk"
    )
    text, encoding = decode(data)
    assert encoding == "gb18030" and "朱镕基" in text


def test_gb2312_declaration_is_widened_so_rare_characters_survive() -> None:
    data = ('<meta charset="gb2312">' + TEXT).encode("gb18030")  # 镕 is not in GB2312
    text, encoding = decode(data)
    assert encoding == "gb18030" and "朱镕基" in text


def test_page_declaring_gb2312_that_is_utf8_decodes_as_utf8() -> None:
    data = ('<meta charset="gb2312">' + TEXT).encode("utf-8")
    text, encoding = decode(data, "text/html; charset=gb2312")
    assert encoding == "utf-8" and "朱镕基" in text


def test_undeclared_gbk_page_decodes_as_gbk() -> None:
    text, encoding = decode(TEXT.encode("gbk"))
    assert encoding == "gb18030" and "实事求是" in text


def test_http_charset_is_used_when_meta_is_absent() -> None:
    page = "<html><body><p>臺灣地區政府工作報告，說明施政重點。</p></body></html>"
    text, encoding = decode(page.encode("big5"), "text/html; charset=big5")
    assert encoding == "big5hkscs" and "報告" in text


def test_bom_wins_over_declarations() -> None:
    data = b"\xef\xbb\xbf" + ('<meta charset="gbk">' + TEXT).encode("utf-8")
    assert decode(data, "text/html; charset=gbk")[1] == "utf-8"


def test_a_few_broken_bytes_keep_the_right_encoding() -> None:
    data = TEXT.encode("gbk") * 20 + b"\xff"
    text, encoding = decode(data, "text/html; charset=gbk")
    assert encoding == "gb18030" and text.count("\ufffd") == 1


def test_unknown_charset_names_are_ignored() -> None:
    assert normalize_charset("x-no-such-charset") is None
    assert normalize_charset("GB2312") == "gb18030"
    assert normalize_charset("UTF8") == "utf-8"


@pytest.mark.parametrize(
    "name", ["rot13", "base64", "zlib", "uu", "idna", "unicode_escape", "utf-7"]
)
def test_a_codec_that_is_no_charset_is_ignored(name: str) -> None:
    """Declared in a header or a meta tag, it made decoding raise (LookupError, UnicodeError)."""
    assert normalize_charset(name) is None
    data = (f'<meta charset="{name}">' + TEXT).encode("gb18030")
    assert decode(data + b"\xff", f"text/html; charset={name}")[0].endswith(TEXT + "\ufffd")
