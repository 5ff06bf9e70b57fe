"""Benchmark fanotify attribution: read overhead, events per second, idle cost.

    python bench/attribution_bench.py [--quick] [--files 100000] [--rounds 3]
                                      [--storm 100000] [--idle-dirs 50000]
                                      [--idle-seconds 30] [--scratch /dev/shm]

Every daemon is the real one (``python -m dlpd run``, READY=1 on our own NOTIFY_SOCKET,
via bench/daemon_proc.py) with ``[watch] access_events = true`` and
``[labels.export-controlled] readers = ["user:root"]``: every open of a labelled file is
logged with its actor and judged. Trees are approved places for the label (no placement
alerts) and made under umask 077 (mode 600, root's: no exposure alerts), so what is
measured is the access path, not alerting.

1. read overhead: ``--files`` small files (300-odd bytes, every ``--labelled-every``-th
   one ITAR-marked, so labelled by detection); after the daemon's start crawl, a reader
   process (a ``python -c`` loop: os.open, os.read, os.close of each file, the whole list
   twice) is timed with (a) no daemon, (b) backend fanotify, (c) backend inotify;
   ``--rounds`` interleaved rounds (A B C, B C A, C A B, ...), medians, ratios to (a).
   All daemon runs share one store, filled by a priming start (the cold crawl), so each
   run's start crawl is the warm one.
2. events per second: a writer (bench/daemon_writer.py ``storm``) creates ``--storm``
   files as fast as it can; the ``files`` rows the daemon recorded against the files
   written, the writer's rate, the drain, overflows; fanotify and inotify.
3. idle: ``--idle-dirs`` directories; READY time, start crawl, then the daemon's CPU over
   ``--idle-seconds`` and its RSS, per backend; with the busiest other processes of the
   machine over the same window (a file-system mark sees all of the file system).

Results: ``OUT/attribution-latest.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from bench_proc import _descendants, run_measured
from daemon_bench import (
    REPO,
    BenchError,
    Setup,
    attempt,
    child_env,
    guarded_main,
    machine,
    make_dir_tree,
    queue_size,
    quiet,
    run_writer,
    source_digest,
)
from daemon_proc import (
    CLK_TCK,
    BenchDaemon,
    DaemonError,
    kill_all,
    prefix_range,
    proc_cpu_seconds,
    tail,
)
from daemon_report import fmt, median
from daemon_writer import SENSITIVE_EVERY, sensitive_bytes

NONE, FANOTIFY, INOTIFY = "none", "fanotify", "inotify"
CONDITIONS = (NONE, FANOTIFY, INOTIFY)
FILES_PER_DIR = 1000
OVERHEAD_TARGET = 0.10
LOST_LINE = "events were lost"
QUEUE_SYSCTLS = (Path("/proc/sys/fs/fanotify/max_queued_events"),
                 Path("/proc/sys/fs/inotify/max_queued_events"))
PLAIN = b"Quarterly calibration log, nothing restricted here; run %d of the bench tree.\n"

# Reads every path of the list file, then all again: one process, so one actor.
READER = (
    "import os, sys\n"
    "paths = open(sys.argv[1], 'rb').read().split(b'\\n')\n"
    "for _ in range(2):\n"
    "    for p in paths:\n"
    "        fd = os.open(p, os.O_RDONLY)\n"
    "        os.read(fd, 65536)\n"
    "        os.close(fd)\n"
)


def config_text(state: Path, tree: Path, backend: str) -> str:
    return (
        f'[database]\nurl = "sqlite:///{state / "dlpd.db"}"\n\n'
        f'[daemon]\nruntime_dir = "{state / "run"}"\nshutdown_timeout = "10s"\n\n'
        f'[watch]\npaths = [{json.dumps(str(tree))}]\nbackend = "{backend}"\n'
        f'reconcile_interval = "1h"\naccess_events = true\n\n'
        f'[labels.export-controlled]\nseverity = "high"\n'
        f'approved = [{json.dumps(str(tree))}]\nreaders = ["user:root"]\n'
    )


@contextlib.contextmanager
def daemon_on(setup: Setup, state: Path, tree: Path, backend: str, log_name: str,
              timeout: float) -> Iterator[tuple[BenchDaemon, float, float]]:
    """A daemon on ``state`` (shared between runs if the caller reuses it) watching
    ``tree``; yields (daemon, seconds to READY=1, seconds from READY to the first crawl's
    end)."""
    state.mkdir(parents=True, exist_ok=True)
    config = state / f"{backend}.toml"
    config.write_text(config_text(state, tree, backend))
    daemon = BenchDaemon(setup.dlpd, config, state / "dlpd.db", state / "run",
                         state / log_name, setup.env)
    try:
        ready = daemon.start(timeout)
        crawl = daemon.wait_for(daemon.first_crawl_done, timeout, "the first full crawl",
                                every=0.1)
        yield daemon, ready, crawl
    finally:
        code = daemon.stop()
        if code not in (0, -signal.SIGTERM):
            print(f"    warning: daemon {backend} exited {code}; log tail:\n"
                  f"{tail(daemon.log, 1500)}", flush=True)


def lost_lines(daemon: BenchDaemon) -> int:
    """Overflow warnings in the daemon's log (the status counter, from the log)."""
    try:
        return daemon.log.read_text(errors="replace").count(LOST_LINE)
    except OSError:
        return 0


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def settle_until(daemon: BenchDaemon, measure: Callable[[], int], goal: int,
                 timeout: float, idle_for: float = 10.0) -> tuple[int, bool]:
    """Poll ``measure`` until it reaches ``goal``, or stops moving for ``idle_for`` s
    while the daemon's queue is empty, or ``timeout``. Returns (last value, reached)."""
    began = last_change = time.monotonic()
    last = -1
    while True:
        value = measure()
        now = time.monotonic()
        if value >= goal:
            return value, True
        if value != last:
            last, last_change = value, now
        st = daemon.status()
        # An overflow's reconciliation may be pending, not yet running: not idle either.
        idle = st.get("queue_depth") == 0 and not st.get("crawl_running_since") \
            and not st.get("crawl_pending")
        if (idle and now - last_change > idle_for) or now - began > timeout:
            return value, False
        if daemon.proc is None or daemon.proc.poll() is not None:
            raise DaemonError(f"daemon died while draining\n{tail(daemon.log)}")
        time.sleep(0.2)


# -- 1. read overhead ------------------------------------------------------------------------


def make_read_tree(root: Path, files: int, labelled_every: int) -> Path:
    """FILES_PER_DIR files a directory; returns the list file (one path a line)."""
    paths = []
    for n in range(files):
        directory = root / f"d{n // FILES_PER_DIR:03d}"
        if n % FILES_PER_DIR == 0:
            directory.mkdir(parents=True)
        path = directory / f"f{n:06d}.txt"
        path.write_bytes(sensitive_bytes(n) if n % labelled_every == 0 else PLAIN % n)
        paths.append(os.fsencode(path))
    listing = root.parent / "read-list"
    listing.write_bytes(b"\n".join(paths))
    return listing


def run_reader(setup: Setup, listing: Path, tag: str) -> dict[str, Any]:
    out = listing.with_name(f"reader-{tag}.out")
    result = run_measured([sys.executable, "-I", "-c", READER, str(listing)], out,
                          out.with_suffix(".err"), setup.env)
    if result.returncode != 0:
        raise BenchError(f"reader exited {result.returncode}\n{tail(out.with_suffix('.err'))}")
    return {"wall_s": result.seconds, "user_s": result.user_seconds,
            "sys_s": result.system_seconds}


def access_totals(daemon: BenchDaemon, after_id: int) -> tuple[int, int, float, int, int]:
    """Of the access rows with id > ``after_id``: (rows, summed count, latest ``last``,
    rows whose actor is unknown (no uid: the process had exited, or inotify), their
    summed count)."""
    rows = daemon.query(
        "SELECT count(*), coalesce(sum(count), 0), coalesce(max(last), 0), "
        "coalesce(sum(uid IS NULL), 0), coalesce(sum(CASE WHEN uid IS NULL THEN count "
        "ELSE 0 END), 0) FROM access WHERE id > ?", after_id)
    if not rows:
        return 0, 0, 0.0, 0, 0
    row = rows[0]
    return int(row[0]), int(row[1]), float(row[2]), int(row[3]), int(row[4])


def tree_cpu_seconds(pid: int) -> float:
    """CPU of ``pid`` and its live descendants (the daemon's scan workers)."""
    total = 0.0
    for member in _descendants(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += proc_cpu_seconds(member)
    return total


def read_run(setup: Setup, condition: str, number: int, state: Path, tree: Path,
             listing: Path, files: int, labelled: int) -> dict[str, Any]:
    idle = quiet(setup)
    before = load()
    print(f"  read round {number}, {condition} (CPU idle before {idle:.0%}, load {before})",
          flush=True)
    result: dict[str, Any] = {"condition": condition, "round": number, "cpu_idle": idle,
                              "load_before": before}
    if condition == NONE:
        result.update(run_reader(setup, listing, f"{number}-{condition}"))
        result["load_after"] = load()
        print(f"    reader {result['wall_s']:.2f} s", flush=True)
        return result
    with daemon_on(setup, state, tree, condition, f"read-{number}-{condition}.log",
                   setup.ready_timeout) as (daemon, ready, crawl):
        time.sleep(1.5)  # the crawl's last writes, one status tick
        base = int((daemon.query("SELECT coalesce(max(id), 0) FROM access") or [(0,)])[0][0])
        st0 = daemon.fresh_status(time.time())
        cpu0, wall0 = tree_cpu_seconds(daemon.pid), time.time()
        result.update(run_reader(setup, listing, f"{number}-{condition}"))
        result["load_after"] = load()
        # Opens of labelled files, two passes: what the access log should count.
        count, reached = settle_until(
            daemon, lambda: access_totals(daemon, base)[1], 2 * labelled, setup.drain_timeout)
        rows, _, last, unknown_rows, unknown_count = access_totals(daemon, base)
        cpu = tree_cpu_seconds(daemon.pid) - cpu0
        st1 = daemon.fresh_status(time.time())
        opened = (st1.get("events_by_kind", {}).get("opened", 0)
                  - st0.get("events_by_kind", {}).get("opened", 0))
        result.update({
            "ready_s": ready, "crawl_s": crawl, "access_rows": rows, "access_count": count,
            "expected_opens": 2 * labelled, "all_counted": reached,
            "unknown_rows": unknown_rows, "unknown_count": unknown_count,
            "opened_events": opened, "all_files": files,
            "drain_s": (last - wall0) if last else None, "daemon_cpu_s": cpu,
            "overflows": int(st1.get("overflows", 0)) - int(st0.get("overflows", 0)),
            "lost_lines": lost_lines(daemon),
            "hwm_kib": daemon.memory_kib().get("VmHWM", 0),
        })
    print(f"    reader {result['wall_s']:.2f} s; access rows {rows:,}, opens counted "
          f"{count:,}/{2 * labelled:,}, opened events {opened:,}, last logged "
          f"{fmt(result['drain_s'])} s after start, daemon CPU {cpu:.1f} s, overflows "
          f"{result['overflows']}", flush=True)
    return result


def read_rounds(setup: Setup, args: argparse.Namespace, errors: list[str]
                ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    root = setup.scratch / "read"
    t0 = time.monotonic()
    listing = make_read_tree(root / "tree", args.files, args.labelled_every)
    labelled = (args.files + args.labelled_every - 1) // args.labelled_every
    made_s = time.monotonic() - t0
    print(f"  made {args.files:,} files ({labelled:,} labelled) in {made_s:.1f} s", flush=True)
    state = root / "state"
    tree = root / "tree"
    prime: dict[str, Any] = {"made_s": made_s, "labelled": labelled}
    # The cold crawl, once: every later start answers from the store's cache.
    with daemon_on(setup, state, tree, FANOTIFY, "prime.log", args.drain_timeout) as (
            daemon, ready, crawl):
        prime.update(ready_s=ready, crawl_s=crawl, labelled_rows=int(daemon.query(
            "SELECT count(*) FROM files WHERE labels IS NOT NULL AND labels NOT IN "
            "('', '[]')")[0][0]))
    print(f"  primed the store: READY {ready:.1f} s, cold crawl {crawl:.1f} s, "
          f"{prime['labelled_rows']:,} labelled rows", flush=True)
    run_reader(setup, listing, "warm-up")
    runs: list[dict[str, Any]] = []
    for number in range(1, args.rounds + 1):
        shift = (number - 1) % len(CONDITIONS)
        for condition in CONDITIONS[shift:] + CONDITIONS[:shift]:
            attempt(errors, f"read round {number} {condition}", runs,
                    partial(read_run, setup, condition, number, state, tree, listing,
                            args.files, labelled))
    return prime, runs


def summarize_reads(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for condition in CONDITIONS:
        mine = [r for r in runs if r["condition"] == condition]
        if not mine:
            continue
        summary: dict[str, Any] = {
            "runs": len(mine), "wall_s": median([r["wall_s"] for r in mine]),
            "walls": [round(r["wall_s"], 2) for r in mine],
            "reader_cpu_s": median([r["user_s"] + r["sys_s"] for r in mine]),
        }
        if condition != NONE:
            for key in ("access_rows", "access_count", "opened_events", "daemon_cpu_s",
                        "unknown_rows", "unknown_count",
                        "overflows", "lost_lines", "expected_opens", "hwm_kib"):
                summary[key] = median([float(r[key]) for r in mine])
            summary["drain_s"] = median([r["drain_s"] for r in mine
                                         if r["drain_s"] is not None])
            summary["all_counted"] = all(r["all_counted"] for r in mine)
            summary["max_overflows"] = max(r["overflows"] for r in mine)
        out[condition] = summary
    base = out.get(NONE, {}).get("wall_s")
    for summary in out.values():
        summary["ratio"] = summary["wall_s"] / base if base else None
    return out


# -- 2. events per second ----------------------------------------------------------------


def storm_run(setup: Setup, count: int, backend: str, keep: bool) -> dict[str, Any]:
    root = setup.scratch / f"storm-{backend}"
    data = root / "tree" / "storm"
    for i in range(10):
        (data / f"d{i}").mkdir(parents=True)
    idle = quiet(setup)
    before = load()
    print(f"  storm {count:,}, {backend} (CPU idle before {idle:.0%}, load {before})",
          flush=True)
    low, high = prefix_range(data)
    with daemon_on(setup, root / "state", root / "tree", backend, "storm.log",
                   setup.ready_timeout) as (daemon, _ready, _crawl):
        st0 = daemon.fresh_status(time.time())
        cpu0 = tree_cpu_seconds(daemon.pid)
        wrote = run_writer(setup, ["storm", "--root", str(data), "--dirs", "10",
                                   "--count", str(count)],
                           daemon.log.with_name("writer-storm.json"), 600)
        after_write = load()

        def rows() -> int:
            return int(daemon.query("SELECT count(*) FROM files WHERE path >= ? AND path < ?",
                                    low, high)[0][0])

        recorded, reached = settle_until(daemon, rows, count, setup.drain_timeout)
        drained_at = time.time()
        cpu = tree_cpu_seconds(daemon.pid) - cpu0
        st1 = daemon.fresh_status(drained_at)
        kinds0, kinds1 = st0.get("events_by_kind", {}), st1.get("events_by_kind", {})
        result = {
            "backend": backend, "count": count, "cpu_idle": idle, "load_before": before,
            "load_after": after_write,
            "write_s": wrote["last_close"] - wrote["first_write"],
            "drain_s": (drained_at - wrote["first_write"]) if reached else None,
            "recorded": recorded,
            "closed_write": kinds1.get("closed_write", 0) - kinds0.get("closed_write", 0),
            "opened": kinds1.get("opened", 0) - kinds0.get("opened", 0),
            "overflows": int(st1.get("overflows", 0)) - int(st0.get("overflows", 0)),
            "lost_lines": lost_lines(daemon), "cpu_s": cpu,
            "hwm_kib": daemon.memory_kib().get("VmHWM", 0),
        }
    if not keep:
        shutil.rmtree(root, ignore_errors=True)
    result["write_rate"] = count / max(result["write_s"], 1e-9)
    print(f"    wrote {result['write_rate']:,.0f} files/s; rows {recorded:,}/{count:,}, close "
          f"events {result['closed_write']:,}, overflows {result['overflows']}, drained "
          f"{fmt(result['drain_s'])} s, daemon CPU {cpu:.1f} s", flush=True)
    return result


# -- 3. idle -------------------------------------------------------------------------------


def process_ticks() -> dict[int, tuple[str, int]]:
    """(comm, utime+stime ticks) of every process now: what else used the CPUs."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                raw = handle.read(4096)
        except OSError:
            continue
        close = raw.rfind(b")")
        fields = raw[close + 2:].split()
        comm = raw[raw.find(b"(") + 1:close].decode(errors="replace")
        if comm.startswith("python"):
            comm = python_role(int(name), comm)
        with contextlib.suppress(IndexError, ValueError):
            found[int(name)] = (comm, int(fields[11]) + int(fields[12]))
    return found


def python_role(pid: int, comm: str) -> str:
    """``python -m dlpd scan`` -> "python dlpd scan": which Python job it is."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            argv = handle.read(4096).split(b"\0")
    except OSError:
        return comm
    words = [os.path.basename(a.decode(errors="replace")) for a in argv[1:4]
             if a and a not in (b"-m", b"-I", b"-u", b"-c")]
    return " ".join([comm, *words[:2]])[:48]


def busiest(before: dict[int, tuple[str, int]], after: dict[int, tuple[str, int]],
            span: float, skip: set[int], top: int = 5) -> list[str]:
    """The processes (by command name) that used the most CPU between two snapshots."""
    by_comm: dict[str, float] = {}
    for pid, (comm, ticks) in after.items():
        if pid in skip:
            continue
        used = ticks - before.get(pid, (comm, 0))[1]
        by_comm[comm] = by_comm.get(comm, 0.0) + used / CLK_TCK
    ranked = sorted(by_comm.items(), key=lambda kv: -kv[1])[:top]
    return [f"{comm} {100 * secs / span:.0f}%" for comm, secs in ranked if secs > 0]


def idle_run(setup: Setup, tree: Path, dirs: int, backend: str, seconds: float,
             keep: bool) -> dict[str, Any]:
    idle = quiet(setup)
    before = load()
    print(f"  idle, {backend}, {dirs:,} dirs (CPU idle before {idle:.0%}, load {before})",
          flush=True)
    state = setup.scratch / f"idle-state-{backend}"
    with daemon_on(setup, state, tree, backend, "idle.log", 600) as (daemon, ready, crawl):
        time.sleep(2.0)  # the crawl's last writes and a status tick
        st0 = daemon.status()
        procs0, t0 = process_ticks(), time.monotonic()
        cpu0 = tree_cpu_seconds(daemon.pid)
        time.sleep(seconds)
        used, span = tree_cpu_seconds(daemon.pid) - cpu0, time.monotonic() - t0
        ours = {*_descendants(daemon.pid), os.getpid()}
        others = busiest(procs0, process_ticks(), span, ours)
        st1 = daemon.status()
        mem = daemon.memory_kib()
    if not keep:
        shutil.rmtree(state, ignore_errors=True)
    result: dict[str, Any] = {
        "backend": backend, "dirs": dirs, "ready_s": ready, "crawl_s": crawl,
        "cpu_idle": idle, "load_before": before, "load_after": load(),
        "cpu_pct": 100 * used / span, "span_s": span,
        "events": int(st1.get("events", 0)) - int(st0.get("events", 0)),
        "rss_kib": mem.get("VmRSS", 0), "hwm_kib": mem.get("VmHWM", 0), "others": others,
    }
    print(f"    READY {ready:.1f} s, crawl {crawl:.1f} s; idle CPU {result['cpu_pct']:.2f}% "
          f"over {span:.0f} s, {result['events']} events, VmRSS "
          f"{result['rss_kib'] / 1024:.0f} MB; others: {', '.join(others)}", flush=True)
    return result


# -- report ----------------------------------------------------------------------------------


def render(report: dict[str, Any]) -> str:
    m, args = report["machine"], report["args"]
    reads, prime = report["reads"], report["prime"]
    lines = [
        f"# dlpd attribution benchmark, {report['timestamp']}",
        "",
        f"Command: `{report['command']}` ({report['elapsed_s'] / 60:.1f} min).",
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['mem_total_mb']} MB RAM, Linux "
        f"{m['kernel']}, Python {m['python']}; trees and stores on {m['scratch_fs']}.",
        f"dlpd sources (sha256 of dlpd/**/*.py) {report['source']['before']}"
        + (", unchanged during the run." if report["source"]["before"]
           == report["source"]["after"] else
           f" -> {report['source']['after']}: **changed during the run**."),
        f"Load average before the run {report['load_before']}, after "
        f"{report['load_after']}; per run below. The machine is shared with other jobs "
        "(each run waits up to "
        f"{args['quiet_wait']:g} s for 85% idle CPUs, then runs anyway).",
        f"Kernel queues (fs.fanotify / fs.inotify max_queued_events): "
        f"{report['queues']}.",
        "Every daemon: `access_events = true`, `[labels.export-controlled] readers = "
        "[\"user:root\"]`, the tree an approved place; files mode 600 (no exposure).",
        "",
        "## 1. Read overhead",
        "",
        f"{args['files']:,} files of ~300 bytes in directories of {FILES_PER_DIR}, "
        f"{prime['labelled']:,} of them ITAR-marked (labelled by detection). The store was "
        f"primed once (cold crawl {fmt(prime.get('crawl_s'))} s, "
        f"{prime.get('labelled_rows', 0):,} labelled rows); each daemon run starts on it "
        "(warm crawl). Reader: one `python -I -c` process doing os.open/os.read/os.close "
        "on every file, the whole list twice, timed spawn to exit (bench_proc.run_measured). "
        f"{args['rounds']} rounds, order rotated each round (none/fanotify/inotify, "
        "fanotify/inotify/none, ...); medians.",
        "",
        "| daemon | reader wall s (median) | rounds | ratio to none | reader CPU s | access "
        "rows | rows (opens) without actor | opens logged / expected | open events | drain s "
        "| daemon CPU s | overflows |",
        "|---|---:|---|---:|---:|---:|---|---|---:|---:|---:|---:|",
    ]
    for condition in CONDITIONS:
        s = reads.get(condition)
        if s is None:
            continue
        if condition == NONE:
            lines.append(f"| not running | {s['wall_s']:.2f} | {s['walls']} | 1.00 | "
                         f"{s['reader_cpu_s']:.2f} | | | | | | | |")
            continue
        lines.append(
            f"| {condition} | {s['wall_s']:.2f} | {s['walls']} | {fmt(s['ratio'], 2)} | "
            f"{s['reader_cpu_s']:.2f} | {s['access_rows']:,.0f} | {s['unknown_rows']:,.0f} "
            f"({s['unknown_count']:,.0f}) | {s['access_count']:,.0f} / "
            f"{s['expected_opens']:,.0f} | {s['opened_events']:,.0f} | {fmt(s['drain_s'])} | "
            f"{s['daemon_cpu_s']:.1f} | {s['max_overflows']} |")
    lines += [
        "",
        "Drain: from the reader's start to the last access row's `last` (when the daemon "
        "logged the last open). Opens logged: the summed `count` of the run's access rows "
        "(repeats by one process within 60 s are one row). Without actor: rows with no uid "
        "(inotify never knows the actor; with fanotify, the process had exited before the "
        "daemon read its event). Open events: the daemon's "
        "`events_by_kind.opened`. Overflows: the status counter (`events were lost` lines "
        "in the logs: "
        + ", ".join(f"{c} {reads[c]['lost_lines']:.0f}" for c in (FANOTIFY, INOTIFY)
                    if c in reads) + ").",
        "",
        "| round | condition | reader s | load before | load after | CPU idle before |",
        "|---:|---|---:|---|---|---:|",
        *(f"| {r['round']} | {r['condition']} | {r['wall_s']:.2f} | {r['load_before']} | "
          f"{r['load_after']} | {100 * r['cpu_idle']:.0f}% |" for r in report["read_runs"]),
        "",
        "## 2. Events per second",
        "",
        "bench/daemon_writer.py `storm`: files created and closed as fast as one Python "
        f"process can, over 10 directories, 1 in {SENSITIVE_EVERY} ITAR-marked. Recorded: "
        "`files` rows under the storm directory once the daemon is idle. Same config as "
        "above (open events on).",
        "",
        "| backend | files | writer files/s | rows recorded | close events | open events "
        "| overflows | drain s | daemon CPU s | VmHWM MB | load before / after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        *(f"| {r['backend']} | {r['count']:,} | {r['write_rate']:,.0f} | {r['recorded']:,} | "
          f"{r['closed_write']:,} | {r['opened']:,} | {r['overflows']} | {fmt(r['drain_s'])} "
          f"| {r['cpu_s']:.1f} | {r['hwm_kib'] / 1024:.0f} | {r['load_before']} / "
          f"{r['load_after']} |" for r in report["storms"]),
        "",
        "## 3. Idle",
        "",
        f"{args['idle_dirs']:,} directories; after READY=1, the start crawl and 2 s, the "
        f"daemon's utime+stime over {args['idle_seconds']:g} s, VmRSS/VmHWM at the end. "
        "Daemon CPU here and above: the daemon and its scan workers (/proc/PID/stat of "
        "each). Others: the busiest other processes over the same window (% of one core).",
        "",
        "| backend | READY s | start crawl s | idle CPU % of a core | events | VmRSS MB | "
        "VmHWM MB | load before / after | others |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
        *(f"| {r['backend']} | {r['ready_s']:.1f} | {r['crawl_s']:.1f} | {r['cpu_pct']:.2f} "
          f"| {r['events']} | {r['rss_kib'] / 1024:.0f} | {r['hwm_kib'] / 1024:.0f} | "
          f"{r['load_before']} / {r['load_after']} | {', '.join(r['others'])} |"
          for r in report["idle"]),
        "",
    ]
    if report["errors"]:
        lines += ["## Runs that failed", "", *(f"- {e}" for e in report["errors"]), ""]
    return "\n".join(lines) + "\n"


# -- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a small run: 5,000 files, 1 round, a 5,000-file storm, "
                             "5,000 idle directories for 10 s")
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--labelled-every", type=int, default=1,
                        help="every Nth file is ITAR-marked (default 1: all)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--storm", type=int, default=100_000, help="0: skip part 2")
    parser.add_argument("--idle-dirs", type=int, default=50_000, help="0: skip part 3")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--scratch", type=Path, default=Path("/dev/shm"))
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--dlpd", default=f"{shlex.quote(sys.executable)} -m dlpd")
    parser.add_argument("--quiet-wait", type=float, default=10.0)
    parser.add_argument("--drain-timeout", type=float, default=600.0)
    parser.add_argument("--max-queued-events", type=int, default=None,
                        help="set fs.fanotify and fs.inotify max_queued_events for the run "
                             "(root; global: groups others create meanwhile get it too)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the scratch directory (daemon logs, stores)")
    args = parser.parse_args(argv)
    if args.quick:
        args.files, args.rounds, args.storm = 5_000, 1, 5_000
        args.idle_dirs, args.idle_seconds = 5_000, 10.0
    return args


def run(args: argparse.Namespace, argv: list[str]) -> int:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    args.scratch.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="dlpd-attribution-bench-", dir=args.scratch))
    setup = Setup(shlex.split(args.dlpd), scratch, child_env(scratch), args.quiet_wait,
                  args.drain_timeout, 300.0)
    began, load_before, digest = time.monotonic(), load(), source_digest()
    errors: list[str] = []
    prime: dict[str, Any] = {}
    read_runs: list[dict[str, Any]] = []
    storms: list[dict[str, Any]] = []
    idles: list[dict[str, Any]] = []
    os.umask(0o077)  # files root's alone: readers = root, so nothing is exposed
    try:
        info = machine(setup)
        queues = " / ".join(path.read_text().strip() for path in QUEUE_SYSCTLS)
        if args.files > 0:
            prime, read_runs = read_rounds(setup, args, errors)
            if not args.keep:
                shutil.rmtree(scratch / "read", ignore_errors=True)
        if args.storm > 0:
            for backend in (FANOTIFY, INOTIFY):
                attempt(errors, f"storm {backend}", storms,
                        partial(storm_run, setup, args.storm, backend, args.keep))
        if args.idle_dirs > 0:
            tree = scratch / "idle"
            made = make_dir_tree(tree / "dirs", args.idle_dirs)
            for backend in (FANOTIFY, INOTIFY):
                attempt(errors, f"idle {backend}", idles,
                        partial(idle_run, setup, tree, made, backend, args.idle_seconds,
                                args.keep))
    finally:
        kill_all()
        if args.keep:
            print(f"scratch kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    python = Path(sys.executable)
    with contextlib.suppress(ValueError):
        python = python.relative_to(REPO)
    report: dict[str, Any] = {
        "timestamp": stamp, "machine": info, "elapsed_s": time.monotonic() - began,
        "command": shlex.join([str(python), "bench/attribution_bench.py", *argv]),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "source": {"before": digest, "after": source_digest()},
        "load_before": load_before, "load_after": load(), "prime": prime,
        "queues": queues,
        "reads": summarize_reads(read_runs), "read_runs": read_runs,
        "storms": storms, "idle": idles, "errors": errors,
    }
    markdown = render(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "attribution-latest.md").write_text(markdown)
    print("\n" + markdown)
    fan = report["reads"].get(FANOTIFY, {}).get("ratio")
    if errors:
        return 2
    return 0 if fan is None or fan <= 1 + OVERHEAD_TARGET else 1


def main(argv: list[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else argv
    args = parse_args(raw)

    def body() -> int:
        # Both kernels' queues: a group reads its limit when it is made.
        with queue_size(args.max_queued_events, QUEUE_SYSCTLS):
            return run(args, raw)

    return guarded_main("attribution_bench", body)


if __name__ == "__main__":
    sys.exit(main())
