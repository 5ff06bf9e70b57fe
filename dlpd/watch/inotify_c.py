"""The kernel side of dlpd's inotify reader: the ABI, libc calls, and the watch table.

libc is called through plain ctypes calls (no callbacks: the service runs with
MemoryDenyWriteExecute, and ctypes callbacks need writable+executable trampolines).
``WatchTable`` keeps wd -> directory and directory -> wd right through renames, walks new
subtrees and says why a walk stopped; what that means as events is ``inotify.py``'s job.
Only the reader thread mutates a table once the watcher has started.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import struct
import sys
from collections.abc import Callable, Sequence

import structlog

from dlpd.dirfd import (
    MAX_DEPTH,
    join,
    list_subdirs,
    open_below,
    open_child,
    open_root,
    proc_path,
    root_of,
)

_log = structlog.get_logger("dlpd.watch")

# <sys/inotify.h>
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_OPEN = 0x00000020
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_EXCL_UNLINK = 0x04000000
IN_MASK_ADD = 0x20000000
IN_ISDIR = 0x40000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC

# No IN_DONT_FOLLOW: watches are added through /proc/self/fd/N (``dirfd.py``), a magic
# link the kernel must follow to reach the directory; nothing else is ever followed.
# IN_ATTRIB: a mode, owner or ACL change says who can read a labelled file now.
LEAN_MASK = (IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
             | IN_DELETE_SELF | IN_MOVE_SELF | IN_EXCL_UNLINK | IN_ONLYDIR)
# Directories are walked with the lean mask (IN_MASK_ADD never narrows a live watch) and
# only then given IN_OPEN: with IN_OPEN on, our own listing of 10k directories would queue
# 20k events, and overflow the queue of the very walk that rebuilds after an overflow.
_WALK_MASK = LEAN_MASK | IN_MASK_ADD

HEADER = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len; then name
FS_ENCODING = sys.getfilesystemencoding()
FS_ERRORS = sys.getfilesystemencodeerrors()
QUEUE_SYSCTL = "/proc/sys/fs/inotify/max_queued_events"
WATCHES_SYSCTL = "/proc/sys/fs/inotify/max_user_watches"
# In a user namespace (a container), the limit that applies may be this one, lower.
USERNS_WATCHES_SYSCTL = "/proc/sys/user/max_inotify_watches"
# The directory vanished, is unreadable, or is no longer a directory (IN_ONLYDIR): the
# event for its removal, or the next crawl, accounts for it.
VANISHED = frozenset({errno.ENOENT, errno.EACCES, errno.ENOTDIR, errno.ELOOP})
# A tree deeper than dirfd.MAX_DEPTH stops the walk like the watch limit does: reported,
# and left to crawls.
_TOO_DEEP = -2


@functools.cache
def libc() -> ctypes.CDLL:
    lib = ctypes.CDLL(None, use_errno=True)
    lib.inotify_init1.argtypes = [ctypes.c_int]
    lib.inotify_init1.restype = ctypes.c_int
    lib.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    lib.inotify_add_watch.restype = ctypes.c_int
    lib.inotify_rm_watch.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.inotify_rm_watch.restype = ctypes.c_int
    return lib


def read_sysctl(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


class _Frame:
    """A directory of the walk's current chain: watched (lean), listed, held open until
    its subdirectories are walked."""

    __slots__ = ("fd", "path", "todo")

    def __init__(self, path: str, fd: int, todo: list[tuple[str, int]]) -> None:
        self.path = path
        self.fd = fd
        self.todo = todo


class WatchTable:
    """The watches of one inotify fd, by wd and by directory path."""

    def __init__(self, fd: int, mask: int, is_pruned: Callable[[str], bool],
                 roots: Sequence[str] = (), *, cross_devices: bool = False) -> None:
        self.fd = fd
        self.cross_devices = cross_devices
        self.mask = mask
        self.is_pruned = is_pruned
        self.roots = tuple(roots)
        self.dirs: dict[int, str] = {}  # wd -> directory
        self.wds: dict[str, int] = {}  # directory -> wd

    def watch_tree(self, top: str) -> tuple[bool, int]:
        """Watch ``top`` and every directory below it (symlinks not followed, pruned
        directories skipped, other file systems not entered). Returns (``top`` was not
        watched before, errno): errno is ENOSPC if the watch limit stopped the walk,
        EMFILE if the tree is deeper than MAX_DEPTH, ``top``'s own error if it could not
        be watched, else 0. A watch is added before its directory is listed, so a
        subdirectory created meanwhile is either listed or reported by IN_CREATE.

        Everything is reached through directory fds (``dirfd.py``): ``top`` from its root
        without following a symlink, each subdirectory from its parent, checked against
        the inode listed; so a directory swapped for a symlink to ``/etc`` mid-walk is
        never watched, and paths longer than PATH_MAX are watched like any other."""
        try:
            fd = self._open_top(top)
            dev = os.fstat(fd).st_dev
        except OSError as exc:
            return False, exc.errno or errno.EIO
        fresh = False
        chain: list[_Frame] = []  # top .. the directory being walked, fds held
        path = top
        try:
            while fd >= 0:
                entered = self._enter(path, fd)
                if isinstance(entered, _Frame):
                    chain.append(entered)
                    fresh = fresh or path == top
                elif entered == errno.ENOSPC or (entered and path == top):
                    return fresh, entered
                elif entered and entered not in VANISHED:
                    _log.warning("directory cannot be watched", path=path,
                                 error=os.strerror(entered))
                path, fd = self._next(chain, dev)
            return fresh, errno.EMFILE if fd == _TOO_DEEP else 0
        finally:
            while chain:
                self._finish(chain.pop())

    def _next(self, chain: list[_Frame], dev: int) -> tuple[str, int]:
        """The next subdirectory to enter, opened (fd -1: the walk is done; _TOO_DEEP:
        the chain is MAX_DEPTH long). Frames whose subdirectories are done are let go."""
        while chain:
            frame = chain[-1]
            if not frame.todo:
                self._finish(chain.pop())
                continue
            if len(chain) >= MAX_DEPTH:
                _log.warning("directory tree too deep to watch", path=frame.path,
                             depth=len(chain))
                return frame.path, _TOO_DEEP
            name, ino = frame.todo.pop()
            path = join(frame.path, name)
            try:
                # Crossing devices, a child is compared with its own parent's device.
                parent_dev = os.fstat(frame.fd).st_dev if self.cross_devices else dev
                fd = open_child(frame.fd, name, ino, parent_dev,
                                cross_devices=self.cross_devices)
            except OSError as exc:
                _log.warning("directory on another file system is not watched",
                             path=path, error=exc.strerror)
                continue
            if fd >= 0:
                return path, fd
        return "", -1

    def _open_top(self, top: str) -> int:
        root = root_of(top, self.roots)
        if root is None:
            raise OSError(errno.EXDEV, "outside the watched roots", top)
        return (open_root(top) if top == root
                else open_below(root, top, cross_devices=self.cross_devices))

    def _enter(self, path: str, fd: int) -> _Frame | int:
        """Watch (lean) and list the directory ``fd`` holds, named ``path``: its frame,
        or an errno (0 if it was watched already). Closes ``fd`` unless it returns a
        frame."""
        wd = libc().inotify_add_watch(self.fd, proc_path(fd), _WALK_MASK)
        if wd < 0:
            os.close(fd)
            return ctypes.get_errno()
        if wd in self.dirs:
            # Already watched: its subtree was walked then, and later subdirectories
            # have their own IN_CREATE queued. Under another name: a bind mount (or a
            # loop through one); the first name wins.
            os.close(fd)
            return 0
        self.dirs[wd] = path
        self.wds[path] = wd
        try:
            listed = list_subdirs(fd)
        except OSError:
            listed = []  # vanished or unreadable: its removal is reported by its parent
        is_pruned = self.is_pruned
        return _Frame(path, fd, [(n, i) for n, i in listed if not is_pruned(join(path, n))])

    def _finish(self, frame: _Frame) -> None:
        """Its subtree is walked: give it the full mask (IN_OPEN, when asked) only now,
        so that the walk's own opens below it queue nothing, and let go of its fd."""
        try:
            if self.mask != LEAN_MASK:
                libc().inotify_add_watch(self.fd, proc_path(frame.fd), self.mask)
        finally:
            os.close(frame.fd)

    def drop(self, wd: int) -> str | None:
        """The kernel removed ``wd`` (IN_IGNORED): forget it; returns its directory."""
        path = self.dirs.pop(wd, None)
        if path is not None and self.wds.get(path) == wd:
            del self.wds[path]
        return path

    def subtree(self, top: str) -> list[tuple[str, int]]:
        prefix = top + "/" if top != "/" else "/"
        return [(p, wd) for p, wd in self.wds.items() if p == top or p.startswith(prefix)]

    def rename_tree(self, old: str, new: str) -> None:
        """A watched directory renamed inside the trees: same watches, new paths."""
        moved, cut = self.subtree(old), len(old)
        for path, _ in moved:
            del self.wds[path]
        for path, wd in moved:
            renamed = new + path[cut:]
            self.wds[renamed] = wd
            self.dirs[wd] = renamed

    def unwatch_tree(self, top: str) -> None:
        """``top`` left the trees: remove its watches, which would follow it with stale
        paths. Their IN_IGNORED then finds no wd and is skipped."""
        rm = libc().inotify_rm_watch
        for path, wd in self.subtree(top):
            del self.wds[path]
            self.dirs.pop(wd, None)
            rm(self.fd, wd)

    def rebuild(self, roots: Sequence[str]) -> list[tuple[str, int]]:
        """After IN_Q_OVERFLOW any create, move or IN_IGNORED may be lost: rebuild both
        maps from a fresh walk (live watches come back with their wd) and remove the
        watches the walk no longer reaches. Returns (root, errno) for walks that failed."""
        old = self.dirs
        self.dirs, self.wds = {}, {}
        failed = []
        for root in roots:
            _, err = self.watch_tree(root)
            if err:
                failed.append((root, err))
        rm = libc().inotify_rm_watch
        for wd in old.keys() - self.dirs.keys():
            rm(self.fd, wd)
        return failed
