"""Reading WARC records: scanning, bounded header reading, payload decoding, resync.

Payloads are de-chunked and decompressed here rather than by warcio's ``content_stream()``,
which silently passes a truncated gzip body and reports decoding errors by writing to stderr;
decompression stops at a cap. A record's header lines are bounded (``_BoundedReader``), and
after a bad record reading resumes at the next record found (``_next_record_start``).
"""

from __future__ import annotations

import base64
import binascii
import gzip as gziplib
import hashlib
import re
import zlib
from datetime import UTC, datetime
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import DecompressingBufferedReader
from warcio.utils import BUFF_SIZE

from scraper.pipeline import looks_like_html

DEFAULT_MAX_BYTES = 10 * 1024 * 1024  # a body's cap, as fetching has (FetchSettings.max_bytes)
# A record's WARC header block and HTTP header block together: far above any crawler's (a
# fetch refuses response headers past 64 KiB), and a header line of gigabytes is refused
# before it is in memory.
MAX_HEADER_BYTES = 1024 * 1024


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
