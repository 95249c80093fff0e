#!/usr/bin/env python3
"""Scaling benchmark: distributed workers (1, 2, 4, 8) beside the single-process SQLite crawl.

One server process serves SITES sites (one port each on 127.0.0.1) of ARTICLES articles, list
pages of 20, and logs every request with its time, so politeness is measured where it
matters, at the server. Each stage crawls the same sites from scratch: first `archiver crawl`
(the default local crawl, one process), then for each worker count a fresh PostgreSQL database,
`archiver crawl --frontier --enqueue`, N `archiver worker` processes and one `archiver ingest`.

Reported per stage: pages (requests other than robots.txt), seconds from the first to the last
request at the server and end to end (process start-up included), pages/s over the crawl
window, CPU seconds per page of the crawler processes (workers + ingest; measured with wait4)
and of PostgreSQL (its processes, from /proc), the smallest gap between two requests to one
host, and duplicates and losses in the resulting archive.db.

usage: python bench/scale.py [--sites 300] [--articles 100] [--delay 1.0] [--workers 1,2,4,8]
                             [--threads 4] [--no-local] [--pg-url URL] [--pg-fast] [--json OUT]
PostgreSQL: --pg-url names a server where this user may create databases; without it a
throwaway cluster is started in a temporary folder (as user postgres/nobody when run as root).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import itertools
import json
import multiprocessing as mp
import os
import platform
import pwd
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PER_PAGE = 20


# ------------------------------------------------------------------------ the sites


_CHARS = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下"
    "过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都"
    "两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重"
)


def article(site: int, n: int) -> bytes:
    """A distinct article per (site, n): seeded random text, so no two are near-duplicates
    (a template with only the numbers changed would put every page in one work)."""
    rng = random.Random(site * 1_000_003 + n)
    paras = "".join(
        f"<p>第{site}站第{n}号通知第{k}段："
        + "，".join("".join(rng.choices(_CHARS, k=rng.randint(8, 16))) for _ in range(4))
        + "。</p>"
        for k in range(6)
    )
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>关于开展第{site}-{n}批'
        f"政务公开工作的通知_示例{site}市人民政府</title></head><body>"
        f'<div class="nav"><a href="/">首页</a> <a href="/news/index.html">政务动态</a></div>'
        f"<h1>关于开展第{site}-{n}批政务公开工作的通知</h1>"
        f'<div class="info">发布时间：2024-03-{1 + n % 28:02d} 来源：示例{site}市政府办公室</div>'
        f'<div class="content">{paras}</div><div class="editor">责任编辑：张三</div>'
        f'<div class="footer">版权所有：示例{site}市人民政府</div></body></html>'
    ).encode()


def listing(site: int, page: int, articles: int) -> bytes:
    pages = (articles + PER_PAGE - 1) // PER_PAGE
    first = page * PER_PAGE
    items = "".join(
        f'<li><a href="/art/{n}.html">关于开展第{site}-{n}批政务公开工作的通知</a>'
        f"<span>2024-03-{1 + n % 28:02d}</span></li>"
        for n in range(first, min(articles, first + PER_PAGE))
    )
    pager = f'<a href="index_{page + 1}.html">下一页</a>' if page + 1 < pages else ""
    return (
        f'<html><head><meta charset="utf-8"><title>政务动态_示例{site}市</title></head><body>'
        f"<ul>{items}</ul><div class='page'>{pager}</div></body></html>"
    ).encode()


class _Site(ThreadingHTTPServer):
    daemon_threads = True
    number: int
    articles: int
    log: list[tuple[float, str]]

    def handle_error(self, request: object, client_address: object) -> None:
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Site
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        srv, path = self.server, self.path
        srv.log.append((time.time(), path))
        body, status = b"not found", 404
        if path.startswith("/art/") and path.endswith(".html"):
            n = path[5:-5]
            if n.isdigit() and int(n) < srv.articles:
                body, status = article(srv.number, int(n)), 200
        elif path == "/news/index.html" or path.startswith("/news/index_"):
            page = 0 if path == "/news/index.html" else int(path[12:].split(".")[0] or 0)
            body, status = listing(srv.number, page, srv.articles), 200
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(sites: int, articles: int, control: Connection) -> None:
    """The server process: answers 'ports', 'reset' and 'stats' on the control pipe."""
    servers = []
    for i in range(sites):
        srv = _Site(("127.0.0.1", 0), _Handler)
        srv.number, srv.articles, srv.log = i, articles, []
        threading.Thread(target=srv.serve_forever, args=(0.5,), daemon=True).start()
        servers.append(srv)
    while True:
        command = control.recv()
        if command == "ports":
            control.send([s.server_address[1] for s in servers])
        elif command == "reset":
            for s in servers:
                s.log = []
            control.send(True)
        elif command == "stats":
            control.send(_stats(servers))
        else:
            control.send(None)
            return


def _stats(servers: list[_Site]) -> dict[str, Any]:
    times = [t for s in servers for t, _ in s.log]
    gaps = []
    pages = dupes = 0
    for s in servers:
        stamps = sorted(t for t, _ in s.log)
        gaps += [b - a for a, b in itertools.pairwise(stamps)]
        paths = [p for _, p in s.log if p != "/robots.txt"]
        pages += len(paths)
        dupes += len(paths) - len(set(paths))
    return {
        "requests": len(times),
        "pages": pages,
        "repeated_requests": dupes,
        "first": min(times, default=0.0),
        "last": max(times, default=0.0),
        "min_gap": min(gaps, default=float("inf")),
    }


# ------------------------------------------------------------------------ PostgreSQL


class Cluster:
    """A throwaway PostgreSQL cluster in a temporary folder (socket only, default durability
    unless ``fast``)."""

    def __init__(self, fast: bool) -> None:
        found = shutil.which("pg_ctl")
        candidates = [found] if found else sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not candidates:
            sys.exit("no PostgreSQL server binaries (apt-get install postgresql) and no --pg-url")
        self.bindir = Path(str(candidates[-1])).resolve().parent
        self.root = Path(tempfile.mkdtemp(prefix="archiver-bench-pg-"))
        self.user = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                with contextlib.suppress(KeyError):
                    entry = pwd.getpwnam(name)
                    os.chown(self.root, entry.pw_uid, entry.pw_gid)
                    self.user = name
                    break
        self.root.chmod(0o755)
        self._run("initdb", "-D", str(self.root / "data"), "-U", "archiver", "--auth=trust")
        options = f"-k {self.root} -c listen_addresses='' -p 5432 -c max_connections=200"
        if fast:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.root / "data"), "-o", options, "-l",
                  str(self.root / "log"), "-w", "start")  # fmt: skip

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bindir / tool), *args]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True)

    @property
    def url(self) -> str:
        return f"postgresql://archiver@/postgres?host={self.root}&port=5432"

    def postmaster(self) -> int:
        return int((self.root / "data" / "postmaster.pid").read_text().split()[0])

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def pg_cpu(postmaster: int | None) -> float:
    """CPU seconds of the postmaster, its live children and its reaped children."""
    if postmaster is None:
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = Path(stat).read_text()
            fields = text[text.rindex(")") + 2 :].split()
            pid, ppid = int(stat.split("/")[2]), int(fields[1])
            if pid == postmaster:
                total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
            elif ppid == postmaster:
                total += int(fields[11]) + int(fields[12])
    return total / tick


def database(admin_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    head, _, tail = admin_url.partition("/postgres")
    return f"{head}/{name}{tail}"


# ------------------------------------------------------------------------ stages


def spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "scraper", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def reap(procs: list[subprocess.Popen[bytes]]) -> list[float]:
    """Wait for each process with wait4: its exit status and the CPU seconds it used."""
    cpu = []
    for proc in procs:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise SystemExit(f"{proc.args} exited {proc.returncode}: {err[-2000:]}")
        cpu.append(usage.ru_utime + usage.ru_stime)
    return cpu


def startup_cpu() -> float:
    """CPU seconds one ``python -m scraper`` process spends starting (imports): subtracted
    per process so that small runs are not dominated by it."""
    runs = []
    for _ in range(3):
        proc = spawn("worker", "--help")
        runs.append(reap([proc])[0])
    return min(runs)


def archive_figures(db: Path, expected: int) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        total, distinct = conn.execute(
            "select count(*), count(distinct canonical_url) from articles"
        ).fetchone()
        twice = conn.execute(
            "select count(*) from (select url from fetches where article_id is not null "
            "group by url having count(*) > 1)"
        ).fetchone()[0]
    return {
        "articles": total,
        "duplicates": total - distinct + twice,
        "lost": expected - distinct,
    }


def stage(
    name: str,
    control: Connection,
    procs: list[subprocess.Popen[bytes]],
    started: float,
    db: Path,
    expected: int,
    postmaster: int | None,
    pg_before: float,
    baseline: float,
) -> dict[str, Any]:
    cpu = reap(procs)
    wall = time.time() - started
    time.sleep(0.5)  # let PostgreSQL reap the closed connections' backends
    control.send("stats")
    served = control.recv()
    window = served["last"] - served["first"]
    pages = served["pages"]
    result = {
        "stage": name,
        "pages": pages,
        "requests": served["requests"],
        "crawl_seconds": round(window, 2),
        "wall_seconds": round(wall, 2),
        "pages_per_s": round(pages / window, 1) if window > 0 else None,
        "cpu_s_per_page": round((sum(cpu) - baseline * len(cpu)) / pages, 5) if pages else None,
        "cpu_s_per_page_with_startup": round(sum(cpu) / pages, 5) if pages else None,
        "ingest_cpu_s_per_page": (
            round((cpu[-1] - baseline) / pages, 5) if pages and len(cpu) > 1 else None
        ),
        "pg_cpu_s_per_page": (
            round((pg_cpu(postmaster) - pg_before) / pages, 5) if postmaster and pages else None
        ),
        "min_gap_s": round(served["min_gap"], 4),
        "repeated_requests": served["repeated_requests"],
        **archive_figures(db, expected),
    }
    control.send("reset")
    control.recv()
    return result


def write_config(path: Path, ports: list[int], delay: float, articles: int) -> None:
    pages = (articles + PER_PAGE - 1) // PER_PAGE
    lines = []
    for i, port in enumerate(ports):
        lines += [
            f"[sites.s{i}]",
            f'start_urls = ["http://127.0.0.1:{port}/news/index.html"]',
            f"delay = {delay}",
            "timeout = 30",
            "retries = 1",
            "allow_private = true",
            f"max_list_pages = {pages + 1}",
            'article_patterns = ["/art/\\\\d+\\\\.html$"]',
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sites", type=int, default=300)
    ap.add_argument("--articles", type=int, default=100)
    ap.add_argument("--delay", type=float, default=1.0, help="per-host delay, seconds")
    ap.add_argument("--workers", default="1,2,4,8")
    ap.add_argument("--threads", type=int, default=4, help="threads per worker process")
    ap.add_argument("--no-local", action="store_true", help="skip the SQLite crawl")
    ap.add_argument("--pg-url", help="an existing server (a database named postgres)")
    ap.add_argument("--pg-fast", action="store_true", help="throwaway cluster with fsync off")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="archiver-bench-"))
    parent, child = mp.Pipe()
    server = mp.Process(target=serve, args=(args.sites, args.articles, child), daemon=True)
    server.start()
    parent.send("ports")
    ports = parent.recv()
    cfg = tmp / "sites.toml"
    write_config(cfg, ports, args.delay, args.articles)
    expected = args.sites * args.articles
    cluster = None if args.pg_url else Cluster(args.pg_fast)
    admin = args.pg_url or (cluster.url if cluster else "")
    postmaster = cluster.postmaster() if cluster else None
    results = []
    baseline = startup_cpu()
    print(
        f"{args.sites} sites × {args.articles} articles, delay {args.delay}s, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
        f"Python {platform.python_version()}, start-up CPU {baseline:.2f}s per process"
        " (subtracted)",
        flush=True,
    )
    try:
        if not args.no_local:
            db = tmp / "local.db"
            t0 = time.time()
            procs = [spawn("crawl", "--config", str(cfg), "--db", str(db), "-q",
                           "--max-failures", "1000000")]  # fmt: skip
            results.append(
                stage("sqlite crawl", parent, procs, t0, db, expected, None, 0.0, baseline)
            )
            print(json.dumps(results[-1]), flush=True)
        for n in [int(x) for x in args.workers.split(",") if x]:
            url = database(admin, f"bench_{n}")
            db = tmp / f"dist{n}.db"
            subprocess.run(
                [sys.executable, "-m", "scraper", "crawl", "--config", str(cfg),
                 "--frontier", url, "--enqueue", "-q"],
                cwd=ROOT, check=True,
            )  # fmt: skip
            pg_before = pg_cpu(postmaster)
            t0 = time.time()
            procs = [
                spawn("worker", "--frontier", url, "--threads", str(args.threads),
                      "--until-idle", "-q")
                for _ in range(n)
            ]  # fmt: skip
            procs.append(spawn("ingest", "--frontier", url, "--db", str(db), "--until-idle", "-q"))
            name = f"{n} worker{'s' if n > 1 else ''}"
            results.append(
                stage(name, parent, procs, t0, db, expected, postmaster, pg_before, baseline)
            )
            print(json.dumps(results[-1]), flush=True)
    finally:
        parent.send("quit")
        server.join(5)
        if cluster is not None:
            cluster.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(f"{'stage':<14}{'pages':>7}{'crawl s':>9}{'pages/s':>9}{'CPU s/page':>12}"
          f"{'PG s/page':>11}{'min gap':>9}{'dupes':>7}{'lost':>6}")  # fmt: skip
    for r in results:
        pg = f"{r['pg_cpu_s_per_page']:.4f}" if r["pg_cpu_s_per_page"] is not None else "-"
        print(f"{r['stage']:<14}{r['pages']:>7}{r['crawl_seconds']:>9}{r['pages_per_s']:>9}"
              f"{r['cpu_s_per_page']:>12.4f}{pg:>11}{r['min_gap_s']:>9}{r['duplicates']:>7}"
              f"{r['lost']:>6}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)},
                                         "results": results}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
