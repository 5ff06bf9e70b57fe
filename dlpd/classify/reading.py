"""Opening and reading one file safely: no symlinks, no FIFOs, no way out, bounded reads.

A FIFO handed to a reader blocks forever, and a path can be swapped for a symlink or a
FIFO between ``lstat`` and ``open``: so open with O_NOFOLLOW|O_NONBLOCK and check the
opened thing with ``fstat`` before reading a byte.

O_NOFOLLOW guards only the last component: a user who swaps a parent directory for a
symlink to ``/etc`` for a few milliseconds would have a path-based open read root-only
files under a watched name. So a file under a root is opened from the root down, one
component at a time, each directory with O_NOFOLLOW|O_DIRECTORY relative to its parent's
descriptor and on the root's device (``open_beneath``, through ``dlpd.dirfd``). No path
string longer than one name reaches the kernel, so paths past PATH_MAX are opened too.
"""

from __future__ import annotations

import errno
import os
import stat

from dlpd.dirfd import OutsideRoot, open_below
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
    return FileStat(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                    uid=st.st_uid, gid=st.st_gid)


def open_beneath(root: str, path: str, *, cross_devices: bool = False,
                 ) -> tuple[int, os.stat_result]:
    """Open the regular file ``path``, which lies below ``root``, from ``root`` down (see
    the module docstring); raise OutsideRoot, NotRegular or OSError."""
    top = root.rstrip("/") or "/"
    if path == top:
        return open_regular(path)
    directory, _, name = path.rpartition("/")
    dir_fd = open_below(top, directory or "/", cross_devices=cross_devices)
    try:
        fd, st = open_regular(name, dir_fd=dir_fd)
        if not cross_devices and st.st_dev != os.fstat(dir_fd).st_dev:
            os.close(fd)
            raise OutsideRoot(errno.EXDEV, "the file is on another file system")
        return fd, st
    finally:
        os.close(dir_fd)


def open_regular(path: str, *, dir_fd: int | None = None) -> tuple[int, os.stat_result]:
    """Open ``path`` (relative to ``dir_fd`` if given) for reading if it is a regular file;
    raise NotRegular or OSError."""
    try:
        fd = os.open(path, _BASE_FLAGS | _NOATIME, dir_fd=dir_fd)
    except PermissionError:
        if not _NOATIME:
            raise
        fd = os.open(path, _BASE_FLAGS, dir_fd=dir_fd)
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


def read_upto(fd: int, limit: int, expect: int | None = None) -> bytes:
    """Read at most ``limit`` bytes from the current offset (fewer at end of file).

    ``expect`` (the size fstat gave) sizes the first read: ``os.read(fd, n)`` allocates
    ``n`` bytes before it knows how many come, and asking every small file for the whole
    limit (32 MiB) cost 40 MB of peak RSS over /usr/share/doc in glibc's heap. A file
    that grew past ``expect`` is read on in steps, and joined."""
    step = 16 * 1024 * 1024
    chunks: list[bytes] = []
    left = limit
    want = min(left, expect + 1 if expect is not None else step)
    while left > 0:
        chunk = os.read(fd, want)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
        want = min(left, step)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def is_same_content(before: os.stat_result, after: os.stat_result) -> bool:
    """Whether nothing about the file changed while we read it."""
    return (
        before.st_size == after.st_size
        and before.st_mtime_ns == after.st_mtime_ns
        and before.st_ctime_ns == after.st_ctime_ns
    )
