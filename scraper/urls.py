"""URL rules as pure functions: what makes two URLs the same page, and which host a URL is on."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from urllib.parse import SplitResult, parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Parameters that only say how a reader arrived (ad campaigns, share buttons, app stores).
# Nothing else is dropped: gov CMSs keep article ids in the query (id=, uid=, pageNum=).
TRACKING_PARAMS = frozenset(
    {
        "spm", "spm_id_from", "scm", "fbclid", "gclid", "yclid", "msclkid", "mc_cid", "mc_eid",
        "_hsenc", "_hsmi", "igshid", "isappinstalled", "wxshare_count", "share_token",
        "sharer_sharetime", "sharer_shareid", "nsukey", "clicktime", "enterid", "scene",
    }
)  # fmt: skip
# ``from`` is tracking only with the values WeChat and Weibo share buttons add.
_SHARE_FROM = frozenset({"singlemessage", "groupmessage", "timeline", "weibo", "qq", "wechat"})


def _is_tracking(key: str, value: str, strip: frozenset[str]) -> bool:
    low = key.lower()
    return (
        low.startswith("utm_")
        or low in TRACKING_PARAMS
        or low in strip
        or (low == "from" and value.lower() in _SHARE_FROM)
    )


def _clean_query(query: str, strip: frozenset[str]) -> str:
    """Query parameters sorted by name (stable), tracking ones dropped, encoding untouched."""
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        if not _is_tracking(key, value, strip):
            pairs.append((key, part))
    pairs.sort(key=lambda kv: kv[0])
    return "&".join(part for _, part in pairs)


def canonicalize(url: str, strip_params: Iterable[str] = ()) -> str:
    """A conservative canonical form of ``url``.

    Lowercase scheme and host, no fragment, no default port, query parameters sorted by name
    with known tracking parameters (utm_*, spm, ...) and the site's own ``strip_params``
    dropped. Every other parameter is kept with its value exactly as written.
    """
    strip = strip_params if isinstance(strip_params, frozenset) else frozenset(strip_params)
    return _canonical(url, strip)


@functools.lru_cache(maxsize=4096)
def _canonical(url: str, strip_params: frozenset[str]) -> str:
    """``canonicalize``, remembered: a crawl asks for one URL's form several times (found on
    a list, queued, fetched, stored, and its host for politeness)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return urlunsplit(parts._replace(fragment=""))
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username or parts.password:
        netloc = f"{parts.username or ''}:{parts.password or ''}@{netloc}".replace(":@", "@")
    query = _clean_query(parts.query, frozenset(p.lower() for p in strip_params))
    path = parts.path or "/"
    if not netloc and path.startswith("//"):  # "http://:80//x": the path must not become a host
        path = "/" + path.lstrip("/")
    # rstrip: "http://a/x #top" leaves a space before its fragment, which browsers drop too
    return urlunsplit((scheme, netloc, path, query, "")).rstrip()


def well_formed(url: str) -> SplitResult | None:
    """``url`` split, or None when it cannot be read: a broken ``[IPv6]`` host or a port that
    is no number, as unfilled CMS templates leave them (urlsplit raises on some, ``.port`` on
    the others)."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return None
    return parts


def is_web_url(url: str) -> bool:
    """A well-formed http(s) URL with a host."""
    parts = well_formed(url)
    return parts is not None and parts.scheme.lower() in _DEFAULT_PORTS and bool(parts.hostname)


def absolute(base: str, href: str) -> str | None:
    """``href`` resolved against ``base``; None when that is not a well-formed URL, or is a web
    URL with no host: one bad link must not fail the page it is on, nor anything that later
    splits it."""
    try:
        url = urljoin(base, href.strip())
    except ValueError:
        return None
    parts = well_formed(url)
    if parts is None:
        return None
    if parts.scheme.lower() in _DEFAULT_PORTS and not parts.hostname:
        return None  # "https:////x": no host, and rebuilt, its path would become one
    return url


def host_of(url: str) -> str:
    """The lowercase host a URL points at ("" for a file path)."""
    return (urlsplit(url).hostname or "").lower()


_RANGE_PARAMS = ("startrecord", "endrecord", "perpage")


def form_post(url: str) -> tuple[str, dict[str, str]] | None:
    """How to ask for ``url`` when a GET is not what its server expects: a Hanweb jpage proxy
    address (``…/jpage/dataproxy.jsp?startrecord=…``) is sent by POST as jpage.js sends it, the
    record range in the address and the column's parameters as the form. ``(target, form)``,
    or None for an ordinary GET. The archive knows the page by ``url``, the whole address."""
    parts = urlsplit(url)
    if not parts.path.endswith("/jpage/dataproxy.jsp") or "startrecord=" not in parts.query:
        return None
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    first = [(k, v) for k, v in pairs if k.lower() in _RANGE_PARAMS]
    form = {k: v for k, v in pairs if k.lower() not in _RANGE_PARAMS}
    return urlunsplit(parts._replace(query=urlencode(first))), form
