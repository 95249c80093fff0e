"""Web archives (WARC, ISO 28500) out and in: the only module that imports warcio.

Export writes every stored capture of the chosen articles as WARC/1.1, gzip per record: a
``warcinfo`` record, then per capture a ``response`` (the raw bytes and the HTTP headers as
fetched), the ``request`` where it was kept, and a ``metadata`` record with the extracted fields
as JSON; an unchanged re-fetch becomes a ``revisit`` (identical-payload-digest profile).

The archive keeps bodies *decoded* (the fetcher undoes gzip/deflate), so a response whose headers
say Content-Encoding or Transfer-Encoding gets those headers dropped and Content-Length fixed,
and its metadata record says so: writing decoded bytes under a gzip header would be a lie. A
page read from a local file kept no headers: its record gets a minimal set and its metadata
says the raw headers were not kept.

Import reads WARCs from any crawler and archives every HTML response exactly as a fetch would
(``pipeline.record``, the step a fetch takes, with the WARC-Date as the capture time and an
older capture never replacing a later archived one). Payloads are de-chunked and
decompressed here rather than by warcio's ``content_stream()``, which silently passes a
truncated gzip body and reports decoding errors by writing to stderr. A record that cannot be
read is reported with its offset and skipped; reading resumes at the next record found.
"""

from __future__ import annotations

import base64
import binascii
import gzip as gziplib
import hashlib
import http
import io
import json
import os
import re
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import DecompressingBufferedReader
from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import BUFF_SIZE
from warcio.warcwriter import WARCWriter

from scraper import __version__
from scraper.archive import ARTICLE_FIELDS, Archive
from scraper.crashpoints import crashpoint
from scraper.errors import ArchiveError, ScraperError, WarcError
from scraper.models import Article, Page
from scraper.pipeline import Counters, Kind, looks_like_html, page_from_bytes, record, safe_parse
from scraper.urls import canonicalize

__all__ = [
    "ExportStats",
    "ImportStats",
    "export_warc",
    "import_warc",
]

_HTML_TYPES = ("text/html", "application/xhtml+xml")
# Headers that describe the bytes on the wire, not the decoded body the archive keeps.
_WIRE_ENCODING = ("content-encoding", "transfer-encoding")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024  # a body's cap, as fetching has (FetchSettings.max_bytes)
# A record's WARC header block and HTTP header block together: far above any crawler's (a
# fetch refuses response headers past 64 KiB), and a header line of gigabytes is refused
# before it is in memory.
MAX_HEADER_BYTES = 1024 * 1024


# ====================================================================== export


@dataclass
class ExportStats:
    """What an export wrote."""

    articles: int = 0
    responses: int = 0
    revisits: int = 0
    requests: int = 0
    resources: int = 0
    missing_raw: int = 0
    path: str = ""

    @property
    def captures(self) -> int:
        return self.responses + self.revisits + self.resources

    def summary(self) -> str:
        extra = f", {self.missing_raw} without stored bytes skipped" if self.missing_raw else ""
        return (
            f"exported {self.captures} captures of {self.articles} articles to {self.path}: "
            f"{self.responses} responses, {self.revisits} revisits, {self.resources} local "
            f"files, {self.requests} requests{extra}"
        )


class _WireHeaders(StatusAndHeaders):  # type: ignore[misc]
    """HTTP headers written back byte for byte: the archive holds them latin-1 decoded as
    received, and warcio's default would percent-encode any byte above 0x7f."""

    def compute_headers_buffer(self, header_filter: Any = None) -> None:
        self.headers_buff = self.to_str(header_filter).encode("latin-1", "replace") + b"\r\n"


def warc_date(time: str) -> str:
    """An archive time (UTC ISO) as a WARC-Date, ``2024-05-01T08:00:00Z``."""
    try:
        when = datetime.fromisoformat(time.replace("Z", "+00:00"))
    except ValueError:
        return time
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    stamp = when.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    return stamp + "Z"


def _response_headers(
    headers: tuple[tuple[str, str], ...], size: int
) -> tuple[list[tuple[str, str]], list[str]]:
    """The stored headers fitted to the decoded body, and a note of each change made."""
    out: list[tuple[str, str]] = []
    notes: list[str] = []
    length_seen = False
    for name, value in headers:
        low = name.lower()
        if low in _WIRE_ENCODING:
            notes.append(f"removed {name}: {value} (the archive keeps the decoded body)")
            continue
        if low == "content-length":
            length_seen = True
            if value.strip() != str(size):
                notes.append(f"{name} changed from {value} to {size} (the decoded body)")
                value = str(size)
        out.append((name, value))
    if notes and not length_seen:
        out.append(("Content-Length", str(size)))
        notes.append(f"added Content-Length: {size} (the decoded body)")
    return out, notes


def _article_fields(archive: Archive, row: dict[str, Any], sha: str) -> tuple[dict[str, Any], str]:
    """The extracted fields for the capture with raw bytes ``sha`` and which record they are."""
    if row.get("raw_sha256") == sha:
        fields = {k: row.get(k) for k in ARTICLE_FIELDS}
        fields["is_article"] = bool(fields["is_article"])
        return fields, "current"
    older = archive.version_fields(int(row["id"]), sha)
    if older is not None:
        return older, "earlier version"
    return {}, "not kept (superseded by a later capture that changed no stored field)"


class _Exporter:
    def __init__(self, archive: Archive, writer: WARCWriter, stats: ExportStats) -> None:
        self.archive = archive
        self.writer = writer
        self.stats = stats
        # (article id, raw sha256) -> (record id, target URI, WARC-Date, payload digest)
        self.first: dict[tuple[int, str], tuple[str, str, str, str]] = {}
        self.rows: dict[int, dict[str, Any]] = {}

    def write(self, cap: Any) -> None:
        archive, writer = self.archive, self.writer
        row = self.rows.get(cap.article_id)
        if row is None:
            if len(self.rows) > 1024:  # bounded: captures of one article are usually close
                self.rows.clear()
            row = self.rows[cap.article_id] = archive.get(cap.article_id) or {}
        uri = cap.final_url
        date = warc_date(cap.time)
        key = (cap.article_id, cap.raw_sha256)
        seen = self.first.get(key)
        data = None if seen else archive.raw_page(cap.raw_sha256)
        if seen is None and data is None:
            self.stats.missing_raw += 1
            return
        if urlsplit(uri).scheme.lower() not in ("http", "https"):
            self._resource(cap, row, uri, date, data or b"")
            return
        notes: list[str]
        if cap.headers is None:
            size = len(data) if data is not None else 0
            ctype = f"text/html; charset={cap.encoding}" if cap.encoding else "text/html"
            headers = [("Content-Type", ctype), ("Content-Length", str(size))]
            proto, status, reason = "HTTP/1.1", 200, "OK"
            header_note = (
                "not kept: the page was read from a local file; the status line, Content-Type "
                "(with the charset it was decoded with) and Content-Length were written at export"
            )
            notes = []
        else:
            size = len(data) if data is not None else _stored_size(archive, cap.raw_sha256)
            headers, notes = _response_headers(cap.headers, size)
            proto = cap.http_version or "HTTP/1.1"
            status = cap.status or 200
            reason = cap.reason if cap.reason is not None else _phrase(status)
            header_note = "as received" if not notes else "as received, except: " + "; ".join(notes)
        http_headers = _WireHeaders(f"{status} {reason}".rstrip(), headers, protocol=proto)
        rid = _record_id()
        if seen is not None:
            ref_id, ref_uri, ref_date, digest = seen
            record = writer.create_revisit_record(
                uri,
                digest,
                ref_uri,
                ref_date,
                http_headers=http_headers,
                warc_headers_dict={
                    "WARC-Record-ID": rid,
                    "WARC-Date": date,
                    "WARC-Refers-To": ref_id,
                },
            )
            writer.write_record(record)
            self.stats.revisits += 1
        else:
            assert data is not None
            record = writer.create_warc_record(
                uri,
                "response",
                payload=io.BytesIO(data),
                length=len(data),
                http_headers=http_headers,
                warc_headers_dict={"WARC-Record-ID": rid, "WARC-Date": date},
            )
            digest = record.rec_headers.get_header("WARC-Payload-Digest")
            writer.write_record(record)
            self.first[key] = (rid, uri, date, digest)
            self.stats.responses += 1
        if cap.request_headers:
            self._request(cap, uri, date, rid)
        if seen is None:
            fields, which = _article_fields(archive, row, cap.raw_sha256)
            self._metadata(cap, row, uri, date, rid, fields, which, header_note)

    def _request(self, cap: Any, uri: str, date: str, rid: str) -> None:
        parts = urlsplit(uri)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        proto = cap.http_version or "HTTP/1.1"
        req = _WireHeaders(f"GET {target} {proto}", list(cap.request_headers), is_http_request=True)
        record = self.writer.create_warc_record(
            uri,
            "request",
            http_headers=req,
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": rid},
        )
        self.writer.write_record(record)
        self.stats.requests += 1

    def _metadata(
        self,
        cap: Any,
        row: dict[str, Any],
        uri: str,
        date: str,
        rid: str,
        fields: dict[str, Any],
        which: str,
        header_note: str,
    ) -> None:
        meta = {
            "software": f"archiver/{__version__}",
            "article_id": cap.article_id,
            "canonical_url": row.get("canonical_url"),
            "requested_url": cap.url,
            "fetched": cap.time,
            "encoding": cap.encoding,
            "raw_sha256": cap.raw_sha256,
            "http_headers": header_note,
            "fields_are": which,
            "article": fields,
        }
        payload = json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8")
        record = self.writer.create_warc_record(
            uri,
            "metadata",
            payload=io.BytesIO(payload),
            length=len(payload),
            warc_content_type="application/json",
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": rid},
        )
        self.writer.write_record(record)

    def _resource(self, cap: Any, row: dict[str, Any], uri: str, date: str, data: bytes) -> None:
        """A page read from a local file under its file:// URL: no HTTP exchange happened, so
        it is a ``resource`` record (content without protocol headers), not a response."""
        key = (cap.article_id, cap.raw_sha256)
        if key in self.first:
            return  # the same bytes read again from the same file: nothing new to keep
        ctype = f"text/html; charset={cap.encoding}" if cap.encoding else "text/html"
        rid = _record_id()
        record = self.writer.create_warc_record(
            uri,
            "resource",
            payload=io.BytesIO(data),
            length=len(data),
            warc_content_type=ctype,
            warc_headers_dict={"WARC-Record-ID": rid, "WARC-Date": date},
        )
        self.writer.write_record(record)
        self.first[key] = (rid, uri, date, "")
        self.stats.resources += 1
        fields, which = _article_fields(self.archive, row, cap.raw_sha256)
        note = "none: the page was read from a local file (a resource record, no HTTP exchange)"
        self._metadata(cap, row, uri, date, rid, fields, which, note)


def _record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _stored_size(archive: Archive, sha: str) -> int:
    row = archive.db.execute("SELECT size FROM raw_pages WHERE sha256 = ?", [sha]).fetchone()
    return int(row[0]) if row else 0


def export_warc(
    archive: Archive,
    path: str | Path,
    *,
    site: str | None = None,
    since: str | None = None,
    compress: bool | None = None,
) -> ExportStats:
    """Write the chosen articles' captures to ``path`` (gzip per record unless the name ends
    in plain ``.warc``). Written to a temporary name and renamed, so a failed export never
    leaves half a file that looks whole."""
    path = Path(path)
    if compress is None:
        compress = not path.name.endswith(".warc")
    stats = ExportStats(path=str(path))
    part = path.with_name(path.name + ".part")
    articles: set[int] = set()
    try:
        with part.open("wb") as fh:
            writer = WARCWriter(fh, gzip=compress, warc_version="1.1")
            info = {
                "software": f"archiver/{__version__} (warcio)",
                "format": "WARC File Format 1.1",
                "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
                "warc-format/warc-1.1/",
                "description": "captures exported from an archiver archive"
                + (f"; site {site}" if site else "")
                + (f"; published since {since}" if since else ""),
                "http-header-note": "response bodies are stored decoded: Content-Encoding and "
                "Transfer-Encoding headers are removed and Content-Length fixed (see each "
                "capture's metadata record)",
            }
            writer.write_record(writer.create_warcinfo_record(path.name, info))
            exporter = _Exporter(archive, writer, stats)
            for cap in archive.captures(site=site, since=since):
                articles.add(cap.article_id)
                exporter.write(cap)
        os.replace(part, path)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise ArchiveError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    stats.articles = len(articles)
    return stats


# ====================================================================== import


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
            f"({self.revisits} from revisits); skipped: {skip}; "
            f"failed {self.failed}, bad records {self.bad}"
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


class _PayloadError(Exception):
    """A record whose body cannot be had (truncated, corrupt compression)."""


def archive_time(warc_date_value: str) -> str:
    """A WARC-Date (any precision, 14-digit ARC form included) as the archive's UTC ISO time."""
    value = warc_date_value.strip()
    if re.fullmatch(r"\d{14}", value):
        value = f"{value[:4]}-{value[4:6]}-{value[6:8]}T{value[8:10]}:{value[10:12]}:{value[12:]}"
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _PayloadError(f"bad WARC-Date {warc_date_value!r}") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        stamp = when.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat()
    except OverflowError as exc:  # 9999-12-31T23:59:59-01:00: its UTC day is past the calendar
        raise _PayloadError(f"bad WARC-Date {warc_date_value!r}") from exc
    return stamp + "Z"


def _is_html_type(ctype: str | None) -> bool:
    return ctype is None or ctype.split(";")[0].strip().lower().startswith(_HTML_TYPES)


def _dechunk(raw: bytes) -> bytes:
    """Undo chunked transfer coding. A body that does not start like a chunk was stored
    de-chunked by its crawler (the header kept): it is returned as is."""
    out: list[bytes] = []
    pos = 0
    first = True
    while True:
        eol = raw.find(b"\r\n", pos)
        if eol < 0 and first:
            return raw
        if eol < 0:
            raise _PayloadError("chunked body ends before its last chunk (truncated)")
        size_text = raw[pos:eol].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            if first:
                return raw
            raise _PayloadError("malformed chunked body") from None
        first = False
        if size == 0:
            return b"".join(out)
        start = eol + 2
        if start + size > len(raw):
            raise _PayloadError("chunked body ends inside a chunk (truncated)")
        out.append(raw[start : start + size])
        pos = start + size + 2


def _decompress(data: bytes, encoding: str, cap: int = DEFAULT_MAX_BYTES) -> bytes:
    """Undo Content-Encoding, noticing a stream that stops early. A body that is not
    compressed at all (crawlers that stored it decoded, header kept) is returned as is.

    Never more than ``cap`` bytes come out: a few kilobytes of deflate can expand to
    gigabytes, so inflating stops at ``cap + 1`` and the body is refused as too large."""
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return data
    if name in ("gzip", "x-gzip"):
        tries = [16 + zlib.MAX_WBITS]
    elif name == "deflate":
        tries = [zlib.MAX_WBITS, -zlib.MAX_WBITS]
    else:
        raise _PayloadError(f"unsupported Content-Encoding {encoding!r}")
    for wbits in tries:
        z = zlib.decompressobj(wbits)
        try:
            out = z.decompress(data, cap + 1)
            if len(out) <= cap and not z.unconsumed_tail:  # all input in: flush adds nothing big
                out += z.flush()
        except zlib.error:
            continue
        if len(out) > cap or z.unconsumed_tail:
            raise _PayloadError(f"{name} body is over the {cap}-byte cap once decompressed")
        if not z.eof:
            raise _PayloadError(f"{name} body ends before its stream does (truncated)")
        return out
    if looks_like_html(data):
        return data
    raise _PayloadError(f"corrupt {name} body")


def _digest_matches(digest: str, data: bytes) -> bool:
    """True when ``data`` has the WARC digest ``algo:value`` (base32 or hex)."""
    algo, _, value = digest.partition(":")
    try:
        got = hashlib.new(algo.lower().replace("-", ""), data).digest()
    except ValueError:
        return False
    for decoder in (base64.b32decode, bytes.fromhex):
        try:
            if decoder(value.strip().upper()) == got:
                return True
        except (binascii.Error, ValueError):
            continue
    return False


def _next_record_start(fh: IO[bytes], pos: int, compressed: bool) -> int | None:
    """Where the next readable record starts after a bad one: the next gzip member that
    opens with a WARC header, or the next ``WARC/1.x`` line in a plain file."""
    marker = b"\x1f\x8b\x08" if compressed else b"WARC/1."
    block = 1 << 20
    while True:
        fh.seek(pos)
        buf = fh.read(block + len(marker))
        if not buf:
            return None
        start = 0
        while True:
            hit = buf.find(marker, start)
            if hit < 0 or hit >= block:
                break
            cand = pos + hit
            if _record_starts_at(fh, cand, compressed):
                return cand
            start = hit + 1
        if len(buf) <= block:
            return None
        pos += block


def _record_starts_at(fh: IO[bytes], pos: int, compressed: bool) -> bool:
    here = fh.tell()
    try:
        if not compressed:
            if pos == 0:
                return True
            fh.seek(pos - 1)
            return fh.read(1) == b"\n"
        fh.seek(pos)
        head = fh.read(4096)
        try:
            text = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 16)
        except zlib.error:
            return False
        return text.startswith(b"WARC/")
    finally:
        fh.seek(here)


# Reading a record's framing and headers, warcio raises ArchiveLoadFailed, its parser's
# exception, zlib.error, EOFError, ValueError... from deep inside; any of them means this
# record is unreadable, and the reader resynchronises at the next one.
_READ_ERRORS = (Exception,)


class _HeadersTooLarge(Exception):
    """A record's header lines went past ``MAX_HEADER_BYTES``; reading stopped there."""


class _BoundedReader(DecompressingBufferedReader):  # type: ignore[misc]
    """warcio's reader, with the header lines of a record bounded.

    warcio reads a record's WARC and HTTP headers (and the blank lines between records) line
    by line, and a line is read whole, however long: a gzip member of a few megabytes holding
    a header line of gigabytes would take gigabytes of memory. Here a record's lines stop at
    ``MAX_HEADER_BYTES`` in all (``_HeadersTooLarge``); the count starts again at each record
    and at each read of its body. (Bodies are read in blocks; a block's inflated size is
    bounded by zlib's ratio, about 16 MiB for warcio's 16 KiB blocks.)
    """

    def __init__(self, stream: Any, block_size: int) -> None:
        super().__init__(stream, block_size=block_size)
        self.header_bytes = 0

    def readline(self, length: int | None = None) -> bytes:
        if length == 0:
            return b""
        room = MAX_HEADER_BYTES - self.header_bytes + 1
        limit = room if length is None or length < 0 else min(length, room)
        parts: list[bytes] = []
        got = 0
        while got < limit:
            self._fillbuff()
            if self.empty():
                break
            piece = self.buff.readline(limit - got)
            parts.append(piece)
            got += len(piece)
            if piece.endswith(b"\n"):
                break
        self.header_bytes += got
        if self.header_bytes > MAX_HEADER_BYTES:
            raise _HeadersTooLarge(
                f"record headers are over the {MAX_HEADER_BYTES}-byte cap; stopped reading"
            )
        return b"".join(parts)

    def read(self, length: int | None = None) -> bytes:
        self.header_bytes = 0
        return bytes(super().read(length))


class _Records(ArchiveIterator):  # type: ignore[misc]
    """warcio's record iterator, minus its multi-line warnings on stderr: ``_Importer``
    reports what they say as one error line of its own (``reported``: how many it has);
    its reader bounds the header lines (``_BoundedReader``)."""

    INC_RECORD = ""

    def __init__(self, fileobj: IO[bytes] | gziplib.GzipFile) -> None:
        super().__init__(fileobj, block_size=BUFF_SIZE)
        self.reader = _BoundedReader(self.fh, BUFF_SIZE)
        self.reported = 0

    def _next_record(self, next_line: bytes | None) -> Any:
        self.reader.header_bytes = len(next_line or b"")
        return super()._next_record(next_line)


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
            self.stats.not_html += 1
            return None
        body = self._body(record, hh)
        if not body.strip():
            self.stats.empty += 1
            return None
        if ctype is None and not looks_like_html(body):
            self.stats.not_html += 1
            return None
        payload = _Payload(hashlib.sha256(body).hexdigest(), ctype)
        if rid:
            self.by_id[rid] = payload
        digest = record.rec_headers.get_header("WARC-Payload-Digest")
        if digest:
            self.by_digest[digest] = payload
        return _page(uri, date, status, body, ctype, pairs, proto, reason)

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


def _unreadable(exc: BaseException) -> str:
    """The error line of a record that could not be read."""
    if isinstance(exc, _HeadersTooLarge):
        return str(exc)
    return f"unreadable record ({_why(exc)})"


def _why(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _status(hh: Any) -> tuple[int, str | None, str | None, tuple[tuple[str, str], ...]]:
    line = str(hh.statusline or "")
    code, _, reason = line.partition(" ")
    try:
        status = int(code)
    except ValueError:
        raise _PayloadError(f"bad HTTP status line {line!r}") from None
    pairs = tuple((str(k), str(v)) for k, v in hh.headers)
    return status, str(hh.protocol) or None, reason or None, pairs


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
