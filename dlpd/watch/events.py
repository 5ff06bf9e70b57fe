"""What a watch backend reports, and the contract every backend keeps (stdlib and dlpd.model).

Backends (inotify, watchdog) translate their native events into ``FsEvent`` and call the
daemon's callback from their own thread. The callback only enqueues; it never blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from dlpd.model import Actor

__all__ = ["Actor", "EventKind", "FsEvent", "OnEvent", "WatchBackend"]


class EventKind(StrEnum):
    CREATED = "created"  # a file appeared (link, mknod, open O_CREAT); a write may follow
    CLOSED_WRITE = "closed_write"  # a file opened for writing was closed: scan it
    MOVED = "moved"  # ``src_path`` -> ``path``; ``src_path`` is None when moved in from outside
    MOVED_OUT = "moved_out"  # ``path`` left the watched trees (no destination seen)
    DELETED = "deleted"
    OPENED = "opened"  # read access, only when the backend reports it (watch.access_events)
    # A file's or directory's mode, owner or ACL may have changed (chmod, chown, setfacl;
    # also utime and link count): who can read it is looked at again.
    ATTRIB = "attrib"
    DIR_CREATED = "dir_created"  # a new directory: the backend watches it; scan its contents
    DIR_MOVED = "dir_moved"  # a directory ``src_path`` -> ``path`` (src None: moved in)
    DIR_MOVED_OUT = "dir_moved_out"  # a directory left the watched trees: forget below it
    DIR_DELETED = "dir_deleted"
    OVERFLOW = "overflow"  # events were lost under ``path`` (a root, or "" for all roots)
    UNWATCHED = "unwatched"  # ``path`` could not be watched (e.g. the inotify watch limit)


@dataclass(frozen=True, slots=True)
class FsEvent:
    kind: EventKind
    path: str
    src_path: str | None = None
    # Who did it, where the backend knows (fanotify); None for inotify and watchdog.
    actor: Actor | None = None
    # time.monotonic() when the backend read the event.
    time: float = 0.0


OnEvent = Callable[[FsEvent], None]


class WatchBackend(Protocol):
    """Watches directory trees recursively and reports ``FsEvent``s to ``on_event``.

    ``start`` returns once every directory present under the roots is watched (so that
    READY=1 means what it says); new directories are watched as they appear. Directories
    for which ``is_pruned(path)`` is true (excludes) are neither watched nor reported.
    """

    name: str

    def start(self, roots: Sequence[str], on_event: OnEvent,
              is_pruned: Callable[[str], bool]) -> None: ...

    def stop(self) -> None: ...

    def watched_dirs(self) -> int: ...
