"""Images, attachments and related documents read from an article's body and the lines after."""

from __future__ import annotations

from scraper.models import DocLink, Image, LinkKind
from scraper.parse.attached import find_images, find_links
from scraper.parse.dom import Doc, build

SITE = "https://www.example.gov.cn"
BASE = SITE + "/zwgk/2023/0418/c123.html"

PAGE = """<html><body>
<div class="nav"><a href="/zcjd/">政策解读</a><a href="/files/guide.pdf">办事指南.pdf</a>
<img src="/logo.png" alt="网站标志"></div>
<h1>关于做好耕地保护工作的通知</h1>
<div class="article">
<p>各市人民政府：</p>
<p style="text-align:center"><img src="../img/field.jpg" alt="耕地"></p>
<p style="text-align:center">图为澜江省东部的高标准农田。</p>
<p>现将有关事项通知如下。<img src="data:image/png;base64,AAAA">
<img src="/px.gif" width="1" height="1"></p>
<figure><img src="https://cdn.example.com/map.png"><figcaption>耕地分布示意图</figcaption></figure>
<p>请认真贯彻执行。</p>
<p>附件：<a href="/files/2023/plan.pdf">1.耕地保护实施方案</a></p>
<p><a href="/files/2023/table.xlsx">附件2：任务分工表.xlsx</a></p>
<p><a href="download.jsp?id=7">附件3：申报表.docx</a></p>
</div>
<div class="related">
<p>相关解读：<a href="/zcjd/2023/c124.html">《关于做好耕地保护工作的通知》政策解读</a></p>
<p><a href="/zcjd/2023/c125.html">一图读懂耕地保护工作要点</a></p>
<p>相关政策：</p>
<p><a href="/zwgk/2021/c99.html">澜江省耕地保护条例实施办法</a></p>
</div>
<div class="footer"><a href="/about/">关于我们</a><img src="/police.png" alt="公安备案"></div>
</body></html>"""


def body_span(doc: Doc) -> tuple[int, int]:
    texts = [ln.text for ln in doc.lines]
    return texts.index("各市人民政府："), texts.index("请认真贯彻执行。")


def test_body_images_in_order_with_absolute_urls_alt_and_caption() -> None:
    doc = build(PAGE)
    first, last = body_span(doc)
    assert find_images(doc, first, last, BASE) == (
        Image(
            "https://www.example.gov.cn/zwgk/2023/img/field.jpg",
            "耕地",
            "图为澜江省东部的高标准农田。",
        ),
        Image("https://cdn.example.com/map.png", None, "耕地分布示意图"),
    )


def test_navigation_footer_data_uris_and_tracking_pixels_are_not_images() -> None:
    doc = build(PAGE)
    first, last = body_span(doc)
    urls = {image.url for image in find_images(doc, first, last, BASE)}
    assert not any(u.endswith(("logo.png", "police.png", "px.gif")) or "data:" in u for u in urls)


def test_attachments_by_extension_of_the_url_or_the_link_text() -> None:
    doc = build(PAGE)
    first, last = body_span(doc)
    attachments, _ = find_links(doc, first, last, BASE)
    assert attachments == (
        DocLink(SITE + "/files/2023/plan.pdf", "1.耕地保护实施方案", LinkKind.ATTACHMENT),
        DocLink(SITE + "/files/2023/table.xlsx", "任务分工表.xlsx", LinkKind.ATTACHMENT),
        DocLink(SITE + "/zwgk/2023/0418/download.jsp?id=7", "申报表.docx", LinkKind.ATTACHMENT),
    )


def test_interpretations_and_the_policy_explained_are_typed_links() -> None:
    doc = build(PAGE)
    first, last = body_span(doc)
    _, related = find_links(doc, first, last, BASE)
    explains = "《关于做好耕地保护工作的通知》政策解读"
    assert related == (
        DocLink(SITE + "/zcjd/2023/c124.html", explains, LinkKind.INTERPRETATION),
        DocLink(SITE + "/zcjd/2023/c125.html", "一图读懂耕地保护工作要点", LinkKind.INTERPRETATION),
        DocLink(SITE + "/zwgk/2021/c99.html", "澜江省耕地保护条例实施办法", LinkKind.POLICY),
    )


def test_a_menu_entry_named_for_interpretations_is_not_one() -> None:
    doc = build(PAGE)
    first, last = body_span(doc)
    _, related = find_links(doc, first, last, BASE)
    assert SITE + "/zcjd/" not in {link.url for link in related}


def test_of_pictures_in_a_row_only_the_last_takes_the_line_under_them() -> None:
    doc = build(
        "<html><body><p>正文第一段，介绍活动的情况。</p>"
        '<p><img src="/a.jpg"></p><p><img src="/b.jpg"></p>'
        '<p style="text-align:center">图为活动现场。</p><p>正文最后一段。</p></body></html>'
    )
    images = find_images(doc, 0, len(doc.lines) - 1, BASE)
    assert [(i.url.rsplit("/", 1)[-1], i.caption) for i in images] == [
        ("a.jpg", None),
        ("b.jpg", "图为活动现场。"),
    ]


def test_a_document_link_after_the_body_is_an_attachment_only_under_an_attachment_line() -> None:
    page = (
        "<html><body><p>各市人民政府：</p><p>请认真贯彻执行。</p>"
        '<div class="side"><a href="/ads/rates.pdf">品牌广告</a></div>'
        '<p>附件下载：</p><p><a href="/files/plan.pdf">实施方案</a></p></body></html>'
    )
    doc = build(page)
    attachments, _ = find_links(doc, 0, 1, BASE)
    assert [a.url for a in attachments] == [SITE + "/files/plan.pdf"]
