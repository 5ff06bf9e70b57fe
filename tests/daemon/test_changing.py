"""ReadGate: one read of a path at a time, and a bound on reads of a file that keeps
changing. Pure: the clock is an argument."""

from __future__ import annotations

from dlpd.daemon.changing import PAUSE, READS, ReadGate, Verdict
from dlpd.watch.settle import Pending


def _due(path: str, t: float, kind: str = "modified") -> Pending:
    return Pending(path, t, t, {kind})


def test_a_path_being_read_waits_for_that_read() -> None:
    gate = ReadGate(max_delay=5.0)
    gate.reading(["/d/f"])
    assert gate.admit([_due("/d/f", 1.0)], 1.0) == []
    assert len(gate) == 1 and gate.next_due() is None  # waits on the read, not the clock
    gate.read(["/d/f"])
    assert [p.path for p in gate.admit([], 1.1)] == ["/d/f"]


def test_held_events_merge() -> None:
    gate = ReadGate(max_delay=5.0)
    gate.reading(["/d/f"])
    gate.admit([_due("/d/f", 1.0, "created")], 1.0)
    gate.admit([Pending("/d/f", 1.2, 1.2, {"moved"}, src_path="/d/e")], 1.2)
    gate.read(["/d/f"])
    (pending,) = gate.admit([], 2.0)
    assert pending.kinds == {"created", "moved"} and pending.src_path == "/d/e"
    assert pending.kind == "moved"


def test_a_changing_file_is_kept_after_a_bounded_number_of_reads() -> None:
    gate = ReadGate(max_delay=60.0)
    t = 0.0
    verdicts = []
    for _ in range(READS + 2):
        verdicts.append(gate.verdict("/d/f", True, 10, t))
        # Read again only after the pause.
        assert gate.admit([_due("/d/f", t)], t) == []
        t += PAUSE
        gate.admit([], t)
    assert verdicts[:READS] == [Verdict.READ_AGAIN] * (READS - 1) + [Verdict.KEEP]
    assert verdicts[READS:] == [Verdict.DROP, Verdict.DROP]


def test_max_delay_caps_the_reads_too_and_a_settled_read_resets() -> None:
    gate = ReadGate(max_delay=1.5)
    assert gate.verdict("/d/f", True, 10, 0.0) is Verdict.READ_AGAIN
    assert gate.verdict("/d/f", True, 10, 2.0) is Verdict.KEEP  # past max_delay
    assert gate.next_due() is None  # nothing held
    gate.admit([_due("/d/f", 2.1)], 2.1)
    assert gate.next_due() == 2.0 + 1.5  # an accepted file waits a max_delay
    assert gate.verdict("/d/f", False, 10, 4.0) is Verdict.KEEP
    assert gate.verdict("/d/f", True, 10, 5.0) is Verdict.READ_AGAIN  # counting anew


def test_forget_drops_what_is_held() -> None:
    gate = ReadGate(max_delay=5.0)
    gate.reading(["/d/a/f", "/d/b"])
    gate.admit([_due("/d/a/f", 1.0), _due("/d/b", 1.0)], 1.0)
    gate.forget_under("/d/a")
    gate.forget("/d/b")
    assert len(gate) == 0
