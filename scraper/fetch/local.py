"""Saved pages read from disk as if fetched, and the address a saved page records of itself."""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from scraper.errors import InputError, NotHTMLError, TooLargeError
from scraper.models import Page
from scraper.pages import looks_like_html, page_from_bytes

from .settings import now_iso

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


def is_local(target: str) -> bool:
    """True when a command-line target names a file on disk (a path or a ``file://`` URL)."""
    scheme_end = _SCHEME.match(target)  # not urlsplit: it refuses malformed URLs
    scheme = scheme_end.group(1).lower() if scheme_end else ""
    return scheme in ("", "file") or len(scheme) == 1  # one letter: a Windows drive


def read_local(target: str, *, url: str | None = None, max_bytes: int | None = None) -> Page:
    """A saved page read from disk (a path or a ``file://`` URL), as if it had been fetched.

    ``url`` says where the page came from; without it, the address the page itself records
    (``saved_from``), so that it gets its real site and absolute links; failing that, its
    ``file://`` URL.
    """
    split = urlsplit(target)
    path = Path(unquote(split.path)) if split.scheme.lower() == "file" else Path(target)
    started = time.monotonic()
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise TooLargeError(f"file is {size} bytes, over the {max_bytes}-byte cap", url=target)
        data = path.read_bytes()
    except IsADirectoryError as exc:
        raise InputError(f"{path}: is a directory, not a saved page") from exc
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    if not looks_like_html(data):
        raise NotHTMLError("file does not look like an HTML page", url=str(path))
    final_url = url or saved_from(data) or path.resolve().as_uri()
    return page_from_bytes(
        final_url,
        data,
        fetched_at=now_iso(),
        status=None,  # read from disk: no HTTP exchange
        elapsed=round(time.monotonic() - started, 4),
    )


# What a browser's "Save as" leaves in the file: Internet Explorer, Edge and Chrome write
# "<!-- saved from url=(0046)https://... -->" (the count is the address's length); SingleFile
# a comment with a "url:" line. The page's own <link rel=canonical> and og:url come next.
_SAVED_FROM = re.compile(rb"<!--\s*saved from url=\((\d{1,5})\)(\S+?)(?=\s|-->|$)", re.IGNORECASE)
_SINGLE_FILE = re.compile(rb"<!--\s*Page saved with SingleFile\s+url:\s*(\S+)", re.IGNORECASE)
_HEAD_TAG = re.compile(rb"<(link|meta)\b([^>]*)>", re.IGNORECASE)
_ATTRIBUTE = re.compile(rb"""([\w:.-]+)\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)""")
_LOOK_AT = 256 * 1024  # where a saved page keeps these: its top and its <head>


def saved_from(data: bytes) -> str | None:
    """The web address a saved page records of itself, or None: the "saved from url" comment
    a browser writes (or SingleFile's), else an absolute ``<link rel=canonical>``, else
    ``<meta property="og:url">``. Only an http(s) URL with a host counts."""
    from html import unescape

    from scraper.urls import is_web_url

    head = data[:_LOOK_AT]
    found: list[bytes] = []
    saved = _SAVED_FROM.search(head)
    if saved:
        length, address = int(saved.group(1)), saved.group(2)
        found.append(address[:length] if 0 < length <= len(address) else address)
    single = _SINGLE_FILE.search(head)
    if single:
        found.append(single.group(1))
    canonical: list[bytes] = []
    og_url: list[bytes] = []
    for tag in _HEAD_TAG.finditer(head):
        attrs = {k.lower(): v.strip(b"\"'") for k, v in _ATTRIBUTE.findall(tag.group(2))}
        if tag.group(1).lower() == b"link":
            if b"canonical" in attrs.get(b"rel", b"").lower().split() and b"href" in attrs:
                canonical.append(attrs[b"href"])
        elif attrs.get(b"property", attrs.get(b"name", b"")).lower() == b"og:url":
            og_url.append(attrs.get(b"content", b""))
    for candidate in (*found, *canonical, *og_url):
        url = unescape(candidate.decode("utf-8", "replace")).strip()
        if is_web_url(url):
            return url
    return None
