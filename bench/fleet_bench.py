"""Fleet mode (issue 14): SQLite against one PostgreSQL shared by several daemons.

    python bench/fleet_bench.py [--quick] [--files 200000,1000000] [--alerts 2000]
                                [--access-rows 200000] [--rounds 3] [--db-dir /var/tmp]
                                [--scratch /dev/shm] [--out bench/results] [--keep]

One run, both engines side by side (interleaved round by round, medians of ``--rounds``):

1. warm rescan: a tree of N tiny files (1,000 a directory, aged an hour; 1 in 100 carries
   an ITAR marking, so that ``detections`` holds what a real share leaves there) is
   scanned cold once per engine (``dlpd scan --format jsonl``), then rescanned unchanged;
   wall, CPU and peak RSS of each ``dlpd scan`` (bench_proc.run_measured).
2. database size after the cold scan: ``pg_total_relation_size`` of ``files`` and
   ``detections`` (indexes and TOAST included), the SQLite file after a WAL checkpoint
   (and its ``files``/``detections`` pages from ``dbstat``), both per million files.
3. alert insert rate: the real daemons (``dlpd run``, inotify), each with its own
   ``[daemon] host``, tree, runtime directory and control socket; ``--alerts`` ITAR files
   (unique content) wait in each host's approved directory, and once every daemon's first
   crawl is done they are copied (``cp``, one per host at once) into a watched directory
   that is not approved. Rate = alerts / (last alert's ``created`` - first copy); every
   alert must be there once: lost and doubled are counted. 1 daemon on SQLite, 1 and 4
   on one PostgreSQL (the same total, split over the hosts).
4. access-log flush: ``store.access.insert_records`` batches (one transaction each, as
   the daemon's flush writes them), from 1 and 4 processes at once, each its own host,
   rows with a fanotify actor; batches of 1,000 rows (a busy second's flush) and of 10
   (a quiet one: commit-bound). Not the daemon itself: its own event reading (~75 us an
   event, README "Attribution") would be measured, not the store.

PostgreSQL is a server this benchmark starts itself (Debian's binaries, ``initdb`` +
``pg_ctl`` as the ``postgres`` user when run as root) with initdb's defaults: fsync and
synchronous_commit ON, as in production, shared_buffers 128 MB. Both databases live in
``--db-dir`` (default /var/tmp: the disk), the trees in ``--scratch`` (default /dev/shm);
the report names the file systems. The superuser is the daemons' role here. Every daemon,
worker and the server are stopped on every exit, Ctrl-C and SIGTERM included.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_proc import RunResult, wait_for_quiet
from daemon_bench import BenchError, child_env, guarded_main, machine
from daemon_proc import BenchDaemon, DaemonError, kill_all, reap, spawn, tail
from daemon_writer import sensitive_bytes
from warm_scale import cached
from warm_scale import scan as dlpd_scan

REPO = Path(__file__).resolve().parent.parent
PG_USER = "postgres"
ENGINES = ("sqlite", "postgresql")
SENSITIVE_EVERY = 100


# -- the PostgreSQL server ----------------------------------------------------------------


class PgServer:
    """One cluster in ``directory``, run as ``postgres`` when we are root (it refuses
    root), on a free loopback port, its socket in ``directory``; production settings."""

    def __init__(self, directory: Path) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                       key=lambda p: int(p.parent.parent.name))
        if not found:
            raise BenchError("PostgreSQL is not installed (Debian: apt install postgresql)")
        self.bin = found[-1].parent
        self.directory = directory
        self.data = directory / "data"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.as_user: tuple[str, ...] = ("runuser", "-u", PG_USER, "--") \
            if os.geteuid() == 0 else ()
        self.running = False

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.as_user, *args], capture_output=True, text=True,
                              timeout=300, check=False, cwd="/")
        if done.returncode != 0:
            raise BenchError(f"{Path(args[0]).name} failed: {done.stderr[-1500:]}")

    def start(self) -> None:
        if self.as_user:
            shutil.chown(self.directory, user=PG_USER, group=pwd.getpwnam(PG_USER).pw_gid)
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", PG_USER, "-A", "trust",
                  "-E", "UTF8", "--locale=C.UTF-8")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.directory / "server.log"), "-o",
                  f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1",
                  "-w", "-t", "120", "start")
        self.running = True

    def stop(self) -> None:
        if not self.running:
            return
        for mode in ("fast", "immediate"):
            with contextlib.suppress(BenchError, subprocess.TimeoutExpired):
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w",
                          "-t", "60", "stop")
                break
        self.running = False

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def query(self, sql: str, database: str = "postgres") -> list[tuple[Any, ...]]:
        import psycopg  # the postgresql extra: only here

        with psycopg.connect(host="127.0.0.1", port=self.port, user=PG_USER, dbname=database,
                             autocommit=True) as conn:
            cur = conn.execute(sql.encode())
            return list(cur.fetchall()) if cur.description else []

    def setting(self, name: str) -> str:
        return str(self.query(f"SHOW {name}")[0][0])


# -- stores ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Store:
    """One fresh database: its engine, URL, and (SQLite) file or (PostgreSQL) name."""

    engine: str
    url: str
    path: Path | None
    database: str | None

    def query(self, pg: PgServer | None, sql: str) -> list[tuple[Any, ...]]:
        if self.path is not None:
            if not self.path.exists():
                return []
            with contextlib.closing(sqlite3.connect(self.path, timeout=30)) as conn:
                return list(conn.execute(sql))
        assert pg is not None and self.database is not None
        return pg.query(sql, self.database)


class Stores:
    """Fresh databases at the schema's head: a copy of a template made once per engine
    by ``dlpd db upgrade`` (the operator's step on a shared database)."""

    def __init__(self, base: Path, pg: PgServer, env: dict[str, str]) -> None:
        self.base, self.pg, self.env = base, pg, env
        self.count = 0
        sqlite_template = base / "template.db"
        self._upgrade(f"sqlite:///{sqlite_template}")
        with contextlib.closing(sqlite3.connect(sqlite_template)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pg.query("CREATE DATABASE fleet_template")
        self._upgrade(pg.url("fleet_template"))

    def _upgrade(self, url: str) -> None:
        config = self.base / "upgrade.toml"
        config.write_text(f'[database]\nurl = "{url}"\n')
        done = subprocess.run([sys.executable, "-P", "-m", "dlpd", "db", "upgrade", "--config",
                               str(config)], capture_output=True, text=True, env=self.env,
                              cwd=REPO, check=False)
        if done.returncode != 0:
            raise BenchError(f"dlpd db upgrade failed: {done.stdout}{done.stderr[-1500:]}")

    def fresh(self, engine: str) -> Store:
        self.count += 1
        if engine == "sqlite":
            path = self.base / f"store-{self.count}.db"
            shutil.copyfile(self.base / "template.db", path)
            return Store(engine, f"sqlite:///{path}", path, None)
        name = f"fleet_{self.count}"
        self.pg.query(f"CREATE DATABASE {name} TEMPLATE fleet_template")
        return Store(engine, self.pg.url(name), None, name)

    def drop(self, store: Store) -> None:
        if store.path is not None:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    Path(f"{store.path}{suffix}").unlink()
        else:
            self.pg.query(f"DROP DATABASE IF EXISTS {store.database} WITH (FORCE)")


def db_bytes(store: Store, pg: PgServer) -> tuple[int, int]:
    """Bytes of ``files`` + ``detections`` (their indexes and TOAST included), and of the
    whole database (SQLite: the file after a WAL checkpoint)."""
    if store.path is not None:
        with contextlib.closing(sqlite3.connect(store.path)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            tables = conn.execute(
                "SELECT coalesce(sum(d.pgsize), 0) FROM dbstat d JOIN sqlite_master m "
                "ON m.name = d.name WHERE m.tbl_name IN ('files', 'detections')").fetchone()[0]
        return int(tables), store.path.stat().st_size
    tables, whole = store.query(pg, "SELECT pg_total_relation_size('files') + "
                                     "pg_total_relation_size('detections'), "
                                     "pg_database_size(current_database())")[0]
    return int(tables), int(whole)


def store_size(store: Store, pg: PgServer, files: int, empty: int) -> dict[str, float]:
    """Sizes per million files; the whole database's net of what it held empty (an empty
    PostgreSQL database is ~7.5 MB of catalogs)."""
    per = 1_000_000 / files / 2**20
    tables, whole = db_bytes(store, pg)
    rows = store.query(pg, "SELECT (SELECT count(*) FROM files), "
                           "(SELECT count(*) FROM detections)")[0]
    return {"tables_mb_per_m": tables * per, "growth_mb_per_m": (whole - empty) * per,
            "whole_mb": whole / 2**20, "files_rows": rows[0], "detections_rows": rows[1]}


# -- 1 + 2: scans and sizes -------------------------------------------------------------------


def make_tree(root: Path, files: int, per_dir: int = 1000) -> None:
    old = time.time() - 3600  # written "long ago": nothing is racy
    for i in range(files):
        d = root / f"d{i // per_dir:05d}"
        if i % per_dir == 0:
            d.mkdir(parents=True)
        path = d / f"f{i:07d}.txt"
        path.write_bytes(sensitive_bytes(i) if i % SENSITIVE_EVERY == 0 else b"sample %d\n" % i)
        os.utime(path, (old, old))


def scan_config(path: Path, store: Store) -> Path:
    path.write_text(f'[database]\nurl = "{store.url}"\n\n[daemon]\nhost = "fs-0"\n')
    return path


def summary(runs: list[RunResult]) -> dict[str, float]:
    return {"wall_s": statistics.median(r.seconds for r in runs),
            "cpu_s": statistics.median(r.cpu_seconds for r in runs),
            "rss_mb": max(r.maxrss_kib for r in runs) / 1024,
            "rounds_s": [round(r.seconds, 2) for r in runs]}  # type: ignore[dict-item]


def scan_step(cfg: Cfg, files: int) -> dict[str, Any]:
    root = cfg.scratch / f"tree-{files}"
    t0 = time.monotonic()
    make_tree(root, files)
    print(f"made {files:,} files in {time.monotonic() - t0:.0f} s", flush=True)
    out = cfg.base / "out"
    out.mkdir(exist_ok=True)
    stores = {e: cfg.stores.fresh(e) for e in ENGINES}
    configs = {e: scan_config(cfg.base / f"scan-{e}.toml", s) for e, s in stores.items()}
    result: dict[str, Any] = {"files": files}
    for engine in ENGINES:
        cfg.quiet()
        empty = db_bytes(stores[engine], cfg.pg)[1]
        cold = dlpd_scan(None, root, configs[engine], out)
        result[f"{engine}_cold"] = summary([cold])
        result[f"{engine}_size"] = store_size(stores[engine], cfg.pg, files, empty)
        print(f"  cold {engine}: {cold.seconds:.1f} s, {cold.maxrss_kib / 1024:.0f} MB; "
              f"{result[f'{engine}_size']}", flush=True)
    warm: dict[str, list[RunResult]] = {e: [] for e in ENGINES}
    for number in range(cfg.rounds):
        for engine in ENGINES if number % 2 == 0 else ENGINES[::-1]:
            cfg.quiet()
            run = dlpd_scan(None, root, configs[engine], out)
            if (n := cached(out)) != files:
                raise BenchError(f"{engine}: {n} of {files} files from the cache")
            warm[engine].append(run)
            print(f"  warm {engine} round {number + 1}: {run.seconds:.2f} s, "
                  f"{run.maxrss_kib / 1024:.0f} MB", flush=True)
    for engine in ENGINES:
        result[f"{engine}_warm"] = summary(warm[engine])
        cfg.stores.drop(stores[engine])
    shutil.rmtree(root, ignore_errors=True)
    return result


# -- 3: alerts from real daemons ----------------------------------------------------------------


def daemon_config(state: Path, data: Path, approved: Path, store: Store, host: str) -> str:
    return (f'[database]\nurl = "{store.url}"\n\n'
            f'[daemon]\nruntime_dir = "{state / "run"}"\nshutdown_timeout = "10s"\n'
            f'host = "{host}"\ncontrol_socket = "{state / "control.sock"}"\n\n'
            f'[watch]\npaths = [{json.dumps(str(data))}]\nbackend = "inotify"\n'
            f'reconcile_interval = "1h"\n\n'
            f'[labels.export-controlled]\nseverity = "high"\n'
            f"approved = [{json.dumps(str(approved))}]\n")


def alert_run(cfg: Cfg, engine: str, daemons: int, total: int, number: int) -> dict[str, Any]:
    store = cfg.stores.fresh(engine)
    base = cfg.scratch / f"alerts-{engine}{daemons}-{number}"
    hosts, running, copies = [], [], []
    try:
        for h in range(daemons):
            host = f"fs-{h}"
            data, state = base / host / "data", base / host / "state"
            itar, out = data / "itar", data / "out"
            for d in (itar, out, state):
                d.mkdir(parents=True)
            for n in range(h, total, daemons):  # unique content: each copy its own alert
                (itar / f"spec-{n:06d}.txt").write_bytes(sensitive_bytes(n))
            config = state / "dlpd.toml"
            config.write_text(daemon_config(state, data, itar, store, host))
            hosts.append((host, itar, out))
            running.append(BenchDaemon([sys.executable, "-P", "-m", "dlpd"], config,
                                       store.path or state / "none.db", state / "run",
                                       state / "daemon.log", cfg.env))
        cfg.quiet()
        for d in running:
            d.start(120)
        for d in running:
            d.wait_for(d.first_crawl_done, 600, "the first full crawl", every=0.2)
        began = time.time()
        for host, itar, out in hosts:
            names = sorted(p.name for p in itar.iterdir())
            copies.append(spawn(["cp", "-t", str(out), *(str(itar / n) for n in names)],
                                base / f"cp-{host}.log", cfg.env))
        for proc in copies:
            if reap(proc, 300) != 0:
                raise BenchError(f"cp failed: {tail(base / 'cp-fs-0.log')}")
        copied = time.time()
        count = "SELECT count(*), count(DISTINCT host || ':' || path), max(created) FROM alerts"
        last, last_change = -1, time.monotonic()
        while True:
            n, distinct, latest = store.query(cfg.pg, count)[0]
            if n != last:
                last, last_change = n, time.monotonic()
            if distinct >= total or time.monotonic() - last_change > 30:
                break
            for d in running:
                if d.proc is None or d.proc.poll() is not None:
                    raise DaemonError(f"a daemon died\n{tail(d.log)}")
            time.sleep(0.1)
        time.sleep(1.0)  # a late double would show here
        n, distinct, latest = store.query(cfg.pg, count)[0]
        per_host = dict(store.query(cfg.pg, "SELECT host, count(*) FROM alerts GROUP BY host"))
    finally:
        for d in running:
            d.stop()
        cfg.stores.drop(store)
        shutil.rmtree(base, ignore_errors=True)
    seconds = (latest or began) - began
    result = {"engine": engine, "daemons": daemons, "round": number, "alerts": distinct,
              "lost": total - distinct, "doubled": n - distinct, "seconds": seconds,
              "copy_s": copied - began, "rate": distinct / seconds if seconds > 0 else 0.0,
              "per_host": per_host}
    print(f"  alerts {engine} x{daemons} round {number}: {distinct}/{total} in "
          f"{seconds:.1f} s ({result['rate']:.0f}/s), lost {result['lost']}, doubled "
          f"{result['doubled']}; per host {per_host}", flush=True)
    return result


# -- 4: access-log flush ------------------------------------------------------------------------


def access_worker(url: str, host: str, rows: int, batch: int, start_at: float,
                  out: Path) -> None:
    """One writer process: ``rows`` access records in transactions of ``batch``."""
    from dlpd.model import AccessKind, Actor  # the worker's imports only
    from dlpd.store.access import AccessRecord, insert_records
    from dlpd.store.db import open_engine, transaction

    engine = open_engine(url, create=False)
    actor = Actor(pid=4242, uid=1000, user="alice", gid=1000, ppid=1, exe="/usr/bin/python3",
                  cmdline="python3 train.py --epochs 40 /data/itar/k17")
    now = time.time()
    records = [AccessRecord(path=f"/data/{host}/itar/k{i // 1000:04d}/part-{i:07d}.h5",
                            kind=AccessKind.OPENED, labels=("export-controlled",),
                            first=now, last=now, count=1, actor=actor) for i in range(rows)]
    while time.time() < start_at:
        time.sleep(0.005)
    began = time.time()
    for i in range(0, rows, batch):
        with transaction(engine) as conn:
            insert_records(conn, records[i:i + batch], host=host)
    out.write_text(json.dumps({"began": began, "ended": time.time(), "rows": rows}))
    engine.dispose()


def access_run(cfg: Cfg, engine: str, writers: int, rows: int, batch: int,
               number: int) -> dict[str, Any]:
    store = cfg.stores.fresh(engine)
    outs = [cfg.base / f"access-{engine}-{writers}-{batch}-{number}-{w}.json"
            for w in range(writers)]
    try:
        cfg.quiet()
        start_at = time.time() + 3.0  # every worker imported and connected by then
        procs = [spawn([sys.executable, __file__, "access-worker", store.url, f"fs-{w}",
                        str(rows // writers), str(batch), str(start_at), str(out)],
                       out.with_suffix(".log"), cfg.env) for w, out in enumerate(outs)]
        for proc, out in zip(procs, outs, strict=True):
            if reap(proc, 900) != 0:
                raise BenchError(f"access worker failed: {tail(out.with_suffix('.log'))}")
        done = [json.loads(o.read_text()) for o in outs]
        stored = store.query(cfg.pg, "SELECT count(*) FROM access")[0][0]
    finally:
        cfg.stores.drop(store)
    seconds = max(d["ended"] for d in done) - min(d["began"] for d in done)
    written = sum(d["rows"] for d in done)
    if stored != written:
        raise BenchError(f"access {engine}: {stored} rows stored of {written}")
    result = {"engine": engine, "writers": writers, "batch": batch, "round": number,
              "rows": written, "seconds": seconds, "rate": written / seconds}
    print(f"  access {engine} x{writers} batch {batch} round {number}: {written:,} rows in "
          f"{seconds:.2f} s ({result['rate']:,.0f}/s)", flush=True)
    return result


# -- the run ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cfg:
    base: Path  # databases (--db-dir)
    scratch: Path  # trees (--scratch)
    pg: PgServer
    stores: Stores
    env: dict[str, str]
    rounds: int
    quiet_wait: float

    def quiet(self) -> None:
        if self.quiet_wait > 0:
            wait_for_quiet(self.quiet_wait)


def interleaved(cfg: Cfg, cases: list[tuple[Any, ...]],
                run: Callable[..., dict[str, Any]]) -> list[dict[str, Any]]:
    """Every case once a round, the order reversed every other round."""
    results = []
    for number in range(1, cfg.rounds + 1):
        for case in cases if number % 2 else cases[::-1]:
            results.append(run(cfg, *case, number))
    return results


def parse_args(argv: list[str]) -> argparse.Namespace:
    def ints(text: str) -> list[int]:
        return [int(x) for x in text.split(",") if x]

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a try (~3 min): 20k files, 400 alerts, 20k access rows, 1 round")
    parser.add_argument("--files", type=ints, default=[200_000, 1_000_000])
    parser.add_argument("--alerts", type=int, default=2000, help="alerts a case (all hosts)")
    parser.add_argument("--access-rows", type=int, default=200_000,
                        help="rows a case in batches of 1,000 (a tenth in batches of 10)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db-dir", type=Path, default=Path("/var/tmp"),
                        help="where the SQLite files and the PostgreSQL cluster go")
    parser.add_argument("--scratch", type=Path, default=Path("/dev/shm"),
                        help="where the trees go")
    parser.add_argument("--quiet-wait", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--keep", action="store_true", help="keep the directories")
    args = parser.parse_args(argv)
    if args.quick:  # smaller defaults; sizes given on the command line stay
        for name, small in (("files", [20_000]), ("alerts", 400), ("access_rows", 20_000),
                            ("rounds", 1)):
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, small)
    return args


@contextlib.contextmanager
def directories(args: argparse.Namespace) -> Iterator[tuple[Path, Path]]:
    base = Path(tempfile.mkdtemp(prefix="dlpd-fleet-", dir=args.db_dir))
    base.chmod(0o755)  # the postgres user reaches its cluster inside
    scratch = Path(tempfile.mkdtemp(prefix="dlpd-fleet-", dir=args.scratch))
    try:
        yield base, scratch
    finally:
        if args.keep:
            print(f"kept: {base}, {scratch}")
        else:
            shutil.rmtree(base, ignore_errors=True)
            shutil.rmtree(scratch, ignore_errors=True)


def run(args: argparse.Namespace, argv: list[str]) -> int:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    began = time.monotonic()
    report: dict[str, Any] = {"timestamp": stamp, "command": shlex.join(
        ["bench/fleet_bench.py", *argv]), "loadavg_before": os.getloadavg()}
    with directories(args) as (base, scratch):
        pg = PgServer(base / "pg")
        pg.directory.mkdir()
        try:
            pg.start()
            env = child_env(scratch)
            cfg = Cfg(base, scratch, pg, Stores(base, pg, env), env, args.rounds,
                      args.quiet_wait)
            report["machine"] = {**machine(argparse.Namespace(scratch=scratch)),  # type: ignore[arg-type]
                                 "db_fs": fs_of(base), "tree_fs": fs_of(scratch),
                                 "postgresql": pg.query("SHOW server_version")[0][0],
                                 "pg_settings": {k: pg.setting(k) for k in (
                                     "fsync", "synchronous_commit", "shared_buffers",
                                     "wal_level", "max_connections")}}
            print(f"databases on {report['machine']['db_fs']}, trees on "
                  f"{report['machine']['tree_fs']}; PostgreSQL "
                  f"{report['machine']['postgresql']} {report['machine']['pg_settings']}",
                  flush=True)
            report["scans"] = [scan_step(cfg, n) for n in args.files]
            report["alerts"] = interleaved(cfg, [("sqlite", 1, args.alerts),
                                                 ("postgresql", 1, args.alerts),
                                                 ("postgresql", 4, args.alerts)], alert_run)
            rows, few = args.access_rows, max(40, args.access_rows // 10)
            report["access"] = interleaved(cfg, [
                (e, w, n, b) for b, n in ((1000, rows), (10, few))
                for e, w in (("sqlite", 1), ("sqlite", 4), ("postgresql", 1),
                             ("postgresql", 4))], access_run)
        finally:
            kill_all()
            pg.stop()
    report["elapsed_s"] = time.monotonic() - began
    report["loadavg_after"] = os.getloadavg()
    markdown = render(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"fleet-{stamp}.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.out / f"fleet-{stamp}.md").write_text(markdown)
    (args.out / "fleet-latest.md").write_text(markdown)
    print("\n" + markdown)
    bad = [a for a in report["alerts"] if a["lost"] or a["doubled"]]
    return 1 if bad else 0


def fs_of(path: Path) -> str:
    best, kind = "", "unknown"
    for line in Path("/proc/mounts").read_text().splitlines():
        _dev, point, fstype, *_ = line.split()
        if str(path).startswith(point) and len(point) > len(best):
            best, kind = point, f"{fstype} ({point})"
    return kind


# -- the report ---------------------------------------------------------------------------------


def med(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in rows) if rows else float("nan")


def render(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [
        f"# dlpd fleet benchmark, {r['timestamp']}", "",
        f"Command: `{r['command']}` ({r['elapsed_s'] / 60:.1f} min). Machine: {m['nproc']} "
        f"CPUs ({m['cpu_model']}), {m['mem_total_mb']} MB RAM, Linux {m['kernel']}, Python "
        f"{m['python']}. Load average before {[round(x, 2) for x in r['loadavg_before']]}, "
        f"after {[round(x, 2) for x in r['loadavg_after']]}.",
        f"Databases on {m['db_fs']}, trees on {m['tree_fs']}. PostgreSQL {m['postgresql']}: "
        + ", ".join(f"{k} = {v}" for k, v in m["pg_settings"].items())
        + "; SQLite: WAL, synchronous = NORMAL (dlpd's).", "",
        "## Scans (medians; peak RSS of `dlpd scan`) and size after the cold scan", "",
        "| files | engine | cold s | warm s | warm CPU s | warm rounds s | peak RSS cold / warm "
        "| files+detections MB per 1M files | DB growth MB per 1M | DB MB |",
        "|---:|---|---:|---:|---:|---|---|---:|---:|---:|",
    ]
    for s in r["scans"]:
        for e in ENGINES:
            cold, warm, size = s[f"{e}_cold"], s[f"{e}_warm"], s[f"{e}_size"]
            lines.append(f"| {s['files']:,} | {e} | {cold['wall_s']:.1f} | {warm['wall_s']:.2f} "
                         f"| {warm['cpu_s']:.2f} | {warm['rounds_s']} | {cold['rss_mb']:.0f} / "
                         f"{warm['rss_mb']:.0f} MB | {size['tables_mb_per_m']:,.0f} | "
                         f"{size['growth_mb_per_m']:,.0f} | {size['whole_mb']:,.0f} |")
    rows = r["scans"][0]["sqlite_size"] if r["scans"] else {}
    lines += ["", f"Rows a scan leaves: {rows.get('files_rows', 0):,} files, "
              f"{rows.get('detections_rows', 0):,} detections (1 file in {SENSITIVE_EVERY} "
              "ITAR-marked) at the first size.", "",
              "## Alerts from real daemons (files copied out of their approved place)", "",
              "| engine | daemons | alerts | alerts/s (median) | rounds/s | lost | doubled |",
              "|---|---:|---:|---:|---|---:|---:|"]
    for e, d in (("sqlite", 1), ("postgresql", 1), ("postgresql", 4)):
        runs = [a for a in r["alerts"] if a["engine"] == e and a["daemons"] == d]
        if runs:
            lines.append(f"| {e} | {d} | {runs[0]['alerts'] + runs[0]['lost']:,} | "
                         f"{med(runs, 'rate'):,.0f} | {[round(a['rate']) for a in runs]} | "
                         f"{sum(a['lost'] for a in runs)} | {sum(a['doubled'] for a in runs)} |")
    lines += ["", "## Access-log flush (`insert_records`, one transaction a batch)", "",
              "| engine | writer processes | rows a transaction | rows | rows/s (median) "
              "| transactions/s |", "|---|---:|---:|---:|---:|---:|"]
    for key in dict.fromkeys((a["engine"], a["writers"], a["batch"]) for a in r["access"]):
        runs = [a for a in r["access"] if (a["engine"], a["writers"], a["batch"]) == key]
        rate = med(runs, "rate")
        lines.append(f"| {key[0]} | {key[1]} | {key[2]:,} | {runs[0]['rows']:,} | {rate:,.0f} "
                     f"| {rate / key[2]:,.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else argv
    if raw[:1] == ["access-worker"]:
        url, host, rows, batch, start_at, out = raw[1:7]
        access_worker(url, host, int(rows), int(batch), float(start_at), Path(out))
        return 0
    args = parse_args(raw)
    # Ctrl-C even when started from a script in the background (which ignores SIGINT).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return guarded_main("fleet_bench", lambda: run(args, raw))


if __name__ == "__main__":
    sys.exit(main())
