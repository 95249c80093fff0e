"""The archive's one connection as its parts use it, without importing sqlite-utils to read.

``Database`` has what the parts call on a ``sqlite_utils.Database``: ``conn``, ``execute``,
``table_names`` and ``table(name)``, whose reads (``rows_where``, ``rows``, ``columns``,
``exists``) are done here as sqlite-utils does them. A write through a table (``insert``,
``update``: the crawl's hosts and runs) is handed to sqlite-utils, imported then: importing
it costs more than a whole read command (it imports numpy, dateutil and pluggy), and a read
command never needs it. (sqlite-utils plugins' ``prepare_connection`` hooks run then too,
not on opening; the archive uses none of what they add.)

The connection is autocommit (``isolation_level=None``): a statement opens no transaction of
its own, so ``execute`` is the connection's (sqlite-utils commits the implicit transaction of
a connection that does open one; here there is none). Opening it sets
``recursive_triggers`` on, as ``sqlite_utils.Database(conn)`` does.

Everything else on the connection (``executemany``, ``backup``, transactions) the parts call
on ``conn`` itself.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import sqlite_utils
    import sqlite_utils.db

Parameters = Sequence[Any] | Mapping[str, Any]


class Column(NamedTuple):
    """A column of a table, as ``PRAGMA table_info`` and sqlite-utils give it."""

    cid: int
    name: str
    type: str
    notnull: int
    default_value: Any
    is_pk: int


def quote(identifier: str) -> str:
    """A table or column name as an SQL identifier (double quotes, doubled inside)."""
    return '"{}"'.format(identifier.replace('"', '""'))


class Database:
    """The archive's connection (``conn``), with the sqlite-utils methods its parts use."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._utils: sqlite_utils.Database | None = None
        conn.execute("PRAGMA recursive_triggers = on")

    def execute(self, sql: str, parameters: Parameters | None = None) -> sqlite3.Cursor:
        """Run one statement; its cursor."""
        if parameters is None:
            return self.conn.execute(sql)
        return self.conn.execute(sql, parameters)

    def table_names(self) -> list[str]:
        """The names of the tables (not views), in the order SQLite lists them."""
        rows = self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return [str(name) for (name,) in rows.fetchall()]

    def table(self, name: str) -> Table:
        return Table(self, name)

    @property
    def utils(self) -> sqlite_utils.Database:
        """The same connection as a ``sqlite_utils.Database``, made (and imported) on first
        use: for writes through a table."""
        if self._utils is None:
            import sqlite_utils

            self._utils = sqlite_utils.Database(self.conn)
        return self._utils


class Table:
    """One table: read here, written through sqlite-utils (see the module's docstring)."""

    def __init__(self, db: Database, name: str) -> None:
        self.db = db
        self.name = name

    def exists(self) -> bool:
        return self.name in self.db.table_names()

    @property
    def columns(self) -> list[Column]:
        """The table's columns, in order (none when there is no such table)."""
        if not self.exists():
            return []
        rows = self.db.execute(f"PRAGMA table_info({quote(self.name)})").fetchall()
        return [Column(*row) for row in rows]

    @property
    def rows(self) -> Iterator[dict[str, Any]]:
        return self.rows_where()

    def rows_where(
        self,
        where: str | None = None,
        where_args: Parameters | None = None,
        order_by: str | None = None,
        select: str = "*",
        limit: int | None = None,
        offset: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Each row that matches ``where`` (all of them without it) as a dict, read as it is
        iterated, as ``sqlite_utils`` ``Table.rows_where`` does; none without the table. (A
        ``select`` naming one column twice keeps the last: sqlite-utils 4 renames the other.)"""
        if not self.exists():
            return
        sql = f"SELECT {select} FROM {quote(self.name)}"
        if where is not None:
            sql += " WHERE " + where
        if order_by is not None:
            sql += " ORDER BY " + order_by
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        if offset is not None:
            sql += f"{'' if limit is not None else ' LIMIT -1'} OFFSET {int(offset)}"
        cursor = self.db.execute(sql, where_args or [])
        columns = [c[0] for c in cursor.description]
        for row in cursor:
            yield dict(zip(columns, row, strict=True))

    def insert(self, record: dict[str, Any], **options: Any) -> sqlite_utils.db.Table:
        """``sqlite_utils`` ``Table.insert``: the table, its ``last_rowid`` and ``last_pk``."""
        return self._written().insert(record, **options)

    def update(
        self, pk_values: Any, updates: dict[str, Any] | None = None, **options: Any
    ) -> sqlite_utils.db.Table:
        """``sqlite_utils`` ``Table.update``: raises ``sqlite_utils.db.NotFoundError`` when
        there is no row ``pk_values``."""
        return self._written().update(pk_values, updates, **options)

    def _written(self) -> sqlite_utils.db.Table:
        return self.db.utils.table(self.name)
