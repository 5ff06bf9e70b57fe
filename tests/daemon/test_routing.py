"""Every event kind's meaning, as one table."""

from __future__ import annotations

import pytest

from dlpd.daemon.routing import (
    OUT_OF_TREE,
    Action,
    Attributes,
    Crawl,
    Forget,
    Opened,
    ReconcileAll,
    Settle,
    Unwatched,
    route,
)
from dlpd.watch.events import Actor, EventKind, FsEvent


def _excluded(path: str) -> bool:
    return "/.cache/" in path + "/"


def _route(ev: FsEvent) -> list[Action]:
    return route(ev, _excluded, _excluded)


@pytest.mark.parametrize(("event", "expected"), [
    (FsEvent(EventKind.CLOSED_WRITE, "/d/a"), [Settle("/d/a", "modified")]),
    (FsEvent(EventKind.CREATED, "/d/a"), [Settle("/d/a", "created")]),
    (FsEvent(EventKind.CLOSED_WRITE, "/d/.cache/a"), []),
    (FsEvent(EventKind.MOVED, "/d/b", "/d/a"),
     [Forget("/d/a", "moved to /d/b"), Settle("/d/b", "moved", "/d/a")]),
    (FsEvent(EventKind.MOVED, "/d/b"), [Settle("/d/b", "moved")]),
    (FsEvent(EventKind.MOVED, "/d/.cache/b", "/d/a"), [Forget("/d/a", "moved to /d/.cache/b")]),
    (FsEvent(EventKind.DELETED, "/d/a"), [Forget("/d/a", "deleted")]),
    (FsEvent(EventKind.MOVED_OUT, "/d/a"), [Forget("/d/a", OUT_OF_TREE)]),
    (FsEvent(EventKind.DIR_CREATED, "/d/n"), [Crawl("/d/n", "dir_created")]),
    (FsEvent(EventKind.DIR_MOVED, "/d/n", "/d/o"),
     [Forget("/d/o", "moved to /d/n", is_dir=True), Crawl("/d/n", "dir_moved")]),
    (FsEvent(EventKind.DIR_CREATED, "/d/.cache"), []),
    (FsEvent(EventKind.DIR_DELETED, "/d/n"), [Forget("/d/n", "deleted", is_dir=True)]),
    (FsEvent(EventKind.DIR_MOVED_OUT, "/d/n"), [Forget("/d/n", OUT_OF_TREE, is_dir=True)]),
    (FsEvent(EventKind.OVERFLOW, ""), [ReconcileAll("overflow", "")]),
    (FsEvent(EventKind.UNWATCHED, "/d/big"), [Unwatched("/d/big")]),
    (FsEvent(EventKind.OPENED, "/d/a", actor=Actor(7)),
     [Opened(FsEvent(EventKind.OPENED, "/d/a", actor=Actor(7)))]),
    (FsEvent(EventKind.ATTRIB, "/d/a"), [Attributes(FsEvent(EventKind.ATTRIB, "/d/a"))]),
])
def test_route(event: FsEvent, expected: list[Action]) -> None:
    assert _route(event) == expected


def test_every_event_kind_is_routed() -> None:
    for kind in EventKind:
        path = "" if kind is EventKind.OVERFLOW else "/d/x"
        assert _route(FsEvent(kind, path)), f"{kind} has no action"
