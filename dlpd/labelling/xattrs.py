"""The label mirror on the file itself: the ``user.dlpd.labels`` extended attribute.

``cp -a``, ``rsync -X`` and ``tar --xattrs`` carry it, so a copy taken elsewhere still says
what it is. The store stays the system of record: this is a hint, written where the file
system lets us and read as evidence (source ``xattr``), never trusted beyond that. A value
that is too long or holds anything but label names separated by commas reads as nothing.

Unsupported (``ENOTSUP``), refused (``EPERM``, ``EACCES``) or read-only (``EROFS``) is
"not mirrored", never an error of the command that asked. Works on ``O_PATH`` fds too,
through ``/proc/self/fd/N``.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable

from dlpd.dirfd import proc_path
from dlpd.labelling.model import is_label_name

XATTR = "user.dlpd.labels"
MAX_XATTR_BYTES = 1024


def _names(value: bytes) -> tuple[str, ...]:
    if len(value) > MAX_XATTR_BYTES:
        return ()
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        return ()
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not all(is_label_name(n) for n in names):
        return ()
    return tuple(sorted(set(names)))


def read_labels(fd: int) -> tuple[str, ...]:
    """The label names in the xattr of the file ``fd`` holds; () if none or unreadable."""
    try:
        value = os.getxattr(proc_path(fd), XATTR)
    except OSError:
        return ()
    return _names(value)


def encode(labels: Iterable[str]) -> bytes:
    """The xattr's value for ``labels`` (sorted, unique); ValueError if a name is not a
    label name or the value would exceed MAX_XATTR_BYTES."""
    names = sorted(set(labels))
    bad = [n for n in names if not is_label_name(n)]
    if bad:
        raise ValueError(f"not a label name: {bad[0]!r}")
    value = ",".join(names).encode("ascii")
    if len(value) > MAX_XATTR_BYTES:
        raise ValueError(f"labels longer than {MAX_XATTR_BYTES} bytes")
    return value


def write_labels(fd: int, labels: Iterable[str]) -> bool:
    """Set the xattr to ``labels`` (remove it when empty); whether that was done."""
    try:
        value = encode(labels)
    except ValueError:
        return False
    target = proc_path(fd)
    try:
        if value:
            os.setxattr(target, XATTR, value)
        else:
            try:
                os.removexattr(target, XATTR)
            except OSError as exc:
                if exc.errno != errno.ENODATA:
                    raise
    except OSError:
        return False
    return True
