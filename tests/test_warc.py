"""WARC out and in: round trip through an empty archive, files from warcio and from wget, bad
records skipped with their offsets, the export accepted by warcio's own checker and indexer."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import time
import uuid
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from scraper.archive import ARTICLE_FIELDS, Archive
from scraper.cli import EXIT_FAILED, EXIT_USAGE, app
from scraper.decode import decode
from scraper.fetch import read_local
from scraper.models import FetchAttempt, Page
from scraper.parse import parse_page
from scraper.warc import archive_time, export_warc, import_warc, warc_date

from .conftest import SAMPLES, SampleServer

SEED = (SAMPLES / "seed-utf8.html").read_bytes()
GBK = (SAMPLES / "seed-gbk-header.html").read_bytes()
EXPECTED = json.loads((SAMPLES / "expected" / "seed-utf8.json").read_text(encoding="utf-8"))
BIN = Path(sys.executable).parent


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def page(
    url: str,
    data: bytes,
    time: str,
    headers: tuple[tuple[str, str], ...] = (),
    ctype: str | None = "text/html; charset=utf-8",
) -> Page:
    """A page as the fetcher makes one: decoded body, headers as received."""
    text, enc = decode(data, ctype)
    attempt = FetchAttempt(url=url, time=time, status=200, final_url=url, bytes=len(data))
    return Page(
        url=url,
        final_url=url,
        status=200,
        content=data,
        text=text,
        encoding=enc,
        content_type=ctype,
        headers=headers,
        fetched_at=time,
        attempts=(attempt,),
        request_headers=(("Host", "h"), ("User-Agent", "archiver-test")) if headers else (),
        http_version="HTTP/1.1" if headers else None,
        reason="OK" if headers else None,
    )


def save(archive: Archive, p: Page) -> None:
    archive.save(p, parse_page(p.text, p.final_url))


def build_source(db: Path) -> None:
    """Captures of every kind: versions, an unchanged re-fetch, a republication, a gzip- and
    chunk-encoded fetch, a GBK page with its charset in the header only, a local file."""
    a = "https://www.example.gov.cn/art/2022/6/24/art_1_20233.html"
    b = "https://portal.example.com/news/20233.html"
    changed = SEED.replace(
        "澜江省直机关2021年党建工作纪实".encode(), "澜江省直机关党建纪实（更新）".encode()
    )
    plain = (("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(SEED))))
    encoded = (
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Encoding", "gzip"),
        ("Transfer-Encoding", "chunked"),
        ("ETag", '"v2"'),
    )
    with Archive.open(db) as archive:
        save(archive, page(a, SEED, "2024-01-01T00:00:00Z", plain))
        save(archive, page(a, changed, "2024-01-02T00:00:00Z", encoded))
        save(archive, page(a, changed, "2024-01-03T00:00:00Z", encoded))  # unchanged: revisit
        save(archive, page(b, SEED, "2024-01-04T00:00:00Z", plain))  # a republication
        gbk = (("Content-Type", "text/html; charset=gbk"), ("Content-Length", str(len(GBK))))
        save(archive, page("https://gbk.example.gov.cn/a.html", GBK, "2024-01-05T00:00:00Z", gbk,
                           "text/html; charset=gbk"))  # fmt: skip
        local = read_local(str(SAMPLES / "table-meta.html"), url="https://x.example.gov.cn/t.html")
        when = "2024-01-06T00:00:00Z"
        attempt = replace(local.attempts[0], time=when)
        save(archive, replace(local, fetched_at=when, attempts=(attempt,)))


def snapshot(db: Path) -> dict[str, Any]:
    """What a round trip must keep: article fields and times, works, versions."""
    with sqlite3.connect(db) as conn:
        cols = ", ".join([*ARTICLE_FIELDS, "first_seen", "last_seen", "last_changed", "encoding",
                          "raw_sha256", "content_hash"])  # fmt: skip
        articles = conn.execute(f"select id, {cols} from articles order by id").fetchall()
        works = conn.execute(
            "select w.original_id, w.title, w.copies, group_concat(a.id) from works w "
            "join articles a on a.work_id = w.id group by w.id order by w.original_id"
        ).fetchall()
        versions = conn.execute(
            "select article_id, title, body, raw_sha256, first_seen, last_seen, replaced_at "
            "from versions order by article_id, id"
        ).fetchall()
        fetches = conn.execute(
            "select final_url, time, raw_sha256, status from fetches order by id"
        ).fetchall()
    return {"articles": articles, "works": works, "versions": versions, "fetches": fetches}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("warc")
    db = tmp / "source.db"
    build_source(db)
    out = tmp / "out.warc.gz"
    code, _, err = run("export", "--db", str(db), "--format", "warc", "-o", str(out))
    assert code == 0, err
    assert "6 captures of 4 articles" in err, err
    return db, out


def records(path: Path) -> list[Any]:
    """(type, uri, warc headers, http headers, payload) of every record."""
    out = []
    with path.open("rb") as fh:
        for r in ArchiveIterator(fh):
            body = r.content_stream().read()
            out.append((r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.rec_headers,
                        r.http_headers, body))  # fmt: skip
    return out


# ------------------------------------------------------------------ export


def test_round_trip_keeps_articles_works_and_versions(
    exported: tuple[Path, Path], tmp_path: Path
) -> None:
    source, warc = exported
    target = tmp_path / "empty.db"
    code, _, err = run("import", "--db", str(target), str(warc))
    assert code == 0, err
    assert "new 4, updated 1, unchanged 1 (1 from revisits)" in err
    before, after = snapshot(source), snapshot(target)
    assert after["articles"] == before["articles"]
    assert after["works"] == before["works"]
    assert after["versions"] == before["versions"] and len(after["versions"]) == 1
    assert after["fetches"] == before["fetches"]
    # once more: every capture is already there, nothing changes
    code, _, err = run("import", "--db", str(target), str(warc))
    assert code == 0 and "6 already archived" in err
    assert snapshot(target) == after


def test_export_passes_warcio_check_and_index(exported: tuple[Path, Path]) -> None:
    _, warc = exported
    check = subprocess.run([BIN / "warcio", "check", "-v", warc], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "digest pass" in check.stdout and "fail" not in check.stdout
    index = subprocess.run([BIN / "warcio", "index", "-f", "warc-type,warc-target-uri", warc],
                           capture_output=True, text=True, check=True)  # fmt: skip
    types = [json.loads(line)["warc-type"] for line in index.stdout.splitlines()]
    assert types[0] == "warcinfo"
    assert types.count("response") == 5 and types.count("revisit") == 1
    assert types.count("metadata") == 5 and types.count("request") == 5
    with warc.open("rb") as fh:  # gzip per record: every record starts a gzip member
        data = fh.read()
    starts = [int(json.loads(x)["offset"]) for x in subprocess.run(
        [BIN / "warcio", "index", "-f", "offset", warc], capture_output=True, text=True, check=True
    ).stdout.splitlines()]  # fmt: skip
    assert all(data[o : o + 2] == b"\x1f\x8b" for o in starts) and len(starts) == len(types)


def test_export_response_headers_fit_the_stored_body(exported: tuple[Path, Path]) -> None:
    _, warc = exported
    recs = records(warc)
    by_type: dict[str, list[Any]] = {}
    for r in recs:
        by_type.setdefault(r[0], []).append(r)
    encoded = next(r for r in by_type["response"] if r[3].get_header("ETag") == '"v2"')
    http = encoded[3]
    assert http.get_header("Content-Encoding") is None
    assert http.get_header("Transfer-Encoding") is None
    assert http.get_header("Content-Length") == str(len(encoded[4]))
    assert encoded[4].startswith(b"<!") or b"<html" in encoded[4][:200]
    metas = [json.loads(r[4]) for r in by_type["metadata"]]
    fixed = [m for m in metas if "removed Content-Encoding: gzip" in m["http_headers"]]
    assert len(fixed) == 1 and "Content-Length" in fixed[0]["http_headers"]
    # a page read from a local file: headers not kept, and the metadata says so
    local = [m for m in metas if m["http_headers"].startswith("not kept")]
    assert len(local) == 1 and local[0]["article"]["title"]
    # the extracted fields travel in the metadata record
    current = [m for m in metas if m["fields_are"] == "current"]
    assert len(current) == 4 and all(m["article"]["is_article"] is True for m in current)
    assert {m["article"]["source"] for m in current} >= {EXPECTED["source"]}
    earlier = [m for m in metas if m["fields_are"] == "earlier version"]
    assert earlier and earlier[0]["article"]["title"] == EXPECTED["title"]
    # the revisit points at the response with the same payload
    revisit = by_type["revisit"][0][2]
    assert revisit.get_header("WARC-Profile").endswith("/revisit/identical-payload-digest")
    ref = revisit.get_header("WARC-Refers-To")
    target = next(r for r in by_type["response"] if r[2].get_header("WARC-Record-ID") == ref)
    digest = revisit.get_header("WARC-Payload-Digest")
    assert target[2].get_header("WARC-Payload-Digest") == digest
    assert warc_date("2024-01-02T00:00:00+00:00") == "2024-01-02T00:00:00Z"


def test_export_warc_needs_an_output_file(exported: tuple[Path, Path]) -> None:
    source, _ = exported
    code, _, err = run("export", "--db", str(source), "--format", "warc")
    assert code == EXIT_USAGE and "-o" in err


def test_export_site_filter(exported: tuple[Path, Path], tmp_path: Path) -> None:
    source, _ = exported
    out = tmp_path / "one.warc"  # plain .warc: not compressed
    with Archive.open(source) as archive:
        stats = export_warc(archive, out, site="gbk.example.gov.cn")
    assert stats.responses == 1 and stats.articles == 1
    assert out.read_bytes().startswith(b"WARC/1.1")
    target = tmp_path / "t.db"
    with Archive.open(target) as archive:
        done = import_warc(archive, [out])
        row = archive.get("https://gbk.example.gov.cn/a.html")
    assert done.new == 1 and row is not None
    assert row["title"] == EXPECTED["title"] and row["encoding"] == "gb18030"


# ------------------------------------------------------------------ import: warcio-written


def http_record(
    writer: WARCWriter,
    uri: str,
    body: bytes,
    headers: list[tuple[str, str]],
    status: str = "200 OK",
    date: str = "2023-05-01T10:00:00Z",
) -> Any:
    rec = writer.create_warc_record(
        uri,
        "response",
        payload=io.BytesIO(body),
        length=len(body),
        http_headers=StatusAndHeaders(status, headers, protocol="HTTP/1.1"),
        warc_headers_dict={"WARC-Date": date},
    )
    writer.write_record(rec)
    return rec


def chunked(data: bytes, size: int = 1000) -> bytes:
    parts = [data[i : i + size] for i in range(0, len(data), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def warcio_file(path: Path, *, compress: bool = True) -> None:
    with path.open("wb") as fh:
        w = WARCWriter(fh, gzip=compress)
        w.write_record(w.create_warcinfo_record(path.name, {"software": "test"}))
        http_record(w, "https://a.example.gov.cn/chunked.html", chunked(SEED),
                    [("Content-Type", "text/html; charset=utf-8"),
                     ("Transfer-Encoding", "chunked")])  # fmt: skip
        gz = gzip.compress(SEED.replace(b"20233", b"20234"))
        http_record(w, "https://b.example.gov.cn/gzip.html", gz,
                    [("Content-Type", "text/html"), ("Content-Encoding", "gzip"),
                     ("Content-Length", str(len(gz)))])  # fmt: skip
        http_record(w, "https://c.example.gov.cn/gbk.html", GBK,
                    [("Content-Type", "text/html; charset=GBK")])  # fmt: skip
        http_record(w, "https://c.example.gov.cn/logo.png", b"\x89PNG\r\n\x1a\n....",
                    [("Content-Type", "image/png")])  # fmt: skip
        http_record(w, "https://c.example.gov.cn/gone.html", b"<html>gone</html>",
                    [("Content-Type", "text/html")], status="404 Not Found")  # fmt: skip
        http_record(w, "https://c.example.gov.cn/list/index.html",
                    (SAMPLES / "list" / "index.html").read_bytes(),
                    [("Content-Type", "text/html")])  # fmt: skip


def test_import_warcio_file_chunked_gzip_and_gbk(tmp_path: Path) -> None:
    warc = tmp_path / "w.warc.gz"
    warcio_file(warc)
    db = tmp_path / "a.db"
    with Archive.open(db) as archive:
        stats = import_warc(archive, [warc])
        rows = {r["url"]: r for r in archive.articles()}
        fetched = archive.db.execute("select time from fetches").fetchall()
    assert (stats.new, stats.not_html, stats.not_ok, stats.not_article) == (3, 1, 1, 1)
    assert stats.bad == 0 and stats.failed == 0
    for url in ("https://a.example.gov.cn/chunked.html", "https://b.example.gov.cn/gzip.html",
                "https://c.example.gov.cn/gbk.html"):  # fmt: skip
        assert rows[url]["title"] == EXPECTED["title"], url
        assert rows[url]["source"] == EXPECTED["source"]
        assert rows[url]["first_seen"] == "2023-05-01T10:00:00Z"
    assert rows["https://c.example.gov.cn/gbk.html"]["encoding"] == "gb18030"
    # the three copies of one text are one work
    assert len({r["work_id"] for r in rows.values()}) == 1
    assert {t for (t,) in fetched} == {"2023-05-01T10:00:00Z"}


def test_import_plain_warc(tmp_path: Path) -> None:
    warc = tmp_path / "w.warc"
    warcio_file(warc, compress=False)
    with Archive.open(tmp_path / "a.db") as archive:
        stats = import_warc(archive, [warc])
    assert stats.new == 3 and stats.bad == 0


def corrupt(path: Path, nth: int) -> int:
    """Damage the nth record's bytes in the middle; return that record's offset."""
    with path.open("rb") as fh:
        it = ArchiveIterator(fh)
        offsets = []
        for _ in it:
            offsets.append(it.offset)
    data = bytearray(path.read_bytes())
    start = offsets[nth]
    for i in range(start + 600, start + 900):  # past the headers, into the gzip payload
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    return int(start)


@pytest.mark.parametrize("compress", [True, False])
def test_bad_record_is_reported_with_its_offset_and_skipped(tmp_path: Path, compress: bool) -> None:
    warc = tmp_path / ("w.warc.gz" if compress else "w.warc")
    warcio_file(warc, compress=compress)
    offset = corrupt(warc, 2)  # the gzip-encoded response
    db = tmp_path / "a.db"
    code, _, err = run("import", "--db", str(db), str(warc))
    assert code == EXIT_FAILED
    assert f"offset {offset}" in err
    with Archive.open(db) as archive:
        urls = {r["url"] for r in archive.articles()}
    assert "https://a.example.gov.cn/chunked.html" in urls
    assert "https://c.example.gov.cn/gbk.html" in urls  # after the bad record


@pytest.mark.parametrize("change", [-5, 5])
def test_a_wrong_content_length_is_one_error_line_each(tmp_path: Path, change: int) -> None:
    """warcio's own multi-line warning on stderr is not passed on: our one line says it."""
    warc = tmp_path / "w.warc"
    warcio_file(warc, compress=False)
    data = warc.read_bytes()
    at = data.index(b"Content-Length: ", data.index(b"WARC-Type: response"))
    end = data.index(b"\r\n", at)
    length = int(data[at + 16 : end]) + change
    warc.write_bytes(data[: at + 16] + str(length).encode() + data[end:])
    code, _, err = run("import", "--db", str(tmp_path / "a.db"), str(warc))
    assert code == EXIT_FAILED
    lines = err.splitlines()
    assert lines and all(line.startswith(("error: ", "imported ")) for line in lines), err
    assert "WARNING" not in err


def test_truncated_file_keeps_what_came_before(tmp_path: Path) -> None:
    warc = tmp_path / "w.warc.gz"
    warcio_file(warc)
    data = warc.read_bytes()
    warc.write_bytes(data[: len(data) - 700])  # cut into the last record
    with Archive.open(tmp_path / "a.db") as archive:
        errors: list[str] = []
        stats = import_warc(archive, [warc], on_error=lambda e: errors.append(str(e)))
    assert stats.new == 3 and stats.bad == 1
    assert "offset" in errors[0]


def test_truncated_gzip_payload_is_a_bad_record(tmp_path: Path) -> None:
    warc = tmp_path / "w.warc.gz"
    with warc.open("wb") as fh:
        w = WARCWriter(fh, gzip=True)
        gz = gzip.compress(SEED)[:-400]
        http_record(w, "https://b.example.gov.cn/cut.html", gz,
                    [("Content-Type", "text/html"), ("Content-Encoding", "gzip")])  # fmt: skip
        http_record(w, "https://a.example.gov.cn/ok.html", SEED, [("Content-Type", "text/html")])
    errors: list[str] = []
    with Archive.open(tmp_path / "a.db") as archive:
        stats = import_warc(archive, [warc], on_error=lambda e: errors.append(str(e)))
    assert stats.new == 1 and stats.bad == 1 and "truncated" in errors[0]
    assert "offset 0" in errors[0]


def test_not_a_warc_and_missing_file(tmp_path: Path) -> None:
    junk = tmp_path / "x.warc"
    junk.write_bytes(b"<html>not a warc</html>")
    code, _, err = run("import", "--db", str(tmp_path / "a.db"), str(junk))
    assert code == EXIT_FAILED and "not a WARC" in err
    code, _, err = run("import", "--db", str(tmp_path / "a.db"), str(tmp_path / "none.warc"))
    assert code == EXIT_USAGE


def test_whole_file_gzip_is_read_as_a_stream(tmp_path: Path) -> None:
    plain = tmp_path / "w.warc"
    warcio_file(plain, compress=False)
    whole = tmp_path / "whole.warc.gz"
    whole.write_bytes(gzip.compress(plain.read_bytes()))
    with Archive.open(tmp_path / "a.db") as archive:
        stats = import_warc(archive, [whole])
    assert stats.new == 3 and stats.bad == 0


def test_warc_dates() -> None:
    assert archive_time("2024-05-01T08:00:00.123456Z") == "2024-05-01T08:00:00Z"
    assert archive_time("20240501080000") == "2024-05-01T08:00:00Z"


def test_a_warc_date_past_the_calendar_is_a_bad_record(tmp_path: Path) -> None:
    """Its UTC day is no date: an OverflowError stopped the import."""
    warc = tmp_path / "w.warc.gz"
    with warc.open("wb") as fh:
        w = WARCWriter(fh, gzip=True)
        html = [("Content-Type", "text/html; charset=utf-8")]
        http_record(w, "https://a.example.gov.cn/1.html", SEED, html,
                    date="9999-12-31T23:59:59-01:00")  # fmt: skip
        http_record(w, "https://b.example.gov.cn/2.html", SEED, html)
    code, _, err = run("import", "--db", str(tmp_path / "a.db"), str(warc))
    assert code == EXIT_FAILED and "bad WARC-Date" in err
    with Archive.open(tmp_path / "a.db") as archive:
        assert [r["url"] for r in archive.articles()] == ["https://b.example.gov.cn/2.html"]


# ------------------------------------------------------------------ import: wget


@pytest.mark.skipif(shutil.which("wget") is None, reason="wget is not installed")
def test_import_wget_warcs_with_dedup_revisits(server: SampleServer, tmp_path: Path) -> None:
    urls = [server.url("seed-gbk-header.html"), server.url("list/index.html"),
            server.url("pdf"), server.url("missing")]  # fmt: skip

    def wget(name: str, *extra: str) -> Path:
        subprocess.run(
            [
                "wget",
                "-q",
                "--no-verbose",
                f"--warc-file={tmp_path / name}",
                "--warc-cdx",
                *extra,
                "-O",
                str(tmp_path / "dl"),
                *urls,
            ],
            cwd=tmp_path,
            timeout=60,
            check=False,
        )  # fmt: skip  (wget exits 8 on the 404: expected)
        return tmp_path / f"{name}.warc.gz"

    first = wget("one")
    time.sleep(1.1)  # a second capture, not the same one again (WARC-Date has seconds)
    second = wget("two", f"--warc-dedup={tmp_path / 'one.cdx'}")
    kinds = [r[0] for r in records(second)]
    assert "revisit" in kinds
    db = tmp_path / "a.db"
    code, _, err = run("import", "--db", str(db), str(first), str(second))
    assert code == 0, err
    with Archive.open(db) as archive:
        row = archive.get(server.url("seed-gbk-header.html"))
        assert row is not None
        assert row["title"] == EXPECTED["title"] and row["encoding"] == "gb18030"
        assert row["source"] == EXPECTED["source"]
        times = [f["time"] for f in archive.fetches_for(int(row["id"]))]
        assert len(times) == 2 and row["last_seen"] == times[-1]
        headers = json.loads(archive.fetches_for(int(row["id"]))[0]["headers"])
        assert ["Content-Type", "text/html; charset=gbk"] in headers
        sent = archive.fetches_for(int(row["id"]))[0]["request_headers"]
        assert "Wget" in sent
    assert "1 from revisits" in err and "not HTML" in err and "not 2xx" in err


# ---------------------------------------------------------------- decompression bombs

MIB = 1 << 20
HTML = ("Content-Type", "text/html")
CTYPE = ("Content-Type", "text/html; charset=GBK")
CAP_ERROR = "over the 10485760-byte cap"


def deflated(head: bytes, filler: bytes, size: int, tail: bytes = b"") -> tuple[bytes, int]:
    """Raw deflate of ``head``, ``size`` bytes of ``filler`` (1 MiB, repeated) and ``tail``,
    and the CRC-32 of it all. Each MiB is flushed on its own, so its compressed form is the
    same each time: gigabytes are built in a moment (about 1 KB a MiB), not deflated."""
    z = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = z.compress(head) + z.flush(zlib.Z_FULL_FLUSH)
    block = z.compress(filler) + z.flush(zlib.Z_FULL_FLUSH)
    assert z.compress(filler) + z.flush(zlib.Z_FULL_FLUSH) == block
    blocks = size // len(filler)
    crc = zlib.crc32(head)
    for _ in range(blocks):
        crc = zlib.crc32(filler, crc)
    return first + block * blocks + z.compress(tail) + z.flush(), zlib.crc32(tail, crc)


def gzip_bomb(size: int, head: bytes = b"", filler: bytes = bytes(MIB), tail: bytes = b"") -> bytes:
    """A valid gzip stream (one member) of ``head``, ``size`` bytes of ``filler``, ``tail``."""
    body, crc = deflated(head, filler, size, tail)
    trailer = struct.pack("<II", crc, (len(head) + size + len(tail)) & 0xFFFFFFFF)
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + body + trailer


def deflate_bomb(size: int) -> bytes:
    """A valid zlib stream (HTTP's ``deflate``) of ``size`` zero bytes."""
    body, _ = deflated(b"", bytes(MIB), size)
    return b"\x78\xda" + body + struct.pack(">I", (size % 65521) << 16 | 1)


def import_measured(db: Path, warc: Path) -> tuple[int, str, float, int]:
    """``archiver import`` in a process of its own: exit code, stderr, seconds and peak
    memory (MiB). Its address space is capped at 3 GiB, so a bomb that does go off ends in
    MemoryError rather than in the machine's memory."""
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
        "from scraper.cli import app\n"
        "try:\n"
        "    app(sys.argv[1:], prog_name='archiver')\n"
        "finally:\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forking process
        # (pytest, hundreds of MB by then); VmHWM is this program's own peak.
        "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
        "    peak = int(hwm[0].split()[1]) if hwm else 0\n"
        "    print(f'maxrss {peak}', file=sys.stderr)\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code, "import", "--db", str(db), str(warc)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    seconds = time.monotonic() - started
    err, _, peak = done.stderr.rpartition("maxrss ")
    return done.returncode, err, seconds, int(peak or 0) // 1024


def test_a_compressed_body_that_is_a_bomb_is_a_bad_record_not_a_memory_error(
    tmp_path: Path,
) -> None:
    """A page body of 1 GiB of zeros, gzip and deflate encoded (1 MB each), in a .warc.gz
    whose members deflate that again: the file is a few KB."""
    warc = tmp_path / "bomb.warc.gz"
    with warc.open("wb") as fh:
        w = WARCWriter(fh, gzip=True)
        http_record(w, "https://b.example.gov.cn/gzip.html", gzip_bomb(1024 * MIB),
                    [("Content-Type", "text/html"), ("Content-Encoding", "gzip")])  # fmt: skip
        http_record(w, "https://b.example.gov.cn/deflate.html", deflate_bomb(1024 * MIB),
                    [("Content-Type", "text/html"), ("Content-Encoding", "deflate")])  # fmt: skip
        http_record(w, "https://a.example.gov.cn/ok.html", SEED, [("Content-Type", "text/html")])
    assert warc.stat().st_size < 20_000
    with warc.open("rb") as fh:
        it = ArchiveIterator(fh)
        offsets = [it.offset for _ in it]
    db = tmp_path / "a.db"
    code, err, seconds, peak = import_measured(db, warc)
    assert code == EXIT_FAILED, err
    lines = err.splitlines()
    assert lines[0].startswith("error: ") and f"offset {offsets[0]}" in lines[0], err
    assert lines[1].startswith("error: ") and f"offset {offsets[1]}" in lines[1], err
    assert all(CAP_ERROR in line for line in lines[:2]), err
    assert "new 1" in lines[-1] and "bad records 2" in lines[-1], err
    assert seconds < 30 and peak < 300, (seconds, peak)
    with Archive.open(db) as archive:
        assert [r["url"] for r in archive.articles()] == ["https://a.example.gov.cn/ok.html"]


def warc_head(uri: str, length: int | str, extra: bytes = b"") -> bytes:
    return (
        b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Date: 2023-05-01T10:00:00Z\r\n"
        b"WARC-Record-ID: <urn:uuid:" + str(uuid.uuid4()).encode() + b">\r\n"
        b"WARC-Target-URI: " + uri.encode() + b"\r\n"
        b"Content-Type: application/http; msgtype=response\r\n"
        b"Content-Length: " + str(length).encode() + b"\r\n" + extra
    )


def test_gzip_members_that_are_bombs_are_bad_records_not_a_memory_error(
    tmp_path: Path,
) -> None:
    """A .warc.gz whose members are bombs themselves: a WARC header line of 1 GiB, then a
    record whose 1 GiB block is zeros; the page after them is still imported."""
    warc = tmp_path / "members.warc.gz"
    long_line = gzip_bomb(
        1024 * MIB,
        head=warc_head("https://b.example.gov.cn/long.html", 0, b"X-Padding: "),
        filler=b"a" * MIB,
        tail=b"\r\n\r\n\r\n\r\n",
    )
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
    zeros = gzip_bomb(
        1024 * MIB,
        head=warc_head("https://b.example.gov.cn/zeros.html", len(http) + 1024 * MIB)
        + b"\r\n"
        + http,
        tail=b"\r\n\r\n",
    )
    warc.write_bytes(long_line + zeros)
    with warc.open("ab") as fh:
        w = WARCWriter(fh, gzip=True)
        http_record(w, "https://a.example.gov.cn/ok.html", SEED, [("Content-Type", "text/html")])
    assert warc.stat().st_size < 3 * MIB
    db = tmp_path / "a.db"
    code, err, seconds, peak = import_measured(db, warc)
    assert code == EXIT_FAILED, err
    lines = err.splitlines()
    assert "offset 0" in lines[0] and "headers are over the 1048576-byte cap" in lines[0], err
    assert f"offset {len(long_line)}" in lines[1] and CAP_ERROR in lines[1], err
    assert "new 1" in lines[-1] and "bad records 2" in lines[-1], err
    assert seconds < 30 and peak < 300, (seconds, peak)
    with Archive.open(db) as archive:
        assert [r["url"] for r in archive.articles()] == ["https://a.example.gov.cn/ok.html"]


def test_header_lines_are_bounded_and_long_ones_within_the_bound_are_read(
    tmp_path: Path,
) -> None:
    """An HTTP header of 200 KB (over many of the reader's blocks) is read whole; a WARC
    header line of 3 MiB is a bad record, and the record after it is imported."""
    warc = tmp_path / "long.warc"
    with warc.open("wb") as fh:
        w = WARCWriter(fh, gzip=False)
        cookie = ("Set-Cookie", "k=" + "v" * 200_000)
        http_record(w, "https://a.example.gov.cn/cookie.html", SEED, [HTML, cookie])
    at = warc.stat().st_size
    with warc.open("ab") as fh:
        fh.write(warc_head("https://b.example.gov.cn/long.html", 0, b"X-Padding: "))
        fh.write(b"a" * (3 * MIB) + b"\r\n\r\n\r\n\r\n")
        w = WARCWriter(fh, gzip=False)
        http_record(w, "https://c.example.gov.cn/after.html", GBK, [CTYPE])
    errors: list[str] = []
    with Archive.open(tmp_path / "a.db") as archive:
        stats = import_warc(archive, [warc], on_error=lambda e: errors.append(str(e)))
        rows = {r["url"]: r for r in archive.articles()}
        (cookie,) = archive.db.execute(
            "select headers from fetches where url like '%cookie%'"
        ).fetchone()
    assert set(rows) == {
        "https://a.example.gov.cn/cookie.html",
        "https://c.example.gov.cn/after.html",
    }
    assert "v" * 200_000 in cookie
    assert stats.bad == 1 and len(errors) == 1, errors
    assert f"offset {at}" in errors[0] and "headers are over the 1048576-byte cap" in errors[0]


_IMPORT_IN_BATCHES = """
import sys
from pathlib import Path
from scraper.archive import Archive
from scraper.warc import import_warc
with Archive.open(sys.argv[1]) as archive:
    import_warc(archive, [Path(sys.argv[2])], batch_size=int(sys.argv[3]))
"""


@pytest.mark.parametrize(
    ("point", "n", "batch"),
    [
        ("save-before-commit", 7, 3),  # mid-file: earlier batches in, the open one lost
        ("save-after-commit", 7, 3),  # the batch holding page 7 committed
        ("save-before-commit", 1, 0),  # `archiver import` itself (0): the very first page
        ("save-after-commit", 12, 0),  # its one batch, the whole file, committed
    ],
)
def test_an_import_crashed_at_the_nth_page_then_rerun_archives_each_page_once(
    tmp_path: Path, point: str, n: int, batch: int
) -> None:
    """Deterministic kill -9 (crashpoints.py) right before or right after the commit holding
    the ``n``-th saved page; importing the file again skips what was kept, adds the rest."""
    from .test_crawl import ROOT, article

    total = 12
    urls = [f"https://www{k % 3}.example.gov.cn/art/{k}.html" for k in range(total)]
    warc = tmp_path / "pages.warc.gz"
    with warc.open("wb") as fh:
        w = WARCWriter(fh, gzip=True)
        w.write_record(w.create_warcinfo_record(warc.name, {"software": "test"}))
        for k, url in enumerate(urls):
            http_record(w, url, article(k), [("Content-Type", "text/html; charset=utf-8")],
                        date=f"2024-03-01T10:{k:02d}:00Z")  # fmt: skip
    db = tmp_path / "a.db"
    if batch:
        cmd = [sys.executable, "-c", _IMPORT_IN_BATCHES, str(db), str(warc), str(batch)]
    else:
        cmd = [sys.executable, "-m", "scraper", "import", "--db", str(db), str(warc), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ARCHIVER_CRASH_AT": f"{point}:{n}"}
    crashed = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert crashed.returncode == 137, crashed.stderr
    assert f"crash point {point}:{n} reached" in crashed.stderr
    with sqlite3.connect(db) as conn:
        kept = [u for (u,) in conn.execute("select url from fetches order by rowid")]
        articles = conn.execute("select count(*) from articles").fetchone()[0]
    # a prefix of the file, in order, each page once: whole batches or nothing
    assert kept == urls[: len(kept)] and articles == len(kept)
    assert len(kept) < n if point == "save-before-commit" else n <= len(kept)

    code, _, err = run("import", "--db", str(db), str(warc))
    assert code == 0, err
    assert f"new {total - len(kept)}, updated 0, unchanged 0" in err
    assert (f"{len(kept)} already archived" in err) == bool(kept), err
    with sqlite3.connect(db) as conn:
        assert conn.execute("select url from fetches order by rowid").fetchall() == [
            (u,) for u in urls
        ]
        assert conn.execute("select count(*) from articles").fetchone() == (total,)
        assert conn.execute("select count(*), count(distinct url) from fetches").fetchone() == (
            total,
            total,
        )
        assert conn.execute("select count(*) from versions").fetchone() == (0,)
        assert conn.execute("pragma integrity_check").fetchone() == ("ok",)


def test_attachments_travel_as_their_own_captures_and_are_linked_again_on_import(
    tmp_path: Path,
) -> None:
    """A notice fetched with its PDF, DOCX, XLSX and OFD: the WARC holds each file as its own
    response, and an import into an empty archive links them to the article again, text and
    all (searchable), without fetching anything."""
    from .test_pipeline import ATTACHED, _Site

    first, second, warc = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "out.warc.gz"
    site = _Site()
    try:
        code, _, err = run("fetch", site.base + "/notice.html", "--db", str(first))
    finally:
        site.close()
    assert code == 0, err
    code, _, err = run("export", "--db", str(first), "--format", "warc", "-o", str(warc))
    assert code == 0, err
    with gzip.open(warc, "rb") as fh:
        responses = [
            r.rec_headers.get_header("WARC-Target-URI")
            for r in ArchiveIterator(fh)
            if r.rec_type == "response"
        ]
    assert sorted(u.rsplit("/", 1)[-1] for u in responses) == [
        "a.pdf", "b.docx", "c.xlsx", "d.ofd", "notice.html",
    ]  # fmt: skip
    code, out, err = run("import", str(warc), "--db", str(second))
    assert code == 0, err
    assert "attachments 4" in err + out
    query = "SELECT url, kind, size, sha256, text IS NOT NULL FROM attachments ORDER BY position"
    with sqlite3.connect(first) as a, sqlite3.connect(second) as b:
        assert b.execute(query).fetchall() == a.execute(query).fetchall()
    with Archive.open(second) as archive:
        for phrase in ATTACHED.values():
            hits = archive.search(phrase)
            assert len(hits) == 1 and hits[0].attachment is not None, phrase
