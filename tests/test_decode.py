"""Decoding never trusts one signal: BOM, header, meta, verification, detection."""

from __future__ import annotations

import codecs

import pytest

from scraper.decode import (
    charset_from_content_type,
    charset_from_meta,
    decode,
    normalize_charset,
)

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


def test_a_declared_charset_that_decodes_cleanly_beats_the_gb18030_guess() -> None:
    data = ('<meta charset="koi8-r">' + TEXT).encode("gbk")  # clean koi8-r too
    assert decode(data)[1] == "koi8-r"


def test_the_http_header_is_tried_before_the_meta_tag() -> None:
    data = ('<meta charset="koi8-r">' + TEXT).encode("gbk")
    assert decode(data, "text/html; charset=windows-1252")[1] == "cp1252"
    assert decode(data, "text/html")[1] == "koi8-r"


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),  # begins with the UTF-16 LE BOM: tried first
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ],
)
def test_each_bom_names_its_encoding_and_is_dropped(bom: bytes, codec: str) -> None:
    assert decode(bom + TEXT.encode(codec), "text/html; charset=gbk") == (TEXT, codec)


class _Detected:
    """What ``charset_normalizer.from_bytes`` answers, reduced to what decode reads."""

    def __init__(self, encoding: str | None) -> None:
        self.encoding = encoding

    def best(self) -> _Detected | None:
        return self if self.encoding is not None else None


def detection_says(monkeypatch: pytest.MonkeyPatch, encoding: str | None) -> list[bytes]:
    seen: list[bytes] = []

    def from_bytes(data: bytes) -> _Detected:
        seen.append(data)
        return _Detected(encoding)

    monkeypatch.setattr("scraper.decode.from_bytes", from_bytes)
    return seen


def test_up_to_two_broken_bytes_keep_the_first_candidate_that_mostly_decodes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = detection_says(monkeypatch, None)
    assert decode(b"hello world \xff\xff") == ("hello world \ufffd\ufffd", "utf-8")
    assert asked == []
    # a third on so short a text is too many: detection is asked, and without an answer
    # the page is read as GB18030, the usual encoding of an undeclared Chinese page
    assert decode(b"hello world \xff\xff\xff") == ("hello world \ufffd\ufffd\ufffd", "gb18030")
    assert asked == [b"hello world \xff\xff\xff"]


def test_a_long_page_may_carry_one_broken_byte_per_thousand_characters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    detection_says(monkeypatch, None)
    page = TEXT.encode("utf-8") * 96 + b"x" * 42  # 5,994 characters, 6,000 with six broken
    text, codec = decode(page + b"\xff" * 6)
    assert codec == "utf-8" and len(text) == 6000 and text.count("\ufffd") == 6
    # past that, a page whose characters mostly decode as UTF-8 is still UTF-8, not a guess
    assert decode(page + b"\xff" * 7)[1] == "utf-8"


@pytest.mark.parametrize(
    ("data", "text", "codec"),
    [
        # a one-line notice with broken bytes: detection said iso8859-5 and cp1250
        (
            "<p>政府工作报告</p>".encode("gbk") + b"\xff" * 3,
            "<p>政府工作报告</p>\ufffd" * 1,
            "gb18030",
        ),
        (b"\xff" * 3 + "<p>朱镕基</p>".encode("gbk"), "\ufffd\ufffd\ufffd<p>朱镕基</p>", "gb18030"),
        ("<p>政府</p>".encode() + b"\xff" * 3, "<p>政府</p>\ufffd\ufffd\ufffd", "utf-8"),
    ],
)
def test_a_short_undeclared_page_with_broken_bytes_is_not_left_to_a_guess(
    monkeypatch: pytest.MonkeyPatch, data: bytes, text: str, codec: str
) -> None:
    asked = detection_says(monkeypatch, "iso8859-5")
    got_text, got_codec = decode(data)
    assert got_codec == codec and asked == []
    assert got_text.replace("\ufffd", "") == text.replace("\ufffd", "")


def test_a_short_undeclared_gbk_page_is_gb18030() -> None:
    """Without the GB18030 fallback detection answers for these, and wrongly (cp949)."""
    for line in ("<p>政府工作报告</p>", "<p>朱镕基</p>", "关于做好春节放假安排的通知"):
        assert decode(line.encode("gbk")) == (line, "gb18030")


def test_detection_answers_in_our_codec_names_and_sees_the_first_200_000_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = b"x" * 250_000 + b"\xff" * 300  # too many broken bytes to read past
    asked = detection_says(monkeypatch, "GBK")
    assert decode(broken)[1] == "gb18030"  # widened as a declared name would be
    assert asked == [broken[:200_000]]
    detection_says(monkeypatch, "cp1006")
    assert decode(b"hello world \xff\xff\xff") == ("hello world \ufe7d\ufe7d\ufe7d", "cp1006")


def test_declared_names_are_read_from_the_content_type() -> None:
    assert charset_from_content_type("text/html; charset=GBK") == "GBK"
    assert charset_from_content_type('text/html;Charset = "utf-8"') == "utf-8"
    assert charset_from_content_type("text/html") is None
    assert charset_from_content_type("") is None
    assert charset_from_content_type(None) is None


def test_declared_names_are_read_from_either_meta_form() -> None:
    assert charset_from_meta(b'<head><meta charset="GB2312">') == "GB2312"
    http_equiv = b'<meta http-equiv="Content-Type" content="text/html; charset=gbk" />'
    assert charset_from_meta(http_equiv) == "gbk"
    assert charset_from_meta(b"<p>charset=gbk</p>") is None


def test_a_meta_charset_is_looked_for_in_the_first_4096_bytes_only() -> None:
    tag = b'<meta charset="gbk">'
    fits = b" " * (4096 - len(tag) + 2) + tag  # the name ends on byte 4096
    assert charset_from_meta(fits) == "gbk"
    assert charset_from_meta(b" " + fits) == "gb"  # cut at 4096
    assert charset_from_meta(b" " * 4096 + tag) is None


@pytest.mark.parametrize(
    ("declared", "codec"),
    [
        ("cp936", "gb18030"),  # widened by its canonical name (gbk)
        ("EUC-CN", "gb18030"),
        ("GBK", "gb18030"),
        ("big5", "big5hkscs"),
        ("ISO-8859-1", "cp1252"),
        ("latin-1", "cp1252"),
        ("us-ascii", "cp1252"),
        ("ASCII", "cp1252"),
        (' "gbk" ', "gb18030"),
        ("'utf-8'", "utf-8"),
        ("utf8", "utf-8"),
        ("windows-1252", "cp1252"),
        ("shift_jis", "shift_jis"),
        ("utf-16", "utf-16"),
    ],
)
def test_declared_names_become_codecs_widened_where_narrow_ones_break(
    declared: str, codec: str
) -> None:
    assert normalize_charset(declared) == codec


@pytest.mark.parametrize(
    "name", ["", None, "charmap", "undefined", "punycode", "raw_unicode_escape", "hex"]
)
def test_no_name_and_names_of_no_page_encoding_give_none(name: str | None) -> None:
    assert normalize_charset(name) is None


@pytest.mark.parametrize(
    ("head", "charset"),
    [
        (b'<meta charset="gbk"><meta charset="utf-8">', "gbk"),  # the first tag
        (b'<meta charset="gbk" charset="utf-8">', "utf-8"),  # its last declaration
        (b'<meta charset="gbk" data-charset-note="x">', "gbk"),  # a word that is no declaration
        (b"<meta charset=gbk><p>charset=utf-8</p>", "gbk"),  # the tag ends at its '>'
        (b'<meta name="x"><p>charset=gbk</p>', None),  # outside any meta tag
        (b'<meta charset="gbk"', "gbk"),  # a tag cut off by the window still counts
        (b"<META CHARSET=GB2312>", "GB2312"),
        (b'charset=utf-8 <meta name="x"><meta charset="gbk">', "gbk"),  # text before the tags
        (b'charset=utf-8 <meta data-charset-x="1"><meta charset="gbk">', "gbk"),
        (b'<meta charset="gbk" charset="koi8-r" data-charset-note="x">', "koi8-r"),
    ],
)
def test_the_meta_charset_is_the_last_declaration_of_the_first_declaring_tag(
    head: bytes, charset: str | None
) -> None:
    assert charset_from_meta(head) == charset


def test_a_declaration_equal_to_a_tried_codec_does_not_end_the_candidates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    detection_says(monkeypatch, None)
    data = ('<meta charset="koi8-r">' + TEXT).encode("gbk")  # clean as KOI8-R
    assert decode(data, "text/html; charset=utf-8")[1] == "koi8-r"  # UTF-8 was tried first


def test_replacement_characters_in_clean_utf8_are_text_not_breakage() -> None:
    data = ("\ufffd" * 10 + TEXT).encode("utf-8")
    assert decode(data) == ("\ufffd" * 10 + TEXT, "utf-8")


def test_a_bom_page_with_broken_bytes_still_decodes_with_the_boms_codec() -> None:
    assert decode(codecs.BOM_UTF8 + b"ok\xff") == ("ok\ufffd", "utf-8")


def test_a_mostly_clean_candidate_is_decoded_with_its_own_codec(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    detection_says(monkeypatch, None)
    page = "臺灣地區政府工作報告，說明施政重點。" * 20
    text, codec = decode(page.encode("big5") + b"\xff", "text/html; charset=big5")
    assert (text, codec) == (page + "\ufffd", "big5hkscs")


def test_with_nothing_else_left_a_page_is_read_as_gb18030(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    detection_says(monkeypatch, None)
    text, codec = decode(TEXT.encode("gbk") + b"\xff" * 10)
    assert codec == "gb18030" and text.startswith(TEXT) and text.count("\ufffd") == 10
