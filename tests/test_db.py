"""scraper/archive/db.py: the archive's reads without sqlite-utils give what sqlite-utils gives."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils
from typer.testing import CliRunner

from scraper.archive import Archive
from scraper.archive.db import Database
from scraper.cli import app

from .conftest import SAMPLES


def _archive(tmp_path: Path) -> Path:
    db = tmp_path / "a.db"
    done = CliRunner().invoke(app, ["fetch", str(SAMPLES / "seed-utf8.html"), "--db", str(db)])
    assert done.exit_code == 0, done.output
    return db


def test_reads_match_sqlite_utils_table_by_table(tmp_path: Path) -> None:
    db = _archive(tmp_path)
    with Archive.open(db, readonly=True) as archive:
        ours, stock = archive.db, sqlite_utils.Database(archive.db.conn)
        assert ours.table_names() == stock.table_names()
        for name in [*stock.table_names(), "no such table"]:
            mine, theirs = ours.table(name), stock.table(name)
            assert mine.exists() == theirs.exists(), name
            assert [tuple(c) for c in mine.columns] == [tuple(c) for c in theirs.columns], name
            assert list(mine.rows) == list(theirs.rows), name
            for args in [
                {"where": "rowid > ?", "where_args": [0], "order_by": "rowid desc"},
                {"select": "rowid AS n_, *", "limit": 1},
                {"order_by": "rowid", "offset": 1},
                {"order_by": "rowid", "limit": 2, "offset": 1},
            ]:
                try:
                    expected = list(theirs.rows_where(**args))
                except sqlite3.OperationalError:  # a table WITHOUT ROWID
                    with pytest.raises(sqlite3.OperationalError):
                        list(mine.rows_where(**args))
                    continue
                assert list(mine.rows_where(**args)) == expected, (name, args)


def test_opening_sets_what_sqlite_utils_sets_and_writes_go_through_it(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    db = Database(conn)
    assert conn.execute("PRAGMA recursive_triggers").fetchone() == (1,)
    db.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, outcome TEXT)")
    table = db.table("runs").insert({"outcome": "ok"})
    assert table.last_rowid == 1
    db.table("runs").update(1, {"outcome": "done"})
    assert list(db.table("runs").rows) == [{"id": 1, "outcome": "done"}]
    assert db.execute("SELECT outcome FROM runs WHERE id = ?", [1]).fetchone() == ("done",)
    conn.close()
