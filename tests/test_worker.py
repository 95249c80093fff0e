"""The fetching side of a crawl's workers: what a fetching process loads."""

from __future__ import annotations

import json
import subprocess
import sys


def test_a_fetching_process_loads_no_parser_numpy_or_sqlite() -> None:
    # What a spawned fetching process imports to run its target (procs._fetching): the parser,
    # numpy and the archive are a third of a second of CPU that a process that only fetches
    # would pay at every crawl's start.
    code = (
        "import json, sys\n"
        "from scraper.crawl import procs\n"
        "from scraper.crawl.worker import Fetchers, Task, fetch_all\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = set(json.loads(out))
    heavy = {"numpy", "selectolax", "sqlite_utils", "sqlite3", "scraper.parse", "scraper.archive"}
    assert not heavy & loaded
    assert {"httpx", "scraper.fetch"} <= loaded


def test_the_crawl_package_still_gives_its_names() -> None:
    from scraper.crawl import CrawlOptions, crawl, crawl_lock, default_processes

    assert callable(crawl) and callable(crawl_lock) and default_processes() >= 0
    assert CrawlOptions().workers >= 1
