"""Page times of `dlpd console` over a large store: 1M alerts, 10M access rows (issue 13).

    .venv/bin/python bench/console_bench.py                       # build 1M/10M, then time
    .venv/bin/python bench/console_bench.py --alerts 100000 --access 1000000
    .venv/bin/python bench/console_bench.py --reuse /var/tmp/dlpd-console-bench/dlpd.db

The store is made by ``open_engine`` (dlpd's schema and indexes), filled with direct
``executemany`` INSERTs through sqlite3 (indexes dropped while filling and rebuilt with
their own SQL after: the same indexes, built by one sort each instead of 11M random
inserts), then served by the real ``dlpd console``. One keep-alive client logs in and
times N requests of each page (wall time at the client: what an analyst waits for, minus
the browser's rendering). Target: p95 < 200 ms for every page. Exit 0 when met, 1 when not.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx

from dlpd.store.db import open_engine

DLPD = (sys.executable, "-m", "dlpd")
DAY = 86400.0
SPAN_DAYS = 90
CHUNK = 100_000
TARGET_P95 = 0.200
USER, PASSWORD = "bench", "bench passphrase 1234"

LABELS = (("pii", 30), ("confidential", 25), ("itar", 10), ("hipaa", 10), ("mynumber", 10),
          ("export", 5), ("secret", 5), ("finance", 5))
SEVERITIES = (("low", 30), ("medium", 40), ("high", 25), ("critical", 5))
KINDS = (("location", 85), ("unauthorized-access", 10), ("exposed", 5))
ACCESS_KINDS = (("opened", 60), ("modified", 20), ("created", 10), ("moved", 5),
                ("deleted", 5))
PROGRAMS = ("cp", "rsync", "python3", "vim", "soffice.bin", "tar", "scp", "cat")
HOSTS = tuple(f"lab-fs-{n:02d}" for n in range(1, 9)) + tuple(
    f"lab-ws-{n:02d}" for n in range(1, 33))
USERS = tuple(f"u{n:04d}" for n in range(300))


def _weighted(pairs: tuple[tuple[str, int], ...]) -> tuple[list[str], list[int]]:
    return [p[0] for p in pairs], [p[1] for p in pairs]


def directories(rng: random.Random, count: int = 3000) -> list[str]:
    """Project trees and home directories, 3 to 5 components deep."""
    out = []
    for n in range(count):
        if n % 3:
            out.append(f"/srv/projects/p{n % 97:02d}/{rng.choice(('raw', 'out', 'docs'))}"
                       f"/batch{n:04d}")
        else:
            out.append(f"/home/{USERS[n % len(USERS)]}/work/d{n:04d}")
    return out


# -- Generation ---------------------------------------------------------------------------

def _drop_indexes(conn: sqlite3.Connection, tables: tuple[str, ...]) -> list[str]:
    """Drop the tables' own indexes (not the automatic UNIQUE ones); their SQL to rebuild."""
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({','.join('?' * len(tables))})", tables).fetchall()
    for name, _ in rows:
        conn.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in rows]


def _alert_rows(n: int, start: int, rng: random.Random, dirs: list[str],
                now: float) -> Iterator[tuple[list[tuple[object, ...]], list[tuple[object, ...]]]]:
    """(alert rows, note rows) in chunks; ids ascending with time, as a daemon raises them."""
    labels, lw = _weighted(LABELS)
    sevs, sw = _weighted(SEVERITIES)
    kinds, kw = _weighted(KINDS)
    begin = now - SPAN_DAYS * DAY
    for lo in range(0, n, CHUNK):
        size = min(CHUNK, n - lo)
        lab = rng.choices(labels, lw, k=size)
        sev = rng.choices(sevs, sw, k=size)
        kind = rng.choices(kinds, kw, k=size)
        rows: list[tuple[object, ...]] = []
        notes: list[tuple[object, ...]] = []
        for j in range(size):
            i = lo + j
            aid = start + i
            created = begin + (i + rng.random()) * (SPAN_DAYS * DAY / n)
            age = (now - created) / DAY
            # Older alerts have mostly been dealt with; the last week is mostly open.
            r = rng.random()
            status = ("open" if r < (0.8 if age < 7 else 0.2) else
                      "acknowledged" if r < (0.9 if age < 7 else 0.35) else
                      "false-positive" if r < (0.93 if age < 7 else 0.5) else "resolved")
            d = dirs[int(rng.paretovariate(1.2)) % len(dirs)]
            path = f"{d}/{lab[j]}-{aid}.{rng.choice(('xlsx', 'csv', 'docx', 'pdf', 'txt'))}"
            host = HOSTS[int(rng.paretovariate(1.5)) % len(HOSTS)]
            copy = rng.random() < 0.2
            source = f"/data/{lab[j]}/master/src-{aid % 5000}.xlsx"
            details = json.dumps({
                "size": rng.randrange(1000, 10_000_000), "mtime": created - 60,
                "uid": 1000 + aid % 300, "gid": 100, "owner": USERS[aid % 300],
                "group": "staff", "mime": "text/plain",
                "detections": [{"rule": f"{lab[j]}_rule", "category": "credit-card",
                                "confidence": "high", "count": 1 + aid % 7, "member": None,
                                "previews": ["4111 **** **** 1111"], "reasons": []}],
                "origin": {"kind": "copy", "source_path": source, "source_host": host,
                           "share": None, "rows": None, "set_by": "carol",
                           "set_at": begin} if copy else None,
                "actor": None})
            subject = f"uid:{1000 + aid % 300} day" if kind[j] == "unauthorized-access" else ""
            updated = created if status == "open" else created + rng.random() * DAY
            rows.append((aid, created, updated, host, os.fsencode(path), path, f"{aid:064x}",
                         lab[j], json.dumps([lab[j]]), '["credit-card"]',
                         json.dumps([f"{lab[j]}_rule"]), sev[j],
                         f"label {lab[j]} may only live under /data/{lab[j]}",
                         f"copy of {source}" if copy else None, status, details, kind[j],
                         subject))
            if status != "open":
                notes.append((aid, updated, USERS[aid % 17], f"checked with owner ({status})",
                              status))
        yield rows, notes


def _access_rows(n: int, start: int, rng: random.Random, dirs: list[str],
                 now: float) -> Iterator[list[tuple[object, ...]]]:
    labels, lw = _weighted(LABELS)
    kinds, kw = _weighted(ACCESS_KINDS)
    begin = now - SPAN_DAYS * DAY
    for lo in range(0, n, CHUNK):
        size = min(CHUNK, n - lo)
        lab = rng.choices(labels, lw, k=size)
        kind = rng.choices(kinds, kw, k=size)
        rows: list[tuple[object, ...]] = []
        for j in range(size):
            i = lo + j
            first = begin + (i + rng.random()) * (SPAN_DAYS * DAY / n)
            d = dirs[int(rng.paretovariate(1.2)) % len(dirs)]
            path = f"{d}/{lab[j]}-{i % 20_000}.xlsx"
            u = int(rng.paretovariate(1.1)) % len(USERS)
            prog = PROGRAMS[i % len(PROGRAMS)]
            host = HOSTS[int(rng.paretovariate(1.5)) % len(HOSTS)]
            rows.append((start + i, host, os.fsencode(path), path, kind[j],
                         f"{d}/old-{i}.xlsx" if kind[j] == "moved" else None,
                         10_000 + i % 30_000, 1000 + u, prog, json.dumps([lab[j]]), first,
                         first + rng.random() * 600, 1 + int(rng.paretovariate(2.0)),
                         USERS[u], 100, 1, f"/usr/bin/{prog}", f"{prog} {path}"))
        yield rows


ALERT_SQL = ("INSERT INTO alerts (id, created, updated, host, path_key, path, sha256, label, "
             "labels, categories, rules, severity, reason, provenance, status, details, "
             "kind, subject) VALUES (" + ",".join("?" * 18) + ")")
NOTE_SQL = "INSERT INTO alert_notes (alert_id, time, author, text, status) VALUES (?,?,?,?,?)"
ACCESS_SQL = ("INSERT INTO access (id, host, path_key, path, kind, src_path, pid, uid, "
              "process, labels, first, last, count, user, gid, ppid, exe, cmdline) VALUES ("
              + ",".join("?" * 18) + ")")


def generate(db: Path, n_alerts: int, n_access: int, seed: int) -> float:
    """Build the store; seconds taken."""
    t0 = time.perf_counter()
    open_engine(f"sqlite:///{db}").dispose()  # dlpd's schema, indexes and triggers
    rng = random.Random(seed)
    dirs = directories(rng)
    now = time.time()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")  # 400 MB for the index sorts
    rebuild = _drop_indexes(conn, ("alerts", "alert_notes", "access"))
    for rows, notes in _alert_rows(n_alerts, 1, rng, dirs, now):
        conn.execute("BEGIN")
        conn.executemany(ALERT_SQL, rows)
        conn.executemany(NOTE_SQL, notes)
        conn.execute("COMMIT")
        print(f"  alerts {rows[-1][0]:>10,}  {time.perf_counter() - t0:6.1f} s", flush=True)
    for rows in _access_rows(n_access, 1, rng, dirs, now):
        conn.execute("BEGIN")
        conn.executemany(ACCESS_SQL, rows)
        conn.execute("COMMIT")
        if rows[-1][0] % 1_000_000 == 0 or len(rows) < CHUNK:
            print(f"  access {rows[-1][0]:>10,}  {time.perf_counter() - t0:6.1f} s",
                  flush=True)
    for sql in rebuild:
        t = time.perf_counter()
        conn.execute(sql)
        print(f"  {sql.split(' ON ')[0]}: {time.perf_counter() - t:.1f} s", flush=True)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    return time.perf_counter() - t0


# -- Timing -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PageTimes:
    name: str
    example: str
    seconds: tuple[float, ...]

    def pct(self, p: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


class Console:
    """The real ``dlpd console`` on a free loopback port, in its own process group."""

    def __init__(self, cfg: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.log = cfg.with_suffix(".log")
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [*DLPD, "console", "--config", str(cfg), "--listen", f"127.0.0.1:{port}"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + 60
        while self.base not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"dlpd console did not start:\n{self.log.read_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)


class Client:
    """Keep-alive httpx that sends the ``__Host-`` cookies itself (httpx's jar keeps
    Secure cookies off plain http)."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, follow_redirects=False, timeout=120)
        self.cookies: dict[str, str] = {}
        self.base = base

    def _keep(self, response: httpx.Response) -> httpx.Response:
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response

    def get(self, url: str) -> httpx.Response:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return self._keep(self.http.get(url, headers={"cookie": cookie}))

    def login(self) -> None:
        page = self.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token, page.text[:500]
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        res = self._keep(self.http.post("/login", data={
            "csrf": token.group(1), "name": USER, "password": PASSWORD, "next": ""},
            headers={"cookie": cookie, "origin": self.base}))
        if res.status_code != 303:
            raise SystemExit(f"login failed: {res.status_code} {res.text[:500]}")


def _samples(db: Path, rng: random.Random) -> tuple[int, list[str], list[str]]:
    """(max alert id, directories of random alerts, of random access rows)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        top = conn.execute("SELECT max(id) FROM alerts").fetchone()[0] or 1
        top_access = conn.execute("SELECT max(id) FROM access").fetchone()[0] or 1

        def dirs(table: str, hi: int) -> list[str]:
            ids = [rng.randrange(1, hi + 1) for _ in range(200)]
            rows = conn.execute(f"SELECT path FROM {table} WHERE id IN "
                                f"({','.join('?' * len(ids))})", ids).fetchall()
            return [os.path.dirname(r[0]) for r in rows]
        return top, dirs("alerts", top), dirs("access", top_access)


def pages(db: Path, rng: random.Random) -> list[tuple[str, Callable[[], str]]]:
    top, alert_dirs, access_dirs = _samples(db, rng)
    statuses = ("open", "acknowledged", "resolved", "false-positive")
    return [
        ("alert list (active tab)", lambda: "/alerts"),
        ("alerts by label", lambda: f"/alerts?label={rng.choice(LABELS)[0]}"),
        ("alerts by status + severity",
         lambda: f"/alerts?status={rng.choice(statuses)}&severity={rng.choice(SEVERITIES)[0]}"),
        ("alerts by path prefix", lambda: "/alerts?" + urlencode(
            {"status": "all", "path": rng.choice(alert_dirs)})),
        ("alerts by host", lambda: f"/alerts?host={rng.choice(HOSTS)}"),
        ("alerts, deep page (old before=)",
         lambda: f"/alerts?status=all&before={rng.randrange(2, max(3, top // 20))}"),
        ("alert detail", lambda: f"/alerts/{rng.randrange(1, top + 1)}"),
        ("access list", lambda: "/access"),
        ("access by user", lambda: f"/access?user={rng.choice(USERS[:50])}"),
        ("access by path prefix",
         lambda: "/access?" + urlencode({"path": rng.choice(access_dirs)})),
    ]


def measure(client: Client, plan: list[tuple[str, Callable[[], str]]],
            n: int) -> list[PageTimes]:
    """``n`` rounds over every page, interleaved (no page gets a cache to itself)."""
    times: dict[str, list[float]] = {name: [] for name, _ in plan}
    examples: dict[str, str] = {}
    for round_ in range(n + 2):
        for name, make in plan:
            url = make()
            t = time.perf_counter()
            res = client.get(url)
            _ = res.content
            took = time.perf_counter() - t
            if res.status_code != 200:
                raise SystemExit(f"GET {url}: {res.status_code}\n{res.text[:1000]}")
            if round_ >= 2:  # two warm-up rounds
                times[name].append(took)
                examples.setdefault(name, url)
    return [PageTimes(name, examples[name], tuple(ts)) for name, ts in times.items()]


def table(results: list[PageTimes]) -> str:
    lines = ["| Page | Example | p50 ms | p95 ms | max ms |", "|---|---|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r.name} | `{r.example}` | {r.pct(0.5) * 1000:.1f} | "
                     f"{r.pct(0.95) * 1000:.1f} | {max(r.seconds) * 1000:.1f} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--alerts", type=int, default=1_000_000)
    ap.add_argument("--access", type=int, default=10_000_000)
    ap.add_argument("--reuse", type=Path, help="a store this script built before")
    ap.add_argument("--workdir", type=Path, default=Path("/var/tmp/dlpd-console-bench"))
    ap.add_argument("--requests", type=int, default=100, help="per page")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.reuse:
        db = args.reuse
        print(f"reusing {db}")
    else:
        args.workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        db = args.workdir / f"dlpd-{args.alerts}-{args.access}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        print(f"building {db}: {args.alerts:,} alerts, {args.access:,} access rows")
        took = generate(db, args.alerts, args.access, args.seed)
        print(f"generated in {took:.0f} s")
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        counts = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("alerts", "access")]
    print(f"store: {counts[0]:,} alerts, {counts[1]:,} access rows, "
          f"{db.stat().st_size / 2**30:.2f} GiB")
    cfg = db.with_suffix(".toml")
    cfg.write_text(f'[database]\nurl = "sqlite:///{db}"\n')
    add = subprocess.run([*DLPD, "console", "user", "add", USER, "--role", "admin",
                          "--password-stdin", "--config", str(cfg)], input=PASSWORD + "\n",
                         capture_output=True, text=True, check=False)
    if add.returncode != 0 and "exist" not in add.stderr:
        raise SystemExit(f"user add: {add.stderr}")
    console = Console(cfg)
    try:
        client = Client(console.base)
        client.login()
        results = measure(client, pages(db, random.Random(args.seed)), args.requests)
    finally:
        console.stop()
    print(table(results))
    worst = max(r.pct(0.95) for r in results)
    print(f"worst p95 {worst * 1000:.1f} ms (target < {TARGET_P95 * 1000:.0f} ms): "
          f"{'met' if worst < TARGET_P95 else 'NOT met'}")
    return 0 if worst < TARGET_P95 else 1


if __name__ == "__main__":
    sys.exit(main())
