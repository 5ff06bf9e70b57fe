"""The real daemon as a subprocess, with a real NOTIFY_SOCKET the test listens on.

``Daemon(config, home).start()`` runs ``python -m dlpd run --config CONFIG`` in its own
process group, collects every sd_notify datagram, and waits for READY=1. Alerts and files
are read straight from the daemon's database (the CLI is exercised separately): its SQLite
file, or, for a ``config_text(database_url=...)`` PostgreSQL, through psycopg (``?``
placeholders either way).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

ITAR_TEXT = (
    "WARNING - This document contains technical data whose export is restricted by the\n"
    "Arms Export Control Act (Title 22, U.S.C., Sec 2751, et seq.) and the International\n"
    "Traffic in Arms Regulations (ITAR), 22 CFR 120-130. Violations of these export laws\n"
    "are subject to severe criminal penalties.\n"
)


def jsonl_records(path: Path) -> list[dict[str, Any]]:
    """The records of a JSON-lines file (a jsonl sink), none while it does not exist."""
    with contextlib.suppress(FileNotFoundError):
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return []


def approved_tree(tmp_path: Path) -> tuple[Path, Path, Path, Path, Path]:
    """data/itar (the approved place) and data/alice (not), a state directory, and where
    a JSONL sink outside the tree writes: (data, itar, alice, state, sink)."""
    data = tmp_path / "data"
    itar, alice = data / "itar", data / "alice"
    for p in (itar, alice):
        p.mkdir(parents=True)
    state = tmp_path / "state"
    state.mkdir()
    return data, itar, alice, state, tmp_path / "alerts.jsonl"


def sensitive_text(n: int = 0) -> str:
    """An ITAR-marked design note; ``n`` makes the content (and its sha256) unique."""
    return f"{ITAR_TEXT}\nStar tracker baffle thermal model, revision {n}.\n"


def config_text(state: Path, *, watch: list[Path], approved: list[Path], extra: str = "",
                backend: str = "auto", reconcile: str = "1h", database_url: str | None = None,
                host: str | None = None, control_socket: Path | None = None) -> str:
    """``database_url``: another database than ``state``'s SQLite file; ``host``: the
    ``[daemon] host`` (default: the machine's name); ``control_socket``: the daemon's
    (default: /run/dlpd's, one per machine)."""
    paths = ", ".join(json.dumps(str(p)) for p in watch)
    ok = ", ".join(json.dumps(str(p)) for p in approved)
    url = database_url or f"sqlite:///{state / 'dlpd.db'}"
    host_line = f"host = {json.dumps(host)}\n" if host is not None else ""
    if control_socket is not None:
        host_line += f"control_socket = {json.dumps(str(control_socket))}\n"
    return (
        f'[database]\nurl = "{url}"\n\n'
        f'[daemon]\nruntime_dir = "{state / "run"}"\nshutdown_timeout = "10s"\n{host_line}\n'
        f'[watch]\npaths = [{paths}]\nbackend = "{backend}"\n'
        f'reconcile_interval = "{reconcile}"\n\n'
        f'[labels.export-controlled]\nseverity = "high"\napproved = [{ok}]\n\n{extra}'
    )


class NotifyListener:
    """A datagram socket standing in for systemd's notify socket."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[str] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-notify", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append(data.decode())

    def lines(self) -> list[str]:
        return [line for m in list(self.messages) for line in m.splitlines()]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()


class Daemon:
    def __init__(self, config: Path, home: Path, log: Path,
                 prefix: Sequence[str] = ()) -> None:
        self.config = config
        self.prefix = list(prefix)  # e.g. setpriv: run the daemon with fewer privileges
        self.home = home
        self.log = log
        self.notify: NotifyListener | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = self._db_url()
        # The SQLite file (None: a server database, read through ``url``).
        self.db = Path(self.url.removeprefix("sqlite:///")) \
            if self.url.startswith("sqlite:///") else None

    def _db_url(self) -> str:
        text = self.config.read_text()
        start = text.index('url = "') + len('url = "')
        return text[start:text.index('"', start)]

    def start(self, timeout: float = 60.0, wait_ready: bool = True) -> Daemon:
        sock_path = self.home / f"notify-{time.monotonic_ns()}.sock"
        self.notify = NotifyListener(sock_path)
        env = {**os.environ, "HOME": str(self.home), "NOTIFY_SOCKET": str(sock_path),
               "PYTHONFAULTHANDLER": "1", "WATCHDOG_USEC": "2000000"}
        env.pop("WATCHDOG_PID", None)
        with self.log.open("ab") as err:
            self.proc = subprocess.Popen(
                [*self.prefix, sys.executable, "-m", "dlpd", "run", "--config",
                 str(self.config)],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=env,
                start_new_session=True)
        if wait_ready:
            self.wait_for(lambda: "READY=1" in self.notify_lines(), timeout, "READY=1")
        return self

    def notify_lines(self) -> list[str]:
        return self.notify.lines() if self.notify else []

    def wait_for(self, predicate: Callable[[], object], timeout: float, what: str) -> float:
        """Poll ``predicate`` until true; fail with the daemon's log tail if it is not, or if
        the daemon died. Returns the seconds it took."""
        start = time.monotonic()
        while True:
            if predicate():
                return time.monotonic() - start
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited ({self.proc.returncode}) waiting for "
                                     f"{what}\n{self.log_tail()}")
            if time.monotonic() - start > timeout:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}\n"
                                     f"{self.log_tail()}")
            time.sleep(0.01)

    def logged(self, event: str) -> list[dict[str, Any]]:
        """The daemon's JSON log records whose ``event`` is ``event``, in order."""
        return [record for line in self.log.read_text(errors="replace").splitlines()
                if line.startswith("{") and (record := json.loads(line)).get("event") == event]

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return "(no log)"

    def query(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        if self.db is None:
            return query_server(self.url, sql, *args)
        if not self.db.exists():
            return []
        with contextlib.closing(sqlite3.connect(self.db, timeout=10)) as conn:
            conn.row_factory = sqlite3.Row
            try:
                return list(conn.execute(sql, args))
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return []
                raise

    def alerts(self, path: str | None = None) -> list[sqlite3.Row]:
        if path is None:
            return self.query("SELECT * FROM alerts ORDER BY id")
        return self.query("SELECT * FROM alerts WHERE path = ? ORDER BY id", path)

    def status(self) -> dict[str, Any]:
        text = self.config.read_text()
        start = text.index('runtime_dir = "') + len('runtime_dir = "')
        path = Path(text[start:text.index('"', start)]) / "status.json"
        try:
            return dict(json.loads(path.read_text()))
        except (OSError, ValueError):
            return {}

    def crawls_done(self) -> int:
        last = self.status().get("last_full_crawl")
        return 0 if not last else 1

    def signal(self, signum: int) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signum)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self.close()

    def kill(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        if self.notify is not None:
            self.notify.close()
            self.notify = None

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
        if self.notify is not None:
            self.notify.close()
            self.notify = None

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks


def query_server(url: str, sql: str, *args: Any) -> list[Any]:
    """``sql`` (``?`` placeholders) on a PostgreSQL URL of SQLAlchemy's form; rows as
    dicts (subscripted by column name, like sqlite3.Row)."""
    import psycopg  # only the PostgreSQL tests need it
    from psycopg.rows import dict_row

    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return list(conn.execute(sql.replace("?", "%s").encode(), args))


@contextlib.contextmanager
def running(config: Path, home: Path, log: Path) -> Iterator[Daemon]:
    daemon = Daemon(config, home, log).start()
    try:
        yield daemon
    finally:
        daemon.close()
