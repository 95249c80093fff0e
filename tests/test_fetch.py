"""The fetcher against a real server on 127.0.0.1: redirects, retries, caps, content types."""

from __future__ import annotations

import socket
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest

from scraper import netguard
from scraper.errors import (
    BlockedError,
    DisallowedError,
    FetchError,
    HTTPStatusError,
    InputError,
    NotHTMLError,
    TooLargeError,
)
from scraper.fetch import Fetcher, FetchSettings, is_local, read_local

from .conftest import SAMPLES, SampleServer
from .faultserver import FaultServer


class Sleeps(list[float]):
    """Records the waits the fetcher asks for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def fetcher(**kw: object) -> tuple[Fetcher, Sleeps]:
    sleeps = Sleeps()
    settings = FetchSettings(**{"backoff": 0.01, **kw})  # type: ignore[arg-type]
    return Fetcher(settings, sleep=sleeps), sleeps


def key() -> str:
    return uuid.uuid4().hex


def test_fetch_returns_decoded_page_with_status_and_encoding(server: SampleServer) -> None:
    f, _ = fetcher()
    with f:
        page = f.fetch(server.url("seed-utf8.html"))
    assert page.status == 200
    assert page.encoding == "utf-8"
    assert "免责声明" in page.text
    assert page.final_url == server.url("seed-utf8.html")
    assert len(page.attempts) == 1 and page.attempts[0].error is None


def test_redirects_are_followed_and_final_url_recorded(server: SampleServer) -> None:
    f, _ = fetcher()
    with f:
        page = f.fetch(server.url("redirect/3"))
    assert page.final_url == server.url("seed-utf8.html")
    assert len(page.redirects) == 3


def test_redirect_loop_is_bounded(server: SampleServer) -> None:
    f, _ = fetcher(max_redirects=5)
    with f, pytest.raises(FetchError, match="more than 5 redirects") as info:
        f.fetch(server.url("loop"))
    assert info.value.attempts and info.value.attempts[-1].error


def test_404_fails_at_once_without_retrying(server: SampleServer) -> None:
    f, sleeps = fetcher()
    with f, pytest.raises(HTTPStatusError, match="HTTP 404") as info:
        f.fetch(server.url("missing"))
    assert info.value.status == 404
    assert sleeps == []


def test_500_then_200_is_retried_and_both_attempts_kept(server: SampleServer) -> None:
    f, sleeps = fetcher()
    with f:
        page = f.fetch(server.url(f"flaky?key={key()}"))
    assert page.status == 200
    assert [a.status for a in page.attempts] == [500, 200]
    assert page.attempts[0].error == "HTTP 500"
    assert len(sleeps) == 1


def test_persistent_500_gives_up_after_the_retries(server: SampleServer) -> None:
    f, sleeps = fetcher(retries=2)
    with f, pytest.raises(HTTPStatusError, match="after 3 attempts") as info:
        f.fetch(server.url("always500"))
    assert len(info.value.attempts) == 3
    assert sleeps == [0.01, 0.02]  # exponential backoff


def test_429_waits_for_retry_after(server: SampleServer) -> None:
    f, sleeps = fetcher()
    with f:
        page = f.fetch(server.url(f"busy?key={key()}"))
    assert page.status == 200
    assert sleeps == [1.0]


def test_a_retry_after_that_is_no_ascii_number_falls_back_to_backoff(server: SampleServer) -> None:
    f, sleeps = fetcher()
    with f:
        page = f.fetch(server.url(f"busy?key={key()}&after=%C2%B2"))  # "²" is a digit to Python
    assert page.status == 200
    assert sleeps == [0.01]  # the first step of the backoff


def test_oversized_body_is_refused_by_content_length(server: SampleServer) -> None:
    f, _ = fetcher(max_bytes=100_000)
    with f, pytest.raises(TooLargeError, match="over the 100000-byte cap"):
        f.fetch(server.url("big?size=200000"))


def test_endless_body_is_stopped_at_the_cap(server: SampleServer) -> None:
    f, _ = fetcher(max_bytes=1_000_000)
    with f, pytest.raises(TooLargeError, match="stopped reading") as info:
        f.fetch(server.url("endless"))
    assert (info.value.attempts[-1].bytes or 0) <= 1_000_000 + 70_000


def test_non_html_content_is_refused(server: SampleServer) -> None:
    f, _ = fetcher()
    with f, pytest.raises(NotHTMLError, match="application/pdf"):
        f.fetch(server.url("pdf"))


def test_empty_body_is_an_error(server: SampleServer) -> None:
    f, _ = fetcher()
    with f, pytest.raises(FetchError, match="empty"):
        f.fetch(server.url("empty"))


def test_connection_refused_is_retried_then_reported() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    f, sleeps = fetcher(retries=1)
    with f, pytest.raises(FetchError, match="connection failed") as info:
        f.fetch(f"http://127.0.0.1:{port}/x.html")
    assert len(info.value.attempts) == 2 and len(sleeps) == 1


def test_user_agent_is_sent_and_configurable() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["user-agent"])
        body = httpx.ByteStream(b"<html><body><p>x</p></body></html>")
        return httpx.Response(200, headers={"Content-Type": "text/html"}, stream=body)

    with Fetcher(
        FetchSettings(user_agent="test-agent/1"), transport=httpx.MockTransport(handler)
    ) as f:
        f.fetch("http://example.test/a.html")
    assert seen == ["test-agent/1"]
    with Fetcher(transport=httpx.MockTransport(handler)) as f:
        f.fetch("http://example.test/a.html")
    assert seen[1].startswith("archiver/")


def test_header_charset_decodes_a_gbk_page(server: SampleServer) -> None:
    f, _ = fetcher()
    with f:
        page = f.fetch(server.url("seed-gbk-header.html"))
    assert page.encoding == "gb18030"
    assert "免责声明" in page.text


def test_unsupported_scheme_is_an_input_error() -> None:
    f, _ = fetcher()
    with f, pytest.raises(InputError, match="ftp"):
        f.fetch("ftp://example.test/a.html")


def test_a_url_without_a_host_or_malformed_is_an_input_error() -> None:
    f, _ = fetcher()
    with f:
        for url in ("http://", "http:///x.html", "https://:443/a"):
            with pytest.raises(InputError, match="no host"):
                f.fetch(url)
        for url in ("http://[x/a", "http://a.test:8o/", "http://[::1]:99999/"):
            with pytest.raises(InputError, match="not a valid URL"):
                f.fetch(url)


def test_conditional_request_gets_304(server: SampleServer) -> None:
    f, _ = fetcher()
    with f:
        page = f.fetch(server.url("etag"), headers={"If-None-Match": '"v1"'})
    assert page.status == 304 and page.content == b""


def test_a_cookie_a_site_sets_is_sent_back_on_its_next_pages(server: SampleServer) -> None:
    # Some portals set a session cookie on the first page and refuse pages without it.
    f, _ = fetcher()
    with f:
        with pytest.raises(BlockedError):
            f.fetch(server.url("needcookie"))
        f.fetch(server.url("setcookie"))
        assert f.fetch(server.url("needcookie")).status == 200
    with fetcher()[0] as fresh, pytest.raises(BlockedError):  # a cookie stays in its fetcher
        fresh.fetch(server.url("needcookie"))


def test_a_cookie_in_raw_utf8_is_dropped_and_the_others_still_sent(server: SampleServer) -> None:
    # httpx sends headers as ASCII: kept, that cookie made every later request to the site fail.
    f, _ = fetcher()
    with f:
        f.fetch(server.url("setcookies"))
        assert f.fetch(server.url("needcookie")).status == 200


def test_local_paths_and_file_urls_are_read_from_disk() -> None:
    path = SAMPLES / "seed-utf8.html"
    assert is_local(str(path)) and is_local(path.as_uri()) and not is_local("https://a.b/")
    page = read_local(str(path), url="https://www.example.gov.cn/a.html")
    assert page.final_url == "https://www.example.gov.cn/a.html"
    assert read_local(path.as_uri()).final_url == path.as_uri()
    assert page.content == path.read_bytes()


def test_missing_local_file_is_an_input_error(tmp_path: object) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_local("/nonexistent/page.html")


def test_a_saved_page_without_url_takes_the_address_it_records(tmp_path: Any) -> None:
    """A browser's "saved from url" comment first, then an absolute canonical link, then
    og:url; a relative canonical, a non-web address or nothing leaves the file:// URL."""
    seed = (SAMPLES / "seed-utf8.html").read_bytes()
    gov = "https://www.gov.cn/zhengce/content/2022-06/24/content_5697.htm"
    cases = [
        (f"<!-- saved from url=({len(gov):04d}){gov} -->\r\n".encode(), gov),
        (f"<!-- saved from url=({len(gov):04d}){gov}-->".encode(), gov),  # cut at its length
        (f"<!-- saved from url=(0999){gov}-->".encode(), gov),  # a wrong count
        (
            b"<!--\n Page saved with SingleFile \n url: " + gov.encode() + b" \n-->",
            gov,
        ),
        (
            b'<link href="/a.html" rel="canonical"><meta property="og:url" content="'
            + gov.encode()
            + b'">',
            gov,
        ),
        (
            b"<link rel='canonical' href='https://a.gov.cn/x?id=1&amp;p=2'>",
            "https://a.gov.cn/x?id=1&p=2",
        ),
        (b'<meta property="og:url" content="javascript:alert(1)">', None),
        (b"", None),
    ]
    for n, (head, expected) in enumerate(cases):
        path = tmp_path / f"saved{n}.html"
        path.write_bytes(head + seed)
        assert read_local(str(path)).final_url == (expected or path.resolve().as_uri()), head
    # --url wins over what the page says
    path = tmp_path / "saved0.html"
    assert (
        read_local(str(path), url="https://b.gov.cn/b.html").final_url == "https://b.gov.cn/b.html"
    )
    # the sample with a relative canonical and an absolute og:url
    assert read_local(str(SAMPLES / "portal-dateline.html")).final_url == (
        "https://news.example.com/2022/0624/c1001-123.html"
    )


# --------------------------------------------------------------------- network faults


def test_reset_mid_body_is_retried_then_reported(faults: FaultServer) -> None:
    f, sleeps = fetcher(retries=1)
    with f, pytest.raises(FetchError, match="connection failed") as info:
        f.fetch(faults.url("reset"))
    assert len(info.value.attempts) == 2 and len(sleeps) == 1


def test_server_that_never_answers_hits_the_read_timeout(faults: FaultServer) -> None:
    f, _ = fetcher(retries=0, read_timeout=0.5)
    started = time.monotonic()
    with f, pytest.raises(FetchError, match="timed out"):
        f.fetch(faults.url("silent"))
    assert time.monotonic() - started < 5


def test_slow_drip_hits_the_whole_page_deadline(faults: FaultServer) -> None:
    f, _ = fetcher(retries=0, read_timeout=5, total_timeout=1.0)
    started = time.monotonic()
    with f, pytest.raises(FetchError, match="took over 1s"):
        f.fetch(faults.url("drip"))
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("fault", ["drip-headers", "processing"])
def test_headers_that_never_end_hit_the_whole_page_deadline(
    faults: FaultServer, fault: str
) -> None:
    """Each byte (or each ``102 Processing``) comes well inside the read timeout: only a
    deadline that starts with the request, not with the body, ends it."""
    faults.drip_interval = 0.1
    f, _ = fetcher(retries=0, read_timeout=5, total_timeout=1.0)
    started = time.monotonic()
    with f, pytest.raises(FetchError, match="took over 1s"):
        f.fetch(faults.url(fault))
    assert time.monotonic() - started < 4


def test_robots_sized_fetch_may_keep_the_start_of_a_long_body(faults: FaultServer) -> None:
    faults.pages["/robots.txt"] = b"User-agent: *\nDisallow: /\n" + b"# padding\n" * 100_000
    f, _ = fetcher(max_bytes=4096)
    with f:
        with pytest.raises(TooLargeError):
            f.fetch_text(faults.url("/robots.txt"))
        page = f.fetch_text(faults.url("/robots.txt"), max_bytes=500 * 1024, truncate=True)
    assert len(page.content) == 500 * 1024
    assert page.content.startswith(b"User-agent: *\nDisallow: /\n")


def test_credentials_in_the_url_and_header_are_not_recorded(faults: FaultServer) -> None:
    url = faults.url("ok").replace("http://", "http://alice:s3cret@")
    f, _ = fetcher()
    with f:
        page = f.fetch(url, headers={"Authorization": "Bearer t0ken"})
    recorded = repr((page.url, page.final_url, page.attempts, page.request_headers))
    assert "s3cret" not in recorded and "t0ken" not in recorded and "alice" not in recorded
    assert ("Authorization", "[redacted]") in page.request_headers
    assert page.url == faults.url("ok")


# ------------------------------------------------------------- addresses: checked = dialled


class Resolver:
    """A name service the test sets up: ``socket.getaddrinfo`` answers ``names`` from it.

    A name's answers are used in turn by successive lookups (the last repeats), so a name can
    answer public first and loopback next, as DNS rebinding does. A Unicode spelling is not
    resolved, as by a resolver that knows only the IDNA (``xn--``) form.
    """

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = names
        self.asked: Counter[str] = Counter()
        self.real = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kw: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in self.names:
            if not name.isascii():
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return self.real(host, port, *args, **kw)
        self.asked[name] += 1
        answers = self.names[name]
        address = answers[min(self.asked[name], len(answers)) - 1]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 0)))]


def public(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> None:
    """Let ``addresses`` play public hosts (this machine cannot reach real ones)."""
    real = netguard.why_not_public
    monkeypatch.setattr(
        netguard, "why_not_public", lambda ip: None if str(ip) in addresses else real(ip)
    )


@pytest.mark.parametrize("spelling", ["中国.example", "xn--fiqs8s.example"])
def test_internationalized_host_name_cannot_reach_loopback(
    faults: FaultServer, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    """Checked under the Unicode spelling, dialled under the ``xn--`` one: they must agree."""
    monkeypatch.setattr(socket, "getaddrinfo", Resolver({"xn--fiqs8s.example": ["127.0.0.1"]}))
    f, _ = fetcher(retries=0, allow_private=False)
    path = f"/{key()}"
    with f, pytest.raises(DisallowedError, match=r"127\.0\.0\.1 \(loopback\)"):
        f.fetch(f"http://{spelling}:{faults.port}{path}")
    assert faults.hits[path] == 0


def test_redirect_to_an_internationalized_name_is_refused(
    faults: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        outer = FaultServer("127.0.0.2")  # plays a public site
    except OSError:
        pytest.skip("127.0.0.2 is not available")
    public(monkeypatch, "127.0.0.2")
    monkeypatch.setattr(socket, "getaddrinfo", Resolver({"xn--fiqs8s.example": ["127.0.0.1"]}))
    path = f"/{key()}"
    outer.redirects["/go"] = f"http://中国.example:{faults.port}{path}"
    try:
        f, _ = fetcher(retries=0, allow_private=False)
        with f, pytest.raises(DisallowedError, match="loopback"):
            f.fetch(outer.url("/go"))
        assert outer.hits["/go"] == 1 and faults.hits[path] == 0
    finally:
        outer.close()


def test_name_that_rebinds_to_loopback_is_dialled_as_checked(
    faults: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name answering public, then 127.0.0.1: each connection looks it up once and
    dials the public address it checked (unreachable here), never the later loopback one."""
    resolver = Resolver({"rebind.example": ["192.0.2.1", "127.0.0.1"]})
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    public(monkeypatch, "192.0.2.1")
    f, _ = fetcher(retries=3, allow_private=False, connect_timeout=0.2)
    path = f"/{key()}"
    with f, pytest.raises(FetchError) as info:
        f.fetch(f"http://rebind.example:{faults.port}{path}")
    assert faults.hits[path] == 0
    assert resolver.asked["rebind.example"] >= 2  # it did answer loopback, and was refused
    assert "loopback" in str(info.value)


def test_allowed_private_address_is_still_fetched(faults: FaultServer) -> None:
    f, _ = fetcher(allow_private=True)
    with f:
        assert f.fetch(faults.url("ok")).status == 200


def test_gzip_body_is_decompressed(faults: FaultServer) -> None:
    f, _ = fetcher()
    with f:
        assert "测试页面" in f.fetch(faults.url("gzip")).text


def test_truncated_gzip_is_a_clear_error(faults: FaultServer) -> None:
    f, _ = fetcher(retries=0)
    with f, pytest.raises(FetchError, match="truncated"):
        f.fetch(faults.url("gzip-truncated"))


@pytest.mark.parametrize("path", ["to-file", "to-javascript"])
def test_redirect_to_a_non_http_scheme_is_refused(faults: FaultServer, path: str) -> None:
    f, _ = fetcher(retries=0)
    with f, pytest.raises(FetchError, match="unsupported URL"):
        f.fetch(faults.url(path))


def test_image_where_a_page_was_expected_is_refused(faults: FaultServer) -> None:
    f, _ = fetcher()
    with f, pytest.raises(NotHTMLError, match="image/png"):
        f.fetch(faults.url("image"))


def test_html_without_content_type_is_sniffed_and_accepted(faults: FaultServer) -> None:
    f, _ = fetcher()
    with f:
        page = f.fetch(faults.url("nocontenttype"))
    assert "测试页面" in page.text


def test_a_jpage_proxy_address_is_asked_by_post_with_the_columns_form() -> None:
    """Hanweb's dataproxy.jsp answers jpage.js's POST: the record range in the address, the
    column's parameters as the form. The page keeps the whole address as its URL."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlsplit

    asked: list[tuple[str, str, dict[str, list[str]]]] = []

    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(("GET", self.path, {}))
            self.send_error(405)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            asked.append(("POST", self.path, form))
            body = "<datastore><recordset><record><![CDATA[<li>甲</li>]]></record></recordset>"
            data = (body + "</datastore>").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/xml;charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = (
            f"http://127.0.0.1:{httpd.server_port}/module/web/jpage/dataproxy.jsp"
            "?startrecord=46&endrecord=90&perpage=15&columnid=4296&unitid=31227&webid=28"
        )
        with Fetcher(FetchSettings(backoff=0.01)) as f:
            page = f.fetch(url)
    finally:
        httpd.shutdown()
        httpd.server_close()
    method, path, form = asked[0]
    assert (method, len(asked)) == ("POST", 1)
    assert urlsplit(path).query == "startrecord=46&endrecord=90&perpage=15"
    assert form == {"columnid": ["4296"], "unitid": ["31227"], "webid": ["28"]}
    assert "甲" in page.text and page.final_url == url
