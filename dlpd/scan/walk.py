"""Walk roots through directory descriptors, yielding every non-directory entry with its
lstat (``walk``), or each directory's entries together (``walk_listings``: the scan looks
its cache up one directory at a time).

A user who can write in a scanned tree can swap a directory for a symlink (to ``/etc``)
between our listing it and our entering it. So the walk never resolves a path string: each
directory is opened relative to its parent's descriptor with O_NOFOLLOW|O_DIRECTORY, its
(dev, inode) must be the ones the listing showed, and it must be on the root's file system
unless ``cross_devices``. Only the root, which the administrator named, is opened by path.
No path longer than one name reaches the kernel, so trees deeper than PATH_MAX are walked.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from operator import attrgetter
from typing import NamedTuple

from dlpd.dirfd import DIR_FLAGS, LIST_FLAGS, MAX_DEPTH, OutsideRoot, join, open_below
from dlpd.scan.pathfilter import PathFilter


class Entry(NamedTuple):
    """A walked path: its lstat, or the OSError that prevented reading it. (A tuple: the
    walk makes one per file, at half a dataclass's cost.)"""

    path: str
    lstat: os.stat_result | None
    error: OSError | None = None


@dataclass(frozen=True, slots=True)
class Listing:
    """One directory, read whole: its non-directory entries in name order (an entry whose
    lstat failed carries its error) and the names of the subdirectories the walk goes on
    into (those the path filter prunes are not among them)."""

    path: str
    entries: list[Entry]
    subdirs: frozenset[str]


@dataclass(slots=True)
class _Level:
    fd: int
    path: str
    subdirs: list[tuple[str, os.stat_result]]  # still to enter, last first


def walk(root: str, pathfilter: PathFilter, *, cross_devices: bool = False,
         trusted: str | None = None) -> Iterator[Entry]:
    """Every entry below ``root``, in the order of ``walk_listings``."""
    for item in walk_listings(root, pathfilter, cross_devices=cross_devices, trusted=trusted):
        if isinstance(item, Listing):
            yield from item.entries
        else:
            yield item


def walk_listings(root: str, pathfilter: PathFilter, *, cross_devices: bool = False,
                  trusted: str | None = None) -> Iterator[Listing | Entry]:
    """Depth-first, directories in name order so that output is stable between runs: a
    directory's listing comes before its subdirectories'. A bare Entry is a path that no
    listing holds: ``root`` when it is a file, or a directory that could not be read.

    ``trusted`` is the configured root that ``root`` lies below (a subtree crawl): then
    ``root`` itself is reached from ``trusted`` without following a symlink."""
    if trusted is not None and root != trusted:
        yield from _walk_below(trusted, root, pathfilter, cross_devices)
        return
    try:
        st = os.lstat(root)
    except OSError as exc:
        yield Entry(root, None, exc)
        return
    if not stat.S_ISDIR(st.st_mode):
        if not pathfilter.is_excluded(root):
            yield Entry(root, st)
        return
    try:
        fd = os.open(root, LIST_FLAGS)
    except OSError as exc:
        yield Entry(root, None, exc)
        return
    yield from _walk_from(fd, root, pathfilter, cross_devices)


def _walk_below(trusted: str, start: str, pathfilter: PathFilter,
                cross_devices: bool) -> Iterator[Listing | Entry]:
    try:
        handle = open_below(trusted, start, cross_devices=cross_devices)
    except FileNotFoundError:
        return  # a subtree that came and went (a build's temporary directory): nothing
    except OSError as exc:  # OutsideRoot included
        yield Entry(start, None, exc)
        return
    try:
        fd = os.open(".", LIST_FLAGS, dir_fd=handle)
    except OSError as exc:
        yield Entry(start, None, exc)
        return
    finally:
        os.close(handle)
    yield from _walk_from(fd, start, pathfilter, cross_devices)


def _walk_from(fd: int, root: str, pathfilter: PathFilter,
               cross_devices: bool) -> Iterator[Listing | Entry]:
    """Walk the open directory ``fd`` (named ``root``); takes ownership of ``fd``."""
    device = os.fstat(fd).st_dev
    stack: list[_Level] = []
    try:
        yield from _list(fd, root, pathfilter, stack)
        while stack:
            level = stack[-1]
            if not level.subdirs:
                os.close(level.fd)
                stack.pop()
                continue
            name, listed = level.subdirs.pop()
            path = join(level.path, name)
            try:
                child = _enter(level.fd, name, listed, device, cross_devices, len(stack))
            except OSError as exc:
                yield Entry(path, None, exc)
                continue
            yield from _list(child, path, pathfilter, stack)
    finally:
        for level in stack:
            os.close(level.fd)


def _enter(parent: int, name: str, listed: os.stat_result, device: int,
           cross_devices: bool, depth: int) -> int:
    if depth >= MAX_DEPTH:
        raise OutsideRoot(errno.ELOOP, f"deeper than {MAX_DEPTH} directories: not walked")
    try:
        fd = os.open(name, DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ENOTDIR, errno.ELOOP):
            raise OutsideRoot(exc.errno, "replaced while walking (not a directory now)") from None
        raise
    st = os.fstat(fd)
    if (st.st_dev, st.st_ino) != (listed.st_dev, listed.st_ino):
        os.close(fd)
        raise OutsideRoot(errno.ESTALE, "replaced while walking (another directory now)")
    if st.st_dev != device and not cross_devices:
        os.close(fd)
        raise OutsideRoot(errno.EXDEV, "on another file system: not walked")
    return fd


def _list(fd: int, path: str, pathfilter: PathFilter,
          stack: list[_Level]) -> Iterator[Listing | Entry]:
    """Yield the listing of the open directory ``fd`` and push it with its subdirectories.
    Takes ownership of ``fd``."""
    try:
        with os.scandir(fd) as it:
            entries = sorted(it, key=_name)
    except OSError as exc:
        os.close(fd)
        yield Entry(path, None, exc)
        return
    level = _Level(fd, path, [])
    stack.append(level)
    subdirs = []
    files = []
    prefix = join(path, "")  # a file's path is prefix + name (join, once a directory)
    is_excluded = pathfilter.is_excluded
    for entry in entries:
        child = prefix + entry.name
        try:
            # scandir on a descriptor: stat is fstatat(fd, name, AT_SYMLINK_NOFOLLOW).
            st = entry.stat(follow_symlinks=False)
        except OSError as exc:
            files.append(Entry(child, None, exc))
            continue
        if _is_dir(st.st_mode):
            if not pathfilter.is_pruned(child):
                subdirs.append((entry.name, st))
        elif not is_excluded(child):
            files.append(Entry(child, st))
    level.subdirs = subdirs[::-1]
    yield Listing(path, files, frozenset(name for name, _ in subdirs))


_name = attrgetter("name")
_is_dir = stat.S_ISDIR
