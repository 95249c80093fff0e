"""A raw-socket HTTP server on 127.0.0.1 that misbehaves on purpose.

http.server cannot reset a connection mid-body or send a broken gzip stream, so this speaks
HTTP by hand, one connection per request (``Connection: close``). Every fault is bounded in
time and size so a test can never hang the suite.

Fixed paths name a fault (``url("reset")``). A test can also serve good pages (``pages``, or
``generate(path)`` for many cheap pages) and put any named fault on any path (``fault()``),
for every request or only the first N, so a page archived by one crawl can fail the next:

    ok              a small valid page (also any unknown path but /robots.txt, which is 404)
    reset           headers and half the promised body, then a TCP reset
    silent          accepts the connection and never answers (closed after 30 s)
    drip            the page sent one byte every ``drip_interval`` seconds (default 0.2)
    drip-headers    the same for the status line and headers, before any body
    processing      ``102 Processing`` answers, one every ``drip_interval`` seconds, for ever
    gzip            a whole, valid gzip body
    gzip-truncated  a gzip body cut off in the middle
    to-file         a redirect to a file: URL (to-javascript, to-data: the same schemes)
    loop            a redirect to itself
    image, pdf      a PNG or PDF served where a page was expected
    nocontenttype   HTML bytes with no Content-Type at all
    500 502 503     that status; 429 with ``Retry-After: 1``
    endless         a chunked HTML body that never ends (bounded at ~650 MB)
    empty           200 with no body
    deep            ~5 MB of HTML, 100,000 elements nested inside each other
    Charset faults re-encode the path's good page (it must carry <meta charset="utf-8">):
    gbk-header-utf8-bytes   header says gbk, meta says utf-8, bytes are UTF-8
    utf8-header-gbk-bytes   header says utf-8, meta says utf-8, bytes are GBK
    gbk-no-charset          bytes are GBK, nothing declared anywhere
    gbk-wrong-meta          bytes are GBK, no header charset, meta says utf-8
"""

from __future__ import annotations

import contextlib
import gzip
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable

PAGE = (
    "<html><head><meta charset='utf-8'><title>测试页面</title></head><body>"
    "<h1>测试页面</h1><p>这是一段用于测试的正文，内容由本项目编写。</p></body></html>"
).encode()
DEEP = 100_000

Handler = Callable[[socket.socket, str], None]


def _head(status: str, headers: dict[str, str]) -> bytes:
    headers = {**headers, "Connection": "close"}
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode()


def deep_html() -> bytes:
    """~5 MB of HTML whose 100,000 elements are nested each inside the last."""
    opener = "<div class='level'><span>层</span>"
    filler = "<p>" + "深层嵌套页面的正文。" * 40 + "</p>"
    html = (
        "<html><head><meta charset='utf-8'><title>深层嵌套</title></head><body>"
        + opener * DEEP
        + filler * 1200
        + "</div>" * DEEP
        + "</body></html>"
    )
    return html.encode()


class FaultServer:
    """Serves one connection per thread; ``url(path)`` names a fault or a page."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(128)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.pages: dict[str, bytes] = {}
        self.redirects: dict[str, str] = {}  # path -> where a 302 sends it
        self.generate: Callable[[str], bytes | None] | None = None
        self.hits: Counter[str] = Counter()
        self.drip_interval = 0.2
        self._faults: dict[str, tuple[str, int | None]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def fault(self, path: str, name: str | None, times: int | None = None) -> None:
        """Answer ``path`` with fault ``name`` (None: stop faulting), for the next ``times``
        requests only when given (then the good page again)."""
        if name is not None and name not in self._named():
            raise ValueError(f"no fault {name!r}")
        with self._lock:
            if name is None:
                self._faults.pop(path, None)
            else:
                self._faults[path] = (name, times)

    def close(self) -> None:
        """Stop listening at once: a connection after this is refused."""
        self._stop.set()
        with contextlib.suppress(OSError):  # wakes the thread blocked in accept()
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        try:
            request = b""
            while b"\r\n\r\n" not in request and len(request) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            target = request.split(b" ", 2)[1].decode("ascii", "replace")
            path = target.split("?")[0]
            self._pick(path)(conn, path)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def _pick(self, path: str) -> Handler:
        with self._lock:
            self.hits[path] += 1
            if path in self.redirects:
                target = self.redirects[path]
                return lambda c, p: self._redirect(c, target)
            named = self._faults.get(path)
            if named is not None:
                name, times = named
                if times is not None:
                    if times <= 1:
                        del self._faults[path]
                    else:
                        self._faults[path] = (name, times - 1)
                return self._named()[name]
        fixed = self._named().get(path.lstrip("/"))
        if fixed is not None and path not in self.pages:
            return fixed
        return self._page

    def _named(self) -> dict[str, Handler]:
        return {
            "ok": lambda c, p: self._send(c, "200 OK", PAGE, "text/html; charset=utf-8"),
            "reset": self._reset,
            "silent": self._silent,
            "drip": self._drip,
            "drip-headers": self._drip_headers,
            "processing": self._processing,
            "gzip-truncated": self._gzip_truncated,
            "gzip": self._gzip_whole,
            "to-file": lambda c, p: self._redirect(c, "file:///etc/passwd"),
            "to-javascript": lambda c, p: self._redirect(c, "javascript:alert(1)"),
            "to-data": lambda c, p: self._redirect(c, "data:text/html,<p>x</p>"),
            "loop": lambda c, p: self._redirect(c, p),
            "image": lambda c, p: self._send(
                c, "200 OK", b"\x89PNG\r\n\x1a\n" + bytes(100), "image/png"
            ),
            "pdf": lambda c, p: self._send(
                c, "200 OK", b"%PDF-1.4\n" + bytes(100), "application/pdf"
            ),
            "nocontenttype": lambda c, p: self._send(c, "200 OK", PAGE, None),
            "500": lambda c, p: self._send(c, "500 Internal Server Error", b"<p>oops</p>"),
            "502": lambda c, p: self._send(c, "502 Bad Gateway", b"<p>bad gateway</p>"),
            "503": lambda c, p: self._send(c, "503 Service Unavailable", b"<p>busy</p>"),
            "429": lambda c, p: self._send(
                c, "429 Too Many Requests", b"slow down", "text/plain", {"Retry-After": "1"}
            ),
            "endless": self._endless,
            "empty": lambda c, p: self._send(c, "200 OK", b"", "text/html; charset=utf-8"),
            "deep": lambda c, p: self._send(c, "200 OK", deep_html(), "text/html; charset=utf-8"),
            "gbk-header-utf8-bytes": lambda c, p: self._recoded(c, p, "gbk", "utf-8", "utf-8"),
            "utf8-header-gbk-bytes": lambda c, p: self._recoded(c, p, "utf-8", "utf-8", "gbk"),
            "gbk-no-charset": lambda c, p: self._recoded(c, p, None, None, "gbk"),
            "gbk-wrong-meta": lambda c, p: self._recoded(c, p, None, "utf-8", "gbk"),
        }

    # ------------------------------------------------------------------ answers

    def _good(self, path: str) -> bytes | None:
        page = self.pages.get(path)
        if page is None and self.generate is not None:
            page = self.generate(path)
        return page

    def _page(self, conn: socket.socket, path: str) -> None:
        body = self._good(path)
        if body is None:
            if path == "/robots.txt" or self.pages or self.generate is not None:
                self._send(conn, "404 Not Found", b"<html><body>not found</body></html>")
                return
            body = PAGE
        self._send(conn, "200 OK", body, "text/html; charset=utf-8")

    def _send(
        self,
        conn: socket.socket,
        status: str,
        body: bytes,
        ctype: str | None = "text/html",
        extra: dict[str, str] | None = None,
    ) -> None:
        headers = {"Content-Length": str(len(body)), **(extra or {})}
        if ctype is not None:
            headers["Content-Type"] = ctype
        conn.sendall(_head(status, headers) + body)

    def _recoded(
        self, conn: socket.socket, path: str, header: str | None, meta: str | None, actual: str
    ) -> None:
        text = (self._good(path) or PAGE).decode("utf-8")
        text = re.sub(r"<meta charset=['\"]?utf-8['\"]?\s*/?>", "", text, flags=re.I)
        if meta is not None:
            text = text.replace("<head>", f'<head><meta charset="{meta}">', 1)
        ctype = f"text/html; charset={header}" if header else "text/html"
        self._send(conn, "200 OK", text.encode(actual), ctype)

    def _reset(self, conn: socket.socket, path: str) -> None:
        body = (self._good(path) or PAGE) * 50
        headers = {"Content-Type": "text/html", "Content-Length": str(len(body))}
        conn.sendall(_head("200 OK", headers) + body[: len(body) // 2])
        # SO_LINGER with a zero timeout turns close() into a TCP RST.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _silent(self, conn: socket.socket, path: str) -> None:
        self._stop.wait(30)

    def _drip(self, conn: socket.socket, path: str) -> None:
        body = self._good(path) or PAGE
        headers = {"Content-Type": "text/html", "Content-Length": str(len(body))}
        conn.sendall(_head("200 OK", headers))
        for i in range(len(body)):
            if self._stop.is_set():
                return
            conn.sendall(body[i : i + 1])
            time.sleep(self.drip_interval)

    def _drip_headers(self, conn: socket.socket, path: str) -> None:
        body = self._good(path) or PAGE
        head = _head("200 OK", {"Content-Type": "text/html", "X-Pad": "x" * 200})
        for i in range(len(head)):
            if self._stop.is_set():
                return
            conn.sendall(head[i : i + 1])
            time.sleep(self.drip_interval)
        conn.sendall(body)

    def _processing(self, conn: socket.socket, path: str) -> None:
        while not self._stop.wait(self.drip_interval):
            conn.sendall(b"HTTP/1.1 102 Processing\r\n\r\n")

    def _gzip_truncated(self, conn: socket.socket, path: str) -> None:
        body = gzip.compress((self._good(path) or PAGE) * 200)
        cut = body[: len(body) // 2]
        headers = {
            "Content-Type": "text/html",
            "Content-Encoding": "gzip",
            "Content-Length": str(len(cut)),
        }
        conn.sendall(_head("200 OK", headers) + cut)

    def _gzip_whole(self, conn: socket.socket, path: str) -> None:
        body = gzip.compress(PAGE)
        headers = {
            "Content-Type": "text/html; charset=utf-8",
            "Content-Encoding": "gzip",
            "Content-Length": str(len(body)),
        }
        conn.sendall(_head("200 OK", headers) + body)

    def _redirect(self, conn: socket.socket, target: str) -> None:
        conn.sendall(_head("302 Found", {"Location": target, "Content-Length": "0"}))

    def _endless(self, conn: socket.socket, path: str) -> None:
        headers = {"Content-Type": "text/html", "Transfer-Encoding": "chunked"}
        conn.sendall(_head("200 OK", headers))
        chunk = b"<p>" + b"y" * 65536 + b"</p>"
        frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
        for _ in range(10_000):  # ~650 MB at most; the client hangs up far sooner
            if self._stop.is_set():
                return
            conn.sendall(frame)
