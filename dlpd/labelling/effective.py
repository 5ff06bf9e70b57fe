"""The labels a path carries, each with where it comes from. Pure.

A label is on a path for one of these reasons (``LabelSource.source``):

    explicit   `dlpd label set` on the path itself
    marker     a ``.dlpd-label`` file in the directory itself
    inherited  an assignment (either kind) on a directory above; ``via`` names it
    xattr      ``user.dlpd.labels`` on the file
    moved      kept from a labelled directory the file left; ``via`` the old path
    copy       the same bytes as a fingerprinted labelled file; ``via`` that file
    derived    shares text or table rows with one; ``via``, ``share`` / ``rows``
    detected   the scan found a category that maps to it; ``via`` the category

Inheritance is computed here, when asked, from the assignments on the path's ancestors:
a file created under a labelled directory later carries the label without anything
having been written for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dlpd.labelling.model import Assignment, LabelMatch

SOURCES = ("explicit", "marker", "inherited", "xattr", "moved", "copy", "derived",
           "detected")
_RANK = {name: n for n, name in enumerate(SOURCES)}


@dataclass(frozen=True, slots=True)
class LabelSource:
    label: str
    source: str
    via: str | None = None
    set_by: str | None = None
    set_at: float | None = None
    share: float | None = None
    rows: int | None = None
    note: str = ""


def ancestors(path: str) -> tuple[str, ...]:
    """``path`` and every directory above it, nearest first: /a/b/c, /a/b, /a, /."""
    found = [path]
    while path not in ("/", ""):
        path = path.rsplit("/", 1)[0] or "/"
        found.append(path)
    return tuple(found)


def from_assignment(path: str, a: Assignment) -> LabelSource | None:
    """What assignment ``a`` gives ``path``: its own label, one inherited from a directory
    above, or nothing (removed, another file, a directory not above it)."""
    if not a.is_active:
        return None
    if a.path == path:
        return LabelSource(a.label, a.source, None, a.set_by, a.set_at, note=a.note)
    base = a.path.rstrip("/")
    if a.is_dir and path.startswith(base + "/"):
        return LabelSource(a.label, "inherited", a.path, a.set_by, a.set_at, note=a.note)
    return None


def effective_labels(
    path: str,
    assignments: Iterable[Assignment],
    matches: Iterable[LabelMatch] = (),
    detected: Iterable[tuple[str, str]] = (),
) -> tuple[LabelSource, ...]:
    """Every (label, source) of ``path``, sorted by label, then source (in the order
    above), then ``via``. ``detected`` holds (label, category) pairs. A label reached in
    several ways is listed once per way: each is a reason someone may need to see."""
    found: set[LabelSource] = set()
    for a in assignments:
        src = from_assignment(path, a)
        if src is not None:
            found.add(src)
    for m in matches:
        if m.path == path:
            found.add(LabelSource(m.label, m.kind, m.source_path, m.set_by, m.set_at,
                                  m.share, m.rows))
    for label, category in detected:
        found.add(LabelSource(label, "detected", category))
    return tuple(sorted(found, key=lambda s: (s.label, _RANK.get(s.source, len(SOURCES)),
                                              s.via or "", -(s.set_at or 0.0))))


def labels_of(sources: Iterable[LabelSource]) -> tuple[str, ...]:
    """The distinct label names, sorted."""
    return tuple(sorted({s.label for s in sources}))
