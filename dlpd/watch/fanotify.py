"""dlpd's fanotify reader: whole file systems marked at once, every event with its actor.

One fanotify group in FID mode (parent directory handle + entry name with every event,
the child's handle too; FAN_RENAME carries both ends of a rename: kernel >= 5.17) and one
``FAN_MARK_FILESYSTEM`` mark per file system that holds a root (with ``cross_devices``,
also those mounted below the roots, as mounted at start). No per-directory watch and no
walk: ``start`` returns as soon as the marks are in place, and nothing below a root can
escape being reported (no watch limit, no race with a new directory).

A file-system mark sees the whole file system (/tmp, our own database...): each event's
directory handle is turned into a path (``DirPaths``, a bounded LRU: one dict lookup for a
known directory) together with a verdict, inside the roots and not pruned, and an event
that fails it is dropped before any other work; /proc is read only for the rest. Our own
process's events are dropped by pid (our scans' reads are not anyone's access).

Paths are resolved when the event is *read*, not when it happened: a directory renamed
in between is reported under its new name (the rename's own event follows or precedes
and the daemon re-crawls it); an event in a directory deleted since is dropped (the
deletion of its nearest surviving ancestor is reported). Kernel ABI: ``fanotify_c.py``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import time
from collections.abc import Callable, Sequence

import structlog

from dlpd.dirfd import join, open_below, open_root, proc_path, root_of
from dlpd.errors import ConfigError
from dlpd.watch.actor import ActorCache
from dlpd.watch.events import Actor, EventKind, FsEvent, OnEvent
from dlpd.watch.fanotify_c import (
    FAN_ATTRIB,
    FAN_CLOSE_WRITE,
    FAN_CREATE,
    FAN_DELETE,
    FAN_EVENT_INFO_TYPE_DFID_NAME,
    FAN_EVENT_INFO_TYPE_FID,
    FAN_EVENT_INFO_TYPE_NEW_DFID_NAME,
    FAN_EVENT_INFO_TYPE_OLD_DFID_NAME,
    FAN_ONDIR,
    FAN_OPEN,
    FAN_Q_OVERFLOW,
    FAN_RENAME,
    LEAN_MASK,
    DirPaths,
    FidRecord,
    RawEvent,
    fanotify_init,
    fsid_of,
    mark_filesystem,
    parse_events,
)
from dlpd.watch.reader import KernelReader

_log = structlog.get_logger("dlpd.watch")

READ_SIZE = 256 * 1024  # whole events only: the kernel never splits one across reads
DIR_CACHE = 65536  # directories whose path is known (~250 bytes each)
MOUNTINFO_READ = 1 << 20
MOUNT_FD_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
K = EventKind


class FanotifyWatcher(KernelReader):
    """File-system marks over the roots, read by one thread (``dlpd-fanotify``).

    ``watched_dirs()`` is the number of roots covered by a mark (not directories: a mark
    covers every directory of its file system; there is nothing to count). A root that
    is deleted or moved away stops counting, with UNWATCHED.
    ``own_events``: report this process's own events too (tests that write in-process)."""

    name = "fanotify"

    def __init__(self, *, access_events: bool = False, cross_devices: bool = False,
                 own_events: bool = False) -> None:
        self._access_events = access_events
        self._cross_devices = cross_devices
        self._own_pid = -1 if own_events else os.getpid()
        super().__init__()
        self._roots: tuple[str, ...] = ()
        self._live: set[str] = set()  # roots under a mark, not deleted or moved away
        self._on_event: OnEvent = _ignore
        self._is_pruned: Callable[[str], bool] = _never
        self._dirs = DirPaths(DIR_CACHE)
        self._actors = ActorCache()
        self._batch_actors: dict[int, Actor] = {}
        self._startup: list[FsEvent] = []

    # ---- the WatchBackend contract ------------------------------------------------------

    def start(self, roots: Sequence[str], on_event: OnEvent,
              is_pruned: Callable[[str], bool]) -> None:
        """Mark the file systems of ``roots``, then start the reader."""
        self._begin()
        try:
            self._fd = fanotify_init()
        except (OSError, AttributeError) as exc:
            raise ConfigError("watch.backend", f"fanotify_init: {exc} (needs CAP_SYS_ADMIN "
                              "and a kernel with FID reporting and FAN_RENAME, 5.17)") from exc
        self._on_event = on_event
        self._is_pruned = is_pruned
        self._roots = tuple(dict.fromkeys(r.rstrip("/") or "/" for r in roots))
        mask = LEAN_MASK | (FAN_OPEN if self._access_events else 0)
        try:
            marked: set[int] = set()
            for root in self._roots:
                self._mark_root(root, mask, marked)
            if self._cross_devices:
                for root in list(self._live):
                    for below in _mounts_below(root):
                        if not self._pruned_between(root, below):
                            self._mark_below(root, below, mask, marked)
            self._spawn()
        except BaseException:
            self._close()
            raise

    def watched_dirs(self) -> int:
        return len(self._live)

    # ---- marks --------------------------------------------------------------------------

    def _mark_root(self, root: str, mask: int, marked: set[int]) -> None:
        try:
            fd = open_root(root)
        except OSError as exc:
            _log.warning("watch root cannot be watched", path=root, error=exc.strerror)
            self._startup.append(FsEvent(K.UNWATCHED, root, time=time.monotonic()))
            return
        if self._mark(fd, root, mask, marked):
            self._live.add(root)
        else:
            self._startup.append(FsEvent(K.UNWATCHED, root, time=time.monotonic()))

    def _mark_below(self, root: str, path: str, mask: int, marked: set[int]) -> None:
        try:
            fd = open_below(root, path, cross_devices=True)
        except OSError as exc:
            _log.warning("mounted file system is not watched", path=path,
                         error=exc.strerror)
            return
        if not self._mark(fd, path, mask, marked):
            self._startup.append(FsEvent(K.UNWATCHED, path, time=time.monotonic()))

    def _mark(self, fd: int, path: str, mask: int, marked: set[int]) -> bool:
        """Mark the file system ``fd`` is on (once), keep a mount fd for its handle
        lookups; closes ``fd``."""
        try:
            dev = os.fstat(fd).st_dev
            if dev in marked:
                return True
            mark_filesystem(self._fd, mask, fd)
            fsid = fsid_of(fd)
            marked.add(dev)
            if fsid not in self._dirs.mounts:
                # open_by_handle_at refuses an O_PATH mount fd: reopen it for reading.
                self._dirs.mounts[fsid] = os.open(proc_path(fd), MOUNT_FD_FLAGS)
            return True
        except OSError as exc:
            # ENODEV/EXDEV/EOPNOTSUPP: a file system without file handles or fsid (some
            # FUSE, NFS without export support): its trees are left to periodic crawls.
            _log.warning("file system cannot be marked by fanotify", path=path,
                         error=exc.strerror, errno=errno.errorcode.get(exc.errno or 0))
            return False
        finally:
            os.close(fd)

    # ---- the reader thread --------------------------------------------------------------

    def _read_loop(self, poller: select.poll) -> None:
        fd = self._fd
        startup, self._startup = self._startup, []
        self._guarded(self._emit_all, startup)
        while True:
            ready = poller.poll()
            if self._woken(ready):
                return
            data = b""
            with contextlib.suppress(BlockingIOError):
                data = os.read(fd, READ_SIZE)
            if data:
                self._guarded(self._process, data, time.monotonic())

    def _guarded(self, step: Callable[..., None], *args: object) -> None:
        """A bug or a failing callback must not end the watch: log it and report an
        OVERFLOW so that the daemon reconciles what was lost."""
        try:
            step(*args)
        except Exception:
            _log.exception("fanotify reader failed on a batch; reconciling")
            try:
                self._dirs.clear()
                self._on_event(FsEvent(K.OVERFLOW, "", time=time.monotonic()))
            except Exception:
                _log.exception("fanotify reader could not report the overflow")

    def _emit_all(self, events: list[FsEvent]) -> None:
        for event in events:
            self._on_event(event)

    def _process(self, data: bytes, now: float) -> None:
        raw, malformed = parse_events(data)
        out: list[FsEvent] = []
        self._batch_actors = {}  # a pid is one process within one read
        own = self._own_pid
        for ev in raw:
            if ev.fd >= 0:
                os.close(ev.fd)  # FID mode sends none; never leak one
            if ev.mask & FAN_Q_OVERFLOW:
                out.append(FsEvent(K.OVERFLOW, "", time=now))
            elif ev.pid == own:
                continue
            elif ev.mask & FAN_RENAME:
                self._renamed(ev, now, out)
            else:
                self._changed(ev, now, out)
        if malformed:
            _log.warning("fanotify buffer malformed; reconciling", size=len(data))
            out.append(FsEvent(K.OVERFLOW, "", time=now))
        self._emit_all(out)

    def _changed(self, ev: RawEvent, now: float, out: list[FsEvent]) -> None:
        rec = ev.record(FAN_EVENT_INFO_TYPE_DFID_NAME)
        if rec is None:
            return  # no directory to place it in (a file opened by handle): not ours
        mask = ev.mask
        is_dir = bool(mask & FAN_ONDIR)
        if is_dir and not mask & (FAN_CREATE | FAN_ATTRIB | FAN_DELETE):
            return  # opening (listing) a directory is not access to a file
        placed = self._place(rec, is_dir)
        if placed is None:
            return
        actor = self._actor(ev.pid)
        if is_dir:
            self._dir_changed(ev, placed, actor, now, out)
            return
        merged = bool(mask & FAN_CREATE and mask & FAN_DELETE)
        exists = os.path.lexists(placed) if merged else False
        out.extend(FsEvent(kind, placed, None, actor, now)
                   for kind in file_kinds(mask, self._access_events, exists))

    def _dir_changed(self, ev: RawEvent, path: str, actor: Actor, now: float,
                     out: list[FsEvent]) -> None:
        mask = ev.mask
        if mask & FAN_CREATE:
            child = ev.record(FAN_EVENT_INFO_TYPE_FID)
            if child is not None:
                self._dirs.put(child.key, path, True)
            out.append(FsEvent(K.DIR_CREATED, path, None, actor, now))
        if mask & FAN_ATTRIB:
            out.append(FsEvent(K.ATTRIB, path, None, actor, now))
        if mask & FAN_DELETE:
            out.append(FsEvent(K.DIR_DELETED, path, None, actor, now))
            self._root_gone(path, path, now, out)

    def _renamed(self, ev: RawEvent, now: float, out: list[FsEvent]) -> None:
        old_rec = ev.record(FAN_EVENT_INFO_TYPE_OLD_DFID_NAME)
        new_rec = ev.record(FAN_EVENT_INFO_TYPE_NEW_DFID_NAME)
        is_dir = bool(ev.mask & FAN_ONDIR)
        old = self._locate(old_rec, is_dir) if old_rec is not None else None
        if is_dir:
            self._dirs.clear()  # every cached path below the old name is stale
        new = self._locate(new_rec, is_dir) if new_rec is not None else None
        src = old[0] if old is not None and old[1] else None
        dst = new[0] if new is not None and new[1] else None
        if src is None and dst is None:
            if is_dir and old is not None:
                self._root_gone(old[0], None, now, out)  # an ancestor of a root moved
            return
        actor = self._actor(ev.pid)
        if not is_dir:
            out.append(FsEvent(K.MOVED, dst, src, actor, now) if dst is not None
                       else FsEvent(K.MOVED_OUT, str(src), None, actor, now))
            return
        child = ev.record(FAN_EVENT_INFO_TYPE_FID)
        if child is not None and dst is not None:
            self._dirs.put(child.key, dst, True)
        out.append(FsEvent(K.DIR_MOVED, dst, src, actor, now) if dst is not None
                   else FsEvent(K.DIR_MOVED_OUT, str(src), None, actor, now))
        if old is not None:
            self._root_gone(old[0], src if dst is None else None, now, out)

    def _root_gone(self, path: str, reported: str | None, now: float,
                   out: list[FsEvent]) -> None:
        """``path`` was deleted or moved away: the roots at or below it are gone (a
        DIR_MOVED_OUT for each not ``reported`` already, then UNWATCHED)."""
        if not self._live:
            return
        prefix = path + "/" if path != "/" else "/"
        for root in sorted(self._live):
            if root == path or root.startswith(prefix):
                self._live.discard(root)
                if root not in (reported, path):
                    out.append(FsEvent(K.DIR_MOVED_OUT, root, time=now))
                out.append(FsEvent(K.UNWATCHED, root, time=now))

    # ---- paths --------------------------------------------------------------------------

    def _place(self, rec: FidRecord, is_dir: bool) -> str | None:
        """The event's path if it is inside the roots and not pruned, else None."""
        located = self._locate(rec, is_dir)
        return located[0] if located is not None and located[1] else None

    def _locate(self, rec: FidRecord, is_dir: bool) -> tuple[str, bool] | None:
        """(path, inside the roots and not pruned) of the record's entry, or None if
        its directory cannot be found (deleted since, or not on a marked file system)."""
        dirs = self._dirs
        hit = dirs.get(rec.key)
        if hit is None:
            directory = dirs.open_path(rec.key)
            if directory is None:
                return None
            hit = (directory, self._is_inside(directory))
            dirs.put(rec.key, *hit)
        directory, inside = hit
        name = rec.name
        if name is None or name == b".":
            return directory, inside
        path = join(directory, os.fsdecode(name))
        if not is_dir:
            return path, inside
        if inside:
            return path, not self._is_pruned(path)
        return path, path in self._roots  # a root itself, seen from its parent

    def _is_inside(self, directory: str) -> bool:
        root = root_of(directory, self._roots)
        return root is not None and not self._pruned_between(root, directory)

    def _pruned_between(self, root: str, path: str) -> bool:
        """Whether a directory strictly below ``root``, down to ``path``, is pruned."""
        rest = path[len(root):].strip("/") if root != "/" else path.strip("/")
        current = root
        for name in rest.split("/") if rest else ():
            current = join(current, name)
            if self._is_pruned(current):
                return True
        return False

    def _actor(self, pid: int) -> Actor:
        actor = self._batch_actors.get(pid)
        if actor is None:
            actor = self._batch_actors[pid] = self._actors.actor_of(pid)
        return actor

    def _release(self) -> None:
        self._dirs.close()
        self._live.clear()


def file_kinds(mask: int, access_events: bool, exists: bool) -> list[EventKind]:
    """What one event on a file means, in order. The kernel merges events on the same
    name by the same process while they wait in the queue; a merged create+delete has
    lost its order, so whether the name ``exists`` now decides it."""
    kinds: list[EventKind] = []
    created, deleted = bool(mask & FAN_CREATE), bool(mask & FAN_DELETE)
    if created and deleted:
        kinds += [K.DELETED, K.CREATED] if exists else [K.CREATED, K.DELETED]
    elif created:
        kinds.append(K.CREATED)
    if mask & FAN_OPEN and access_events:
        kinds.append(K.OPENED)
    if mask & FAN_ATTRIB:
        kinds.append(K.ATTRIB)
    if mask & FAN_CLOSE_WRITE:
        kinds.append(K.CLOSED_WRITE)
    if deleted and not created:
        kinds.append(K.DELETED)
    return kinds


def _mounts_below(root: str) -> list[str]:
    """Mount points strictly below ``root`` (/proc/self/mountinfo, read bounded)."""
    try:
        fd = os.open("/proc/self/mountinfo", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return []
    try:
        data = os.read(fd, MOUNTINFO_READ)
    finally:
        os.close(fd)
    prefix = root + "/" if root != "/" else "/"
    found: list[str] = []
    for line in data.splitlines():
        fields = line.split(b" ")
        if len(fields) < 5:
            continue
        point = os.fsdecode(_unescape(fields[4]))
        if point.startswith(prefix) and point != root:
            found.append(point)
    return sorted(set(found))


def _unescape(field: bytes) -> bytes:
    r"""mountinfo escapes space, tab, newline and backslash as \ooo."""
    out, i = bytearray(), 0
    while i < len(field):
        if field[i:i + 1] == b"\\" and field[i + 1:i + 4].isdigit():
            out.append(int(field[i + 1:i + 4], 8) & 0xFF)
            i += 4
        else:
            out.append(field[i])
            i += 1
    return bytes(out)


def _ignore(_event: FsEvent) -> None:
    return None


def _never(_path: str) -> bool:
    return False
