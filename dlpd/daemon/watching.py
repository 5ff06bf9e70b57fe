"""The watch backend as one of the daemon's threads: built from the settings, started
over the roots that are directories, stopped with the shutdown's deadline."""

from __future__ import annotations

import os
import time

import structlog

from dlpd.daemon.runtime import Runtime
from dlpd.watch.events import OnEvent, WatchBackend
from dlpd.watch.factory import build_watcher

_log = structlog.get_logger("dlpd.daemon")


class Watching:
    name = "dlpd-watch"

    def __init__(self, runtime: Runtime, on_event: OnEvent) -> None:
        self._rt = runtime
        self._on_event = on_event
        self._backend: WatchBackend | None = None

    def start(self) -> None:
        """Returns once every directory under the roots is watched (READY=1 means it)."""
        rt = self._rt
        backend = build_watcher(rt.settings.watch.backend,
                                access_events=rt.settings.watch.access_events,
                                cross_devices=rt.settings.scan.cross_devices)
        roots = [r for r in rt.roots if os.path.isdir(r)]
        for missing in sorted(set(rt.roots) - set(roots)):
            _log.warning("watch path is not a directory; skipped", path=missing)
        backend.start(roots, self._on_event, rt.pathfilter.is_pruned)
        self._backend = backend

    def stop(self, deadline: float) -> bool:
        """Stop the backend's reader. Both backends wake their reader and join it (the
        inotify reader through its wake pipe, at once); the join has no bound of its
        own, so this says whether it ended by ``deadline``."""
        backend, self._backend = self._backend, None
        if backend is not None:
            backend.stop()
        return time.monotonic() <= deadline

    def backend_name(self) -> str:
        return self._backend.name if self._backend is not None else "none"

    def watched_dirs(self) -> int:
        return self._backend.watched_dirs() if self._backend is not None else 0
