"""Walk roots without following symlinks, yielding every non-directory entry with its lstat."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from dlpd.scan.pathfilter import PathFilter


@dataclass(frozen=True, slots=True)
class Entry:
    """A walked path: its lstat, or the OSError that prevented reading it."""

    path: str
    lstat: os.stat_result | None
    error: OSError | None = None


def walk(root: str, pathfilter: PathFilter) -> Iterator[Entry]:
    """Depth-first, directories in name order so that output is stable between runs."""
    try:
        st = os.lstat(root)
    except OSError as exc:
        yield Entry(root, None, exc)
        return
    if not os.path.isdir(root) or os.path.islink(root):
        if not pathfilter.is_excluded(root):
            yield Entry(root, st)
        return
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield Entry(directory, None, exc)
            continue
        subdirs = []
        for entry in entries:
            path = entry.path
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not pathfilter.is_pruned(path):
                        subdirs.append(path)
                    continue
                if pathfilter.is_excluded(path):
                    continue
                yield Entry(path, entry.stat(follow_symlinks=False))
            except OSError as exc:
                yield Entry(path, None, exc)
        stack.extend(reversed(subdirs))
