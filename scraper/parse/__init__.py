"""General article extraction: ``parse_page(html, url) -> Article``.

The page is linearised once (dom), the headline found by matching <title> (meta), the
content block chosen by text/link/punctuation density (content), and the credit fields read
from the lines around it: the meta block under the headline, lines dropped from the body,
and the trailer between body and footer. Site profiles (profiles) override any field.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ..models import Article
from ..urls import absolute
from . import boilerplate as bp
from . import meta
from .attached import find_images, find_links
from .content import Content, extract
from .dates import find_dates
from .dom import Doc, Line, build, clean, squash
from .listing import judge
from .notices import find_disclaimer, find_footer
from .profiles import profile_for
from .record import find_record

__all__ = ["parse_page"]


def _same_site(a: str, b: str) -> bool:
    ha, hb = urlsplit(a).hostname or "", urlsplit(b).hostname or ""
    return ".".join(ha.split(".")[-2:]) == ".".join(hb.split(".")[-2:])


# Counted in UTF-8 bytes, in C, a few times faster than a regex over the text: U+4E00..U+9FFF
# is every character led by byte E5..E9, and those led by E4 whose next byte is B8..BF.
_NOT_CJK_LEAD = bytes(b for b in range(256) if not 0xE5 <= b <= 0xE9)
_E4_BELOW_CJK = re.compile(rb"\xe4[\x80-\xb7]")
_NOT_ASCII_LETTER = bytes(b for b in range(256) if not (chr(b).isascii() and chr(b).isalpha()))


def _cjk_and_letters(sample: str) -> tuple[int, int]:
    """Characters in U+4E00..U+9FFF, and those plus ASCII letters."""
    data = sample.encode("utf-8", "surrogatepass")
    cjk = len(data.translate(None, _NOT_CJK_LEAD))
    if led_by_e4 := data.count(b"\xe4"):
        cjk += led_by_e4 - len(_E4_BELOW_CJK.findall(data))
    return cjk, cjk + len(data.translate(None, _NOT_ASCII_LETTER))


def _language(doc: Doc, sample: str) -> str | None:
    cjk, letters = _cjk_and_letters(sample)
    if letters and cjk / letters > 0.2:
        return "zh"
    if doc.lang:
        return doc.lang.split("-")[0].lower() or None
    return None


# Date tags a CMS writes into <head> (TRS/Hanweb PubDate, Open Graph, Toutiao), read only
# where the page prints no date of its own.
_DATE_META = ("pubdate", "publishdate", "firstpublishedtime", "article:published_time")


def _published(doc: Doc, title_line: int | None, body: list[int], trailer: range) -> str | None:
    """The article's own date: under the headline, else just above it, else in the trailer,
    else the date the page's <head> declares."""
    printed = _printed_date(doc, title_line, body, trailer)
    if printed is not None:
        return printed
    for key in _DATE_META:
        found = find_dates(doc.meta.get(key, ""))
        if found:
            return found[0].iso
    return None


def _printed_date(doc: Doc, title_line: int | None, body: list[int], trailer: range) -> str | None:
    lines = doc.lines
    first_body = body[0] if body else len(lines)
    regions: list[tuple[range, bool]] = []
    if title_line is not None:
        below = range(title_line + 1, min(max(first_body, title_line + 1), title_line + 40))
        regions.append((below, False))
        regions.append((range(title_line, max(title_line - 25, -1), -1), True))
    else:
        regions.append((range(max(first_body - 10, 0), first_body), False))
    regions.append((trailer, True))
    for region, strict in regions:
        best: str | None = None
        for i in region:
            if i < 0 or i >= len(lines):
                continue
            ln = lines[i]
            if len(ln.text) > 200 or (strict and ln.links * 2 > ln.chars and ln.chars > 25):
                continue
            if strict and i < (title_line or 0) - 6 and ln.chars > 40:
                continue
            for found in find_dates(ln.text):
                if best is None or len(found.iso) > len(best):
                    best = found.iso
            if best:
                return best
    return None


def _profile_apply(doc: Doc, url: str, fields: dict[str, object], content: Content) -> None:
    prof = profile_for(urlsplit(url).hostname)
    if not prof:
        return
    tree = doc.tree
    for key, sel in prof.items():
        node = tree.css_first(sel)
        if node is None:
            continue
        if key == "body":
            idx = doc.by_mem.get(node.mem_id)
            if idx is not None:
                el = doc.elems[idx]
                kept = [ln.text for ln in doc.lines[el.start : el.end] if not bp.is_noise(ln.text)]
                fields["body"] = "\n".join(kept)
            continue
        text = clean(node.text() or "")
        if key == "date":
            found = find_dates(text)
            if found:
                fields["published"] = found[0].iso
        elif text:
            fields[key] = text


def _after_record_table(lines: list[Line], body: list[int]) -> list[int]:
    """``body`` without the 信息公开 record table it opens with, if it does: two or more
    labelled lines (索引号, 发文机关 ...), each label's value on the next line when not on its
    own, and bare dates and document numbers among them."""
    i = labels = 0
    while i < len(body):
        text = lines[body[i]].text
        rest = bp.record_label(text)
        if rest is not None:
            labels += 1
            i += 1 if rest or i + 1 == len(body) else 2
        elif labels and bp.is_record_value(text):
            i += 1
        else:
            break
    return body[i:] if labels >= 2 and i < len(body) else body


def parse_page(html: str, url: str) -> Article:
    """Parse one page's HTML (already decoded) fetched from ``url``."""
    doc = build(html)
    lines = doc.lines
    title, title_line = meta.find_title(doc)
    # A line that matches the page's <title> is the article's headline, unless all it names is
    # the site (a home page's logo).
    headline = title_line
    site_name = meta.site_name(doc)
    names = {squash(n) for n in (site_name, doc.meta.get("sitename")) if n}
    if title is not None and squash(title) in names:
        headline = None
    content = extract(doc, title_line)
    if title_line is None:
        title, title_line = meta.title_above(
            doc, content.body[0] if content.body else content.start
        )
        if title_line is not None:
            content = extract(doc, title_line)
    body = _after_record_table(lines, content.body)
    body_end = body[-1] if body else content.end - 1
    footer_start, footer = find_footer(doc, body_end)
    limit = footer_start if footer_start is not None else len(lines)
    trailer = range(body_end + 1, min(limit, body_end + 30))

    first_body = body[0] if body else content.start
    head_lo = title_line + 1 if title_line is not None else max(first_body - 8, 0)
    head = [ln.text for ln in lines[head_lo : min(max(first_body, head_lo), head_lo + 15)]]
    kept = set(body)
    # Lines cut from the container around the body (credits, bylines); not mid-body captions.
    first_kept = body[0] if body else content.end
    cut = [i for i in range(content.start, content.end) if i not in kept]
    dropped = [lines[i].text for i in cut if i < first_kept or i > body_end]
    credits = [lines[i].text for i in cut]
    tail = [lines[i].text for i in trailer]

    above = [ln.text for ln in lines[max((title_line or 0) - 25, 0) : title_line or 0]]
    source, author, editor = meta.find_credits(
        meta.Around(
            head=head,
            dropped=dropped,
            credits=credits,
            tail=tail,
            above=above,
            opening=[lines[i].text for i in body[:2]],
            closing=[lines[i].text for i in body[-3:]],
            has_headline=title_line is not None,
            declared=doc.meta.get("contentsource") or None,
        )
    )

    lo = title_line if title_line is not None else content.start
    disc_line, disclaimer = find_disclaimer(doc, lo, limit)
    body_lines = [lines[i].text for i in body if disc_line is None or i != disc_line]

    fields: dict[str, object] = {
        "title": title,
        "published": _published(doc, title_line, body, trailer),
        "source": source,
        "author": author,
        "editor": editor,
        "body": "\n".join(body_lines),
    }
    _profile_apply(doc, url, fields, content)
    canonical = url
    if doc.canonical:
        declared = absolute(url, doc.canonical)
        if declared and declared.startswith("http") and _same_site(declared, url):
            canonical = declared
    sample = " ".join(ln.text for ln in lines[:400])
    verdict = judge(doc, body, url, headline, html)
    record = find_record([ln.text for ln in lines[:limit]])
    images = find_images(doc, first_body, body_end, url)
    attachments, related = find_links(
        doc, first_body, body_end, url, title_line=title_line, container_end=content.end
    )
    return Article(
        url=url,
        canonical_url=canonical,
        site_name=site_name,
        title=fields["title"] if isinstance(fields["title"], str) else None,
        published=fields["published"] if isinstance(fields["published"], str) else None,
        source=fields["source"] if isinstance(fields["source"], str) else None,
        author=fields["author"] if isinstance(fields["author"], str) else None,
        editor=fields["editor"] if isinstance(fields["editor"], str) else None,
        original_url=meta.find_original_url(doc, url),
        body=str(fields["body"]),
        disclaimer=disclaimer,
        footer=footer,
        is_article=verdict.is_article,
        doubt=verdict.doubt,
        rejected=verdict.rejected,
        language=_language(doc, sample),
        **record,
        images=images,
        attachments=attachments,
        related=related,
    )
