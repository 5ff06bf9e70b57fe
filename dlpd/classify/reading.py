"""Opening and reading one file safely: no symlinks, no FIFOs, bounded reads.

A FIFO handed to a reader blocks forever, and a path can be swapped for a symlink or a
FIFO between ``lstat`` and ``open``: so open with O_NOFOLLOW|O_NONBLOCK and check the
opened thing with ``fstat`` before reading a byte.
"""

from __future__ import annotations

import errno
import os
import stat

from dlpd.model import FileStat

_BASE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
# Reading must not disturb atime (it is evidence); only the owner or root may ask for it.
_NOATIME = getattr(os, "O_NOATIME", 0)


class NotRegular(Exception):
    # A signal, not an error: caught by the classifier only.

    """The path is not a regular file; ``kind`` says what it is."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


_KINDS = (
    (stat.S_ISREG, "regular file"),
    (stat.S_ISLNK, "symlink"),
    (stat.S_ISDIR, "directory"),
    (stat.S_ISFIFO, "fifo"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISCHR, "character device"),
)


def kind_of(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "special file")


def file_stat(st: os.stat_result) -> FileStat:
    return FileStat(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def open_regular(path: str) -> tuple[int, os.stat_result]:
    """Open ``path`` for reading if it is a regular file; raise NotRegular or OSError."""
    try:
        fd = os.open(path, _BASE_FLAGS | _NOATIME)
    except PermissionError:
        if not _NOATIME:
            raise
        fd = os.open(path, _BASE_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotRegular("symlink") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegular(kind_of(st.st_mode))
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def read_upto(fd: int, limit: int) -> bytes:
    """Read at most ``limit`` bytes from the current offset (fewer at end of file)."""
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = os.read(fd, min(left, 16 * 1024 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def is_same_content(before: os.stat_result, after: os.stat_result) -> bool:
    """Whether nothing about the file changed while we read it."""
    return (
        before.st_size == after.st_size
        and before.st_mtime_ns == after.st_mtime_ns
        and before.st_ctime_ns == after.st_ctime_ns
    )
