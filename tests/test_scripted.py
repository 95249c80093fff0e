"""Lists built by script, read without a browser: Hanweb jpage datastores, document.write and
inline arrays of items."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from scraper.parse.links import extract_list
from scraper.parse.scripted import hanweb_next, script_items, written_html

SITE = "https://www.example.gov.cn"
COLUMN = SITE + "/col/col4296/index.html"
NEXTGROUP = (
    "/module/web/jpage/dataproxy.jsp?page=1&appid=1&webid=28&path=/&columnid=4296"
    "&unitid=31227&webname=%E6%BE%9C%E6%B1%9F&permissiontype=0"
)


def record(n: int) -> str:
    return (
        f'<record><![CDATA[\n<li><a href="/art/2023/4/{n % 28 + 1}/art_4296_{n}.html" '
        f'title="关于第{n}批项目的公示" target="_blank">关于第{n}批项目的公示</a>'
        f"<span>2023-04-{n % 28 + 1:02d}</span></li>\n]]></record>"
    )


def datastore(numbers: range, total: int) -> str:
    return (
        f'<datastore>\n<nextgroup><![CDATA[<a href="{NEXTGROUP}"></a>]]></nextgroup>\n'
        "<recordset>\n" + "\n".join(record(n) for n in numbers) + "\n</recordset>\n</datastore>"
        f"<totalrecord>{total}</totalrecord>"
    )


def column_page(total: int, inline: int = 45) -> str:
    return f"""<html><head><title>通知公告</title></head><body>
<div class="nav"><a href="/">首页</a><a href="/col/col4297/index.html">政策文件</a></div>
<div id="4296"><script type="text/xml">
{datastore(range(1, min(inline, total) + 1), total)}
</script></div>
<script language="javascript" src="/module/web/jpage/jpage.js"></script>
<script>$(document).ready(function(){{ $('#4296').jpage({{ dataStore: dataStore,
 proxyUrl: '/module/web/jpage/dataproxy.jsp', perPage: 15, groupSize: 3, totalRecord: {total},
 dataBefore: '<ul class="list">', dataAfter: '</ul>' }}); }});</script>
</body></html>"""


def test_the_first_group_of_records_are_links_with_their_dates() -> None:
    listing = extract_list(column_page(100), COLUMN)
    articles = [link for link in listing.links if "/art/" in link.url]
    assert len(articles) == 45
    assert articles[0].url == SITE + "/art/2023/4/2/art_4296_1.html"
    assert articles[0].text == "关于第1批项目的公示"
    assert articles[0].date == "2023-04-02"


def test_the_next_group_is_asked_of_the_proxy_with_the_columns_parameters() -> None:
    next_url = extract_list(column_page(100), COLUMN).next_url
    assert next_url is not None
    parts = urlsplit(next_url)
    assert parts.path == "/module/web/jpage/dataproxy.jsp"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query == {
        "startrecord": "46",
        "endrecord": "90",
        "perpage": "15",
        "appid": "1",
        "webid": "28",
        "path": "/",
        "columnid": "4296",
        "unitid": "31227",
        "webname": "澜江",
        "permissiontype": "0",
    }


def test_each_answer_leads_to_the_next_group_until_the_total() -> None:
    url = extract_list(column_page(100), COLUMN).next_url
    assert url is not None
    answer = datastore(range(46, 91), 100)
    second = hanweb_next(answer, url)
    assert second is not None and "startrecord=91&endrecord=100&perpage=15" in second
    assert hanweb_next(datastore(range(91, 101), 100), second) is None


def test_a_short_answer_is_the_last_even_without_a_total() -> None:
    url = SITE + "/module/web/jpage/dataproxy.jsp?startrecord=46&endrecord=90&perpage=15&columnid=1"
    answer = "<datastore><recordset>" + record(46) + record(47) + "</recordset></datastore>"
    assert hanweb_next(answer, url) is None


def test_a_column_that_fits_on_its_page_has_no_next() -> None:
    assert extract_list(column_page(30), COLUMN).next_url is None


def test_document_write_strings_are_the_html() -> None:
    html = """<script>
document.write("<ul>");
document.write('<li><a href="/art/2023/1.html">关于\\u6f9c江的通知<\\/a>'
  + '<span>2023-01-05</span></li>');
document.writeln("<li><a href=\\"/art/2023/2.html\\">" + "第二条" + "</a></li>");
</script>"""
    assert '<a href="/art/2023/1.html">关于澜江的通知</a>' in written_html(html)
    listing = extract_list(html, SITE + "/list.html")
    assert [(link.url, link.text, link.date) for link in listing.links] == [
        (SITE + "/art/2023/1.html", "关于澜江的通知", "2023-01-05"),
        (SITE + "/art/2023/2.html", "第二条", None),
    ]


def test_inline_arrays_of_items_are_links() -> None:
    html = """<html><body><ul id="list"></ul><script>
var newsList = [
  {"title": "澜江省召开全体会议", "url": "/xw/2023/c101.html", "date": "2023-05-06"},
  {title: '第二场新闻发布会', link: './c102.html', pubDate: '2023年5月7日'},
  {title: '标志', url: '/img/logo.png'},
  {name: '没有地址的条目'}
];
</script></body></html>"""
    assert script_items(html) == [
        ("/xw/2023/c101.html", "澜江省召开全体会议", "2023-05-06"),
        ("./c102.html", "第二场新闻发布会", "2023年5月7日"),
    ]
    listing = extract_list(html, SITE + "/xw/index.html")
    assert [(link.url, link.date) for link in listing.links] == [
        (SITE + "/xw/2023/c101.html", "2023-05-06"),
        (SITE + "/xw/c102.html", "2023-05-07"),
    ]


def test_a_page_without_scripts_is_read_as_before() -> None:
    html = '<ul><li><a href="/a.html">甲</a></li></ul><a href="/list_2.html">下一页</a>'
    listing = extract_list(html, SITE + "/list.html")
    assert [link.url for link in listing.links] == [SITE + "/a.html", SITE + "/list_2.html"]
    assert listing.next_url == SITE + "/list_2.html"


def test_json_list_items_by_dotted_paths_and_url_templates() -> None:
    from scraper.parse.scripted import json_items

    answer = {
        "code": 0,
        "data": {
            "total": 3,
            "list": [
                {"id": 101, "title": "澜江省政府常务会议", "pub": {"date": "2023-05-06"}},
                {"id": 102, "title": "第二场新闻发布会", "pub": {"date": "2023-05-07"}},
                {"id": None, "title": "没有编号"},
                "not an item",
            ],
        },
    }
    assert json_items(answer, "data.list", "/content/{id}.html", "title", "pub.date") == [
        ("/content/101.html", "澜江省政府常务会议", "2023-05-06"),
        ("/content/102.html", "第二场新闻发布会", "2023-05-07"),
    ]
    assert json_items(answer, "data.rows", "url", "title") is None
