"""Operations that must not fail quietly: the daemon's log, its files' modes, one daemon
per store, secrets in errors, and check-config. The real `dlpd run` and `dlpd scan`."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from .harness import ITAR_TEXT, Daemon, config_text, sensitive_text

# An outbox row stamped with a time no date can hold (a SQLite trigger sets it as the
# daemon queues the row): formatting it raises OverflowError, outside what a sink
# translates, so the sender logs it with `_log.exception` and carries on. Our way to force
# an exception in a running daemon. (A syslog host name IDNA refuses, the way this used
# to be forced, is now refused at start as sinks.N.address.)
_BREAK_OUTBOX = ("CREATE TRIGGER break_outbox AFTER INSERT ON outbox BEGIN "
                 "UPDATE outbox SET created = 1e300 WHERE id = NEW.id; END")
_SECRET_URL = "https://siem:Pa55w0rd-XYZ@siem.example:99999/in?token=Tok-QRS"


@contextlib.contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    t = {"data": tmp_path / "data", "itar": tmp_path / "data" / "itar",
         "alice": tmp_path / "data" / "alice", "state": tmp_path / "state"}
    for p in t.values():
        p.mkdir(parents=True, exist_ok=True)
    return t


@pytest.fixture
def start(tree: dict[str, Path], tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def run(extra: str = "", wait_ready: bool = True) -> Daemon:
        cfg = tree["state"] / "dlpd.toml"
        cfg.write_text(config_text(tree["state"], watch=[tree["data"]],
                                   approved=[tree["itar"]], extra=extra))
        d = Daemon(cfg, tmp_path, tmp_path / f"daemon-{len(started)}.log")
        started.append(d)
        return d.start(wait_ready=wait_ready)

    yield run
    for d in started:
        d.close()


def _store_at(path: Path, revision: str) -> None:
    """A store left at an older ``revision``: opening it runs alembic's upgrade, whose
    log records (the standard library's, not dlpd's) must leave as JSON too. A new store
    is created from the schema without alembic."""
    from alembic import command
    from alembic.config import Config

    from dlpd.store import db

    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    cfg.attributes["engine"] = engine
    command.upgrade(cfg, revision)
    engine.dispose()
    path.chmod(0o600)


def _json_lines(text: str, what: str) -> list[dict[str, Any]]:
    """Every non-empty line of ``text`` as a JSON object naming its logger and level."""
    records = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"{what} line {n} is not JSON: {line[:300]!r}")
        assert isinstance(rec, dict), line
        for key in ("event", "logger", "level", "timestamp"):
            assert key in rec, f"{what} line {n} has no {key!r}: {line[:300]}"
        records.append(rec)
    return records


# ---- the log ------------------------------------------------------------------------------


def test_daemon_log_is_json_from_its_first_line_with_tracebacks(
        start: Callable[..., Daemon], tree: dict[str, Path]) -> None:
    _store_at(tree["state"] / "dlpd.db", "0004")
    d = start(extra='[[sinks]]\ntype = "syslog"\naddress = "udp://127.0.0.1:9"\n')
    with contextlib.closing(sqlite3.connect(d.db)) as conn:
        conn.execute(_BREAK_OUTBOX)
        conn.commit()
    leaked = tree["alice"] / "design.txt"
    leaked.write_text(sensitive_text(1))
    d.wait_for(lambda: d.alerts(str(leaked)), 30, "an alert")
    d.wait_for(lambda: "sender failed unexpectedly" in d.log_tail(100_000), 15,
               "the sender's failure logged")
    assert d.stop() == 0
    records = _json_lines(d.log.read_text(), "daemon output")
    loggers = {r["logger"] for r in records}
    # The migration of the old store went through the formatter, its plugin chatter not
    # at all; the daemon's own lines name their module's logger.
    assert any(r["event"].startswith("Running upgrade") for r in records
               if r["logger"] == "alembic.runtime.migration"), loggers
    assert not any("setup plugin" in r["event"] for r in records)
    assert {"dlpd.daemon", "dlpd.sinks"} <= loggers
    (failure, *_) = [r for r in records if r["event"] == "sender failed unexpectedly"]
    assert failure["level"] == "error" and failure["sink"] == "syslog-0"
    assert failure["exception"].startswith("Traceback (most recent call last):")
    assert "OverflowError" in failure["exception"]
    assert "exc_info" not in failure
    assert ITAR_TEXT.splitlines()[1] not in d.log.read_text()  # never content


def test_scan_jsonl_stdout_stays_pure_at_debug_while_the_store_is_upgraded(
        tmp_path: Path, run_dlpd: Callable[..., Any],
        dlpd_config: Callable[..., Path]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "design.txt").write_text(sensitive_text(2))
    (data / "notes.txt").write_text("milk, eggs\n")
    cfg = dlpd_config(tmp_path / "state")
    _store_at(tmp_path / "state" / "dlpd.db", "0004")
    res = run_dlpd("--log-level", "debug", "scan", data, "--format", "jsonl", "--config", cfg)
    assert res.returncode == 1, res.describe()
    assert sorted(Path(r["path"]).name for r in res.records()) == ["design.txt", "notes.txt"]
    records = _json_lines(res.stderr, "stderr")
    assert any(r["logger"] == "alembic.runtime.migration" for r in records)
    assert any(r["logger"] == "dlpd.scan" and r["event"] == "file" for r in records)


def test_a_notify_socket_nobody_drains_costs_the_daemon_no_cpu(
        tree: dict[str, Path], tmp_path: Path) -> None:
    cfg = tree["state"] / "dlpd.toml"
    cfg.write_text(config_text(tree["state"], watch=[tree["data"]], approved=[tree["itar"]]))
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as stuck:
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        stuck.bind(path)  # and never read: systemd hung, or a stray NOTIFY_SOCKET
        log = tmp_path / "daemon.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "dlpd", "run", "--config", str(cfg)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
                env={**os.environ, "HOME": str(tmp_path), "NOTIFY_SOCKET": path,
                     "WATCHDOG_USEC": "2000000"})
        d = Daemon(cfg, tmp_path, log)
        d.proc = proc
        try:
            d.wait_for(lambda: '"event": "ready"' in d.log_tail(100_000), 60, "ready")
            time.sleep(1.0)  # the queue fills with the first statuses and pings
            cpu, wall = d.cpu_seconds(), time.monotonic()
            time.sleep(4.0)
            cpu, wall = d.cpu_seconds() - cpu, time.monotonic() - wall
            print(f"idle daemon: {cpu:.2f} CPU-s in {wall:.1f} s")
            assert cpu < 0.1 * wall, f"idle daemon used {cpu:.2f} CPU-s in {wall:.1f} s"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
        finally:
            d.close()


# ---- file modes and the store's directory ----------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_store_and_status_files_are_private_whatever_the_umask(
        start: Callable[..., Daemon], tree: dict[str, Path], tmp_path: Path,
        run_dlpd: Callable[..., Any], dlpd_config: Callable[..., Path]) -> None:
    with _umask(0o022):
        d = start()
    d.wait_for(lambda: d.status().get("pid"), 10, "the status file")
    state = tree["state"]
    for name in ("dlpd.db", "dlpd.db-wal", "dlpd.db-shm", "dlpd.db.lock", "run/status.json"):
        assert _mode(state / name) == 0o600, f"{name}: {_mode(state / name):04o}"
    # Others may look for the status file (and be told they cannot read it).
    assert _mode(state / "run") == 0o755
    assert d.stop() == 0

    scan_state = tmp_path / "scan-state"
    cfg = dlpd_config(scan_state)
    with _umask(0o022):
        res = run_dlpd("scan", tree["data"], "--format", "jsonl", "--config", cfg)
    assert res.returncode == 0, res.describe()
    assert _mode(scan_state / "dlpd.db") == 0o600


def test_daemon_refuses_a_store_directory_others_can_write(
        tree: dict[str, Path], run_dlpd: Callable[..., Any],
        dlpd_config: Callable[..., Path]) -> None:
    cfg = tree["state"] / "dlpd.toml"
    cfg.write_text(config_text(tree["state"], watch=[tree["data"]], approved=[tree["itar"]]))
    tree["state"].chmod(0o777)
    res = run_dlpd("run", "--config", cfg, timeout=60)
    assert res.returncode == 78, res.describe()
    (rec,) = _json_lines(res.stderr, "stderr")
    assert rec["event"] == "cannot start" and "writable by group or others" in rec["error"]
    assert not (tree["state"] / "dlpd.db").exists()
    # A scan (a user's own store, say) still runs, and says why it is uneasy.
    scan_cfg = dlpd_config(tree["state"], name="scan.toml")
    res = run_dlpd("scan", tree["data"], "--format", "jsonl", "--config", scan_cfg)
    assert res.returncode == 0, res.describe()
    (warning,) = _json_lines(res.stderr, "stderr")
    assert warning["logger"] == "dlpd.store" and "not private" in warning["event"]


# ---- one daemon per store --------------------------------------------------------------------


def test_a_second_daemon_on_the_same_store_is_refused(
        start: Callable[..., Daemon], tree: dict[str, Path],
        run_dlpd: Callable[..., Any]) -> None:
    first = start()
    res = run_dlpd("run", "--config", first.config, timeout=30)
    assert res.returncode == 1, res.describe()
    (rec,) = [r for r in _json_lines(res.stderr, "stderr") if r["event"] == "cannot start"]
    assert "another dlpd daemon is running on this store" in rec["error"]
    assert first.proc is not None and first.proc.poll() is None, "the first one carries on"
    # A scan beside the daemon is fine: SQLite serialises the writers.
    scan = run_dlpd("scan", tree["data"], "--format", "jsonl", "--config", first.config)
    assert scan.returncode == 0, scan.describe()
    assert first.stop() == 0
    second = start()  # the lock went with the first daemon
    assert second.stop() == 0


# ---- dlpd status by someone who may not read the status file ---------------------------------


def test_status_that_may_not_be_read_says_permission_denied(
        tmp_path: Path, run_dlpd: Callable[..., Any]) -> None:
    # The status file is 0600 (asserted above): `dlpd status` by someone else must say
    # that it cannot read it, not that the daemon is not running. Here "someone else" is
    # root without capabilities, and the file belongs to nobody.
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to drop capabilities")
    state = tmp_path / "state"
    cfg = tmp_path / "dlpd.toml"
    cfg.write_text(config_text(state, watch=[tmp_path], approved=[]))
    (state / "run").mkdir(parents=True)
    status = state / "run" / "status.json"
    status.write_text(json.dumps({"pid": os.getpid(), "started": 0, "updated": 0}))
    status.chmod(0o600)
    os.chown(status, 65534, 65534)
    res = run_dlpd("status", "--config", cfg, unprivileged=True)
    assert res.returncode == 4, res.describe()  # LSB "unknown" (issue 8; was 2)
    assert "permission denied" in res.stderr and "not running" not in res.stdout


# ---- secrets and check-config ----------------------------------------------------------------


def test_check_config_never_says_ok_before_failing_and_hides_the_password(
        tmp_path: Path, run_dlpd: Callable[..., Any],
        dlpd_config: Callable[..., Path]) -> None:
    cfg = dlpd_config(tmp_path / "state",
                      f'[[sinks]]\ntype = "webhook"\nurl = "{_SECRET_URL}"\n')
    res = run_dlpd("check-config", "--config", cfg)
    assert res.returncode == 2, res.describe()
    assert "config OK" not in res.stdout and res.stdout == ""
    assert "sinks.0.url: bad port in 'https://siem:***@siem.example:99999/in?token=***'" \
        in res.stderr
    assert "Pa55w0rd" not in res.stderr + res.stdout and "Tok-QRS" not in res.stderr


def test_run_with_a_secret_in_a_bad_url_hides_it(
        tree: dict[str, Path], run_dlpd: Callable[..., Any]) -> None:
    cfg = tree["state"] / "dlpd.toml"
    cfg.write_text(config_text(tree["state"], watch=[tree["data"]], approved=[],
                               extra=f'[[sinks]]\ntype = "webhook"\nurl = "{_SECRET_URL}"\n'))
    res = run_dlpd("run", "--config", cfg, timeout=60)
    assert res.returncode == 78, res.describe()
    assert "sinks.0.url" in res.stderr and "siem:***@" in res.stderr
    assert "Pa55w0rd" not in res.stderr and "Tok-QRS" not in res.stderr


def test_check_config_hides_the_database_password(
        tmp_path: Path, run_dlpd: Callable[..., Any]) -> None:
    cfg = tmp_path / "pg.toml"
    cfg.write_text('[database]\nurl = "postgresql://dlpd:Pa55w0rd-XYZ@db.example/dlpd"\n')
    res = run_dlpd("check-config", "--config", cfg, timeout=60)
    assert res.returncode == 0, res.describe()
    assert "database: postgresql://dlpd:***@db.example/dlpd" in res.stdout
    assert "Pa55w0rd" not in res.stdout + res.stderr
