"""The fanotify backend: who did it (real users, real processes), and a parser that
trusts nothing. The events themselves are tested with every backend in test_events.py.
"""

from __future__ import annotations

import os
import pwd
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlpd.watch.actor import ActorCache, format_cmdline, start_time
from dlpd.watch.events import EventKind, FsEvent
from dlpd.watch.fanotify import FanotifyWatcher
from dlpd.watch.fanotify_c import (
    FAN_CLOSE_WRITE,
    FAN_EVENT_INFO_TYPE_DFID_NAME,
    FAN_EVENT_INFO_TYPE_FID,
    FAN_Q_OVERFLOW,
    METADATA,
    parse_events,
)

from .conftest import FANOTIFY_RUNS, FANOTIFY_WHY, Collector

K = EventKind
needs_fanotify = pytest.mark.skipif(not FANOTIFY_RUNS,
                                    reason=f"fanotify cannot run here: {FANOTIFY_WHY}")


# ---- the parser (pure: bytes in) -----------------------------------------------------------

def _fid(info_type: int, handle: bytes, name: bytes | None = None) -> bytes:
    body = struct.pack("=II", 7, 9) + struct.pack("=Ii", len(handle), 1) + handle
    if name is not None:
        body += name + b"\0"
    body += b"\0" * (-(len(body) + 4) % 4)
    return struct.pack("=BBH", info_type, 0, len(body) + 4) + body


def _event(mask: int, pid: int, *records: bytes, fd: int = -1) -> bytes:
    info = b"".join(records)
    return METADATA.pack(METADATA.size + len(info), 3, 0, METADATA.size, mask, fd, pid) + info


GOOD = (_event(FAN_CLOSE_WRITE, 42, _fid(FAN_EVENT_INFO_TYPE_DFID_NAME, b"dirhandle", b"a.txt"),
               _fid(FAN_EVENT_INFO_TYPE_FID, b"filehandle"))
        + _event(FAN_Q_OVERFLOW, 0))


def test_parser_reads_well_formed_events() -> None:
    events, malformed = parse_events(GOOD)
    assert not malformed
    assert [(e.mask, e.pid) for e in events] == [(FAN_CLOSE_WRITE, 42), (FAN_Q_OVERFLOW, 0)]
    dfid = events[0].record(FAN_EVENT_INFO_TYPE_DFID_NAME)
    assert dfid is not None and dfid.name == b"a.txt" and dfid.handle == b"dirhandle"
    assert dfid.fsid == 7 | 9 << 32
    fid = events[0].record(FAN_EVENT_INFO_TYPE_FID)
    assert fid is not None and fid.name is None and fid.handle == b"filehandle"


@pytest.mark.parametrize("cut", range(1, len(GOOD)))
def test_parser_truncated_buffer_is_malformed_not_an_exception(cut: int) -> None:
    events, malformed = parse_events(GOOD[:cut])
    first = len(GOOD) - METADATA.size  # the first event's length
    assert malformed == (cut != first)
    assert len(events) == (1 if cut >= first else 0)


@pytest.mark.parametrize("bad", [
    # event_len beyond the buffer, below the header, a wrong version
    METADATA.pack(4096, 3, 0, 24, FAN_CLOSE_WRITE, -1, 1),
    METADATA.pack(8, 3, 0, 24, FAN_CLOSE_WRITE, -1, 1),
    METADATA.pack(24, 2, 0, 24, FAN_CLOSE_WRITE, -1, 1),
    # an info record longer than its event, a handle longer than its record
    _event(FAN_CLOSE_WRITE, 1, struct.pack("=BBH", 2, 0, 200)),
    _event(FAN_CLOSE_WRITE, 1, struct.pack("=BBHIIIi", 2, 0, 20, 0, 0, 999, 1)),
    # names: none, unterminated, with a slash, ".."
    _event(FAN_CLOSE_WRITE, 1, _fid(FAN_EVENT_INFO_TYPE_DFID_NAME, b"h", b"")),
    _event(FAN_CLOSE_WRITE, 1, _fid(FAN_EVENT_INFO_TYPE_DFID_NAME, b"h", b"../etc/x")),
    _event(FAN_CLOSE_WRITE, 1, _fid(FAN_EVENT_INFO_TYPE_DFID_NAME, b"h", b"..")),
    _event(FAN_CLOSE_WRITE, 1, struct.pack("=BBHIIIi", 2, 0, 24, 0, 0, 4, 1) + b"abcd"),
    # an info type we never asked for
    _event(FAN_CLOSE_WRITE, 1, struct.pack("=BBH", 99, 0, 4)),
])
def test_parser_rejects_garbage(bad: bytes) -> None:
    events, malformed = parse_events(GOOD + bad)
    assert malformed
    assert len(events) == 2  # what came before is kept


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_parser_never_raises(data: bytes) -> None:
    events, _ = parse_events(GOOD + data)
    for event in events:
        for record in event.records:
            assert record.name is None or b"/" not in record.name


# ---- /proc -----------------------------------------------------------------------------

def test_start_time_after_the_last_paren() -> None:
    fields = " ".join(str(n) for n in range(3, 53))
    assert start_time(f"77 (a) b) (c ) {fields}".encode()) == 22
    assert start_time(b"77 (x") is None


def test_cmdline_bounded() -> None:
    assert format_cmdline(b"cat\0/data/a b\0") == "cat /data/a b"
    long = format_cmdline(b"x" * 4096)
    assert len(long) == 513 and long.endswith("…")
    assert format_cmdline(b"cat\0caf\xe9\0") == "cat caf\udce9"


def test_actor_of_a_live_and_an_exited_process() -> None:
    cache = ActorCache()
    me = cache.actor_of(os.getpid())
    assert me.known and me.uid == os.getuid() and me.ppid == os.getppid()
    assert me.user == pwd.getpwuid(os.getuid()).pw_name
    proc = subprocess.run(["true"], check=True)
    assert proc.returncode == 0
    child = subprocess.Popen(["sleep", "0"])
    child.wait()
    gone = cache.actor_of(child.pid)
    assert not gone.known and gone.pid == child.pid


# ---- real events, real users ---------------------------------------------------------------

@pytest.fixture(scope="module")
def reader_user() -> Iterator[pwd.struct_passwd]:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root (useradd) and setpriv")
    name = f"dlpdrd{uuid.uuid4().hex[:6]}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    "--user-group", name], check=True, capture_output=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)


@pytest.fixture
def site() -> Iterator[tuple[Path, Path]]:
    """(root, sibling) under /tmp, traversable by other users (pytest's tmp is 0700)."""
    base = Path(tempfile.mkdtemp(prefix="dlpd-fan-", dir="/tmp"))
    try:
        base.chmod(0o755)
        root, sibling = base / "root", base / "sibling"
        root.mkdir(mode=0o755)
        sibling.mkdir(mode=0o755)
        yield root, sibling
    finally:
        shutil.rmtree(base)


@pytest.fixture
def watching(site: tuple[Path, Path]) -> Iterator[tuple[FanotifyWatcher, Collector]]:
    if not FANOTIFY_RUNS:
        pytest.skip(f"fanotify cannot run here: {FANOTIFY_WHY}")
    watcher = FanotifyWatcher(access_events=True)  # our own events dropped, as in dlpd run
    events = Collector()
    watcher.start([str(site[0])], events, lambda _p: False)
    yield watcher, events
    watcher.stop()


def _sh(*argv: str) -> None:
    subprocess.run(list(argv), check=True, capture_output=True)


@needs_fanotify
def test_open_by_another_user_names_user_and_program(
        reader_user: pwd.struct_passwd, site: tuple[Path, Path],
        watching: tuple[FanotifyWatcher, Collector]) -> None:
    root, _ = site
    secret = root / "spec.txt"
    _sh("sh", "-c", f"echo k17 > {secret}")
    secret.chmod(0o644)
    _, events = watching
    # ``cat FILE -`` reads the file, then waits on stdin: alive when its event is read
    # (a process gone by then is unknown: test_process_gone_before_its_event_is_read).
    cat = subprocess.Popen(["setpriv", f"--reuid={reader_user.pw_uid}",
                            f"--regid={reader_user.pw_gid}", "--init-groups",
                            "cat", str(secret), "-"],
                           stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        opened = events.wait_for(lambda e: e.kind is K.OPENED and e.path == str(secret)
                                 and e.actor is not None
                                 and e.actor.uid == reader_user.pw_uid,
                                 what="OPENED by the other user")
    finally:
        assert cat.stdin is not None
        cat.stdin.close()
        cat.wait()
    actor = opened.actor
    assert actor is not None
    assert actor.user == reader_user.pw_name and actor.gid == reader_user.pw_gid
    assert actor.program == "cat" and actor.exe == shutil.which("cat")
    assert actor.cmdline == f"cat {secret} -"
    assert actor.ppid is not None


_CHANGER = """
import os, sys
root, sibling = sys.argv[1:3]
open(f"{sibling}/leak.txt", "w").write("x")
open(f"{root}/a.csv", "w").write("x")
os.chmod(f"{root}/a.csv", 0o600)
os.rename(f"{root}/a.csv", f"{root}/b.csv")
os.mkdir(f"{root}/d")
os.rmdir(f"{root}/d")
os.rename(f"{root}/b.csv", f"{sibling}/b.csv")
open(f"{root}/marker", "w").write("x")
sys.stdin.read()  # alive until the test has seen its events
"""


@needs_fanotify
def test_changes_carry_their_actor_and_outside_is_silent(
        site: tuple[Path, Path], watching: tuple[FanotifyWatcher, Collector]) -> None:
    root, sibling = site
    _, events = watching
    f = root / "a.csv"
    changer = subprocess.Popen([sys.executable, "-c", _CHANGER, str(root), str(sibling)],
                               stdin=subprocess.PIPE)
    try:
        events.wait_kind(K.CLOSED_WRITE, root / "marker")
        events.settle()
    finally:
        assert changer.stdin is not None
        changer.stdin.close()
        changer.wait()
    for kind, path, src in [(K.CREATED, f, None), (K.CLOSED_WRITE, f, None),
                            (K.ATTRIB, f, None), (K.MOVED, root / "b.csv", f),
                            (K.DIR_CREATED, root / "d", None),
                            (K.DIR_DELETED, root / "d", None),
                            (K.MOVED_OUT, root / "b.csv", None)]:
        event = events.wait_kind(kind, path, src)
        assert event.actor is not None and event.actor.pid == changer.pid, event
        assert event.actor.cmdline is not None and _CHANGER[:20] in event.actor.cmdline
    assert not [e for e in events.events if str(sibling) in e.path
                or "leak" in e.path], events.events


@needs_fanotify
def test_own_events_are_dropped(site: tuple[Path, Path],
                                watching: tuple[FanotifyWatcher, Collector]) -> None:
    root, _ = site
    _, events = watching
    (root / "ours.txt").write_text("written by this process")
    (root / "ours.txt").read_text()
    _sh("sh", "-c", f"echo x > {root}/marker")
    events.wait_kind(K.CLOSED_WRITE, root / "marker")
    events.settle()
    assert not [e for e in events.events if e.path.endswith("ours.txt")]


@needs_fanotify
def test_process_gone_before_its_event_is_read_is_unknown(site: tuple[Path, Path]) -> None:
    """The reader is held in the callback of a first event while a second process writes
    and exits: its event is read after it is gone."""
    root, _ = site
    release = threading.Event()
    held = threading.Event()
    events = Collector()

    def on_event(event: FsEvent) -> None:
        if event.path.endswith("first"):
            held.set()
            release.wait(10)
        events(event)

    watcher = FanotifyWatcher()
    watcher.start([str(root)], on_event, lambda _p: False)
    try:
        _sh("sh", "-c", f"echo x > {root}/first")
        assert held.wait(10)
        child = subprocess.Popen(["sh", "-c", f"echo x > {root}/second"])
        child.wait()
        release.set()
        late = events.wait_kind(K.CLOSED_WRITE, root / "second")
        assert late.actor is not None and late.actor.pid > 0
        assert not late.actor.known, late.actor
    finally:
        release.set()
        watcher.stop()
