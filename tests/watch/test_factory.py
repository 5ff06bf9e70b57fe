"""``watch.backend`` -> a watcher, and the combinations that are refused."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from dlpd.errors import ConfigError
from dlpd.watch.factory import build_watcher
from dlpd.watch.inotify import InotifyWatcher
from dlpd.watch.observer import WatchdogWatcher


def test_auto_is_inotify_on_linux() -> None:
    assert isinstance(build_watcher("auto", access_events=False), InotifyWatcher)
    assert build_watcher("inotify", access_events=True).name == "inotify"
    assert build_watcher("watchdog", access_events=False).name == "watchdog"


def test_constructors_do_no_work() -> None:
    """No fd, no thread, no watch until start()."""
    for watcher in (InotifyWatcher(), WatchdogWatcher()):
        assert watcher.watched_dirs() == 0
        watcher.stop()  # never started: a no-op


def test_watchdog_with_access_events_is_refused_on_linux() -> None:
    with pytest.raises(ConfigError) as err:
        build_watcher("watchdog", access_events=True)
    assert err.value.key == "watch.access_events"


def test_unknown_backend() -> None:
    with pytest.raises(ConfigError) as err:
        build_watcher("fanotify", access_events=False)
    assert err.value.key == "watch.backend"


def test_off_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    with pytest.raises(ConfigError) as err:
        build_watcher("inotify", access_events=False)
    assert err.value.key == "watch.backend"
    assert isinstance(build_watcher("auto", access_events=False), WatchdogWatcher)
    assert isinstance(build_watcher("watchdog", access_events=True), WatchdogWatcher)


def test_inotify_reader_thread(tmp_path: Path) -> None:
    watcher = InotifyWatcher()
    watcher.start([str(tmp_path)], lambda _ev: None, lambda _p: False)
    try:
        threads = [t for t in threading.enumerate() if t.name == "dlpd-inotify"]
        assert len(threads) == 1 and not threads[0].daemon
        with pytest.raises(RuntimeError):
            watcher.start([str(tmp_path)], lambda _ev: None, lambda _p: False)
    finally:
        watcher.stop()
    assert not threads[0].is_alive()
