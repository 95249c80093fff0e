"""Attachment text: real government files of each kind, the sniffing, and hostile input.

The real files (tests/documents/, MANIFEST.json says where each comes from) are read and
specific Chinese phrases are looked for in order. Kinds with no real sample here (a CJK PDF
whose text is reachable only through a ToUnicode map, a WPS-style XLSX with dates and inline
strings, a DOCX with a text box) are built below from hand-written bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from pathlib import Path

import pytest

import scraper.documents as documents
from scraper.documents import extract, limits, sniff

DOCS = Path(__file__).parent / "documents"
FAST = 10.0  # seconds: every hostile case must end well inside this


def read(name: str) -> bytes:
    return (DOCS / name).read_bytes()


def in_order(text: str, phrases: list[str]) -> bool:
    at = 0
    for phrase in phrases:
        found = text.find(phrase, at)
        if found < 0:
            return False
        at = found + len(phrase)
    return True


# --- builders for files with no real sample -----------------------------------------------


def make_cjk_pdf(pages: list[list[str]]) -> bytes:
    """A PDF whose CJK text is reachable only through a ToUnicode map (CID font, Identity-H)."""
    chars = sorted({ch for page in pages for line in page for ch in line})
    cid = {ch: index + 1 for index, ch in enumerate(chars)}
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    def stream(data: bytes) -> bytes:
        return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"

    catalog = add(b"")
    pages_ref = add(b"")
    bfchar = b"".join(b"<%04X> <%04X>\n" % (cid[ch], ord(ch)) for ch in chars)
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        b"/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
        b"1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
        b"%d beginbfchar\n%sendbfchar\n"
        % (len(chars), bfchar)
        + b"endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    to_unicode = add(stream(cmap))
    descriptor = add(
        b"<< /Type /FontDescriptor /FontName /SimSun /Flags 4 /FontBBox [0 -141 1000 859]"
        b" /ItalicAngle 0 /Ascent 859 /Descent -141 /CapHeight 700 /StemV 80 >>"
    )
    cidfont = add(
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /SimSun /CIDSystemInfo"
        b" << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >>"
        b" /FontDescriptor %d 0 R /DW 1000 >>" % descriptor
    )
    font = add(
        b"<< /Type /Font /Subtype /Type0 /BaseFont /SimSun /Encoding /Identity-H"
        b" /DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>" % (cidfont, to_unicode)
    )
    kids = []
    for page in pages:
        ops = [b"BT /F1 14 Tf 16 TL 56 780 Td"]
        ops += [b"<%s> Tj T*" % b"".join(b"%04X" % cid[ch] for ch in line) for line in page]
        ops.append(b"ET")
        content = add(stream(b"\n".join(ops)))
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Resources"
                b" << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (pages_ref, font, content)
            )
        )
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_ref
    refs = b" ".join(b"%d 0 R" % kid for kid in kids)
    objects[pages_ref - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, len(kids))
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\n" % (len(objects) + 1, catalog)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


NOTICE_PAGES = [
    ["关于印发《数据安全管理办法》的通知", "各省、自治区、直辖市人民政府："],
    ["附件：数据分类分级目录", "国务院办公厅"],
]

_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_MC = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'


def make_zip(members: dict[str, bytes | str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_ML = "application/vnd.openxmlformats-officedocument."


def content_types(main: str, part: str, *overrides: tuple[str, str]) -> str:
    """[Content_Types].xml and _rels/.rels as Word and Excel write them (so that python-docx
    and openpyxl, measured against in bench/documents.py, accept the built files too)."""
    extra = "".join(f'<Override PartName="/{p}" ContentType="{_ML}{t}"/>' for p, t in overrides)
    return (
        f'<Types xmlns="{_CT}"><Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/{part}" ContentType="{_ML}{main}"/>{extra}</Types>'
    )


def package_rels(part: str) -> str:
    return (
        f'<Relationships xmlns="{_RELS}">'
        f'<Relationship Id="rId1" Type="{_OFFICE}" Target="{part}"/></Relationships>'
    )


def make_docx(body: str) -> bytes:
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><w:document {_W} {_MC}>'
        f"<w:body>{body}</w:body></w:document>"
    )
    return make_zip(
        {
            "[Content_Types].xml": content_types(
                "wordprocessingml.document.main+xml", "word/document.xml"
            ),
            "_rels/.rels": package_rels("word/document.xml"),
            "word/document.xml": xml,
        }
    )


def para(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


DOCX_BODY = (
    para("关于开展2024年度安全生产检查的通知")
    + "<w:p><w:r><w:t>各区县</w:t></w:r><w:r><w:tab/><w:t>应急管理局：</w:t></w:r></w:p>"
    + "<w:tbl><w:tr><w:tc>"
    + para("序号")
    + "</w:tc><w:tc>"
    + para("检查内容")
    + "</w:tc></w:tr><w:tr><w:tc>"
    + para("1")
    + "</w:tc><w:tc>"
    + para("危险化学品企业")
    + "</w:tc></w:tr></w:tbl>"
    # a text box: Word writes it twice, as DrawingML and as a VML fallback
    + "<w:p><w:r><mc:AlternateContent><mc:Choice>"
    + "<w:txbxContent>"
    + para("文本框内容")
    + "</w:txbxContent>"
    + "</mc:Choice><mc:Fallback><w:txbxContent>"
    + para("文本框内容")
    + "</w:txbxContent></mc:Fallback></mc:AlternateContent></w:r></w:p>"
    + "<w:p><w:del><w:r><w:delText>已删除的文字</w:delText></w:r></w:del>"
    + "<w:r><w:t>市应急管理局</w:t></w:r></w:p>"
)

_S = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'


def make_xlsx() -> bytes:
    """Two sheets as Excel and WPS write them: shared strings, an inline string, a date."""
    workbook = (
        f'<workbook {_S} {_R}><sheets><sheet name="名单" sheetId="1" r:id="rId1"/>'
        f'<sheet name="说明" sheetId="2" r:id="rId2"/></sheets></workbook>'
    )
    ws = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
    rels = (
        f'<Relationships xmlns="{_RELS}">'
        f'<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="{ws}worksheet"/>'
        f'<Relationship Id="rId2" Target="/xl/worksheets/sheet2.xml" Type="{ws}worksheet"/>'
        f'<Relationship Id="rId3" Target="sharedStrings.xml" Type="{ws}sharedStrings"/>'
        f'<Relationship Id="rId4" Target="styles.xml" Type="{ws}styles"/>'
        "</Relationships>"
    )
    shared = (
        f'<sst {_S} count="4" uniqueCount="4">'
        "<si><t>单位名称</t></si><si><t>认定日期</t></si>"
        "<si><r><t>杭州市</t></r><r><t>第一人民医院</t></r>"
        '<rPh sb="0" eb="3"><t>ハンシュウ</t></rPh></si>'
        "<si><t>金额（万元）</t></si></sst>"
    )
    styles = (
        f'<styleSheet {_S}><numFmts count="1"><numFmt numFmtId="176" '
        'formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/></numFmts>'
        '<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="176"/><xf numFmtId="14"/></cellXfs>'
        "</styleSheet>"
    )
    sheet1 = (
        f"<worksheet {_S}><sheetData>"
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
        '<c r="C1" t="s"><v>3</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" s="1"><v>45383</v></c>'
        '<c r="C2"><v>120.5</v></c></row>'
        '<row r="3"><c r="A3" t="inlineStr"><is><t>宁波市卫生健康委员会</t></is></c>'
        '<c r="B3" s="2"><v>45000</v></c><c r="C3" t="b"><v>1</v></c></row>'
        "</sheetData></worksheet>"
    )
    sheet2 = (
        f'<worksheet {_S}><sheetData><row r="1"><c r="A1" t="inlineStr">'
        "<is><t>以上名单自公布之日起生效</t></is></c></row></sheetData></worksheet>"
    )
    sml = "spreadsheetml."
    return make_zip(
        {
            "[Content_Types].xml": content_types(
                sml + "sheet.main+xml",
                "xl/workbook.xml",
                ("xl/worksheets/sheet1.xml", sml + "worksheet+xml"),
                ("xl/worksheets/sheet2.xml", sml + "worksheet+xml"),
                ("xl/sharedStrings.xml", sml + "sharedStrings+xml"),
                ("xl/styles.xml", sml + "styles+xml"),
            ),
            "_rels/.rels": package_rels("xl/workbook.xml"),
            "xl/workbook.xml": workbook,
            "xl/_rels/workbook.xml.rels": rels,
            "xl/sharedStrings.xml": shared,
            "xl/styles.xml": styles,
            "xl/worksheets/sheet1.xml": sheet1,
            "xl/worksheets/sheet2.xml": sheet2,
        }
    )


# --- the real files ----------------------------------------------------------------------


def test_manifest_matches_the_files() -> None:
    manifest = json.loads((DOCS / "MANIFEST.json").read_text(encoding="utf-8"))
    listed = {entry["file"] for entry in manifest}
    present = {path.name for path in DOCS.iterdir() if path.name != "MANIFEST.json"}
    assert listed == present
    for entry in manifest:
        assert hashlib.sha256(read(entry["file"])).hexdigest() == entry["sha256"], entry["file"]
        assert entry["repository"] and entry["commit"] and entry["licence"]


REAL = {
    "nea-standard-explanation-part1.docx": (
        "docx",
        [
            "核电厂定期安全评价 第1部分：通用要求",
            "编制说明",
            "本标准来源于国家能源局2021年下达的能源行业核电标准制修订计划",
            "“能源20210676”",
            "二、 编制过程",
        ],
    ),
    "nea-standard-explanation-part12.docx": (
        "docx",
        [
            "第12部分：设计",
            "国能综通科技[2021]92号",
            "大亚湾核电运营管理有限责任公司",
            "八、其他需要说明的问题",
        ],
    ),
    "nea-standard-draft-part1.docx": (
        "docx",
        [
            "中华人民共和国能源行业标准",
            "国家能源局",
            "前言\tII",  # table of contents row: both cells, in order
            "本部分由中国核电发展中心归口。",
            "\tSF11\t×\t×",  # the safety-factor matrix, a table cell per column
            "核电厂PSR大纲的一般内容",
        ],
    ),
    "issues-closed.xlsx": (
        "xlsx",
        [
            "# Sheet1",
            "title\tfile\turl\tdetail\tid",
            "0\t加油~以及一些建议\t2023-03-31.0002",
            "[复现问题] 构造 prompt 时从知识库中提取的文字乱码",
            "ChatGLM-6B模型能否回答英文问题？",
        ],
    ),
    "district-health-bureau-reply.ofd": (
        "ofd",
        [
            "路桥区卫生局文件",
            "路卫发〔2011〕76号",
            "关于同意张阿三同志辞职的批复",
            "区中医院：",
            "《浙江省\n专业技术人员和管理人员辞职暂行办法》",
            "2011年3月10日印发",
        ],
    ),
    "municipal-letter-culvert.ofd": (
        "ofd",
        ["关于加快南货场铁路涵洞下穿建设的函", "蚌山区政府：", "根据我市2023年房地产用地供应计划"],
    ),
    "incoming-document-form.ofd": (
        "ofd",
        # the title, then the table's first row: reference number label, then its value
        [
            "市政府文件处理",
            "来文文号",
            "府办专督〔2020〕",
            "市委主要领导同志调研后续落实事项的通知",
        ],
    ),
    "einvoice-2024.ofd": (
        "ofd",
        ["2024年05月28日", "海南麒麟云服科技有限公司", "*信息技术服务*技术服务", "收款人:李蓉蓉"],
    ),
    "helloworld.ofd": ("ofd", ["你好呀，OFD Reader&Writer！"]),
    "procurement-consultation.pdf": ("pdf", ["竞争性磋商文件"]),
    "air-itinerary-einvoice.pdf": (
        "pdf",
        ["旅客姓名", "电子发票（航空运输电子客票行程单）", "南航 CZ8866", "民航发展基金"],
    ),
    "ocr-test.pdf": ("pdf", ["我是文字"]),
    "owner-password-only.pdf": ("pdf", ["Faktura nr FV 1/2021", "Łódź"]),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_file_text_in_order(name: str) -> None:
    kind, phrases = REAL[name]
    got = extract(read(name), name=name)
    assert (got.kind, got.error, got.truncated) == (kind, None, False)
    assert got.text is not None
    assert in_order(got.text, phrases), got.text[:2000]
    assert "\ufffd" not in got.text and "(cid:" not in got.text


def test_legacy_word_doc_is_named_not_read() -> None:
    got = extract(read("nea-standard-explanation-part12.doc"), name="附件1.doc")
    assert (got.kind, got.mime, got.text) == ("doc", "application/msword", None)
    assert got.error == "legacy Word .doc: no text extractor"


def test_legacy_kinds_by_name_and_by_streams() -> None:
    doc = read("nea-standard-explanation-part12.doc")
    assert sniff(doc) == "doc"  # the WordDocument stream
    assert sniff(doc, "通知.wps") == "wps"  # Kingsoft files carry a WordDocument stream too
    assert extract(doc, name="通知.wps").error == "WPS Office .wps: no text extractor"
    # an OLE2 file with none of the known streams: the name decides
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4000)
    assert sniff(ole) == "ole"
    got = extract(ole, name="统计表.xls")
    assert (got.kind, got.text, got.error) == ("xls", None, "legacy Excel .xls: no text extractor")


def test_encrypted_pdf_needing_a_password_is_an_error() -> None:
    started = time.monotonic()
    got = extract(read("encrypted-aes256.pdf"))
    assert (got.kind, got.text) == ("pdf", None)
    assert got.error == "encrypted PDF: a password is needed to open it"
    assert time.monotonic() - started < FAST


# --- built files ------------------------------------------------------------------------


def test_cjk_pdf_through_tounicode_in_page_order() -> None:
    got = extract(make_cjk_pdf(NOTICE_PAGES), name="附件.pdf")
    assert got.kind == "pdf" and got.error is None and got.text is not None
    assert in_order(got.text, [line for page in NOTICE_PAGES for line in page])


def test_docx_paragraphs_tables_textbox_once_no_deleted_text() -> None:
    got = extract(make_docx(DOCX_BODY), name="通知.docx")
    assert got.kind == "docx" and got.text is not None
    assert got.text.splitlines() == [
        "关于开展2024年度安全生产检查的通知",
        "各区县\t应急管理局：",
        "序号\t检查内容",
        "1\t危险化学品企业",
        "文本框内容",
        "市应急管理局",
    ]


def test_xlsx_cells_dates_inline_strings_every_sheet() -> None:
    got = extract(make_xlsx(), name="名单.xlsx")
    assert got.kind == "xlsx" and got.text is not None
    assert got.text.splitlines() == [
        "# 名单",
        "单位名称\t认定日期\t金额（万元）",
        "杭州市第一人民医院\t2024-04-01\t120.5",
        "宁波市卫生健康委员会\t2023-03-15\tTRUE",
        "# 说明",
        "以上名单自公布之日起生效",
    ]


def test_zip_lists_members_and_reads_known_kinds() -> None:
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.writestr("XXXXX.pdf", make_cjk_pdf(NOTICE_PAGES))
        zf.writestr("附件2.docx", make_docx(para("申报表填写说明")))
        zf.writestr("附件3.doc", read("nea-standard-explanation-part12.doc"))
    # a GBK name without the UTF-8 flag, as Windows zip tools write it (same byte length)
    data = bundle.getvalue().replace(b"XXXXX.pdf", "附件1.pdf".encode("gbk"))
    got = extract(data, name="附件.zip")
    assert got.kind == "zip" and got.text is not None
    assert in_order(got.text, ["附件1.pdf", "附件2.docx", "附件3.doc", "## 附件1.pdf", "各省"])
    assert "申报表填写说明" in got.text


# --- sniffing ----------------------------------------------------------------------------


def test_bytes_decide_over_name_and_mime() -> None:
    pdf = make_cjk_pdf(NOTICE_PAGES)
    got = extract(pdf, name="附件.doc", mime="application/msword")
    assert (got.kind, got.mime, got.error) == ("pdf", "application/pdf", None)
    assert sniff(read("nea-standard-explanation-part1.docx"), "x.pdf") == "docx"
    assert sniff(make_xlsx(), "x.docx", "application/pdf") == "xlsx"
    assert sniff(read("helloworld.ofd"), "x.zip") == "ofd"
    assert sniff(b"junk %PDF-1.4 after junk") == "pdf"  # a header within the first 1 KB


def test_name_then_mime_when_bytes_say_nothing() -> None:
    assert sniff(b"\x00\x01garbage", "附件.PDF?id=3") == "pdf"
    assert sniff(b"\x00\x01garbage", None, "application/vnd.ms-excel; charset=x") == "xls"
    assert sniff(b"\x00\x01garbage", "a.pdf", "application/msword") == "pdf"
    assert sniff(b"\x00\x01garbage") == "unknown"
    got = extract(b"plain words", name="readme.txt")
    assert (got.kind, got.text) == ("unknown", None) and got.error


# --- hostile input -----------------------------------------------------------------------


def ends_fast_with_error(data: bytes, **kw: str) -> documents.Extracted:
    started = time.monotonic()
    got = extract(data, **kw)
    assert time.monotonic() - started < FAST
    assert got.text is None and got.error and "\n" not in got.error
    return got


def test_zip_bomb_member_over_the_cap() -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", bytes(limits.MAX_MEMBER_BYTES + 1))
    assert len(bomb.getvalue()) < 200_000  # 64 MiB of zeros in well under 1 MB
    got = ends_fast_with_error(bomb.getvalue(), name="bomb.docx")
    assert got.kind == "docx" and "cap" in (got.error or "")


def test_zip_bomb_of_many_members_over_the_total(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_TOTAL_INFLATED", 8 * 1024 * 1024)
    monkeypatch.setattr("scraper.documents.safezip.MAX_TOTAL_INFLATED", 8 * 1024 * 1024)
    blank = make_docx(" " * 1_000_000)  # 1 MB of XML and no text: only the inflation counts
    got = ends_fast_with_error(make_zip({f"part{i}.docx": blank for i in range(12)}))
    assert "in total" in (got.error or "")


def test_zip_member_lying_about_its_size() -> None:
    honest = make_zip({"[Content_Types].xml": "<Types/>", "word/document.xml": bytes(1_000_000)})
    # Shrink the declared size in the local and central headers: zipfile then stops there.
    info = zipfile.ZipFile(io.BytesIO(honest)).getinfo("word/document.xml")
    lying = honest.replace(info.file_size.to_bytes(4, "little"), (100).to_bytes(4, "little"))
    got = ends_fast_with_error(lying, name="a.docx")
    assert got.kind == "docx"


def test_zip_with_too_many_entries() -> None:
    many = make_zip({f"{i}.txt": b"" for i in range(limits.MAX_ZIP_MEMBERS + 1)})
    got = ends_fast_with_error(many, name="many.zip")
    assert "entries" in (got.error or "")


def test_billion_laughs_refused() -> None:
    lol = (
        '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
        + f"]><w:document {_W}><w:body><w:p><w:r><w:t>&j;</w:t></w:r></w:p></w:body></w:document>"
    )
    data = make_zip({"[Content_Types].xml": "<Types/>", "word/document.xml": lol})
    got = ends_fast_with_error(data)
    assert "DTD" in (got.error or "")


def test_truncated_and_random_bytes() -> None:
    real = read("air-itinerary-einvoice.pdf")
    for cut in (real[:100], real[: len(real) // 3], make_cjk_pdf(NOTICE_PAGES)[:400]):
        started = time.monotonic()
        got = extract(cut, name="a.pdf")  # may recover some text; must not raise or hang
        assert time.monotonic() - started < FAST
        assert (got.text is None) == (got.error is not None)
    docx = read("nea-standard-draft-part1.docx")
    ends_fast_with_error(docx[: len(docx) // 2], name="a.docx")
    ends_fast_with_error(read("helloworld.ofd")[:800])
    rng = __import__("random").Random(7)
    for kind in ("pdf", "docx", "xlsx", "ofd", "doc", "zip"):
        noise = bytes(rng.getrandbits(8) for _ in range(20_000))
        got = extract(noise, name=f"x.{kind}")
        assert got.text is None and got.error
        for magic in (b"%PDF-1.7\n", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
            got = extract(magic + noise, name=f"x.{kind}")
            assert got.text is None and got.error


def test_empty_and_oversized_input(monkeypatch: pytest.MonkeyPatch) -> None:
    assert extract(b"", name="a.pdf").error == "empty file"
    monkeypatch.setattr(documents, "MAX_INPUT_BYTES", 1000)
    got = extract(make_cjk_pdf(NOTICE_PAGES), name="a.pdf")
    assert got.text is None and "cap" in (got.error or "")


def test_pdf_page_cap_keeps_the_first_pages() -> None:
    pages = [[f"第{n}页"] for n in range(1, limits.MAX_PDF_PAGES + 6)]
    got = extract(make_cjk_pdf(pages))
    assert got.error is None and got.truncated and got.text is not None
    assert f"第{limits.MAX_PDF_PAGES}页" in got.text
    assert f"第{limits.MAX_PDF_PAGES + 1}页" not in got.text


def test_character_cap_truncates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_CHARS", 50)
    got = extract(read("issues-closed.xlsx"))
    assert got.truncated and got.text is not None and len(got.text) == 50


def test_time_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_SECONDS", -1.0)
    got = extract(read("nea-standard-draft-part1.docx"))
    assert got.text is None and "time" in (got.error or "")


def test_scanned_pdf_without_text_layer() -> None:
    got = extract(make_cjk_pdf([[]]))
    assert got.text is None and got.error == "no text layer (a scanned image?)"
