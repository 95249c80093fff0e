"""Worker processes: the CPUs the crawl's process and its workers keep to."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import pytest

from scraper.crawl import procs

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity"), reason="no CPU affinity on this OS"
)


def test_the_crawl_keeps_one_cpu_and_its_workers_the_others() -> None:
    allowed = os.sched_getaffinity(0)
    own, workers = procs._split_cpus()
    if len(allowed) < 2:
        assert own is None and workers is None
        return
    assert own is not None and workers is not None
    assert len(own) == 1 and not own & workers and own | workers == allowed


def test_a_single_allowed_cpu_is_not_split() -> None:
    before = os.sched_getaffinity(0)
    one = min(before)
    os.sched_setaffinity(0, {one})
    try:
        assert procs._split_cpus() == (None, None)
    finally:
        os.sched_setaffinity(0, before)


def test_stopping_the_workers_gives_the_crawl_its_cpus_back() -> None:
    before = os.sched_getaffinity(0)
    workers = procs.WorkerProcesses(1, 1, parse=False)
    workers.start()
    try:
        if len(before) >= 2:
            assert len(os.sched_getaffinity(0)) == 1
    finally:
        workers.stop()
    assert os.sched_getaffinity(0) == before


def test_worker_processes_start_without_running_the_commands_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ``archiver`` script imports the whole CLI; a spawned worker ran it again."""
    marker = tmp_path / "ran"
    script = tmp_path / "archiver"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n", encoding="utf-8")
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    main.__spec__ = None
    monkeypatch.setitem(sys.modules, "__main__", main)
    workers = procs.WorkerProcesses(1, 1, parse=False)
    workers.start()
    workers.stop()  # each child reads its stop, so it had started (and run the script, if)
    assert [p.exitcode for p in workers._procs] == [0]
    assert not marker.exists()
    assert main.__file__ == str(script)  # the parent's own module is as it was
