#!/usr/bin/env python3
"""One notice republished by thousands of portals: the cost of each copy joining its work.

Saves ``--copies`` copies of one central notice into one archive through ``Archive.save()``
(raw page, fetches row, search index, work), each its own transaction, as a crawl's writer
would at a commit per page. Every copy is on a portal of its own; most carry the text as
published (an exact duplicate), every third one a leftover line of boilerplate (a near
duplicate, found through the band index); their 来源 names the origin, some give the
原文链接, publish times vary. The copy at the original link is archived half-way, so the work's
original changes once on the way.

Prints the mean and median milliseconds per save over the ``--window`` saves before each
checkpoint (default 100, 1000, 5000 copies in the work), then checks that every copy is in
one work and that the original named is the one ``pick_original`` names over all copies.

usage: python bench/works.py [--copies 5000] [--checkpoints 100,1000,5000] [--window 50]
                             [--db PATH]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scraper.archive import Archive  # noqa: E402
from scraper.archive.works import pick_original  # noqa: E402
from scraper.models import Article, FetchAttempt, Page  # noqa: E402

NOTICE = "\n".join(
    [
        "国务院办公厅关于进一步优化营商环境降低市场主体制度性交易成本的意见",
        "各省、自治区、直辖市人民政府，国务院各部委、各直属机构：",
        "优化营商环境、降低制度性交易成本是减轻市场主体负担、激发市场活力的重要举措。"
        "近年来，各地区各部门认真贯彻落实党中央、国务院决策部署，推动营商环境持续改善，"
        "但仍存在一些薄弱环节，市场主体反映的堵点难点问题仍然不少。",
        "一、进一步破除隐性门槛，推动降低市场主体准入成本。全面实施市场准入负面清单管理，"
        "清理违规设置的准入许可，不得额外对市场主体设置限制条件。",
        "二、进一步规范涉企收费，推动减轻市场主体经营负担。严格规范政府收费和罚款，"
        "推动规范市场收费，依法查处乱收费、乱罚款、乱摊派行为。",
        "三、进一步优化涉企服务，推动降低市场主体办事成本。全面提升政务服务效能，"
        "推行涉企事项一网通办，推动更多事项跨省通办。",
        "四、进一步加强公正监管，切实保护市场主体合法权益。创新和完善信用监管，"
        "规范执法行为，防止一刀切式执法。",
        "各地区各部门要高度重视，切实抓好本意见贯彻落实工作。",
    ]
)
ORIGIN = "https://www.gov.cn/zhengce/content/2022-09/15/content_5709861.htm"


def copy_of(i: int) -> tuple[Page, Article]:
    """The i-th portal's copy (0 is the first saved)."""
    url = f"https://www.portal{i}.gov.cn/art/2022/9/15/art_{i}.html"
    body = NOTICE if i % 3 else NOTICE + "\n【我要纠错】 责任编辑：张三"
    when = f"2022-09-15T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z"
    article = Article(
        url=url,
        canonical_url=url,
        site_name=f"第{i}市人民政府",
        title="国务院办公厅关于进一步优化营商环境降低市场主体制度性交易成本的意见",
        published=f"2022-09-{15 + i % 5:02d}",
        source="中国政府网" if i % 4 else f"第{i}市人民政府办公室",
        original_url=ORIGIN if i % 5 == 0 else None,
        body=body,
    )
    return _page(url, body, when), article


def origin_copy(when: str) -> tuple[Page, Article]:
    article = Article(
        url=ORIGIN,
        canonical_url=ORIGIN,
        site_name="中国政府网",
        title="国务院办公厅关于进一步优化营商环境降低市场主体制度性交易成本的意见",
        published="2022-09-15",
        source="中国政府网",
        body=NOTICE,
    )
    return _page(ORIGIN, NOTICE, when), article


def _page(url: str, body: str, when: str) -> Page:
    content = f"<html><body><p>{body}</p></body></html>".encode()
    attempt = FetchAttempt(url=url, time=when, status=200, final_url=url, bytes=len(content))
    return Page(
        url=url,
        final_url=url,
        status=200,
        content=content,
        text="",
        encoding="utf-8",
        fetched_at=when,
        attempts=(attempt,),
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--copies", type=int, default=5000)
    ap.add_argument("--checkpoints", default="100,1000,5000")
    ap.add_argument("--window", type=int, default=50, help="saves timed before each checkpoint")
    ap.add_argument("--db", type=Path, help="archive path (default: a temporary file)")
    args = ap.parse_args(argv)
    checkpoints = sorted(int(c) for c in args.checkpoints.split(",") if int(c) <= args.copies)
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "archive.db"
        times: list[float] = []
        with Archive.open(db) as archive:
            for i in range(args.copies):
                if i == args.copies // 2:
                    archive.save(*origin_copy("2022-09-15T00:00:00Z"))
                page, article = copy_of(i)
                start = time.perf_counter()
                archive.save(page, article)
                times.append((time.perf_counter() - start) * 1000)
            print(f"{args.copies} copies of one notice saved into one archive, one by one")
            print("copies in work   mean ms/save   median ms/save   (the saves before it)")
            for n in checkpoints:
                window = times[max(0, n - args.window) : n]
                print(f"{n:>14}   {statistics.mean(window):>12.3f}   "
                      f"{statistics.median(window):>14.3f}")  # fmt: skip
            works = archive.db.execute("SELECT id, original_id, copies FROM works").fetchall()
            cols = "id, canonical_url, site, site_name, source, original_url, published, "
            cols += "first_seen, title"
            copies = [
                dict(zip(cols.split(", "), row, strict=True))
                for row in archive.db.execute(f"SELECT {cols} FROM articles ORDER BY id")
            ]
            expected = pick_original(copies)["id"]
            same = "the same as" if works[0][1] == expected else "NOT"
            print(f"works: {len(works)}; copies in it: {works[0][2]}; original is {same} "
                  "a full recompute's")  # fmt: skip
            return 0 if len(works) == 1 and works[0][1] == expected else 1


if __name__ == "__main__":
    sys.exit(main())
