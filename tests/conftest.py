"""Shared fixtures: a real HTTP server on 127.0.0.1 serving samples/ plus fault routes."""

from __future__ import annotations

import os
import sys
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import settings

from .faultserver import FaultServer

if TYPE_CHECKING:
    from .test_crawl import Site

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
CORPUS = ROOT.parent / "shared" / "corpus"

# Property tests draw new examples on every run, to find what no one thought of; CI's profile
# draws the same ones each time, so a submission's verdict does not depend on the draw.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# Skips that mean "a tool this machine lacks" (not "this case does not apply"). CI installs
# every such tool and sets ARCHIVER_REQUIRE_TOOLS, which turns these skips into failures: a
# failed install must not turn into a green run that tested less.
TOOL_SKIPS = ("is not installed", "no PostgreSQL server binaries", "psycopg")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if (
        report.skipped
        and os.environ.get("ARCHIVER_REQUIRE_TOOLS")
        and not hasattr(report, "wasxfail")
    ):
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
        if any(tool in reason for tool in TOOL_SKIPS):
            report.outcome = "failed"
            report.longrepr = f"required tool missing (ARCHIVER_REQUIRE_TOOLS is set): {reason}"


# Samples whose charset is only in the HTTP header (the bytes declare nothing).
HEADER_CHARSETS = {"seed-gbk-header.html": "gbk"}


class SampleServer(ThreadingHTTPServer):
    daemon_threads = True
    hits: Counter[str]

    @property
    def base(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients hanging up mid-answer is what some tests do; anything else goes to the
        real stderr, never into the output a CLI test is capturing."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        traceback.print_exc(file=sys.__stderr__)


class Handler(BaseHTTPRequestHandler):
    """Serves samples/ and a few routes that misbehave on purpose.

    /redirect/N      N redirects, then the seed page
    /loop            redirects to itself forever
    /missing         404
    /flaky?key=K     500 on the first request for K, then the seed page
    /busy?key=K      429 with Retry-After: 1 (&after=V: V) on the first request, then the seed
    /always500       500 every time
    /big?size=N      an HTML body of N bytes (Content-Length sent)
    /endless         a chunked HTML body that never ends (stops when the client goes away)
    /pdf             a PDF
    /empty           200 with no body
    /etag            the seed page with an ETag; 304 when If-None-Match matches
    /setcookie       the seed page, setting the cookie session=abc
    /setcookies      the same, after a cookie in raw UTF-8 (name=张三)
    /needcookie      the seed page with the cookie session=abc, else 403
    """

    server: SampleServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str = "text/html", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _seed(self) -> None:
        self._send(200, (SAMPLES / "seed-utf8.html").read_bytes(), "text/html; charset=utf-8")

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        key = query.get("key", [""])[0]
        self.server.hits[path + "?" + key] += 1
        hits = self.server.hits[path + "?" + key]
        if path.startswith("/redirect/"):
            n = int(path.rsplit("/", 1)[1])
            target = f"/redirect/{n - 1}" if n > 1 else "/seed-utf8.html"
            self._send(302, b"", Location=target)
        elif path == "/loop":
            self._send(302, b"", Location="/loop")
        elif path == "/missing":
            self._send(404, b"<html><body>not found</body></html>")
        elif path == "/flaky":
            if hits == 1:
                self._send(500, b"<html><body>oops</body></html>")
            else:
                self._seed()
        elif path == "/busy":
            if hits == 1:
                after = query.get("after", ["1"])[0]
                self._send(429, b"slow down", "text/plain", Retry_After=after)
            else:
                self._seed()
        elif path == "/always500":
            self._send(500, b"<html><body>down</body></html>")
        elif path == "/big":
            size = int(query.get("size", ["20000000"])[0])
            head = b"<html><body><p>"
            self._send(200, head + b"x" * (size - len(head)))
        elif path == "/endless":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"<p>" + b"y" * 65536 + b"</p>"
            try:
                for _ in range(10_000):  # bounded: ~650 MB at most, the client stops far sooner
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
        elif path == "/pdf":
            self._send(200, b"%PDF-1.4 not really", "application/pdf")
        elif path == "/empty":
            self._send(200, b"")
        elif path == "/setcookie":
            body = (SAMPLES / "seed-utf8.html").read_bytes()
            self._send(200, body, "text/html; charset=utf-8", Set_Cookie="session=abc; Path=/")
        elif path == "/setcookies":  # a cookie in raw UTF-8 (unsendable), then session=abc
            body = (SAMPLES / "seed-utf8.html").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Set-Cookie", "name=张三; Path=/".encode().decode("latin-1"))
            self.send_header("Set-Cookie", "session=abc; Path=/")
            self.end_headers()
            self.wfile.write(body)
        elif path == "/needcookie":
            if "session=abc" in (self.headers.get("Cookie") or ""):
                self._seed()
            else:
                self._send(403, b"<html><body>no session</body></html>")
        elif path == "/etag":
            if self.headers.get("If-None-Match") == '"v1"':
                self._send(304, b"", ETag='"v1"')
            else:
                body = (SAMPLES / "seed-utf8.html").read_bytes()
                self._send(200, body, "text/html; charset=utf-8", ETag='"v1"')
        else:
            self._file(path)

    def _file(self, path: str) -> None:
        target = (SAMPLES / path.lstrip("/")).resolve()
        if not target.is_relative_to(SAMPLES) or not target.is_file():
            self._send(404, b"<html><body>not found</body></html>")
            return
        charset = HEADER_CHARSETS.get(target.name)
        ctype = f"text/html; charset={charset}" if charset else "text/html"
        self._send(200, target.read_bytes(), ctype)


@pytest.fixture(scope="session")
def server() -> Iterator[SampleServer]:
    """A real HTTP server on 127.0.0.1 (an ephemeral port) for the whole test session."""
    srv = SampleServer(("127.0.0.1", 0), Handler)
    srv.hits = Counter()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="session")
def faults() -> Iterator[FaultServer]:
    """A raw-socket server that resets, stalls, drips and corrupts on purpose."""
    srv = FaultServer()
    yield srv
    srv.close()


@pytest.fixture
def make_site() -> Iterator[Callable[[], Site]]:
    """Start small sites (tests/test_crawl.py's ``Site``), each on its own port; stopped
    together at the end of the test."""
    from .test_crawl import Site

    started: list[Site] = []

    def make() -> Site:
        site = Site()
        threading.Thread(target=site.serve_forever, daemon=True).start()
        started.append(site)
        return site

    yield make
    stopping = [threading.Thread(target=site.shutdown) for site in started]  # in parallel
    for thread in stopping:
        thread.start()
    for thread in stopping:
        thread.join()
    for site in started:
        site.server_close()
