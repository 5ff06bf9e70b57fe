"""The one entry point of label requests: ``handle(request, caller, ctx)``.

The CLI calls it directly when no daemon runs (the caller is the process); the daemon's
control socket calls it with the caller SO_PEERCRED names. Requests and responses are
frozen, and ``to_json``/``from_json`` are the socket's wire format (one JSON object a
line), checked strictly: a request from the socket is hostile input.

A path to label is opened from a watched root (from ``/`` without roots), one component
at a time with O_NOFOLLOW (``dirfd.open_below``): a symlink anywhere below the root is
refused, so no link lets a user label someone else's data, and the owner checked is the
``fstat`` of what was opened. Every decision, allowed or refused, is appended to the
history in the transaction of the change it allowed.
"""

from __future__ import annotations

import errno
import grp
import os
import pwd
import socket
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast

from dlpd import dirfd
from dlpd.config import Settings, host_name
from dlpd.errors import ConfigError, LabelError
from dlpd.labelling import xattrs
from dlpd.labelling.effective import LabelSource, effective_labels
from dlpd.labelling.model import Assignment, Caller, HistoryEntry, is_label_name
from dlpd.labelling.permissions import may_remove, may_set
from dlpd.model import display_path
from dlpd.store import labels as repo
from dlpd.store.db import Connection, Engine, transaction

__all__ = ["Caller", "LabelContext", "LabelRequest", "LabelResponse", "PathResult",
           "caller_of_process", "handle", "history_entry"]

Op = Literal["set", "remove", "show", "list", "history"]
OPS: tuple[Op, ...] = ("set", "remove", "show", "list", "history")
MAX_PATHS = 256
MAX_PATH_CHARS = 4096
MAX_NOTE = 1000
# What a response says about its request as a whole: the CLI's exit status follows it.
Status = Literal["ok", "refused", "error"]


@dataclass(frozen=True, slots=True)
class LabelContext:
    """What the service needs from the process that runs it."""

    engine: Engine
    labels: tuple[str, ...]  # configured [labels.NAME]
    roots: tuple[str, ...] = ()  # watched trees; () = anywhere (local mode)
    host: str = field(default_factory=socket.gethostname)
    admin_gid: int | None = None
    categories: Mapping[str, str] = field(default_factory=dict)
    cross_devices: bool = False
    clock: Callable[[], float] = time.time

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine, *,
                      roots: tuple[str, ...] | None = None) -> LabelContext:
        """``roots``: the daemon's watched trees (default ``[watch] paths``); the CLI in
        local mode passes ()."""
        group = settings.daemon.label_admin_group
        try:
            admin_gid = grp.getgrnam(group).gr_gid if group else None
        except KeyError:
            raise ConfigError("daemon.label_admin_group", f"no group {group!r}") from None
        return cls(engine=engine, labels=tuple(sorted(settings.labels)),
                   roots=settings.watch.paths if roots is None else roots,
                   host=host_name(settings), admin_gid=admin_gid,
                   categories=dict(settings.categories),
                   cross_devices=settings.scan.cross_devices)


def caller_of_process() -> Caller:
    """This process as a caller (the CLI's local mode)."""
    uid = os.getuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    return Caller(uid=uid, gids=tuple(sorted({os.getgid(), *os.getgroups()})), name=name,
                  pid=os.getpid())


# -- wire format ------------------------------------------------------------------------

def _field(obj: Mapping[str, Any], name: str, kind: type, default: Any) -> Any:
    value = obj.get(name, default)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise LabelError(f"request: {name} must be a {kind.__name__}")
    return value


@dataclass(frozen=True, slots=True)
class LabelRequest:
    op: Op
    paths: tuple[str, ...] = ()
    label: str | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.op, "paths": list(self.paths)}
        if self.label is not None:
            out["label"] = self.label
        if self.note:
            out["note"] = self.note
        return out

    @classmethod
    def from_json(cls, obj: object) -> LabelRequest:
        """A request from its JSON object; LabelError naming what is wrong."""
        if not isinstance(obj, dict):
            raise LabelError("request: expected a JSON object")
        unknown = sorted(set(obj) - {"op", "paths", "label", "note"})
        if unknown:
            raise LabelError(f"request: unknown key {unknown[0][:40]!r}")
        op = obj.get("op")
        if op not in OPS:
            raise LabelError(f"request: op must be one of {', '.join(OPS)}")
        paths = _field(obj, "paths", list, [])
        if len(paths) > MAX_PATHS:
            raise LabelError(f"request: more than {MAX_PATHS} paths")
        if not all(isinstance(p, str) and 0 < len(p) <= MAX_PATH_CHARS for p in paths):
            raise LabelError(f"request: paths must be strings of 1 to {MAX_PATH_CHARS} "
                             "characters")
        label = obj.get("label")
        if label is not None and (not isinstance(label, str) or len(label) > 64):
            raise LabelError("request: label must be a string of at most 64 characters")
        note = _field(obj, "note", str, "")
        if len(note) > MAX_NOTE:
            raise LabelError(f"request: note longer than {MAX_NOTE} characters")
        return cls(op=cast(Op, op), paths=tuple(paths), label=label, note=note)


@dataclass(frozen=True, slots=True)
class PathResult:
    """What became of one path of a set/remove: ``changed`` false when it was already
    so, or refused (``allowed`` false, ``message`` says why)."""

    path: str
    allowed: bool
    changed: bool
    message: str
    mirrored: bool = False  # the xattr was written too


@dataclass(frozen=True, slots=True)
class LabelResponse:
    status: Status
    error: str | None = None
    results: tuple[PathResult, ...] = ()
    sources: tuple[LabelSource, ...] = ()  # show
    assignments: tuple[Assignment, ...] = ()  # list
    history: tuple[HistoryEntry, ...] = ()  # history

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "error": self.error,
                "results": [asdict(r) for r in self.results],
                "sources": [asdict(s) for s in self.sources],
                "assignments": [asdict(a) for a in self.assignments],
                "history": [asdict(h) for h in self.history]}

    @classmethod
    def from_json(cls, obj: object) -> LabelResponse:
        if not isinstance(obj, dict) or obj.get("status") not in ("ok", "refused", "error"):
            raise LabelError("response: not a label response")
        try:
            return cls(
                status=obj["status"], error=obj.get("error"),
                results=tuple(PathResult(**r) for r in obj.get("results", ())),
                sources=tuple(LabelSource(**s) for s in obj.get("sources", ())),
                assignments=tuple(Assignment(**a) for a in obj.get("assignments", ())),
                history=tuple(HistoryEntry(**h) for h in obj.get("history", ())))
        except TypeError as exc:
            raise LabelError(f"response: {exc}") from None


def error(message: str) -> LabelResponse:
    return LabelResponse(status="error", error=message)


# -- paths ------------------------------------------------------------------------------

def normalize(path: str) -> str:
    """An absolute path without empty components and trailing slashes; '.' and '..' are
    refused rather than resolved (resolving them is what the file system is asked to do
    without symlinks, component by component)."""
    if not path.startswith("/"):
        raise LabelError(f"{display_path(path)}: not an absolute path")
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise LabelError(f"{display_path(path)}: '.' and '..' are not followed; give the "
                         "path itself")
    return "/" + "/".join(parts)


@dataclass(frozen=True, slots=True)
class _Opened:
    fd: int
    st: os.stat_result

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.st.st_mode)


def _root_for(path: str, ctx: LabelContext) -> str:
    if not ctx.roots:
        return "/"
    root = dirfd.root_of(path, ctx.roots)
    if root is None:
        raise LabelError(f"{display_path(path)}: not under a watched tree "
                         f"({', '.join(display_path(r) for r in ctx.roots)})")
    return root


def _open(path: str, ctx: LabelContext) -> _Opened:
    """An O_PATH fd on ``path`` and its fstat: reached from its root without following a
    symlink; only a regular file or a directory."""
    root = _root_for(path, ctx)
    shown = display_path(path)
    # From "/" the administrator's mounts are crossed; below a watched root, as the scan.
    cross = ctx.cross_devices or root == "/"
    try:
        if path == root:
            fd = dirfd.open_root(root)
        else:
            parent, _, name = path.rpartition("/")
            pfd = dirfd.open_below(root, parent or "/", cross_devices=cross)
            try:
                fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
            finally:
                os.close(pfd)
    except dirfd.OutsideRoot as exc:
        raise LabelError(f"{shown}: {exc.strerror}") from None
    except OSError as exc:
        why = {errno.ENOENT: "no such file or directory",
               errno.EACCES: "permission denied"}.get(exc.errno or 0, exc.strerror)
        raise LabelError(f"{shown}: {why}") from None
    st = os.fstat(fd)
    if stat.S_ISLNK(st.st_mode):
        os.close(fd)
        raise LabelError(f"{shown}: is a symlink (never followed); label what it points "
                         "to by its own path")
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        os.close(fd)
        raise LabelError(f"{shown}: only files and directories carry labels")
    if not cross and path != root and st.st_dev != os.stat(root).st_dev:
        os.close(fd)
        raise LabelError(f"{shown}: on another file system than its watched tree")
    return _Opened(fd, st)


# -- operations -------------------------------------------------------------------------

def _check_label(label: str | None, ctx: LabelContext) -> str:
    if label is None or not label:
        raise LabelError("a label is needed (--label NAME)")
    if label not in ctx.labels:
        known = ", ".join(ctx.labels) if ctx.labels else "none configured"
        raise LabelError(f"unknown label {label!r}; configured labels ([labels.NAME]): "
                         f"{known}")
    return label


def history_entry(ctx: LabelContext, caller: Caller, path: str, label: str, action: str,
             allowed: bool, note: str, reason: str | None) -> HistoryEntry:
    return HistoryEntry(time=ctx.clock(), host=ctx.host, path=path, label=label,
                        action=action, allowed=allowed, actor=caller.name,
                        actor_uid=caller.uid, note=note, reason=reason)


def _mirror(opened: _Opened, label: str, add: bool) -> bool:
    """Write the file's xattr to its labels with ``label`` added or taken out; files only
    (directories' labels are the store's, and inherited)."""
    if opened.is_dir:
        return False
    current = set(xattrs.read_labels(opened.fd))
    wanted = current | {label} if add else current - {label}
    if wanted == current:
        return add
    return xattrs.write_labels(opened.fd, wanted)


def _set_one(conn: Connection, ctx: LabelContext, caller: Caller, path: str, label: str,
             note: str) -> PathResult:
    try:
        opened = _open(path, ctx)
    except LabelError as exc:
        repo.append_history(conn, history_entry(ctx, caller, path, label, "refused", False,
                                           note, f"set: {exc}"))
        return PathResult(display_path(path), False, False, str(exc))
    try:
        decision = may_set(caller, opened.st.st_uid, is_dir=opened.is_dir,
                           path=display_path(path))
        if not decision.allowed:
            repo.append_history(conn, history_entry(ctx, caller, path, label, "refused", False,
                                               note, f"set: {decision.reason}"))
            return PathResult(display_path(path), False, False, decision.reason)
        current, created = repo.set_label(
            conn, host=ctx.host, path=path, is_dir=opened.is_dir, label=label,
            source="explicit", set_by=caller.name, set_uid=caller.uid, note=note,
            now=ctx.clock())
        reason = decision.reason if created else (
            f"{decision.reason}; already set by {current.set_by}, whose assignment stands")
        repo.append_history(conn, history_entry(ctx, caller, path, label, "set", True, note,
                                           reason))
        mirrored = _mirror(opened, label, add=True)
    finally:
        os.close(opened.fd)
    message = "labelled" if created else f"already labelled (set by {current.set_by})"
    return PathResult(display_path(path), True, created, message, mirrored)


def _remove_one(conn: Connection, ctx: LabelContext, caller: Caller, path: str,
                label: str, note: str) -> PathResult:
    current = repo.active(conn, ctx.host, path, label)
    if current is None:
        message = f"no label {label!r} set on this path (an inherited one is removed " \
                  "from the directory that has it)"
        repo.append_history(conn, history_entry(ctx, caller, path, label, "refused", False,
                                           note, f"remove: {message}"))
        return PathResult(display_path(path), False, False, message)
    decision = may_remove(caller, current, ctx.admin_gid)
    if not decision.allowed:
        repo.append_history(conn, history_entry(ctx, caller, path, label, "refused", False,
                                           note, f"remove: {decision.reason}"))
        return PathResult(display_path(path), False, False, decision.reason)
    repo.remove_label(conn, host=ctx.host, path=path, label=label, removed_by=caller.name,
                      now=ctx.clock())
    repo.append_history(conn, history_entry(ctx, caller, path, label, "remove", True, note,
                                       decision.reason))
    mirrored = False
    try:
        opened = _open(path, ctx)
    except LabelError:
        pass  # gone or unreachable: nothing to mirror
    else:
        try:
            mirrored = _mirror(opened, label, add=False)
        finally:
            os.close(opened.fd)
    return PathResult(display_path(path), True, True, "label removed", mirrored)


def _change(request: LabelRequest, caller: Caller, ctx: LabelContext) -> LabelResponse:
    if not request.paths:
        raise LabelError("no path given")
    paths = [normalize(p) for p in request.paths]
    if request.op == "set":
        label = _check_label(request.label, ctx)
        if ctx.roots:
            for p in paths:
                _root_for(p, ctx)
    else:
        label = request.label or ""
        if not label:
            raise LabelError("a label is needed (--label NAME)")
    results = []
    with transaction(ctx.engine) as conn:
        for path in paths:
            if request.op == "set":
                results.append(_set_one(conn, ctx, caller, path, label, request.note))
            else:
                results.append(_remove_one(conn, ctx, caller, path, label, request.note))
    refused = [r for r in results if not r.allowed]
    return LabelResponse(status="refused" if refused else "ok",
                         error=refused[0].message if refused else None,
                         results=tuple(results))


def show(conn: Connection, ctx: LabelContext, path: str) -> tuple[LabelSource, ...]:
    """The effective labels of ``path`` as the store knows them."""
    detected = [(ctx.categories[c], c) for c in repo.last_categories(conn, ctx.host, path)
                if c in ctx.categories]
    return effective_labels(path, repo.active_for(conn, ctx.host, path),
                            repo.matches_for(conn, ctx.host, path), detected)


def _read(request: LabelRequest, ctx: LabelContext) -> LabelResponse:
    if request.op == "list":
        if request.label is not None and not is_label_name(request.label):
            raise LabelError(f"{request.label!r} is not a label name")
        with transaction(ctx.engine) as conn:
            found = repo.list_active(conn, ctx.host, request.label)
        return LabelResponse(status="ok", assignments=tuple(found))
    if len(request.paths) != 1:
        raise LabelError(f"{request.op} takes exactly one path")
    path = normalize(request.paths[0])
    with transaction(ctx.engine) as conn:
        if request.op == "show":
            return LabelResponse(status="ok", sources=show(conn, ctx, path))
        return LabelResponse(status="ok",
                             history=tuple(repo.history(conn, ctx.host, path)))


def handle(request: LabelRequest, caller: Caller, ctx: LabelContext) -> LabelResponse:
    """Answer ``request`` for ``caller``. A bad request is an error response, never an
    exception; a StoreError (the database failed) is the caller's to report."""
    try:
        if request.op in ("set", "remove"):
            return _change(request, caller, ctx)
        return _read(request, ctx)
    except LabelError as exc:
        return error(str(exc))

