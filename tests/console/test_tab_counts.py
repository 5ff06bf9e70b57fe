"""The alert list's tab counts: exact below the cap, "N+" once a status reaches it."""

from __future__ import annotations

from dlpd.console.views.alerts import COUNT_CAP, _total


def test_exact_below_the_cap_and_marked_at_it() -> None:
    counts = {"open": 240, "acknowledged": 10, "resolved": COUNT_CAP, "false-positive": 0}
    assert _total(counts, ("open", "acknowledged")) == "250"
    assert _total(counts, ("resolved",)) == f"{COUNT_CAP}+"
    assert _total(counts, ()) == f"{COUNT_CAP + 250}+"  # "all": every status
