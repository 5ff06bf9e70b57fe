"""Aggregate access events in memory and write them in one transaction per flush.

Repeats of (path, kind, actor) within ``window`` seconds of the row's first event are one
access-log row with a count: a job reading a file a million times writes one row a window,
and between flushes it writes nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from dlpd.model import AccessKind, Actor
from dlpd.store import access as repo
from dlpd.store.db import Engine, transaction

# (path, kind, the actor's pid, uid and executable): one process's repeats aggregate.
_Key = tuple[str, str, int | None, int | None, str | None]


@dataclass(slots=True)
class _Open:
    record: repo.AccessRecord  # as last written (id set once inserted)
    unwritten: int  # repeats since the last flush
    last: float


class AccessAggregator:
    def __init__(self, window: float, *, host: str) -> None:
        self.window = window
        self._host = host  # whose rows these are ([daemon] host)
        self._open: dict[_Key, _Open] = {}

    def __len__(self) -> int:
        return len(self._open)

    def record(self, path: str, kind: AccessKind, labels: tuple[str, ...], now: float, *,
               src_path: str | None = None, actor: Actor | None = None) -> None:
        key = ((path, kind, None, None, None) if actor is None
               else (path, kind, actor.pid, actor.uid, actor.exe))
        current = self._open.get(key)
        if current is not None and now - current.record.first <= self.window:
            current.unwritten += 1
            current.last = now
            return
        self._open[key] = _Open(repo.AccessRecord(
            path=path, kind=kind, labels=labels, first=now, last=now, count=0,
            src_path=src_path, actor=actor), 1, now)

    def flush(self, engine: Engine, now: float) -> int:
        """Write what accumulated; forget rows whose window has closed. Returns rows
        touched."""
        touched = 0
        dirty = [o for o in self._open.values() if o.unwritten]
        if dirty:
            new = [o for o in dirty if o.record.id is None]
            old = [o for o in dirty if o.record.id is not None]
            with transaction(engine) as conn:
                ids = repo.insert_records(conn, [replace(o.record, count=o.unwritten,
                                                         last=o.last) for o in new],
                                             host=self._host)
                repo.add_repeats(conn, [(o.record.id or 0, o.unwritten, o.last) for o in old])
            for item, record_id in zip(new, ids, strict=True):
                item.record = replace(item.record, id=record_id)
            for item in dirty:
                item.unwritten = 0
            touched = len(dirty)
        for key in [k for k, o in self._open.items()
                    if not o.unwritten and now - o.record.first > self.window]:
            del self._open[key]
        return touched
