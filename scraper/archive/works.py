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

from scraper.archive import dedup
from scraper.urls import canonicalize, host_of

from .db import Database

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


class Works:
    """Grouping articles into works, and naming each work's original.

    ``facts``: whether the works' bookkeeping of schema 9 (``work_facts``, the works row's
    ``link_id``, ``named_id``, ``earliest_id``) exists; not while older migrations run.
    """

    def __init__(self, db: Database, *, facts: bool = True) -> None:
        self.db = db
        self.facts = facts

    def place(
        self,
        ident: int,
        row: dict[str, Any],
        old: dict[str, Any] | None,
        signature: dedup.Signature,
        now: str,
    ) -> list[tuple[int, int | None]]:
        """Set ``row``'s work (and signature) before it is written; return the works to refresh,
        each with the article when all that changed is that it joined the work.

        The work is found before the row is written, so work_id and signature go in with it:
        updating them afterwards rewrites the whole row, body included. Grouping runs again
        only when the body's fingerprint changed (or it never ran).
        """
        old_work = old["work_id"] if old is not None else None
        if old is not None and old_work is not None and old["content_hash"] == row["content_hash"]:
            row["work_id"] = old_work
            fields = ("published", "source", "original_url", "title", "site_name")
            return [(int(old_work), None)] if any(old[k] != row[k] for k in fields) else []
        old_signature = old["signature"] if old is not None else None
        work, created = self.assign(
            ident,
            row["body"],
            row["content_hash"],
            old_work,
            now,
            signature,
            old_signature,
            (row["title"], row["published"]),
        )
        row["work_id"] = work
        row["signature"] = dedup.signature_to_bytes(signature)
        if old_work is not None and old_work != work:
            return [(int(old_work), None)] if created else [(int(old_work), None), (work, ident)]
        if created:
            return []
        return [(work, ident if old_work is None else None)]

    def group(
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
        work, created = self.assign(ident, body, fingerprint, old_work, now, sig, None, named)
        self.db.execute(
            "UPDATE articles SET work_id = ?, signature = ? WHERE id = ?",
            [work, dedup.signature_to_bytes(sig), ident],
        )
        if old_work is not None and old_work != work:
            self.refresh(old_work, now)
        if not created:
            self.refresh(work, now, ident if old_work != work else None)
        return work

    def assign(
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
        # raw, not sqlite-utils' insert: a new work for most saved articles, 50 us less each
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
        """Whether the work has copies besides ``besides`` (0 or 1: no count of them all)."""
        row = self.db.execute(
            "SELECT 1 FROM articles WHERE work_id = ? AND id != ? LIMIT 1", [work, besides]
        ).fetchone()
        return 1 if row else 0

    def _exact_work(self, ident: int, fingerprint: str) -> int | None:
        # (content_hash, first_seen): the earliest copy is the index's first, however many
        # copies share the fingerprint (schema 9).
        row = self.db.execute(
            "SELECT work_id FROM articles WHERE content_hash = ? AND id != ? "
            "AND work_id IS NOT NULL ORDER BY first_seen, id LIMIT 1",
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

    def refresh(self, work: int, now: str, joined: int | None = None) -> None:
        """Recount a work's copies and name its original; drop it once it has none.

        ``joined``: the only change is that this article (already written) joined the work.
        A work of two or more copies keeps what naming its original needs (``work_facts``
        and the works row's ``link_id``, ``named_id``, ``earliest_id``), so the newcomer is
        compared with those alone: the cost does not grow with the copies. Anything else (a
        copy left, or changed what it says) reads every copy once.
        """
        if joined is not None and self.facts:
            state = self.db.execute(
                "SELECT copies, link_id, named_id, earliest_id FROM works WHERE id = ?", [work]
            ).fetchone()
            if state is not None and state[0] >= 2 and state[3] is not None:
                self._join(work, joined, now, state[0], state[1], state[2], state[3])
                return
        copies = [
            dict(zip(_COPY_COLUMNS, row, strict=True))
            for row in self.db.execute(
                f"SELECT {', '.join(_COPY_COLUMNS)} FROM articles WHERE work_id = ? ORDER BY id",
                [work],
            ).fetchall()
        ]
        if not copies:
            self.db.execute("DELETE FROM works WHERE id = ?", [work])
            if self.facts:
                self.db.execute("DELETE FROM work_facts WHERE work_id = ?", [work])
            return
        original = pick_original(copies)
        if not self.facts:
            self.db.execute(
                "UPDATE works SET original_id = ?, title = ?, published = ?, copies = ?, "
                "updated = ? WHERE id = ?",
                [original["id"], original["title"], original["published"], len(copies), now,
                 work],
            )  # fmt: skip
            return
        link, named, earliest = _standing(copies)
        self.db.execute("DELETE FROM work_facts WHERE work_id = ?", [work])
        if len(copies) >= 2:  # a work of one copy keeps none: most works never get a second
            facts = _facts(copies)
            self.db.execute(
                "INSERT INTO work_facts (work_id, kind, value, article_id) VALUES "
                + ", ".join(["(?, ?, ?, ?)"] * len(facts)),
                [v for (kind, value), ident in facts.items() for v in (work, kind, value, ident)],
            )
        self.db.execute(
            "UPDATE works SET original_id = ?, title = ?, published = ?, copies = ?, updated = ?, "
            "link_id = ?, named_id = ?, earliest_id = ? WHERE id = ?",
            [original["id"], original["title"], original["published"], len(copies), now,
             link, named, earliest, work],
        )  # fmt: skip

    def _join(
        self,
        work: int,
        ident: int,
        now: str,
        copies: int,
        link: int | None,
        named: int | None,
        earliest: int,
    ) -> None:
        """Article ``ident`` joined ``work`` (of two or more copies): name the original anew
        from what the work keeps, as ``pick_original`` over every copy would.

        ``link_id`` is the first copy (by id) whose ``original_url`` is a copy of the work: its
        target is the original. Else ``named_id``, the earliest copy on a host an
        ``original_url`` names or whose site name a 来源 names; else ``earliest_id``. The
        facts: per original_url target the first copy naming it ('link'), the hosts named
        ('host'), the 来源 named ('source'), and per site and per site name its earliest copy
        ('site', 'name'). The newcomer can only add to each.
        """
        me = self._copy(ident)
        keys: dict[int, tuple[bool, str, str, int]] = {ident: _key(me)}

        def key(of: int) -> tuple[bool, str, str, int]:
            if of not in keys:
                keys[of] = _key(self._copy(of))
            return keys[of]

        def fact(kind: str, value: str) -> int | None:
            row = self.db.execute(
                "SELECT article_id FROM work_facts WHERE work_id = ? AND kind = ? AND value = ?",
                [work, kind, value],
            ).fetchone()
            return int(row[0]) if row else None

        def put(kind: str, value: str, better: bool) -> None:
            if better:
                self.db.execute(
                    "INSERT OR REPLACE INTO work_facts (work_id, kind, value, article_id) "
                    "VALUES (?, ?, ?, ?)",
                    [work, kind, value, ident],
                )

        target = canonicalize(me["original_url"]) if me["original_url"] else None
        named_host = host_of(me["original_url"]) if me["original_url"] else ""
        if target is not None:
            first = fact("link", target)
            put("link", target, first is None or ident < first)
        if named_host:
            put("host", named_host, fact("host", named_host) is None)
        if me["source"]:
            put("source", me["source"], fact("source", me["source"]) is None)
        for kind, value in (("site", me["site"]), ("name", me["site_name"])):
            if value:
                best = fact(kind, value)
                put(kind, value, best is None or keys[ident] < key(best))

        # The original link: the newcomer's own, if it points at a copy; copies pointing at it.
        original: int | None = None
        resolves = target is not None and (
            target == me["canonical_url"] or self._in_work(target, work)
        )
        if target is not None and resolves and (link is None or ident < link):
            link = ident
            original = self._id_at(target, me)
        pointing = fact("link", me["canonical_url"])
        if pointing is not None and (link is None or pointing < link):
            link, original = pointing, ident
        if original is None and link is not None:
            original = self.db.execute(
                "SELECT original_id FROM works WHERE id = ?", [work]
            ).fetchone()[0]
        # Copies named by a host or 来源: the newcomer itself, and the earliest copy on the host
        # or of the site name it names.
        candidates: list[int | None] = [named]
        if (me["site"] and fact("host", me["site"]) is not None) or (
            me["site_name"] and fact("source", me["site_name"]) is not None
        ):
            candidates.append(ident)
        if named_host:
            candidates.append(fact("site", named_host))
        if me["source"]:
            candidates.append(fact("name", me["source"]))
        present = [c for c in candidates if c is not None]
        named = min(present, key=key) if present else None
        earliest = min(earliest, ident, key=key)
        if original is None:
            original = named if named is not None else earliest
        title, published = (
            (me["title"], me["published"])
            if original == ident
            else self.db.execute(
                "SELECT title, published FROM articles WHERE id = ?", [original]
            ).fetchone()
        )
        self.db.execute(
            "UPDATE works SET original_id = ?, title = ?, published = ?, copies = ?, updated = ?, "
            "link_id = ?, named_id = ?, earliest_id = ? WHERE id = ?",
            [original, title, published, copies + 1, now, link, named, earliest, work],
        )

    def _copy(self, ident: int) -> dict[str, Any]:
        row = self.db.execute(
            f"SELECT {', '.join(_COPY_COLUMNS)} FROM articles WHERE id = ?", [ident]
        ).fetchone()
        return dict(zip(_COPY_COLUMNS, row, strict=True))

    def _in_work(self, canonical: str, work: int) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM articles WHERE canonical_url = ? AND work_id = ?", [canonical, work]
        ).fetchone()
        return row is not None

    def _id_at(self, canonical: str, me: dict[str, Any]) -> int:
        if canonical == me["canonical_url"]:
            return int(me["id"])
        row = self.db.execute("SELECT id FROM articles WHERE canonical_url = ?", [canonical])
        return int(row.fetchone()[0])


# What naming the original reads of each copy, in this order.
_COPY_COLUMNS = (
    "id", "canonical_url", "site", "site_name", "source", "original_url", "published",
    "first_seen", "title",
)  # fmt: skip


def _key(c: dict[str, Any]) -> tuple[bool, str, str, int]:
    """The order "earliest published" means: published (undated last), first seen, id."""
    return (c["published"] is None, c["published"] or "", c["first_seen"], c["id"])


def _earliest(copies: list[dict[str, Any]]) -> dict[str, Any]:
    return min(copies, key=_key)


def pick_original(copies: list[dict[str, Any]]) -> dict[str, Any]:
    """The copy that is the original, by the rules in the module docstring.

    ``copies`` in id order: of several copies whose ``original_url`` is archived, the first
    one's target wins.
    """
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


def _standing(copies: list[dict[str, Any]]) -> tuple[int | None, int | None, int]:
    """(link_id, named_id, earliest_id) of a work's copies (in id order): see ``_join``."""
    by_url = {c["canonical_url"] for c in copies}
    link = next(
        (
            int(c["id"])
            for c in copies
            if c["original_url"] and canonicalize(c["original_url"]) in by_url
        ),
        None,
    )
    named_hosts = {host_of(c["original_url"]) for c in copies if c["original_url"]}
    sources = {c["source"] for c in copies if c["source"]}
    named = [
        c
        for c in copies
        if c["site"] in named_hosts or (c["site_name"] and c["site_name"] in sources)
    ]
    return link, int(_earliest(named)["id"]) if named else None, int(_earliest(copies)["id"])


def _facts(copies: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """A work's facts (see ``_join``) from its copies in id order."""
    facts: dict[tuple[str, str], int] = {}
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for c in copies:
        if c["original_url"]:
            facts.setdefault(("link", canonicalize(c["original_url"])), int(c["id"]))
            host = host_of(c["original_url"])
            if host:
                facts.setdefault(("host", host), int(c["id"]))
        if c["source"]:
            facts.setdefault(("source", c["source"]), int(c["id"]))
        for kind, value in (("site", c["site"]), ("name", c["site_name"])):
            if value and ((kind, value) not in best or _key(c) < _key(best[(kind, value)])):
                best[(kind, value)] = c
    facts.update({k: int(c["id"]) for k, c in best.items()})
    return facts
