"""WARC export: every stored capture of the chosen articles as WARC/1.1, gzip per record.

A ``warcinfo`` record, then per capture a ``response`` (the raw bytes and the HTTP headers as
fetched), the ``request`` where it was kept, and a ``metadata`` record with the extracted fields
as JSON; an unchanged re-fetch becomes a ``revisit`` (identical-payload-digest profile).

The archive keeps bodies *decoded* (the fetcher undoes gzip/deflate), so a response whose headers
say Content-Encoding or Transfer-Encoding gets those headers dropped and Content-Length fixed,
and its metadata record says so: writing decoded bytes under a gzip header would be a lie. A
page read from a local file kept no headers: its record gets a minimal set and its metadata
says the raw headers were not kept.
"""

from __future__ import annotations

import http
import io
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from scraper import __version__
from scraper.archive import ARTICLE_FIELDS, Archive
from scraper.errors import ArchiveError

# Headers that describe the bytes on the wire, not the decoded body the archive keeps.
_WIRE_ENCODING = ("content-encoding", "transfer-encoding")


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
        if seen is None and cap.attachment:
            self._metadata(cap, row, uri, date, rid, {}, "attachment", header_note)
        elif seen is None:
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
        if which == "attachment":  # a file the article attaches: import links it again
            meta = {k: v for k, v in meta.items() if k not in ("fields_are", "article")}
            meta["attachment_of"] = row.get("canonical_url")
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
