"""Coalesce file events per path before scanning. Pure: the caller passes the clock.

A path is due ``settle`` seconds after its last event (a file closed and reopened for the
next write is scanned once), but never later than ``max_delay`` after its first event (a
file written continuously is still scanned). A file that was only created waits for its
close-after-write, up to ``max_delay``.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from dlpd.model import AccessKind, Actor


@dataclass(slots=True)
class Pending:
    """Events seen on one path since it was last handed out for scanning."""

    path: str
    first: float
    last: float
    kinds: set[AccessKind] = field(default_factory=set)
    src_path: str | None = None  # where it was moved from, if a move brought it here
    # The process behind the last event that wrote, created or moved it (fanotify).
    actor: Actor | None = None

    @property
    def kind(self) -> AccessKind:
        """What happened since the last scan, in one word: a new file is "created" (not
        also "modified" by the writes that made it)."""
        for kind in (AccessKind.MOVED, AccessKind.CREATED):
            if kind in self.kinds:
                return kind
        return AccessKind.MODIFIED

    def due(self, settle: float, max_delay: float) -> float:
        if self.kinds == {AccessKind.CREATED}:
            # Created and still open for writing (a copy in progress): its close will
            # come; scanning now would read half a file. A file that only appears
            # (a hard link) is scanned at the cap.
            return self.first + max_delay
        return min(self.last + settle, self.first + max_delay)


class Settler:
    def __init__(self, settle: float, max_delay: float) -> None:
        self._settle = settle
        self._max_delay = max_delay
        self._pending: dict[str, Pending] = {}
        # (due time, path): entries go stale when a path gets another event; a popped
        # entry counts only if it still equals the path's current due time.
        self._heap: list[tuple[float, str]] = []

    def __len__(self) -> int:
        return len(self._pending)

    def retime(self, settle: float, max_delay: float) -> None:
        """New windows (a reload): the waiting paths are due by the new ones."""
        self._settle, self._max_delay = settle, max_delay
        self._heap = [(p.due(settle, max_delay), p.path) for p in self._pending.values()]
        heapq.heapify(self._heap)

    def add(self, path: str, kind: AccessKind, now: float, src_path: str | None = None,
            actor: Actor | None = None) -> None:
        item = self._pending.get(path)
        if item is None:
            item = self._pending[path] = Pending(path, now, now)
        item.last = now
        item.kinds.add(kind)
        if src_path is not None:
            item.src_path = src_path
        if actor is not None and (actor.known or item.actor is None
                                  or item.actor.pid != actor.pid):
            # A writer that exited before its close was read (cp) is still known from
            # its earlier events (the create): an unknown actor of the same pid does not
            # replace it.
            item.actor = actor
        heapq.heappush(self._heap, (item.due(self._settle, self._max_delay), path))

    def discard(self, path: str) -> Pending | None:
        return self._pending.pop(path, None)

    def discard_under(self, directory: str) -> list[Pending]:
        prefix = directory.rstrip("/") + "/"
        gone = [p for p in self._pending if p.startswith(prefix)]
        return [self._pending.pop(p) for p in gone]

    def pop_due(self, now: float) -> list[Pending]:
        ready = []
        while self._heap and self._heap[0][0] <= now:
            when, path = heapq.heappop(self._heap)
            item = self._pending.get(path)
            if item is not None and item.due(self._settle, self._max_delay) == when:
                ready.append(self._pending.pop(path))
        return ready

    def next_due(self) -> float | None:
        while self._heap:
            when, path = self._heap[0]
            item = self._pending.get(path)
            if item is not None and item.due(self._settle, self._max_delay) == when:
                return when
            heapq.heappop(self._heap)
        return None

    def oldest(self) -> float | None:
        """First-event time of the longest-waiting path (for `dlpd status`)."""
        return min((p.first for p in self._pending.values()), default=None)
