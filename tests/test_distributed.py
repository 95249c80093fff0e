"""Distributed crawls against a real PostgreSQL server the tests start themselves.

The server runs from a temporary folder (initdb + pg_ctl, a unix socket only, no TCP); as root
it runs as the ``postgres`` (or ``nobody``) user, since PostgreSQL refuses to run as root. The
tests that need the server skip (through the ``pg`` fixture) when no PostgreSQL server
binaries are installed; the others, backoff and messages included, run without one. The whole
module is skipped without psycopg.
Workers and the ingest run as subprocesses (``python -m scraper ...``), as on real machines,
so one can be killed with -9; the sites are real HTTP servers on 127.0.0.1, one port each, and
every request they get is logged with its time, which is how politeness is checked.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import io
import itertools
import os
import pwd
import random
import re
import shutil
import signal
import socket
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

from .test_crawl import ROOT, Site, article, listing, news_site, robots, write_config

psycopg = pytest.importorskip("psycopg")


def _pg_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    for pg_ctl in sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True):
        return Path(pg_ctl).parent
    return None


BINDIR = _pg_bindir()


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
    if BINDIR is None:
        pytest.skip("no PostgreSQL server binaries")
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
        found: list[tuple[Any, ...]] = conn.execute(sql).fetchall()
        return found


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

    from scraper.archive import dedup
    from scraper.crawl.distributed import decode_digest, encode_result
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


def test_workers_fetch_an_articles_attachments_and_pictures_once(
    frontier: str, make_site: Callable[[], Site], tmp_path: Path
) -> None:
    from scraper.archive import Archive

    from .test_crawl import PNG, notice_site
    from .test_pipeline import ATTACHED

    site = make_site()
    notice_site(site)
    cfg = write_config(
        tmp_path / "sites.toml",
        {"gov": {"start_urls": [site.url("/news/index.html")], "delay": 0.1, "images": True,
                 "max_image_bytes": 1024}},
    )  # fmt: skip
    enqueue(cfg, frontier)
    db = tmp_path / "archive.db"
    worker = archiver("worker", "--frontier", frontier, "--threads", "2", "--until-idle", "-q")
    with_table = tmp_path / "with-frontier.toml"
    with_table.write_text(f'[frontier]\nurl = "{frontier}"\n' + cfg.read_text("utf-8"), "utf-8")
    ingest = archiver("crawl", "--config", str(with_table), "--db", str(db))
    errs = finish([worker, ingest], 90)
    assert worker.returncode == 0 and ingest.returncode == 0, errs
    got = rows(db, "select url, sha256 is not null, error from attachments order by position")
    assert [g[1] for g in got] == [1, 1, 1, 1, 0] and "404" in str(got[4][2])
    with Archive.open(db) as archive:
        for phrase in ATTACHED.values():
            assert [h.url for h in archive.search(phrase)] == [site.url("/notice.html")]
    pictures = rows(db, "select sha256, error is not null from images order by position")
    assert pictures == [(hashlib.sha256(PNG).hexdigest(), 0), (None, 1)]
    assert all(site.hits(p) == 1 for p in ("/files/a.pdf", "/img/small.png", "/img/large.png"))
    assert rows(db, "select pages, new from runs") == [(2, 1)]  # the files are no pages
    assert pg_rows(frontier, "select count(*) from results") == [(0,)]


def test_workers_never_fetch_what_robots_txt_disallows(
    frontier: str, make_site: Callable[[], Site], tmp_path: Path
) -> None:
    """robots.txt holds for distributed workers as for a local crawl: a disallowed URL is
    never requested; its frontier row is ``disallowed`` and not due again before
    ``revisit_after`` (7 days by default)."""
    site = make_site()
    site.routes["/robots.txt"] = robots(b"User-agent: *\nDisallow: /art/secret/\n")
    news_site(site, 4, 4)
    items = [(f"/art/trs/{i}.html", i, "2024-03-01") for i in range(4)]
    secrets = [f"/art/secret/{i}.html" for i in range(2)]
    for i, path in enumerate(secrets):
        site.routes[path] = article(100 + i)
        items.append((path, 100 + i, "2024-03-01"))
    site.routes["/news/index.html"] = listing(items)
    cfg = write_config(
        tmp_path / "sites.toml", {"gov": {"start_urls": [site.url("/news/index.html")]}}
    )
    enqueue(cfg, frontier)
    db = tmp_path / "archive.db"
    args = ("--frontier", frontier, "--threads", "2", "--until-idle", "-q")
    workers = [archiver("worker", *args) for _ in range(2)]
    ingest = archiver("ingest", "--frontier", frontier, "--db", str(db), "--until-idle", "-q")
    errs = finish([*workers, ingest], 90)
    assert all(p.returncode == 0 for p in [*workers, ingest]), errs
    assert all(site.hits(path) == 0 for path in secrets), site.paths()
    assert site.hits("/robots.txt") == 1
    assert all(site.hits(f"/art/trs/{i}.html") == 1 for i in range(4)), site.paths()
    assert pg_rows(
        frontier,
        "select url, status, lease_token is null, last_fetch_at is not null, "
        "next_fetch_at > clock_timestamp() + interval '6 days' "
        "from frontier where url like '%/secret/%' order by url",
    ) == [(site.url(path), "disallowed", True, True, True) for path in secrets]
    assert rows(db, "select count(*) from articles") == [(4,)]
    assert rows(db, "select count(*) from fetches where url like '%/secret/%'") == [(0,)]


def _owner_pid(owner: str) -> int:
    return int(owner.split(":")[1])


def test_a_worker_killed_mid_fetch_loses_nothing(
    frontier: str, make_site: Callable[[], Site], tmp_path: Path
) -> None:
    articles = 6
    made, cfg = build_sites(make_site, tmp_path, 8, articles, 0.1, slow=0.4)
    enqueue(cfg, frontier)
    db = tmp_path / "archive.db"
    args = ("--frontier", frontier, "--threads", "2", "--lease", "4", "--until-idle", "-q")
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
    by_pid[_owner_pid(victim)].wait()
    # A request the victim's other thread wrote just before the kill may still reach the
    # server: count as late as the stored leases allow, a second and a half before the first
    # of them runs out (no survivor may fetch an orphan before), and check that they still held
    # when counted, instead of racing a fixed sleep against the lease.
    expiry = f"select min(next_fetch_at) from frontier where lease_owner = '{victim}'"
    with psycopg.connect(frontier) as conn:
        ((first_expiry,),) = conn.execute(expiry).fetchall()
        ((count_at,),) = conn.execute(
            "select %s - interval '1.5 seconds'", [first_expiry]
        ).fetchall()
        while conn.execute("select clock_timestamp() < %s", [count_at]).fetchone()[0]:
            time.sleep(0.02)
        before = {
            u: hits(u)
            for (u,) in conn.execute(
                f"select url from frontier where lease_owner = '{victim}'"
            ).fetchall()
        }
        held = conn.execute("select clock_timestamp() < %s", [first_expiry]).fetchone()[0]
    assert held, "counted after a lease ran out: this machine stalled for over 1.5 s"
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
    for err in errs[:-1]:  # a line when it went away and one when it was back, not per attempt
        assert err.count("cannot reach PostgreSQL") <= 1, err
        assert err.count("answers again") == err.count("cannot reach PostgreSQL"), err
    assert_archived_once(db, made, articles)
    for site in made:
        assert min_gap(site) >= delay - 0.002, (site.base, min_gap(site))


# ---------------------------------------------------------------------------- in-process


def _decide_fetch(candidate: Any) -> tuple[str, float]:
    return "fetch", 0.0


def _db_now(frontier: Any) -> Any:
    """The database's clock, which every stored lease and next allowed time is on."""
    return frontier.conn.execute("select clock_timestamp()").fetchone()[0]


def _wait_for_db_time(frontier: Any, when: Any, limit: float = 60.0) -> None:
    """Wait until the database's clock has passed ``when`` (a stored time), however slowly
    this machine runs: no fixed sleep racing a window."""
    end = time.monotonic() + limit
    while _db_now(frontier) <= when:
        assert time.monotonic() < end, f"the database clock never reached {when}"
        time.sleep(0.02)


def _host_times(frontier: Any, host: str) -> tuple[Any, Any]:
    """The host's stored next allowed time and the time of its last claim."""
    row = frontier.conn.execute(
        "select next_allowed_at, last_request_at from hosts where host = %s", [host]
    ).fetchone()
    return row[0], row[1]


def test_claims_hold_the_host_and_leases_expire(frontier: str) -> None:
    """Checked on the stored times (lease expiry, next allowed time) rather than by sleeping
    through 0.5 s windows: a loaded machine may take longer than a window between two calls."""
    from datetime import timedelta

    from scraper.crawl.config import SiteConfig
    from scraper.crawl.frontier_pg import PgFrontier
    from scraper.models import NewUrl

    delay = 0.5
    site = SiteConfig("gov", ("http://gov.example/news/",), obey_robots=False, delay=delay)
    urls = [NewUrl(f"http://gov.example/art/{i}.html", "gov", "article") for i in range(3)]
    with PgFrontier.connect(frontier) as a, PgFrontier.connect(frontier) as b:
        a.save_sites([site])
        a.enqueue(urls, ["gov"], 1, "test")
        first = a.claim("a", 60, _decide_fetch)
        assert first is not None
        host = first.candidate.host
        leased_until, claimed = _host_times(a, host)
        # the host is leased with it (two clock_timestamp() calls: microseconds apart)
        assert abs(leased_until - claimed - timedelta(seconds=60)) < timedelta(seconds=0.05)
        assert b.claim("b", 60, _decide_fetch) is None  # one request at a time per host

        def done(tx: Any) -> None:
            assert tx.finish_url("ok", 3600)
            tx.release_host(delay, failed=False, ok=True, max_failures=5)

        before = _db_now(a)
        a.complete(first, set(), done)
        after = _db_now(a)
        allowed, _ = _host_times(a, host)
        # the delay runs from completion (not from the claim), by the database clock
        gap = timedelta(seconds=delay)
        assert before + gap <= allowed <= after + gap
        probe = _db_now(a)
        early = b.claim("b", 60, _decide_fetch)
        if early is None:  # refused while the delay ran...
            assert probe < allowed
        else:  # ...or granted after it, when this machine was too slow to ask sooner
            assert _host_times(a, host)[1] >= allowed
            b.complete(early, set(), done)
        _wait_for_db_time(a, _host_times(a, host)[0])
        second = b.claim("b", 0.5, _decide_fetch)  # a short lease, never completed
        assert second is not None and second.candidate.url != first.candidate.url
        ((expires,),) = a.conn.execute(
            "select next_fetch_at from frontier where url = %s", [second.candidate.url]
        ).fetchall()
        leased_until, claimed = _host_times(a, host)
        for until in (leased_until, expires):  # the URL and its host, leased for 0.5 s
            assert abs(until - claimed - timedelta(seconds=0.5)) < timedelta(seconds=0.05)
        leased_until = max(leased_until, expires)
        _wait_for_db_time(a, leased_until)  # the lease has run out: its URL is due again
        taken: list[str] = []
        while True:
            claim = a.claim("a", 60, _decide_fetch)
            if claim is None:
                allowed, _ = _host_times(a, host)
                if _db_now(a) <= allowed:  # the host's delay, not the end of the work
                    _wait_for_db_time(a, allowed)
                    continue
                break
            taken.append(claim.candidate.url)
            a.complete(claim, set(), done)
        assert second.candidate.url in taken  # taken over after the lease ran out
        lost: list[bool] = []

        def late(tx: Any) -> None:
            lost.append(tx.finish_url("ok", 3600))
            tx.release_host(delay, failed=False, ok=True, max_failures=5)

        b.complete(second, set(), late)
        assert lost == [False]  # the late finisher writes nothing
        status = a.status()
        assert status["totals"]["leased"] == 0 and status["totals"]["urls"] == 3


def test_ingest_after_a_crash_between_the_two_commits_writes_nothing_twice(
    frontier: str, make_site: Callable[[], Site], tmp_path: Path
) -> None:
    from scraper.archive import Archive
    from scraper.crawl.distributed import Ingest, Worker, WorkerOptions
    from scraper.crawl.frontier_pg import PgFrontier

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


_INGEST_IN_BATCHES = """
import sys
from scraper.archive import Archive
from scraper.crawl.distributed import Ingest
with Archive.open(sys.argv[2]) as archive:
    Ingest(sys.argv[1], archive, until_idle=True, batch=int(sys.argv[3])).run()
"""


@pytest.mark.parametrize(
    ("point", "n", "batch"),
    [
        ("save-before-commit", 6, 4),  # mid-batch: the first batch is in, the second lost
        ("save-after-commit", 6, 4),  # the second batch committed, not dropped from PG
        ("save-before-commit", 1, 0),  # `archiver ingest` itself (0): the very first result
        ("save-after-commit", 16, 0),  # every result committed, none dropped from PG
    ],
)
def test_an_ingest_crashed_at_the_nth_result_then_rerun_writes_each_result_once(
    frontier: str, make_site: Callable[[], Site], tmp_path: Path, point: str, n: int, batch: int
) -> None:
    """Deterministic kill -9 (crashpoints.py): the ingest ends right before or right after the
    SQLite commit holding its ``n``-th result; the next ingest completes the work."""
    from scraper.crawl.distributed import Worker, WorkerOptions

    made, cfg = build_sites(make_site, tmp_path, 2, 5, 0.0)
    enqueue(cfg, frontier)
    stats = Worker(frontier, WorkerOptions(threads=2, until_idle=True)).run()
    total = 2 + 2 * (2 + 5)  # two robots.txt, two list pages and five articles per site
    assert stats.pages + stats.robots == total
    ids = {i for (i,) in pg_rows(frontier, "select id from results")}
    assert len(ids) == total
    db = tmp_path / "archive.db"
    if batch:
        cmd = [sys.executable, "-c", _INGEST_IN_BATCHES, frontier, str(db), str(batch)]
    else:
        cmd = [sys.executable, "-m", "scraper", "ingest", "--frontier", frontier, "--db", str(db),
               "--until-idle", "-q"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ARCHIVER_CRASH_AT": f"{point}:{n}"}
    crashed = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert crashed.returncode == 137, crashed.stderr
    assert f"crash point {point}:{n} reached" in crashed.stderr
    ledger = {i for (i,) in rows(db, "select result_id from frontier_results")}
    waiting = {i for (i,) in pg_rows(frontier, "select id from results")}
    # nothing lost: a result is either in archive.db's ledger or still in PostgreSQL (or both)
    assert ledger | waiting == ids
    size = batch or 100
    committed = (n - 1) // size * size if point == "save-before-commit" else -(-n // size) * size
    assert len(ledger) == min(committed, total)
    assert ids - waiting == set(sorted(ids)[: (n - 1) // size * size])  # dropped once committed
    kept = rows(db, "select count(*) from articles")[0][0]

    proc = archiver("ingest", "--frontier", frontier, "--db", str(db), "--until-idle", "-q")
    errs = finish([proc], 60)
    assert proc.returncode == 0, errs
    assert_archived_once(db, made, 5)
    assert rows(db, "select count(*) from fetches") == [(total,)]  # every attempt once
    assert rows(db, "select count(*) from versions") == [(0,)]
    assert {i for (i,) in rows(db, "select result_id from frontier_results")} == ids
    assert pg_rows(frontier, "select count(*) from results") == [(0,)]
    assert rows(db, "select outcome, new from runs order by id")[1:] == [("ok", 10 - kept)]
    assert rows(db, "select outcome from runs order by id")[0] == ("abandoned",)


# ---------------------------------------------------------------------------- without PostgreSQL
# Backoff, the lines a worker or the ingest prints, and the bound after which they give up.


def archiver_giving_up(after: float, *args: str) -> subprocess.Popen[str]:
    """``archiver ARGS`` with the bound on waiting for PostgreSQL set to ``after`` seconds."""
    return archiver(*args, "--give-up-after", f"{after:g}")


def closed_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on (it was just free)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeTime:
    """A clock that only moves when slept on: backoff without real waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> bool:
        self.sleeps.append(seconds)
        self.now += seconds
        return False  # never stopped


def test_backoff_doubles_from_one_second_to_a_minute_with_jitter() -> None:
    from scraper.crawl.distributed import Backoff

    backoff = Backoff(rng=random.Random(7))
    waits = [backoff.next() for _ in range(12)]
    steps = [1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60, 60]
    assert all(step / 2 <= w <= step for w, step in zip(waits, steps, strict=True)), waits
    assert len({round(w, 6) for w in waits[6:]}) > 1  # jitter: not all the same minute
    backoff.reset()
    assert 0.5 <= backoff.next() <= 1.0


def _unreachable(url: str) -> Any:
    from scraper.crawl.frontier_pg import FrontierUnavailable

    raise FrontierUnavailable("frontier database unavailable", reason="Connection refused")


def test_a_connection_says_once_that_postgresql_is_away_and_once_that_it_is_back() -> None:
    import threading

    from scraper.crawl.distributed.worker import Backoff, Link, WorkerStats, _Connection

    fake, lines = FakeTime(), list[str]()
    link = Link("postgresql://archiver:s3cret@db.example:5432/crawl", lines.append, 600, fake.clock)
    sentinel: Any = object()

    def connect(url: str) -> Any:
        return sentinel if fake.now >= 100 else _unreachable(url)

    conn = _Connection(
        "unused", threading.Event(), WorkerStats(), link,
        backoff=Backoff(rng=random.Random(1)), connect=connect, sleep=fake.sleep,
    )  # fmt: skip
    assert conn.get() is sentinel
    assert 100 <= fake.now < 100 + 60
    # attempts at 0, ~1, ~3, ~7, ~15, ~31, ~63 s...: exponential, never over a minute apart
    assert len(fake.sleeps) <= 8 and max(fake.sleeps) <= 60
    assert all(b >= a * 0.99 for a, b in itertools.pairwise(fake.sleeps[:6]))
    assert lines == [
        "cannot reach PostgreSQL at postgresql://archiver@db.example:5432/crawl: "
        "Connection refused; retrying, giving up after 10m00s",
        f"PostgreSQL at postgresql://archiver@db.example:5432/crawl answers again after "
        f"{round(fake.now) // 60}m{round(fake.now) % 60:02d}s ({len(fake.sleeps)} failed attempts)",
    ]
    # another thread's attempt that began before this one got through changes nothing
    assert link.down(50.0, "Connection refused") == 600
    assert len(lines) == 2 and link.down_since is None


def test_a_connection_gives_up_at_the_bound_with_one_line() -> None:
    import threading

    from scraper.crawl.distributed.worker import Backoff, Link, WorkerStats, _Connection
    from scraper.crawl.frontier_pg import FrontierUnavailable

    fake, lines = FakeTime(), list[str]()
    link = Link("postgresql://archiver@db.example/crawl", lines.append, 300, fake.clock)
    conn = _Connection(
        "unused", threading.Event(), WorkerStats(), link,
        backoff=Backoff(rng=random.Random(2)), connect=_unreachable, sleep=fake.sleep,
    )  # fmt: skip
    with pytest.raises(FrontierUnavailable, match="gave up after 5m00s without PostgreSQL") as e:
        conn.get()
    assert fake.now == pytest.approx(300)  # the last wait is cut to the bound, not a minute past
    assert "postgresql://archiver@db.example/crawl" in str(e.value)
    assert str(e.value).endswith("Connection refused")
    assert len(lines) == 1 and lines[0].startswith("cannot reach PostgreSQL")
    assert link.gave_up == str(e.value)
    with pytest.raises(FrontierUnavailable):  # and every other thread gives up at once
        link.down(fake.now, "Connection refused")


def test_a_connection_stops_waiting_at_its_deadline() -> None:
    import threading

    from scraper.crawl.distributed.worker import Link, WorkerStats, _Connection
    from scraper.crawl.frontier_pg import FrontierUnavailable

    fake, lines = FakeTime(), list[str]()
    link = Link("postgresql:///crawl", lines.append, 0, fake.clock)  # 0: never gives up
    conn = _Connection(
        "unused", threading.Event(), WorkerStats(), link, deadline=20.0,
        connect=_unreachable, sleep=fake.sleep,
    )  # fmt: skip
    with pytest.raises(FrontierUnavailable, match="time limit"):
        conn.get()
    assert fake.now == pytest.approx(20.0) and link.gave_up is None
    assert lines == ["cannot reach PostgreSQL at postgresql:///crawl: Connection refused; retrying"]


def test_messages_never_show_the_password() -> None:
    from scraper.crawl.frontier_pg import describe, short_reason

    assert describe("postgresql://archiver:s3cret@db.example:5433/crawl?sslmode=require") == (
        "postgresql://archiver@db.example:5433/crawl"
    )
    assert describe("host=db.example password=s3cret dbname=crawl user=me") == (
        "postgresql://me@db.example/crawl"
    )
    assert describe("postgresql://a@/crawl?host=/run/pg&port=5432") == (
        "postgresql://a@/crawl?host=/run/pg&port=5432"
    )
    assert "s3cret" not in describe("nonsense password=s3cret")

    class Failed(Exception):
        pass

    refused = Failed(
        'connection failed: connection to server at "127.0.0.1", port 1 failed: Connection '
        "refused\n\tIs the server running on that host and accepting TCP/IP connections?"
    )
    assert short_reason(refused) == "Connection refused"
    leaky = Failed("FATAL: no such user s3cret")
    assert short_reason(leaky, "postgresql://u:s3cret@h/d") == "FATAL: no such user ***"


def _watch(tty: bool) -> tuple[Any, io.StringIO]:
    from scraper.crawl.distributed.console import Console, _Watch

    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return tty

    stream = Stream()
    return _Watch("postgresql://h/db", Console(stream), 0.0, time.monotonic), stream


def test_a_waiting_ingest_writes_a_line_per_state_change_or_minute() -> None:
    from scraper.crawl.distributed import IngestStats
    from scraper.crawl.frontier_pg import Backlog

    watch, stream = _watch(tty=False)
    stats = IngestStats()
    nobody = Backlog(due=120, leased=0, results=0, workers=0, last_seen=None)
    for t in range(0, 59, 1):  # polled often, but the state holds: one line
        watch.show(nobody, stats, float(t))
    assert stream.getvalue().splitlines() == [
        "waiting for workers on postgresql://h/db: 120 URLs due, 0 leased, 0 results waiting, "
        "0 workers seen; start one with `archiver worker --frontier URL`"
    ]
    watch.show(nobody, stats, 60.0)  # a minute on: the line again
    two = Backlog(due=100, leased=2, results=5, workers=2, last_seen=1.0)
    watch.show(two, stats, 61.0)  # workers came: at once
    watch.show(two, stats, 62.0)
    gone = Backlog(due=90, leased=0, results=0, workers=0, last_seen=200.0)
    watch.show(gone, stats, 250.0)
    watch.show(Backlog(90, 0, 0, 0, 301.0), stats, 351.0)  # none for five minutes: say so
    lines = stream.getvalue().splitlines()
    assert len(lines) == 5, lines
    assert lines[2].startswith("2 workers on postgresql://h/db: 100 URLs due, 2 leased")
    assert lines[3].startswith("waiting for workers")
    assert lines[4].startswith("no worker seen for 5m01s (the last 5m01s ago)")


def test_a_waiting_ingest_on_a_terminal_rewrites_one_line() -> None:
    from scraper.crawl.distributed import IngestStats
    from scraper.crawl.frontier_pg import Backlog

    watch, stream = _watch(tty=True)
    for t in range(5):
        watch.show(Backlog(120, 0, 0, t % 2, None), IngestStats(), float(t))
    text = stream.getvalue()
    assert "\n" not in text and text.count("\r") == 5 and "waiting for workers" in text
    watch.console.line("done")
    assert stream.getvalue().endswith("\r\x1b[Kdone\n")  # the status line erased first


def test_a_worker_without_postgresql_backs_off_and_exits_7_after_its_bound() -> None:
    url = f"postgresql://archiver:s3cret@127.0.0.1:{closed_port()}/frontier"
    proc = archiver_giving_up(3, "worker", "--frontier", url, "--threads", "4")
    [err] = finish([proc], 30)
    lines = err.splitlines()
    assert proc.returncode == 7, err
    where = url.replace(":s3cret", "")
    assert lines == [
        f"cannot reach PostgreSQL at {where}: Connection refused; retrying, giving up after 3s",
        lines[1],
    ], err
    assert lines[1].startswith(f"error: gave up after 3s without PostgreSQL at {where} (")
    assert lines[1].endswith("attempts): Connection refused")
    assert "s3cret" not in err


def test_an_ingest_without_postgresql_ends_at_its_time_limit(tmp_path: Path) -> None:
    url = f"postgresql://archiver@127.0.0.1:{closed_port()}/frontier"
    db = tmp_path / "archive.db"
    started = time.monotonic()
    proc = archiver("ingest", "--frontier", url, "--db", str(db), "--time-limit", "2")
    [err] = finish([proc], 30)
    assert proc.returncode == 0, err
    assert time.monotonic() - started < 20
    lines = err.splitlines()
    assert lines[0].startswith(f"cannot reach PostgreSQL at {url}: Connection refused")
    # the limit is 2 s; a loaded machine may overshoot it by a poll or a connection attempt
    spent = re.fullmatch(
        rf"time limit reached after (\d+)s without PostgreSQL at {re.escape(url)}: .*", lines[1]
    )
    assert spent is not None and 2 <= int(spent[1]) < 20, err
    assert lines[2].endswith("(stopped: time limit)") and len(lines) == 3, err


# ---------------------------------------------------------------------------- with PostgreSQL


def test_a_coordinator_without_workers_says_what_it_waits_for_and_stops_at_its_time_limit(
    frontier: str, make_site: Callable[[], Site], tmp_path: Path
) -> None:
    made, cfg = build_sites(make_site, tmp_path, 2, 3, 0.0)
    # trust authentication: the password is never asked for, and must never be shown
    url = frontier.replace("postgresql://archiver@", "postgresql://archiver:s3cret@")
    db = tmp_path / "archive.db"
    started = time.monotonic()
    proc = archiver("crawl", "--config", str(cfg), "--frontier", url, "--db", str(db),
                    "--time-limit", "2")  # fmt: skip
    [err] = finish([proc], 30)
    assert proc.returncode == 0, err  # a time limit is no failure, as in a local crawl
    assert time.monotonic() - started < 20
    lines = err.splitlines()
    assert lines[0] == (
        f"waiting for workers on {frontier}: 2 URLs due, 0 leased, 0 results waiting, "
        "0 workers seen; start one with `archiver worker --frontier URL`"
    ), err
    spent, _, left = lines[1].partition(": ")
    assert re.fullmatch(r"time limit reached after (\d+)s", spent), err
    assert 2 <= int(spent.split()[-1][:-1]) < 20, err  # a loaded machine may overshoot a poll
    assert left == (
        "2 URLs due, 0 leased and 0 results not yet ingested are "
        "left in the frontier (0 workers alive) for the next `archiver crawl --frontier` or "
        "`archiver ingest`"
    ), err
    assert lines[2].endswith("(stopped: time limit)") and len(lines) == 3, err
    assert "s3cret" not in err
    assert rows(db, "select outcome, exit_code from runs") == [("time limit", 0)]
    assert not any(site.log for site in made)


def test_a_worker_that_loses_postgresql_mid_run_says_so_once_and_gives_up(
    make_site: Callable[[], Site], tmp_path: Path
) -> None:
    if BINDIR is None:
        pytest.skip("no PostgreSQL server binaries")
    server = PgServer(BINDIR)  # its own server: this one is stopped for good
    try:
        server.start()
        url = server.create_db("frontier")
        made, cfg = build_sites(make_site, tmp_path, 2, 8, 0.2, slow=0.2)
        enqueue(cfg, url)
        proc = archiver_giving_up(3, "worker", "--frontier", url, "--threads", "2")
        end = time.monotonic() + 30
        while not any(site.hits("/art/trs/0.html") for site in made):
            assert time.monotonic() < end and proc.poll() is None, "the worker never fetched"
            time.sleep(0.05)
        server.stop("immediate")
        [err] = finish([proc], 30)
    finally:
        server.remove()
    assert proc.returncode == 7, err
    lines = err.splitlines()
    assert len(lines) == 2, err  # however many threads and attempts
    assert lines[0].startswith(f"cannot reach PostgreSQL at {url}: "), err
    assert lines[0].endswith("; retrying, giving up after 3s"), err
    assert lines[1].startswith(f"error: gave up after 3s without PostgreSQL at {url} ("), err


def test_workers_and_ingest_withdraw_articles_found_gone(
    frontier: str, make_site: Callable[[], Site], tmp_path: Path
) -> None:
    """A second pass finds one article answering 404, one redirected to the home page and one
    replaced by a short page saying it was deleted (status 200): the ingest withdraws each,
    keeping its text, as a local crawl does."""
    from scraper.archive import Archive

    site = make_site()
    site.routes["/"] = (ROOT / "samples" / "negative" / "home.html").read_bytes()
    paths = [f"/art/{n}.html" for n in range(4)]
    for n, path in enumerate(paths):
        site.routes[path] = article(n)
    site.routes["/news/index.html"] = listing([(p, n, "2024-03-01") for n, p in enumerate(paths)])
    cfg = write_config(
        tmp_path / "sites.toml", {"gov": {"start_urls": [site.url("/news/index.html")]}}
    )
    with_table = tmp_path / "with-frontier.toml"
    with_table.write_text(f'[frontier]\nurl = "{frontier}"\n' + cfg.read_text("utf-8"), "utf-8")
    db = tmp_path / "archive.db"

    def one_pass() -> None:
        enqueue(cfg, frontier)
        worker = archiver("worker", "--frontier", frontier, "--until-idle", "-q")
        ingest = archiver("crawl", "--config", str(with_table), "--db", str(db))
        errs = finish([worker, ingest], 90)
        assert worker.returncode == 0 and ingest.returncode == 0, errs

    one_pass()
    texts = dict(rows(db, "select url, body from articles"))
    assert len(texts) == 4
    site.routes[paths[1]] = lambda h, n: (404, b"<html><body>404</body></html>", {})
    site.routes[paths[2]] = lambda h, n: (302, b"", {"Location": "/"})
    site.routes[paths[3]] = "<html><body><p>对不起，该信息已删除！</p></body></html>".encode()
    with psycopg.connect(frontier) as conn:
        conn.execute("UPDATE frontier SET next_fetch_at = now() WHERE kind = 'article'")
    one_pass()
    with Archive.open(db) as archive:
        changes = sorted((c["url"], c["kind"], c["reason"]) for c in archive.changes())
    assert changes == [
        (site.url(paths[1]), "withdrawn", "HTTP 404"),
        (site.url(paths[2]), "withdrawn", "redirected to home page"),
        (site.url(paths[3]), "withdrawn", "not-found page"),
    ]
    assert dict(rows(db, "select url, body from articles")) == texts
