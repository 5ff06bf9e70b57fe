"""The syslog sink against real UDP, TCP and AF_UNIX receivers on this machine."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlpd.errors import SinkError
from dlpd.model import OutboxMessage, Severity
from dlpd.sinks.formats import one_line
from dlpd.sinks.syslog import SyslogAddress, SyslogSink, parse_address

from .conftest import make_alert, make_message
from .grammar import Syslog, octet_frames, parse_syslog

BOM = b"\xef\xbb\xbf"


def sink(address: str, timeout: float = 5.0) -> SyslogSink:
    return SyslogSink("syslog", parse_address(address), "local4", "dlpd", "ws-17", timeout)


def assert_is_the_message(parsed: Syslog, message: OutboxMessage) -> None:
    """Every field comes from the outbox message: the alert, its kind, its id."""
    alert = json.loads(message.body)["data"]
    assert parsed.pri == 20 * 8 + 3
    assert parsed.hostname == "ws-17"
    assert parsed.app_name == "dlpd"
    assert parsed.procid == str(os.getpid())
    assert parsed.msgid == message.kind
    assert parsed.params == {
        "id": str(alert["id"]), "severity": alert["severity"], "label": alert["label"],
        "path": one_line(alert["path"]), "sha256": alert["sha256"], "status": alert["status"],
        "event": message.msg_id,
    }
    assert parsed.msg.startswith(BOM)


@pytest.fixture
def udp_receiver() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        yield receiver


@pytest.fixture
def tcp_receiver() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.listen()
        receiver.settimeout(5)
        yield receiver


def read_frames(conn: socket.socket, count: int) -> list[bytes]:
    """Read from a stream until ``count`` complete octet-counted frames have arrived."""
    data = b""
    while True:
        try:
            frames = octet_frames(data)
            if len(frames) >= count:
                return frames
        except AssertionError:
            pass  # a partial frame: read on
        chunk = conn.recv(65536)
        assert chunk, f"connection closed after {data!r}"
        data += chunk


def test_udp_one_message_per_datagram(udp_receiver: socket.socket) -> None:
    host, port = udp_receiver.getsockname()
    syslog = sink(f"udp://{host}:{port}")
    low = make_alert(severity=Severity.LOW)
    messages = [make_message(), make_message(low, kind="alert.updated", msg_id="msg_2")]
    for message in messages:
        syslog.deliver(message)
    syslog.close()
    for message in messages:
        parsed = parse_syslog(udp_receiver.recv(65536))
        if message.kind == "alert.updated":
            assert parsed.pri == 20 * 8 + 5
            assert parsed.msgid == "alert.updated"
        else:
            assert_is_the_message(parsed, message)


def test_tcp_octet_counting_and_reconnect(tcp_receiver: socket.socket) -> None:
    host, port = tcp_receiver.getsockname()
    syslog = sink(f"tcp://{host}:{port}")
    hostile = make_message(make_alert(path="/home/山田/a\nb]\"c\\.dwg", reason="x\ny"))
    syslog.deliver(hostile)
    syslog.deliver(make_message())
    conn, _ = tcp_receiver.accept()
    with conn:
        conn.settimeout(5)
        first, second = read_frames(conn, 2)
    assert_is_the_message(parse_syslog(first), hostile)
    assert b"\n" not in first
    assert_is_the_message(parse_syslog(second), make_message())
    # The receiver hung up (restart, idle timeout): the next delivery reconnects rather
    # than writing into the dead connection.
    syslog.deliver(make_message())
    conn, _ = tcp_receiver.accept()
    with conn:
        conn.settimeout(5)
        [third] = read_frames(conn, 1)
    assert_is_the_message(parse_syslog(third), make_message())
    syslog.close()


def test_tcp_receiver_down_is_a_sink_error(message: OutboxMessage) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SinkError, match=r"tcp://127\.0\.0\.1:\d+: Connection refused"):
        sink(f"tcp://127.0.0.1:{port}").deliver(message)


def test_unix_datagram(short_dir: Path, message: OutboxMessage) -> None:
    path = short_dir / "log"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind(str(path))
        receiver.settimeout(5)
        syslog = sink(f"unix:{path}")
        syslog.deliver(message)
        assert_is_the_message(parse_syslog(receiver.recv(65536)), message)
        syslog.close()


def test_unix_stream_socket_falls_back_to_octet_counting(short_dir: Path,
                                                         message: OutboxMessage) -> None:
    path = short_dir / "log"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as receiver:
        receiver.bind(str(path))
        receiver.listen()
        receiver.settimeout(5)
        syslog = sink(f"unix:{path}")
        syslog.deliver(message)
        conn, _ = receiver.accept()
        with conn:
            conn.settimeout(5)
            [frame] = read_frames(conn, 1)
        assert_is_the_message(parse_syslog(frame), message)
        syslog.close()


def test_unix_socket_missing_then_back(short_dir: Path, message: OutboxMessage) -> None:
    path = short_dir / "log"
    syslog = sink(f"unix:{path}")
    with pytest.raises(SinkError, match="No such file"):
        syslog.deliver(message)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind(str(path))
        receiver.settimeout(5)
        syslog.deliver(message)
        assert_is_the_message(parse_syslog(receiver.recv(65536)), message)
    # The receiver went away (syslog daemon restart): an error, then a fresh socket.
    path.unlink()
    with pytest.raises(SinkError):
        syslog.deliver(message)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind(str(path))
        receiver.settimeout(5)
        syslog.deliver(message)
        assert_is_the_message(parse_syslog(receiver.recv(65536)), message)
    syslog.close()


def test_a_malformed_body_is_a_sink_error() -> None:
    bad = OutboxMessage(id=1, msg_id="m", sink="s", alert_id=1, kind="alert.created",
                        created=0.0, body="{not json")
    with pytest.raises(SinkError, match="malformed"):
        sink("udp://127.0.0.1:9").deliver(bad)


@pytest.mark.parametrize(("text", "address"), [
    ("unix:/dev/log", SyslogAddress("unix", "/dev/log")),
    ("udp://10.0.0.5:5514", SyslogAddress("udp", "10.0.0.5", 5514)),
    ("udp://logs.example", SyslogAddress("udp", "logs.example", 514)),
    ("tcp://logs.example", SyslogAddress("tcp", "logs.example", 601)),
    ("tcp://[::1]:6514", SyslogAddress("tcp", "::1", 6514)),
])
def test_parse_address(text: str, address: SyslogAddress) -> None:
    assert parse_address(text) == address
    assert parse_address(str(address)) == address


@pytest.mark.parametrize("text", ["unix:", "udp://", "tcp://h:70000", "http://h:1",
                                  "tcp://h:1/path", "udp://u@h:1"])
def test_bad_addresses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_address(text)


def test_unknown_facility_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="facility"):
        SyslogSink("s", parse_address("udp://127.0.0.1:9"), "local9", "dlpd", "h", 1.0)
