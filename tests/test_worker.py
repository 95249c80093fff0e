"""The fetching side of a crawl's workers: what a fetching process loads."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


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
    from scraper.crawl import CrawlOptions, crawl, crawl_lock

    assert callable(crawl) and callable(crawl_lock)
    assert CrawlOptions().workers == 8  # fetching threads in all, by default


@pytest.mark.parametrize(
    ("cores", "processes"), [(None, 0), (1, 0), (2, 1), (4, 3), (5, 4), (64, 4)]
)
def test_one_core_is_kept_for_the_crawl_and_at_most_four_processes_fetch(
    monkeypatch: pytest.MonkeyPatch, cores: int | None, processes: int
) -> None:
    from scraper.crawl import default_processes

    monkeypatch.setattr("os.cpu_count", lambda: cores)
    assert default_processes() == processes
