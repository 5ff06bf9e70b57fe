"""Which settled files may be read now, and what to do with a read that found the file
changing. Main thread only; pure bookkeeping (the clock is an argument).

One read of a path at a time: a file written again while it is read waits for that read.
A file found changing (``unstable``) is read again at most once a ``PAUSE``, up to
``READS`` reads or until ``max_delay`` has passed since the first; then what was read is
kept (an insider cannot hide a file by appending to it forever), and the file is read at
most once a ``max_delay`` until a read finds it settled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import structlog

from dlpd.model import display_path
from dlpd.policy.decide import is_under
from dlpd.watch.settle import Pending

_log = structlog.get_logger("dlpd.daemon")

READS = 3
PAUSE = 1.0


class Verdict(Enum):
    KEEP = "keep"  # write the result and decide on it
    READ_AGAIN = "read again"  # settle the path again; the result is dropped
    DROP = "drop"  # already kept what was read; its next write reads it again


@dataclass(slots=True)
class _Changing:
    first: float  # monotonic() of the first read that found it changing
    last: float  # and of the latest
    reads: int = 0
    accepted: bool = False  # what was read is kept; read again once it settles


class ReadGate:
    def __init__(self, max_delay: float) -> None:
        self.max_delay = max_delay
        self._changing: dict[str, _Changing] = {}
        self._held: dict[str, Pending] = {}  # due, but not to be read yet
        self._reading: set[str] = set()

    def __len__(self) -> int:
        return len(self._held)

    def reading(self, paths: list[str]) -> None:
        self._reading.update(paths)

    def read(self, paths: list[str]) -> None:
        self._reading.difference_update(paths)

    def admit(self, due: list[Pending], now: float) -> list[Pending]:
        """``due`` without the files held back, plus the held ones whose time came (each
        write is an event: a file appended to without pause would be read without
        pause)."""
        ready = [p for p in self._held.values() if self._when(p.path, now) <= now]
        for pending in ready:
            del self._held[pending.path]
        for pending in due:
            held = self._held.get(pending.path)
            if held is not None:
                held.kinds |= pending.kinds
                held.src_path = pending.src_path or held.src_path
            elif self._when(pending.path, now) > now:
                self._held[pending.path] = pending
            else:
                ready.append(pending)
        return ready

    def verdict(self, path: str, unstable: bool, size: int, now: float) -> Verdict:
        """What to do with a read of ``path`` (``unstable``: it changed while read)."""
        if not unstable:
            self._changing.pop(path, None)
            return Verdict.KEEP
        changing = self._changing.setdefault(path, _Changing(now, now))
        changing.reads += 1
        changing.last = now
        if changing.accepted:
            return Verdict.DROP
        if changing.reads < READS and now - changing.first < self.max_delay:
            return Verdict.READ_AGAIN
        changing.accepted = True
        _log.info("file still changing; classified as read", path=display_path(path),
                  reads=changing.reads, size=size)
        return Verdict.KEEP

    def forget(self, path: str) -> None:
        """Nothing is known of ``path`` any more (gone, or its write failed)."""
        self._changing.pop(path, None)
        self._held.pop(path, None)

    def forget_under(self, directory: str) -> None:
        for path in [p for p in self._held if is_under(p, directory)]:
            del self._held[path]

    def oldest(self) -> float | None:
        return min((p.first for p in self._held.values()), default=None)

    def next_due(self) -> float | None:
        """When the first held file may be read (None: none waits on the clock)."""
        return min((w for p in self._held if math.isfinite(w := self._when(p, 0.0))),
                   default=None)

    def _when(self, path: str, now: float) -> float:
        """When a due file may be read: never while a read of it is in flight, a pause
        after the last read of one that was changing, else ``now``."""
        if path in self._reading:
            return math.inf
        changing = self._changing.get(path)
        if changing is None:
            return now
        return changing.last + (self.max_delay if changing.accepted else PAUSE)
