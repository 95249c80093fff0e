"""WARC import: records into pages, archived through ``scraper.pipeline``.

Import reads WARCs from any crawler and archives every HTML response exactly as a fetch would
(``pipeline.record``, the step a fetch takes, with the WARC-Date as the capture time and an
older capture never replacing a later archived one). A record that cannot be read is reported
with its offset and skipped; reading resumes at the next record found (``read``). A file an
imported article attaches is linked to it again (``_attachment``).

Over 500 lines because one class follows a WARC's record stream: requests and metadata wait
for their response, revisits resolve to the payload they refer to, and a batch commits as one;
split apart, each piece would reach into the same pending state.
"""

from __future__ import annotations

import gzip as gziplib
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from scraper.archive import Archive
from scraper.crashpoints import crashpoint
from scraper.errors import ScraperError, WarcError
from scraper.models import Article, Page
from scraper.pages import BINARY
from scraper.pipeline import (
    Counters,
    Kind,
    looks_like_html,
    page_from_bytes,
    record,
    safe_parse,
    take_attachment,
)
from scraper.urls import canonicalize

from .read import (
    _READ_ERRORS,
    DEFAULT_MAX_BYTES,
    _dechunk,
    _decompress,
    _digest_matches,
    _next_record_start,
    _PayloadError,
    _Records,
    _status,
    _unreadable,
    archive_time,
)

_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass
class ImportStats(Counters):
    """What an import did, record by record (its pages' fates counted as ``Counters``)."""

    files: int = 0
    records: int = 0
    revisits: int = 0
    not_html: int = 0
    not_ok: int = 0
    empty: int = 0
    already: int = 0
    bad: int = 0
    other: int = 0
    attachments: int = 0
    errors: list[WarcError] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return self.new + self.updated + self.unchanged

    def summary(self) -> str:
        skipped = [
            (self.not_html, "not HTML"),
            (self.not_ok, "not 2xx"),
            (self.empty, "empty"),
            (self.not_article, "not articles (kept as raw pages)"),
            (self.already, "already archived"),
            (self.older, "older than the archived record (kept as raw pages)"),
            (self.not_modified, "304 revisits"),
        ]
        skip = ", ".join(f"{n} {what}" for n, what in skipped if n) or "none"
        return (
            f"imported {self.pages} pages from {self.records} records in {self.files} file(s): "
            f"new {self.new}, updated {self.updated}, unchanged {self.unchanged} "
            f"({self.revisits} from revisits); attachments {self.attachments}; "
            f"skipped: {skip}; failed {self.failed}, bad records {self.bad}"
        )


@dataclass(frozen=True)
class _Payload:
    """Where a response's body went in the archive, for later revisit records."""

    sha: str
    content_type: str | None


@dataclass
class _Pending:
    """A capture waiting for its request record (which some crawlers write after it)."""

    offset: int
    record_id: str
    concurrent: tuple[str, ...]
    page: Page
    revisit: bool
    request_headers: tuple[tuple[str, str], ...] = ()


def _is_html_type(ctype: str | None) -> bool:
    return ctype is None or ctype.split(";")[0].strip().lower().startswith(_HTML_TYPES)


class _Importer:
    def __init__(
        self,
        archive: Archive,
        parse: Callable[[Page], Article],
        stats: ImportStats,
        on_error: Callable[[WarcError], None],
        max_bytes: int,
    ) -> None:
        self.archive = archive
        self.parse = parse
        self.stats = stats
        self.on_error = on_error
        self.max_bytes = max_bytes
        self.by_id: dict[str, _Payload] = {}
        self.by_digest: dict[str, _Payload] = {}
        self.pending: _Pending | None = None
        self.requests: dict[str, tuple[tuple[str, str], ...]] = {}
        self.path = ""
        # The record just read was refused for its size before its end: in a .warc.gz the
        # reader goes on to the next gzip member, rather than inflate the rest to skip it.
        self.oversized = False
        self.saved = 0  # articles saved in the open batch (for the crash points)

    def error(self, message: str, offset: int | None, *, bad: bool = True) -> None:
        err = WarcError(message, path=self.path, offset=offset)
        if bad:
            self.stats.bad += 1
        self.stats.errors.append(err)
        self.on_error(err)

    # ------------------------------------------------------------- records

    def records(
        self, fh: IO[bytes], progress: Callable[[int], None] | None
    ) -> Iterator[tuple[int, Any]]:
        """Each readable record with its offset; a bad one is reported and skipped."""
        fh.seek(0)
        compressed = fh.read(2) == b"\x1f\x8b"
        start = 0
        while True:
            fh.seek(start)
            it = _Records(fh)
            offset = start
            try:
                for record in it:
                    offset = it.offset
                    self._misplaced(it, offset)
                    if progress is not None:
                        progress(offset)
                    self.oversized = False
                    yield offset, record
                    if self.oversized and compressed:
                        break  # not inflating the rest of its member: on to the next one
                else:
                    return
                after = offset
            except _READ_ERRORS as exc:
                if "non-chunked gzip" in str(exc):
                    yield from self._whole_gzip(fh)
                    return
                after = max(it.offset, offset)
                self.error(_unreadable(exc), after)
            nxt = _next_record_start(fh, after + 1, compressed)
            if nxt is None:
                return
            start = nxt

    def _misplaced(self, it: _Records, offset: int) -> None:
        """Report, as one error of ours, warcio's finding that a record did not end where its
        Content-Length said (the record at ``offset`` follows it)."""
        if it.err_count > it.reported:
            it.reported = it.err_count
            self.error("the record before this one does not match its Content-Length", offset)

    def _whole_gzip(self, fh: IO[bytes]) -> Iterator[tuple[int, Any]]:
        """A WARC gzipped as one stream (``gzip file.warc``), not per record: read it as a
        stream; offsets are then in the uncompressed data. Records already read are skipped."""
        fh.seek(0)
        seen = 0
        with gziplib.GzipFile(fileobj=fh) as stream:
            it = _Records(stream)
            try:
                for record in it:
                    self._misplaced(it, it.offset)
                    seen += 1
                    if seen == 1:
                        continue  # the first record was read before the problem showed
                    yield it.offset, record
            except _READ_ERRORS as exc:
                self.error(_unreadable(exc), it.offset)

    def run(self, path: Path, progress: Callable[[int], None] | None, batch_size: int) -> None:
        self.path = str(path)
        try:
            fh = path.open("rb")
        except OSError as exc:
            raise WarcError(f"cannot read ({exc.strerror or exc})", path=str(path)) from exc
        self.stats.files += 1
        with fh:
            first = fh.read(8)
            fh.seek(0)
            if not first.startswith((b"\x1f\x8b", b"WARC/")):
                raise WarcError("not a WARC file (no WARC header at the start)", path=str(path))
            done = 0
            tx = self.archive.batch()
            tx.__enter__()
            try:
                for offset, record in self.records(fh, progress):
                    self.stats.records += 1
                    try:
                        done += self.record(offset, record)
                    except _PayloadError as exc:
                        self.error(str(exc), offset)
                    if done >= batch_size:
                        self.flush()
                        tx.__exit__(None, None, None)
                        self.committed()
                        tx = self.archive.batch()
                        tx.__enter__()
                        done = 0
                self.flush()
            except BaseException as exc:
                tx.__exit__(type(exc), exc, exc.__traceback__)
                raise
            tx.__exit__(None, None, None)
            self.committed()

    def committed(self) -> None:
        """A batch has committed (crashpoints.py)."""
        saved, self.saved = self.saved, 0
        crashpoint("save-after-commit", saved)

    def record(self, offset: int, record: Any) -> int:
        """Handle one record; the number of pages it sent to the archive (for batching)."""
        rtype = record.rec_type
        headers = record.rec_headers
        rid = headers.get_header("WARC-Record-ID") or ""
        concurrent = tuple(v for k, v in headers.headers if k.lower() == "warc-concurrent-to" and v)
        if not rtype:
            raise _PayloadError("record has no WARC-Type (damaged headers)")
        if rtype == "request":
            self._request(record, rid, concurrent)
            return 0
        if rtype == "metadata":
            self._own_metadata(record, concurrent)
            self.stats.other += 1
            return 0
        if rtype not in ("response", "revisit", "resource"):
            self.stats.other += 1
            return 0
        uri = (headers.get_header("WARC-Target-URI") or "").strip("<> ")
        scheme = urlsplit(uri).scheme.lower()
        if rtype == "resource" and scheme not in ("http", "https", "file"):
            self.stats.other += 1
            return 0
        sent = self.flush()
        if rtype == "revisit":
            page = self._revisit_page(offset, record, uri)
        else:
            page = self._response_page(offset, record, uri, rid)
        if page is None:
            return sent
        self.pending = _Pending(offset, rid, concurrent, page, rtype == "revisit")
        self._attach_request()
        return sent

    def _request(self, record: Any, rid: str, concurrent: tuple[str, ...]) -> None:
        if record.http_headers is None:
            return
        pairs = tuple((str(k), str(v)) for k, v in record.http_headers.headers)
        if len(self.requests) > 64:
            self.requests.clear()
        for key in (rid, *concurrent):
            if key:
                self.requests[key] = pairs
        self._attach_request()

    def _own_metadata(self, record: Any, concurrent: tuple[str, ...]) -> None:
        """Our own export's metadata record: a capture whose headers were written at export
        (a local file) is archived without them, as it was, and under the URL requested."""
        p = self.pending
        if p is None or p.record_id not in concurrent:
            return
        if "json" not in (record.rec_headers.get_header("Content-Type") or ""):
            return
        try:
            meta = json.loads(record.raw_stream.read(1 << 24))
        except ValueError:
            return
        if not isinstance(meta, dict) or not str(meta.get("software", "")).startswith("archiver/"):
            return
        page = p.page
        attempt = page.attempts[0]
        requested = meta.get("requested_url")
        if isinstance(requested, str) and requested:
            page = replace(page, url=requested)
            attempt = replace(attempt, url=requested)
        if str(meta.get("http_headers", "")).startswith("not kept"):
            page = replace(page, headers=(), http_version=None, reason=None, content_type=None)
            attempt = replace(attempt, status=None)
        p.page = replace(page, attempts=(attempt,))

    def _attach_request(self) -> None:
        p = self.pending
        if p is None or p.request_headers:
            return
        for key in (p.record_id, *p.concurrent):
            if key in self.requests:
                p.request_headers = self.requests.pop(key)
                return

    def _response_page(self, offset: int, record: Any, uri: str, rid: str) -> Page | None:
        date = archive_time(record.rec_headers.get_header("WARC-Date") or "")
        hh = record.http_headers
        if record.rec_type == "resource" or hh is None:
            if urlsplit(uri).scheme.lower() not in ("http", "https", "file"):
                self.stats.not_html += 1
                return None
            ctype = record.rec_headers.get_header("Content-Type")
            status, proto, reason = 200, None, None
            pairs: tuple[tuple[str, str], ...] = ()
            if record.rec_type == "response":  # a non-HTTP response (dns:, ftp:...)
                self.stats.not_html += 1
                return None
        else:
            ctype = hh.get_header("Content-Type")
            status, proto, reason, pairs = _status(hh)
            if not 200 <= status < 300:
                self.stats.not_ok += 1
                return None
        if not _is_html_type(ctype):
            self._attachment(record, hh, uri, date, status, ctype, pairs, proto, reason)
            return None
        body = self._body(record, hh)
        if not body.strip():
            self.stats.empty += 1
            return None
        if ctype is None and not looks_like_html(body):
            self._attachment(record, hh, uri, date, status, ctype, pairs, proto, reason, body)
            return None
        payload = _Payload(hashlib.sha256(body).hexdigest(), ctype)
        if rid:
            self.by_id[rid] = payload
        digest = record.rec_headers.get_header("WARC-Payload-Digest")
        if digest:
            self.by_digest[digest] = payload
        return _page(uri, date, status, body, ctype, pairs, proto, reason)

    def _attachment(
        self,
        record: Any,
        hh: Any,
        uri: str,
        date: str,
        status: int,
        ctype: str | None,
        pairs: tuple[tuple[str, str], ...],
        proto: str | None,
        reason: str | None,
        body: bytes | None = None,
    ) -> None:
        """A record that is no page: a file an archived article attaches and does not hold
        yet is kept with it (its text extracted, as a fetch would); anything else is skipped."""
        if not self.archive.wants_attachment(uri):
            self.stats.not_html += 1
            return
        data = self._body(record, hh) if body is None else body
        page = page_from_bytes(
            uri,
            data,
            fetched_at=date,
            status=status,
            content_type=ctype,
            encoding=BINARY,
            headers=pairs,
            http_version=proto,
            reason=reason,
        )
        self.archive.attach(take_attachment(uri, page, None), data, page.attempts, page)
        self.stats.attachments += 1

    def _revisit_page(self, offset: int, record: Any, uri: str) -> Page | None:
        rh = record.rec_headers
        date = archive_time(rh.get_header("WARC-Date") or "")
        hh = record.http_headers
        profile = (rh.get_header("WARC-Profile") or "").lower()
        status, proto, reason, pairs = _status(hh) if hh is not None else (200, None, None, ())
        if status == 304 or "server-not-modified" in profile:
            self.stats.not_modified += 1
            return None
        if not 200 <= status < 300:
            self.stats.not_ok += 1
            return None
        if hh is not None and not _is_html_type(hh.get_header("Content-Type")):
            self.stats.not_html += 1
            return None
        ref = (rh.get_header("WARC-Refers-To") or "").strip()
        digest = rh.get_header("WARC-Payload-Digest") or ""
        ref_uri = (rh.get_header("WARC-Refers-To-Target-URI") or uri).strip("<> ")
        payload = self.by_id.get(ref) or self.by_digest.get(digest)
        body: bytes | None = None
        if payload is not None:
            body = self.archive.raw_page(payload.sha)
        if body is None and digest:
            for sha in self.archive.raw_shas_for_url(ref_uri):
                data = self.archive.raw_page(sha)
                if data is not None and _digest_matches(digest, data):
                    body, payload = data, _Payload(sha, None)
                    break
        if body is None or payload is None:
            self.error(
                f"revisit of {uri} refers to a capture neither in this file nor in the archive "
                "(import the WARC holding the original first)",
                offset,
            )
            return None
        ctype = (hh.get_header("Content-Type") if hh is not None else None) or payload.content_type
        if not _is_html_type(ctype):
            self.stats.not_html += 1
            return None
        return _page(uri, date, status, body, ctype, pairs, proto, reason)

    def _body(self, record: Any, hh: Any) -> bytes:
        expected = record.payload_length if hh is not None else record.length
        raw = bytes(record.raw_stream.read(self.max_bytes * 4 + 1))
        if len(raw) > self.max_bytes * 4:
            self.oversized = True
            raise _PayloadError(f"body is over the {self.max_bytes}-byte cap")
        if expected is not None and expected >= 0 and len(raw) < expected:
            raise _PayloadError(f"record is truncated ({len(raw)} of {expected} bytes)")
        if hh is None:
            body = raw
        else:
            if (hh.get_header("Transfer-Encoding") or "").strip().lower() == "chunked":
                raw = _dechunk(raw)
            body = _decompress(raw, hh.get_header("Content-Encoding") or "", self.max_bytes)
        if len(body) > self.max_bytes:
            raise _PayloadError(f"body is over the {self.max_bytes}-byte cap")
        return body

    # ------------------------------------------------------------- archiving

    def flush(self) -> int:
        """Archive the pending capture, now that its request record had its chance."""
        p, self.pending = self.pending, None
        if p is None:
            return 0
        page = p.page
        if p.request_headers:
            page = replace(page, request_headers=p.request_headers)
        sha = hashlib.sha256(page.content).hexdigest()
        if self.archive.has_capture(page.url, page.fetched_at, sha):
            self.stats.already += 1
            return 0
        try:
            parsed: Article | ScraperError = self.parse(page)
        except ScraperError as exc:
            parsed = exc
        done = record(self.archive, page, parsed, self.stats, superseded=self._superseded)
        if done.kind is Kind.FAILED:
            message = str(done.error)
            if page.final_url not in message:
                message = f"{page.final_url}: {message}"
            self.error(message, p.offset, bad=False)
        elif done.saved is not None:
            self.saved += 1
            crashpoint("save-before-commit")  # saved, its batch not yet committed
            if p.revisit:
                self.stats.revisits += 1
        return 1

    def _superseded(self, page: Page, article: Article) -> bool:
        """A later capture of the article is the archived record: saving this older one
        would make it the current record, so only its bytes are kept."""
        last_seen = self.archive.last_seen_of(canonicalize(article.canonical_url or article.url))
        return last_seen is not None and last_seen > page.fetched_at


def _page(
    uri: str,
    time: str,
    status: int,
    body: bytes,
    ctype: str | None,
    headers: tuple[tuple[str, str], ...],
    proto: str | None,
    reason: str | None,
) -> Page:
    return page_from_bytes(
        uri,
        body,
        fetched_at=time,
        status=status,
        content_type=ctype,
        headers=headers,
        http_version=proto,
        reason=reason,
    )


def import_warc(
    archive: Archive,
    paths: list[Path],
    *,
    parse: Callable[[Page], Article] | None = None,
    progress: Callable[[Path, int], None] | None = None,
    on_error: Callable[[WarcError], None] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    batch_size: int = 200,
) -> ImportStats:
    """Archive every HTML capture in the WARC files, in file order, as a fetch would.

    ``progress(path, offset)`` is called per record; ``on_error`` per bad record or failed
    page (the import goes on). A revisit may refer to a capture in an earlier file of the same
    call or already in the archive. Saves commit in batches of ``batch_size`` pages; an
    interrupted import loses at most the open batch, and running it again skips what is
    already archived.
    """
    stats = ImportStats()
    importer = _Importer(
        archive, parse or safe_parse, stats, on_error or (lambda e: None), max_bytes
    )
    for path in paths:
        tick = None if progress is None else (lambda off, p=path: progress(p, off))
        try:
            importer.run(path, tick, batch_size)
        except WarcError as exc:
            stats.bad += 1
            stats.errors.append(exc)
            if on_error is not None:
                on_error(exc)
    return stats
