"""A Datasette plugin: the ``articles`` table's search box finds Chinese terms of any length.

The archive's ``articles_fts`` holds bigram text (scraper/archive/textindex.py), so a search
box that sends what was typed finds two-character words only. This rewrites ``_search`` on an
archive's ``articles`` table into the same match expression ``archiver search`` uses (党 ->
``"党"*``, 户外劳动者 -> ``"户外 外劳 劳动 动者"``), with its syntax: OR, NOT/-term,
title:term. The index's rowid is ``articles.search_key`` (the article's place in date order),
which the metadata sorts by, newest first.

Datasette loads it through the ``datasette`` entry point whenever archiver is installed beside
it; nothing else in scraper imports this module, so Datasette stays optional.
"""

from __future__ import annotations

from typing import Any

from datasette import hookimpl  # type: ignore[import-untyped]
from datasette.filters import FilterArguments  # type: ignore[import-untyped]

from scraper.archive.textindex import match_query

_TABLE = "articles"
_FTS = "articles_fts"
# What an FTS5 MATCH finds nothing for: the search of a query with nothing to look for.
_NOTHING = '""'


@hookimpl(trylast=True)  # type: ignore[untyped-decorator]
def filters_from_request(request: Any, database: str, table: str, datasette: Any) -> Any:
    """Run after Datasette's own search filter: give its ``:search`` the bigram expression,
    or, where Datasette found no search table (no metadata), search ``articles_fts`` here."""
    if table != _TABLE:
        return None

    async def inner() -> Any:
        db = datasette.get_database(database)
        if not await db.table_exists(_FTS):
            return None
        meta = datasette.table_metadata(database, table)
        stock = request.args.get("_fts_table") or meta.get("fts_table") or await db.fts_table(table)
        raw = request.args.get("_searchmode", meta.get("searchmode")) == "raw"
        typed = request.args.get("_search")
        expr = match_query(typed) if typed else None
        if stock == _FTS and raw:
            return FilterArguments([], {"search": expr or _NOTHING}) if typed else None
        if stock:  # another search table, or the stock escaped mode: left as configured
            return None
        context = {"supports_search": True}
        if not typed:
            return FilterArguments([], extra_context=context)
        return FilterArguments(
            [f"search_key IN (SELECT rowid FROM {_FTS} WHERE {_FTS} MATCH :archiver_search)"],
            {"archiver_search": expr or _NOTHING},
            [f'search matches "{typed}"'],
            {**context, "search": typed},
        )

    return inner
