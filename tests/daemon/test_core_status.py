"""The status file holds one typed ``DaemonStatus``; a file of an older or newer daemon
still reads (missing keys take defaults, unknown ones are ignored, wrong types too)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from dlpd.daemon.lifecycle import stop_all
from dlpd.daemon.status import (
    STATUS_FILE,
    CrawlRecord,
    DaemonStatus,
    SinkStatus,
    Unreachable,
    read_status,
    write_status,
)

# The keys `dlpd status --format json` has printed under "daemon" since the status file
# exists; scripts read them.
KEYS = {"pid", "version", "started", "updated", "config", "host", "backend", "roots",
        "watched_dirs", "unwatched", "queue_depth", "in_flight", "oldest_queued_age",
        "events", "events_by_kind", "overflows", "scanned", "alerts_raised",
        "alerts_resolved", "crawl_running_since", "crawl_pending", "last_crawl",
        "last_full_crawl", "rules_version", "sinks", "store_unreachable"}


def _status() -> DaemonStatus:
    crawl = CrawlRecord("start", True, 1.0, 2.0, 10, 3, 1, 0, False)
    return DaemonStatus(pid=42, version="1.0", started=1.0, updated=2.0, config="/etc/d.toml",
                        host="fs-a", backend="inotify", roots=("/srv/a",), watched_dirs=3,
                        unwatched=("/srv/a/x",), queue_depth=1, in_flight=1,
                        oldest_queued_age=0.5, events=7, events_by_kind={"created": 7},
                        overflows=1, scanned=5, alerts_raised=2, alerts_resolved=1,
                        crawl_running_since=None, crawl_pending=0, last_crawl=crawl,
                        last_full_crawl=crawl, rules_version="abc",
                        sinks={"hook": SinkStatus(3, 1, "502")},
                        store_unreachable=Unreachable(1.5, 4, "connection refused"))


def test_round_trip_through_the_file_keeps_every_key(tmp_path: Path) -> None:
    status = _status()
    write_status(tmp_path, status)
    raw = json.loads((tmp_path / STATUS_FILE).read_text())
    assert set(raw) == KEYS
    assert raw["sinks"] == {"hook": {"delivered": 3, "failures": 1, "last_error": "502"}}
    assert raw["last_full_crawl"]["files"] == 10
    assert raw["store_unreachable"] == {"since": 1.5, "retries": 4,
                                        "error": "connection refused"}
    assert read_status(tmp_path) == status


def test_an_older_or_newer_file_reads_typed() -> None:
    old = {"pid": 42, "updated": 5, "roots": ["/srv/a", 3], "future_key": {"x": 1},
           "queue_depth": "many", "last_full_crawl": {"reason": "start", "files": 9},
           "sinks": {"hook": {"delivered": 1}, "bad": 3}}
    status = DaemonStatus.from_json(old)
    assert status.pid == 42 and status.updated == 5.0 and isinstance(status.updated, float)
    assert status.roots == ("/srv/a",) and status.queue_depth == 0
    assert status.last_full_crawl is not None and status.last_full_crawl.files == 9
    assert status.last_crawl is None and status.backend == "none"
    assert status.sinks == {"hook": SinkStatus(delivered=1)}
    assert status.store_unreachable is None


class _Part:
    def __init__(self, name: str, stops: bool) -> None:
        self.name, self._stops, self.deadline = name, stops, 0.0

    def start(self) -> None:
        pass

    def stop(self, deadline: float) -> bool:
        self.deadline = deadline
        return self._stops


def test_stop_all_gives_one_deadline_and_names_the_late() -> None:
    parts = [_Part("a", True), _Part("b", False), _Part("c", True)]
    deadline = time.monotonic() + 1
    assert stop_all(parts, deadline) == ["b"]
    assert {p.deadline for p in parts} == {deadline}


def test_importing_the_watchdog_backend_leaves_warning_filters_alone() -> None:
    code = ("import warnings; n = len(warnings.filters); import dlpd.watch.observer; "
            "print(len(warnings.filters) - n)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "0"
