"""Categories (what was found) -> sensitivity labels (what policy acts on). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def labels_for(categories: Iterable[str], mapping: Mapping[str, str]) -> tuple[str, ...]:
    """The sorted, distinct labels of the given categories; unmapped categories give none."""
    return tuple(sorted({mapping[c] for c in categories if mapping.get(c)}))
