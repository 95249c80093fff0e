"""Distributed crawls against a real PostgreSQL server the tests start themselves.

The server runs from a temporary folder (initdb + pg_ctl, a unix socket only, no TCP); as root
it runs as the ``postgres`` (or ``nobody``) user, since PostgreSQL refuses to run as root. The
whole module is skipped when no PostgreSQL server binaries or no psycopg are installed.
Workers and the ingest run as subprocesses (``python -m scraper ...``), as on real machines,
so one can be killed with -9; the sites are real HTTP servers on 127.0.0.1, one port each, and
every request they get is logged with its time, which is how politeness is checked.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from .test_crawl import ROOT, Site, news_site, write_config

psycopg = pytest.importorskip("psycopg")


def _pg_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    for pg_ctl in sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True):
        return Path(pg_ctl).parent
    return None


BINDIR = _pg_bindir()
pytestmark = pytest.mark.skipif(BINDIR is None, reason="no PostgreSQL server binaries")


class PgServer:
    """A throwaway PostgreSQL cluster: fast and unsafe settings (fsync off), socket only."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="archiver-pg-"))
        self.data = self.root / "data"
        self.user: str | None = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    entry = pwd.getpwnam(name)
                except KeyError:
                    continue
                self.user = name
                os.chown(self.root, entry.pw_uid, entry.pw_gid)
                break
        self.root.chmod(0o755)
        self._run("initdb", "-D", str(self.data), "-U", "archiver", "--auth=trust", "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bindir / tool), *args]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = (
            f"-k {self.root} -c listen_addresses='' -p 5432 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"),
                  "-w", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://archiver@/{db}?host={self.root}&port=5432"

    def create_db(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def pg() -> Iterator[PgServer]:
    assert BINDIR is not None
    server = PgServer(BINDIR)
    server.start()
    yield server
    server.remove()


_counter = iter(range(1000))


@pytest.fixture
def frontier(pg: PgServer) -> str:
    return pg.create_db(f"frontier{next(_counter)}")


# ---------------------------------------------------------------------------- helpers


def archiver(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "scraper", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def build_sites(
    make: Callable[[], Site], tmp: Path, n: int, articles: int, delay: float, slow: float = 0.0
) -> tuple[list[Site], Path]:
    """``n`` sites of ``articles`` articles over list pages of 4; articles take ``slow`` s."""
    made = [make() for _ in range(n)]
    table: dict[str, dict[str, Any]] = {}
    for i, site in enumerate(made):
        paths = news_site(site, articles, 4)
        if slow:
            for path, body in list(site.routes.items()):
                if path.startswith("/art/") and isinstance(body, bytes):
                    site.routes[path] = _slow(body, slow)
        table[f"s{i}"] = {"start_urls": [site.url(paths[0])], "delay": delay}
    return made, write_config(tmp / "sites.toml", table)


def _slow(body: bytes, seconds: float) -> Callable[[Any, int], tuple[int, bytes, dict[str, str]]]:
    def route(handler: Any, count: int) -> tuple[int, bytes, dict[str, str]]:
        time.sleep(seconds)
        return 200, body, {}

    return route


def enqueue(cfg: Path, url: str) -> None:
    proc = archiver("crawl", "--config", str(cfg), "--frontier", url, "--enqueue", "-q")
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err


def finish(procs: list[subprocess.Popen[str]], timeout: float) -> list[str]:
    """Wait for every process; their stderr. A hang fails the test instead of blocking it."""
    end = time.monotonic() + timeout
    errs = []
    for proc in procs:
        try:
            _, err = proc.communicate(timeout=max(1.0, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            raise AssertionError("workers or ingest did not finish in time") from None
        errs.append(err)
    return errs


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def pg_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def min_gap(site: Site) -> float:
    times = sorted(t for t, _, _ in site.log)
    return min((b - a for a, b in itertools.pairwise(times)), default=float("inf"))


def assert_archived_once(db: Path, made: list[Site], articles: int) -> None:
    total = len(made) * articles
    assert rows(db, "select count(*), count(distinct canonical_url) from articles") == [
        (total, total)
    ]
    # one successful fetch row per article: nothing was written twice
    assert rows(
        db,
        "select count(*) from fetches where url like '%/art/%' and error is null "
        "and article_id is not null",
    ) == [(total,)]
    dupes = rows(
        db,
        "select url from fetches where article_id is not null group by url having count(*) > 1",
    )
    assert dupes == []


# ---------------------------------------------------------------------------- tests


def test_psycopg_is_not_needed_without_frontier() -> None:
    code = "import sys, scraper.cli, scraper.crawl; sys.exit('psycopg' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_an_article_travels_with_its_digest_and_a_foreign_scheme_is_recomputed() -> None:
    import json

    from scraper import dedup
    from scraper.distributed import decode_digest, encode_result
    from scraper.models import Article

    body = "全省机关党建工作推进会召开，会议总结了上半年机关党建工作取得的成效。" * 3
    article = Article(url="http://a.gov.cn/1.html", canonical_url="", title="t", body=body)
    digest = dedup.digest(body)
    payload, _ = encode_result(None, article=article, digest=digest)
    data = json.loads(payload)
    assert decode_digest(data) == digest
    data["digest"][1] = "02" + data["digest"][1][2:]  # scheme 2: not this archiver's
    assert decode_digest(data) is None
    assert decode_digest({"article": {}}) is None


def test_four_workers_and_ingest_archive_every_article_once_politely(
    frontier: str, make_site: Callable[[], Site], tmp_path: Path
) -> None:
    delay, articles = 0.25, 6
    made, cfg = build_sites(make_site, tmp_path, 20, articles, delay)
    enqueue(cfg, frontier)
    db = tmp_path / "archive.db"
    workers = [
        archiver("worker", "--frontier", frontier, "--threads", "2", "--until-idle", "-q")
        for _ in range(4)
    ]
    # the coordinating crawl: queues the sites (again: harmless) and ingests until done; its
    # frontier comes from sites.toml's [frontier] table this time
    with_table = tmp_path / "with-frontier.toml"
    with_table.write_text(f'[frontier]\nurl = "{frontier}"\n' + cfg.read_text("utf-8"), "utf-8")
    ingest = archiver("crawl", "--config", str(with_table), "--db", str(db))
    errs = finish([*workers, ingest], 90)
    assert all(p.returncode == 0 for p in [*workers, ingest]), errs
    assert_archived_once(db, made, articles)
    for site in made:
        assert site.hits("/robots.txt") == 1
        assert all(site.hits(f"/art/trs/{i}.html") == 1 for i in range(articles)), site.paths()
        # politeness measured at the server: never two requests closer than the delay
        assert min_gap(site) >= delay - 0.002, (site.base, min_gap(site))
    assert pg_rows(frontier, "select count(*) from results") == [(0,)]
    assert pg_rows(frontier, "select count(*) from frontier where lease_token is not null") == [
        (0,)
    ]
    assert "new 120" in errs[-1]
    assert rows(db, "select new, outcome from runs") == [(120, "ok")]
    # a second pass finds nothing due: revisits wait for revisit_after
    status = subprocess.run(
        [sys.executable, "-m", "scraper", "status", "--frontier", frontier],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert status.returncode == 0 and "results waiting" in status.stdout


def _owner_pid(owner: str) -> int:
    return int(owner.split(":")[1])


def test_a_worker_killed_mid_fetch_loses_nothing(
    frontier: str, make_site: Callable[[], Site], tmp_path: Path
) -> None:
    articles = 6
    made, cfg = build_sites(make_site, tmp_path, 8, articles, 0.1, slow=0.4)
    enqueue(cfg, frontier)
    db = tmp_path / "archive.db"
    args = ("--frontier", frontier, "--threads", "2", "--lease", "3", "--until-idle", "-q")
    workers = [archiver("worker", *args) for _ in range(4)]
    ingest = archiver("ingest", "--frontier", frontier, "--db", str(db), "--until-idle", "-q")
    by_pid = {p.pid: p for p in workers}
    by_port = {site.base: site for site in made}

    def hits(url: str) -> int:
        parts = urlsplit(url)
        return by_port[f"{parts.scheme}://{parts.netloc}"].hits(parts.path)

    victim = in_flight = None
    end = time.monotonic() + 60
    while victim is None and time.monotonic() < end:
        leases = pg_rows(
            frontier,
            "select lease_owner, url from frontier where lease_token is not null "
            "and kind = 'article'",
        )
        for owner, url in leases:
            # its request has reached the server, whose answer takes 0.4 s: kill it now
            if _owner_pid(owner) in by_pid and hits(url) == 1:
                by_pid[_owner_pid(owner)].send_signal(signal.SIGKILL)
                victim, in_flight = owner, url
                break
        else:
            time.sleep(0.02)
    assert victim is not None, "no worker was ever caught mid-fetch"
    # A request the victim's other thread wrote just before the kill may still reach the
    # server: let it land before counting (its lease, 3 s, keeps the survivors off meanwhile).
    time.sleep(0.5)
    before = {
        u: hits(u)
        for (u,) in pg_rows(frontier, f"select url from frontier where lease_owner = '{victim}'")
    }
    assert in_flight in before, "the worker finished before it was killed"
    survivors = [p for p in workers if p.pid != _owner_pid(victim)]
    errs = finish([*survivors, ingest], 90)
    assert all(p.returncode == 0 for p in [*survivors, ingest]), errs
    for url, count in before.items():  # each orphaned URL fetched once more, by a survivor
        assert hits(url) == count + 1, (url, count, hits(url))
    assert pg_rows(frontier, f"select count(*) from frontier where lease_owner = '{victim}'") == [
        (0,)
    ]
    assert_archived_once(db, made, articles)
    assert pg_rows(frontier, "select count(*) from frontier where lease_token is not null") == [
        (0,)
    ]


def test_workers_and_ingest_ride_out_a_postgresql_restart(
    pg: PgServer, frontier: str, make_site: Callable[[], Site], tmp_path: Path
) -> None:
    articles, delay = 6, 0.2
    made, cfg = build_sites(make_site, tmp_path, 10, articles, delay, slow=0.1)
    enqueue(cfg, frontier)
    db = tmp_path / "archive.db"
    args = ("--frontier", frontier, "--threads", "1", "--lease", "5", "--until-idle")
    workers = [archiver("worker", *args) for _ in range(4)]
    ingest = archiver("ingest", "--frontier", frontier, "--db", str(db), "--until-idle", "-q")
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if sum(site.hits(f"/art/trs/{i}.html") for site in made for i in range(articles)) >= 12:
            break
        time.sleep(0.05)
    pg.stop("fast")  # every connection drops, mid-fetch and mid-completion alike
    time.sleep(2.0)
    pg.start()
    errs = finish([*workers, ingest], 90)
    assert all(p.returncode == 0 for p in [*workers, ingest]), errs
    reconnects = [int(e.rsplit("reconnects ", 1)[1].split(",")[0]) for e in errs[:-1]]
    assert all(n >= 1 for n in reconnects), errs  # every worker lost and found PostgreSQL
    assert_archived_once(db, made, articles)
    for site in made:
        assert min_gap(site) >= delay - 0.002, (site.base, min_gap(site))


# ---------------------------------------------------------------------------- in-process


def _decide_fetch(candidate: Any) -> tuple[str, float]:
    return "fetch", 0.0


def test_claims_hold_the_host_and_leases_expire(frontier: str) -> None:
    from scraper.config import SiteConfig
    from scraper.frontier_pg import PgFrontier
    from scraper.models import NewUrl

    site = SiteConfig("gov", ("http://gov.example/news/",), obey_robots=False, delay=0.5)
    urls = [NewUrl(f"http://gov.example/art/{i}.html", "gov", "article") for i in range(3)]
    with PgFrontier.connect(frontier) as a, PgFrontier.connect(frontier) as b:
        a.save_sites([site])
        a.enqueue(urls, ["gov"], 1, "test")
        first = a.claim("a", 60, _decide_fetch)
        assert first is not None
        assert b.claim("b", 60, _decide_fetch) is None  # one request at a time per host

        def done(tx: Any) -> None:
            assert tx.finish_url("ok", 3600)
            tx.release_host(0.5, failed=False, ok=True, max_failures=5)

        a.complete(first, set(), done)
        assert b.claim("b", 60, _decide_fetch) is None  # the delay runs from completion
        time.sleep(0.6)
        second = b.claim("b", 0.5, _decide_fetch)  # a short lease, never completed
        assert second is not None and second.candidate.url != first.candidate.url
        time.sleep(0.7)
        taken: list[str] = []
        while (claim := a.claim("a", 60, _decide_fetch)) is not None:
            taken.append(claim.candidate.url)
            a.complete(claim, set(), done)
            time.sleep(0.55)
        assert second.candidate.url in taken  # taken over after the lease ran out
        lost: list[bool] = []

        def late(tx: Any) -> None:
            lost.append(tx.finish_url("ok", 3600))
            tx.release_host(0.5, failed=False, ok=True, max_failures=5)

        b.complete(second, set(), late)
        assert lost == [False]  # the late finisher writes nothing
        status = a.status()
        assert status["totals"]["leased"] == 0 and status["totals"]["urls"] == 3


def test_ingest_after_a_crash_between_the_two_commits_writes_nothing_twice(
    frontier: str, make_site: Callable[[], Site], tmp_path: Path
) -> None:
    from scraper.archive import Archive
    from scraper.distributed import Ingest, Worker, WorkerOptions
    from scraper.frontier_pg import PgFrontier

    made, cfg = build_sites(make_site, tmp_path, 2, 5, 0.0)
    enqueue(cfg, frontier)
    stats = Worker(frontier, WorkerOptions(threads=2, until_idle=True)).run()
    assert stats.pages == 2 * (2 + 5) and stats.robots == 2
    db = tmp_path / "archive.db"
    with PgFrontier.connect(frontier) as pgf, Archive.open(db) as archive:
        crashed = Ingest(frontier, archive)
        batch = pgf.results(8)
        crashed._write(pgf.frontier_id, batch)  # committed to SQLite, not yet dropped in PG
        assert pgf.pending_results() == 2 + 2 * (2 + 5)
        again = Ingest(frontier, archive, until_idle=True).run()
    assert again.skipped == 8 and again.outcome == "ok"
    assert crashed.stats.new + again.new == 10
    assert_archived_once(db, made, 5)
    assert rows(db, "select count(*) from fetches") == [(2 + 2 * (2 + 5),)]
