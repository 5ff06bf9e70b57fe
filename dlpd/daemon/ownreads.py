"""The own-read filter: our own opens of a file must not be logged as someone's access.

inotify cannot tell our reads from others': an "opened" event within ``WINDOW`` seconds
of a read of ours (before or after: the event and the read's end race) is ours. Opens
are held until their window has passed and then matched against the reads around them.
Main thread only; pure bookkeeping (the clock is an argument).
"""

from __future__ import annotations

from collections.abc import Iterable

from dlpd.watch.events import FsEvent

WINDOW = 2.0


class OwnReads:
    def __init__(self) -> None:
        self._reads: list[tuple[str, float]] = []
        self._opens: list[tuple[FsEvent, float]] = []

    def read(self, paths: Iterable[str], now: float) -> None:
        """We read ``paths`` at ``now``."""
        self._reads.extend((p, now) for p in paths)

    def opened(self, event: FsEvent, now: float) -> None:
        """Someone (perhaps we) opened ``event.path`` at ``now``."""
        self._opens.append((event, now))

    def others(self, now: float) -> list[tuple[FsEvent, float]]:
        """The opens whose window has passed and that no read of ours explains, with
        when they were seen; forgets what can no longer explain an open."""
        horizon = now - 3 * WINDOW
        if not self._opens:
            # Not cleared: the open of a read already noted may still be on its way from
            # the watcher (a crawl notes its read on the crawl thread as the read ends).
            self._reads = [(p, t) for p, t in self._reads if t >= horizon]
            return []
        ours: dict[str, list[float]] = {}
        for path, t in self._reads:
            ours.setdefault(path, []).append(t)
        keep: list[tuple[FsEvent, float]] = []
        theirs: list[tuple[FsEvent, float]] = []
        for ev, t in self._opens:
            if now - t <= WINDOW:
                keep.append((ev, t))
            elif not any(abs(t - r) <= WINDOW for r in ours.get(ev.path, ())):
                theirs.append((ev, t))
        self._opens = keep
        self._reads = [(p, t) for p, t in self._reads if t >= horizon]
        return theirs
