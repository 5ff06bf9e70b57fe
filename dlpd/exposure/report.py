"""`dlpd exposure`: every labelled path judged against its labels' readers.

Labelled paths are those a person labelled (assignments on files and directories, from
``label_assignments``), the stored files below a labelled directory (inherited), and the
stored files whose last reading found a label (the ``labels`` of ``files``). Files the
store has not seen yet (a directory labelled but never scanned) are not listed, nor are
copies known only from ``label_matches``. Each
is examined once from the file system and judged per label that has ``readers``; a label
without readers is not judged (there is no list to be outside of).
"""

from __future__ import annotations

import errno
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from dlpd.dirfd import root_of
from dlpd.exposure.check import judge
from dlpd.exposure.model import Accounts, Exposure, Node
from dlpd.exposure.reading import examine
from dlpd.store import files as files_repo
from dlpd.store import labels as labels_repo
from dlpd.store.db import Connection


@dataclass(frozen=True, slots=True)
class Judged:
    """One labelled path under one label, examined."""

    path: str
    label: str
    is_dir: bool
    node: Node
    exposure: Exposure


@dataclass(frozen=True, slots=True)
class Unexamined:
    """A labelled path that could not be examined: gone (the store is behind), or
    refused (a symlink now, another file system, not permitted)."""

    path: str
    labels: tuple[str, ...]
    why: str
    gone: bool


def labelled(conn: Connection, host: str, label: str | None = None,
             ) -> dict[str, frozenset[str]]:
    """Every labelled path (of ``label``) with its labels, in path order."""
    found: dict[str, set[str]] = {}
    for assignment in labels_repo.list_active(conn, host, label):
        found.setdefault(assignment.path, set()).add(assignment.label)
        if assignment.is_dir:  # what it holds inherits the label (as the store knows it)
            for path in files_repo.paths_under(conn, assignment.path, host=host):
                found.setdefault(path, set()).add(assignment.label)
    for path, labels in files_repo.labelled_paths(conn, host=host).items():
        wanted = [name for name in labels if label is None or name == label]
        if wanted:
            found.setdefault(path, set()).update(wanted)
    return {path: frozenset(found[path]) for path in sorted(found, key=_key)}


def _key(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


def judge_all(paths: Mapping[str, frozenset[str]], readers: Mapping[str, Sequence[str]],
              accounts: Accounts, roots: Sequence[str], *, cross_devices: bool,
              ) -> Iterator[Judged | Unexamined]:
    """Each path under each of its labels that has readers (``readers`` by label). A
    path below a watched root is examined from that root (on its device unless
    ``cross_devices``); any other path (a researcher's own store) from ``/``."""
    for path, labels in paths.items():
        judged = sorted(name for name in labels if readers.get(name))
        if not judged:
            continue
        root = root_of(path, roots)
        try:
            examined = examine(root or "/", path,
                               cross_devices=cross_devices or root is None)
        except OSError as exc:
            yield Unexamined(path, tuple(judged), exc.strerror or str(exc),
                             exc.errno == errno.ENOENT)
            continue
        for name in judged:
            yield Judged(path, name, examined.is_dir, examined.target,
                         judge(examined, readers[name], accounts))
