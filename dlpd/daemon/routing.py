"""What the daemon does about one file event: a pure mapping from ``FsEvent`` to actions.

Kept apart from the loop that applies them so every event kind's meaning is in one table
that can be read (and tested) without threads, files or a database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dlpd.model import AccessKind, Actor, display_path
from dlpd.watch.events import EventKind, FsEvent

OUT_OF_TREE = "moved out of the watched trees"


@dataclass(frozen=True, slots=True)
class Settle:
    """Scan ``path`` once its events settle; ``kind`` goes to the access log."""

    path: str
    kind: AccessKind
    src_path: str | None = None
    actor: Actor | None = None  # who wrote, created or moved it (fanotify)


@dataclass(frozen=True, slots=True)
class Forget:
    """``path`` (a directory: everything below it) is gone from here: resolve its alerts."""

    path: str
    why: str
    is_dir: bool = False


@dataclass(frozen=True, slots=True)
class Crawl:
    directory: str
    reason: str


@dataclass(frozen=True, slots=True)
class ReconcileAll:
    reason: str
    root: str


@dataclass(frozen=True, slots=True)
class Unwatched:
    path: str


@dataclass(frozen=True, slots=True)
class Opened:
    event: FsEvent


@dataclass(frozen=True, slots=True)
class Attributes:
    """``path``'s mode, owner or ACL may have changed: who can read it is looked at again."""

    event: FsEvent


Action = Settle | Forget | Crawl | ReconcileAll | Unwatched | Opened | Attributes


def route(ev: FsEvent, is_excluded: Callable[[str], bool],  # noqa: PLR0911 - a table
          is_pruned: Callable[[str], bool]) -> list[Action]:
    kind, path, src = ev.kind, ev.path, ev.src_path
    moved_to = f"moved to {display_path(path)}"
    match kind:
        case EventKind.CLOSED_WRITE | EventKind.CREATED:
            label = (AccessKind.MODIFIED if kind is EventKind.CLOSED_WRITE
                     else AccessKind.CREATED)
            return [] if is_excluded(path) else [Settle(path, label, actor=ev.actor)]
        case EventKind.MOVED:
            gone: list[Action] = [Forget(src, moved_to)] if src is not None else []
            return gone + ([] if is_excluded(path)
                           else [Settle(path, AccessKind.MOVED, src, ev.actor)])
        case EventKind.DELETED:
            return [Forget(path, "deleted")]
        case EventKind.MOVED_OUT:
            return [Forget(path, OUT_OF_TREE)]
        case EventKind.DIR_CREATED | EventKind.DIR_MOVED:
            gone = [Forget(src, moved_to, is_dir=True)] if src is not None else []
            return gone + ([] if is_pruned(path) else [Crawl(path, kind.value)])
        case EventKind.DIR_DELETED:
            return [Forget(path, "deleted", is_dir=True)]
        case EventKind.DIR_MOVED_OUT:
            return [Forget(path, OUT_OF_TREE, is_dir=True)]
        case EventKind.OVERFLOW:
            return [ReconcileAll("overflow", path)]
        case EventKind.UNWATCHED:
            return [Unwatched(path)]
        case EventKind.OPENED:
            return [] if is_excluded(path) else [Opened(ev)]
        case EventKind.ATTRIB:
            return [] if is_excluded(path) else [Attributes(ev)]
    return []
