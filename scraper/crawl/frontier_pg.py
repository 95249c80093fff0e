"""The PostgreSQL frontier of a distributed crawl: the only module that imports psycopg.

Workers on many machines share one queue here. Why our own claim query rather than a job
library (procrastinate, pgqueuer): politeness is per *host*, not per job, and it has to be
decided in the same transaction that hands out the URL. One short transaction locks a ready
host row with ``FOR UPDATE SKIP LOCKED`` (so workers never wait on each other), picks that
host's next due URL, and pushes both the URL's and the host's next time past a *lease*. The
worker that finishes sets the host's next allowed time to "now + delay" by the database clock,
after its request ended, so two requests to one host are always at least the delay apart
whichever machines made them. A killed worker's lease simply runs out and the URL and host
become claimable again. Nothing else to run, no job table beside ours.

Results (parsed records, raw bytes, headers) travel back in ``results`` for the one ingest
process, which deletes them only after archive.db has committed them.

Times are PostgreSQL's (``clock_timestamp()``), never the workers' clocks; the ``Frontier``
protocol's calls (crawl/frontier.py) take and give ``decide.stamp`` strings, as the archive's.

Over 500 lines on purpose: it is the one module that imports psycopg (importing the crawl or
the CLI must not load it), and its statements share the private functions that lock hosts in
order and add URLs (``_lock_hosts``, ``_add``) and turn a lost connection into
``FrontierUnavailable`` (``_guard``); split, those would have to be public across modules.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from typing import Any

from scraper.crawl.config import SiteConfig
from scraper.errors import ArchiveError, InputError
from scraper.models import FrontierItem, HostState, NewUrl, TaskKind, Visit

try:
    import psycopg
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise InputError("a PostgreSQL frontier needs psycopg: pip install 'archiver[pg]'") from exc

SCHEMA_VERSION = 1
_SCHEMA_LOCK = 7_000_007  # advisory lock keys: schema creation, the one ingest
_INGEST_LOCK = 7_000_008
HOST_PAUSE = 1800.0  # seconds a host is left alone after too many failures in a row

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS sites (
    name text PRIMARY KEY, config text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS hosts (
    host text PRIMARY KEY,
    next_allowed_at timestamptz NOT NULL DEFAULT '-infinity',
    next_due_at timestamptz NOT NULL DEFAULT '-infinity',
    ready_at timestamptz GENERATED ALWAYS AS (greatest(next_allowed_at, next_due_at)) STORED,
    lease_token text, lease_owner text,
    robots_txt text, robots_status int, robots_fetched_at timestamptz,
    crawl_delay float8, failures int NOT NULL DEFAULT 0, slowdown float8 NOT NULL DEFAULT 1,
    requests bigint NOT NULL DEFAULT 0, last_request_at timestamptz
);
CREATE INDEX IF NOT EXISTS hosts_ready ON hosts (ready_at);
CREATE TABLE IF NOT EXISTS frontier (
    url text PRIMARY KEY, site text NOT NULL, host text NOT NULL, kind text NOT NULL,
    priority smallint NOT NULL, depth int NOT NULL DEFAULT 0, chain int NOT NULL DEFAULT 0,
    discovered_at timestamptz NOT NULL DEFAULT now(), next_fetch_at timestamptz NOT NULL,
    last_fetch_at timestamptz, status text NOT NULL DEFAULT 'pending',
    failures int NOT NULL DEFAULT 0, etag text, last_modified text, lastmod text,
    next_url text, error text, lease_token text, lease_owner text
);
CREATE INDEX IF NOT EXISTS frontier_claim ON frontier (host, priority, depth, next_fetch_at);
CREATE INDEX IF NOT EXISTS frontier_due ON frontier (next_fetch_at);
CREATE INDEX IF NOT EXISTS frontier_leased ON frontier (lease_owner)
    WHERE lease_token IS NOT NULL;
CREATE TABLE IF NOT EXISTS results (
    id bigserial PRIMARY KEY, kind text NOT NULL, url text NOT NULL, worker text,
    created timestamptz NOT NULL DEFAULT now(), payload bytea NOT NULL, content bytea
);
CREATE TABLE IF NOT EXISTS workers (
    id text PRIMARY KEY, hostname text, pid int, started timestamptz NOT NULL DEFAULT now(),
    seen timestamptz NOT NULL DEFAULT now(), stopped timestamptz,
    pages bigint NOT NULL DEFAULT 0, failures bigint NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS runs (
    id bigserial PRIMARY KEY, started timestamptz NOT NULL DEFAULT now(), sites text,
    seeded int, hostname text, pid int
)
"""


class FrontierUnavailable(ArchiveError):
    """PostgreSQL could not be reached, or dropped the connection; retry with a new one.

    An ``ArchiveError`` (exit 7): the frontier is a distributed crawl's store. ``reason`` is
    the cause on one line ("Connection refused"), for messages that name the server apart.
    """

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


def describe(url: str) -> str:
    """The frontier's address for messages: user, host, port and database, never the password.

    ``postgresql://archiver@db.example:5432/archiver``; a unix socket directory shows as the
    URL's ``?host=``. A connection string psycopg cannot read is not echoed at all.
    """
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except Exception:  # any unreadable string: say nothing of it
        return "the frontier database (unreadable connection string)"
    user = f"{info['user']}@" if info.get("user") else ""
    host = str(info.get("host") or info.get("hostaddr") or "")
    port = f":{info['port']}" if info.get("port") else ""
    db = str(info.get("dbname") or "")
    if host.startswith("/"):  # a socket directory
        return f"postgresql://{user}/{db}?host={host}{'&port=' + port[1:] if port else ''}"
    return f"postgresql://{user}{host}{port}/{db}"


def short_reason(exc: BaseException, url: str | None = None) -> str:
    """psycopg's message on one line, its cause only ("Connection refused"), no password."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    if "failed: " in text:  # 'connection to server at "h", port 1 failed: Connection refused'
        text = text.rsplit("failed: ", 1)[1] or text
    if url:
        with contextlib.suppress(Exception):
            password = psycopg.conninfo.conninfo_to_dict(url).get("password")
            if password:
                text = text.replace(str(password), "***")
    return text


@dataclass(frozen=True)
class Candidate:
    """A due URL on a host this worker has just locked, with the host's robots state."""

    url: str
    site: str
    host: str
    kind: str
    depth: int
    chain: int
    failures: int
    etag: str | None
    last_modified: str | None
    lastmod: str | None
    next_url: str | None
    robots_txt: str | None
    robots_status: int | None
    robots_age: float | None  # seconds since robots.txt was fetched; None: never
    crawl_delay: float | None
    slowdown: float
    host_failures: int


@dataclass(frozen=True)
class Claim:
    """A lease on one host (and one URL, unless this is the host's robots.txt)."""

    token: str
    owner: str
    candidate: Candidate
    robots: bool  # fetch robots.txt first; the URL itself stays in the queue


@dataclass(frozen=True)
class Result:
    id: int
    kind: str
    url: str
    payload: bytes
    content: bytes | None


@dataclass(frozen=True)
class Backlog:
    """What a waiting ingest tells its user: the work left and the workers doing it."""

    due: int  # URLs due now and not leased
    leased: int  # URLs a worker is fetching
    results: int  # results waiting for the ingest
    workers: int  # workers alive: seen in the last two minutes and not stopped
    last_seen: float | None  # seconds since any worker was last seen; None: never one


Decision = tuple[str, float]  # ("fetch" | "robots" | "skip", seconds until due again)


@contextmanager
def _guard() -> Iterator[None]:
    """A lost connection (restart, network) becomes FrontierUnavailable: callers reconnect."""
    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        reason = short_reason(exc)
        message = f"frontier database unavailable: {reason}"
        raise FrontierUnavailable(message, reason=reason) from exc


def site_to_json(site: SiteConfig) -> str:
    return json.dumps(asdict(site), ensure_ascii=False)


def site_from_json(text: str) -> SiteConfig:
    """Tolerant of version skew: unknown keys are dropped, missing ones take defaults."""
    data = json.loads(text)
    known = {f.name for f in fields(SiteConfig)}
    values: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known
    }
    return SiteConfig(**values)


class PgFrontier:
    """One connection to the shared frontier. Not thread-safe: one per thread.

    Workers claim and complete through leases (``claim``, ``complete``); the same tables also
    answer the ``Frontier`` protocol (crawl/frontier.py) that the archive's frontier answers.
    """

    def __init__(self, conn: psycopg.Connection[Any], url: str) -> None:
        self.conn = conn
        self.url = url
        self.frontier_id = ""

    @classmethod
    def connect(cls, url: str, *, timeout: float = 5.0) -> PgFrontier:
        """Connect and create the schema if this database has none yet."""
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=max(1, int(timeout)))
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            reason = short_reason(exc, url)
            message = f"cannot reach PostgreSQL at {describe(url)}: {reason}"
            raise FrontierUnavailable(message, reason=reason) from exc
        except psycopg.ProgrammingError as exc:  # a malformed connection string
            # psycopg's message may quote a piece of the string, which may be the password
            raise InputError(
                "the frontier URL is not a PostgreSQL connection string (postgresql://USER@HOST/DB "
                "or 'host=... dbname=...')"
            ) from exc
        frontier = cls(conn, url)
        try:
            frontier._ensure_schema()
        except BaseException:
            conn.close()
            raise
        return frontier

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> PgFrontier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_schema(self) -> None:
        """Create the tables once. Every connection after that only reads ``meta``: DDL on
        live tables takes locks that queue behind (and block) the workers' transactions."""
        with _guard():
            self.conn.execute("SET statement_timeout = '120s'")
            exists = self.conn.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()
            if exists and exists[0]:
                row = self.conn.execute(
                    "SELECT value FROM meta WHERE key = 'frontier_id'"
                ).fetchone()
                if row is not None:
                    self.frontier_id = str(row[0])
                    return
        with _guard(), self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", [_SCHEMA_LOCK])
            for statement in SCHEMA.split(";\n"):
                self.conn.execute(statement)
            self.conn.execute(
                "INSERT INTO meta VALUES ('frontier_id', %s), ('schema_version', %s) "
                "ON CONFLICT (key) DO NOTHING",
                [uuid.uuid4().hex, str(SCHEMA_VERSION)],
            )
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'frontier_id'").fetchone()
        assert row is not None
        self.frontier_id = str(row[0])

    # ------------------------------------------------------------ configuration and seeding

    def save_sites(self, sites: Sequence[SiteConfig]) -> None:
        """Store the sites' configuration so workers need only the frontier URL."""
        with _guard(), self.conn.transaction():
            for site in sites:
                self.conn.execute(
                    "INSERT INTO sites (name, config) VALUES (%s, %s) ON CONFLICT (name) "
                    "DO UPDATE SET config = excluded.config, updated_at = now()",
                    [site.name, site_to_json(site)],
                )

    def load_sites(self) -> dict[str, SiteConfig]:
        with _guard():
            rows = self.conn.execute("SELECT name, config FROM sites").fetchall()
        return {name: site_from_json(config) for name, config in rows}

    def enqueue(self, urls: Sequence[NewUrl], sites: Sequence[str], pid: int, host: str) -> int:
        """Seed URLs (start pages, sitemaps, feeds: due now) and record the run; its id."""
        with _guard(), self.conn.transaction():
            _lock_hosts(self.conn, {_host(u.url) for u in urls})
            _add(self.conn, urls)
            row = self.conn.execute(
                "INSERT INTO runs (sites, seeded, hostname, pid) VALUES (%s, %s, %s, %s) "
                "RETURNING id",
                [" ".join(sites), len(urls), host, pid],
            ).fetchone()
        assert row is not None
        return int(row[0])

    # ------------------------------------------------------------ the ``Frontier`` protocol
    # What a scheduler reads and writes without leases (crawl/frontier.py): the same calls
    # the archive's frontier answers, times as ``decide.stamp`` strings both ways.

    @contextmanager
    def crawl_transaction(self) -> Iterator[None]:
        with _guard(), self.conn.transaction():
            yield

    def frontier_add(self, urls: Iterable[NewUrl], now: str) -> list[str]:
        """Insert unknown URLs (due at ``now``); make known ones due as ``_add`` says."""
        batch = list(urls)
        with _guard(), self.conn.transaction():
            _lock_hosts(self.conn, {_host(u.url) for u in batch})
            return _add(self.conn, batch, now=now)

    def frontier_due(
        self,
        host: str,
        sites: Sequence[str],
        now: str,
        since: str | None = None,
        fetched_before: str | None = None,
        limit: int = 1,
    ) -> list[FrontierItem]:
        """The next URLs due on ``host``, in the order a claim takes them (URLs due at the
        same instant by URL; the archive's frontier takes them in the order they came)."""
        where, args = "", [host, now, list(sites)]
        if fetched_before:
            where = "AND (last_fetch_at IS NULL OR last_fetch_at < %s::timestamptz) "
            args.append(fetched_before)
        if since:
            where += (
                "AND NOT (kind = 'article' AND lastmod IS NOT NULL "
                "AND substr(lastmod, 1, 10) < %s) "
            )
            args.append(since[:10])
        with _guard():
            rows = self.conn.execute(
                "SELECT url, site, host, kind, depth, status, failures, etag, last_modified, "
                "lastmod, next_url FROM frontier WHERE host = %s "
                f"AND next_fetch_at <= %s::timestamptz AND site = ANY(%s) {where}"
                f"ORDER BY priority, depth, next_fetch_at, url LIMIT {int(limit)}",
                args,
            ).fetchall()
        return [FrontierItem(*row) for row in rows]

    def frontier_hosts_due(self, sites: Sequence[str], now: str) -> list[str]:
        with _guard():
            rows = self.conn.execute(
                "SELECT DISTINCT host FROM frontier WHERE next_fetch_at <= %s::timestamptz "
                "AND site = ANY(%s)",
                [now, list(sites)],
            ).fetchall()
        return [r[0] for r in rows]

    def frontier_done(self, url: str, visit: Visit) -> None:
        """Record a visit (``article_id`` is the archive's: not kept here); the host becomes
        claimable when the URL is due again."""
        failures = "failures + 1" if visit.failed else "0"
        with _guard(), self.conn.transaction():
            row = self.conn.execute(
                f"UPDATE frontier SET status = %s, last_fetch_at = %s::timestamptz, "
                f"next_fetch_at = %s::timestamptz, failures = {failures}, "
                "etag = coalesce(%s, etag), last_modified = coalesce(%s, last_modified), "
                "next_url = coalesce(%s, next_url), error = %s WHERE url = %s RETURNING host",
                [
                    str(visit.status), visit.time, visit.next_fetch_at, visit.etag,
                    visit.last_modified, visit.next_url, visit.error, url,
                ],
            ).fetchone()  # fmt: skip
            if row is not None:
                self.conn.execute(
                    "UPDATE hosts SET next_due_at = least(next_due_at, %s::timestamptz) "
                    "WHERE host = %s",
                    [visit.next_fetch_at, row[0]],
                )

    def host_state(self, host: str) -> HostState | None:
        with _guard():
            row = self.conn.execute(
                f"SELECT host, robots_txt, robots_status, {_stamp('robots_fetched_at')}, "
                f"{_stamp('next_allowed_at')}, crawl_delay, failures FROM hosts WHERE host = %s",
                [host],
            ).fetchone()
        return HostState(*row) if row else None

    def host_save(self, state: HostState) -> None:
        """Store a host's robots.txt and politeness state (its leases are left as they are)."""
        with _guard():
            self.conn.execute(
                "INSERT INTO hosts (host, robots_txt, robots_status, robots_fetched_at, "
                "next_allowed_at, crawl_delay, failures) VALUES (%s, %s, %s, %s::timestamptz, "
                "coalesce(%s::timestamptz, '-infinity'), %s, %s) ON CONFLICT (host) DO UPDATE "
                "SET robots_txt = excluded.robots_txt, robots_status = excluded.robots_status, "
                "robots_fetched_at = excluded.robots_fetched_at, "
                "next_allowed_at = excluded.next_allowed_at, "
                "crawl_delay = excluded.crawl_delay, failures = excluded.failures",
                [
                    state.host, state.robots_txt, state.robots_status, state.robots_fetched_at,
                    state.next_allowed_at, state.crawl_delay, state.failures,
                ],
            )  # fmt: skip

    # ------------------------------------------------------------ the claim

    def claim(
        self, owner: str, lease: float, decide: Callable[[Candidate], Decision]
    ) -> Claim | None:
        """Lease the next due URL of a host whose delay has passed, or None if there is none.

        ``decide`` says what to do with a candidate: fetch it, fetch the host's robots.txt
        first, or skip it (robots.txt or the address forbids it) until the given seconds pass.
        """
        for _ in range(50):  # hosts found without due work are fixed up and skipped
            with _guard(), self.conn.transaction():
                host = self.conn.execute(
                    "SELECT host, robots_txt, robots_status, "
                    "extract(epoch FROM clock_timestamp() - robots_fetched_at)::float8, "
                    "crawl_delay, slowdown, failures FROM hosts "
                    "WHERE ready_at <= clock_timestamp() ORDER BY ready_at "
                    "LIMIT 1 FOR UPDATE SKIP LOCKED"
                ).fetchone()
                if host is None:
                    return None
                name = host[0]
                while True:
                    row = self.conn.execute(
                        "SELECT url, site, kind, depth, chain, failures, etag, last_modified, "
                        "lastmod, next_url FROM frontier "
                        "WHERE host = %s AND next_fetch_at <= clock_timestamp() "
                        "ORDER BY priority, depth, next_fetch_at LIMIT 1",
                        [name],
                    ).fetchone()
                    if row is None:
                        self.conn.execute(
                            "UPDATE hosts SET next_due_at = coalesce((SELECT min(next_fetch_at) "
                            "FROM frontier WHERE host = %s), 'infinity') WHERE host = %s",
                            [name, name],
                        )
                        break
                    cand = Candidate(
                        row[0], row[1], name, row[2], row[3], row[4], row[5], row[6], row[7],
                        row[8], row[9], host[1], host[2], host[3], host[4], host[5], host[6],
                    )  # fmt: skip
                    action, seconds = decide(cand)
                    if action == "skip":
                        self.conn.execute(
                            "UPDATE frontier SET status = 'disallowed', "
                            "last_fetch_at = clock_timestamp(), "
                            "next_fetch_at = clock_timestamp() + %s * interval '1 second' "
                            "WHERE url = %s",
                            [seconds, cand.url],
                        )
                        continue
                    token = uuid.uuid4().hex
                    if action == "fetch":
                        self.conn.execute(
                            "UPDATE frontier SET lease_token = %s, lease_owner = %s, "
                            "next_fetch_at = clock_timestamp() + %s * interval '1 second' "
                            "WHERE url = %s",
                            [token, owner, lease, cand.url],
                        )
                    self.conn.execute(
                        "UPDATE hosts SET lease_token = %s, lease_owner = %s, "
                        "next_allowed_at = clock_timestamp() + %s * interval '1 second', "
                        "requests = requests + 1, last_request_at = clock_timestamp() "
                        "WHERE host = %s",
                        [token, owner, lease, name],
                    )
                    return Claim(token, owner, cand, robots=action == "robots")
        return None

    # ------------------------------------------------------------ completing a claim

    def complete(self, claim: Claim, hosts: set[str], apply: Callable[[Completion], None]) -> None:
        """Run ``apply`` in one transaction holding the locks of every host it touches.

        Host rows are locked in name order first, so two completions never deadlock. On
        FrontierUnavailable nothing was written: call again on a new connection.
        """
        with _guard(), self.conn.transaction():
            _lock_hosts(self.conn, {claim.candidate.host, *hosts})
            apply(Completion(self.conn, claim))

    # ------------------------------------------------------------ what workers and ingest poll

    def idle(self) -> bool:
        """No lease out and no due URL on a host that will be ready within a minute."""
        with _guard():
            row = self.conn.execute(
                "SELECT NOT EXISTS (SELECT 1 FROM hosts WHERE lease_token IS NOT NULL) "
                "AND NOT EXISTS (SELECT 1 FROM frontier WHERE lease_token IS NOT NULL) "
                "AND NOT EXISTS (SELECT 1 FROM frontier f JOIN hosts h USING (host) "
                "  WHERE f.next_fetch_at <= clock_timestamp() "
                "  AND h.next_allowed_at <= clock_timestamp() + interval '60 seconds')"
            ).fetchone()
        return bool(row and row[0])

    def next_ready_in(self) -> float | None:
        """Seconds until some host may be claimed again; None when none has work queued."""
        with _guard():
            row = self.conn.execute(
                "SELECT extract(epoch FROM greatest(min(ready_at), clock_timestamp()) "
                "- clock_timestamp())::float8 FROM hosts WHERE ready_at < 'infinity'"
            ).fetchone()
        return None if row is None or row[0] is None else max(0.0, float(row[0]))

    def results(self, limit: int) -> list[Result]:
        """The oldest results not yet ingested, in the order they were pushed."""
        with _guard():
            rows = self.conn.execute(
                "SELECT id, kind, url, payload, content FROM results ORDER BY id LIMIT %s",
                [limit],
            ).fetchall()
        return [Result(int(r[0]), r[1], r[2], bytes(r[3]), _bytes(r[4])) for r in rows]

    def results_done(self, ids: Sequence[int]) -> None:
        """Drop results archive.db has committed (ingest calls this only after its commit)."""
        with _guard():
            self.conn.execute("DELETE FROM results WHERE id = ANY(%s)", [list(ids)])

    def pending_results(self) -> int:
        with _guard():
            row = self.conn.execute("SELECT count(*) FROM results").fetchone()
        return int(row[0]) if row else 0

    def try_ingest_lock(self) -> bool:
        """One ingest per frontier: a session lock PostgreSQL frees when the process dies."""
        with _guard():
            row = self.conn.execute("SELECT pg_try_advisory_lock(%s)", [_INGEST_LOCK]).fetchone()
        return bool(row and row[0])

    def backlog(self) -> Backlog:
        """The counts a waiting ingest shows, in one statement (indexes on due and leased)."""
        with _guard():
            row = self.conn.execute(
                "SELECT (SELECT count(*) FROM frontier WHERE next_fetch_at <= clock_timestamp() "
                "  AND lease_token IS NULL), "
                "(SELECT count(*) FROM frontier WHERE lease_token IS NOT NULL), "
                "(SELECT count(*) FROM results), "
                "(SELECT count(*) FROM workers WHERE stopped IS NULL "
                "  AND seen > now() - interval '2 minutes'), "
                "(SELECT extract(epoch FROM now() - max(seen))::float8 FROM workers)"
            ).fetchone()
        assert row is not None
        last = None if row[4] is None else max(0.0, float(row[4]))
        return Backlog(int(row[0]), int(row[1]), int(row[2]), int(row[3]), last)

    # ------------------------------------------------------------ workers

    def worker_seen(self, owner: str, hostname: str, pid: int, pages: int, failures: int) -> None:
        with _guard():
            self.conn.execute(
                "INSERT INTO workers (id, hostname, pid, pages, failures) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET seen = now(), "
                "pages = excluded.pages, failures = excluded.failures",
                [owner, hostname, pid, pages, failures],
            )

    def worker_stopped(self, owner: str) -> None:
        with _guard():
            self.conn.execute("UPDATE workers SET stopped = now() WHERE id = %s", [owner])

    def status(self, hosts: int = 20) -> dict[str, Any]:
        """Queue depth per host, leases, failures, workers alive, results waiting."""
        with _guard():
            c = self.conn

            def one(sql: str) -> Any:
                row = c.execute(sql).fetchone()
                return row[0] if row else None

            total = {
                "urls": one("SELECT count(*) FROM frontier"),
                "due": one(
                    "SELECT count(*) FROM frontier WHERE next_fetch_at <= clock_timestamp() "
                    "AND lease_token IS NULL"
                ),
                "pending": one("SELECT count(*) FROM frontier WHERE status = 'pending'"),
                "leased": one("SELECT count(*) FROM frontier WHERE lease_token IS NOT NULL"),
                "expired leases": one(
                    "SELECT count(*) FROM frontier WHERE lease_token IS NOT NULL "
                    "AND next_fetch_at <= clock_timestamp()"
                ),
                "failed": one("SELECT count(*) FROM frontier WHERE status = 'failed'"),
                "hosts": one("SELECT count(*) FROM hosts"),
                "hosts paused": one(
                    "SELECT count(*) FROM hosts WHERE lease_token IS NULL "
                    "AND next_allowed_at > clock_timestamp() + interval '10 minutes'"
                ),
                "results waiting": one("SELECT count(*) FROM results"),
                "workers alive": one(
                    "SELECT count(*) FROM workers WHERE stopped IS NULL "
                    "AND seen > now() - interval '2 minutes'"
                ),
            }
            rows = c.execute(
                "SELECT host, count(*) FILTER (WHERE next_fetch_at <= clock_timestamp() "
                "AND lease_token IS NULL), count(*) FILTER (WHERE lease_token IS NOT NULL), "
                "count(*) FILTER (WHERE status = 'failed'), count(*) FROM frontier "
                "GROUP BY host ORDER BY 2 DESC, 1 LIMIT %s",
                [hosts],
            ).fetchall()
            workers = c.execute(
                "SELECT id, extract(epoch FROM now() - seen)::float8, pages, failures "
                "FROM workers WHERE stopped IS NULL AND seen > now() - interval '2 minutes' "
                "ORDER BY id"
            ).fetchall()
        return {
            "totals": total,
            "hosts": [
                {"host": h, "due": d, "leased": le, "failed": f, "urls": n}
                for h, d, le, f, n in rows
            ],
            "workers": [
                {"id": w, "seen_ago": round(s, 1), "pages": p, "failures": f}
                for w, s, p, f in workers
            ],
        }


class Completion:
    """The writes of one finished claim, inside its transaction (see ``PgFrontier.complete``)."""

    def __init__(self, conn: psycopg.Connection[Any], claim: Claim) -> None:
        self.conn = conn
        self.claim = claim
        self.owns_host = False

    def finish_url(
        self,
        status: str,
        due_in: float,
        *,
        failed: bool = False,
        etag: str | None = None,
        last_modified: str | None = None,
        next_url: str | None = None,
        error: str | None = None,
    ) -> bool:
        """Release the URL's lease with what the fetch came to; False if the lease was lost
        (it expired and another worker took the URL over: then write nothing else)."""
        cur = self.conn.execute(
            "UPDATE frontier SET status = %s, last_fetch_at = clock_timestamp(), "
            "next_fetch_at = clock_timestamp() + %s * interval '1 second', "
            f"failures = {'failures + 1' if failed else '0'}, "
            "etag = coalesce(%s, etag), last_modified = coalesce(%s, last_modified), "
            "next_url = coalesce(%s, next_url), error = %s, "
            "lease_token = NULL, lease_owner = NULL "
            "WHERE url = %s AND lease_token = %s",
            [
                status, due_in, etag, last_modified, next_url, error,
                self.claim.candidate.url, self.claim.token,
            ],
        )  # fmt: skip
        return cur.rowcount == 1

    def add(self, urls: Sequence[NewUrl], chain: int = 0) -> list[str]:
        """Queue discovered URLs (the caller named their hosts to ``complete``); the new ones."""
        return _add(self.conn, urls, chain)

    def push(self, kind: str, url: str, payload: bytes, content: bytes | None) -> None:
        """A result for the ingest: what to write into archive.db, with the raw bytes."""
        self.conn.execute(
            "INSERT INTO results (kind, url, worker, payload, content) VALUES (%s, %s, %s, %s, %s)",
            [kind, url, self.claim.owner, payload, content],
        )

    def release_host(
        self,
        delay: float,
        *,
        failed: bool,
        ok: bool,
        max_failures: int,
        robots: tuple[str | None, int | None] | None = None,
        crawl_delay: float | None = None,
        pause: bool = False,
    ) -> None:
        """Next request to the host no sooner than ``delay`` (times its slowdown) from now.

        A host failure doubles the slowdown (up to 8×); ``max_failures`` in a row, or
        ``pause``, leave the host alone for HOST_PAUSE seconds. If our host lease was lost,
        only push the next allowed time later, never earlier.
        """
        slowdown = "least(slowdown * 2, 8)" if failed else ("1" if ok else "slowdown")
        failures = "failures + 1" if failed else ("0" if ok else "failures")
        robots_set = ""
        args: list[Any] = []
        if robots is not None:
            robots_set = (
                "robots_txt = %s, robots_status = %s, robots_fetched_at = clock_timestamp(), "
                "crawl_delay = %s, "
            )
            args = [robots[0], robots[1], crawl_delay]
        row = self.conn.execute(
            f"UPDATE hosts SET {robots_set}failures = {failures}, slowdown = {slowdown}, "
            "next_allowed_at = CASE WHEN %s OR failures + 1 >= %s AND %s "
            f"THEN clock_timestamp() + {HOST_PAUSE} * interval '1 second' "
            f"ELSE clock_timestamp() + %s * {slowdown} * interval '1 second' END, "
            "lease_token = NULL, lease_owner = NULL "
            "WHERE host = %s AND lease_token = %s RETURNING host",
            [*args, pause, max_failures, failed, delay, self.claim.candidate.host,
             self.claim.token],
        ).fetchone()  # fmt: skip
        if row is None:
            self.conn.execute(
                "UPDATE hosts SET next_allowed_at = greatest(next_allowed_at, "
                "clock_timestamp() + %s * slowdown * interval '1 second') WHERE host = %s",
                [delay, self.claim.candidate.host],
            )


def _stamp(column: str) -> str:
    """SQL for a time column as a ``decide.stamp`` string (None when unset or infinite)."""
    return (
        f"CASE WHEN isfinite({column}) THEN to_char({column} AT TIME ZONE 'UTC', "
        f'\'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\') END'
    )


def _bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def _host(url: str) -> str:
    from scraper.archive import host_key

    return host_key(url)


def _lock_hosts(conn: psycopg.Connection[Any], hosts: set[str]) -> None:
    """Create missing host rows, then lock them all in name order (no deadlocks)."""
    names = sorted(hosts)
    if not names:
        return
    conn.execute(
        "INSERT INTO hosts (host) SELECT unnest(%s::text[]) ON CONFLICT (host) DO NOTHING",
        [names],
    )
    conn.execute(
        "SELECT 1 FROM hosts WHERE host = ANY(%s) ORDER BY host FOR UPDATE", [names]
    ).fetchall()


def _add(
    conn: psycopg.Connection[Any],
    urls: Sequence[NewUrl],
    chain: int = 0,
    *,
    now: str | None = None,
) -> list[str]:
    """Insert unknown URLs (due now, or at ``now``); make known ones due when their lastmod is
    newer or when ``due`` is set (what the SQLite frontier does), except a URL leased right
    now. Without ``now``, times are the database's clock."""
    unique = list({u.url: u for u in urls}.values())
    if not unique:
        return []
    cols = (
        [u.url for u in unique],
        [u.site for u in unique],
        [_host(u.url) for u in unique],
        [u.kind for u in unique],
        [0 if u.kind != TaskKind.ARTICLE else 1 for u in unique],
        [u.depth for u in unique],
        [u.lastmod for u in unique],
        [u.due for u in unique],
    )
    # ``now`` or, per row, the database's clock (URLs added together are then due in order)
    at = "coalesce(%s::timestamptz, clock_timestamp())"
    rows = conn.execute(
        "WITH new (url, site, host, kind, priority, depth, lastmod, due) AS ("
        "  SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::int2[], "
        "  %s::int[], %s::text[], %s::bool[])), "
        "ins AS (INSERT INTO frontier (url, site, host, kind, priority, depth, chain, "
        "  next_fetch_at, lastmod) "
        f"  SELECT url, site, host, kind, priority, depth, %s, {at}, lastmod "
        "  FROM new ON CONFLICT (url) DO NOTHING RETURNING url), "
        f"upd AS (UPDATE frontier f SET next_fetch_at = {at}, "
        "  lastmod = coalesce(n.lastmod, f.lastmod), depth = least(f.depth, n.depth), "
        "  chain = %s FROM new n WHERE f.url = n.url AND f.lease_token IS NULL AND ("
        "  (n.lastmod IS NOT NULL AND (f.lastmod IS NULL OR n.lastmod > f.lastmod)) "
        f"  OR (n.due AND f.next_fetch_at > {at})) RETURNING f.host), "
        f"hosts_due AS (UPDATE hosts SET next_due_at = least(next_due_at, {at}) "
        "  WHERE host IN (SELECT host FROM new n WHERE n.url IN (SELECT url FROM ins)) "
        "  OR host IN (SELECT host FROM upd)) "
        "SELECT url FROM ins",
        [*cols, chain, now, now, chain, now, now],
    ).fetchall()
    return [r[0] for r in rows]
