"""The own-read filter: an "opened" event near a read of ours (before or after) is ours;
others' opens are reported once their window has passed, each once."""

from __future__ import annotations

from dlpd.daemon.ownreads import WINDOW, OwnReads
from dlpd.watch.events import Actor, EventKind, FsEvent


def _open(path: str, uid: int) -> FsEvent:
    return FsEvent(EventKind.OPENED, path, actor=Actor(1000, uid=uid))


def test_opens_near_our_reads_are_ours_others_are_reported_once() -> None:
    own = OwnReads()
    own.read(["/r/ours"], 100.0)
    own.opened(_open("/r/ours", 0), 100.0 + WINDOW - 0.1)  # our read, just before
    own.opened(_open("/r/ours", 0), 100.0 - WINDOW + 0.1)  # the event raced ahead
    own.opened(_open("/r/theirs", 1000), 100.0)
    own.opened(_open("/r/ours", 1000), 100.0 + 2 * WINDOW + 1)  # later: someone else
    assert own.others(100.0 + WINDOW) == []  # nothing's window has passed yet
    reported = own.others(100.0 + 2 * WINDOW)
    assert [(ev.path, ev.actor and ev.actor.uid) for ev, _t in reported] == [("/r/theirs", 1000)]
    assert own.others(100.0 + 2 * WINDOW) == []  # reported once
    late = own.others(100.0 + 4 * WINDOW)
    assert [(ev.path, t) for ev, t in late] == [("/r/ours", 100.0 + 2 * WINDOW + 1)]


def test_reads_are_forgotten_when_nothing_waits() -> None:
    own = OwnReads()
    own.read(["/r/f"], 100.0)
    assert own.others(200.0) == []
    own.opened(_open("/r/f", 1000), 100.5)  # a read long forgotten cannot explain it
    assert len(own.others(200.0)) == 1


def test_a_read_noted_before_its_open_arrives_still_explains_it() -> None:
    # A crawl notes its read as the read ends; the watcher's "opened" event for it may
    # reach the main loop after a settle pass that saw no open waiting.
    own = OwnReads()
    own.read(["/r/crawled"], 100.0)
    assert own.others(100.5) == []  # nothing waits yet: the read must not be dropped
    own.opened(_open("/r/crawled", 0), 100.7)
    assert own.others(100.7 + WINDOW + 0.1) == []
