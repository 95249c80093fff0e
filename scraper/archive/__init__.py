"""The archive database (archive.db): the only package that imports sqlite-utils.

``core`` saves and reads articles, ``crawlstate`` keeps the crawl frontier, ``schema`` holds
one migration per version.
"""

from .core import ARTICLE_FIELDS, Archive, article_id, content_hash
from .crawlstate import host_key
from .schema import SCHEMA_VERSION

__all__ = ["ARTICLE_FIELDS", "SCHEMA_VERSION", "Archive", "article_id", "content_hash", "host_key"]
