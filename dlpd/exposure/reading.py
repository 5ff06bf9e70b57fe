"""A path's permissions and those of every directory above it, read through descriptors.

Below a watched root, every directory is opened ``O_PATH|O_NOFOLLOW`` relative to its
parent (as ``dirfd.open_below`` does), and so is the path itself: a user who swaps a
directory for a symlink cannot make us describe another file. Above the root we go up
with ``..`` from the root's own descriptor to ``/`` (the administrator chose the root;
``..`` of a symlinked root is its real parent, which is the way every user comes in).
Nothing is opened for reading, so nothing here raises an access event.

Each node's ``system.posix_acl_access`` is read through ``/proc/self/fd/N`` (an
``O_PATH`` descriptor cannot be passed to ``fgetxattr``): ENODATA is "no ACL",
EOPNOTSUPP a file system without POSIX ACLs; an ACL that cannot be read or parsed is
reported as a problem and the node is judged by its mode bits alone.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass

from dlpd.dirfd import MAX_DEPTH, PATH_FLAGS, OutsideRoot, open_root, proc_path, root_of
from dlpd.exposure import acl as acl_format
from dlpd.exposure.model import Node

# The path itself: a file or a directory, never a symlink followed.
_TARGET_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
_NO_ACL = {errno.ENODATA, errno.EOPNOTSUPP, errno.ENOTSUP}


@dataclass(frozen=True, slots=True)
class Examined:
    """What the permission check of ``path`` reads: the path itself (``target``), the
    directories from ``/`` down to its parent (``chain``), and what could not be read."""

    target: Node
    chain: tuple[Node, ...]
    is_dir: bool
    problems: tuple[str, ...] = ()


def examine(root: str, path: str, *, cross_devices: bool = False) -> Examined:
    """Read ``path`` (at or below ``root``) and its directories. Raises OutsideRoot (a
    symlink, a non-directory where a directory was, another file system, not below the
    root, not a file or directory) or OSError (gone, not permitted)."""
    top = root.rstrip("/") or "/"
    if root_of(path, (top,)) is None:
        raise OutsideRoot(errno.EINVAL, "not below its root")
    rest = path[len(top):].strip("/")
    names = rest.split("/") if rest else []
    if len(names) > MAX_DEPTH or any(n in ("", ".", "..") for n in names):
        raise OutsideRoot(errno.EINVAL, "not a plain path below its root")
    problems: list[str] = []
    fd = open_root(top)
    try:
        chain = _above(fd, problems)
        dev = os.fstat(fd).st_dev
        for depth, name in enumerate(names):
            last = depth == len(names) - 1
            try:
                child = os.open(name, _TARGET_FLAGS if last else PATH_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ENOTDIR, errno.ELOOP):
                    raise OutsideRoot(exc.errno, "a directory in the path is not one now "
                                      "(a symlink is never followed)") from None
                raise
            chain.append(_node(fd, problems))
            os.close(fd)
            fd = child
            if not cross_devices and os.fstat(fd).st_dev != dev:
                raise OutsideRoot(errno.EXDEV, "on another file system than its root")
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise OutsideRoot(errno.EINVAL, "neither a file nor a directory")
        return Examined(_node(fd, problems), tuple(chain), stat.S_ISDIR(mode),
                        tuple(problems))
    finally:
        os.close(fd)


def _above(fd: int, problems: list[str]) -> list[Node]:
    """The directories above the one ``fd`` holds, from ``/`` down (``..`` to the top:
    the process's root, where ``..`` is itself)."""
    found: list[Node] = []
    current = os.open(".", PATH_FLAGS, dir_fd=fd)
    try:
        for _ in range(MAX_DEPTH):
            here = os.fstat(current)
            parent = os.open("..", PATH_FLAGS, dir_fd=current)
            there = os.fstat(parent)
            os.close(current)
            current = parent
            if (there.st_dev, there.st_ino) == (here.st_dev, here.st_ino):
                break
            found.append(_node(current, problems))
    finally:
        os.close(current)
    found.reverse()
    return found


def _node(fd: int, problems: list[str]) -> Node:
    st = os.fstat(fd)
    return Node(st.st_mode, st.st_uid, st.st_gid, read_acl(fd, problems))


def read_acl(fd: int, problems: list[str], name: str = acl_format.ACCESS_XATTR,
             ) -> acl_format.Acl | None:
    """The ACL of the file ``fd`` holds (None: none); a problem noted if unreadable."""
    try:
        value = os.getxattr(proc_path(fd), name)
    except OSError as exc:
        if exc.errno not in _NO_ACL:
            problems.append(f"{_where(fd)}: ACL not read ({exc.strerror})")
        return None
    parsed = acl_format.parse(value)
    if isinstance(parsed, acl_format.Malformed):
        problems.append(f"{_where(fd)}: ACL not read ({parsed.reason})")
        return None
    return parsed


def _where(fd: int) -> str:
    try:
        return os.fsdecode(os.readlink(proc_path(fd)))
    except OSError:
        return "a directory"
