"""Effective labels: a truth table of assignments and matches and what a path carries."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from dlpd.labelling.effective import ancestors, effective_labels, labels_of
from dlpd.labelling.model import Assignment, LabelMatch

FILE = "/data/itar/k17/run/table.csv"


def _a(path: str, label: str = "ec", *, is_dir: bool = True, source: str = "explicit",
       removed: float | None = None, n: int = 1) -> Assignment:
    return Assignment(id=n, host="h", path=path, is_dir=is_dir, label=label,
                      source=source,  # type: ignore[arg-type]
                      set_by="prof_k", set_uid=1001, note="EAR 9E003", set_at=100.0 + n,
                      removed=removed, removed_by="prof_k" if removed else None)


def _rows(path: str, assignments: Sequence[Assignment], matches: Sequence[LabelMatch] = (),
          detected: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str, str | None]]:
    return [(s.label, s.source, s.via)
            for s in effective_labels(path, assignments, matches, detected)]


def test_ancestors_nearest_first() -> None:
    assert ancestors("/a/b/c") == ("/a/b/c", "/a/b", "/a", "/")
    assert ancestors("/") == ("/",)


@pytest.mark.parametrize(
    ("assignments", "expected"),
    [
        ([], []),
        ([_a(FILE, is_dir=False)], [("ec", "explicit", None)]),
        ([_a("/data/itar/k17")], [("ec", "inherited", "/data/itar/k17")]),
        ([_a("/data/itar/k17", source="marker")], [("ec", "inherited", "/data/itar/k17")]),
        # Removed: no longer inherited, nor explicit.
        ([_a("/data/itar/k17", removed=5.0)], []),
        ([_a(FILE, is_dir=False, removed=5.0)], []),
        # A sibling whose name begins like an ancestor's is not one.
        ([_a("/data/itar/k1")], []),
        # A file assignment is not inherited (even if its path were a prefix).
        ([_a("/data/itar/k17", is_dir=False)], []),
        # Explicit on the file and inherited from two levels up: both reasons listed.
        ([_a("/data/itar", n=2), _a(FILE, is_dir=False)],
         [("ec", "explicit", None), ("ec", "inherited", "/data/itar")]),
        ([_a("/data/itar", "cui"), _a("/data/itar/k17", "ec", n=2)],
         [("cui", "inherited", "/data/itar"), ("ec", "inherited", "/data/itar/k17")]),
        ([_a("/", "site")], [("site", "inherited", "/")]),
    ],
)
def test_assignments(assignments: list[Assignment],
                     expected: list[tuple[str, str, str | None]]) -> None:
    assert _rows(FILE, assignments) == expected


def test_marker_on_the_directory_itself() -> None:
    assert _rows("/data/itar/k17", [_a("/data/itar/k17", source="marker")]) == [
        ("ec", "marker", None)]


def test_matches_and_detected() -> None:
    target = "/scratch/extract.csv"
    matches = [
        LabelMatch(target, "ec", "derived", source_id=3, source_path=FILE, rows=200,
                   score=812.5, set_by="prof_k", set_at=7.0),
        LabelMatch(target, "ec", "copy", source_id=4, source_path="/data/itar/k17/spec.docx"),
        LabelMatch(target, "ec", "xattr"),
        LabelMatch(target, "cui", "moved", source_path="/data/cui/old.csv"),
        LabelMatch("/elsewhere", "ec", "copy"),  # another path's row: ignored
    ]
    sources = effective_labels(target, [], matches, [("export-controlled", "export-control")])
    assert [(s.label, s.source, s.via) for s in sources] == [
        ("cui", "moved", "/data/cui/old.csv"),
        ("ec", "xattr", None),
        ("ec", "copy", "/data/itar/k17/spec.docx"),
        ("ec", "derived", FILE),
        ("export-controlled", "detected", "export-control"),
    ]
    derived = sources[3]
    assert (derived.rows, derived.set_by, derived.set_at) == (200, "prof_k", 7.0)
    assert labels_of(sources) == ("cui", "ec", "export-controlled")
