"""A raw-socket HTTP server on 127.0.0.1 that misbehaves on purpose, one fault per path.

http.server cannot reset a connection mid-body or send a broken gzip stream, so this speaks
HTTP by hand. Every fault is bounded in time and size so a test can never hang the suite.

    /ok             a small valid page
    /reset          headers and half the promised body, then a TCP reset
    /silent         accepts the connection and never answers (closed after 30 s)
    /drip           a page sent one byte every 0.2 s (for the whole-page deadline)
    /gzip           a whole, valid gzip body
    /gzip-truncated a gzip body cut off in the middle
    /to-file        a redirect to a file: URL
    /to-javascript  a redirect to a javascript: URL
    /image          a PNG served where a page was expected
    /nocontenttype  HTML bytes with no Content-Type at all
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import struct
import threading
import time
from collections.abc import Callable

PAGE = (
    "<html><head><meta charset='utf-8'><title>测试页面</title></head><body>"
    "<h1>测试页面</h1><p>这是一段用于测试的正文，内容由本项目编写。</p></body></html>"
).encode()


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode()


class FaultServer:
    """Serves one connection per thread; ``url(path)`` names a fault."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def close(self) -> None:
        self._stop.set()
        self.sock.close()

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
            path = request.split(b" ", 2)[1].decode("ascii", "replace")
            handler = self._routes().get(path.split("?")[0], self._ok)
            handler(conn)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def _routes(self) -> dict[str, Callable[[socket.socket], None]]:
        return {
            "/reset": self._reset,
            "/silent": self._silent,
            "/drip": self._drip,
            "/gzip-truncated": self._gzip_truncated,
            "/gzip": self._gzip_whole,
            "/to-file": lambda c: self._redirect(c, "file:///etc/passwd"),
            "/to-javascript": lambda c: self._redirect(c, "javascript:alert(1)"),
            "/image": self._image,
            "/nocontenttype": self._no_content_type,
        }

    def _ok(self, conn: socket.socket) -> None:
        headers = {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(PAGE))}
        conn.sendall(_head("200 OK", headers) + PAGE)

    def _reset(self, conn: socket.socket) -> None:
        body = PAGE * 50
        headers = {"Content-Type": "text/html", "Content-Length": str(len(body))}
        conn.sendall(_head("200 OK", headers) + body[: len(body) // 2])
        # SO_LINGER with a zero timeout turns close() into a TCP RST.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _silent(self, conn: socket.socket) -> None:
        self._stop.wait(30)

    def _drip(self, conn: socket.socket) -> None:
        headers = {"Content-Type": "text/html", "Content-Length": str(len(PAGE))}
        conn.sendall(_head("200 OK", headers))
        for i in range(len(PAGE)):
            if self._stop.is_set():
                return
            conn.sendall(PAGE[i : i + 1])
            time.sleep(0.2)

    def _gzip_truncated(self, conn: socket.socket) -> None:
        body = gzip.compress(PAGE * 200)
        cut = body[: len(body) // 2]
        headers = {
            "Content-Type": "text/html",
            "Content-Encoding": "gzip",
            "Content-Length": str(len(cut)),
        }
        conn.sendall(_head("200 OK", headers) + cut)

    def _gzip_whole(self, conn: socket.socket) -> None:
        body = gzip.compress(PAGE)
        headers = {
            "Content-Type": "text/html; charset=utf-8",
            "Content-Encoding": "gzip",
            "Content-Length": str(len(body)),
        }
        conn.sendall(_head("200 OK", headers) + body)

    def _redirect(self, conn: socket.socket, target: str) -> None:
        conn.sendall(_head("302 Found", {"Location": target, "Content-Length": "0"}))

    def _image(self, conn: socket.socket) -> None:
        body = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
        headers = {"Content-Type": "image/png", "Content-Length": str(len(body))}
        conn.sendall(_head("200 OK", headers) + body)

    def _no_content_type(self, conn: socket.socket) -> None:
        conn.sendall(_head("200 OK", {"Content-Length": str(len(PAGE))}) + PAGE)
