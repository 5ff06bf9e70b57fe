"""The JSON-lines file sink: exact lines, permissions, rotation, failures."""

from __future__ import annotations

import json
import os
import resource
import signal
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dlpd.errors import SinkError
from dlpd.model import AlertNote, AlertStatus, OutboxMessage
from dlpd.sinks.jsonl import JsonlSink

from .conftest import make_alert, make_message


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_appends_each_body_as_one_line(tmp_path: Path) -> None:
    path = tmp_path / "spool" / "alerts" / "alerts.jsonl"
    sink = JsonlSink("file", path, 5.0)
    first = make_message(make_alert(path="/home/山田/a\nb.dwg"))
    second = make_message(make_alert(status=AlertStatus.RESOLVED), kind="alert.updated",
                          msg_id="m2")
    sink.deliver(first)
    sink.deliver(second)
    sink.close()
    assert path.read_bytes() == (first.body + "\n" + second.body + "\n").encode("utf-8")
    assert json.loads(lines(path)[0])["data"] == make_alert(path="/home/山田/a\nb.dwg").to_json()


def test_new_file_is_private(tmp_path: Path, message: OutboxMessage) -> None:
    path = tmp_path / "new" / "alerts.jsonl"
    sink = JsonlSink("file", path, 5.0)
    sink.deliver(message)
    sink.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0


def test_existing_file_is_appended_to(tmp_path: Path, message: OutboxMessage) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_text('{"earlier":true}\n')
    sink = JsonlSink("file", path, 5.0)
    sink.deliver(message)
    sink.close()
    assert lines(path) == ['{"earlier":true}', message.body]


def test_rotation_by_rename_reopens_the_path(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    sink = JsonlSink("file", path, 5.0)
    before, after = make_message(msg_id="before"), make_message(msg_id="after")
    sink.deliver(before)
    path.rename(tmp_path / "alerts.jsonl.1")  # logrotate's default
    sink.deliver(after)
    sink.close()
    assert lines(tmp_path / "alerts.jsonl.1") == [before.body]
    assert lines(path) == [after.body]


def test_removed_file_is_recreated(tmp_path: Path, message: OutboxMessage) -> None:
    path = tmp_path / "alerts.jsonl"
    sink = JsonlSink("file", path, 5.0)
    sink.deliver(message)
    path.unlink()
    sink.deliver(message)
    sink.close()
    assert lines(path) == [message.body]


def test_truncated_file_gets_appended_at_its_new_end(tmp_path: Path,
                                                     message: OutboxMessage) -> None:
    path = tmp_path / "alerts.jsonl"
    sink = JsonlSink("file", path, 5.0)
    sink.deliver(message)
    os.truncate(path, 0)  # logrotate copytruncate
    sink.deliver(message)
    sink.close()
    assert path.read_text() == message.body + "\n"


def test_unwritable_path_is_a_sink_error_then_recovers(tmp_path: Path,
                                                       message: OutboxMessage) -> None:
    path = tmp_path / "alerts.jsonl"
    path.mkdir()  # a directory where the file should be: fails even as root
    sink = JsonlSink("file", path, 5.0)
    with pytest.raises(SinkError, match=r"alerts\.jsonl"):
        sink.deliver(message)
    path.rmdir()
    sink.deliver(message)
    sink.close()
    assert lines(path) == [message.body]


def test_parent_that_is_a_file_is_a_sink_error(tmp_path: Path, message: OutboxMessage) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(SinkError):
        JsonlSink("file", tmp_path / "file" / "alerts.jsonl", 5.0).deliver(message)


def test_no_file_is_created_before_the_first_delivery(tmp_path: Path) -> None:
    sink = JsonlSink("file", tmp_path / "d" / "alerts.jsonl", 5.0)
    sink.close()
    assert not (tmp_path / "d").exists()


def test_full_disk_is_a_sink_error(message: OutboxMessage) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    sink = JsonlSink("full", Path("/dev/full"), 5.0)
    with pytest.raises(SinkError, match="No space left"):
        sink.deliver(message)
    sink.close()


@pytest.fixture
def file_size_limit() -> Iterator[Callable[[int], None]]:
    """Limit the size of files this process writes (RLIMIT_FSIZE): a full disk in miniature.
    A write crossing the limit is cut short, the next one fails with EFBIG."""
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        yield lambda size: resource.setrlimit(resource.RLIMIT_FSIZE, (size, old_limit[1]))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)


def test_a_cut_short_write_leaves_no_partial_line(tmp_path: Path, message: OutboxMessage,
                                                  file_size_limit: Callable[[int], None]
                                                  ) -> None:
    path = tmp_path / "alerts.jsonl"
    sink = JsonlSink("file", path, 5.0)
    sink.deliver(message)
    file_size_limit(len(message.body) * 3 // 2)
    with pytest.raises(SinkError, match="too large"):
        sink.deliver(message)
    assert lines(path) == [message.body]  # not one and a half
    file_size_limit(resource.RLIM_INFINITY)
    sink.deliver(message)
    sink.close()
    assert lines(path) == [message.body, message.body]


def test_one_line_per_message_whatever_the_text(tmp_path: Path) -> None:
    """NEL, U+2028 and U+2029 are legal raw in JSON but end a line for many readers; a
    note from ``--note`` may hold a lone surrogate (an undecodable argv byte)."""
    path = tmp_path / "alerts.jsonl"
    sink = JsonlSink("file", path, 5.0)
    hostile = "a\u2028b\u2029c\x85d\x1b[2J\udcff"
    alerts = [make_alert(path=f"/x/{hostile}", reason=hostile, host=hostile),
              make_alert(notes=(AlertNote(time=1.0, author=hostile, text=hostile),))]
    for alert in alerts:
        sink.deliver(make_message(alert))
    sink.close()
    records = lines(path)
    assert len(records) == len(alerts)
    assert json.loads(records[1])["data"]["notes"][0]["text"] == hostile
