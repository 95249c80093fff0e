"""The one step every front end shares: a fetched page (or failure) -> archive -> counters."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

import scraper.parse
from scraper.archive import Archive
from scraper.errors import DisallowedError, FetchError, ParseError
from scraper.models import FetchAttempt, Page
from scraper.pipeline import (
    Counters,
    Kind,
    looks_like_html,
    page_from_bytes,
    record,
    safe_parse,
)
from scraper.warc import import_warc

from .conftest import SAMPLES

SEED = (SAMPLES / "seed-utf8.html").read_bytes()
LIST = (SAMPLES / "list" / "index.html").read_bytes()
URL = "https://www.example.gov.cn/art/2022/6/24/art_1_20233.html"
WHEN = "2023-05-01T10:00:00Z"


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    with Archive.open(tmp_path / "a.db") as opened:
        yield opened


def fetched(data: bytes = SEED, url: str = URL, *, when: str = WHEN, status: int = 200) -> Page:
    return page_from_bytes(url, data, fetched_at=when, status=status, content_type="text/html")


def rows(archive: Archive, sql: str) -> list[tuple[object, ...]]:
    return archive.db.execute(sql).fetchall()


# ------------------------------------------------------------------ record


def test_a_kept_article_is_saved_and_counted(archive: Archive) -> None:
    page = fetched()
    counters = Counters()
    done = record(archive, page, safe_parse(page), counters)
    assert done.kind is Kind.NEW and done.saved is not None and done.error is None
    assert archive.get(done.saved.id) is not None
    assert (counters.new, counters.failed, counters.not_article) == (1, 0, 0)
    again = record(archive, page, safe_parse(page), counters)
    assert again.kind is Kind.UNCHANGED and counters.unchanged == 1


def test_an_updated_article_counts_as_changed_in_a_runs_figures(archive: Archive) -> None:
    counters = Counters()
    record(archive, fetched(), safe_parse(fetched()), counters)
    edited = fetched(SEED.replace("。".encode(), "！".encode(), 3), when="2023-05-02T10:00:00Z")
    assert record(archive, edited, safe_parse(edited), counters).kind is Kind.UPDATED
    assert counters.updated == counters.changed == 1


def test_a_rejected_page_is_recorded_with_its_reason_and_nothing_saved(archive: Archive) -> None:
    page = fetched(LIST, "https://www.example.gov.cn/list/index.html")
    article = safe_parse(page)
    assert not article.kept
    counters = Counters()
    done = record(archive, page, article, counters)
    assert done.kind is Kind.NOT_ARTICLE and done.saved is None
    assert isinstance(done.error, ParseError)
    assert str(done.error) == f"not an article: {article.rejected}"
    assert list(archive.articles()) == []
    assert rows(archive, "select url, error, raw_sha256 is not null from fetches") == [
        (page.url, None, 1)
    ]
    assert counters.not_article == 1 and counters.failed == 0


def test_a_failure_records_its_attempts_and_counts_as_failed(archive: Archive) -> None:
    attempts = tuple(
        FetchAttempt(url=URL, time=WHEN, status=503, error=f"HTTP 503 (attempt {n})")
        for n in (1, 2)
    )
    counters = Counters()
    done = record(archive, FetchError("HTTP 503", url=URL, attempts=attempts), None, counters)
    assert done.kind is Kind.FAILED and isinstance(done.error, FetchError)
    assert rows(archive, "select status, error from fetches order by id") == [
        (503, "HTTP 503 (attempt 1)"),
        (503, "HTTP 503 (attempt 2)"),
    ]
    assert counters.failed == 1 and list(archive.articles()) == []


def test_a_refused_fetch_records_its_attempts_but_is_no_failure(archive: Archive) -> None:
    attempt = FetchAttempt(url=URL, time=WHEN, error="refused: 10.0.0.1 is private")
    counters = Counters()
    error = DisallowedError("refused", url=URL, attempts=(attempt,))
    assert record(archive, error, None, counters).kind is Kind.DISALLOWED
    assert rows(archive, "select error from fetches") == [("refused: 10.0.0.1 is private",)]
    assert counters == Counters()


def test_a_page_the_parser_failed_on_keeps_its_bytes_and_counts_as_failed(
    archive: Archive,
) -> None:
    page = fetched()
    counters = Counters()
    done = record(archive, page, ParseError("could not parse page"), counters)
    assert done.kind is Kind.FAILED and counters.failed == 1
    assert list(archive.articles()) == []
    ((sha,),) = rows(archive, "select raw_sha256 from fetches")
    assert archive.raw_page(str(sha)) == SEED


def test_a_page_not_parsed_as_an_article_is_kept_and_not_counted(archive: Archive) -> None:
    counters = Counters()
    assert record(archive, fetched(LIST), None, counters).kind is Kind.PAGE
    assert rows(archive, "select count(*) from raw_pages") == [(1,)]
    assert counters == Counters()


def test_a_304_refreshes_the_stored_article_and_counts_as_not_modified(
    archive: Archive,
) -> None:
    counters = Counters()
    saved = record(archive, fetched(), safe_parse(fetched()), counters).saved
    assert saved is not None
    later = "2023-06-01T00:00:00Z"
    revisit = fetched(b"", when=later, status=304)
    assert record(archive, revisit, None, counters).kind is Kind.NOT_MODIFIED
    assert counters.not_modified == 1
    row = archive.get(saved.id)
    assert row is not None and row["last_seen"] == later


def test_a_superseded_capture_keeps_only_its_bytes(archive: Archive) -> None:
    counters = Counters()
    record(archive, fetched(), safe_parse(fetched()), counters)
    older = fetched(SEED.replace(b"</p>", b"!</p>", 1), when="2020-01-01T00:00:00Z")
    done = record(archive, older, safe_parse(older), counters, superseded=lambda p, a: True)
    assert done.kind is Kind.OLDER and counters.older == 1
    assert rows(archive, "select count(*) from versions") == [(0,)]
    assert rows(archive, "select count(*) from raw_pages") == [(2,)]


def test_a_sites_own_parameters_leave_the_canonical_url(archive: Archive) -> None:
    page = fetched(url=URL + "?sid=7&id=3")
    article = replace(safe_parse(page), canonical_url=URL + "?sid=7&id=3")
    saved = record(archive, page, article, Counters(), strip_params=("sid",)).saved
    assert saved is not None
    row = archive.get(saved.id)
    assert row is not None and row["canonical_url"] == URL + "?id=3"


def test_counters_of_a_batch_add_up() -> None:
    total, batch = Counters(new=1, failed=2), Counters(new=3, updated=1, not_modified=4)
    total.add(batch)
    assert total == Counters(new=4, updated=1, not_modified=4, failed=2)
    total.count(Kind.PAGE)  # not counted: a list page is no outcome of its own
    total.count(Kind.DISALLOWED)
    assert total == Counters(new=4, updated=1, not_modified=4, failed=2)


# ------------------------------------------------------------------ safe_parse


@pytest.mark.parametrize(
    ("blowup", "message"),
    [
        (RecursionError("maximum recursion depth exceeded"), "page is nested too deeply"),
        (ValueError("bad"), "could not parse page (ValueError: bad)"),
        (TypeError("bad"), "could not parse page (TypeError: bad)"),
        (IndexError("bad"), "could not parse page (IndexError: bad)"),
        (KeyError("bad"), "could not parse page (KeyError: 'bad')"),
    ],
)
def test_a_parser_blowup_becomes_a_parse_error_naming_the_page(
    monkeypatch: pytest.MonkeyPatch, blowup: Exception, message: str
) -> None:
    def explode(html: str, url: str) -> None:
        raise blowup

    monkeypatch.setattr(scraper.parse, "parse_page", explode)
    with pytest.raises(ParseError) as caught:
        safe_parse(fetched())
    assert message in str(caught.value) and str(caught.value).startswith(URL)
    assert caught.value.__cause__ is blowup


def test_a_parse_error_of_the_parser_passes_through(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(html: str, url: str) -> None:
        raise ParseError("not a page")

    monkeypatch.setattr(scraper.parse, "parse_page", refuse)
    with pytest.raises(ParseError, match=r"^not a page$"):
        safe_parse(fetched())


# ------------------------------------------------------------------ bytes -> Page


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n<html><body>a PDF quoting markup</body></html>",
        b"  %pdf-1.4\n%\xe2\xe3\xcf\xd3",
        b"\x89PNG\r\n\x1a\n<html>",
        b"\xff\xd8\xff\xe0JFIF",
        b"GIF89a<body>",
        b"PK\x03\x04<html>",
        b"plain text, no markup",
    ],
)
def test_a_pdf_image_or_archive_is_not_html(data: bytes) -> None:
    assert not looks_like_html(data)


@pytest.mark.parametrize(
    "data",
    [SEED, b"\xef\xbb\xbf  <!DOCTYPE html><html>", b"\n\n<p>a fragment", b"junk <html><body>x"],
)
def test_markup_is_html(data: bytes) -> None:
    assert looks_like_html(data)


def test_a_page_read_from_disk_counts_as_200_with_no_status_in_its_fetch() -> None:
    page = page_from_bytes(URL, SEED, fetched_at=WHEN, status=None, elapsed=0.01)
    assert page.status == 200 and page.final_url == URL and page.encoding == "utf-8"
    (attempt,) = page.attempts
    assert attempt.status is None and attempt.bytes == len(SEED) and attempt.elapsed == 0.01
    assert page.elapsed == 0.01


def test_a_captured_page_takes_its_validators_from_its_headers() -> None:
    headers = (("ETag", '"abc"'), ("Last-Modified", "Mon, 01 May 2023 10:00:00 GMT"))
    page = page_from_bytes(URL, SEED, fetched_at=WHEN, status=203, headers=headers)
    (attempt,) = page.attempts
    assert (attempt.status, attempt.etag) == (203, '"abc"')
    assert attempt.last_modified == "Mon, 01 May 2023 10:00:00 GMT"


def test_a_known_encoding_is_trusted_not_detected_again() -> None:
    gbk = "<html><body>关于做好今年防汛工作的通知</body></html>".encode("gb18030")
    assert page_from_bytes(URL, gbk, fetched_at=WHEN).encoding == "gb18030"
    page = page_from_bytes(URL, gbk, fetched_at=WHEN, encoding="utf-8", attempts=())
    assert page.encoding == "utf-8" and "\ufffd" in page.text and page.attempts == ()


def test_a_warc_import_skips_a_pdf_served_without_a_content_type(tmp_path: Path) -> None:
    warc = tmp_path / "w.warc.gz"
    with warc.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for uri, body in (
            ("https://a.example.gov.cn/report", b"%PDF-1.7\n<html><body>x</body></html>"),
            (URL, SEED),
        ):
            writer.write_record(
                writer.create_warc_record(
                    uri,
                    "response",
                    payload=io.BytesIO(body),
                    length=len(body),
                    http_headers=StatusAndHeaders("200 OK", [], protocol="HTTP/1.1"),
                    warc_headers_dict={"WARC-Date": WHEN},
                )
            )
    with Archive.open(tmp_path / "a.db") as archive:
        stats = import_warc(archive, [warc])
        urls = [r["url"] for r in archive.articles()]
    assert (stats.new, stats.not_html, stats.failed) == (1, 1, 0)
    assert urls == [URL]
    with sqlite3.connect(tmp_path / "a.db") as db:
        assert db.execute("select count(*) from fetches where url like '%report'").fetchone() == (
            0,
        )


# ------------------------------------------------------------------ attachments

DOCUMENTS = Path(__file__).resolve().parent / "documents"
# A phrase that is only in each file, never on the page that links to them.
ATTACHED = {
    "procurement-consultation.pdf": "竞争性磋商文件",
    "nea-standard-draft-part1.docx": "核电厂定期安全评价",
    "issues-closed.xlsx": "当前的运行环境是什么",
    "district-health-bureau-reply.ofd": "同意张阿三同志辞职",
}
NOTICE = """<html><head><title>关于公布2023年度第一批文件的通知_澜江省人民政府</title></head><body>
<div class="nav"><a href="/">首页</a></div>
<table><tr><td>索引号：</td><td>115200000099000456/2023-00031</td>
<td>发布机构：</td><td>澜江省人民政府办公厅</td></tr>
<tr><td>发文字号：</td><td>澜政办发〔2023〕7号</td><td>成文日期：</td><td>2023年04月18日</td></tr></table>
<h1>关于公布2023年度第一批文件的通知</h1>
<div class="article">
<p>各市人民政府，省政府各部门：</p>
<p>现将2023年度第一批文件予以公布，请结合实际认真贯彻落实。各地在执行中遇到的问题，请及时向省政府办公厅反映。</p>
<p>本通知自印发之日起施行。各地要加强组织领导，细化工作措施，确保各项任务落到实处。</p>
<p>附件：<a href="/files/a.pdf">1.磋商文件</a></p>
<p><a href="/files/b.docx">2.行业标准征求意见稿</a></p>
<p><a href="/files/c.xlsx">3.问题清单</a></p>
<p><a href="/files/d.ofd">4.批复</a></p>
<p><a href="/files/missing.pdf">5.已删除的附件</a></p>
</div>
<div class="footer">澜江省人民政府办公厅主办</div>
</body></html>"""


def _file(name: str, ctype: str) -> tuple[bytes, str]:
    return (DOCUMENTS / name).read_bytes(), ctype


class _Site:
    """A site on 127.0.0.1 that serves the notice and its attachment files."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.files = {
            "/notice.html": (NOTICE.encode(), "text/html; charset=utf-8"),
            "/files/a.pdf": _file("procurement-consultation.pdf", "application/pdf"),
            "/files/b.docx": _file("nea-standard-draft-part1.docx", "application/octet-stream"),
            "/files/c.xlsx": _file("issues-closed.xlsx", "application/vnd.ms-excel"),
            "/files/d.ofd": _file("district-health-bureau-reply.ofd", "application/ofd"),
        }
        files = self.files

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path not in files:
                    self.send_error(404)
                    return
                data, ctype = files[self.path]
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # quiet when a client hangs up on a 404 without reading it: tests read stderr
        self.httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.httpd.server_port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def site() -> Iterator[_Site]:
    served = _Site()
    yield served
    served.close()


def _fetch_notice(archive: Archive, site: _Site) -> int:
    from scraper.fetch import Fetcher, FetchSettings
    from scraper.pipeline import fetch_attachments

    with Fetcher(FetchSettings(backoff=0.01, retries=0)) as fetcher:
        page = fetcher.fetch(site.base + "/notice.html")
        done = record(archive, page, safe_parse(page), Counters())
        assert done.saved is not None
        counts = fetch_attachments(archive, fetcher, done.saved.id)
    assert (counts.text, counts.no_text, counts.failed) == (4, 0, 1)
    return done.saved.id


def test_a_notice_keeps_its_record_fields_and_all_four_attachments_with_their_text(
    archive: Archive, site: _Site
) -> None:
    ident = _fetch_notice(archive, site)
    row = archive.get(ident)
    assert row is not None
    assert (row["index_number"], row["issuer"], row["doc_number"], row["written"]) == (
        "115200000099000456/2023-00031",
        "澜江省人民政府办公厅",
        "澜政办发〔2023〕7号",
        "2023-04-18",
    )
    got = rows(archive, "SELECT position, name, kind, size, sha256 IS NOT NULL, error "
                        "FROM attachments ORDER BY position")  # fmt: skip
    assert [g[:3] for g in got] == [
        (1, "1.磋商文件", "pdf"),
        (2, "2.行业标准征求意见稿", "docx"),
        (3, "3.问题清单", "xlsx"),
        (4, "4.批复", "ofd"),
        (5, "5.已删除的附件", None),
    ]
    assert all(g[4] for g in got[:4]) and got[4][4] == 0 and "404" in str(got[4][5])
    for name, data in [(n, (DOCUMENTS / n).read_bytes()) for n in ATTACHED]:
        import hashlib

        (raw,) = rows(
            archive,
            f"SELECT size FROM raw_pages WHERE sha256 = '{hashlib.sha256(data).hexdigest()}'",
        )
        assert raw == (len(data),), name


@pytest.mark.parametrize("name", list(ATTACHED))
def test_a_phrase_only_in_an_attachment_finds_the_article_and_says_so(
    archive: Archive, site: _Site, name: str
) -> None:
    ident = _fetch_notice(archive, site)
    hits = archive.search(ATTACHED[name])
    assert [h.id for h in hits] == [ident]
    assert hits[0].attachment is not None and ATTACHED[name] in hits[0].snippet.replace(
        "[", ""
    ).replace("]", "")


def test_a_changed_attachment_is_a_new_version_and_a_missing_one_keeps_its_reason(
    archive: Archive, site: _Site
) -> None:
    import json

    from scraper.fetch import Fetcher, FetchSettings
    from scraper.pipeline import fetch_attachments

    ident = _fetch_notice(archive, site)
    assert archive.history(ident)[:-1] == []
    before = rows(archive, "SELECT url, sha256 FROM attachments ORDER BY position")
    site.files["/files/a.pdf"] = (
        (DOCUMENTS / "air-itinerary-einvoice.pdf").read_bytes(),
        "application/pdf",
    )
    archive.db.execute("UPDATE attachments SET fetched_at = NULL WHERE url LIKE '%a.pdf'")
    with Fetcher(FetchSettings(backoff=0.01, retries=0)) as fetcher:
        fetch_attachments(archive, fetcher, ident)
    versions = rows(archive, "SELECT attachments FROM versions")
    assert len(versions) == 1
    assert json.loads(str(versions[0][0])) == [list(r) for r in before]
    assert archive.search(ATTACHED["procurement-consultation.pdf"]) == []
