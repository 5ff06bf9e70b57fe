"""What each backend reports for real file operations in tmp_path (real inotify)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from dlpd.watch.events import EventKind

from .conftest import COUNTS_DIRS, StartWatch, make_tree, watchdog_gap

pytestmark = pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")

K = EventKind


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """(root, outside): a watched root and a sibling directory that is not watched."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    return root, outside


def test_closed_write(watch: StartWatch, tree: tuple[Path, Path]) -> None:
    root, _ = tree
    _, events = watch([root])
    f = root / "report.csv"
    f.write_text("id,name\n")
    events.wait_kind(K.CREATED, f)
    events.wait_kind(K.CLOSED_WRITE, f)


def test_rename_in_dir_and_across_dirs(watch: StartWatch, tree: tuple[Path, Path]) -> None:
    root, _ = tree
    (root / "sub").mkdir()
    a = root / "a.txt"
    a.write_text("x")
    _, events = watch([root])
    a.rename(root / "b.txt")
    events.wait_kind(K.MOVED, root / "b.txt", a)
    (root / "b.txt").rename(root / "sub" / "c.txt")
    events.wait_kind(K.MOVED, root / "sub" / "c.txt", root / "b.txt")


def test_moved_in_from_outside(watch: StartWatch, tree: tuple[Path, Path]) -> None:
    root, outside = tree
    (outside / "in.txt").write_text("x")
    _, events = watch([root])
    (outside / "in.txt").rename(root / "in.txt")
    events.wait_kind(K.MOVED, root / "in.txt", None)


def test_moved_out(watch: StartWatch, tree: tuple[Path, Path]) -> None:
    root, outside = tree
    (root / "out.txt").write_text("x")
    _, events = watch([root])
    (root / "out.txt").rename(outside / "out.txt")
    events.wait_kind(K.MOVED_OUT, root / "out.txt")


def test_moved_out_then_recreated_keeps_order(watch: StartWatch,
                                              tree: tuple[Path, Path]) -> None:
    """A MOVED_OUT held back while its move is unpaired must not overtake a new file of
    the same name: the daemon would forget the new file."""
    root, outside = tree
    f = root / "same.txt"
    f.write_text("old")
    _, events = watch([root])
    f.rename(outside / "same.txt")
    f.write_text("new")
    events.wait_kind(K.CLOSED_WRITE, f)
    events.wait_kind(K.MOVED_OUT, f)
    kinds = [e.kind for e in events.events if e.path == str(f)]
    assert kinds.index(K.MOVED_OUT) < kinds.index(K.CLOSED_WRITE), kinds


def test_delete(watch: StartWatch, tree: tuple[Path, Path]) -> None:
    root, _ = tree
    (root / "gone.txt").write_text("x")
    _, events = watch([root])
    (root / "gone.txt").unlink()
    events.wait_kind(K.DELETED, root / "gone.txt")


def test_mkdir_p_then_file_at_once(backend: str, watch: StartWatch,
                                   tree: tuple[Path, Path]) -> None:
    """Each new directory is watched (with what is already below it) before its
    DIR_CREATED is emitted, so the crawl that the event starts and the watch together
    cannot miss a file: whichever DIR_CREATED announces ``c`` finds ``c`` watched.
    (fanotify's file-system mark covers every directory before it exists.)"""
    root, _ = tree
    watcher, events = watch([root])
    before = watcher.watched_dirs() if backend in COUNTS_DIRS else -3
    c = root / "a" / "b" / "c"
    c.mkdir(parents=True)
    (c / "first.txt").write_text("written before any watch could exist")
    chain = {str(root / "a"), str(root / "a" / "b"), str(c)}
    events.wait_for(lambda ev: ev.kind is K.DIR_CREATED and ev.path in chain
                    and events.watched_at[ev.path] >= before + 3,
                    what="DIR_CREATED that saw a/b/c watched")
    assert events.wait_kind(K.DIR_CREATED, root / "a")
    (c / "second.txt").write_text("after")
    events.wait_kind(K.CLOSED_WRITE, c / "second.txt")


def test_dir_with_files_moved_in(backend: str, watch: StartWatch,
                                 tree: tuple[Path, Path]) -> None:
    root, outside = tree
    src = outside / "batch"
    make_tree(src, fanout=3, depth=2)  # 12 directories below batch
    (src / "d1" / "d2" / "old.txt").write_text("x")
    watcher, events = watch([root])
    before = watcher.watched_dirs()
    src.rename(root / "batch")
    events.wait_kind(K.DIR_MOVED, root / "batch", None)
    if backend in COUNTS_DIRS:
        assert events.watched_at[str(root / "batch")] >= before + 13
    new = root / "batch" / "d1" / "d2" / "new.txt"
    new.write_text("y")
    events.wait_kind(K.CLOSED_WRITE, new)


def test_watched_dir_renamed_inside(watch: StartWatch, tree: tuple[Path, Path]) -> None:
    root, _ = tree
    (root / "proj" / "deep" / "er").mkdir(parents=True)
    (root / "archive").mkdir()
    _, events = watch([root])
    (root / "proj").rename(root / "archive" / "proj2")
    events.wait_kind(K.DIR_MOVED, root / "archive" / "proj2", root / "proj")
    f = root / "archive" / "proj2" / "deep" / "er" / "after.txt"
    f.write_text("x")
    events.wait_kind(K.CLOSED_WRITE, f)


def test_dir_moved_out(watch: StartWatch, tree: tuple[Path, Path]) -> None:
    root, outside = tree
    (root / "leaving" / "sub").mkdir(parents=True)
    _, events = watch([root])
    (root / "leaving").rename(outside / "left")
    events.wait_kind(K.DIR_MOVED_OUT, root / "leaving")


@watchdog_gap("watchdog keeps the watches of a directory moved out of the tree")
def test_dir_moved_out_drops_its_watches(backend: str, watch: StartWatch,
                                        tree: tuple[Path, Path]) -> None:
    root, outside = tree
    (root / "leaving" / "sub").mkdir(parents=True)
    watcher, events = watch([root])
    counts = backend in COUNTS_DIRS
    assert watcher.watched_dirs() == (3 if counts else 1)
    (root / "leaving").rename(outside / "left")
    events.wait_kind(K.DIR_MOVED_OUT, root / "leaving")
    (outside / "left" / "sub" / "later.txt").write_text("x")
    events.settle()
    assert watcher.watched_dirs() == 1
    assert not [e for e in events.events if e.path.endswith("later.txt")]


def test_files_arriving_after_a_dir_moved_out_are_reported(
        watch: StartWatch, tree: tuple[Path, Path]) -> None:
    """The guarantee, whatever a backend does with the moved-out watches: what arrives
    in the tree afterwards is reported, in a new directory of the same name too."""
    root, outside = tree
    (root / "leaving" / "sub").mkdir(parents=True)
    _, events = watch([root])
    (root / "leaving").rename(outside / "left")
    events.wait_kind(K.DIR_MOVED_OUT, root / "leaving")
    (root / "leaving" / "sub").mkdir(parents=True)
    events.wait_kind(K.DIR_CREATED, root / "leaving")
    f = root / "leaving" / "sub" / "new.txt"
    f.write_text("x")
    events.wait_kind(K.CLOSED_WRITE, f)
    (outside / "left" / "sub" / "away.txt").write_text("x")
    (root / "leaving" / "sub" / "later.txt").write_text("x")
    events.wait_kind(K.CLOSED_WRITE, root / "leaving" / "sub" / "later.txt")


def test_dir_renamed_to_excluded_name(watch: StartWatch, tree: tuple[Path, Path]) -> None:
    """Renamed to a pruned name: out of our view, as if moved out of the trees."""
    root, _ = tree
    (root / "build" / "obj").mkdir(parents=True)
    _, events = watch([root], is_pruned=_pruned)
    (root / "build").rename(root / ".cache")
    events.wait_kind(K.DIR_MOVED_OUT, root / "build")
    (root / ".cache" / "obj" / "f.o").write_text("x")
    (root / "marker").write_text("x")
    events.wait_kind(K.CLOSED_WRITE, root / "marker")
    assert not [e for e in events.events if "/.cache" in e.path]


@watchdog_gap("watchdog does not ask for IN_MOVE_SELF: a moved root goes on unreported")
def test_root_moved_away(watch: StartWatch, tree: tuple[Path, Path]) -> None:
    root, outside = tree
    (root / "sub").mkdir()
    watcher, events = watch([root])
    root.rename(outside / "root")
    events.wait_kind(K.DIR_MOVED_OUT, root, timeout=2)
    events.wait_kind(K.UNWATCHED, root, timeout=2)
    assert watcher.watched_dirs() == 0


def test_failing_callback_is_not_the_end(watch: StartWatch, tree: tuple[Path, Path]) -> None:
    """An exception out of on_event must not end the watch in silence."""
    root, _ = tree
    _, events = watch([root])
    events.fail_on = lambda ev: ev.kind is K.CLOSED_WRITE
    (root / "first.txt").write_text("x")
    events.wait_for(lambda ev: ev.kind is K.OVERFLOW, what="OVERFLOW after the failure")
    (root / "second.txt").write_text("x")
    events.wait_kind(K.CLOSED_WRITE, root / "second.txt")


def test_dir_deleted(backend: str, watch: StartWatch, tree: tuple[Path, Path]) -> None:
    root, _ = tree
    (root / "tmp" / "x").mkdir(parents=True)
    (root / "tmp" / "x" / "f").write_text("x")
    _, events = watch([root])
    shutil.rmtree(root / "tmp")
    if backend != "fanotify":
        # fanotify names an entry by its directory's handle, looked up when the event
        # is read: by then x and tmp are gone, and so are the paths below them. The
        # deletion of tmp (whose parent still exists) stands for everything below it.
        events.wait_kind(K.DELETED, root / "tmp" / "x" / "f")
    events.wait_kind(K.DIR_DELETED, root / "tmp")


def test_root_deleted_becomes_unwatched(watch: StartWatch, tree: tuple[Path, Path]) -> None:
    root, _ = tree
    _, events = watch([root])
    root.rmdir()
    events.wait_kind(K.DIR_DELETED, root)
    events.wait_kind(K.UNWATCHED, root)


def test_missing_root_is_reported_unwatched(watch: StartWatch,
                                            tree: tuple[Path, Path]) -> None:
    root, _ = tree
    missing = root.parent / "not-there"
    watcher, events = watch([missing, root])
    events.wait_kind(K.UNWATCHED, missing)
    (root / "f.txt").write_text("x")
    events.wait_kind(K.CLOSED_WRITE, root / "f.txt")
    assert watcher.watched_dirs() == 1


def _pruned(path: str) -> bool:
    return os.path.basename(path) == ".cache"


def test_pruned_subtree_not_reported(watch: StartWatch, tree: tuple[Path, Path]) -> None:
    root, _ = tree
    (root / ".cache" / "pip").mkdir(parents=True)
    _, events = watch([root], is_pruned=_pruned)
    (root / ".cache" / "pip" / "wheel").write_text("x")
    (root / "sub").mkdir()
    # A file closed before its new directory is watched has no event of its own: the
    # directory's DIR_CREATED stands for it (the daemon crawls it). Waiting for that
    # event first makes kept.txt's CLOSED_WRITE certain even when the reader lags (under
    # load it used to be handled after kept.txt was closed: the flaky failure).
    events.wait_kind(K.DIR_CREATED, root / "sub")
    (root / "sub" / ".cache").mkdir()  # created later: pruned too
    (root / "sub" / ".cache" / "blob").write_text("x")
    (root / "sub" / "kept.txt").write_text("x")
    events.wait_kind(K.CLOSED_WRITE, root / "sub" / "kept.txt")
    events.settle()
    assert not [e for e in events.events if "/.cache" in e.path], events.events


def test_pruned_dir_inside_a_new_dir_not_reported(watch: StartWatch,
                                                  tree: tuple[Path, Path]) -> None:
    """``mkdir -p new/.cache``: the walk of ``new`` may find ``.cache`` already there."""
    root, _ = tree
    _, events = watch([root], is_pruned=_pruned)
    (root / "new" / ".cache").mkdir(parents=True)
    (root / "new" / ".cache" / "blob").write_text("x")
    events.wait_kind(K.DIR_CREATED, root / "new")
    (root / "marker").write_text("x")
    events.wait_kind(K.CLOSED_WRITE, root / "marker")
    events.settle()
    assert not [e for e in events.events if "/.cache" in e.path], events.events


@watchdog_gap("watchdog cannot skip a subtree: excluded directories are watched anyway")
def test_pruned_subtree_not_watched(backend: str, watch: StartWatch,
                                    tree: tuple[Path, Path]) -> None:
    root, _ = tree
    make_tree(root / ".cache", fanout=4, depth=2)
    (root / "kept").mkdir()
    watcher, _ = watch([root], is_pruned=_pruned)
    # root and kept; fanotify counts the roots its marks cover
    assert watcher.watched_dirs() == (2 if backend in COUNTS_DIRS else 1)


def test_access_events(watch: StartWatch, tree: tuple[Path, Path]) -> None:
    root, _ = tree
    f = root / "labelled.txt"
    f.write_text("x")
    (root / "sub").mkdir()
    _, events = watch([root], access_events=True)
    f.read_bytes()
    events.wait_kind(K.OPENED, f)
    os.listdir(root / "sub")
    (root / "marker").write_text("x")
    events.wait_kind(K.CLOSED_WRITE, root / "marker")
    assert str(root / "sub") not in events.paths(K.OPENED)


def test_no_open_events_unless_asked(watch: StartWatch, tree: tuple[Path, Path]) -> None:
    root, _ = tree
    f = root / "labelled.txt"
    f.write_text("x")
    _, events = watch([root])
    f.read_bytes()
    (root / "marker").write_text("x")
    events.wait_kind(K.CLOSED_WRITE, root / "marker")
    assert not events.paths(K.OPENED)


def test_start_watches_every_directory(backend: str, watch: StartWatch,
                                      tree: tuple[Path, Path]) -> None:
    root, _ = tree
    dirs = make_tree(root, fanout=6, depth=3)  # 258 directories
    watcher, events = watch([root])
    assert watcher.watched_dirs() == (len(dirs) + 1 if backend in COUNTS_DIRS else 1)
    deepest = dirs[-1] / "f.txt"
    deepest.write_text("x")
    events.wait_kind(K.CLOSED_WRITE, deepest)


def test_non_utf8_names_round_trip(watch: StartWatch, tree: tuple[Path, Path]) -> None:
    """Paths are str exactly as os.scandir gives them (surrogateescape)."""
    root, _ = tree
    _, events = watch([root])
    raw = os.fsencode(str(root)) + b"/caf\xe9.txt"
    with open(raw, "wb") as fh:
        fh.write(b"x")
    name = os.fsdecode(raw)
    events.wait_kind(K.CLOSED_WRITE, name)
    assert [e.path for e in os.scandir(root)] == [name]


def test_stop_is_idempotent_and_thread_safe(watch: StartWatch,
                                            tree: tuple[Path, Path]) -> None:
    root, _ = tree
    watcher, _ = watch([root])
    stoppers = [threading.Thread(target=watcher.stop) for _ in range(4)]
    for t in stoppers:
        t.start()
    for t in stoppers:
        t.join()
    watcher.stop()
    assert watcher.watched_dirs() == 0


def test_event_time_is_monotonic_read_time(watch: StartWatch,
                                           tree: tuple[Path, Path]) -> None:
    root, _ = tree
    _, events = watch([root])
    t0 = time.monotonic()
    (root / "t.txt").write_text("x")
    ev = events.wait_kind(K.CLOSED_WRITE, root / "t.txt")
    assert t0 <= ev.time <= time.monotonic()
