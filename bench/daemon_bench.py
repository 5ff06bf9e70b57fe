"""Benchmark ``dlpd run``: event-to-alert latency, storm drain, idle cost at scale.

    python bench/daemon_bench.py [--quick] [--rounds 3] [--rates 10,100,1000]
                                 [--seconds 10,5,3] [--mix SPEC] [--mix-rate 100]
                                 [--storms 10000:3,100000:3] [--idle-dirs 50000]
                                 [--idle-seconds 30] [--backends inotify,watchdog]
                                 [--scratch /dev/shm] [--out bench/results] [--keep]

Every measurement runs the real daemon (``python -m dlpd run --config CFG``, READY=1 on
our own NOTIFY_SOCKET) once per backend, ``[watch] backend = "inotify"`` (dlpd's reader,
the default on Linux) and ``"watchdog"`` (the reference), interleaved in one run and on
tmpfs (trees and SQLite store under ``--scratch``), so that both see the same machine:

1. latency: a writer process creates ITAR-marked files at a paced rate in a watched,
   non-approved directory; latency = the alert row's ``created`` minus the wall time the
   writer closed the file. Also at ``--mix-rate`` with 1 MB and 10 MB files mixed in.
2. storms: N files as fast as possible over 10 directories, 5% sensitive; drain = first
   write until every file has a ``files`` row and every sensitive one an alert.
3. idle: a tree of ``--idle-dirs`` directories; after READY and the first crawl, the
   daemon's CPU (/proc/PID/stat) over ``--idle-seconds`` and VmRSS/VmHWM.

Results: ``OUT/daemon-latest.md`` (and ``OUT/daemon-<UTC>.{md,json}``).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import datetime as dt
import hashlib
import json
import math
import os
import platform
import shlex
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any

from bench_machine import _cpu_model, _mem_total_mb
from bench_proc import cpu_idle_fraction, wait_for_quiet
from daemon_proc import BenchDaemon, DaemonError, kill_all, prefix_range, reap, spawn, tail
from daemon_report import (
    MEASURED,
    REFERENCE,
    LatencySummary,
    build_targets,
    fmt,
    idle_table,
    latency_table,
    ratio,
    size_lines,
    stall_lines,
    storm_table,
    summarize_latency,
    summarize_storm,
    targets_table,
)
from daemon_writer import SENSITIVE_EVERY

REPO = Path(__file__).resolve().parent.parent
WRITER = Path(__file__).with_name("daemon_writer.py")
PYCACHE = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dlpd-bench" / "pycache"
)
QUEUE_SYSCTL = "/proc/sys/fs/inotify/max_queued_events"
WATCHES_SYSCTL = "/proc/sys/fs/inotify/max_user_watches"
DEFAULT_MIX = "4096:45,1048576:4,10485760:1"
STORM_DIRS = 10


class BenchError(Exception):
    """The benchmark cannot go on; the message says why."""


# -- set-up -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Setup:
    dlpd: list[str]
    scratch: Path
    env: dict[str, str]
    quiet_wait: float
    drain_timeout: float
    ready_timeout: float


def child_env(scratch: Path) -> dict[str, str]:
    """As in scan_bench.py: no default path escapes into the real home, and bytecode is
    cached (as for an installed package) even where PYTHONDONTWRITEBYTECODE is set."""
    env = {**os.environ, "XDG_STATE_HOME": str(scratch / "xdg-state"),
           "PYTHONPYCACHEPREFIX": str(PYCACHE)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("NOTIFY_SOCKET", None)
    return env


def config_text(state: Path, watch: Path, approved: Path, backend: str) -> str:
    return (
        f'[database]\nurl = "sqlite:///{state / "dlpd.db"}"\n\n'
        f'[daemon]\nruntime_dir = "{state / "run"}"\nshutdown_timeout = "10s"\n\n'
        f'[watch]\npaths = [{json.dumps(str(watch))}]\nbackend = "{backend}"\n'
        f'reconcile_interval = "1h"\n\n'
        f'[labels.export-controlled]\nseverity = "high"\n'
        f"approved = [{json.dumps(str(approved))}]\n"
    )


@contextlib.contextmanager
def daemon_on(setup: Setup, name: str, tree: Path, backend: str,
              ready_timeout: float | None = None) -> Iterator[tuple[BenchDaemon, float, float]]:
    """A fresh state directory and daemon watching ``tree``; yields (daemon, seconds to
    READY=1, seconds from READY=1 to the end of the first full crawl)."""
    state = setup.scratch / f"state-{name}-{backend}"
    state.mkdir(parents=True)
    approved = tree / "itar"
    approved.mkdir(exist_ok=True)
    config = state / "dlpd.toml"
    config.write_text(config_text(state, tree, approved, backend))
    daemon = BenchDaemon(setup.dlpd, config, state / "dlpd.db", state / "run",
                         state / "daemon.log", setup.env)
    try:
        ready = daemon.start(ready_timeout or setup.ready_timeout)
        crawl = daemon.wait_for(daemon.first_crawl_done, ready_timeout or setup.ready_timeout,
                                "the first full crawl", every=0.1)
        yield daemon, ready, crawl
    finally:
        code = daemon.stop()
        if code not in (0, -signal.SIGTERM):
            print(f"    warning: daemon {name}/{backend} exited {code}; log tail:\n"
                  f"{tail(daemon.log, 1500)}", flush=True)


def run_writer(setup: Setup, args: list[str], out: Path, timeout: float) -> dict[str, Any]:
    log = out.with_suffix(".log")
    proc = spawn([sys.executable, str(WRITER), *args, "--out", str(out)], log, setup.env)
    code = reap(proc, timeout)
    if code != 0:
        raise BenchError(f"writer exited {code}: {shlex.join(args)}\n{tail(log)}")
    return dict(json.loads(out.read_text()))


def quiet(setup: Setup) -> float:
    """Wait (bounded) for the CPUs to be mostly idle; returns the idle share seen."""
    return wait_for_quiet(setup.quiet_wait) if setup.quiet_wait > 0 else cpu_idle_fraction(0.5)


def backend_order(backends: list[str], number: int) -> list[str]:
    """Alternate which backend goes first, so that drift hits both alike."""
    return backends if number % 2 else backends[::-1]


# -- 1. latency ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    rate: float
    count: int
    mix: str


def latency_cases(args: argparse.Namespace) -> list[Case]:
    cases = [Case(f"{rate:g} files/s", rate, max(20, int(rate * secs)), "512:1")
             for rate, secs in zip(args.rates, args.seconds, strict=True)]
    if args.mix_rate > 0:
        count = max(20, int(args.mix_rate * args.mix_seconds))
        cases.append(Case(f"{args.mix_rate:g} files/s, 1+10 MB mix", args.mix_rate, count,
                          args.mix))
    return cases


def alert_times(daemon: BenchDaemon, directory: Path) -> dict[str, list[float]]:
    low, high = prefix_range(directory)
    found: dict[str, list[float]] = {}
    for path, created in daemon.query(
            "SELECT path, created FROM alerts WHERE path >= ? AND path < ? ORDER BY created",
            low, high):
        found.setdefault(path, []).append(created)
    return found


def wait_drained(setup: Setup, daemon: BenchDaemon, count: Callable[[], int], goal: int,
                 what: str) -> bool:
    """Until ``count() >= goal``; gives up when the daemon has been idle (queue empty, no
    crawl) with no progress for 5 s, or after ``drain_timeout``. True if reached."""
    began = time.monotonic()
    last, last_change = -1, time.monotonic()
    while True:
        now_count = count()
        if now_count >= goal:
            return True
        now = time.monotonic()
        if now_count != last:
            last, last_change = now_count, now
        st = daemon.status()
        idle = st.get("queue_depth") == 0 and not st.get("crawl_running_since") \
            and not st.get("crawl_pending")
        if (idle and now - last_change > 5) or now - began > setup.drain_timeout:
            print(f"    gave up waiting for {what}: {now_count}/{goal} after "
                  f"{now - began:.0f} s", flush=True)
            return False
        if daemon.proc is None or daemon.proc.poll() is not None:
            raise DaemonError(f"daemon died while draining {what}\n{tail(daemon.log)}")
        time.sleep(0.2)


def run_case(setup: Setup, daemon: BenchDaemon, tree: Path, case: Case, slug: str
             ) -> dict[str, Any]:
    directory = tree / slug
    directory.mkdir()
    time.sleep(0.3)  # DIR_CREATED: the new directory's watch and crawl
    cpu0, wall0 = daemon.cpu_seconds(), time.time()
    before = daemon.fresh_status(wall0).get("events_by_kind", {})
    out = daemon.log.with_name(f"writer-{slug}.json")
    timeout = case.count / case.rate + 120
    wrote = run_writer(setup, ["paced", "--dir", str(directory), "--rate", str(case.rate),
                               "--count", str(case.count), "--mix", case.mix], out, timeout)
    files = {str(directory / name): (closed, size) for name, _o, closed, size in wrote["files"]}
    low, high = prefix_range(directory)

    def alerted() -> int:
        return int(daemon.query("SELECT count(DISTINCT path) FROM alerts WHERE path >= ? "
                                "AND path < ?", low, high)[0][0])

    wait_drained(setup, daemon, alerted, len(files), f"alerts for {case.name}")
    cpu = daemon.cpu_seconds() - cpu0
    found = alert_times(daemon, directory)
    after = daemon.fresh_status(time.time()).get("events_by_kind", {})
    latencies = [(size, found[path][0] - closed)
                 for path, (closed, size) in files.items() if path in found]
    missed = sorted(p for p in files if p not in found)
    result = {
        "written": len(files), "missed": len(missed), "missed_paths": missed[:20],
        "latencies": latencies,
        "duplicates": sum(len(v) - 1 for v in found.values()),
        "writer_lag": float(wrote["worst_lag"]),
        "daemon_cpu_s": round(cpu, 2),
        "events": {k: after.get(k, 0) - before.get(k, 0) for k in after},
    }
    result["stalls"] = commit_stalls(
        [(closed, found[path][0]) for path, (closed, _s) in files.items() if path in found])
    lat = sorted(s for _, s in latencies)
    p50 = lat[len(lat) // 2] * 1e3 if lat else math.nan
    print(f"    {case.name:<28} {len(files):5d} files, missed {len(missed)}, "
          f"p50 {fmt(p50)} ms, max {fmt(lat[-1] * 1e3 if lat else math.nan)} ms, "
          f"daemon cpu {cpu:.1f} s, writer lag {wrote['worst_lag'] * 1e3:.0f} ms", flush=True)
    return result


def commit_stalls(pairs: list[tuple[float, float]], over: float = 0.1) -> list[list[float]]:
    """Pauses in the daemon's alert commits while work waited: gaps between consecutive
    alert times that some file spent entirely waiting (closed before the gap began,
    alerted after it ended). Returns [start, seconds] for gaps longer than ``over``; their
    spacing tells a periodic stall (a timer in the daemon) from load."""
    if not pairs:
        return []
    by_alert = sorted(pairs, key=lambda p: p[1])
    # suffix minimum of close times over files alerted at or after each position
    suffix = [0.0] * len(by_alert)
    low = math.inf
    for i in range(len(by_alert) - 1, -1, -1):
        low = min(low, by_alert[i][0])
        suffix[i] = low
    stalls = []
    for i in range(len(by_alert) - 1):
        start, end = by_alert[i][1], by_alert[i + 1][1]
        if end - start > over and suffix[i + 1] <= start:
            stalls.append([round(start, 3), round(end - start, 3)])
    return stalls


def latency_round(setup: Setup, cases: list[Case], backend: str, number: int
                  ) -> dict[str, Any]:
    tree = setup.scratch / f"lat-{number}-{backend}"
    tree.mkdir()
    idle = quiet(setup)
    print(f"  latency round {number}, {backend} (CPU idle before: {idle:.0%})", flush=True)
    with daemon_on(setup, f"lat-{number}", tree, backend) as (daemon, ready, _crawl):
        results = {case.name: run_case(setup, daemon, tree, case, f"case{i}")
                   for i, case in enumerate(cases)}
        hwm = daemon.memory_kib().get("VmHWM", 0)
    shutil.rmtree(tree, ignore_errors=True)
    return {"backend": backend, "round": number, "cpu_idle_before": idle, "ready_s": ready,
            "hwm_kib": hwm, "cases": results}


# -- 2. storms ------------------------------------------------------------------------------


def storm_run(setup: Setup, count: int, backend: str, number: int) -> dict[str, Any]:
    tree = setup.scratch / f"storm{count}-{number}-{backend}"
    data = tree / "storm"
    for i in range(STORM_DIRS):
        (data / f"d{i}").mkdir(parents=True)
    idle = quiet(setup)
    print(f"  storm {count:,} round {number}, {backend} (CPU idle before: {idle:.0%})",
          flush=True)
    sensitive = (count + SENSITIVE_EVERY - 1) // SENSITIVE_EVERY
    low, high = prefix_range(data)
    with daemon_on(setup, f"storm{count}-{number}", tree, backend) as (daemon, _r, _c):
        cpu0 = daemon.cpu_seconds()
        out = daemon.log.with_name("writer-storm.json")
        wrote = run_writer(setup, ["storm", "--root", str(data), "--dirs", str(STORM_DIRS),
                                   "--count", str(count)], out, 600)
        state = {"files": 0, "alerts": 0}

        def done() -> int:
            state["files"] = int(daemon.query(
                "SELECT count(*) FROM files WHERE path >= ? AND path < ?", low, high)[0][0])
            if state["files"] >= count:
                state["alerts"] = int(daemon.query(
                    "SELECT count(DISTINCT path) FROM alerts WHERE path >= ? AND path < ?",
                    low, high)[0][0])
            return int(state["files"] >= count and state["alerts"] >= sensitive)

        reached = wait_drained(setup, daemon, done, 1, f"storm {count:,}")
        drained_at = time.time()
        cpu = daemon.cpu_seconds() - cpu0
        if not reached:
            state["alerts"] = int(daemon.query(
                "SELECT count(DISTINCT path) FROM alerts WHERE path >= ? AND path < ?",
                low, high)[0][0])
        st = daemon.fresh_status(drained_at)
        hwm = daemon.memory_kib().get("VmHWM", 0)
        crawls = full_crawls(daemon)
    shutil.rmtree(tree, ignore_errors=True)
    result = {
        "count": count, "backend": backend, "round": number, "cpu_idle_before": idle,
        "write_s": wrote["last_close"] - wrote["first_write"],
        "drain_s": (drained_at - wrote["first_write"]) if reached else math.nan,
        "closed_write": st.get("events_by_kind", {}).get("closed_write", 0),
        "events_by_kind": st.get("events_by_kind", {}),
        "overflows": st.get("overflows", 0),
        "missing_files": count - state["files"],
        "missing_alerts": sensitive - state["alerts"],
        "cpu_s": cpu, "hwm_kib": hwm, "full_crawls": crawls,
        "scanned": st.get("scanned", 0),
    }
    print(f"    wrote in {result['write_s']:.1f} s, drained {fmt(result['drain_s'])} s after "
          f"the first write; close events {result['closed_write']}, overflows "
          f"{result['overflows']}, full crawls {crawls}, missing rows/alerts "
          f"{result['missing_files']}/{result['missing_alerts']}, daemon cpu {cpu:.1f} s, "
          f"VmHWM {hwm / 1024:.0f} MB", flush=True)
    return result


def full_crawls(daemon: BenchDaemon) -> int:
    """Full crawls the daemon logged (the start-up one included)."""
    try:
        text = daemon.log.read_text(errors="replace")
    except OSError:
        return 0
    return sum(1 for line in text.splitlines()
               if "crawl finished" in line and '"full": true' in line)


# -- 3. idle ----------------------------------------------------------------------------------


def make_dir_tree(root: Path, dirs: int) -> int:
    """About ``dirs`` directories as ROOT/pNNNN/dNN: parents of 100 subdirectories each
    (parents counted). Returns how many were made."""
    root.mkdir(parents=True)
    made, parent_no = 0, 0
    while made < dirs:
        parent = root / f"p{parent_no:04d}"
        parent.mkdir()
        made += 1
        for child in range(min(100, dirs - made)):
            (parent / f"d{child:02d}").mkdir()
            made += 1
        parent_no += 1
    return made


def idle_run(setup: Setup, tree: Path, dirs: int, backend: str, seconds: float
             ) -> dict[str, Any]:
    idle = quiet(setup)
    print(f"  idle, {backend}, {dirs:,} dirs (CPU idle before: {idle:.0%})", flush=True)
    with daemon_on(setup, "idle", tree, backend, ready_timeout=600) as (daemon, ready, crawl):
        time.sleep(2.0)  # let the crawl's last writes and the status tick pass
        st = daemon.status()
        cpu0, t0 = daemon.cpu_seconds(), time.monotonic()
        samples = []
        end = t0 + seconds
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(5.0, left))
            samples.append(daemon.cpu_seconds())
        used = daemon.cpu_seconds() - cpu0
        span = time.monotonic() - t0
        mem = daemon.memory_kib()
    result = {
        "backend": backend, "dirs": dirs, "watched_dirs": int(st.get("watched_dirs", 0)),
        "ready_s": ready, "first_crawl_s": crawl, "cpu_idle_before": idle,
        "cpu_pct": 100 * used / span, "cpu_seconds": used, "span_s": span,
        "rss_kib": mem.get("VmRSS", 0), "hwm_kib": mem.get("VmHWM", 0),
        "threads": mem.get("Threads", 0),
        "cpu_steps": [round(b - a, 3) for a, b in zip([cpu0, *samples], samples, strict=False)],
    }
    print(f"    READY {ready:.1f} s, first crawl {crawl:.1f} s, watched {result['watched_dirs']:,};"
          f" idle CPU {result['cpu_pct']:.2f}% over {span:.0f} s, VmRSS "
          f"{result['rss_kib'] / 1024:.0f} MB, VmHWM {result['hwm_kib'] / 1024:.0f} MB",
          flush=True)
    return result


# -- machine, sysctl ------------------------------------------------------------------------


def read_int(path: str) -> int | None:
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


def machine(setup: Setup) -> dict[str, Any]:
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    fs = "unknown"
    with contextlib.suppress(OSError):
        mounts = Path("/proc/mounts").read_text().splitlines()
        best = ""
        for line in mounts:
            _dev, point, kind, *_ = line.split()
            if str(setup.scratch).startswith(point) and len(point) > len(best):
                best, fs = point, f"{kind} ({point})"
    return {
        "nproc": os.cpu_count(), "cpu_model": _cpu_model(), "mem_total_mb": _mem_total_mb(),
        "kernel": platform.release(), "python": platform.python_version(),
        "dlpd": version("dlpd"), "watchdog": version("watchdog"),
        "yara_python": version("yara-python"),
        "max_queued_events": read_int(QUEUE_SYSCTL),
        "max_user_watches": read_int(WATCHES_SYSCTL),
        "scratch_fs": fs,
    }


@contextlib.contextmanager
def queue_size(value: int | None, sysctls: Sequence[str | Path] = (QUEUE_SYSCTL,)
               ) -> Iterator[None]:
    """Raise the kernel's event-queue limits (``sysctls``; default inotify's) for the run
    (root only), then restore them. They are global: instances created meanwhile by
    anything on the machine get them too."""
    if value is None:
        yield
        return
    paths = [Path(p) for p in sysctls]
    old = {path: path.read_text() for path in paths}
    try:
        for path in paths:
            path.write_text(f"{value}\n")
    except OSError as exc:
        for path, text in old.items():
            path.write_text(text)
        raise BenchError(f"cannot set the queue sysctls (root needed): {exc.strerror}") from exc
    try:
        yield
    finally:
        for path, text in old.items():
            path.write_text(text)


def source_digest() -> str:
    """sha256 over dlpd's Python sources (path and content): which code the daemons ran,
    without asking git; compared at the start and the end of the run, since others may
    edit the tree meanwhile."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "dlpd").rglob("*.py")):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0")
        with contextlib.suppress(OSError):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


# -- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    def floats(text: str) -> list[float]:
        return [float(x) for x in text.split(",") if x]

    def storms(text: str) -> list[tuple[int, int]]:
        out = []
        for part in text.split(","):
            count, _, rounds = part.partition(":")
            out.append((int(count), int(rounds or "1")))
        return out

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a fast pass (~2 min): 1 round, short cases, 10k storm, "
                             "10k idle dirs for 10 s")
    parser.add_argument("--rounds", type=int, default=3, help="latency rounds per backend")
    parser.add_argument("--rates", type=floats, default=[10.0, 100.0, 1000.0])
    parser.add_argument("--seconds", type=floats, default=[10.0, 5.0, 3.0],
                        help="writing time of each rate's case (files = rate x seconds)")
    parser.add_argument("--mix", default=DEFAULT_MIX,
                        help="sizes of the mixed case, SIZE:WEIGHT,... (default: per 50 "
                             "files 45 x 4 KiB, 4 x 1 MiB, 1 x 10 MiB)")
    parser.add_argument("--mix-rate", type=float, default=100.0, help="0: no mixed case")
    parser.add_argument("--mix-seconds", type=float, default=5.0)
    parser.add_argument("--storms", type=storms, default=[(10_000, 3), (100_000, 3)],
                        help="COUNT:ROUNDS,... (default 10000:3,100000:3)")
    parser.add_argument("--idle-dirs", type=int, default=50_000)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--backends", default=f"{MEASURED},{REFERENCE}")
    parser.add_argument("--scratch", type=Path, default=Path("/dev/shm"),
                        help="where trees and stores go (default /dev/shm: tmpfs)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--dlpd", default=f"{shlex.quote(sys.executable)} -m dlpd")
    parser.add_argument("--quiet-wait", type=float, default=10.0,
                        help="before each run wait up to this long for 85%% idle CPUs")
    parser.add_argument("--drain-timeout", type=float, default=600.0)
    parser.add_argument("--max-queued-events", type=int, default=None,
                        help="set fs.inotify.max_queued_events for the run (root; global)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.seconds, args.mix_seconds = 1, [3.0, 3.0, 2.0], 3.0
        args.storms, args.idle_dirs, args.idle_seconds = [(10_000, 1)], 10_000, 10.0
    if len(args.seconds) != len(args.rates):
        parser.error("--seconds needs one value per --rates value")
    args.backends = [b for b in args.backends.split(",") if b]
    if any(b not in (MEASURED, REFERENCE) for b in args.backends):
        parser.error(f"--backends: {MEASURED} and/or {REFERENCE}")
    return args


def run(args: argparse.Namespace, argv: list[str]) -> int:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    args.scratch.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="dlpd-daemon-bench-", dir=args.scratch))
    setup = Setup(shlex.split(args.dlpd), scratch, child_env(scratch), args.quiet_wait,
                  args.drain_timeout, 120.0)
    began = time.monotonic()
    load_before = os.getloadavg()
    cases = latency_cases(args)
    lat_rounds: list[dict[str, Any]] = []
    storm_runs: list[dict[str, Any]] = []
    idle_runs: list[dict[str, Any]] = []
    errors: list[str] = []
    digest_before = source_digest()
    try:
        info = machine(setup)
        print(f"scratch {scratch} on {info['scratch_fs']}; fs.inotify.max_queued_events "
              f"{info['max_queued_events']}, max_user_watches {info['max_user_watches']}",
              flush=True)
        for number in range(1, args.rounds + 1):
            for backend in backend_order(args.backends, number):
                attempt(errors, f"latency round {number} {backend}", lat_rounds,
                        lambda b=backend, n=number: latency_round(setup, cases, b, n))
        for count, rounds in args.storms:
            for number in range(1, rounds + 1):
                for backend in backend_order(args.backends, number):
                    attempt(errors, f"storm {count} round {number} {backend}", storm_runs,
                            lambda c=count, b=backend, n=number: storm_run(setup, c, b, n))
        if args.idle_dirs > 0:
            tree = scratch / "idle"
            t0 = time.monotonic()
            made = make_dir_tree(tree / "dirs", args.idle_dirs)
            print(f"  made {made:,} directories in {time.monotonic() - t0:.1f} s", flush=True)
            for backend in args.backends:
                attempt(errors, f"idle {backend}", idle_runs,
                        lambda b=backend: idle_run(setup, tree, made, b, args.idle_seconds))
    finally:
        kill_all()
        if args.keep:
            print(f"scratch kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    elapsed = time.monotonic() - began
    report = build_report(args, argv, stamp, info, cases, lat_rounds, storm_runs, idle_runs,
                          load_before, elapsed)
    report["json"]["errors"] = errors
    digest_after = source_digest()
    report["json"]["source"] = {"before": digest_before, "after": digest_after}
    markdown = render(report)
    args.out.mkdir(parents=True, exist_ok=True)
    base = args.out / f"daemon-{stamp}"
    base.with_suffix(".json").write_text(json.dumps(report["json"], indent=1) + "\n")
    base.with_suffix(".md").write_text(markdown)
    (args.out / "daemon-latest.md").write_text(markdown)
    print("\n" + markdown)
    print(f"written: {base}.json, {base}.md, {args.out / 'daemon-latest.md'}")
    targets = report["targets"]
    if errors:
        return 2
    return 0 if all(t.met(MEASURED) is not False for t in targets) else 1


def attempt(errors: list[str], what: str, into: list[dict[str, Any]],
            measure: Callable[[], dict[str, Any]]) -> None:
    """One run; a daemon that fails is reported (and its run left out), not fatal."""
    try:
        into.append(measure())
    except (DaemonError, BenchError) as exc:
        print(f"    FAILED: {what}: {exc}", flush=True)
        errors.append(f"{what}: {str(exc).splitlines()[0]}")
    finally:
        kill_all()


def build_report(args: argparse.Namespace, argv: list[str], stamp: str, info: dict[str, Any],
                 cases: list[Case], lat_rounds: list[dict[str, Any]],
                 storm_runs: list[dict[str, Any]], idle_runs: list[dict[str, Any]],
                 load_before: tuple[float, float, float], elapsed: float) -> dict[str, Any]:
    latency: list[LatencySummary] = []
    for case in cases:
        for backend in args.backends:
            rounds = [r["cases"][case.name] for r in lat_rounds if r["backend"] == backend]
            if rounds:
                latency.append(summarize_latency(case.name, case.rate, backend, rounds))
    storms = [summarize_storm(count, backend, runs)
              for count, _ in args.storms for backend in args.backends
              if (runs := [r for r in storm_runs
                           if r["count"] == count and r["backend"] == backend])]
    targets = build_targets(latency, idle_runs)
    python = Path(sys.executable)
    with contextlib.suppress(ValueError):
        python = python.relative_to(REPO)
    command = shlex.join([str(python), "bench/daemon_bench.py", *argv])
    json_report = {
        "timestamp": stamp, "command": command, "machine": info,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "elapsed_s": round(elapsed, 1),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "cases": [vars_case(c) for c in cases],
        "latency": [s.to_json() for s in latency],
        "storms": storms,
        "idle": idle_runs,
        "targets": [t.to_json() for t in targets],
        "latency_rounds": [
            {**{k: v for k, v in r.items() if k != "cases"},
             "cases": {name: {k: v for k, v in c.items() if k != "latencies"}
                       for name, c in r["cases"].items()}}
            for r in lat_rounds],
        "storm_runs": storm_runs,
    }
    return {"json": json_report, "latency": latency, "storms": storms, "idle": idle_runs,
            "targets": targets, "cases": cases, "lat_rounds": lat_rounds}


def vars_case(case: Case) -> dict[str, Any]:
    return {"name": case.name, "rate": case.rate, "count": case.count, "mix": case.mix}


def render(report: dict[str, Any]) -> str:
    j = report["json"]
    m = j["machine"]
    lat_rounds = report["lat_rounds"]
    idles = [r["cpu_idle_before"] for r in lat_rounds] + [
        r["cpu_idle_before"] for r in j["storm_runs"]] + [r["cpu_idle_before"] for r in j["idle"]]
    lines = [
        f"# dlpd daemon benchmark, {j['timestamp']}",
        "",
        f"Command: `{j['command']}` ({j['elapsed_s'] / 60:.1f} min).",
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['mem_total_mb']} MB RAM, Linux "
        f"{m['kernel']}, Python {m['python']}, dlpd {m['dlpd']}, watchdog {m['watchdog']}, "
        f"yara-python {m['yara_python']}.",
        source_line(j["source"]),
        f"Trees and SQLite stores on {m['scratch_fs']} (RAM: this measures the daemon, not a "
        f"disk). fs.inotify.max_queued_events = {m['max_queued_events']}, max_user_watches = "
        f"{m['max_user_watches']} (as found; the README advises a 524,288 queue).",
        f"Other work on the machine: CPU idle before the runs {fmt(100 * min(idles), 0)}% to "
        f"{fmt(100 * max(idles), 0)}% (each run waits up to {j['args']['quiet_wait']:g} s for "
        f"85%); load average before {j['loadavg_before']}, after {j['loadavg_after']}.",
        "Backends: `inotify` is dlpd's own reader (the default on Linux), `watchdog` the "
        "reference; both in this one run, interleaved (the first backend alternates by "
        "round), each run with a fresh daemon and store. Ratios are inotify / watchdog.",
        "",
        "## Targets",
        "",
        *targets_table(report["targets"]),
        "",
        "## 1. Event-to-alert latency",
        "",
        "A writer process creates ITAR-marked files at a paced rate in a watched, "
        "non-approved directory; latency = alert `created` - the writer's wall time after "
        "`close()`. p50/p99: medians over rounds of each round's percentile; max: the worst "
        "file of all rounds; missed: files with no alert once the daemon was idle. "
        "The floor is `[watch] settle` (20 ms by default: a file is scanned once no event "
        "came on it for that long). `created` is stamped as the daemon's write "
        "transaction begins; its commit follows.",
        "",
        *latency_table(report["latency"]),
        "",
        *size_lines(report["latency"]),
        *stall_lines(report["latency"]),
        *latency_notes(report["latency"], lat_rounds),
        "",
        "## 2. Storms",
        "",
        f"Files written as fast as one Python process can, over {STORM_DIRS} directories, "
        f"1 in {SENSITIVE_EVERY} sensitive. Drain: first write until every file has a "
        "`files` row and every sensitive file an alert (polled every 0.2 s). Close events: "
        "status `events_by_kind.closed_write` (what the backend delivered); the rest was "
        "found by the reconciliation crawl an overflow triggers.",
        "",
        *storm_table(report["storms"]),
        "",
        "## 3. Idle",
        "",
        "After READY=1 and the first crawl (+2 s), the daemon's utime+stime "
        f"(/proc/PID/stat) over {j['args']['idle_seconds']:g} s; VmRSS and VmHWM "
        "(/proc/PID/status) at the end.",
        "",
        *idle_table(report["idle"]),
        *idle_notes(report["idle"]),
        "",
    ]
    if j.get("errors"):
        lines += ["## Runs that failed", "", *(f"- {e}" for e in j["errors"]), ""]
    return "\n".join(lines) + "\n"


def source_line(source: dict[str, str]) -> str:
    if source["before"] == source["after"]:
        return (f"dlpd sources (sha256 of dlpd/**/*.py): {source['before']}, unchanged "
                "during the run.")
    return (f"**dlpd sources changed during the run** ({source['before']} -> "
            f"{source['after']}): daemons started at different times may have run "
            "different code; rerun for a clean comparison.")


def latency_notes(latency: list[LatencySummary], lat_rounds: list[dict[str, Any]]
                  ) -> list[str]:
    notes = []
    lag = max((s.writer_lag_ms for s in latency), default=0.0)
    notes.append(f"- Writer lateness against its schedule, worst: {lag:.0f} ms.")
    dup = {f"{s.case} ({s.backend})": s.duplicates for s in latency if s.duplicates}
    if dup:
        notes.append(f"- Files with more than one alert (scanned before the write ended, "
                     f"then again): {dup}.")
    for s in latency:
        if s.missed:
            paths = [p for r in lat_rounds if r["backend"] == s.backend
                     for p in r["cases"][s.case]["missed_paths"]][:3]
            notes.append(f"- {s.case}, {s.backend}: {s.missed} files never alerted, e.g. "
                         f"{', '.join(paths)}.")
    cpu = {}
    for r in lat_rounds:
        for name, c in r["cases"].items():
            cpu.setdefault((name, r["backend"]), []).append(c["daemon_cpu_s"])
    parts = [f"{name} {backend}: {max(v):.1f} s" for (name, backend), v in cpu.items()]
    notes.append("- Daemon CPU per case (worst round): " + "; ".join(parts) + ".")
    return notes


def idle_notes(idle: list[dict[str, Any]]) -> list[str]:
    by = {r["backend"]: r for r in idle}
    if MEASURED in by and REFERENCE in by:
        a, b = by[MEASURED], by[REFERENCE]
        return ["", f"Ratios: idle CPU {ratio(a['cpu_pct'], b['cpu_pct'])}, VmRSS "
                f"{ratio(a['rss_kib'], b['rss_kib'])}, READY time "
                f"{ratio(a['ready_s'], b['ready_s'])}. CPU per 5 s step: "
                + "; ".join(f"{r['backend']} {r['cpu_steps']}" for r in idle) + "."]
    return []


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def guarded_main(prog: str, body: Callable[[], int]) -> int:
    """Run a daemon benchmark: every daemon it started is killed on the way out, SIGTERM
    and SIGHUP end it as Ctrl-C does, and a bench or daemon failure is one line."""
    atexit.register(kill_all)
    for signum in _STOP_SIGNALS:
        signal.signal(signum, _on_signal)
    try:
        return body()
    except (BenchError, DaemonError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; daemons killed", file=sys.stderr)
        return 130
    finally:
        kill_all()


def main(argv: list[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else argv
    args = parse_args(raw)

    def body() -> int:
        with queue_size(args.max_queued_events):
            return run(args, raw)

    return guarded_main("daemon_bench", body)


if __name__ == "__main__":
    sys.exit(main())
