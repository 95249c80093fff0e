"""Frozen records passed between modules: what fetch returns, what parse returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class FetchAttempt:
    """One HTTP attempt (or one read from disk) as recorded in the ``fetches`` table."""

    url: str
    time: str
    status: int | None = None
    final_url: str | None = None
    bytes: int | None = None
    encoding: str | None = None
    elapsed: float | None = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Page:
    """A page as fetched (or read from disk), before parsing.

    ``url`` is what was asked for, ``final_url`` where redirects ended (or the ``--url`` given
    for a saved file). ``text`` is ``content`` decoded with ``encoding``.
    """

    url: str
    final_url: str
    status: int
    content: bytes
    text: str
    encoding: str
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    fetched_at: str = ""
    elapsed: float = 0.0
    redirects: tuple[str, ...] = ()
    attempts: tuple[FetchAttempt, ...] = ()
    # As exchanged on the wire, for web-archive (WARC) export; empty for a page read from disk.
    request_headers: tuple[tuple[str, str], ...] = ()
    http_version: str | None = None
    reason: str | None = None

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or None."""
        low = name.lower()
        for key, value in self.headers:
            if key.lower() == low:
                return value
        return None


@dataclass(frozen=True)
class Image:
    """A picture in an article's body, in page order."""

    url: str  # absolute
    alt: str | None = None
    caption: str | None = None


class LinkKind(StrEnum):
    """What a document link from an article points at."""

    ATTACHMENT = "attachment"  # an attached file (附件): PDF, Word, Excel, OFD, archive
    INTERPRETATION = "interpretation"  # an explanation of this policy (解读, 图解, 答记者问)
    POLICY = "policy"  # the policy this interpretation explains


@dataclass(frozen=True)
class DocLink:
    """A link from an article's body to a document: an attachment or a related page."""

    url: str  # absolute
    name: str  # the link text (an attachment's title as the page names it)
    kind: LinkKind


@dataclass(frozen=True)
class Article:
    """What the parser makes of one page. Field names are the archive's column names."""

    url: str
    canonical_url: str
    site_name: str | None = None
    title: str | None = None
    published: str | None = None
    source: str | None = None
    author: str | None = None
    editor: str | None = None
    original_url: str | None = None
    body: str = ""
    disclaimer: str | None = None
    footer: str | None = None
    is_article: bool = True
    language: str | None = None
    # Why the parser is unsure this is an article (the page is kept, to be checked); None when
    # it is sure. A user finds the doubtful ones with ``WHERE doubt IS NOT NULL``.
    doubt: str | None = None
    # Why the page is not kept as an article at all (blank, binary, a list of links); not a
    # column: such a page is kept as a raw page and a fetch, and ``reparse`` reconsiders it.
    rejected: str | None = field(default=None, metadata={"column": False})
    # The 信息公开 record table (parse/record.py), each None where the page prints none.
    index_number: str | None = None  # 索引号
    issuer: str | None = None  # 发布机构 / 发文机关
    doc_number: str | None = None  # 发文字号 / 文号
    written: str | None = None  # 成文日期, ISO date
    subject: str | None = None  # 主题分类 / 主题词
    validity: str | None = None  # 有效性, as printed (有效, 失效, 废止 ...)
    # What the body carries besides its text, in page order; kept in their own tables.
    images: tuple[Image, ...] = field(default=(), metadata={"column": False})
    attachments: tuple[DocLink, ...] = field(default=(), metadata={"column": False})
    related: tuple[DocLink, ...] = field(default=(), metadata={"column": False})

    def to_dict(self) -> dict[str, Any]:
        """Every field, the carried items as lists of plain dicts (as JSON has them)."""
        data = asdict(self)
        for name in _CARRIED:
            data[name] = list(data[name])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        """The inverse of ``to_dict`` (an article that crossed a process or a network)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["images"] = tuple(Image(**i) for i in values.get("images") or ())
        for name in ("attachments", "related"):
            values[name] = tuple(
                DocLink(d["url"], d["name"], LinkKind(d["kind"])) for d in values.get(name) or ()
            )
        return cls(**values)

    @property
    def kept(self) -> bool:
        """Stored as an article: surely one, or doubtful but with a headline and text."""
        return self.rejected is None

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The archive's column names (every field but those marked ``column: False``)."""
        return tuple(f.name for f in fields(cls) if f.metadata.get("column", True))


_CARRIED = ("images", "attachments", "related")


@dataclass(frozen=True)
class AttachmentFile:
    """What fetching an attachment brought: the file's identity and the text taken out of it
    (or why there is none). ``sha256`` None: no file (the fetch failed)."""

    url: str
    fetched_at: str
    sha256: str | None = None
    size: int | None = None
    kind: str | None = None  # pdf, docx, xlsx, ofd, doc, ... (scraper.documents)
    mime: str | None = None
    text: str | None = None
    error: str | None = None


class SaveStatus(StrEnum):
    """What saving did to the ``articles`` row."""

    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class SaveResult:
    """What archiving one article did: its stable id and whether it was new/updated/unchanged."""

    id: int
    status: SaveStatus
    article: Article


@dataclass(frozen=True)
class SearchHit:
    """One full-text search result, best first."""

    id: int
    title: str | None
    published: str | None
    site: str | None
    url: str
    snippet: str
    rank: float | None  # BM25, lower is better; None in date order
    attachment: str | None = None  # the attachment the match is in, where it is only in one


class SearchOrder(StrEnum):
    """How search results are ordered."""

    DATE = "date"  # newest first (by the published date, else when first archived)
    RELEVANCE = "relevance"  # BM25, title 5x, over a bounded set of candidates (search.py)
    AUTO = "auto"  # relevance when the query has few matches, else date


@dataclass(frozen=True)
class SearchResults:
    """One page of search hits, and how it was ordered.

    ``order`` is the order used (``AUTO`` resolved). ``ranked`` is how many matches relevance
    was computed over (None in date order); ``more`` whether there are more matches than
    ``ranked`` (they follow, newest first, past the ranked ones)."""

    hits: list[SearchHit]
    order: SearchOrder
    ranked: int | None = None
    more: bool = False


# ------------------------------------------------------------------ crawl records


@dataclass(frozen=True)
class NewUrl:
    """A URL a crawl found. ``due`` makes a known URL due now (start URLs, feeds, next pages)."""

    url: str
    site: str
    kind: str  # list, article, sitemap, feed
    depth: int = 0
    lastmod: str | None = None
    due: bool = False


@dataclass(frozen=True)
class FrontierItem:
    """A frontier row as the crawl sees it."""

    url: str
    site: str
    host: str
    kind: str
    depth: int
    status: str
    failures: int
    etag: str | None
    last_modified: str | None
    lastmod: str | None
    next_url: str | None = None


@dataclass(frozen=True)
class Visit:
    """What fetching a frontier URL came to, and when it is due again."""

    status: str  # ok, not_modified, not_article, failed, disallowed
    time: str
    next_fetch_at: str
    failed: bool = False
    etag: str | None = None
    last_modified: str | None = None
    article_id: int | None = None
    error: str | None = None
    next_url: str | None = None


@dataclass(frozen=True)
class HostState:
    """A host's robots.txt and politeness state, kept across runs."""

    host: str
    robots_txt: str | None = None
    robots_status: int | None = None
    robots_fetched_at: str | None = None
    next_allowed_at: str | None = None
    crawl_delay: float | None = None
    failures: int = 0


# ------------------------------------------------------------------ closed sets of the crawl
# StrEnum members equal the strings stored in archive.db and the PostgreSQL frontier, so
# neither database changes; code that reads a stored string compares equal to a member.


class TaskKind(StrEnum):
    """What a frontier URL (or a robots.txt request) is."""

    ROBOTS = "robots"
    LIST = "list"
    ARTICLE = "article"
    SITEMAP = "sitemap"
    FEED = "feed"
    ATTACHMENT = "attachment"  # a file an archived article attaches (附件), fetched as bytes
    IMAGE = "image"  # a picture in an archived article's body, for sites that keep them


class VisitStatus(StrEnum):
    """A frontier row's status: what its last fetch came to (``pending``: not yet fetched,
    or put back for a later run)."""

    PENDING = "pending"
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    NOT_ARTICLE = "not_article"
    FAILED = "failed"
    DISALLOWED = "disallowed"


class RunOutcome(StrEnum):
    """How a run ended, as the ``runs`` table and the summary line say it."""

    OK = "ok"
    RUNNING = "running"
    TIME_LIMIT = "time limit"
    PAGE_LIMIT = "page limit"
    TOO_MANY_FAILURES = "too many failures"
    INTERRUPTED = "interrupted"
    FRONTIER_UNREACHABLE = "frontier unreachable"
