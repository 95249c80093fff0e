"""Works and versions: one record per distinct article, every copy linked, no change lost.

A saved article joins the work of an exact duplicate (same body fingerprint) or of its most
similar near-duplicate (MinHash over character shingles, candidates from LSH band keys in the
indexed ``article_bands`` table, so the cost of one more article does not grow with the
archive), else starts a work of its own. Each work names its original: the copy at a
copy's ``original_url`` if archived, else a copy on the host that an ``original_url`` or a
来源 names, else the earliest published.
"""

from __future__ import annotations

import functools
from typing import Any

from scraper import dedup
from scraper.urls import canonicalize, host_of

from .base import ArchiveBase

# How many near-duplicate candidates are compared at most: the best match shares the most
# bands, so the few sharing most are enough (templated pages can share a band with dozens).
_MAX_CANDIDATES = 8
# How many articles of one band are counted at most (those with the highest ids, a fixed
# sample: ids are hashes of URLs). Pages built from stock sentences share some bands with
# thousands of others, and counting them all made one more article cost in proportion to the
# archive. A true copy shares most of its 32 bands, and the bands made of its own sentences
# hold its work's copies only, so it still stands out; a work with more copies than this is
# found through some of them. 8, not 24: the candidate query took 0.19 ms instead of 0.27 ms
# a page in a crawl's writer, and bench/dedup.py grouped 60,000 articles exactly as well
# (pairwise precision 1.0000, recall 0.9997 with either).
_BAND_ROWS = 8


@functools.lru_cache(maxsize=8)
def _candidates_sql(bands: int) -> str:
    """Articles sharing the most of ``bands`` band keys, with signature and work.

    Parameters: the band keys, then the article itself (never its own candidate)."""
    arms = " UNION ALL ".join(
        f"SELECT * FROM (SELECT article_id FROM article_bands WHERE band_key = ?{i + 1}"
        f" AND article_id != ?{bands + 1} ORDER BY article_id DESC LIMIT {_BAND_ROWS})"
        for i in range(bands)
    )
    return (
        "SELECT a.signature, a.work_id FROM ("
        f"  SELECT article_id, count(*) AS shared FROM ({arms})"
        f"  GROUP BY article_id ORDER BY shared DESC LIMIT {_MAX_CANDIDATES}"
        ") c JOIN articles a ON a.id = c.article_id "
        "WHERE a.signature IS NOT NULL AND a.work_id IS NOT NULL ORDER BY c.shared DESC"
    )


class WorksStore(ArchiveBase):
    """Grouping into works, original identification, and the versions table."""

    def _keep_version(self, old: dict[str, Any], now: str) -> None:
        """Keep the previous title/body of an article whose title or body just changed."""
        self.db.execute(
            "INSERT INTO versions (article_id, title, published, source, author, editor, body, "
            "content_hash, raw_sha256, first_seen, last_seen, replaced_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                old["id"],
                old["title"],
                old["published"],
                old["source"],
                old["author"],
                old["editor"],
                old["body"],
                old["content_hash"],
                old["raw_sha256"],
                old["last_changed"],
                old["last_seen"],
                now,
            ],
        )

    def _group(
        self,
        ident: int,
        body: str,
        fingerprint: str,
        old_work: int | None,
        now: str,
        sig: dedup.Signature | None = None,
        named: tuple[str | None, str | None] | None = None,
    ) -> int:
        """Group an article row that is already written (a migration backfill, a bulk load).

        ``named`` is the row's (title, published) when the caller has them at hand.
        """
        if sig is None:
            sig = dedup.signature(body)
        if named is None:
            found = self.db.execute(
                "SELECT title, published FROM articles WHERE id = ?", [ident]
            ).fetchone()
            named = (found[0], found[1]) if found else (None, None)
        work, created = self._assign_work(ident, body, fingerprint, old_work, now, sig, None, named)
        self.db.execute(
            "UPDATE articles SET work_id = ?, signature = ? WHERE id = ?",
            [work, dedup.signature_to_bytes(sig), ident],
        )
        if old_work is not None and old_work != work:
            self._refresh_work(old_work, now)
        if not created:
            self._refresh_work(work, now)
        return work

    def _assign_work(
        self,
        ident: int,
        body: str,
        fingerprint: str,
        old_work: int | None,
        now: str,
        sig: dedup.Signature,
        old_signature: bytes | None,
        named: tuple[str | None, str | None],
    ) -> tuple[int, bool]:
        """The work article ``ident`` belongs to (found, kept or new); its band keys updated.

        ``old_signature`` is the stored signature of a re-saved article: its band rows are
        found again from it (by primary key), so ``article_bands`` needs no second index.
        Returns the work and whether it was created for this article. The caller writes the
        work id into the row, then refreshes the works touched. A created work has this
        article as its only copy and original: it is written whole at once from ``named``,
        the article's (title, published), and needs no refresh.
        """
        keys = dedup.band_keys(sig)  # none for bodies too short to group by similarity
        if old_signature is not None:
            self._drop_bands(ident, old_signature)
        if keys:  # one statement for all of them: a third cheaper than executemany
            self.db.execute(
                "INSERT OR IGNORE INTO article_bands (band_key, article_id) VALUES "
                + ", ".join(["(?, ?)"] * len(keys)),
                [value for key in keys for value in (key, ident)],
            )
        work = self._exact_work(ident, fingerprint) if body.strip() else None
        if work is None and keys:
            work = self._similar_work(ident, sig, keys)
        if work is None:
            work = old_work if old_work is not None and self._copies(old_work, ident) == 0 else None
        if work is not None:
            return work, False
        cur = self.db.execute(
            "INSERT INTO works (original_id, title, published, copies, created, updated) "
            "VALUES (?, ?, ?, 1, ?, ?)",
            [ident, *named, now, now],
        )
        return int(cur.lastrowid or 0), True

    def _drop_bands(self, ident: int, old_signature: bytes) -> None:
        try:
            old_keys = dedup.band_keys(dedup.signature_from_bytes(old_signature))
        except ValueError:  # stored by another hashing scheme: find the rows the slow way
            self.db.execute("DELETE FROM article_bands WHERE article_id = ?", [ident])
            return
        if old_keys:
            marks = ",".join("?" * len(old_keys))
            self.db.execute(
                f"DELETE FROM article_bands WHERE article_id = ? AND band_key IN ({marks})",
                [ident, *old_keys],
            )

    def _copies(self, work: int, besides: int) -> int:
        row = self.db.execute(
            "SELECT count(*) FROM articles WHERE work_id = ? AND id != ?", [work, besides]
        ).fetchone()
        return int(row[0])

    def _exact_work(self, ident: int, fingerprint: str) -> int | None:
        row = self.db.execute(
            "SELECT work_id FROM articles WHERE content_hash = ? AND id != ? "
            "AND work_id IS NOT NULL ORDER BY first_seen LIMIT 1",
            [fingerprint, ident],
        ).fetchone()
        return int(row[0]) if row else None

    def _similar_work(self, ident: int, sig: dedup.Signature, keys: list[int]) -> int | None:
        """The work of the most similar earlier article (candidates from shared bands)."""
        rows = self.db.execute(_candidates_sql(len(keys)), [*keys, ident]).fetchall()
        best: tuple[float, int] | None = None
        scores = dedup.similarities(sig, [signature for signature, _ in rows])
        for score, (_, work) in zip(scores, rows, strict=True):
            if score >= dedup.THRESHOLD and (best is None or score > best[0]):
                best = (score, int(work))
        return best[1] if best else None

    def _refresh_work(self, work: int, now: str) -> None:
        """Recount a work's copies and name its original; drop it once it has none."""
        copies = [
            dict(zip(("id", "canonical_url", "site", "site_name", "source", "original_url",
                      "published", "first_seen", "title"), row, strict=True))
            for row in self.db.execute(
                "SELECT id, canonical_url, site, site_name, source, original_url, published, "
                "first_seen, title FROM articles WHERE work_id = ?",
                [work],
            ).fetchall()
        ]  # fmt: skip
        if not copies:
            self.db.execute("DELETE FROM works WHERE id = ?", [work])
            return
        original = pick_original(copies)
        self.db.execute(
            "UPDATE works SET original_id = ?, title = ?, published = ?, copies = ?, "
            "updated = ? WHERE id = ?",
            [original["id"], original["title"], original["published"], len(copies), now, work],
        )


def _earliest(copies: list[dict[str, Any]]) -> dict[str, Any]:
    return min(
        copies,
        key=lambda c: (c["published"] is None, c["published"] or "", c["first_seen"], c["id"]),
    )


def pick_original(copies: list[dict[str, Any]]) -> dict[str, Any]:
    """The copy that is the original, by the rules in the module docstring."""
    by_url = {c["canonical_url"]: c for c in copies}
    for c in copies:
        if c["original_url"]:
            target = by_url.get(canonicalize(c["original_url"]))
            if target is not None:
                return target
    named_hosts = {host_of(c["original_url"]) for c in copies if c["original_url"]}
    sources = {c["source"] for c in copies if c["source"]}
    named = [
        c
        for c in copies
        if c["site"] in named_hosts or (c["site_name"] and c["site_name"] in sources)
    ]
    return _earliest(named or copies)


class HistoryStore(ArchiveBase):
    """Reading an article's versions back."""

    def history(self, ident: int) -> list[dict[str, Any]]:
        """Every version of an article, oldest first; the last one is the current record."""
        cols = "title, published, source, author, editor, body, content_hash, raw_sha256"
        previous = [
            dict(r)
            for r in self.db.table("versions").rows_where(
                "article_id = ?", [ident], order_by="id", select=f"{cols}, first_seen, last_seen"
            )
        ]
        current = self.db.execute(
            f"SELECT {cols}, last_changed, last_seen FROM articles WHERE id = ?", [ident]
        ).fetchone()
        if current is None:
            return previous
        names = [*cols.split(", "), "first_seen", "last_seen"]
        return [*previous, dict(zip(names, current, strict=True))]
