#!/usr/bin/env python3
"""Dedup at scale: N synthetic articles through fingerprinting and grouping into an archive.

Bodies are Chinese-like text (600-1,500 characters of common characters and 政务 phrases,
in sentences and paragraphs) from a seeded RNG, so a run is reproducible. A share
(``--dup-rate``) are near-duplicate copies of an earlier original: a dropped paragraph, an
added boilerplate line, a few character edits (one or more of these), or, for some, the same
text with only spacing and punctuation changed (an exact copy after normalization).

Text and each body's digest (``dedup.digest``: normalization, fingerprint, MinHash
signature) are made in other processes (``--gen-procs``, default 2), as a crawl's workers
compute the digest beside parsing and hand it to ``Archive.save``; the main process, like a
crawl's one writer, groups and writes. All run at once on the machine's two cores; the wall
time covers them all.

Two modes, both through the archive's own code:

- ``full``: every article through ``Archive.save(page, article, Prepared(digest))``, one
  each, as a crawl saves it (raw page, fetches row, FTS, works).
- ``group``: the dedup path only, ``--batch`` articles per transaction, each in ``save()``'s
  order with the archive's own grouping code: the work found (``Archive._assign_work``: LSH
  band keys stored and looked up, candidates compared) or created, the row written with its
  work and signature, the work refreshed. No raw pages, fetches or FTS.

Afterwards: grouping quality against the generated ground truth
(pairwise precision and recall), the file size after a WAL checkpoint, and the cost of one
more article: ``--extra`` single saves through ``Archive.save()``, each its own transaction,
on the full archive (median, p90 and mean in ms). ``--reopen`` times them again on an
archive a run kept (``--db``), in a fresh process and then with the band index read once.

usage: python bench/dedup.py [--n 1000000] [--dup-rate 0.1] [--db PATH] [--batch 10000]
                            [--mode full|group] [--seed 1] [--extra 50] [--cache-mb MB] [--progress]
                            [--gen-procs 2] [--index-search] [--reopen]
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing as mp
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scraper.archive import (  # noqa: E402
    Archive,
    article_id,
    dedup,
)
from scraper.archive.prepare import Prepared  # noqa: E402
from scraper.models import Article, FetchAttempt, Page  # noqa: E402

# ------------------------------------------------------------------ synthetic text

_COMMON = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下"
    "过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都"
    "两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重"
    "新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想"
    "已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知"
    "较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造"
    "百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清美再采转更单风切打白教"
    "速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温"
    "传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千"
    "周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候"
    "毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁"
    "价严首底液官德随病苏失尔死讲配女黄推显谈罪神艺呢席含企望密批营项防举球英氧势告李台落木帮轮"
    "破亚师围注远字材排供河态封另施减树溶怎止案言士均武固叶鱼波视仅费紧爱左章早朝害续轻服试食充"
    "兵源判护司足某练差致板田降黑犯负击范继兴似余坚曲输修故城夫够送笔船占右财吃富春职觉汉画功巴"
    "跟虽杂飞检吸助升阳互初创抗考投坏策古径换未跑留钢曾端责站简述钱副尽帝射草冲承独令限阿宣环双"
    "请超微让控州良轴找否纪益依优顶础载倒房突坐粉敌略客袁冷胜绝析块剂测丝协诉念陈仍罗盐友洋错苦"
)
_PHRASES = [
    "高质量发展",
    "贯彻落实",
    "习近平新时代中国特色社会主义思想",
    "党的二十大精神",
    "全面从严治党",
    "乡村振兴",
    "营商环境",
    "放管服改革",
    "优化营商环境",
    "人民群众",
    "获得感幸福感安全感",
    "疫情防控",
    "安全生产",
    "生态环境保护",
    "高标准农田",
    "民生实事",
    "基层治理",
    "数字政府",
    "一网通办",
    "最多跑一次",
    "招商引资",
    "重点项目",
    "稳经济",
    "保就业",
    "保市场主体",
    "乡村治理",
    "两学一做",
    "不忘初心牢记使命",
    "主题教育",
    "党风廉政建设",
    "作风建设",
    "形式主义官僚主义",
    "意识形态",
    "统筹发展和安全",
    "新发展理念",
    "新发展格局",
    "双循环",
    "共同富裕",
    "科技创新",
    "产业升级",
    "制造业",
    "现代化产业体系",
    "民营经济",
    "中小企业",
    "减税降费",
    "政务服务",
    "便民服务",
    "社会保障",
    "医疗保障",
    "养老服务",
    "教育优先发展",
    "城乡融合",
    "城市更新",
    "老旧小区改造",
    "河长制",
    "林长制",
    "碳达峰碳中和",
    "污染防治攻坚战",
    "会议强调",
    "会议指出",
    "会议要求",
    "会议认为",
    "会上",
    "与会人员",
    "认真学习",
    "深入开展",
    "扎实推进",
    "切实加强",
    "进一步",
    "不断提升",
    "持续推进",
    "全力以赴",
    "真抓实干",
    "狠抓落实",
    "压实责任",
    "守住底线",
    "各级各部门",
    "市委常委会",
    "市政府常务会议",
    "县委书记",
    "县长",
    "副市长",
    "主持召开",
    "专题会议",
    "调研督导",
    "检查指导",
    "实地察看",
    "听取汇报",
    "工作部署",
    "工作方案",
    "实施意见",
    "通知如下",
    "特此通知",
    "附件",
    "联系人",
    "联系电话",
    "近日",
    "日前",
    "今年以来",
    "截至目前",
    "同比增长",
    "环比增长",
    "百分点",
    "亿元",
    "万元",
    "万人次",
    "个项目",
]
_BOILERPLATE = (
    "来源：市人民政府办公室",
    "本文转载自中国政府网，如有侵权请联系删除。",
    "责任编辑：王小明",
    "【打印本页】【关闭窗口】",
    "扫一扫在手机上查看当前页面",
    "信息来源：县融媒体中心",
)
_SITES = 500


def _vocabulary() -> tuple[list[str], list[float]]:
    """~4,000 words: the phrases and seeded 1-4 character words; Zipf-like weights."""
    rng = random.Random(20240601)
    phrases = sorted(set(_PHRASES))
    rng.shuffle(phrases)
    words = set(phrases)
    made = []
    while len(words) < 4000:
        word = "".join(rng.choices(_COMMON, k=rng.choice((1, 2, 2, 2, 3, 4))))
        if word not in words:
            words.add(word)
            made.append(word)
    # phrases interleaved with made-up words near the top: 政务 phrasing recurs across articles
    ordered = [w for pair in zip(made, phrases, strict=False) for w in pair]
    ordered += made[len(phrases) :]
    weights = [1.0 / (rank + 10) for rank in range(len(ordered))]
    cum, total = [], 0.0
    for w in weights:
        total += w
        cum.append(total)
    return ordered, cum


_WORDS, _CUM = _vocabulary()


_WORD_ARRAY = np.array(_WORDS, dtype=object)
_CUM_ARRAY = np.array(_CUM)
_AVG_CHARS = sum(len(w) for w in _WORDS[:400]) / 400  # the frequent words dominate


def _original_body(index: int, seed: int) -> tuple[str, str, int]:
    """Article ``index``'s original text: (title, body, site), the same for every call.

    Paragraphs of 2-5 sentences of 6-22 Zipf-weighted words, a comma inside each sentence,
    until 600-1,500 characters. Words are drawn in one vectorized step per article (numpy),
    so that making the text costs less than archiving it.
    """
    rng = np.random.Generator(np.random.Philox(key=(seed << 40) | index))  # no SeedSequence
    target = int(rng.integers(600, 1501))
    sentences = int(target / (14 * _AVG_CHARS)) + 8  # enough, with room to spare
    drawn = rng.integers(6, 23, size=sentences)
    lengths = drawn.tolist()
    cuts = ((rng.random(sentences) * (drawn - 3)).astype(int) + 2).tolist()
    per_para = rng.integers(2, 6, size=sentences).tolist()
    picks = np.searchsorted(_CUM_ARRAY, rng.random(int(drawn.sum())) * _CUM[-1])
    words = _WORD_ARRAY[picks].tolist()
    paragraphs: list[str] = []
    length, at, k = 0, 0, 0
    while length < target:
        count = per_para[len(paragraphs) % sentences]
        if k + count > sentences:  # ran out: start over (rare)
            k, at = 0, 0
        parts = []
        for _ in range(count):
            n, cut = lengths[k], cuts[k]
            parts.append(
                "".join(words[at : at + cut]) + "，" + "".join(words[at + cut : at + n]) + "。"
            )
            at += n
            k += 1
        para = "".join(parts)
        paragraphs.append(para)
        length += len(para)
    title = "".join(words[:: max(1, len(words) // int(rng.integers(4, 10)))][:9])
    return title, "\n".join(paragraphs), int(rng.integers(_SITES))


def _copy_body(body: str, rng: random.Random) -> str:
    """A republished copy: one or more of the brief's edits, or (15%) a reformatting only."""
    if rng.random() < 0.15:  # same text, different spacing and punctuation width
        return "\n\n".join("　　" + p.replace("，", ", ") for p in body.split("\n"))
    while True:
        drop, add, edit = (rng.random() < 0.5 for _ in range(3))
        if drop or add or edit:
            break
    paragraphs = body.split("\n")
    if drop and len(paragraphs) >= 4:
        del paragraphs[rng.randrange(len(paragraphs))]
    if add:
        line = rng.choice(_BOILERPLATE)
        if rng.random() < 0.5:
            paragraphs.insert(0, line)
        else:
            paragraphs.append(line)
    text = "\n".join(paragraphs)
    if edit:
        chars = list(text)
        for _ in range(rng.randint(1, 10)):
            pos = rng.randrange(len(chars))
            if chars[pos] not in "，。\n":
                chars[pos] = rng.choice(_COMMON)
        text = "".join(chars)
    return text


def make_plan(n: int, dup_rate: float, seed: int) -> array:
    """For each article, the index of the original it copies (itself if an original)."""
    rng = random.Random(seed)
    source = array("q", [0]) * n
    originals = array("q")
    for i in range(n):
        if originals and rng.random() < dup_rate:
            source[i] = originals[rng.randrange(len(originals))]
        else:
            source[i] = i
            originals.append(i)
    return source


def url_of(index: int, site: int) -> str:
    return f"http://www.site{site}.gov.cn/art/2024/art_{index}.html"


def index_of(url: str) -> int:
    return int(url.rsplit("_", 1)[1].split(".", 1)[0])


def make_article(index: int, src: int, seed: int) -> tuple[str, str, str, str]:
    """(url, title, body, published) of article ``index`` (a copy of ``src`` if different)."""
    title, body, site = _original_body(src, seed)
    rng = random.Random((seed << 40) | (1 << 39) | index)
    if src != index:
        body = _copy_body(body, rng)
        site = (site + 1 + rng.randrange(_SITES - 1)) % _SITES  # another site republishes
    day = 1 + (src * 7 + (index != src) * rng.randint(0, 5)) % 28
    published = f"2024-{1 + src % 12:02d}-{day:02d} 09:00"
    return url_of(index, site), title, body, published


_GEN: dict[str, object] = {}


def _gen_init(source: array, seed: int) -> None:
    _GEN["source"] = source
    _GEN["seed"] = seed


Row = tuple[str, str, str, str, str, bytes]
"""url, title, body, published, fingerprint, signature (its compact stored form: 520 bytes
to pass between processes instead of a tuple of 128 ints)."""


def _gen_batch(bounds: tuple[int, int]) -> list[Row]:
    """Articles ``bounds``, each with its digest, computed here as a crawl's workers do."""
    source = _GEN["source"]
    seed = _GEN["seed"]
    assert isinstance(source, array) and isinstance(seed, int)
    rows = []
    for i in range(*bounds):
        url, title, body, published = make_article(i, source[i], seed)
        fp, sig = dedup.digest(body)
        rows.append((url, title, body, published, fp, dedup.signature_to_bytes(sig)))
    return rows


def batches(source: array, seed: int, batch: int, procs: int) -> Iterator[list[Row]]:
    """Generated articles with their digests, ``batch`` at a time, made by ``procs`` other
    processes ahead of use (at most ``procs + 1`` batches ahead), in order."""
    n = len(source)
    bounds = [(s, min(s + batch, n)) for s in range(0, n, batch)]
    ctx = mp.get_context("fork")
    depth = procs + 1
    with ctx.Pool(procs, initializer=_gen_init, initargs=(source, seed)) as pool:
        ahead = [pool.apply_async(_gen_batch, (b,)) for b in bounds[:depth]]
        for i in range(len(bounds)):
            rows = ahead.pop(0).get()
            if i + depth < len(bounds):
                ahead.append(pool.apply_async(_gen_batch, (bounds[i + depth],)))
            yield rows


# ------------------------------------------------------------------ writing


def page_for(url: str, title: str, body: str, when: str) -> tuple[Page, Article]:
    html = f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"
    html += "".join(f"<p>{p}</p>" for p in body.split("\n")) + "</body></html>"
    content = html.encode("utf-8")
    attempt = FetchAttempt(
        url=url, time=when, status=200, final_url=url, bytes=len(content), encoding="utf-8"
    )
    page = Page(
        url=url,
        final_url=url,
        status=200,
        content=content,
        text=html,
        encoding="utf-8",
        fetched_at=when,
        attempts=(attempt,),
    )
    return page, Article(url=url, canonical_url=url, title=title, body=body)


_INSERT = (
    "INSERT INTO articles (id, url, canonical_url, site, site_name, title, published, source, "
    "body, is_article, content_hash, first_seen, last_seen, last_changed, work_id, signature) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)"
)


PHASES = {"group": 0.0, "insert": 0.0, "commit": 0.0}


def run_group(archive: Archive, rows: Iterable[Row], now: str) -> int:
    """One batch through the grouping path, one transaction, in ``save()``'s order.

    Per article, with the digest the generating process computed (fingerprint and signature
    from one normalization, as a crawl's workers compute them beside parsing): the work found
    or created (``Archive._assign_work``: band keys stored and looked up, exact and
    near-duplicate candidates compared), then the row written with its work and signature, and
    the work it joined refreshed. No raw page, fetches row or FTS entry.
    """
    conn = archive.db.conn
    clock = time.perf_counter
    spent = dict.fromkeys(PHASES, 0.0)
    count = 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        for url, title, body, published, fp, sig_bytes in rows:
            count += 1
            t1 = clock()
            sig = dedup.signature_from_bytes(sig_bytes)
            ident = article_id(url)
            site = url.split("/", 3)[2]
            work, created = archive._assign_work(
                ident, body, fp, None, now, sig, None, (title, published)
            )
            t2 = clock()
            conn.execute(
                _INSERT,
                (ident, url, url, site, site, title, published, None, body, fp, now, now, now,
                 work, sig_bytes),
            )  # fmt: skip
            t3 = clock()
            if not created:
                archive._refresh_work(work, now, ident)
            t4 = clock()
            spent["group"] += (t2 - t1) + (t4 - t3)
            spent["insert"] += t3 - t2
        t5 = clock()
        conn.execute("COMMIT")
        spent["commit"] += clock() - t5
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    for phase, seconds in spent.items():
        PHASES[phase] += seconds
    return count


def run_full(archive: Archive, rows: Iterable[Row], now: str) -> int:
    count = 0
    for url, title, body, _published, fp, sig_bytes in rows:
        page, art = page_for(url, title, body, now)
        archive.save(page, art, Prepared((fp, dedup.signature_from_bytes(sig_bytes))))
        count += 1
    return count


def transactions(chunks: Iterator[list[Row]], chunks_each: int) -> Iterator[Iterator[Row]]:
    """The generated rows, ``chunks_each`` chunks to a transaction, pulled as they are used
    (a transaction of 100,000 articles never holds them all in memory)."""
    while True:
        try:
            first = next(chunks)
        except StopIteration:
            return
        more = itertools.islice(chunks, chunks_each - 1)
        yield itertools.chain(first, itertools.chain.from_iterable(more))


# ------------------------------------------------------------------ measuring


def maxrss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(who).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def pair_count(k: int) -> int:
    return k * (k - 1) // 2


def quality(archive: Archive, source: array) -> dict[str, float]:
    """Works found against the generated truth; pairwise precision/recall of grouping."""
    cells: Counter[tuple[int, int]] = Counter()
    pred: Counter[int] = Counter()
    truth: Counter[int] = Counter()
    for url, work in archive.db.conn.execute("SELECT canonical_url, work_id FROM articles"):
        i = index_of(url)
        if i >= len(source):
            continue  # the extra single saves
        t = int(source[i])
        cells[(t, work)] += 1
        pred[work] += 1
        truth[t] += 1
    tp = sum(pair_count(c) for c in cells.values())
    pp = sum(pair_count(c) for c in pred.values())
    tpairs = sum(pair_count(c) for c in truth.values())
    # a true work is "whole" if all its copies landed in one predicted work alone
    works_of_truth: Counter[int] = Counter(t for t, _ in cells)
    truths_of_work: Counter[int] = Counter(w for _, w in cells)
    whole = sum(
        1 for (t, w), c in cells.items()
        if works_of_truth[t] == 1 and truths_of_work[w] == 1 and c == truth[t]
    )  # fmt: skip
    return {
        "works_found": len(pred),
        "works_true": len(truth),
        "copies_true": sum(1 for i, t in enumerate(source) if i != t),
        "articles": sum(truth.values()),
        "pair_precision": tp / pp if pp else 1.0,
        "pair_recall": tp / tpairs if tpairs else 1.0,
        "true_pairs": tpairs,
        "found_pairs": pp,
        "exact_works": whole,
        "split_works": sum(1 for t in truth if works_of_truth[t] > 1),
        "merged_works": sum(1 for w in pred if truths_of_work[w] > 1),
    }


def one_more(archive: Archive, source: array, seed: int, count: int, start: int = 0) -> list[float]:
    """ms for each of ``count`` single saves through Archive.save() (half near-duplicates),
    of articles numbered from ``len(source) + start`` (new ones each call)."""
    n = len(source)
    rng = random.Random(seed ^ 0x5EED ^ start)
    originals = [i for i in rng.sample(range(n), min(n, 4 * count)) if source[i] == i]
    times = []
    for k in range(count):
        index = n + start + k
        if k % 2 and originals:
            src = originals[k % len(originals)]
            _, body, _ = _original_body(src, seed)
            body = _copy_body(body, random.Random(index))
            title = _original_body(src, seed)[0]
        else:
            title, body, _ = _original_body(index, seed)
        url = url_of(index, rng.randrange(_SITES))
        page, art = page_for(url, title, body, "2026-06-01T00:00:00Z")
        t0 = time.perf_counter()
        archive.save(page, art)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def describe(times: list[float]) -> str:
    srt = sorted(times)
    p90 = srt[min(len(srt) - 1, int(0.9 * len(srt)))]
    return (
        f"median {statistics.median(times):.2f} ms, p90 {p90:.2f} ms, mean "
        f"{statistics.mean(times):.2f} ms, max {srt[-1]:.2f} ms"
    )


def reopen(args: argparse.Namespace) -> int:
    """One more article on an archive built before: in a fresh process, then warm."""
    if args.db is None or not args.db.exists():
        raise SystemExit("--reopen needs --db of an archive that bench/dedup.py built")
    source = make_plan(args.n, args.dup_rate, args.seed)
    archive = Archive.open(args.db)
    if args.cache_mb:
        archive.db.execute(f"PRAGMA cache_size = -{args.cache_mb * 1024}")
    cache_kib = -int(archive.db.execute("PRAGMA cache_size").fetchone()[0])
    articles = archive.count("articles")
    if articles < args.n:
        raise SystemExit(f"{args.db} holds {articles:,} articles, fewer than --n {args.n:,}")
    searchable = archive.db.execute("SELECT count(*) FROM articles_fts_docsize").fetchone()[0]
    size = sum(p.stat().st_size for p in args.db.parent.glob(args.db.name + "*"))
    start = 10_000_000 + articles  # numbers no earlier save used
    print(f"one more article on {args.db}: {articles:,} articles, {searchable:,} in the search "
          f"index, {size / 1e9:.1f} GB; sqlite page cache {cache_kib:,} KiB; "
          f"sqlite {__import__('sqlite3').sqlite_version}")  # fmt: skip
    cold = one_more(archive, source, args.seed, args.extra, start)
    print(f"fresh process (cold)   {describe(cold)} over {len(cold)} saves")
    t0 = time.perf_counter()
    archive.db.execute("SELECT count(*) FROM article_bands").fetchone()
    warm_s = time.perf_counter() - t0
    warm = one_more(archive, source, args.seed, args.extra, start + args.extra)
    print(f"warm                   {describe(warm)} over {len(warm)} saves, after reading the "
          f"band index once ({warm_s:.1f} s)")  # fmt: skip
    archive.close()
    return 0


def signature_cost(source: array, seed: int, sample: int = 2000) -> float:
    """us per article for dedup.digest + band_keys + signature_to_bytes (all the hashing)."""
    bodies = [make_article(i, source[i], seed)[2] for i in range(min(sample, len(source)))]
    t0 = time.perf_counter()
    for body in bodies:
        _fp, sig = dedup.digest(body)
        dedup.band_keys(sig)
        dedup.signature_to_bytes(sig)
    return (time.perf_counter() - t0) / len(bodies) * 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dup-rate", type=float, default=0.1)
    ap.add_argument("--db", type=Path, help="archive path (default: a temporary file)")
    ap.add_argument("--batch", type=int, default=10_000, help="articles per timed batch")
    ap.add_argument("--mode", choices=("full", "group"), default="group")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--extra", type=int, default=50, help="single saves timed at the end")
    ap.add_argument("--keep", action="store_true", help="keep the archive (default with --db)")
    ap.add_argument(
        "--cache-mb",
        type=int,
        default=0,
        help="set PRAGMA cache_size on the archive's connection (0: the archive's default)",
    )
    ap.add_argument("--progress", action="store_true", help="print each batch's time")
    ap.add_argument(
        "--index-search",
        action="store_true",
        help="with --mode group: build the search index over every article before the one-more "
        "saves, so they meet a full index (timed apart)",
    )
    ap.add_argument(
        "--reopen",
        action="store_true",
        help="with --db of an archive an earlier run built (same --n and --seed): build "
        "nothing, time --extra saves in this fresh process (cold page cache), then again "
        "after reading the band index once (warm, as a long crawl's cache holds it)",
    )
    ap.add_argument(
        "--gen-procs",
        type=int,
        default=2,
        help="processes making text and digests beside the archive's (default 2: the generator "
        "alone needs about a core and a half, more than the archive)",
    )
    args = ap.parse_args(argv)
    if args.reopen:
        return reopen(args)

    tmpdir = None
    if args.db is None:
        tmpdir = tempfile.mkdtemp(prefix="dedup-bench-")
        db_path = Path(tmpdir) / "archive.db"
    else:
        db_path = args.db
        if db_path.exists():
            ap.error(f"{db_path} exists: the benchmark needs a new archive")

    t0 = time.perf_counter()
    source = make_plan(args.n, args.dup_rate, args.seed)
    plan_s = time.perf_counter() - t0
    archive = Archive.open(db_path)
    if args.cache_mb:
        archive.db.execute(f"PRAGMA cache_size = -{args.cache_mb * 1024}")
    cache_kib = -int(archive.db.execute("PRAGMA cache_size").fetchone()[0])
    now = "2026-05-01T00:00:00Z"
    step = run_full if args.mode == "full" else run_group

    batch_s: list[float] = []
    batch_cpu: list[float] = []  # CPU of the main process: less sensitive to a busy machine
    done = 0
    wall0 = time.perf_counter()
    cpu0 = time.process_time()
    # Text is made in chunks of at most 10,000 (memory); a transaction spans --batch articles.
    chunk = 10_000 if args.batch % 10_000 == 0 else args.batch
    chunks = batches(source, args.seed, chunk, args.gen_procs)
    for rows in transactions(chunks, args.batch // chunk):
        before = dict(PHASES)
        b0, c0 = time.perf_counter(), time.process_time()
        count = step(archive, rows, now)
        batch_s.append(time.perf_counter() - b0)
        batch_cpu.append(time.process_time() - c0)
        done += count
        if args.progress:
            line = f"  {done:>9,}  batch {batch_s[-1]:7.2f} s (cpu {batch_cpu[-1]:6.2f} s)  "
            line += f"total {sum(batch_s):8.1f} s  rss {maxrss_mb():7.0f} MB"
            if args.mode == "group":
                line += "  " + " ".join(
                    f"{k} {(PHASES[k] - before[k]) / count * 1e6:.0f}" for k in PHASES
                )
                line += " us/article"
            print(line, flush=True)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    archive_s = sum(batch_s)
    peak_main = maxrss_mb()
    peak_gen = maxrss_mb(resource.RUSAGE_CHILDREN)

    archive.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = db_path.stat().st_size
    wal = Path(f"{db_path}-wal")
    wal_size = wal.stat().st_size if wal.exists() else 0

    q = quality(archive, source)
    index_s = None
    if args.index_search and args.mode == "group":
        i0 = time.perf_counter()
        archive.rebuild_search_index()
        index_s = time.perf_counter() - i0
    extra = one_more(archive, source, args.seed, args.extra) if args.extra else []

    n = args.n
    per_batch_ms = [s / args.batch * 1000 for s in batch_s]
    k = max(1, min(5, len(batch_s) // 4))
    early = statistics.mean(per_batch_ms[:k])
    late = statistics.mean(per_batch_ms[-k:]) if len(batch_s) > 1 else early

    what = {
        "full": "Archive.save() per article, one transaction each",
        "group": f"work and row per article as save() does, {args.batch:,} per transaction",
    }[args.mode]
    print(f"dedup at scale, mode={args.mode}: {what}")
    print(f"python {sys.version.split()[0]}, sqlite {__import__('sqlite3').sqlite_version}, "
          f"{os.cpu_count()} CPUs, seed {args.seed}, archive {db_path}")  # fmt: skip
    print(
        f"sqlite page cache      {cache_kib:,} KiB "
        f"({'set by --cache-mb' if args.cache_mb else 'the archive default'})"
    )
    assert q["articles"] == n, f"{q['articles']:,} articles in the archive, expected {n:,}"
    print(f"N                      {n:,} articles ({q['copies_true']:,} near-duplicate copies, "
          f"dup rate {args.dup_rate})")  # fmt: skip
    print(f"seconds (archive)      {archive_s:,.1f} s   [time inside the archive calls]")
    print(f"seconds (wall)         {wall:,.1f} s   [incl. waiting for text generation; "
          f"CPU of main process {cpu:,.1f} s]")  # fmt: skip
    print(f"articles/s             {n / archive_s:,.0f}   ({archive_s / n * 1e6:,.0f} us/article)")
    print(f"per article, early     {early * 1000:,.0f} us (first {k} batches of {args.batch:,})")
    print(f"per article, late      {late * 1000:,.0f} us (last {k} batches of {args.batch:,})")
    cpu_ms = [c / args.batch * 1000 for c in batch_cpu]
    print(
        f"CPU per article        early {statistics.mean(cpu_ms[:k]) * 1000:,.0f} us, late "
        f"{statistics.mean(cpu_ms[-k:]) * 1000:,.0f} us  [main process, time.process_time]"
    )
    if n < 1_000_000:
        est = archive_s / n * 1_000_000
        est_late = late / 1000 * 1_000_000
        print(f"EXTRAPOLATED to 1M     {est / 60:,.1f} min at the mean rate, "
              f"{est_late / 60:,.1f} min at the late rate (linear; not measured)")  # fmt: skip
    print(f"peak memory            {peak_main:,.0f} MB main process, {peak_gen:,.0f} MB text "
          f"generator  [resource.getrusage ru_maxrss]")  # fmt: skip
    print(f"archive size           {size / 1e6:,.1f} MB after wal_checkpoint(TRUNCATE) "
          f"(WAL left: {wal_size:,} bytes)")  # fmt: skip
    print(f"works found            {q['works_found']:,} vs {q['works_true']:,} true works")
    print(f"grouping quality       pairwise precision {q['pair_precision']:.4f}, recall "
          f"{q['pair_recall']:.4f} ({q['found_pairs']:,} grouped pairs, {q['true_pairs']:,} "
          f"true pairs)")  # fmt: skip
    print(f"                       {q['exact_works']:,} works exactly right, "
          f"{q['split_works']:,} true works split, {q['merged_works']:,} found works merging "
          f"two or more true works")  # fmt: skip
    if index_s is not None:
        print(f"search index           built over all {n:,} articles in {index_s:,.1f} s "
              f"(--index-search; not in the seconds above)")  # fmt: skip
    if extra:
        print(f"one more article       {describe(extra)} over {len(extra)} single "
              f"Archive.save() calls on the full archive")  # fmt: skip
    if args.mode == "group":
        sig_us = signature_cost(source, args.seed)
        print(
            "where the time goes     "
            + ", ".join(f"{k} {v:,.1f} s" for k, v in PHASES.items())
            + "  [group = work found or made and refreshed; insert = the articles row]"
        )
        print(
            f"                       hashing, where text is made: digest+bands ~{sig_us:,.0f} us"
            f"/article x {n:,} = {sig_us * n / 1e6:,.1f} s (timed apart on 2,000 bodies)"
        )
    print(f"(plan {plan_s:.1f} s; generation of text runs in a second process)")
    if args.progress or len(batch_s) <= 20:
        print("ms per article by batch: " + " ".join(f"{m:.2f}" for m in per_batch_ms))
    else:
        stride = max(1, len(batch_s) // 20)
        sample = [f"#{i + 1}:{per_batch_ms[i]:.2f}" for i in range(0, len(batch_s), stride)]
        print("ms per article, every {}th batch: {}".format(stride, " ".join(sample)))
    archive.close()
    if tmpdir and not args.keep:
        for f in Path(tmpdir).iterdir():
            f.unlink()
        os.rmdir(tmpdir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
