"""The daemon under load and outage: storms, a receiver that is down, kill -9, idleness."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .harness import Daemon, config_text, sensitive_text

SECRET = base64.b64encode(b"test-secret-0123456789abcdef").decode()


def _tree(tmp_path: Path) -> tuple[Path, Path, Path]:
    root, itar, state = tmp_path / "data", tmp_path / "data" / "itar", tmp_path / "state"
    itar.mkdir(parents=True)
    state.mkdir()
    return root, itar, state


@pytest.mark.parametrize(("backend", "stall"), [
    ("inotify", False), ("watchdog", False),
    # The daemon is frozen (SIGSTOP) while the storm is written: the kernel queue
    # (fs.inotify.max_queued_events, 16,384 here) overflows for certain, and only the
    # reconciliation that the overflow triggers can find the files whose events were lost.
    ("inotify", True), ("watchdog", True),
])
def test_storm_every_file_scanned_every_sensitive_file_alerted(
        tmp_path: Path, backend: str, stall: bool) -> None:
    root, itar, state = _tree(tmp_path)
    cfg = state / "dlpd.toml"
    cfg.write_text(config_text(state, watch=[root], approved=[itar], backend=backend))
    d = Daemon(cfg, tmp_path, tmp_path / "daemon.log").start()
    try:
        d.wait_for(d.crawls_done, 30, "the first reconciliation")
        dirs = [root / f"d{i}" for i in range(10)]
        for p in dirs:
            p.mkdir()
        time.sleep(0.5)  # the new directories' watches are in place
        sensitive: set[str] = set()
        plain = b"x" * 200
        began = time.monotonic()
        if stall:
            d.signal(signal.SIGSTOP)
        for n in range(10_000):
            path = dirs[n % 10] / f"f{n:05d}.txt"
            if n % 20 == 0:
                path.write_text(sensitive_text(n))
                sensitive.add(str(path))
            else:
                path.write_bytes(plain + str(n).encode())
        wrote = time.monotonic() - began
        if stall:
            d.signal(signal.SIGCONT)

        def drained() -> bool:
            files = d.query("SELECT count(*) AS n FROM files WHERE path LIKE ?",
                            f"{root}/d%")[0]["n"]
            alerted = {r["path"] for r in d.query("SELECT path FROM alerts")}
            return files == 10_000 and sensitive <= alerted

        took = d.wait_for(drained, 240, "every file scanned and every sensitive one alerted")
        time.sleep(2.5)  # the status file is rewritten every second
        st = d.status()
        seen = st.get("events_by_kind", {}).get("closed_write", 0)
        print(f"\n{backend}: wrote 10,000 files in {wrote:.1f}s; drained {took:.1f}s later; "
              f"the backend delivered {seen} close events ({10_000 - seen} lost), "
              f"{st.get('overflows')} overflows answered by reconciliation")
        assert len(d.alerts()) == len(sensitive) == 500
        if seen < 10_000 or stall:
            # Lost events were recovered by reconciliation, which the overflow triggered.
            assert st["overflows"] >= 1
        if stall:
            assert seen < 10_000, "a frozen reader cannot have received every event"
        assert d.stop() == 0
    finally:
        d.close()


class _Receiver:
    """A webhook receiver on loopback that records every delivery, optionally slowly."""

    def __init__(self, port: int, delay: float = 0.0) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                time.sleep(delay)
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()},
                                          body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _verify(headers: dict[str, str], body: bytes) -> None:
    """Standard Webhooks verification, written here independently of dlpd."""
    key = base64.b64decode(SECRET)
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert f"v1,{expected}" in headers["webhook-signature"].split(" ")
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 600


def test_webhook_down_then_up_and_kill_9_loses_nothing(tmp_path: Path) -> None:
    root, itar, state = _tree(tmp_path)
    out = root / "outbox-test"
    out.mkdir()
    port = _free_port()
    cfg = state / "dlpd.toml"
    cfg.write_text(config_text(state, watch=[root], approved=[itar], extra=(
        f'[[sinks]]\ntype = "webhook"\nurl = "http://127.0.0.1:{port}/hook"\n'
        f'secret = "whsec_{SECRET}"\ntimeout = "5s"\n')))
    log = tmp_path / "daemon.log"
    d = Daemon(cfg, tmp_path, log).start()
    receiver = None
    try:
        d.wait_for(d.crawls_done, 30, "the first reconciliation")
        for n in range(30):
            (out / f"s{n}.txt").write_text(sensitive_text(100 + n))
        d.wait_for(lambda: len(d.alerts()) == 30, 10, "30 alerts stored")
        time.sleep(3)  # the receiver is down: deliveries fail and back off
        failed = d.query("SELECT count(*) AS n FROM outbox WHERE attempts > 0 "
                         "AND delivered IS NULL")[0]["n"]
        assert failed >= 1, "deliveries were attempted while the receiver was down"
        receiver = _Receiver(port, delay=0.1)
        # Kill -9 mid-delivery: some delivered, some not.
        d.wait_for(lambda: len(receiver.received) >= 5, 90, "some deliveries")
        d.kill()
        d.close()
        delivered_before = len(receiver.received)
        assert delivered_before < 30, "the kill came too late to test anything"
        d = Daemon(cfg, tmp_path, log).start()
        d.wait_for(lambda: not d.query("SELECT id FROM outbox WHERE delivered IS NULL"), 120,
                   "the outbox drained after the restart")
        stored = {r["msg_id"]: r["body"] for r in d.query("SELECT msg_id, body FROM outbox")}
        got: dict[str, bytes] = {}
        for headers, body in receiver.received:
            _verify(headers, body)
            assert body.decode() == stored[headers["webhook-id"]], "delivered as stored"
            got[headers["webhook-id"]] = body
        assert set(got) == set(stored), "every alert delivered at least once"
        ids = {json.loads(b)["data"]["id"] for b in got.values()}
        assert ids == {r["id"] for r in d.alerts()}
        print(f"\n{len(receiver.received)} deliveries for {len(stored)} messages "
              f"({len(receiver.received) - len(stored)} repeats after kill -9)")
        assert d.stop() == 0
    finally:
        d.close()
        if receiver is not None:
            receiver.close()


def test_idle_with_20000_watched_directories_uses_under_2_percent_cpu(tmp_path: Path) -> None:
    """inotify's idle cost: a watch per directory. (fanotify has one mark per file system
    and sees the rest of it too: tests/watch/test_limits.py measures that.)"""
    root, itar, state = _tree(tmp_path)
    for i in range(200):
        for j in range(100):
            os.makedirs(root / f"p{i:03d}" / f"d{j:02d}")
    cfg = state / "dlpd.toml"
    cfg.write_text(config_text(state, watch=[root], approved=[itar], backend="inotify"))
    d = Daemon(cfg, tmp_path, tmp_path / "daemon.log").start(timeout=120)
    try:
        d.wait_for(d.crawls_done, 120, "the first reconciliation")
        assert d.status()["watched_dirs"] >= 20_000
        time.sleep(1)
        before, t0 = d.cpu_seconds(), time.monotonic()
        time.sleep(30)
        used = (d.cpu_seconds() - before) / (time.monotonic() - t0)
        print(f"\nidle CPU with {d.status()['watched_dirs']} watched dirs: {used:.2%} of a core")
        assert used < 0.02
        assert d.stop() == 0
    finally:
        d.close()


def test_a_hanging_sink_blocks_neither_scanning_nor_other_sinks(tmp_path: Path) -> None:
    root, itar, state = _tree(tmp_path)
    out = root / "out"
    out.mkdir()
    # A receiver that accepts connections and never answers.
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(64)
    port = hang.getsockname()[1]
    jsonl = state / "alerts.jsonl"
    cfg = state / "dlpd.toml"
    cfg.write_text(config_text(state, watch=[root], approved=[itar], extra=(
        f'[[sinks]]\ntype = "webhook"\nurl = "http://127.0.0.1:{port}/hook"\n'
        'timeout = "30s"\n\n'
        f'[[sinks]]\ntype = "jsonl"\npath = "{jsonl}"\n')))
    d = Daemon(cfg, tmp_path, tmp_path / "daemon.log").start()
    try:
        d.wait_for(d.crawls_done, 30, "the first reconciliation")
        for n in range(10):
            (out / f"s{n}.txt").write_text(sensitive_text(300 + n))
        d.wait_for(lambda: len(d.alerts()) == 10, 3, "alerts stored while a sink hangs")
        d.wait_for(lambda: jsonl.exists() and len(jsonl.read_text().splitlines()) == 10, 3,
                   "the other sink delivered everything")
        pending = d.query("SELECT sink, count(*) AS n FROM outbox WHERE delivered IS NULL "
                          "GROUP BY sink")
        assert [(r["sink"], r["n"]) for r in pending] == [("webhook-0", 10)]
        started = time.monotonic()
        assert d.stop(timeout=30) == 0
        assert time.monotonic() - started < 15, "SIGTERM is bounded even with a hung sink"
    finally:
        d.close()
        hang.close()
