#!/usr/bin/env python3
"""Mutation testing of the core modules with mutmut, one module at a time.

mutmut (the ``mutation`` extra) makes small changes to the code (a ``<`` turned into ``<=``, a
constant changed, a call's argument dropped) and runs the fast unit tests against each; a
change the tests do not notice "survives". The kill rate is the share of changes the tests
notice. This is not part of the normal test run: it takes minutes per module.

The modules and the tests run against them are configured in ``[tool.mutmut]`` in
pyproject.toml. This script first takes a snapshot of the project (``scraper/``, ``tests/``
and what they read) in ``mutants/snapshot/`` (git-ignored), so edits made during a run do not
reach it, and runs mutmut there (mutmut copies it once more, into
``mutants/snapshot/mutants/``). In the snapshot the ``lru_cache`` of ``urls._canonical`` and
``decode.normalize_charset`` is taken off: mutmut 3 does not mutate decorated functions, and
those two hold most of their module's logic. A cache changes speed, not results.
Each module below is a set of mutant name patterns, so a module can be a part of a file (the
exit codes: ``exit_code_for`` in cli/program.py and ``environment_fault``, which it calls; the
archive's save path is ``Archive.save`` with the helpers it calls and the works it updates).

usage: python bench/mutation.py [MODULE ...] [--list] [--survivors] [--workers N]
                               [--report-only] [--show MUTANT]

With no MODULE, all of them in turn. Prints, per module, killed / survived / timeout / no
tests and the kill rate: (killed + timeout) / (all mutants that were run). ``--survivors``
lists each surviving mutant's name; ``--show NAME`` shows its change (``mutmut show`` in the
snapshot). ``--report-only`` prints the last run's figures.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "mutants" / "snapshot"
COPIED = ("scraper", "tests", "samples", "pyproject.toml", "sites.toml")
# Decorators taken off in the snapshot, so that mutmut mutates the functions they wrap.
UNCACHED = {
    "scraper/urls.py": "@functools.lru_cache(maxsize=4096)\n",
    "scraper/decode.py": "@functools.lru_cache(maxsize=256)\n",
}

_SAVE = "scraper.archive.core.xǁArchiveǁ"
_ROWS = "scraper.archive.articles"
_WORKS = "scraper.archive.works.xǁWorksǁ"
MODULES: dict[str, tuple[str, ...]] = {
    "urls": ("scraper.urls.*",),
    "decode": ("scraper.decode.*",),
    "dedup": ("scraper.archive.dedup.*",),
    "meta": ("scraper.parse.meta.*",),
    "notices": ("scraper.parse.notices.*",),
    "rules": ("scraper.crawl.rules.*",),
    # Archive.save, the article rows it writes (articles.py), and the work decisions it
    # makes in works.py (which work an article joins, which copy is the original). Left out:
    # the work row's bookkeeping (refresh, _join, _facts: 455 mutants more, about ten
    # minutes on one core), history, and the migration backfill (group).
    "save": (
        f"{_SAVE}save__mutmut_*",
        f"{_ROWS}.xǁArticlesǁinsert__mutmut_*",
        f"{_ROWS}.xǁArticlesǁupdate__mutmut_*",
        f"{_ROWS}.xǁArticlesǁfind__mutmut_*",
        f"{_ROWS}.xǁArticlesǁfree_id__mutmut_*",
        f"{_ROWS}.x_article_row__mutmut_*",
        f"{_ROWS}.x_article_id__mutmut_*",
        f"{_ROWS}.x_content_hash__mutmut_*",
        f"{_ROWS}.x_changed__mutmut_*",
        f"{_WORKS}place__mutmut_*",
        f"{_WORKS}assign__mutmut_*",
        f"{_WORKS}_exact_work__mutmut_*",
        f"{_WORKS}_similar_work__mutmut_*",
        f"{_WORKS}_copies__mutmut_*",
        f"{_WORKS}_drop_bands__mutmut_*",
        "scraper.archive.versions.xǁVersionsǁkeep__mutmut_*",
        "scraper.archive.works.x_pick_original__mutmut_*",
        "scraper.archive.works.x__key__mutmut_*",
        "scraper.archive.works.x__earliest__mutmut_*",
        "scraper.archive.works.x__standing__mutmut_*",
    ),
    "exit-codes": (
        "scraper.cli.program.x_exit_code_for__mutmut_*",
        "scraper.archive.base.x_environment_fault__mutmut_*",
        "scraper.archive.base.x_is_busy__mutmut_*",
    ),
}
KILLED = ("killed", "timeout")


def mutmut() -> str:
    found = shutil.which("mutmut", path=str(Path(sys.executable).parent)) or shutil.which("mutmut")
    if found is None:
        sys.exit("mutmut is not installed: pip install -e '.[mutation]'")
    return found


def snapshot() -> None:
    """A fresh copy of the project to mutate (mtimes kept), caches off where mutmut needs it."""
    SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(SNAPSHOT, ignore_errors=True)
    SNAPSHOT.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, SNAPSHOT / name, ignore=ignore)
        else:
            shutil.copy2(src, SNAPSHOT / name)
    for rel, decorator in UNCACHED.items():
        path = SNAPSHOT / rel
        text = path.read_text("utf-8")
        if decorator not in text:
            print(f"warning: {rel} no longer has {decorator.strip()}", file=sys.stderr)
        path.write_text(text.replace(decorator, "", 1), "utf-8")


def run_module(name: str, workers: int) -> float:
    """Run the module's mutants; return the seconds it took."""
    env = dict(os.environ, HYPOTHESIS_PROFILE="ci")  # the same draws for every mutant
    start = time.monotonic()
    cmd = [mutmut(), "run", "--max-children", str(workers), *MODULES[name]]
    proc = subprocess.run(cmd, cwd=SNAPSHOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        sys.exit(f"mutmut run failed for {name} (exit {proc.returncode})")
    return time.monotonic() - start


def results() -> dict[str, str]:
    """Every mutant's status as mutmut last recorded it."""
    out = subprocess.run(
        [mutmut(), "results", "--all", "true"], cwd=SNAPSHOT, capture_output=True, text=True
    ).stdout
    status = {}
    for line in out.splitlines():
        key, sep, value = line.strip().rpartition(": ")
        if sep:
            status[key] = value
    return status


def of_module(name: str, status: dict[str, str]) -> dict[str, str]:
    return {
        k: v for k, v in status.items() if any(fnmatch.fnmatchcase(k, p) for p in MODULES[name])
    }


def report(name: str, mine: dict[str, str], seconds: float | None, survivors: bool) -> None:
    counts = Counter(mine.values())
    tested = sum(n for s, n in counts.items() if s not in ("no tests", "not checked", "skipped"))
    killed = sum(counts[s] for s in KILLED)
    rate = f"{100 * killed / tested:.1f}%" if tested else "-"
    took = f"  {seconds:.0f}s" if seconds is not None else ""
    print(
        f"{name:<11} killed {counts['killed']:>4}  timeout {counts['timeout']:>3}  "
        f"survived {counts['survived']:>3}  no tests {counts['no tests']:>3}  "
        f"other {len(mine) - killed - counts['survived'] - counts['no tests']:>3}  "
        f"rate {killed}/{tested} = {rate}{took}",
        flush=True,
    )
    if survivors:
        for key, value in sorted(mine.items()):
            if value not in KILLED:
                print(f"    {value:<9} {key}")


def main() -> None:
    global SNAPSHOT
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("modules", nargs="*", choices=[[], *MODULES], metavar="MODULE")
    ap.add_argument("--list", action="store_true", help="print the modules and their patterns")
    ap.add_argument("--survivors", action="store_true", help="name each mutant not killed")
    ap.add_argument(
        "--report-only", action="store_true", help="print the last run's figures, run nothing"
    )
    ap.add_argument("--show", metavar="MUTANT", help="show one mutant's change and status")
    ap.add_argument(
        "--snapshot",
        type=Path,
        default=SNAPSHOT,
        help=f"where the snapshot goes (default {SNAPSHOT.relative_to(ROOT)}): two runs at once"
        " need two",
    )
    ap.add_argument("--workers", type=int, default=1, help="mutants tested at once (default 1)")
    args = ap.parse_args()
    SNAPSHOT = args.snapshot.resolve()
    if args.list:
        for name, patterns in MODULES.items():
            print(name, " ".join(patterns))
        return
    if args.show:
        subprocess.run([mutmut(), "show", args.show], cwd=SNAPSHOT, check=False)
        return
    if not args.report_only:
        snapshot()
    for name in args.modules or list(MODULES):
        seconds = None if args.report_only else run_module(name, args.workers)
        report(name, of_module(name, results()), seconds, args.survivors)


if __name__ == "__main__":
    main()
