"""Marker files in the daemon: ``.dlpd-label`` read from a directory's descriptor and
applied as ``label set`` by the marker's owner would be (researchers who write through
NFS and cannot reach the socket). Parsing is ``marker``'s; deciding, ``permissions``'."""

from __future__ import annotations

import errno
import os
import pwd
import stat

from dlpd.errors import LabelError
from dlpd.labelling.marker import MARKER_NAME, MAX_MARKER_BYTES, Marker, parse_marker
from dlpd.labelling.model import Caller, HistoryEntry
from dlpd.labelling.permissions import may_set
from dlpd.labelling.service import LabelContext, PathResult, history_entry
from dlpd.model import display_path
from dlpd.store import labels as repo
from dlpd.store.db import Connection

__all__ = ["apply_marker", "marker_deleted", "read_marker"]

def read_marker(dir_fd: int) -> tuple[Marker, int] | None:
    """The ``.dlpd-label`` in the directory ``dir_fd`` holds and its owner's uid; None if
    there is none. Never through a symlink, only a regular file, read bounded; LabelError
    for one that is malformed."""
    try:
        fd = os.open(MARKER_NAME, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LabelError(f"{MARKER_NAME}: is a symlink (never followed)") from None
        raise LabelError(f"{MARKER_NAME}: cannot open: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise LabelError(f"{MARKER_NAME}: not a regular file")
        data = os.read(fd, MAX_MARKER_BYTES + 1)
    finally:
        os.close(fd)
    return parse_marker(data), st.st_uid


def _owner_caller(uid: int) -> Caller:
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    return Caller(uid=uid, gids=(), name=name)


def apply_marker(conn: Connection, ctx: LabelContext, directory: str, dir_uid: int,
                 marker: Marker, marker_uid: int) -> tuple[PathResult, ...]:
    """A marker read in ``directory`` (owned by ``dir_uid``), written by ``marker_uid``:
    each of its labels is set as ``label set`` by the marker's owner would (the owner of
    the marker must own the directory, or be root), with source ``marker``. A label set
    already stands as it was; every decision is in the history (``marker-set`` or
    ``refused``)."""
    caller = _owner_caller(marker_uid)
    decision = may_set(caller, dir_uid, is_dir=True, path=display_path(directory))
    results = []
    for label in marker.labels:
        if label not in ctx.labels:
            why = f"marker: unknown label {label!r}"
            allowed = False
        elif not decision.allowed:
            why, allowed = f"marker: {decision.reason}", False
        else:
            why, allowed = f"marker: {decision.reason}", True
        if not allowed:
            repo.append_history(conn, history_entry(ctx, caller, directory, label, "refused",
                                               False, marker.note, why))
            results.append(PathResult(display_path(directory), False, False, why))
            continue
        current, created = repo.set_label(
            conn, host=ctx.host, path=directory, is_dir=True, label=label, source="marker",
            set_by=caller.name, set_uid=caller.uid, note=marker.note, now=ctx.clock())
        if created:
            repo.append_history(conn, history_entry(ctx, caller, directory, label, "marker-set",
                                               True, marker.note, why))
        results.append(PathResult(display_path(directory), True, created,
                                  "labelled" if created
                                  else f"already labelled (set by {current.set_by})"))
    return tuple(results)


def marker_deleted(conn: Connection, ctx: LabelContext, directory: str,
                   marker_uid: int | None) -> int:
    """The marker of ``directory`` is gone: its labels stay (``label remove`` takes them
    off); the deletion is recorded against each marker-set label. How many."""
    actor = _owner_caller(marker_uid) if marker_uid is not None else Caller(-1, (), "unknown")
    kept = [a for a in repo.active_for(conn, ctx.host, directory)
            if a.path == directory and a.source == "marker"]
    for a in kept:
        repo.append_history(conn, HistoryEntry(
            time=ctx.clock(), host=ctx.host, path=directory, label=a.label,
            action="marker-deleted", allowed=True, actor=actor.name,
            actor_uid=marker_uid, note="",
            reason="the marker file was deleted; the label stays until `dlpd label remove`"))
    return len(kept)
