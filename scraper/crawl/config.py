"""The crawl configuration: ``sites.toml`` read into frozen ``SiteConfig`` records.

Every key is checked once, here, so a typo fails the run before any request with an error that
names the file, the site and the key, instead of a crawl that silently does something else.
A ``[defaults]`` table sets any key (except ``start_urls``) for every site.
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scraper.errors import ConfigError
from scraper.pipeline import ATTACHMENT_MAX_BYTES
from scraper.urls import canonicalize, is_web_url

CONFIG_ENV = "ARCHIVER_CONFIG"
DEFAULT_CONFIG = "sites.toml"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_MAX_DURATION = 3650 * 86400.0  # ten years: longer is "never", and stays a date
_AT_MOST = f"(at most {_MAX_DURATION / 86400:.0f}d)"
IMAGE_MAX_BYTES = 5 * 1024 * 1024
PAGE_FIELD = "{page}"


@dataclass(frozen=True)
class JsonList:
    """A column whose list is a JSON answer (``json_lists`` in sites.toml), read page by page.

    ``endpoint`` holds ``{page}``, the page number, starting at ``first_page``; ``items`` is
    the dotted path to the answer's array, ``url``, ``title`` and ``date`` an item's fields
    (``url`` may be a template such as ``/content/{id}.html``, relative to the endpoint).
    Pages are followed while they bring new items, within the site's ``max_list_pages`` and
    ``stop_after_unchanged``, as any list's.
    """

    endpoint: str
    items: str
    url: str
    title: str
    date: str | None = None
    first_page: int = 1

    def first(self) -> str:
        return self.page(self.first_page)

    def page(self, number: int) -> str:
        return self.endpoint.replace(PAGE_FIELD, str(number))

    def number_of(self, url: str) -> int | None:
        """The page number ``url`` asks for, when it is a page of this list (as given, or
        canonical as the frontier keeps it: its query sorted)."""
        m = _page_pattern(self.endpoint).fullmatch(url)
        return int(next(g for g in m.groups() if g is not None)) if m else None


_SENTINEL = "918273645"


@functools.lru_cache(maxsize=256)
def _page_pattern(endpoint: str) -> re.Pattern[str]:
    forms = dict.fromkeys((endpoint, canonicalize(endpoint.replace(PAGE_FIELD, _SENTINEL))))
    return re.compile(
        "|".join(
            re.escape(f.replace(PAGE_FIELD, _SENTINEL)).replace(_SENTINEL, r"(\d{1,9})")
            for f in forms
        )
    )


@dataclass(frozen=True)
class SiteConfig:
    """One site to crawl. Times are seconds; patterns are regular expressions over URLs.

    What an archived article carries is fetched by the crawl too, through the same host queue
    (the host's delay, robots.txt, retries, fetch rows): ``attachments`` (default true) its
    attached files, each at most ``max_attachment_bytes`` (default 50 MiB), their text
    extracted and searchable; ``images`` (default false) the pictures of its body, each at most
    ``max_image_bytes`` (default 5 MiB). A file kept is not fetched again on a schedule, only
    when an article newly links to it. ``json_lists``: columns whose list is a JSON answer
    (``JsonList``); ``start_urls`` may then be empty.
    """

    name: str
    start_urls: tuple[str, ...]
    sitemaps: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    article_patterns: tuple[str, ...] = ()
    pagination_patterns: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()  # empty in the file: the hosts of the URLs above
    delay: float = 1.0
    revisit_after: float = 7 * 86400.0
    max_list_pages: int = 50
    stop_after_unchanged: int = 2  # list pages in a row with nothing new end the pagination
    # A sitemap index may list more indexes: followed this many levels below a configured
    # sitemap, and at most this many sitemaps fetched (and new ones queued) per site per run,
    # so an index that keeps linking new indexes cannot grow the frontier without end.
    max_sitemap_depth: int = 3
    max_sitemaps: int = 1000
    user_agent: str | None = None  # None: the fetcher's descriptive default
    timeout: float = 30.0
    retries: int = 2
    max_host_failures: int = 5  # failures in a row that set a host aside for the run
    obey_robots: bool = True
    allow_private: bool = False  # crawl private, loopback, link-local addresses (tests, intranets)
    strip_params: tuple[str, ...] = ()  # query parameters that never identify a page here
    # An archived article's attachments (附件) are fetched by the crawl, as bytes, each at
    # most this size (a larger one keeps its reason, not the file); images likewise, only
    # where a site says so (pictures are most of a site's bytes, and rarely the record).
    attachments: bool = True
    max_attachment_bytes: int = ATTACHMENT_MAX_BYTES
    images: bool = False
    max_image_bytes: int = IMAGE_MAX_BYTES
    json_lists: tuple[JsonList, ...] = ()  # columns listed by a JSON answer, not by HTML

    def allows_host(self, host: str) -> bool:
        return host.lower() in self.allowed_hosts


@dataclass(frozen=True)
class CrawlConfig:
    """Every configured site, in file order, and the file they came from."""

    path: str
    sites: tuple[SiteConfig, ...]
    frontier: str | None = None  # [frontier] url: crawl through PostgreSQL (distributed)

    def site(self, name: str) -> SiteConfig | None:
        return next((s for s in self.sites if s.name == name), None)


def json_list_of(site: SiteConfig, url: str) -> JsonList | None:
    """The site's JSON list that ``url`` is a page of, if any."""
    return next((j for j in site.json_lists if j.number_of(url) is not None), None)


_KEYS = {f.name for f in fields(SiteConfig)} - {"name"}
_URL_LISTS = ("start_urls", "sitemaps", "feeds")
_PATTERN_LISTS = ("article_patterns", "pagination_patterns")
_BOOLS = ("obey_robots", "allow_private", "attachments", "images")
_DURATIONS = ("delay", "revisit_after", "timeout")
_COUNTS = {
    "max_list_pages": 1,
    "stop_after_unchanged": 1,
    "retries": 0,
    "max_host_failures": 1,
    "max_sitemap_depth": 0,
    "max_sitemaps": 1,
    "max_attachment_bytes": 1,
    "max_image_bytes": 1,
}
_JSON_KEYS = {"endpoint", "items", "url", "title", "date", "first_page"}


def config_path(given: str | os.PathLike[str] | None) -> Path:
    """``--config``, else ``$ARCHIVER_CONFIG``, else ``sites.toml`` in the working directory."""
    return Path(given or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_config(path: str | os.PathLike[str]) -> CrawlConfig:
    """Read and check a sites.toml; raise ConfigError naming the file, site and key."""
    where = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            "no such file (give --config or set ARCHIVER_CONFIG)", path=where
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read ({exc.strerror})", path=where) from None
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", path=where) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML ({exc})", path=where) from None
    return parse_config(data, where)


def parse_config(data: dict[str, Any], where: str) -> CrawlConfig:
    """Check already-parsed TOML data (``where`` names it in errors)."""
    unknown = set(data) - {"defaults", "sites", "frontier"}
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(
            "unknown top-level key (expected [defaults], [frontier] and [sites.NAME])",
            path=where,
            key=key,
        )
    frontier = _frontier(data.get("frontier"), where)
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ConfigError("must be a table", path=where, key="defaults")
    if "start_urls" in defaults:
        raise ConfigError(
            "start_urls belongs to a site, not [defaults]", path=where, key="start_urls"
        )
    _check_keys(defaults, where, None)
    sites = data.get("sites")
    if not isinstance(sites, dict) or not sites:
        raise ConfigError("no sites configured (add a [sites.NAME] table)", path=where, key="sites")
    out = []
    for name, table in sites.items():
        if not _NAME.match(name):
            raise ConfigError(
                "site names use letters, digits, '.', '_' and '-'", path=where, site=name
            )
        if not isinstance(table, dict):
            raise ConfigError("must be a table", path=where, site=name)
        _check_keys(table, where, name)
        out.append(_site(name, {**defaults, **table}, where))
    return CrawlConfig(path=where, sites=tuple(out), frontier=frontier)


def _frontier(table: Any, where: str) -> str | None:
    """The ``[frontier]`` table: ``url = "postgresql://..."`` for a distributed crawl."""
    if table is None:
        return None
    if not isinstance(table, dict) or set(table) - {"url"}:
        raise ConfigError("must be a table with one key, url", path=where, key="frontier")
    url = table.get("url")
    if not isinstance(url, str) or not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError("must be a postgresql:// URL", path=where, key="frontier.url")
    return url


def _check_keys(table: dict[str, Any], where: str, site: str | None) -> None:
    for key in table:
        if key not in _KEYS:
            raise ConfigError(
                f"unknown key (known: {', '.join(sorted(_KEYS))})", path=where, site=site, key=key
            )


def _site(name: str, table: dict[str, Any], where: str) -> SiteConfig:
    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(message, path=where, site=name, key=key)

    values: dict[str, Any] = {}
    if "start_urls" not in table:
        raise fail("start_urls", "required: the list pages to start from")
    for key in _URL_LISTS:
        if key in table:
            values[key] = tuple(
                _url(u, fail(key, f"not an http(s) URL: {u!r}"))
                for u in _strings(table[key], fail(key, "must be a list of URLs"))
            )
    if not values["start_urls"] and not table.get("json_lists"):
        raise fail("start_urls", "must name at least one URL (or give json_lists)")
    for key in _PATTERN_LISTS:
        if key in table:
            patterns = _strings(table[key], fail(key, "must be a list of regular expressions"))
            for p in patterns:
                try:
                    re.compile(p)
                except re.error as exc:
                    raise fail(key, f"bad regular expression {p!r}: {exc}") from None
            values[key] = patterns
    for key in _DURATIONS:
        if key in table:
            values[key] = _duration(
                table[key],
                fail(key, f"must be seconds or a duration like '30m', '12h', '7d' {_AT_MOST}"),
            )
    if values.get("timeout", 1.0) <= 0:
        raise fail("timeout", "must be more than 0")
    for key, least in _COUNTS.items():
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise fail(key, f"must be a whole number, at least {least}")
            values[key] = value
    if "user_agent" in table:
        ua = table["user_agent"]
        if not isinstance(ua, str) or not ua.strip():
            raise fail("user_agent", "must be a non-empty string")
        values["user_agent"] = ua.strip()
    for key in _BOOLS:
        if key in table:
            if not isinstance(table[key], bool):
                raise fail(key, "must be true or false")
            values[key] = table[key]
    if "strip_params" in table:
        values["strip_params"] = tuple(
            p.lower()
            for p in _strings(
                table["strip_params"], fail("strip_params", "must be a list of parameter names")
            )
        )
    if "json_lists" in table:
        values["json_lists"] = _json_lists(table["json_lists"], fail)
    hosts: tuple[str, ...]
    if "allowed_hosts" in table:
        hosts = tuple(
            h.lower()
            for h in _strings(
                table["allowed_hosts"], fail("allowed_hosts", "must be a list of host names")
            )
        )
    else:
        urls = [u for key in _URL_LISTS for u in values.get(key, ())]
        urls += [j.endpoint for j in values.get("json_lists", ())]
        hosts = tuple(dict.fromkeys((urlsplit(u).hostname or "").lower() for u in urls))
    values["allowed_hosts"] = hosts
    return SiteConfig(name=name, **values)


def _json_lists(value: Any, fail: Any) -> tuple[JsonList, ...]:
    """``json_lists = [{endpoint = "https://.../list?page={page}", items = "data.list",
    url = "url", title = "title", date = "date", first_page = 1}, ...]``."""
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise fail("json_lists", "must be a list of tables")
    out = []
    for table in value:
        unknown = set(table) - _JSON_KEYS
        if unknown:
            raise fail("json_lists", f"unknown key {sorted(unknown)[0]!r} "
                       f"(known: {', '.join(sorted(_JSON_KEYS))})")  # fmt: skip
        for key in ("endpoint", "items", "url", "title"):
            if not isinstance(table.get(key), str) or not table[key].strip():
                raise fail("json_lists", f"each list needs {key} (a non-empty string)")
        endpoint = table["endpoint"].strip()
        if PAGE_FIELD not in endpoint or not is_web_url(endpoint.replace(PAGE_FIELD, "1")):
            raise fail(
                "json_lists", f"endpoint must be an http(s) URL holding {{page}}: {endpoint!r}"
            )
        date = table.get("date")
        if date is not None and (not isinstance(date, str) or not date.strip()):
            raise fail("json_lists", "date must be a non-empty string")
        first = table.get("first_page", 1)
        if isinstance(first, bool) or not isinstance(first, int) or first < 0:
            raise fail("json_lists", "first_page must be a whole number, at least 0")
        out.append(
            JsonList(
                endpoint,
                table["items"].strip(),
                table["url"].strip(),
                table["title"].strip(),
                date.strip() if date else None,
                first,
            )
        )
    return tuple(out)


def _strings(value: Any, error: ConfigError) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise error
    return tuple(v.strip() for v in value)


def _url(value: str, error: ConfigError) -> str:
    if not is_web_url(value):
        raise error
    return value


def _duration(value: Any, error: ConfigError) -> float:
    """Seconds, from a number or a string like '30m'; at most ``_MAX_DURATION`` (inf, nan and
    centuries would make the frontier's due times no dates)."""
    seconds: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        m = _DURATION.match(value.lower())
        if m:
            seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds is None or not 0 <= seconds <= _MAX_DURATION:  # False for nan too
        raise error
    return seconds
