"""Directories reached through descriptors, never through a path a user can redirect.

A watched tree is writable by users who may swap any directory in it for a symlink to
``/etc`` for a few milliseconds. ``inotify_add_watch(path)`` and ``os.scandir(path)``
follow symlinked *parents* (``IN_DONT_FOLLOW`` and ``O_NOFOLLOW`` guard the last
component only), so a walk by path can end up watching outside the roots. Here every
step below a root is ``openat(parent, name, O_NOFOLLOW)``, each directory opened is
checked against the device (and, when listed, the inode) it was expected to have, and a
watch is added through ``/proc/self/fd/N``: the kernel resolves that magic link to exactly
the opened directory, so neither a symlinked parent nor PATH_MAX matters.

The fds are ``O_PATH``: opening one needs no read permission and, unlike a real open,
queues no ``IN_OPEN`` on the watches above it (with access events on, a walk's own opens
would otherwise fill the kernel queue). The scanner reads files from these fds too
(``classify/reading.py``), so the watcher and the scanner cannot disagree on where a
tree ends. Standard library only; Linux only.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable

# O_PATH: a handle on the directory itself; nothing is read through it.
PATH_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# A directory to list, below a root (never through a symlink) ...
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# ... and a configured root, trusted as written (it may be a symlink: /data -> /srv/data),
# or "." of a directory already reached.
LIST_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


class OutsideRoot(OSError):
    """A name below a root that is not followed: a symlink or a non-directory where a
    directory was, another file system, a directory replaced while walked, a path not
    plainly below its root. ``strerror`` says which, for people."""


# Directory fds a walk holds at once: one per level of its current branch. A deeper tree
# is reported, not walked: a bound on descriptors (the path's length is no limit).
MAX_DEPTH = 128

_REFUSED = {
    errno.ENOTDIR: "a directory in the path is not one now (a symlink is never followed)",
    errno.ELOOP: "a directory in the path is a symlink (never followed)",
}


def proc_path(fd: int) -> bytes:
    """The name under which the kernel finds exactly the directory ``fd`` holds."""
    return b"/proc/self/fd/%d" % fd


def join(directory: str, name: str) -> str:
    return directory + "/" + name if directory != "/" else "/" + name


def root_of(path: str, roots: Iterable[str]) -> str | None:
    """The deepest root ``path`` is (or is below, by whole components), or None."""
    best: str | None = None
    for given in roots:
        root = given.rstrip("/") or "/"
        below = path == root or path.startswith(root + "/" if root != "/" else "/")
        if below and (best is None or len(root) > len(best)):
            best = root
    return best


def open_root(root: str) -> int:
    """A configured root: its own path is the administrator's choice, symlinks included."""
    return os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)


def open_below(root: str, path: str, *, cross_devices: bool = False) -> int:
    """An O_PATH fd on the directory ``path``, reached from ``root`` one component at a
    time without following a symlink and (unless ``cross_devices``) without leaving
    ``root``'s device. Raises OutsideRoot when a component is (now) a symlink or not a
    directory, or on another file system, or the path is not plainly below ``root``;
    OSError otherwise (gone, permission denied)."""
    if root_of(path, (root,)) is None:
        raise OutsideRoot(errno.EINVAL, "not below its root")
    rest = path[len(root):].strip("/") if root != "/" else path.strip("/")
    fd = open_root(root)
    try:
        dev = os.fstat(fd).st_dev
        for name in rest.split("/") if rest else ():
            if name in ("", ".", ".."):
                raise OutsideRoot(errno.EINVAL, "not a plain path below its root")
            try:
                child = os.open(name, PATH_FLAGS, dir_fd=fd)
            except OSError as exc:
                why = _REFUSED.get(exc.errno or 0)
                if why is None:
                    raise
                raise OutsideRoot(exc.errno, why) from None
            os.close(fd)
            fd = child
            if not cross_devices and os.fstat(fd).st_dev != dev:
                raise OutsideRoot(errno.EXDEV, "a directory in the path is on another "
                                  "file system")
        return fd
    except BaseException:
        os.close(fd)
        raise


def stat_below(root: str, path: str, *, cross_devices: bool = False) -> os.stat_result:
    """``path``'s lstat, asked of its directory reached by ``open_below``; raises as
    ``open_below`` does, and OSError for the name itself."""
    directory, _, name = path.rpartition("/")
    fd = open_below(root, directory or "/", cross_devices=cross_devices)
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    finally:
        os.close(fd)


def lexists_below(root: str, path: str, *, cross_devices: bool = False) -> bool:
    """Whether a name ``path`` exists below ``root`` (``stat_below``): a path whose
    parent is now a symlink does not exist there. A directory that may not be searched
    answers True (we cannot tell it is gone)."""
    if path == root:
        return os.path.lexists(path)
    try:
        stat_below(root, path, cross_devices=cross_devices)
    except OutsideRoot:
        return False
    except OSError as exc:
        return exc.errno in (errno.EACCES, errno.EPERM)
    return True


def open_child(parent: int, name: str, ino: int, dev: int, *,
               cross_devices: bool = False) -> int:
    """An O_PATH fd on the directory listed in ``parent`` (on device ``dev``) as
    (``name``, ``ino``), or -1 if that name is no longer that directory (replaced, made a
    symlink, gone): the replacement raises its own events in the parent's watch. A mount
    point raises OSError(EXDEV) unless ``cross_devices``."""
    try:
        fd = os.open(name, PATH_FLAGS, dir_fd=parent)
    except OSError:
        return -1
    st = os.fstat(fd)
    if st.st_dev != dev:
        # A mount point: readdir gave the covered directory's inode, not the mounted
        # root's, so there is no inode to compare.
        if cross_devices:
            return fd
        os.close(fd)
        raise OSError(errno.EXDEV, "on another file system than its root", name)
    if st.st_ino != ino:
        os.close(fd)
        return -1
    return fd


def list_subdirs(fd: int) -> list[tuple[str, int]]:
    """(name, inode) of the directories (not symlinks) in the directory ``fd`` holds."""
    listing = os.open(".", LIST_FLAGS, dir_fd=fd)
    try:
        with os.scandir(listing) as it:
            return [(e.name, e.inode()) for e in it if e.is_dir(follow_symlinks=False)]
    finally:
        os.close(listing)
