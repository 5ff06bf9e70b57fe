"""The watchdog backend: the portable fallback, and the only module that imports watchdog.

On Linux dlpd's own reader (``inotify.py``) is the default; this backend exists for other
platforms and as a second opinion. What it keeps of the contract, and what it cannot:

- Only close/create/delete/move (and, with ``access_events``, open) events are asked for
  through ``event_filter``: with watchdog's default event set, a recursive watch over
  more than ~5,000 directories re-walks itself in a loop and spins a core (measured with
  watchdog 7.1 on Linux 6.x).
- Every kernel queue overflow becomes an OVERFLOW for that watch's root: watchdog 7.1
  calls ``on_queue_overflow`` on its watch group (and re-walks the tree) but never tells
  the handler, so the group and the emitter are subclassed to queue one. This hook is
  inotify-only; elsewhere losses stay as silent as watchdog makes them.
- Moves use watchdog's "full events": an unpaired move gives ``src_path`` or
  ``dest_path`` as "" after 0.5 s, which become MOVED (src None) and *_MOVED_OUT. A
  directory moved out keeps its watches (watchdog does not drop them), so files written
  in it afterwards are reported under their old paths until the next reconciliation.
- Open events (``access_events``): the factory refuses them on Linux. watchdog re-walks
  after an overflow with IN_OPEN in its mask; the walk's own directory opens overflow the
  queue again and, over ~8,000+ directories, it never stops (one core at 100%).
- Excluded subtrees are still watched (watchdog cannot skip them); their events are
  dropped here. A directory it cannot watch (the watch limit included) is skipped by
  watchdog without a word: no UNWATCHED is ever reported.
- Not hardened against a hostile tree: watchdog walks and adds watches by path, so a
  directory swapped for a symlink (to ``/etc``) mid-walk can put a watch outside the
  roots, its walk enters other file systems, and paths longer than PATH_MAX are not
  watched. The inotify backend (``dirfd.py``) is the hardened one; files are still read
  only by the scanner, through its own descriptor-relative walk.
- DIR_CREATED: watchdog watches the new directory (and what is already inside) before
  the event is queued; the synthetic events it adds for the contents are dropped, since
  the daemon crawls the directory anyway.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    FileOpenedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import BaseObserver

from dlpd.watch.events import EventKind, FsEvent, OnEvent

_log = structlog.get_logger("dlpd.watch")

_PRUNE_CACHE_MAX = 65536


class _OverflowEvent(FileSystemEvent):
    """Queued by our watch group when the kernel dropped events under ``src_path``."""

    event_type = "overflow"


_FILTER: list[type[FileSystemEvent]] = [
    FileClosedEvent, FileCreatedEvent, FileDeletedEvent, FileMovedEvent,
    DirCreatedEvent, DirDeletedEvent, DirMovedEvent, _OverflowEvent,
]

_KINDS: dict[type[FileSystemEvent], EventKind] = {
    FileClosedEvent: EventKind.CLOSED_WRITE,
    FileCreatedEvent: EventKind.CREATED,
    FileDeletedEvent: EventKind.DELETED,
    FileOpenedEvent: EventKind.OPENED,
    DirCreatedEvent: EventKind.DIR_CREATED,
    DirDeletedEvent: EventKind.DIR_DELETED,
}


if sys.platform.startswith("linux"):
    from watchdog.observers.inotify import InotifyFullEmitter, InotifyWatchGroup
    from watchdog.observers.inotify_c import InotifyFD

    @dataclass
    class _ReportingWatchGroup(InotifyWatchGroup):
        on_overflow: Callable[[], None] | None = None

        def on_queue_overflow(self) -> None:
            super().on_queue_overflow()  # discards pending moves, re-walks the tree
            if self.on_overflow is not None and self.is_active:
                self.on_overflow()

        def watch_count(self) -> int:
            return len(self._active_callbacks_by_watch)

    class _ReportingEmitter(InotifyFullEmitter):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.name = "dlpd-watchdog-emitter"

        def on_thread_start(self) -> None:
            # InotifyEmitter.on_thread_start, with our group. The walk happens here, in
            # the thread that calls start(): schedule() returns with the tree watched.
            self._inotify = _ReportingWatchGroup(
                self._inotify_fd, os.fsencode(self.watch.path),
                is_recursive=self.watch.is_recursive,
                event_mask=self.get_event_mask_from_filter(),
                follow_symlink=self.watch.follow_symlink,
                on_overflow=self._report_overflow)

        def _report_overflow(self) -> None:
            self.queue_event(_OverflowEvent(self.watch.path))

        def watch_count(self) -> int:
            group = self._inotify
            return group.watch_count() if isinstance(group, _ReportingWatchGroup) else 0

    class _ReportingObserver(BaseObserver):
        """InotifyObserver with our emitter; its fd reader starts with the observer."""

        def __init__(self) -> None:
            self._fd_reader = InotifyFD()
            self._fd_reader.name = "dlpd-watchdog-inotify"
            super().__init__(_ReportingEmitter, inotify_fd=self._fd_reader)
            self.name = "dlpd-watchdog"

        def on_thread_start(self) -> None:
            self._fd_reader.start()
            super().on_thread_start()

        def on_thread_stop(self) -> None:
            super().on_thread_stop()
            self._fd_reader.stop()
            if self._fd_reader.is_alive():
                self._fd_reader.join()

    def _new_observer() -> BaseObserver:
        return _ReportingObserver()

else:  # FSEvents, kqueue, Windows: no overflow hook to report through
    from watchdog.observers import Observer

    def _new_observer() -> BaseObserver:
        return Observer()


class _Translator(FileSystemEventHandler):
    """watchdog events -> FsEvent, on the observer's dispatch thread."""

    def __init__(self, on_event: OnEvent, is_pruned: Callable[[str], bool],
                 roots: Sequence[str]) -> None:
        self._on_event = on_event
        self._is_pruned = is_pruned
        self._roots = frozenset(roots)
        self._pruned: dict[str, bool] = {}

    def dispatch(self, event: FileSystemEvent) -> None:
        """An exception here would end watchdog's dispatch thread, and the watch with
        it, in silence: log it and report an OVERFLOW so the daemon reconciles."""
        try:
            self._translate(event)
        except Exception:
            _log.exception("watchdog event could not be handled; reconciling")
            try:
                self._on_event(FsEvent(EventKind.OVERFLOW, "", time=time.monotonic()))
            except Exception:
                _log.exception("watchdog backend could not report the failure")

    def _translate(self, event: FileSystemEvent) -> None:
        if event.is_synthetic:
            return  # contents of a created or moved directory: the daemon crawls it
        now = time.monotonic()
        src = os.fsdecode(event.src_path)
        cls = type(event)
        if cls is _OverflowEvent:
            self._on_event(FsEvent(EventKind.OVERFLOW, src, time=now))
            return
        if cls is FileMovedEvent or cls is DirMovedEvent:
            self._moved(src, os.fsdecode(event.dest_path), cls is DirMovedEvent, now)
            return
        kind = _KINDS.get(cls)
        if kind is None or self._is_hidden(src, event.is_directory):
            return
        self._on_event(FsEvent(kind, src, time=now))
        if kind is EventKind.DIR_DELETED and src in self._roots:
            self._on_event(FsEvent(EventKind.UNWATCHED, src, time=now))

    def _moved(self, src: str, dest: str, is_dir: bool, now: float) -> None:
        # "" marks the side of the move outside the watched trees; an excluded side
        # counts as outside too.
        src_in = bool(src) and not self._is_hidden(src, is_dir)
        dest_in = bool(dest) and not self._is_hidden(dest, is_dir)
        if dest_in:
            kind = EventKind.DIR_MOVED if is_dir else EventKind.MOVED
            self._on_event(FsEvent(kind, dest, src if src_in else None, time=now))
        elif src_in:
            kind = EventKind.DIR_MOVED_OUT if is_dir else EventKind.MOVED_OUT
            self._on_event(FsEvent(kind, src, time=now))

    def _is_hidden(self, path: str, is_dir: bool) -> bool:
        """True if ``path`` (a directory itself, when ``is_dir``) is under an excluded
        directory. Answers are cached per directory: ``is_pruned`` is pure."""
        directory = path if is_dir else os.path.dirname(path)
        cached = self._pruned.get(directory)
        if cached is not None:
            return cached
        if directory in self._roots or directory in ("", "/"):
            return False
        pruned = self._is_pruned(directory) or self._is_hidden(directory, False)
        if len(self._pruned) >= _PRUNE_CACHE_MAX:
            self._pruned.clear()
        self._pruned[directory] = pruned
        return pruned


class WatchdogWatcher:
    """Recursive watches through watchdog's Observer (threads named ``dlpd-watchdog*``)."""

    name = "watchdog"

    def __init__(self, *, access_events: bool = False) -> None:
        self._filter = [*_FILTER, FileOpenedEvent] if access_events else list(_FILTER)
        self._lock = threading.Lock()
        self._observer: BaseObserver | None = None
        self._started = False
        self._stopped = False
        self._roots: tuple[str, ...] = ()

    def start(self, roots: Sequence[str], on_event: OnEvent,
              is_pruned: Callable[[str], bool]) -> None:
        """Start the observer, then schedule one recursive watch per root. On a running
        observer ``schedule`` starts the emitter, which walks and watches the tree in
        ``on_thread_start``, in this thread: this returns with every directory watched."""
        with self._lock:
            if self._started or self._stopped:
                raise RuntimeError("WatchdogWatcher.start() may be called once")
            self._started = True
        self._roots = tuple(dict.fromkeys(r.rstrip("/") or "/" for r in roots))
        # When `mkdir -p` races its walk, watchdog adds a directory it already watches
        # and warns, with the repr of its whole watch table, once per directory: noise on
        # the daemon's stderr, harmless to the watch. The warning comes from watchdog's
        # threads at any time, so a scoped catch_warnings() cannot cover it: the filter
        # is installed when this backend starts (never at import), for watchdog only.
        warnings.filterwarnings("ignore", message=r"Callback with id '\d+' already exists",
                                category=RuntimeWarning, module=r"watchdog\.")
        observer = _new_observer()
        observer.start()
        self._observer = observer
        handler = _Translator(on_event, is_pruned, self._roots)
        for root in self._roots:
            try:
                observer.schedule(handler, root, recursive=True, event_filter=self._filter)
            except OSError as exc:
                _log.warning("watch root cannot be watched", path=root, error=exc.strerror)
                on_event(FsEvent(EventKind.UNWATCHED, root, time=time.monotonic()))

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            if observer is not threading.current_thread():
                observer.join()

    def watched_dirs(self) -> int:
        """Live inotify watches on Linux; elsewhere the number of watched roots."""
        observer = self._observer
        if observer is None:
            return 0
        counts = [getattr(e, "watch_count", None) for e in list(observer.emitters)]
        if any(c is None for c in counts):
            return len(self._roots)
        return sum(c() for c in counts if c is not None)
