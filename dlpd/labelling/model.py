"""The records the label modules share: who asks, what was assigned, what was matched.

Pure (standard library only): the store builds these from its rows, the decisions in
``permissions`` and ``effective`` read them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

# A label name as written in [labels.NAME], a marker file or the xattr: lower-case, no
# separators that the comma-separated xattr or a table would have to escape.
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]*")
MAX_NAME = 64

AssignmentSource = Literal["explicit", "marker"]
MatchKind = Literal["copy", "derived", "xattr", "moved"]


def is_label_name(name: str) -> bool:
    return len(name) <= MAX_NAME and NAME_PATTERN.fullmatch(name) is not None


def setter_of(origin: Mapping[str, object], label: str) -> tuple[str | None, float | None]:
    """Who labelled a fingerprinted source with ``label``, and when, from its origin (per
    label a mapping with ``set_by`` and ``set_at``), as far as it says."""
    entry = origin.get(label)
    if not isinstance(entry, Mapping):
        return None, None
    by, at = entry.get("set_by"), entry.get("set_at")
    return (by if isinstance(by, str) else None,
            float(at) if isinstance(at, int | float) else None)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks: from SO_PEERCRED on the socket, from the process in local mode. ``gids``
    are all the caller's groups (primary and supplementary); ``name`` is for people and
    the history, the uid is what is checked."""

    uid: int
    gids: tuple[int, ...]
    name: str
    pid: int | None = None

    @property
    def is_root(self) -> bool:
        return self.uid == 0


@dataclass(frozen=True, slots=True)
class Assignment:
    """A label put on a path (a file, or a directory and everything beneath it)."""

    id: int
    host: str
    path: str
    is_dir: bool
    label: str
    source: AssignmentSource
    set_by: str
    set_uid: int
    note: str
    set_at: float
    removed: float | None = None
    removed_by: str | None = None

    @property
    def is_active(self) -> bool:
        return self.removed is None


@dataclass(frozen=True, slots=True)
class LabelMatch:
    """A label a file carries because of what it is: a ``copy`` or ``derived`` from a
    fingerprinted source, its ``xattr``, or kept when it was ``moved`` out of a labelled
    directory. ``set_by``/``set_at``: who labelled the source, when known."""

    path: str
    label: str
    kind: MatchKind
    sha256: str | None = None
    source_id: int | None = None
    source_path: str | None = None
    share: float | None = None
    rows: int | None = None
    score: float | None = None
    found: float = 0.0
    set_by: str | None = None
    set_at: float | None = None
    # The host the source is on (copies and extracts: the fingerprint index is shared by
    # the fleet); None for the others, which are on this file's host.
    source_host: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One decision on a label, allowed or refused; the history is never rewritten."""

    time: float
    host: str
    path: str
    label: str
    action: str
    allowed: bool
    actor: str
    actor_uid: int | None
    note: str = ""
    reason: str | None = None
