"""A ``Page`` from bytes, and whether bytes are a page at all: one constructor and one sniff
for every way a page arrives without a fresh HTTP exchange (a saved file, a WARC record, a
distributed worker's result) and for the fetcher's check of a body with no Content-Type.

Kept below the pipeline (it needs only decode and models) so the fetcher can use it too.
"""

from __future__ import annotations

from scraper.decode import decode
from scraper.models import FetchAttempt, Page

# Formats a server sends without (or with a wrong) Content-Type that are surely not pages.
_NOT_MARKUP = (b"%pdf", b"\x89png", b"\xff\xd8\xff", b"gif8", b"pk\x03\x04")


def looks_like_html(data: bytes) -> bool:
    """Sniff the first bytes: markup, not a PDF, an image or a zip archive.

    Used where nothing reliable says what the bytes are (no Content-Type, a saved file, a WARC
    record without one). A PDF is never a page, whatever markup its first kilobyte holds.
    """
    sample = data[:1024].lstrip().lower()
    if sample.startswith(_NOT_MARKUP):
        return False
    if sample.startswith(b"\xef\xbb\xbf"):
        sample = sample[3:].lstrip()
    return sample.startswith(b"<") or b"<html" in sample or b"<body" in sample


BINARY = "binary"
"""The ``encoding`` of bytes that are a file, not text (an attachment, a picture)."""


def page_from_bytes(
    url: str,
    content: bytes,
    *,
    fetched_at: str,
    final_url: str | None = None,
    status: int | None = 200,
    content_type: str | None = None,
    encoding: str | None = None,
    headers: tuple[tuple[str, str], ...] = (),
    elapsed: float | None = None,
    attempts: tuple[FetchAttempt, ...] | None = None,
    redirects: tuple[str, ...] = (),
    request_headers: tuple[tuple[str, str], ...] = (),
    http_version: str | None = None,
    reason: str | None = None,
) -> Page:
    """A page from bytes that were not just fetched: a saved file, a WARC record, a result a
    worker of a distributed crawl sent.

    ``status`` None means no HTTP exchange (a file read from disk): the page counts as 200 and
    its fetch row has no status. ``encoding`` is given when the bytes were decoded before (a
    worker's result): they are decoded with it again, undecodable bytes replaced, not detected
    anew; otherwise the text is found by ``decode`` with ``content_type`` as a hint.
    ``attempts`` None makes the one attempt that describes this read (its ETag and
    Last-Modified taken from ``headers``); pass them when they travelled with the bytes.
    """
    final = final_url or url
    if encoding == BINARY:  # a file (an attachment): its bytes are not text
        text = ""
    elif encoding is None:
        text, encoding = decode(content, content_type)
    else:
        text = content.decode(encoding or "utf-8", errors="replace")
    if attempts is None:
        attempts = (
            FetchAttempt(
                url=final,
                time=fetched_at,
                status=status,
                final_url=final,
                bytes=len(content),
                encoding=encoding,
                elapsed=elapsed,
                etag=_header(headers, "etag"),
                last_modified=_header(headers, "last-modified"),
            ),
        )
    return Page(
        url=url,
        final_url=final,
        status=200 if status is None else status,
        content=content,
        text=text,
        encoding=encoding,
        content_type=content_type,
        headers=headers,
        fetched_at=fetched_at,
        elapsed=elapsed or 0.0,
        redirects=redirects,
        attempts=attempts,
        request_headers=request_headers,
        http_version=http_version,
        reason=reason,
    )


def _header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    return next((v for k, v in headers if k.lower() == name), None)
