"""Opens of labelled files: into the access log, and judged against the label's readers.

With fanotify an open names its process, and our own reads never arrive (dropped by pid):
it is recorded at once and, when its user is not among the readers, becomes an
unauthorized-access alert in the step's transaction. With inotify an open names nobody,
and our own reads are told apart by time (``ownreads.py``): it waits out its window first.
Main thread only.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

from dlpd.daemon.access_log import AccessAggregator
from dlpd.daemon.attribution import AccessJudge
from dlpd.daemon.commit import Batch, Unauthorized
from dlpd.daemon.ownreads import OwnReads
from dlpd.errors import DlpdError
from dlpd.model import AccessKind
from dlpd.store.db import Engine
from dlpd.watch.events import FsEvent

_log = structlog.get_logger("dlpd.daemon")


class Opens:
    def __init__(self, access: AccessAggregator, engine: Engine,
                 labels: Callable[[str], tuple[str, ...] | None]) -> None:
        self._access = access
        self._engine = engine
        self._labels = labels  # a path's labels as the store has them
        self._own = OwnReads()

    def opened(self, event: FsEvent, labels: tuple[str, ...], judge: AccessJudge,
               now: float, batch: Batch) -> None:
        """``event`` opened a file labelled ``labels``."""
        actor = event.actor
        if actor is None:
            self._own.opened(event, now)
            return
        wall = time.time()
        self._access.record(event.path, AccessKind.OPENED, labels, wall, actor=actor)
        denied = judge.denied(actor, labels)
        if denied:
            batch.opened.append(Unauthorized(event.path, labels, denied, actor, wall))

    def ours(self, paths: list[str], now: float) -> None:
        """We read ``paths`` at ``now``: an inotify open close to it is ours."""
        self._own.read(paths, now)

    def settle(self, now: float) -> None:
        """Record the inotify opens whose window has passed and that no read of ours
        explains (called every second)."""
        wall_offset = time.time() - now
        for ev, t in self._own.others(now):
            labels = self._labels(ev.path)
            if labels:
                self._access.record(ev.path, AccessKind.OPENED, labels, t + wall_offset,
                                    actor=ev.actor)

    def flush(self) -> None:
        try:
            self._access.flush(self._engine, time.time())
        except DlpdError as exc:
            _log.warning("access log not written; will retry", error=str(exc))
