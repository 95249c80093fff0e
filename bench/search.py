#!/usr/bin/env python3
"""Search at scale: query latency on synthetic archives of 100,000 and 1,000,000 articles.

The corpus is seeded and Zipf-shaped, as real text is: a few terms in most articles, most
terms in few. Words of 1-4 characters are drawn from a 200,000-word vocabulary (Zipf weights,
its words built from Zipf-weighted characters; rarer characters only in rarer words), with
government terms placed at chosen ranks (党 in 98% of articles, 党建 in 26%, 纪委书记 in 1.5%,
清廉村居建设 in 0.01%). Bodies are log-normal around 1,000 characters in sentences, titles a
few words, dates spread over ten years (some undated: dated by when first archived), 2,000
sites (Zipf), an archive begun in 2022 whose earlier articles came in a backfill.

The archive is made by ``Archive.open`` (the product's schema and FTS5 settings exactly), then
filled by SQL in big transactions: ``Archive.save`` costs 1-2 ms an article, an hour for a
million. Rows go in the order a crawl archives them (first seen), the index rows in batches
of 4,096 sorted by rowid, as ``SearchIndex`` holds and flushes them, and the index is not
optimized (an archive grows by crawls and never is; ``--optimize`` measures one that is). The
search keys are the product's: ``search_day`` of the dates, numbered in archiving order.
Built archives are kept in ``--dir`` by size, generator version and schema.

Queries are chosen from the corpus by measured document frequency: per term length 1-6,
common (in more than 10% of articles), medium (0.5-2%) and rare (at most 0.05%, at least
one), two-term AND and OR queries, and common terms with ``--site`` (the largest site, and
one of 0.01% of the articles). Each runs in-process through ``Archive.find`` (newest first,
relevance, auto; the first page, then pages at offset 1,000 and 10% of the matches) beside
the query search ran before, BM25 over every match, and through the CLI.

usage: python bench/search.py [--sizes 100000,1000000] [--dir DIR] [--queries-per-class 10]
                              [--cli-runs 5] [--repeat 4] [--procs 2] [--rebuild]
                              [--only-build] [--optimize] [--classes A,B] [--json PATH]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import multiprocessing as mp
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dedup import _COMMON  # noqa: E402

from scraper.archive import Archive, article_id, dedup, textindex  # noqa: E402
from scraper.archive.search import KEY_BITS, search_day, site_match, site_tokens  # noqa: E402
from scraper.models import SearchOrder  # noqa: E402

# Bump when the corpus changes: cached archives of another version are not reused.
GEN_VERSION = 2
SEED = 1
DEFAULT_DIR = ROOT / "bench" / ".cache" / "search"
TARGET_MS = 100.0  # p95, in-process, at a million articles, every class
# The query search ran before: BM25 over every match.
OLD_SQL = (
    "SELECT rowid, bm25(articles_fts, 5.0, 1.0, 1.0) AS r FROM articles_fts "
    "WHERE articles_fts MATCH ? ORDER BY r LIMIT 20"
)
# ... and with --site: every match looked up in articles, the site's kept, then ranked.
OLD_SITE_SQL = (
    "SELECT f.rowid, bm25(articles_fts, 5.0, 1.0, 1.0) AS r FROM articles_fts f "
    "JOIN articles a ON a.search_key = f.rowid "
    "WHERE articles_fts MATCH ? AND (a.site = ? OR a.site_name = ?) ORDER BY r LIMIT 20"
)
PAGE = 20
OFFSET = 1000

# ------------------------------------------------------------------ the corpus

# Characters by frequency: words of the vocabulary's head use these only (bench/dedup.py's).
# Government terms at chosen vocabulary ranks: their document frequencies span 98% to 0.02%.
_GOV_RANKS = {
    "党": 8,
    "发展": 12,
    "工作": 15,
    "建设": 25,
    "推进": 30,
    "落实": 35,
    "改革": 40,
    "群众": 45,
    "干部": 50,
    "高质量发展": 60,
    "监督": 70,
    "贯彻落实": 80,
    "全面从严治党": 90,
    "习近平新时代中国特色社会主义思想": 100,
    "人民群众": 110,
    "党风廉政建设": 120,
    "安全生产": 140,
    "党建": 150,
    "生态环境保护": 160,
    "营商环境": 180,
    "意识形态工作": 200,
    "基层治理": 250,
    "乡村振兴": 400,
    "主题教育": 500,
    "疫情防控": 800,
    "数字政府": 1200,
    "一网通办": 2000,
    "纪委书记": 2500,
    "深化放管服改革优化营商环境": 3000,
    "放管服改革": 3500,
    "优化营商环境": 4000,
    "巡视整改工作": 6000,
    "两学一做": 8000,
    "不忘初心牢记使命": 12000,
    "获得感幸福感安全感": 20000,
    "高标准农田建设": 40000,
    "河长制湖长制": 90000,
    "清廉村居建设": 150000,
}
_VOCABULARY = 200_000
_HEAD = 3000  # words ranked above this use common characters only
_RARE_CHARS = 4000  # other CJK characters, for the rest
_RARE_SHARE = 0.06  # of the characters of a word past the head
_WORD_EXPONENT = 1.05
_BODY_MEDIAN = 1000
_CHARS_PER_WORD = 2.57  # measured: a word drawn by weight averages this many characters
_SITES = 2000
_SYLLABLES = (
    "an bei bin chang cheng chong da de dong du feng fu gan gao guang gui hai han he hu hua huai "
    "hui ji jia jiang jin jing jiu kai lan li lian liao lin long lu luo ma mei nan ning pan ping "
    "pu qian qing quan rui shan shang shao shen sheng shi shu song tai tian tong wan wei wen wu "
    "xi xia xiang xin xing xu ya yan yang yi ying yong yu yuan yue yun zhang zhao zhen zheng zhou "
    "zhu zi zun"
)
_FIRST_DAY = date(2015, 1, 1).toordinal()
_LAST_DAY = date(2025, 6, 30).toordinal()
_ARCHIVE_BEGAN = date(2022, 1, 1).toordinal()  # articles older than it came in a backfill
_BACKFILL_DAYS = 30
_UNDATED = 0.08
_DAY_ONLY = 0.22
_CHINA = timedelta(hours=8)
_EPOCH = date(1970, 1, 1).toordinal()

Words = npt.NDArray[np.object_]


@functools.cache
def vocabulary(seed: int = SEED) -> tuple[Words, npt.NDArray[np.float64]]:
    """The words by rank and their cumulative Zipf weights (made once per process)."""
    rng = np.random.default_rng(seed + 6)
    common = np.array(list(_COMMON))
    known = set(_COMMON)
    others = [chr(c) for c in range(0x4E00, 0x9FA6) if chr(c) not in known]
    rare = np.array(rng.permutation(others)[:_RARE_CHARS])
    common_w = 1.0 / (np.arange(len(common)) + 20.0)
    rare_w = 1.0 / (np.arange(len(rare)) + 10.0)
    tries = _VOCABULARY * 3
    lengths = rng.choice([1, 2, 2, 2, 2, 3, 3, 4], size=tries)
    common_picks = common[rng.choice(len(common), size=tries * 4, p=common_w / common_w.sum())]
    rare_picks = rare[rng.choice(len(rare), size=tries * 4, p=rare_w / rare_w.sum())]
    use_rare = rng.random(tries * 4) < _RARE_SHARE
    words: list[str] = []
    seen = set(_GOV_RANKS)
    at = 0
    for length in lengths.tolist():
        chars = common_picks[at : at + length]
        if len(words) >= _HEAD:
            chars = np.where(use_rare[at : at + length], rare_picks[at : at + length], chars)
        at += length
        word = "".join(chars.tolist())
        if word not in seen:
            seen.add(word)
            words.append(word)
            if len(words) >= _VOCABULARY:
                break
    for word, rank in sorted(_GOV_RANKS.items(), key=lambda item: item[1]):
        words.insert(rank, word)
    weights = 1.0 / (np.arange(len(words)) + 3.0) ** _WORD_EXPONENT
    return np.array(words, dtype=object), np.cumsum(weights)


def article_text(i: int, seed: int = SEED) -> tuple[str, str]:
    """Article ``i``'s title and body: its own random stream, so any process makes the same."""
    words, cum = vocabulary(seed)
    rng = np.random.Generator(np.random.Philox(key=(seed << 40) | i))
    target = float(np.clip(rng.lognormal(np.log(_BODY_MEDIAN), 0.6), 120, 8000))
    count = int(target / _CHARS_PER_WORD) + 4
    drawn: list[str] = words[np.searchsorted(cum, rng.random(count) * cum[-1])].tolist()
    runs = rng.integers(6, 16, size=count // 6 + 2).tolist()
    parts: list[str] = []
    k = j = 0
    while k < count:
        n = runs[j]
        j += 1
        parts.append("".join(drawn[k : k + n]))
        parts.append("。\n" if j % 9 == 0 else "。" if j % 3 == 0 else "，")
        k += n
    body = "".join(parts).rstrip("\n")[:8000]
    title_words = words[np.searchsorted(cum, rng.random(int(rng.integers(4, 10))) * cum[-1])]
    return "".join(title_words.tolist()), body


def sites(seed: int = SEED) -> list[tuple[str, str]]:
    """``_SITES`` sites, most visited first: host (gov.cn portals and a few others) and name."""
    rng = np.random.default_rng(seed + 3)
    syllables = _SYLLABLES.split()
    out: list[tuple[str, str]] = []
    taken: set[str] = set()
    while len(out) < _SITES:
        parts = rng.choice(len(syllables), size=int(rng.integers(2, 4)))
        stem = "".join(syllables[p] for p in parts)
        tail = ("gov.cn", "gov.cn", "gov.cn", "org.cn", "com.cn", "cn")[int(rng.integers(0, 6))]
        host = f"{('www.', '', 'xxgk.', 'news.')[int(rng.integers(0, 4))]}{stem}.{tail}"
        place = "".join(rng.choice(list(_COMMON[:500]), size=2).tolist())
        level = ("省", "市", "市", "县", "区")[int(rng.integers(0, 5))]
        body = ("人民政府", "人民政府办公室", "发展和改革委员会", "纪委监委", "融媒体中心")
        if host not in taken:
            taken.add(host)
            out.append((host, f"{place}{level}{body[int(rng.integers(0, len(body)))]}"))
    return out


@dataclass(frozen=True)
class Corpus:
    """Every article's row but the text (``article_text(i)``), and the archiving order."""

    n: int
    seed: int
    urls: list[str]
    sites: list[str]
    site_names: list[str]
    published: list[str | None]
    first_seen: list[str]
    ids: list[int]
    keys: list[int]
    order: list[int]  # article numbers in the order archived: (first_seen, id)


def _utc(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def corpus(n: int, seed: int = SEED) -> Corpus:
    """The metadata of ``n`` articles, with their search keys as the product assigns them:
    the day by ``search_day``, then the place among that day's articles in archiving order."""
    rng = np.random.default_rng([seed, n])
    span = _LAST_DAY - _FIRST_DAY + 1
    true_day = _FIRST_DAY + np.floor(span * np.sqrt(rng.random(n))).astype(np.int64)
    kind = rng.random(n)
    minute = rng.integers(7 * 60 + 30, 19 * 60, size=n)
    site_w = 1.0 / np.arange(1, _SITES + 1)
    site_of = rng.choice(_SITES, size=n, p=site_w / site_w.sum())
    lag = (rng.exponential(6 * 3600, size=n) + 60).astype(np.int64)
    backfill = rng.integers(0, _BACKFILL_DAYS * 86400, size=n)
    known = sites(seed)
    began = (_ARCHIVE_BEGAN - _EPOCH) * 86400
    urls: list[str] = []
    hosts: list[str] = []
    names: list[str] = []
    published: list[str | None] = []
    first_seen: list[str] = []
    ids: list[int] = []
    seen_at = np.empty(n, dtype=np.int64)
    for i in range(n):
        d = date.fromordinal(int(true_day[i]))
        local = datetime(d.year, d.month, d.day) + timedelta(minutes=int(minute[i]))
        if kind[i] < _UNDATED:
            published.append(None)
        elif kind[i] < _UNDATED + _DAY_ONLY:
            published.append(d.isoformat())
        else:
            published.append(local.strftime("%Y-%m-%dT%H:%M"))
        if true_day[i] < _ARCHIVE_BEGAN + _BACKFILL_DAYS:
            seconds = began + int(backfill[i])
        else:
            seconds = int((local - _CHINA - datetime(1970, 1, 1)).total_seconds()) + int(lag[i])
        seen_at[i] = seconds
        first_seen.append(_utc(seconds))
        host, name = known[int(site_of[i])]
        url = f"https://{host}/art/{d.year}/{d.month}/{d.day}/art_{i}.html"
        urls.append(url)
        hosts.append(host)
        names.append(name)
        ids.append(article_id(url))
    order = np.lexsort((np.array(ids, dtype=np.int64), seen_at))
    days = np.array([search_day(p, s) for p, s in zip(published, first_seen, strict=True)])
    by_day = np.lexsort((np.arange(n), days[order]))  # positions in order, grouped by day
    grouped = days[order][by_day]
    starts = np.r_[0, np.flatnonzero(np.diff(grouped)) + 1]
    seq_sorted = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    seq = np.empty(n, dtype=np.int64)
    seq[order[by_day]] = seq_sorted
    keys = (days.astype(np.int64) << KEY_BITS) | seq
    return Corpus(
        n, seed, urls, hosts, names, published, first_seen, ids, keys.tolist(), order.tolist()
    )


# ------------------------------------------------------------------ building the archive

Texts = tuple[str, str, str, str, str]  # title, body, their index texts, content hash


def _texts(chunk: Sequence[int], seed: int) -> list[Texts]:
    """What a generating process hands the writer for these articles."""
    out: list[Texts] = []
    for i in chunk:
        title, body = article_text(i, seed)
        out.append(
            (
                title,
                body,
                textindex.index_text(title),
                textindex.index_text(body),
                dedup.fingerprint(body),
            )
        )
    return out


@functools.cache
def schema_tag() -> str:
    """A short hash of the product's schema (a fresh archive's), naming cached archives."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "a.db"
        Archive.open(path).close()
        conn = sqlite3.connect(path)
        rows = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.close()
    return hashlib.sha256(repr((version, rows)).encode()).hexdigest()[:8]


def archive_path(folder: Path, n: int, optimized: bool = False) -> Path:
    suffix = "-opt" if optimized else ""
    return folder / f"search-{n}-g{GEN_VERSION}-s{schema_tag()}{suffix}.db"


_FTS_BATCH = 4096  # as SearchIndex holds back its writes
_COMMIT_EVERY = 16 * _FTS_BATCH
_ARTICLE_COLUMNS = (
    "id, url, canonical_url, site, site_name, title, published, body, is_article, content_hash, "
    "first_seen, last_seen, last_changed, search_key"
)


def _generated(n: int, order: list[int], seed: int, procs: int) -> Iterator[Texts]:
    """The texts of the articles in archiving order, made by ``procs`` processes (0: here)."""
    chunks = [order[s : s + 256] for s in range(0, n, 256)]
    make = functools.partial(_texts, seed=seed)
    if procs == 0:
        for chunk in chunks:
            yield from make(chunk)
        return
    with mp.get_context("fork").Pool(procs) as pool:
        # A few chunks ahead, no more: the writer is the slower, and ``imap`` would hold
        # every article made before it is written (gigabytes at a million).
        ahead: deque[AsyncResult[list[Texts]]] = deque()
        for chunk in chunks:
            ahead.append(pool.apply_async(make, (chunk,)))
            if len(ahead) > 4 * procs:
                yield from ahead.popleft().get()
        while ahead:
            yield from ahead.popleft().get()


def _index_row(columns: list[str], texts: dict[str, str]) -> list[str]:
    """An index row in the table's column order; a column the bench does not know stops it
    (the product writes something there that these figures would leave out)."""
    unknown = set(columns) - set(texts)
    if unknown:
        raise SystemExit(f"articles_fts has columns the bench does not fill: {sorted(unknown)}")
    return [texts[c] for c in columns]


def build(
    path: Path, n: int, *, seed: int = SEED, procs: int = 2, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Make the archive of ``n`` articles at ``path``; what it took (also kept beside it)."""
    started = time.perf_counter()
    tmp = path.with_name(path.name + ".building")
    for old in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        old.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    Archive.open(tmp).close()  # the product's schema and index settings
    meta = corpus(n, seed)
    conn = sqlite3.connect(tmp, isolation_level=None)
    conn.execute("PRAGMA journal_mode = OFF")  # a failed build is started again
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -2000000")
    # The articles indexes are made after the rows (the same SQL): faster than kept up.
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'articles' "
        "AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX [{name}]")
    columns = [d[0] for d in conn.execute("SELECT * FROM articles_fts LIMIT 0").description]
    insert_fts = (
        f"INSERT INTO articles_fts (rowid, {', '.join(columns)}) "
        f"VALUES ({', '.join('?' * (len(columns) + 1))})"
    )
    insert_row = (
        f"INSERT INTO articles ({_ARTICLE_COLUMNS}) "
        f"VALUES ({', '.join('?' * len(_ARTICLE_COLUMNS.split(',')))})"
    )
    rows: list[tuple[Any, ...]] = []
    index_rows: list[tuple[Any, ...]] = []
    done = 0
    conn.execute("BEGIN")
    for position, made in enumerate(_generated(n, meta.order, seed, procs)):
        i = meta.order[position]
        title, body, title_index, body_index, fingerprint = made
        url, seen, key = meta.urls[i], meta.first_seen[i], meta.keys[i]
        site, name = meta.sites[i], meta.site_names[i]
        row = (meta.ids[i], url, url, site, name, title, meta.published[i], body)
        rows.append((*row, 1, fingerprint, seen, seen, seen, key))
        texts = {
            "title": title_index,
            "body": body_index,
            "attachments": "",  # none fetched
            "site": site_tokens(site, name),
        }
        index_rows.append((key, *_index_row(columns, texts)))
        if len(rows) == _FTS_BATCH or position == n - 1:
            conn.executemany(insert_row, rows)
            conn.executemany(insert_fts, sorted(index_rows))
            done += len(rows)
            rows, index_rows = [], []
            if done % _COMMIT_EVERY == 0 or done == n:
                conn.execute("COMMIT")
                if done < n:
                    conn.execute("BEGIN")
            if done * 10 // n > (done - _FTS_BATCH) * 10 // n or done == n:
                log(f"  {done:,} articles, {time.perf_counter() - started:.0f} s")
    loaded = time.perf_counter() - started
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute("PRAGMA journal_mode = WAL")
    shape = _shape(conn)
    conn.close()
    tmp.rename(path)
    stats = {
        "articles": n,
        "seconds": round(time.perf_counter() - started, 1),
        "load_seconds": round(loaded, 1),
        "bytes": path.stat().st_size,
        **shape,
        "optimized": False,
        "generator": GEN_VERSION,
    }
    _stats_path(path).write_text(json.dumps(stats))
    return stats


def optimize(plain: Path, path: Path) -> dict[str, Any]:
    """A copy of the archive at ``plain`` with its index merged into one segment."""
    stats = dict(json.loads(_stats_path(plain).read_text()))
    tmp = path.with_name(path.name + ".building")
    shutil.copyfile(plain, tmp)
    started = time.perf_counter()
    conn = sqlite3.connect(tmp, isolation_level=None)
    conn.execute("INSERT INTO articles_fts (articles_fts) VALUES ('optimize')")
    stats["optimize_seconds"] = round(time.perf_counter() - started, 1)
    stats.update(optimized=True, **_shape(conn))
    conn.close()
    tmp.rename(path)
    stats["bytes"] = path.stat().st_size
    _stats_path(path).write_text(json.dumps(stats))
    return stats


def _shape(conn: sqlite3.Connection) -> dict[str, int]:
    """The index's segments, and the free pages in the file (the merged-away segments')."""
    segments = conn.execute("SELECT count(DISTINCT segid) FROM articles_fts_idx").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    return {"segments": int(segments), "free_bytes": int(free) * int(page)}


def _stats_path(path: Path) -> Path:
    return path.with_name(path.name + ".build.json")


def _build_child(plain: Path, optimized: Path | None, n: int, seed: int, procs: int) -> None:
    if not plain.exists() or not _stats_path(plain).exists():
        build(plain, n, seed=seed, procs=procs)
    if optimized is not None:
        optimize(plain, optimized)


def ensure_archive(
    folder: Path, n: int, *, seed: int, procs: int, rebuild: bool, optimized: bool
) -> tuple[Path, dict[str, Any], bool]:
    """The cached archive of ``n`` articles, built first (in a child process, so that this
    one's memory is the querying's alone) when missing; its build figures; whether built."""
    plain = archive_path(folder, n)
    path = archive_path(folder, n, optimized)
    if rebuild:
        for old in (plain, _stats_path(plain), path, _stats_path(path)):
            old.unlink(missing_ok=True)
        for old in folder.glob(f"{path.name}.queries-*.json"):
            old.unlink()
    built = not (path.exists() and _stats_path(path).exists())
    if built:
        print(f"building {path} ({n:,} articles)", flush=True)
        child = mp.get_context("fork").Process(
            target=_build_child, args=(plain, path if optimized else None, n, seed, procs)
        )
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit(f"building {path} failed (exit {child.exitcode})")
    return path, json.loads(_stats_path(path).read_text()), built


# ------------------------------------------------------------------ choosing queries

COMMON, MEDIUM, RARE = "common", "medium", "rare"
_BOUNDS = {COMMON: (0.10, 1.0), MEDIUM: (0.005, 0.02), RARE: (0.0, 0.0005)}
_SAMPLE = 4000
QUERY_VERSION = 2  # bump when the choice changes: chosen queries are kept beside the archive


@dataclass
class QueryClass:
    """Queries alike in length and document frequency, with their exact match counts."""

    name: str
    queries: list[str] = field(default_factory=list)
    matches: list[int] = field(default_factory=list)
    site: str | None = None  # searched with --site


def count_matches(conn: sqlite3.Connection, query: str, site: str | None = None) -> int:
    expr = textindex.match_query(query)
    if site:
        expr = f"({expr}) AND {site_match(site)}"
    sql = "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?"
    return int(conn.execute(sql, [expr]).fetchone()[0])


def _fits(kind: str, matches: int, n: int) -> bool:
    low, high = _BOUNDS[kind]
    if kind == RARE:
        return 0 < matches <= max(1, high * n)
    return low * n <= matches <= high * n


def _candidates(n: int, seed: int) -> dict[int, list[tuple[str, float]]]:
    """Terms of each length 1-6 with their document frequency in a sample of the corpus."""
    rng = np.random.default_rng(seed + 11)
    count = min(n, _SAMPLE)
    sample = sorted(rng.choice(n, size=count, replace=False).tolist())
    texts = ["\n".join(article_text(i, seed)) for i in sample]
    words, _ = vocabulary(seed)
    chars: Counter[str] = Counter()
    for text in texts:
        chars.update(c for c in set(text) if textindex.tokens(c))
    out: dict[int, list[tuple[str, float]]] = {1: [(c, k / count) for c, k in chars.items()]}
    ranks = np.unique(np.geomspace(1, len(words) - 1, 600).astype(int))
    for length in range(2, 7):
        terms: set[str] = set()
        for term in _GOV_RANKS:
            terms.update(term[s : s + length] for s in range(len(term) - length + 1))
        terms.update(w for w in words[ranks].tolist() if len(w) == length)
        for text in rng.choice(texts, size=200).tolist():
            start = int(rng.integers(0, max(1, len(text) - length)))
            piece = text[start : start + length]
            # as many tokens as characters: all of them CJK, in one run
            if len(piece) == length and len(textindex.tokens(piece)) == length:
                terms.add(piece)
        out[length] = [(t, sum(t in text for text in texts) / count) for t in sorted(terms)]
    return out


def _pick(
    conn: sqlite3.Connection,
    found: list[tuple[str, float]],
    kind: str,
    n: int,
    wanted: int,
    rng: np.random.Generator,
) -> QueryClass:
    """Up to ``wanted`` terms of the class, spread over its sampled frequencies, each checked
    against its exact count in the archive."""
    low, high = _BOUNDS[kind]
    if kind == RARE:
        pool = [t for t, f in found if f * min(n, _SAMPLE) <= 1]
        pool = [pool[k] for k in rng.permutation(len(pool)).tolist()]
    else:
        pool = [t for t, f in sorted(found, key=lambda x: (x[1], x[0])) if low <= f <= high]
        if len(pool) > wanted:  # evenly spaced, then the rest in that order
            spread = np.linspace(0, len(pool) - 1, wanted).astype(int).tolist()
            pool = [pool[k] for k in spread] + [t for k, t in enumerate(pool) if k not in spread]
    chosen = QueryClass("")
    for term in pool[: wanted * 6]:
        matches = count_matches(conn, term)
        if _fits(kind, matches, n):
            chosen.queries.append(term)
            chosen.matches.append(matches)
            if len(chosen.queries) == wanted:
                break
    return chosen


def _site_classes(conn: sqlite3.Connection, n: int, common: list[str]) -> list[QueryClass]:
    """Common terms on the site with the most articles, and on one with about 0.01% of them
    (``--site``: one more term of the index, intersected in date order)."""
    counts = conn.execute(
        "SELECT site, count(*) FROM articles GROUP BY site ORDER BY count(*) DESC, site"
    ).fetchall()
    small = min(counts, key=lambda sc: (abs(sc[1] - max(1, n // 10_000)), sc[0]))[0]
    out = []
    for label, site in (("the largest site", counts[0][0]), ("a small site", small)):
        share = _pct(dict(counts)[site], n)
        chosen = QueryClass(f"1-2 chars common, on {label} ({share})", site=site)
        for query in common:
            chosen.queries.append(query)
            chosen.matches.append(count_matches(conn, query, site))
        out.append(chosen)
    return out


def _queries_path(path: Path, wanted: int) -> Path:
    return path.with_name(f"{path.name}.queries-v{QUERY_VERSION}-{wanted}.json")


def choose_queries(path: Path, n: int, wanted: int, seed: int = SEED) -> list[QueryClass]:
    """The query classes for the archive at ``path`` (kept beside it: counting is slow)."""
    cached = _queries_path(path, wanted)
    if cached.exists():
        return [QueryClass(**c) for c in json.loads(cached.read_text())]
    rng = np.random.default_rng(seed + 12)
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    found = _candidates(n, seed)
    singles: dict[tuple[int, str], QueryClass] = {}
    for length in range(1, 7):
        for kind in (COMMON, MEDIUM, RARE):
            chosen = _pick(conn, found[length], kind, n, wanted, rng)
            chosen.name = f"{length} char{'s' if length > 1 else ''} {kind}"
            singles[length, kind] = chosen
    classes = list(singles.values())

    def terms(kind: str, lengths: Sequence[int]) -> list[str]:
        return [q for length in lengths for q in singles[length, kind].queries]

    common, medium, rare = terms(COMMON, (2, 3, 4)), terms(MEDIUM, (2, 3, 4)), terms(RARE, (2, 3))
    pairs = {
        "AND common+common": [(a, b) for a, b in zip(common, common[7:], strict=False)],
        "AND common+medium": [("党建", "纪委"), *zip(common, medium, strict=False)],
        "AND common+rare": list(zip(common, rare, strict=False)),
        "OR common|medium": [("党建", "纪委"), *zip(common, medium, strict=False)],
        "OR rare|rare": list(zip(rare, rare[5:], strict=False)),
    }
    for name, made in pairs.items():
        chosen = QueryClass(name)
        join = " OR " if name.startswith("OR") else " "
        for a, b in made:
            query = f"{a}{join}{b}"
            if a in b or b in a or query in chosen.queries:
                continue
            matches = count_matches(conn, query)
            if matches:
                chosen.queries.append(query)
                chosen.matches.append(matches)
            if len(chosen.queries) == wanted:
                break
        classes.append(chosen)
    classes += _site_classes(conn, n, terms(COMMON, (1, 2))[:wanted])
    conn.close()
    classes = [c for c in classes if c.queries]
    cached.write_text(json.dumps([asdict(c) for c in classes], ensure_ascii=False))
    return classes


# ------------------------------------------------------------------ measuring

MODES = (SearchOrder.DATE, SearchOrder.RELEVANCE, SearchOrder.AUTO)


def summary(times: Sequence[float]) -> dict[str, float] | None:
    """Median and 95th percentile (ms) of some timings; None when there are none."""
    if not times:
        return None
    return {
        "p50": round(float(np.percentile(times, 50)), 2),
        "p95": round(float(np.percentile(times, 95)), 2),
        "n": len(times),
    }


@dataclass
class Timings:
    """One kind of timing of one class: the first run of each query, and the runs after."""

    first: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)

    def add(self, rep: int, ms: float) -> None:
        (self.first if rep == 0 else self.warm).append(ms)

    def result(self) -> dict[str, Any]:
        return {
            "warm": summary(self.warm or self.first),
            "first": summary(self.first),
            "first_ms": [round(t, 2) for t in self.first],
        }


def measure_class(
    archive: Archive, cls: QueryClass, repeat: int, old_budget_s: float = 3.0
) -> dict[str, Any]:
    """In-process timings of a class: each query in each order, paged, and the old way."""
    timings: dict[str, Timings] = {}
    resolved: Counter[str] = Counter()

    def timed(name: str, rep: int, query: str, order: SearchOrder, offset: int = 0) -> None:
        started = time.perf_counter()
        found = archive.find(query, site=cls.site, limit=PAGE, offset=offset, order=order)
        timings.setdefault(name, Timings()).add(rep, (time.perf_counter() - started) * 1000)
        if name == "auto" and rep == 0:
            resolved[str(found.order)] += 1

    for rep in range(repeat):
        for query, matches in zip(cls.queries, cls.matches, strict=True):
            for mode in MODES:
                timed(str(mode), rep, query, mode)
            pages = [
                ("date@1000", SearchOrder.DATE, OFFSET),
                ("relevance@1000", SearchOrder.RELEVANCE, OFFSET),
                ("auto@1000", SearchOrder.AUTO, OFFSET),
                ("date@10%", SearchOrder.DATE, max(OFFSET, matches // 10)),
            ]
            for name, mode, offset in pages:
                if matches >= offset + PAGE:
                    timed(name, rep, query, mode, offset)
    old = Timings()
    for query in cls.queries:  # BM25 over every match: repeated while cheap
        sql, args = (
            (OLD_SITE_SQL, [textindex.match_query(query), cls.site, cls.site])
            if cls.site
            else (OLD_SQL, [textindex.match_query(query)])
        )
        spent = 0.0
        for rep in range(repeat):
            started = time.perf_counter()
            archive.db.conn.execute(sql, args).fetchall()
            ms = (time.perf_counter() - started) * 1000
            old.add(rep, ms)
            spent += ms / 1000
            if spent > old_budget_s:
                break
    timings["old"] = old
    return {
        "timings": {name: t.result() for name, t in timings.items()},
        "auto_resolved": dict(resolved),
    }


def _archiver() -> list[str]:
    exe = Path(sys.executable).with_name("archiver")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "scraper"]


def _wall(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=False)
    ms = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode()[-500:]}")
    return ms


def measure_cli(path: Path, cls: QueryClass, runs: int) -> dict[str, float] | None:
    """Wall time of ``archiver search Q --db PATH`` (the default order), the class's queries
    in turn."""
    site = ["--site", cls.site] if cls.site else []
    times = [
        _wall([*_archiver(), "search", cls.queries[k % len(cls.queries)], "--db", str(path), *site])
        for k in range(runs)
    ]
    return summary(times)


def cli_floor(runs: int) -> dict[str, Any]:
    """What any command costs before it searches: the interpreter, then the CLI's imports."""
    return {
        "python -c pass": summary([_wall([sys.executable, "-c", "pass"]) for _ in range(runs)]),
        "archiver --help": summary([_wall([*_archiver(), "--help"]) for _ in range(runs)]),
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------ printing


def _pct(matches: int, n: int) -> str:
    share = 100 * matches / n
    return f"{share:.0f}%" if share >= 10 else f"{share:.2g}%"


def _cell(result: dict[str, Any] | None, mark: bool = True) -> str:
    if not result:
        return "-"
    cell = f"{result['p50']:.3g}/{result['p95']:.3g}"
    if mark:
        cell += " ok" if result["p95"] < TARGET_MS else " SLOW"
    return cell


def _ratio(new: dict[str, Any] | None, old: dict[str, Any] | None) -> str:
    if not new or not old or not old["p50"]:
        return "-"
    return f"{new['p50'] / old['p50']:.2g}"


def table(runs: list[dict[str, Any]]) -> str:
    """The first-page table and the paging table, one row per size and class."""
    head = (
        "size", "class", "df range", "date", "relevance", "auto", "old bm25", "rel/old",
        "auto/old", "auto->", "CLI",
    )  # fmt: skip
    rows: list[tuple[str, ...]] = [head]
    paging: list[tuple[str, ...]] = [
        ("size", "class", "matches", "date@1000", "date@10%", "relevance@1000", "auto@1000")
    ]
    for run in runs:
        n = run["articles"]
        for cls in run["classes"]:
            t = {k: v["warm"] for k, v in cls["timings"].items()}
            low, high = min(cls["matches"]), max(cls["matches"])
            resolved = cls["auto_resolved"]
            auto_to = "/".join(f"{k[:3]} {v}" for k, v in sorted(resolved.items()))
            rows.append(
                (
                    f"{n:,}",
                    cls["name"],
                    f"{_pct(low, n)}-{_pct(high, n)}",
                    _cell(t.get("date")),
                    _cell(t.get("relevance")),
                    _cell(t.get("auto")),
                    _cell(t.get("old")),
                    _ratio(t.get("relevance"), t.get("old")),
                    _ratio(t.get("auto"), t.get("old")),
                    auto_to,
                    _cell(cls["cli"], mark=False),
                )
            )
            paging.append(
                (
                    f"{n:,}",
                    cls["name"],
                    f"{low:,}-{high:,}",
                    _cell(t.get("date@1000")),
                    _cell(t.get("date@10%")),
                    _cell(t.get("relevance@1000")),
                    _cell(t.get("auto@1000")),
                )
            )
    return "\n\n".join(
        [
            _format(rows),
            "pages past the first (offset 1,000; 10% of the matches):\n" + _format(paging),
            "first run of each query (cold-ish), every class together, ms p50/p95:\n"
            + _format(_first_runs(runs)),
            "\n".join(_verdicts(runs)),
        ]
    )


def _first_runs(runs: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    names = ("date", "relevance", "auto", "old")
    rows: list[tuple[str, ...]] = [("size", *names)]
    for run in runs:
        pooled = {
            name: [t for c in run["classes"] for t in c["timings"][name]["first_ms"]]
            for name in names
        }
        rows.append((f"{run['articles']:,}", *(_cell(summary(pooled[k])) for k in names)))
    return rows


def _verdicts(runs: list[dict[str, Any]]) -> Iterator[str]:
    """Per size: how many first-page cells meet the target, and the slowest of each order."""
    for run in runs:
        for name in ("date", "relevance", "auto", "old"):
            cells = [(c["timings"][name]["warm"], c["name"]) for c in run["classes"]]
            met = sum(1 for t, _ in cells if t and t["p95"] < TARGET_MS)
            worst, where = max(cells, key=lambda tc: tc[0]["p95"] if tc[0] else 0.0)
            yield (
                f"{run['articles']:,} {name}: p95 < {TARGET_MS:.0f} ms in {met} of {len(cells)} "
                f"classes; slowest p95 {worst['p95'] if worst else 0:.3g} ms ({where})"
            )


def _format(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


# ------------------------------------------------------------------ main


def _sizes(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        scale = {"k": 1000, "m": 1_000_000}.get(part[-1:], 1)
        out.append(int(part.rstrip("km")) * scale)
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", type=_sizes, default=[100_000, 1_000_000])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--queries-per-class", type=int, default=10)
    parser.add_argument("--cli-runs", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=4, help="runs per query (first: cold)")
    parser.add_argument("--procs", type=int, default=2, help="processes making text")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--only-build", action="store_true")
    parser.add_argument("--optimize", action="store_true", help="measure optimized indexes")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument(
        "--classes", help="only the query classes whose names hold one of these (a,b,...)"
    )
    args = parser.parse_args(argv)

    results: dict[str, Any] = {"command": sys.argv if argv is None else ["search.py", *argv]}
    results["sqlite"] = sqlite3.sqlite_version
    runs = []
    for n in args.sizes:
        path, stats, built = ensure_archive(
            args.dir,
            n,
            seed=args.seed,
            procs=args.procs,
            rebuild=args.rebuild,
            optimized=args.optimize,
        )
        print(
            f"{n:,} articles: {path} ({'built' if built else 'cached'}; build "
            f"{stats['seconds']:.0f} s, {stats['bytes'] / 1e9:.2f} GB, "
            f"{stats['segments']} index segments"
            + (f", optimize {stats['optimize_seconds']:.0f} s" if stats["optimized"] else "")
            + ")",
            flush=True,
        )
        if args.only_build:
            runs.append({"articles": n, "path": str(path), "build": stats, "classes": []})
            continue
        started = time.perf_counter()
        classes = choose_queries(path, n, args.queries_per_class, args.seed)
        if args.classes:
            wanted = args.classes.split(",")
            classes = [c for c in classes if any(w in c.name for w in wanted)]
        print(f"  queries chosen in {time.perf_counter() - started:.0f} s", flush=True)
        measured = []
        with Archive.open(path, readonly=True) as archive:
            for cls in classes:
                low, high = min(cls.matches), max(cls.matches)
                print(
                    f"  {cls.name}: {len(cls.queries)} queries, {low:,}-{high:,} matches "
                    f"({_pct(low, n)}-{_pct(high, n)}), e.g. {cls.queries[0]}",
                    flush=True,
                )
                found = measure_class(archive, cls, args.repeat)
                found.update(asdict(cls))
                measured.append(found)
        for found in measured:
            cls = QueryClass(found["name"], found["queries"], found["matches"], found["site"])
            found["cli"] = measure_cli(path, cls, args.cli_runs) if args.cli_runs else None
        runs.append({"articles": n, "path": str(path), "build": stats, "classes": measured})
    results["runs"] = runs
    if not args.only_build:
        results["cli_floor"] = cli_floor(max(1, args.cli_runs))
        results["peak_rss_mb"] = round(peak_rss_mb(), 1)
        text = table(runs)
        print()
        print(
            "first page (20 hits), in-process ms p50/p95 over the class's queries (runs after "
            f"the first); ok: p95 < {TARGET_MS:.0f} ms. old bm25: BM25 over every match (the "
            "search before); rel/old, auto/old: ratio of medians; auto->: the order auto "
            "chose; CLI: archiver search Q --db PATH, wall ms p50/p95"
        )
        print(text)
        floor = results["cli_floor"]
        print(
            "\nCLI floor: " + ", ".join(f"{k} {_cell(v, mark=False)} ms" for k, v in floor.items())
        )
        print(f"peak RSS of the querying process: {results['peak_rss_mb']:.0f} MB")
        results["table"] = text
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1))
    return results


if __name__ == "__main__":
    main()
