"""The kernel side of dlpd's fanotify reader: the ABI, libc calls, a pure event parser,
and the directory-handle -> path cache.

libc is called through plain ctypes calls (no callbacks: MemoryDenyWriteExecute, as in
``inotify_c.py``). The parser trusts nothing in the buffer: every length is checked
against what was read, and a record that does not fit ends the batch as ``malformed``,
which the reader turns into an OVERFLOW (reconcile), never an exception.
What the records mean as events is ``fanotify.py``'s job.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import struct
from collections import OrderedDict
from dataclasses import dataclass

# <linux/fanotify.h>: fanotify_init flags
FAN_CLOEXEC = 0x00000001
FAN_NONBLOCK = 0x00000002
FAN_CLASS_NOTIF = 0x00000000
FAN_REPORT_FID = 0x00000200
FAN_REPORT_DIR_FID = 0x00000400
FAN_REPORT_NAME = 0x00000800
FAN_REPORT_TARGET_FID = 0x00001000
FAN_REPORT_DFID_NAME = FAN_REPORT_DIR_FID | FAN_REPORT_NAME
# Parent fid + name with every event, the child's own fid too (5.17, with FAN_RENAME):
# the fid of a new or renamed directory primes the path cache for free.
FAN_REPORT_DFID_NAME_TARGET = FAN_REPORT_DFID_NAME | FAN_REPORT_FID | FAN_REPORT_TARGET_FID
INIT_FLAGS = FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME_TARGET
EVENT_F_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_LARGEFILE

# fanotify_mark flags
FAN_MARK_ADD = 0x00000001
FAN_MARK_FILESYSTEM = 0x00000100
AT_FDCWD = -100

# event masks
FAN_ACCESS = 0x00000001
FAN_MODIFY = 0x00000002
FAN_ATTRIB = 0x00000004
FAN_CLOSE_WRITE = 0x00000008
FAN_CLOSE_NOWRITE = 0x00000010
FAN_OPEN = 0x00000020
FAN_MOVED_FROM = 0x00000040
FAN_MOVED_TO = 0x00000080
FAN_CREATE = 0x00000100
FAN_DELETE = 0x00000200
FAN_DELETE_SELF = 0x00000400
FAN_MOVE_SELF = 0x00000800
FAN_Q_OVERFLOW = 0x00004000
FAN_ONDIR = 0x40000000
FAN_RENAME = 0x10000000

# No FAN_MODIFY (one event per write(); CLOSE_WRITE says when to scan) and no
# MOVED_FROM/TO: FAN_RENAME carries both ends of a rename in one event.
LEAN_MASK = FAN_CREATE | FAN_DELETE | FAN_RENAME | FAN_CLOSE_WRITE | FAN_ATTRIB | FAN_ONDIR

FANOTIFY_METADATA_VERSION = 3
FAN_NOFD = -1
METADATA = struct.Struct("=IBBHQii")  # event_len, vers, reserved, metadata_len, mask, fd, pid
INFO_HEADER = struct.Struct("=BBH")  # info_type, pad, len
FSID = struct.Struct("=II")  # __kernel_fsid_t val[2]
HANDLE_HEADER = struct.Struct("=Ii")  # struct file_handle: handle_bytes, handle_type
MAX_HANDLE_SZ = 128

FAN_EVENT_INFO_TYPE_FID = 1
FAN_EVENT_INFO_TYPE_DFID_NAME = 2
FAN_EVENT_INFO_TYPE_DFID = 3
FAN_EVENT_INFO_TYPE_PIDFD = 4
FAN_EVENT_INFO_TYPE_ERROR = 5
FAN_EVENT_INFO_TYPE_OLD_DFID_NAME = 10
FAN_EVENT_INFO_TYPE_NEW_DFID_NAME = 12
_FID_TYPES = frozenset({FAN_EVENT_INFO_TYPE_FID, FAN_EVENT_INFO_TYPE_DFID})
_NAMED_TYPES = frozenset({FAN_EVENT_INFO_TYPE_DFID_NAME, FAN_EVENT_INFO_TYPE_OLD_DFID_NAME,
                          FAN_EVENT_INFO_TYPE_NEW_DFID_NAME})
_SKIPPED_TYPES = frozenset({FAN_EVENT_INFO_TYPE_PIDFD, FAN_EVENT_INFO_TYPE_ERROR})

CAP_DAC_READ_SEARCH = 2
CAP_SYS_ADMIN = 21
STATUS_READ = 16384
MAX_CLIMB = 128  # directories climbed to name one past PATH_MAX (dirfd.MAX_DEPTH)
MAX_QUEUE_SYSCTL = "/proc/sys/fs/fanotify/max_queued_events"


# ---- the parser (pure) ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FidRecord:
    """One fid info record: which file system (``fsid``), which object (``handle``), and
    for the named types the entry name in that directory (``"."``: the directory itself)."""

    info_type: int
    fsid: int  # val[0] | val[1] << 32, as statvfs().f_fsid gives it
    handle_type: int
    handle: bytes
    name: bytes | None = None

    @property
    def key(self) -> tuple[int, int, bytes]:
        return self.fsid, self.handle_type, self.handle


@dataclass(frozen=True, slots=True)
class RawEvent:
    mask: int
    pid: int
    fd: int  # FAN_NOFD in FID mode; anything else is closed by the reader
    records: tuple[FidRecord, ...] = ()

    def record(self, info_type: int) -> FidRecord | None:
        return next((r for r in self.records if r.info_type == info_type), None)


def parse_events(data: bytes) -> tuple[list[RawEvent], bool]:
    """The events in one read() buffer, and whether the buffer was malformed (a length
    that does not fit, an unknown version, a name with a slash): parsing stops there
    and the caller reconciles. Never raises on any input."""
    events: list[RawEvent] = []
    off, end = 0, len(data)
    head = METADATA.size
    while off < end:
        if end - off < head:
            return events, True
        event_len, vers, _, meta_len, mask, fd, pid = METADATA.unpack_from(data, off)
        if (vers != FANOTIFY_METADATA_VERSION or meta_len < head or event_len < meta_len
                or event_len > end - off):
            return events, True
        records = _parse_records(data, off + meta_len, off + event_len)
        if records is None:
            # Report the fd (if any) so that it is closed, then stop.
            if fd >= 0:
                events.append(RawEvent(mask, pid, fd))
            return events, True
        events.append(RawEvent(mask, pid, fd, records))
        off += event_len
    return events, False


def _parse_records(data: bytes, off: int, end: int) -> tuple[FidRecord, ...] | None:
    records: list[FidRecord] = []
    hsize = INFO_HEADER.size
    while off < end:
        if end - off < hsize:
            return None
        info_type, _, length = INFO_HEADER.unpack_from(data, off)
        if length < hsize or length > end - off:
            return None
        if info_type in _FID_TYPES or info_type in _NAMED_TYPES:
            record = _parse_fid(data, off + hsize, off + length, info_type)
            if record is None:
                return None
            records.append(record)
        elif info_type not in _SKIPPED_TYPES:
            return None  # a type we did not ask for: the ABI is not what we think
        off += length
    return tuple(records)


def _parse_fid(data: bytes, off: int, end: int, info_type: int) -> FidRecord | None:
    if end - off < FSID.size + HANDLE_HEADER.size:
        return None
    lo, hi = FSID.unpack_from(data, off)
    off += FSID.size
    handle_bytes, handle_type = HANDLE_HEADER.unpack_from(data, off)
    off += HANDLE_HEADER.size
    if handle_bytes > MAX_HANDLE_SZ or handle_bytes > end - off:
        return None
    handle = data[off:off + handle_bytes]
    off += handle_bytes
    name: bytes | None = None
    if info_type in _NAMED_TYPES:
        nul = data.find(b"\0", off, end)
        if nul <= off:  # no terminator inside the record, or an empty name
            return None
        name = data[off:nul]
        if b"/" in name or name == b"..":
            return None
    return FidRecord(info_type, lo | hi << 32, handle_type, handle, name)


# ---- libc ------------------------------------------------------------------------------

@functools.cache
def libc() -> ctypes.CDLL:
    lib = ctypes.CDLL(None, use_errno=True)
    lib.fanotify_init.argtypes = [ctypes.c_uint, ctypes.c_uint]
    lib.fanotify_init.restype = ctypes.c_int
    lib.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int,
                                  ctypes.c_char_p]
    lib.fanotify_mark.restype = ctypes.c_int
    lib.open_by_handle_at.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.open_by_handle_at.restype = ctypes.c_int
    return lib


def fanotify_init(flags: int = INIT_FLAGS) -> int:
    """A new fanotify group's fd; OSError with the kernel's errno when refused (EPERM:
    no CAP_SYS_ADMIN; EINVAL: a flag this kernel does not know)."""
    fd = int(libc().fanotify_init(flags, EVENT_F_FLAGS))
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return fd


def mark_filesystem(group: int, mask: int, dirfd: int) -> None:
    """Mark the whole file system that holds the object ``dirfd`` refers to (an O_PATH
    fd: reached through its /proc/self/fd magic link, as inotify watches are)."""
    path = b"/proc/self/fd/%d" % dirfd
    if libc().fanotify_mark(group, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, AT_FDCWD,
                            path) < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def can_run() -> tuple[bool, str]:
    """Whether this process can run the fanotify reader, and why (for the start-up log
    line). Unprivileged processes may create FID groups (5.13) but not mark a file
    system (CAP_SYS_ADMIN) nor open handles (CAP_DAC_READ_SEARCH): both are checked,
    then a group with the FID flags is created and closed again."""
    missing = [name for name, bit in (("CAP_SYS_ADMIN", CAP_SYS_ADMIN),
                                      ("CAP_DAC_READ_SEARCH", CAP_DAC_READ_SEARCH))
               if not _has_capability(bit)]
    if missing:
        return False, "no " + " and no ".join(missing)
    try:
        os.close(fanotify_init())
    except AttributeError:
        return False, "no fanotify in this libc"
    except OSError as exc:
        if exc.errno == errno.EPERM:
            return False, "no CAP_SYS_ADMIN"
        if exc.errno == errno.EINVAL:
            return False, "kernel without FID reporting and FAN_RENAME (needs 5.17)"
        return False, f"fanotify_init: {exc.strerror}"
    return True, f"CAP_SYS_ADMIN and FID reporting (kernel {os.uname().release})"


def _has_capability(bit: int) -> bool:
    """Whether ``bit`` is in this process's effective capabilities (CapEff)."""
    try:
        with open("/proc/self/status", "rb") as f:
            status = f.read(STATUS_READ)
    except OSError:
        return os.geteuid() == 0
    for line in status.splitlines():
        if line.startswith(b"CapEff:"):
            try:
                return bool(int(line.split()[1], 16) >> bit & 1)
            except (IndexError, ValueError):
                return False
    return False


# ---- directory handles -> paths ------------------------------------------------------------

HandleKey = tuple[int, int, bytes]


class DirPaths:
    """Directory handle -> (path, verdict), a bounded LRU. ``verdict`` is whatever the
    reader computed for the path (inside the roots and not pruned); it is cached with
    the path so that an event in a known directory costs one dict lookup.

    A miss opens the handle (``open_by_handle_at``, O_PATH, needs CAP_DAC_READ_SEARCH)
    on the file system's mount fd and reads the path back from /proc/self/fd. The path
    is accepted only if it names the very inode opened (a rename racing the lookup, a
    bind mount that does not reach it, a deleted directory give None)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.mounts: dict[int, int] = {}  # fsid -> an fd on that file system
        self._paths: OrderedDict[HandleKey, tuple[str, bool]] = OrderedDict()
        self.misses = 0

    def __len__(self) -> int:
        return len(self._paths)

    def get(self, key: HandleKey) -> tuple[str, bool] | None:
        hit = self._paths.get(key)
        if hit is not None:
            self._paths.move_to_end(key)
        return hit

    def put(self, key: HandleKey, path: str, verdict: bool) -> None:
        self._paths[key] = (path, verdict)
        self._paths.move_to_end(key)
        if len(self._paths) > self.limit:
            self._paths.popitem(last=False)

    def clear(self) -> None:
        """A directory was renamed: every cached path below it is stale. Cheaper in the
        worst case than finding them (an attacker can rename in a loop)."""
        self._paths.clear()

    def open_path(self, key: HandleKey) -> str | None:
        """The current path of the directory ``key`` names, or None."""
        fsid, handle_type, handle = key
        mount = self.mounts.get(fsid)
        if mount is None:
            return None
        self.misses += 1
        buf = HANDLE_HEADER.pack(len(handle), handle_type) + handle
        fd = libc().open_by_handle_at(mount, buf, os.O_PATH | os.O_CLOEXEC)
        if fd < 0:
            return None  # ESTALE: deleted since the event; its parent's event says so
        try:
            return _path_of(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        for fd in self.mounts.values():
            os.close(fd)
        self.mounts.clear()
        self._paths.clear()


def _path_of(fd: int) -> str | None:
    """The path naming exactly the inode ``fd`` holds now, or None (deleted, renamed
    meanwhile, unreachable from this mount)."""
    try:
        st = os.fstat(fd)
        if st.st_nlink == 0:
            return None
        path = os.readlink(f"/proc/self/fd/{fd}")
        seen = os.lstat(path) if path.startswith("/") else None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            return _long_path_of(fd)
        return None
    if seen is None or (seen.st_dev, seen.st_ino) != (st.st_dev, st.st_ino):
        return None
    return path


def _long_path_of(fd: int) -> str | None:
    """A directory whose path is longer than the kernel prints (PATH_MAX): climb ``..``
    until an ancestor's path can be read, naming each step by finding its inode in the
    parent's listing. A user can nest directories that deep to hide in them."""
    names: list[str] = []
    child = os.dup(fd)
    try:
        for _ in range(MAX_CLIMB):
            ino = os.fstat(child).st_ino
            parent = os.open("..", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=child)
            os.close(child)
            child = parent
            listing = os.open(f"/proc/self/fd/{parent}", os.O_RDONLY | os.O_DIRECTORY
                              | os.O_CLOEXEC)
            try:
                with os.scandir(listing) as entries:
                    name = next((e.name for e in entries if e.inode() == ino), None)
            finally:
                os.close(listing)
            if name is None:
                return None
            names.append(name)
            try:
                top = os.readlink(f"/proc/self/fd/{parent}")
            except OSError as exc:
                if exc.errno == errno.ENAMETOOLONG:
                    continue
                return None
            if not top.startswith("/"):
                return None
            return "/".join([top.rstrip("/"), *reversed(names)])
        return None
    except OSError:
        return None
    finally:
        os.close(child)


def fsid_of(fd: int) -> int:
    return int(os.fstatvfs(fd).f_fsid)
