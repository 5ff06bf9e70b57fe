"""A label approved nowhere: every copy on this host is a violation, with that clause."""

from __future__ import annotations

import pytest

from dlpd.model import Severity
from dlpd.policy.decide import LabelPolicy, violations

BANNED = LabelPolicy(Severity.CRITICAL, nowhere=True)


@pytest.mark.parametrize("path", ["/data/itar/x.dwg", "/home/alice/x.dwg", "/", "/tmp/x"])
def test_a_label_approved_nowhere_violates_wherever_it_is(path: str) -> None:
    (v,) = violations(path, ["genomic"], {"genomic": BANNED})
    assert v.label == "genomic" and v.severity is Severity.CRITICAL
    assert v.reason == "label genomic may not be stored on this host"


def test_nowhere_is_not_the_empty_list() -> None:
    assert violations("/tmp/x", ["genomic"], {"genomic": LabelPolicy(Severity.HIGH)}) == ()
    assert violations("/tmp/x", ["genomic"], {"genomic": LabelPolicy(Severity.HIGH, ())}) == ()
