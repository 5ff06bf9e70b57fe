"""Files a user in a watched tree can make to blind or mislead the daemon: one that keeps
growing, one the daemon may not read, names that are not UTF-8."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .harness import Daemon, config_text, sensitive_text


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    t = {"root": tmp_path / "data", "state": tmp_path / "state"}
    t["itar"], t["alice"] = t["root"] / "itar", t["root"] / "alice"
    for p in (t["itar"], t["alice"], t["state"]):
        p.mkdir(parents=True)
    return t


@pytest.fixture
def start(tree: dict[str, Path], tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def run(reconcile: str = "1h", prefix: tuple[str, ...] = ()) -> Daemon:
        cfg = tree["state"] / "dlpd.toml"
        cfg.write_text(config_text(tree["state"], watch=[tree["root"]],
                                   approved=[tree["itar"]], reconcile=reconcile))
        d = Daemon(cfg, tmp_path, tmp_path / "daemon.log", prefix=prefix).start()
        started.append(d)
        return d

    yield run
    for d in started:
        d.close()


def _log_records(d: Daemon) -> list[dict[str, object]]:
    out = []
    for line in d.log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


class _Appender(threading.Thread):
    """Appends one byte every ``every`` seconds (open, write, close: a close-write event
    each time) until stopped."""

    def __init__(self, path: Path, every: float) -> None:
        super().__init__(name="test-appender", daemon=True)
        self.path, self.every = path, every
        self.stopping = threading.Event()
        self.appends = 0

    def run(self) -> None:
        while not self.stopping.is_set():
            with self.path.open("ab") as f:
                f.write(b".")
            self.appends += 1
            time.sleep(self.every)

    def stop(self) -> None:
        self.stopping.set()
        self.join(5)


def test_a_growing_file_is_alerted_while_it_grows_with_bounded_reads(
        start: Callable[..., Daemon], tree: dict[str, Path]) -> None:
    d = start()
    d.wait_for(d.crawls_done, 30, "the first reconciliation")
    scanned_before = int(d.status().get("scanned", 0))
    log = tree["alice"] / "export.log"
    filler = b"telemetry frame 0000 nominal; attitude within limits\n" * 450_000  # ~24 MB
    appender = _Appender(log, 0.02)
    log.write_bytes(sensitive_text(7).encode() + filler)
    appender.start()
    try:
        took = d.wait_for(lambda: d.alerts(str(log)), 30,
                          "an alert on the file while it is still being appended to")
        assert appender.is_alive() and not appender.stopping.is_set()
        (alert,) = d.alerts(str(log))
        (row,) = d.query("SELECT * FROM files WHERE path = ?", str(log))
        assert row["outcome"] == "unstable"
        assert row["reason"].startswith("file was still changing: classified as read at")
        time.sleep(6)  # keeps growing: read at most once a max_delay from here on
    finally:
        appender.stop()
    reads = int(d.status().get("scanned", 0)) - scanned_before
    print(f"alert after {took:.1f}s while growing; {reads} reads in "
          f"{appender.appends} appends")
    # 3 reads before classifying what was read, then one a max_delay (5 s) at most.
    assert reads <= 3 + 3, f"{reads} reads of a growing file"
    # Once it settles it is read again: the alert follows the final content.
    d.wait_for(lambda: len(d.alerts(str(log))) == 2, 15, "the settled file re-read")
    first, final = d.alerts(str(log))
    assert first["id"] == alert["id"] and first["status"] == "resolved"
    assert final["status"] == "open"
    (row,) = d.query("SELECT * FROM files WHERE path = ?", str(log))
    assert row["outcome"] == "ok" and row["sha256"] == final["sha256"]


@pytest.fixture
def without_dac_override() -> tuple[str, ...]:
    """Run the daemon as root without the capabilities that read every file (as a unit
    with a narrowed CapabilityBoundingSet does): a mode-000 file is one it cannot read."""
    prefix = ("setpriv", "--bounding-set=-dac_override,-dac_read_search",
              "--inh-caps=-dac_override,-dac_read_search")
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to take capabilities away")
    return prefix


def test_a_file_the_daemon_cannot_read_is_recorded_and_logged(
        start: Callable[..., Daemon], tree: dict[str, Path],
        without_dac_override: tuple[str, ...]) -> None:
    d = start(prefix=without_dac_override)
    d.wait_for(d.crawls_done, 30, "the first reconciliation")
    locked = tree["alice"] / "locked.txt"
    fd = os.open(locked, os.O_WRONLY | os.O_CREAT, 0o000)
    os.write(fd, sensitive_text(30).encode())
    os.close(fd)
    d.wait_for(lambda: d.query("SELECT * FROM files WHERE path = ?", str(locked)), 5,
               "a row for the unreadable file")
    (row,) = d.query("SELECT * FROM files WHERE path = ?", str(locked))
    assert row["outcome"] == "error" and row["reason"] == "permission denied"
    assert row["sha256"] is None
    d.wait_for(lambda: any(r.get("event") == "file not read" and r.get("path") == str(locked)
                           for r in _log_records(d)), 5, "a warning naming the file")
    (rec,) = [r for r in _log_records(d) if r.get("event") == "file not read"]
    assert rec["level"] == "warning" and rec["reason"] == "permission denied"


def test_undecodable_names_keep_their_alerts_through_reconciliation(
        start: Callable[..., Daemon], tree: dict[str, Path]) -> None:
    d = start(reconcile="2s")
    d.wait_for(d.crawls_done, 30, "the first reconciliation")
    alice = os.fsencode(tree["alice"])
    real = alice + b"/d\xff.txt"
    with open(real, "wb") as f:
        f.write(sensitive_text(40).encode())

    def alerts_of(name: bytes) -> list[dict[str, object]]:
        return [dict(r) for r in d.query("SELECT * FROM alerts WHERE path_key = ? "
                                          "ORDER BY id", name)]

    d.wait_for(lambda: alerts_of(real), 5, "an alert on the file named with byte 0xff")
    # A harmless file whose name is the real one's display form.
    (tree["alice"] / "d\\xff.txt").write_text("nothing to see\n")
    crawls = d.status().get("last_full_crawl", {}) or {}
    first_done = crawls.get("finished")
    d.wait_for(lambda: (d.status().get("last_full_crawl") or {}).get("finished")
               not in (None, first_done), 15, "another full reconciliation")
    time.sleep(2.5)  # and one more
    (alert,) = alerts_of(real)
    assert alert["status"] == "open", alert
    notes = d.query("SELECT * FROM alert_notes WHERE alert_id = ?", alert["id"])
    assert not notes, [dict(n) for n in notes]
    assert not alerts_of(os.fsencode(tree["alice"] / "d\\xff.txt"))


def test_a_new_directory_swapped_for_a_symlink_is_never_read_through(
        start: Callable[..., Daemon], tree: dict[str, Path], tmp_path: Path) -> None:
    """A user makes directories and swaps each for a symlink to a root-only directory
    while the daemon watches and crawls it: nothing of that directory may be read."""
    secret = tmp_path / "etc"
    secret.mkdir()
    for n in range(10):
        (secret / f"f{n}.txt").write_text(sensitive_text(n))
    (secret / "canary.txt").write_text(sensitive_text(99))
    secret.chmod(0o700)
    d = start()
    d.wait_for(d.crawls_done, 30, "the first reconciliation")
    alice = tree["alice"]
    deadline, rounds = time.monotonic() + 4.0, 0
    while time.monotonic() < deadline:
        new, aside = alice / f"new{rounds}", alice / f"aside{rounds}"
        new.mkdir()
        for n in range(10):
            (new / f"f{n}.txt").write_text("harmless\n")
        os.rename(new, aside)
        os.symlink(secret, new)
        time.sleep(0.1)  # the window in which the daemon's subtree crawl may run
        os.unlink(new)
        os.rename(aside, new)
        rounds += 1
    marker = alice / "marker.txt"
    marker.write_text(sensitive_text(7))
    d.wait_for(lambda: d.alerts(str(marker)), 30, "the marker's alert")
    time.sleep(1.0)
    alerts = [a["path"] for a in d.alerts()]
    assert alerts == [str(marker)], f"read through a symlink: {alerts[:5]}"
    assert not d.query("SELECT path FROM files WHERE path LIKE '%canary%'")
