#!/usr/bin/env python3
"""How long the read commands take from start to exit, beside an empty Python.

Runs each of ``archiver search 党``, ``archiver show ID``, ``archiver list`` and
``archiver --help`` (and their ``--help``) ``--runs`` times on one archive and prints the
median and 95th percentile wall time of each, in milliseconds, with ``python -c pass`` first:
the floor no command can go below. The median CPU time (user + system) beside it changes
less when other processes share the cores. Without ``--db``, a small archive is made in a
temporary directory by ``archiver fetch samples/seed-utf8.html``.

With PYTHONDONTWRITEBYTECODE set, an editable install's modules are compiled on every run;
the header says so (``PYTHONPYCACHEPREFIX=DIR`` keeps their bytecode out of the tree).

usage: python bench/startup.py [--db PATH] [--runs 10] [--archiver PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "seed-utf8.html"


def archiver_command(given: str | None) -> list[str]:
    """The archiver to time: the one given, the venv's beside this Python, or the PATH's."""
    if given:
        return [given]
    beside = Path(sys.executable).parent / "archiver"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("archiver")
    return [found] if found else [sys.executable, "-m", "scraper"]


def cpu_seconds() -> float:
    """User and system time of the children waited for so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run_times(command: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds per run of ``command`` (its output discarded; a failure stops
    the benchmark)."""
    walls, cpus = [], []
    for _ in range(runs):
        cpu = cpu_seconds()
        start = time.perf_counter()
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        walls.append(time.perf_counter() - start)
        cpus.append(cpu_seconds() - cpu)
        if done.returncode != 0:
            sys.exit(f"{' '.join(command)} exited {done.returncode}: {done.stderr.decode()}")
    return walls, cpus


def p95(times: list[float]) -> float:
    """The 95th percentile, nearest rank (the slowest run below 20 runs)."""
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def width_of(text: str) -> int:
    """Columns ``text`` takes on a terminal (a Chinese character takes two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def make_archive(archiver: list[str], folder: Path) -> Path:
    db = folder / "startup.db"
    url = "https://www.example.gov.cn/art/2022/6/24/art_1_20233.html"
    subprocess.run(
        [*archiver, "fetch", str(SAMPLE), "--url", url, "--db", str(db), "--quiet"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return db


def first_id(archiver: list[str], db: Path) -> str:
    done = subprocess.run(
        [*archiver, "list", "--limit", "1", "--json", "--db", str(db)],
        check=True,
        capture_output=True,
        text=True,
    )
    if not done.stdout.strip():
        sys.exit(f"archive {db} holds no article to show")
    return str(json.loads(done.stdout.splitlines()[0])["id"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="archive to read (default: a new small one)")
    parser.add_argument("--runs", type=int, default=10, help="runs per command (default 10)")
    parser.add_argument("--archiver", help="the archiver executable (default: this venv's)")
    args = parser.parse_args()
    archiver = archiver_command(args.archiver)
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db if args.db is not None else make_archive(archiver, Path(tmp))
        if not db.exists():
            sys.exit(f"no archive at {db}")
        ident = first_id(archiver, db)
        where = ["--db", str(db)]
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "archiver --help": [*archiver, "--help"],
            "archiver search 党": [*archiver, "search", "党", *where],
            f"archiver show {ident}": [*archiver, "show", ident, *where],
            "archiver list": [*archiver, "list", *where],
            "archiver search --help": [*archiver, "search", "--help"],
            "archiver show --help": [*archiver, "show", "--help"],
            "archiver list --help": [*archiver, "list", "--help"],
        }
        cached = "not cached" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "cached"
        load = os.getloadavg()[0]
        print(f"{args.runs} runs each on {db}; ms; bytecode {cached}; load average {load:.2f}")
        width = max(map(width_of, commands))
        print(f"{'command'.ljust(width)}  {'median':>7}  {'p95':>7}  {'cpu':>7}")
        for name, command in commands.items():
            run_times(command, 1)  # warm the page cache and the bytecode
            walls, cpus = run_times(command, args.runs)
            median, cpu = statistics.median(walls) * 1000, statistics.median(cpus) * 1000
            pad = " " * (width - width_of(name))
            print(f"{name}{pad}  {median:7.1f}  {p95(walls) * 1000:7.1f}  {cpu:7.1f}")


if __name__ == "__main__":
    main()
