"""Coalescing events per path: settle window, cap, discard."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dlpd.watch.settle import Settler


def test_a_path_is_due_after_the_settle_window() -> None:
    s = Settler(settle=0.1, max_delay=5.0)
    s.add("/a", "created", 0.0)
    s.add("/a", "modified", 0.05)
    assert s.pop_due(0.1) == []
    (p,) = s.pop_due(0.16)
    assert p.path == "/a" and p.kinds == {"created", "modified"} and p.first == 0.0
    assert len(s) == 0 and s.next_due() is None


def test_a_file_written_continuously_is_scanned_by_the_cap() -> None:
    s = Settler(settle=0.1, max_delay=1.0)
    t = 0.0
    scanned = []
    while t < 3.0:
        s.add("/log", "modified", t)
        scanned += [(t, p.path) for p in s.pop_due(t)]
        t += 0.05
    assert len(scanned) >= 2, "the cap must hand the file out although events never stop"
    assert scanned[0][0] <= 1.05


def test_discard_and_discard_under() -> None:
    s = Settler(settle=0.0, max_delay=1.0)
    for p in ("/d/a", "/d/sub/b", "/dx/c", "/e"):
        s.add(p, "modified", 0.0)
    assert s.discard("/e") is not None
    assert sorted(p.path for p in s.discard_under("/d")) == ["/d/a", "/d/sub/b"]
    assert [p.path for p in s.pop_due(1.0)] == ["/dx/c"]


def test_move_source_is_kept() -> None:
    s = Settler(settle=0.0, max_delay=1.0)
    s.add("/new", "moved", 0.0, src_path="/old")
    (p,) = s.pop_due(0.0)
    assert p.src_path == "/old" and p.kinds == {"moved"}


@given(st.lists(st.tuples(st.sampled_from(["/a", "/b", "/c"]),
                          st.floats(min_value=0, max_value=10)), max_size=50))
def test_every_path_is_handed_out_exactly_once_and_never_early(
        events: list[tuple[str, float]]) -> None:
    s = Settler(settle=0.2, max_delay=1.0)
    events.sort(key=lambda e: e[1])
    out: dict[str, int] = {}
    last: dict[str, float] = {}
    first: dict[str, float] = {}
    for path, t in events:
        first.setdefault(path, t)
        last[path] = t
        s.add(path, "modified", t)
    for p in s.pop_due(100.0):
        out[p.path] = out.get(p.path, 0) + 1
        assert p.first == first[p.path] and p.last == last[p.path]
    assert out == {p: 1 for p in first}
    assert len(s) == 0


def test_a_created_file_waits_for_its_close_up_to_the_cap() -> None:
    s = Settler(settle=0.02, max_delay=5.0)
    s.add("/big.iso", "created", 0.0)
    assert s.pop_due(1.0) == [], "still being copied: no scan of half a file"
    s.add("/big.iso", "modified", 2.0)  # closed after writing
    (p,) = s.pop_due(2.03)
    assert p.kinds == {"created", "modified"}
    s.add("/hardlink", "created", 10.0)
    assert s.pop_due(14.9) == []
    assert [p.path for p in s.pop_due(15.0)] == ["/hardlink"]


def test_retime_applies_new_windows_to_waiting_paths() -> None:
    s = Settler(settle=10.0, max_delay=60.0)
    s.add("/a", "modified", 0.0)
    assert s.pop_due(1.0) == []
    s.retime(settle=0.5, max_delay=60.0)
    assert [p.path for p in s.pop_due(1.0)] == ["/a"]
    assert s.next_due() is None
