"""``watch.backend`` -> a WatchBackend. The only place that chooses between them.

"auto" is dlpd's fanotify reader where it can run (CAP_SYS_ADMIN, a kernel with FID
reporting and FAN_RENAME: every event with its actor, no watch per directory; see
``fanotify.py``), else dlpd's own inotify reader on Linux (no silent loss, idle at zero
CPU; see ``inotify.py``), else watchdog. Each module is imported only when chosen: the
watchdog import costs time nobody needs on Linux. One log line says which runs and why.

watchdog with ``access_events`` on Linux is refused: after an overflow watchdog re-walks
the tree with IN_OPEN in its mask, its own directory opens (two events per directory)
overflow the queue again, and over more than ~8,000 directories it loops at 100% of a
core (measured: 12,000 directories, 100% CPU while idle; inotify backend: 0%).
"""

from __future__ import annotations

import sys

import structlog

from dlpd.errors import ConfigError
from dlpd.watch.events import WatchBackend

BACKENDS = ("auto", "fanotify", "inotify", "watchdog")

_log = structlog.get_logger("dlpd.watch")


def build_watcher(backend: str, *, access_events: bool,
                  cross_devices: bool = False) -> WatchBackend:
    """A not yet started watcher; ``start`` does the work."""
    on_linux = sys.platform.startswith("linux")
    if backend not in BACKENDS:
        raise ConfigError("watch.backend", f"{backend!r} is not one of {', '.join(BACKENDS)}")
    why = "configured"
    if backend == "auto":
        backend, why = _auto(on_linux)
    if backend == "fanotify":
        if not on_linux:
            raise ConfigError("watch.backend",
                              f'"fanotify" needs Linux (this is {sys.platform}); use "auto"')
        from dlpd.watch.fanotify_c import can_run  # noqa: PLC0415

        runs, reason = can_run()
        if not runs:
            raise ConfigError("watch.backend", f'"fanotify" cannot run here: {reason}; '
                              'use "auto" or "inotify"')
        from dlpd.watch.fanotify import FanotifyWatcher  # noqa: PLC0415

        _chosen("fanotify", reason if why == "configured" else why)
        return FanotifyWatcher(access_events=access_events, cross_devices=cross_devices)
    if backend == "inotify":
        if not on_linux:
            raise ConfigError("watch.backend",
                              f'"inotify" needs Linux (this is {sys.platform}); '
                              'use "auto" or "watchdog"')
        from dlpd.watch.inotify import InotifyWatcher  # noqa: PLC0415

        _chosen("inotify", why)
        return InotifyWatcher(access_events=access_events, cross_devices=cross_devices)
    if backend == "watchdog":
        if access_events and on_linux:
            raise ConfigError("watch.access_events",
                              'needs watch.backend = "inotify" (or "auto") on Linux: with '
                              "open events, watchdog's recovery from a queue overflow "
                              "overflows the queue again and spins a core")
        from dlpd.watch.observer import WatchdogWatcher  # noqa: PLC0415

        if on_linux:
            _log.warning("the watchdog backend walks watched trees by path: a user who can "
                         "write in one can make it watch (never read) directories outside "
                         'it; backend = "auto" uses the hardened inotify reader')

        _chosen("watchdog", why)
        return WatchdogWatcher(access_events=access_events)
    raise AssertionError(backend)


def _chosen(backend: str, why: str) -> None:
    _log.info(f"watch backend {backend}: {why}", backend=backend, reason=why)


def _auto(on_linux: bool) -> tuple[str, str]:
    """The backend "auto" means here, and why."""
    if not on_linux:
        return "watchdog", f"not Linux ({sys.platform})"
    from dlpd.watch.fanotify_c import can_run  # noqa: PLC0415

    runs, reason = can_run()
    return ("fanotify", reason) if runs else ("inotify", reason)
