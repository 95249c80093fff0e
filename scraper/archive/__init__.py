"""The archive database (archive.db): the only package that imports sqlite-utils.

``core`` holds ``Archive``, made of parts over its one connection, each owning some tables:
``articles``, ``captures`` (raw pages and fetches), ``works``, ``versions``, ``search`` (the
full-text index) and ``crawlstate`` (frontier, hosts, runs); ``Archive.save`` calls them in
turn. ``schema`` holds one migration per version and applies them; ``connect`` opens the file;
``db`` is the connection the parts share (reading needs no sqlite-utils: the first write
through a table imports it); ``base`` has the transactions and the error kinds. ``dedup``
(fingerprints, MinHash, LSH band keys), ``textindex`` (the bigram text the search index
holds), ``vectors`` (the only numpy importer: their per-character passes, loaded by the first
that runs) and ``prepare`` (what a worker derives from an article before the archive writes
it) are pure and need no database.

The names below are loaded on first use: a parsing process imports ``prepare`` through this
package and must not pull in SQLite with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import ARTICLE_FIELDS as ARTICLE_FIELDS
    from .core import Archive as Archive
    from .core import article_id as article_id
    from .core import content_hash as content_hash
    from .crawlstate import host_key as host_key
    from .schema import SCHEMA_VERSION as SCHEMA_VERSION

_EXPORTS = {
    "ARTICLE_FIELDS": "core",
    "Archive": "core",
    "article_id": "core",
    "content_hash": "core",
    "host_key": "crawlstate",
    "SCHEMA_VERSION": "schema",
}

__all__ = ["ARTICLE_FIELDS", "SCHEMA_VERSION", "Archive", "article_id", "content_hash", "host_key"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
