"""Label policy: where labelled data may live."""

from __future__ import annotations

import pytest

from dlpd.model import Severity
from dlpd.policy.decide import LabelPolicy, approved_for, is_under, violations

ITAR = LabelPolicy(Severity.HIGH, ("/data/itar", "/srv/secure/"))


@pytest.mark.parametrize(("path", "prefix", "expected"), [
    ("/data/itar/x.dwg", "/data/itar", True),
    ("/data/itar", "/data/itar", True),
    ("/data/itar-old/x.dwg", "/data/itar", False),
    ("/data/itarx", "/data/itar", False),
    ("/data/it", "/data/itar", False),
    ("/srv/secure/a/b", "/srv/secure/", True),
    ("/anything", "/", True),
])
def test_prefixes_match_whole_components(path: str, prefix: str, expected: bool) -> None:
    assert is_under(path, prefix) is expected


def test_file_outside_approved_places_violates_with_the_clause() -> None:
    (v,) = violations("/home/alice/Dropbox/x.dwg", ["export-controlled"],
                      {"export-controlled": ITAR})
    assert v.label == "export-controlled" and str(v.severity) == "high"
    assert "/data/itar" in v.reason and "/srv/secure/" in v.reason


def test_inside_approved_place_is_fine() -> None:
    assert violations("/data/itar/p/x.dwg", ["export-controlled"],
                      {"export-controlled": ITAR}) == ()
    assert approved_for("/srv/secure/x", ITAR) == "/srv/secure/"


def test_labels_without_approved_places_live_anywhere() -> None:
    assert violations("/tmp/x", ["financial"], {"financial": LabelPolicy(Severity.LOW)}) == ()
    assert violations("/tmp/x", ["unconfigured"], {}) == ()


def test_each_violated_label_is_its_own_violation() -> None:
    policies = {"a": LabelPolicy(Severity.LOW, ("/a",)),
                "b": LabelPolicy(Severity.CRITICAL, ("/b",))}
    found = violations("/c/f", ["b", "a", "a"], policies)
    assert [(v.label, v.severity) for v in found] == [("a", Severity.LOW), ("b", Severity.CRITICAL)]


def test_severity_order() -> None:
    assert Severity.parse("high") >= Severity.parse("medium")
    assert Severity.parse(" Medium ") >= Severity.MEDIUM
    assert not Severity.parse("low") >= Severity.MEDIUM
    assert [str(s) for s in sorted(Severity)] == ["low", "medium", "high", "critical"]
