"""Datasette on an archive the CLI wrote: metadata, table search and the any-length query."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from scraper.cli import app

from .conftest import SAMPLES

pytestmark = pytest.mark.skipif(
    shutil.which("datasette") is None and not Path(sys.executable).with_name("datasette").exists(),
    reason="datasette is not installed",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def datasette(tmp_path_factory: pytest.TempPathFactory) -> object:
    tmp = tmp_path_factory.mktemp("ds")
    db = tmp / "archive.db"
    runner = CliRunner()
    pages = [
        "seed-utf8.html",
        "portal-dateline.html",
        "table-meta.html",
        "xxgk-labels.html",
        "meta-below.html",
    ]
    result = runner.invoke(app, ["fetch", *(str(SAMPLES / p) for p in pages), "--db", str(db)])
    assert result.exit_code == 0, result.stderr
    meta = runner.invoke(app, ["datasette-metadata", "--db", str(db)])
    (tmp / "metadata.json").write_text(meta.stdout, encoding="utf-8")
    exe = shutil.which("datasette") or str(Path(sys.executable).with_name("datasette"))
    port = _free_port()
    proc = subprocess.Popen(
        [
            exe,
            "serve",
            str(db),
            "-m",
            str(tmp / "metadata.json"),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            _get(f"{base}/.json")
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(
            "datasette did not start: " + (proc.stderr.read() if proc.stderr else b"").decode()
        )
    yield base
    proc.terminate()
    proc.wait(timeout=10)


def test_table_search_box_finds_a_two_character_word(datasette: str) -> None:
    rows = _get(f"{datasette}/archive/articles.json?_search={quote('党建')}&_shape=array")
    assert isinstance(rows, list) and rows
    assert all("党建" in (r["title"] + r["body"]) for r in rows)


@pytest.mark.parametrize("term", ["党", "党建", "生态环境", "执法练兵活动"])
def test_canned_search_query_finds_terms_of_any_length(datasette: str, term: str) -> None:
    rows = _get(f"{datasette}/archive/search.json?q={quote(term)}&_shape=array")
    assert isinstance(rows, list) and rows, term
    ids = {r["id"] for r in rows}
    every = _get(f"{datasette}/archive/articles.json?_shape=array&_col=body&_col=title&_size=max")
    assert isinstance(every, list)
    expected = {r["id"] for r in every if term in (r["title"] or "") + r["body"]}
    assert ids == expected


def test_views_and_metadata_are_served(datasette: str) -> None:
    reps = _get(f"{datasette}/archive/republications.json?_shape=array")
    assert isinstance(reps, list) and {r["is_original"] for r in reps} == {1}
    counts = _get(f"{datasette}/archive/site_counts.json?_shape=array")
    assert isinstance(counts, list) and sum(r["articles"] for r in counts) == 5
    meta = _get(f"{datasette}/-/metadata.json")
    assert isinstance(meta, dict) and "search" in meta["databases"]["archive"]["queries"]


def test_record_fields_are_facets_and_the_new_tables_are_served(datasette: str) -> None:
    page = _get(f"{datasette}/archive/articles.json")
    assert isinstance(page, dict)
    facets = page["facet_results"]
    facets = facets.get("results", facets)  # Datasette 1.0 nests them
    issuers = {v["value"]: v["count"] for v in facets["issuer"]["results"]}
    assert issuers == {"澜江省生态环境厅": 1}
    assert {v["value"] for v in facets["subject"]["results"]} == {"生态环境"}
    attachments = _get(f"{datasette}/archive/attachments.json?_shape=array")
    assert isinstance(attachments, list)
    assert attachments == []  # a saved file's relative links lead to the disk, not the web
    queries = _get(f"{datasette}/-/metadata.json")
    assert isinstance(queries, dict)
    assert {"search_attachments", "policy_and_interpretations"} <= set(
        queries["databases"]["archive"]["queries"]
    )


def _holding(datasette: str, term: str) -> set[int]:
    every = _get(f"{datasette}/archive/articles.json?_shape=array&_col=body&_col=title&_size=max")
    return {r["id"] for r in every if term in (r["title"] or "") + r["body"]}


def test_archiver_is_a_datasette_plugin(datasette: str) -> None:
    plugins = _get(f"{datasette}/-/plugins.json")
    assert any(p["name"] == "archiver" and "filters_from_request" in p["hooks"] for p in plugins)


@pytest.mark.parametrize("term", ["党", "镕", "党建", "户外劳动者", "执法练兵活动"])
def test_table_search_box_finds_terms_of_any_length(datasette: str, term: str) -> None:
    """The plugin turns the box's term into the bigram phrase: the same rows as the canned
    query, and exactly the articles holding the term."""
    found = _get(f"{datasette}/archive/articles.json?_search={quote(term)}&_shape=array&_size=max")
    canned = _get(f"{datasette}/archive/search.json?q={quote(term)}&_shape=array")
    ids = {r["id"] for r in found}
    assert ids and ids == {r["id"] for r in canned} == _holding(datasette, term), term
    page = urllib.request.urlopen(
        f"{datasette}/archive/articles?_search={quote(term)}", timeout=10
    ).read()
    assert f'value="{term}"'.encode() in page  # the box shows what was typed


def test_table_search_box_takes_or_not_and_title(datasette: str) -> None:
    def ids(query: str) -> set[int]:
        found = _get(f"{datasette}/archive/articles.json?_search={quote(query)}&_shape=array")
        return {r["id"] for r in found}

    either = _holding(datasette, "党建") | _holding(datasette, "户外劳动者")
    assert ids("党建 OR 户外劳动者") == either and len(either) == 2
    assert ids("党 -党建") == _holding(datasette, "党") - _holding(datasette, "党建")
    titled = _get(f"{datasette}/archive/articles.json?_search=title:{quote('党建')}&_shape=array")
    assert titled and all("党建" in r["title"] for r in titled)
    assert ids("，") == set()  # nothing to look for: nothing found, no error


def test_changes_table_and_query_show_a_withdrawn_original_and_its_copies(datasette: str) -> None:
    from scraper.archive import Archive
    from scraper.models import FetchAttempt

    meta = _get(f"{datasette}/-/metadata.json")
    assert isinstance(meta, dict)
    table = meta["databases"]["archive"]["tables"]["changes"]
    assert table["facets"] == ["kind", "reason"] and table["title"]
    assert "recent_changes" in meta["databases"]["archive"]["queries"]
    # the fixture's archive, withdrawn under the running server (it reads it live)
    db = Path(str(_get(f"{datasette}/-/databases.json")[0]["path"]))
    every = _get(f"{datasette}/archive/articles.json?_shape=array&_col=url&_size=max")
    assert isinstance(every, list)
    url = every[0]["url"]
    gone = (FetchAttempt(url=url, time="2026-12-01T00:00:00Z", status=404, final_url=url),)
    with Archive.open(db) as archive:
        archive.withdraw(url, "HTTP 404", "2026-12-01T00:00:00Z", gone, None)
    rows = _get(f"{datasette}/archive/recent_changes.json?_shape=array")
    assert isinstance(rows, list)
    assert [(r["kind"], r["reason"], r["url"]) for r in rows] == [("withdrawn", "HTTP 404", url)]
    assert rows[0]["surviving_copies"] is None  # a work of one copy
    facets = _get(f"{datasette}/archive/changes.json")["facet_results"]
    facets = facets.get("results", facets)
    assert {v["value"] for v in facets["kind"]["results"]} == {"withdrawn"}


def test_changes_query_counts_the_copies_a_withdrawn_original_leaves(tmp_path: Path) -> None:
    import sqlite3

    from scraper.datasette import CHANGES_SQL

    from .test_cli import _changes_archive

    db, ids = _changes_archive(tmp_path)
    with sqlite3.connect(db) as conn:
        found = conn.execute(CHANGES_SQL).fetchall()
    assert [(r[2], r[4], r[-1]) for r in found] == [
        ("withdrawn", ids["original"], 1),
        ("restored", ids["soft"], None),
        ("withdrawn", ids["soft"], None),
        ("edited", ids["edited"], None),
    ]
