"""``watch.backend`` -> a watcher, and the combinations that are refused."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from dlpd.errors import ConfigError
from dlpd.watch.factory import build_watcher
from dlpd.watch.fanotify import FanotifyWatcher
from dlpd.watch.fanotify_c import can_run
from dlpd.watch.inotify import InotifyWatcher
from dlpd.watch.observer import WatchdogWatcher
from tests.daemon.test_control_socket import User, _python_prefix


def test_auto_is_fanotify_where_it_runs_else_inotify() -> None:
    with capture_logs() as logs:
        auto = build_watcher("auto", access_events=False)
    runs, why = can_run()
    assert isinstance(auto, FanotifyWatcher if runs else InotifyWatcher)
    chosen = [e for e in logs if e["event"].startswith("watch backend ")]
    assert len(chosen) == 1 and chosen[0]["reason"] == why, logs
    assert build_watcher("inotify", access_events=True).name == "inotify"
    assert build_watcher("watchdog", access_events=False).name == "watchdog"


_CHILD = """
import json, sys
from dlpd.errors import ConfigError
from dlpd.watch.factory import build_watcher
from dlpd.watch.fanotify import FanotifyWatcher
from dlpd.watch.fanotify_c import can_run
out = {"auto": build_watcher("auto", access_events=False).name}
try:
    build_watcher("fanotify", access_events=False)
except ConfigError as exc:
    out["error"] = [exc.key, str(exc)]
print(json.dumps(out))
"""


def test_fanotify_without_cap_sys_admin(tmp_path: Path) -> None:
    """Not root (nobody; at most CAP_DAC_READ_SEARCH, to reach an interpreter under a 0700
    /root as CI's is): "fanotify" is refused naming watch.backend, "auto" runs inotify
    and says why."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to drop to an unprivileged user")
    nobody = pwd.getpwnam("nobody")
    prefix = _python_prefix(User("nobody", nobody.pw_uid, nobody.pw_gid))
    done = subprocess.run(
        [*prefix, sys.executable, "-c", _CHILD],
        capture_output=True, text=True, check=False, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["auto"] == "inotify"
    key, message = out["error"]
    assert key == "watch.backend" and "no CAP_SYS_ADMIN" in message
    assert "watch backend inotify: no CAP_SYS_ADMIN" in done.stdout + done.stderr


def test_constructors_do_no_work() -> None:
    """No fd, no thread, no watch until start()."""
    for watcher in (InotifyWatcher(), WatchdogWatcher(), FanotifyWatcher()):
        assert watcher.watched_dirs() == 0
        watcher.stop()  # never started: a no-op


def test_watchdog_with_access_events_is_refused_on_linux() -> None:
    with pytest.raises(ConfigError) as err:
        build_watcher("watchdog", access_events=True)
    assert err.value.key == "watch.access_events"


def test_unknown_backend() -> None:
    with pytest.raises(ConfigError) as err:
        build_watcher("kqueue", access_events=False)
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
