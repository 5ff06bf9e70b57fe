"""sd_notify against a real AF_UNIX datagram socket standing in for systemd's.

PID 1 on the test machines is not systemd, so each test binds its own socket (a path in
tmp_path, or an abstract "@" name) and points NOTIFY_SOCKET at it.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from dlpd.daemon.notify import Notifier

SECOND_US = 1_000_000


class Receiver:
    """systemd's end: receives datagrams, with the sender's credentials like PID 1 does."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def receive(self) -> bytes:
        return self.receive_with_pid()[0]

    def receive_with_pid(self) -> tuple[bytes, int]:
        data, ancdata, _flags, _addr = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        pids = [struct.unpack("=iII", cdata)[0] for level, kind, cdata in ancdata
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS]
        assert len(pids) == 1, ancdata
        return data, pids[0]

    def assert_empty(self) -> None:
        self.sock.setblocking(False)
        with pytest.raises(BlockingIOError):
            self.sock.recv(4096)


def _bind(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    sock.bind(address)
    sock.settimeout(5)  # a missing datagram fails the test instead of hanging it
    return sock


@pytest.fixture
def receiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    path = str(tmp_path / "notify")
    assert len(path) < 100, "AF_UNIX paths are limited to 107 bytes"
    with _bind(path) as sock:
        monkeypatch.setenv("NOTIFY_SOCKET", path)
        yield Receiver(sock)


@pytest.fixture
def abstract_receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    name = f"dlpd-test-{uuid.uuid4().hex}"
    with _bind("\0" + name) as sock:
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        yield Receiver(sock)


def test_ready_sends_one_datagram_with_status(receiver: Receiver) -> None:
    assert Notifier.from_env().ready("watching 3 roots") is True
    assert receiver.receive() == b"READY=1\nSTATUS=watching 3 roots"
    receiver.assert_empty()


def test_each_message_is_exact(receiver: Receiver) -> None:
    notifier = Notifier.from_env()
    assert notifier.ready()
    assert notifier.status("scanning /data/projectX: 120 queued")
    assert notifier.watchdog()
    assert notifier.stopping("draining 4 files")
    assert notifier.stopping()
    assert notifier.notify("STATUS=a", "EXTEND_TIMEOUT_USEC=5000000")
    assert [receiver.receive() for _ in range(6)] == [
        b"READY=1",
        b"STATUS=scanning /data/projectX: 120 queued",
        b"WATCHDOG=1",
        b"STOPPING=1\nSTATUS=draining 4 files",
        b"STOPPING=1",
        b"STATUS=a\nEXTEND_TIMEOUT_USEC=5000000",
    ]


def test_reloading_carries_the_monotonic_clock_in_microseconds(receiver: Receiver) -> None:
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert Notifier.from_env().reloading("reloading /etc/dlpd/dlpd.toml")
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    reloading, monotonic, status = receiver.receive().decode().split("\n")
    assert reloading == "RELOADING=1"
    key, _, value = monotonic.partition("=")
    assert key == "MONOTONIC_USEC"
    assert before <= int(value) <= after
    assert status == "STATUS=reloading /etc/dlpd/dlpd.toml"


def test_abstract_socket(abstract_receiver: Receiver) -> None:
    assert Notifier.from_env().ready("up")
    assert abstract_receiver.receive() == b"READY=1\nSTATUS=up"


def test_a_value_cannot_add_assignments(receiver: Receiver) -> None:
    # A status naming a file: file names may contain newlines (and we never send NULs).
    assert Notifier.from_env().status("new file /data/x\nSTOPPING=1\0y")
    assert receiver.receive() == b"STATUS=new file /data/x STOPPING=1 y"


def test_sent_from_this_process_so_notify_access_main_accepts_it(receiver: Receiver) -> None:
    # NotifyAccess=main: systemd drops datagrams whose sender PID is not the main PID.
    # Threads share the PID, so pings from a worker thread count too.
    notifier = Notifier.from_env()
    thread = threading.Thread(target=notifier.watchdog)
    thread.start()
    thread.join()
    assert receiver.receive_with_pid() == (b"WATCHDOG=1", os.getpid())


def test_no_descriptor_is_left_open(receiver: Receiver) -> None:
    notifier = Notifier.from_env()
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        assert notifier.watchdog()
        receiver.receive()
    assert len(os.listdir("/proc/self/fd")) == before


@pytest.mark.parametrize("value", [None, ""])
def test_without_notify_socket_every_call_is_a_no_op(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    else:
        monkeypatch.setenv("NOTIFY_SOCKET", value)
    notifier = Notifier.from_env()
    assert notifier.is_enabled is False
    with capture_logs() as logs:
        assert notifier.ready("x") is False
        assert notifier.status("x") is False
        assert notifier.watchdog() is False
        assert notifier.stopping() is False
        assert notifier.reloading() is False
    assert logs == []


def test_no_lines_sends_nothing(receiver: Receiver) -> None:
    assert Notifier.from_env().notify() is False
    receiver.assert_empty()


def test_missing_socket_returns_false_and_logs_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = str(tmp_path / "no-such-socket")
    monkeypatch.setenv("NOTIFY_SOCKET", missing)
    notifier = Notifier.from_env()
    assert notifier.is_enabled is True
    with capture_logs() as logs:
        assert notifier.ready("x") is False
        assert notifier.watchdog() is False
        assert notifier.stopping() is False
    assert len(logs) == 1
    assert logs[0]["log_level"] == "warning"
    assert logs[0]["socket"] == missing
    assert "No such file or directory" in logs[0]["error"]


def test_socket_that_is_not_a_datagram_socket_returns_false(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "stream")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stream:
        stream.bind(path)
        stream.listen()
        monkeypatch.setenv("NOTIFY_SOCKET", path)
        with capture_logs():
            assert Notifier.from_env().ready() is False


@pytest.mark.parametrize(
    ("usec", "pid", "expected"),
    [
        (str(60 * SECOND_US), None, 60.0),
        ("30000000", "self", 30.0),
        ("1500", None, 0.0015),
        ("30000000", "other", None),  # meant for another process (we were forked or exec'd)
        ("30000000", "not-a-pid", None),
        (None, None, None),
        (None, "self", None),
        ("", None, None),
        ("0", None, None),
        ("-5", None, None),
        ("30s", None, None),
    ],
)
def test_watchdog_interval(
    monkeypatch: pytest.MonkeyPatch, usec: str | None, pid: str | None, expected: float | None
) -> None:
    for name, value in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", pid)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            mapped = {"self": str(os.getpid()), "other": str(os.getpid() + 1)}.get(value, value)
            monkeypatch.setenv(name, mapped)
    assert Notifier.from_env().watchdog_interval() == expected


def test_watchdog_interval_without_notify_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    # The interval is systemd's word, independent of whether we can reach its socket.
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.setenv("WATCHDOG_USEC", "20000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert Notifier.from_env().watchdog_interval() == 20.0


def test_constructed_directly() -> None:
    notifier = Notifier(None, watchdog_usec=0)
    assert notifier.is_enabled is False
    assert notifier.watchdog_interval() is None
    assert Notifier("@abstract").address == "@abstract"


def test_extend_timeout_in_microseconds(receiver: Receiver) -> None:
    notifier = Notifier.from_env()
    assert notifier.extend_timeout(90)
    assert notifier.extend_timeout(0.25)
    assert [receiver.receive(), receiver.receive()] == [
        b"EXTEND_TIMEOUT_USEC=90000000", b"EXTEND_TIMEOUT_USEC=250000"]


def _fill(path: str) -> int:
    """Queue datagrams at ``path`` until the receiver's queue is full; how many fit."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(path)
        sock.setblocking(False)
        sent = 0
        while True:
            try:
                sock.send(b"FILLER=1")
            except BlockingIOError:
                return sent
            sent += 1


def test_a_receiver_that_never_drains_costs_no_cpu(receiver: Receiver, tmp_path: Path) -> None:
    # systemd hung, or NOTIFY_SOCKET naming a socket nobody reads: the queue fills up and
    # stays full. Sending must neither spin (poll writable, send EAGAIN) nor stall us.
    receiver.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    assert _fill(str(tmp_path / "notify")) > 0
    notifier = Notifier.from_env()
    cpu, wall = time.thread_time(), time.monotonic()
    with capture_logs() as logs:
        assert notifier.ready("up") is False  # waits, bounded, for room
        for n in range(200):  # a daemon's second-by-second status, and its pings
            assert notifier.status(f"queue {n}") is False
            assert notifier.watchdog() is False
            if time.monotonic() - wall > 5:
                break  # the old code: a second of spinning per message
    cpu, wall = time.thread_time() - cpu, time.monotonic() - wall
    assert wall < 3, f"{wall:.2f}s: a dropped message must not wait"
    assert cpu < 0.25 * wall, f"{cpu:.2f} CPU-seconds in {wall:.2f}s: sending spins"
    assert len(logs) == 1, "the first failure is logged, not every dropped message"


def test_status_is_sent_only_when_it_changed(receiver: Receiver) -> None:
    notifier = Notifier.from_env()
    for text in ["idle", "idle", "idle", "queue 3", "queue 3", "idle"]:
        assert notifier.status(text) is True
    assert notifier.ready("idle")  # READY=1 goes out; the status systemd has does not
    assert notifier.stopping("draining")
    assert [receiver.receive() for _ in range(5)] == [
        b"STATUS=idle", b"STATUS=queue 3", b"STATUS=idle", b"READY=1",
        b"STOPPING=1\nSTATUS=draining"]
    receiver.assert_empty()


def test_a_dropped_status_is_sent_again(receiver: Receiver, tmp_path: Path) -> None:
    receiver.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    queued = _fill(str(tmp_path / "notify"))
    notifier = Notifier.from_env()
    with capture_logs():
        assert notifier.status("crawling") is False  # queue full: dropped
    for _ in range(queued):
        receiver.receive()
    assert notifier.status("crawling") is True  # not mistaken for "already sent"
    assert receiver.receive() == b"STATUS=crawling"
