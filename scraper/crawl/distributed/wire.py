"""Results on the wire: what a worker pushes for the ingest (JSON payload and raw bytes)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from scraper.archive import dedup
from scraper.crawl.decide import file_kept
from scraper.models import Article, AttachmentFile, FetchAttempt, Page
from scraper.pipeline import page_from_bytes

if TYPE_CHECKING:
    from scraper.crawl.worker import Outcome


def encode_result(
    page: Page | None,
    *,
    article: Article | None = None,
    digest: dedup.Digest | None = None,
    attempts: tuple[FetchAttempt, ...] = (),
    found: int = 0,
    failed: bool = False,
    disallowed: bool = False,
    reason: str | None = None,
) -> tuple[bytes, bytes | None]:
    """A result as (JSON payload, raw bytes): the page without its bytes and decoded text.

    An article travels with its digest (fingerprint and MinHash signature, computed by the
    worker), so the ingest, the one writer, does not compute it.
    """
    data: dict[str, Any] = {"found": found, "failed": failed}
    if disallowed:  # refused (a redirect to a private address): not a failure
        data["disallowed"] = True
    if reason is not None:  # why an article's revisit shows it gone (``decide.takedown``)
        data["reason"] = reason
    if page is not None:
        meta = asdict(page)
        del meta["content"], meta["text"]
        data["page"] = meta
    if article is not None:
        data["article"] = article.to_dict()
    if digest is not None:
        fingerprint, signature = digest
        data["digest"] = [fingerprint, dedup.signature_to_bytes(signature).hex()]
    if attempts:
        data["attempts"] = [asdict(a) for a in attempts]
    return json.dumps(data, ensure_ascii=False).encode(), page.content if page else None


def encode_file(out: Outcome) -> tuple[bytes, bytes | None]:
    """An attachment or picture as (JSON payload, the file): what ``decide.file_kept`` says
    the archive gets of it."""
    kept = file_kept(out)
    data: dict[str, Any] = {"failed": kept.failed}
    if kept.attempts:
        data["attempts"] = [asdict(a) for a in kept.attempts]
    if kept.error is not None:
        data["error"] = kept.error
    if kept.attachment is not None:
        data["attachment"] = asdict(kept.attachment)
    return json.dumps(data, ensure_ascii=False).encode(), kept.content


def decode_attachment(data: dict[str, Any]) -> AttachmentFile:
    """The attachment a worker sent (``encode_file``)."""
    return AttachmentFile(**data["attachment"])


def decode_digest(data: dict[str, Any]) -> dedup.Digest | None:
    """The digest a worker sent, if any and if this archiver reads its hashing scheme."""
    if "digest" not in data:
        return None
    fingerprint, signature = data["digest"]
    try:
        return str(fingerprint), dedup.signature_from_bytes(bytes.fromhex(signature))
    except ValueError:  # another hashing scheme (a worker of another version): recompute
        return None


def decode_page(meta: dict[str, Any], content: bytes | None) -> Page:
    """The page a worker sent (``encode_result``), decoded as the worker decoded it."""
    return page_from_bytes(
        meta["url"],
        content or b"",
        fetched_at=meta.get("fetched_at", ""),
        final_url=meta.get("final_url"),
        status=meta["status"],
        content_type=meta.get("content_type"),
        encoding=meta.get("encoding") or "",
        headers=tuple((str(k), str(v)) for k, v in meta.get("headers", ())),
        elapsed=meta.get("elapsed"),
        attempts=tuple(FetchAttempt(**a) for a in meta.get("attempts", ())),
        redirects=tuple(meta.get("redirects", ())),
        request_headers=tuple((str(k), str(v)) for k, v in meta.get("request_headers", ())),
        http_version=meta.get("http_version"),
        reason=meta.get("reason"),
    )
