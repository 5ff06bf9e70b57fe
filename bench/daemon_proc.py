"""A ``dlpd run`` daemon under measurement: start, READY=1, status, store, /proc, stop.

Each daemon runs in its own process group (``start_new_session``) and is registered in
``LIVE`` until reaped, so that ``kill_all()`` (called from ``atexit`` and from the
benchmark's SIGINT/SIGTERM handlers) never leaves one behind. The notify socket is ours:
a datagram socket standing in for systemd's, as in tests/daemon/harness.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK")

# Process groups started by this benchmark (daemons and writers) and not yet reaped.
LIVE: dict[int, subprocess.Popen[bytes]] = {}


class DaemonError(Exception):
    """The daemon (or a writer) did not start or behave as expected; the message says
    what was awaited and carries the tail of its log."""


def kill_all() -> None:
    """SIGKILL every process group this benchmark started that is still registered."""
    for pgid, proc in list(LIVE.items()):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        LIVE.pop(pgid, None)


def spawn(argv: Sequence[str], log: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session (its own process group), output to ``log``."""
    with log.open("ab") as out:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=out, env=dict(env), start_new_session=True)
    LIVE[proc.pid] = proc
    return proc


def reap(proc: subprocess.Popen[bytes], timeout: float) -> int:
    """Wait for ``proc``; SIGKILL its group if it does not end in time. Returns its code."""
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        code = proc.wait(10)
    # The group may hold children of the leader: end them too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    LIVE.pop(proc.pid, None)
    return code


def tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


class NotifyListener:
    """The sd_notify datagrams the daemon sends, collected by a thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[str] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-notify", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append(data.decode(errors="replace"))

    def ready(self) -> bool:
        return any("READY=1" in m.splitlines() for m in list(self.messages))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()
        with contextlib.suppress(OSError):
            self.path.unlink()


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of ``pid`` (fields 14 and 15 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of ``pid`` from /proc/PID/status, in KiB."""
    found = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "VmHWM", "Threads"):
                found[key] = int(line.split()[1])
    return found


class BenchDaemon:
    """One ``dlpd run --config CONFIG`` with its own state directory."""

    def __init__(self, argv: Sequence[str], config: Path, db: Path, runtime_dir: Path,
                 log: Path, env: Mapping[str, str]) -> None:
        self.argv = [*argv, "run", "--config", str(config)]
        self.config = config
        self.db = db
        self.status_path = runtime_dir / "status.json"
        self.log = log
        self._env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.notify: NotifyListener | None = None
        self.started = 0.0

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise DaemonError("the daemon was not started")
        return self.proc.pid

    def start(self, timeout: float) -> float:
        """Start and wait for READY=1; returns the seconds it took (watches in place)."""
        sock = self.log.with_name(f"notify-{time.monotonic_ns()}.sock")
        self.notify = NotifyListener(sock)
        env = {**self._env, "NOTIFY_SOCKET": str(sock)}
        env.pop("WATCHDOG_USEC", None)
        env.pop("WATCHDOG_PID", None)
        self.started = time.monotonic()
        self.proc = spawn(self.argv, self.log, env)
        return self.wait_for(self.notify.ready, timeout, "READY=1")

    def wait_for(self, predicate: Callable[[], object], timeout: float, what: str,
                 every: float = 0.05) -> float:
        """Poll ``predicate`` until true; DaemonError if the daemon died or time ran out.
        Returns the seconds waited."""
        began = time.monotonic()
        while True:
            if predicate():
                return time.monotonic() - began
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                raise DaemonError(f"daemon exited ({code}) while waiting for {what}\n"
                                  f"{tail(self.log)}")
            if time.monotonic() - began > timeout:
                raise DaemonError(f"timed out after {timeout:.0f} s waiting for {what}\n"
                                  f"{tail(self.log)}")
            time.sleep(every)

    def status(self) -> dict[str, Any]:
        try:
            data = json.loads(self.status_path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def fresh_status(self, after: float, timeout: float = 10.0) -> dict[str, Any]:
        """The first status written after wall time ``after`` (it is rewritten every s)."""
        found: dict[str, Any] = {}

        def newer() -> bool:
            nonlocal found
            found = self.status()
            return float(found.get("updated") or 0) > after

        self.wait_for(newer, timeout, "a fresh status file", every=0.1)
        return found

    def first_crawl_done(self) -> bool:
        return bool(self.status().get("last_full_crawl"))

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        if not self.db.exists():
            return []
        with contextlib.closing(sqlite3.connect(self.db, timeout=30)) as conn:
            try:
                return list(conn.execute(sql, args))
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return []
                raise

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.pid)

    def memory_kib(self) -> dict[str, int]:
        return proc_memory_kib(self.pid)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM (a clean drain), SIGKILL of the group after ``timeout``."""
        code = -1
        if self.proc is not None:
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.send_signal(signal.SIGTERM)
            code = reap(self.proc, timeout)
        if self.notify is not None:
            self.notify.close()
            self.notify = None
        return code


def prefix_range(directory: Path) -> tuple[str, str]:
    """Bounds for ``path >= ? AND path < ?``: every path under ``directory``, through the
    path index (a LIKE would scan the table)."""
    low = str(directory) + "/"
    return low, low[:-1] + chr(ord("/") + 1)
