"""The process behind a fanotify event, read from /proc at once (it may exit any moment).

``ActorCache.actor_of(pid)`` reads /proc/PID/stat for the process's start time and
answers from a bounded LRU keyed by (pid, start time), so a reused pid never gets the old
process's actor; on a miss it reads status, exe and cmdline. A process that has exited
(or whose /proc entry cannot be read) is ``Actor(pid)``: unknown.

``uid``/``gid`` are the *real* ids (Uid:/Gid: first field): the user who ran the
program. A setuid program run by bob is bob's read, which is what an investigator asks;
the effective id only says which permission the kernel checked.
Every read is bounded: a cmdline can be megabytes, a comm can hold spaces and parens.
"""

from __future__ import annotations

import os
import pwd
from collections import OrderedDict

from dlpd.watch.events import Actor

CMDLINE_READ = 4096  # bytes of /proc/PID/cmdline read at most
CMDLINE_CHARS = 512  # ...and characters kept
STAT_READ = 4096
STATUS_READ = 16384
CACHE_SIZE = 4096
USERS_CACHE = 1024
_ERRORS = "surrogateescape"


def _read(path: str, limit: int) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(fd, limit)
    finally:
        os.close(fd)


def start_time(stat: bytes) -> int | None:
    """Field 22 (starttime) of /proc/PID/stat. The comm (field 2) is in parens and may
    hold spaces and parens itself: count from after the *last* ')'."""
    close = stat.rfind(b")")
    if close < 0:
        return None
    fields = stat[close + 1:].split()
    # After ")" come fields 3.. : starttime (22) is the 20th of them.
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def parse_status(status: bytes) -> tuple[int | None, int | None, int | None]:
    """(real uid, real gid, ppid) from /proc/PID/status."""
    uid = gid = ppid = None
    for line in status.splitlines():
        key, _, value = line.partition(b":")
        try:
            if key == b"Uid":
                uid = int(value.split()[0])
            elif key == b"Gid":
                gid = int(value.split()[0])
            elif key == b"PPid":
                ppid = int(value.strip())
        except (IndexError, ValueError):
            continue
    return uid, gid, ppid


def format_cmdline(raw: bytes) -> str:
    """NUL-separated arguments -> one line, cut to CMDLINE_CHARS (with "…")."""
    text = raw.rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", _ERRORS)
    cut = len(raw) >= CMDLINE_READ or len(text) > CMDLINE_CHARS
    return text[:CMDLINE_CHARS] + "…" if cut else text


class ActorCache:
    """Actors by (pid, start time); one per watcher, used by its reader thread only."""

    def __init__(self, limit: int = CACHE_SIZE) -> None:
        self.limit = limit
        self._actors: OrderedDict[tuple[int, int], Actor] = OrderedDict()
        self._users: dict[int, str] = {}

    def actor_of(self, pid: int) -> Actor:
        base = f"/proc/{pid}"
        try:
            started = start_time(_read(base + "/stat", STAT_READ))
        except OSError:
            return Actor(pid)
        if started is None:
            return Actor(pid)
        key = (pid, started)
        hit = self._actors.get(key)
        if hit is not None:
            self._actors.move_to_end(key)
            return hit
        actor = self._read(pid, base)
        if actor.known:
            self._actors[key] = actor
            if len(self._actors) > self.limit:
                self._actors.popitem(last=False)
        return actor

    def _read(self, pid: int, base: str) -> Actor:
        try:
            uid, gid, ppid = parse_status(_read(base + "/status", STATUS_READ))
        except OSError:
            return Actor(pid)
        if uid is None:
            return Actor(pid)
        try:
            exe: str | None = os.readlink(base + "/exe")
        except OSError:
            exe = None  # a kernel thread, or exited between the reads
        try:
            raw = _read(base + "/cmdline", CMDLINE_READ)
        except OSError:
            raw = b""
        cmdline = format_cmdline(raw) if raw else None
        return Actor(pid, uid=uid, user=self._user(uid), gid=gid, ppid=ppid, exe=exe,
                     cmdline=cmdline)

    def _user(self, uid: int) -> str | None:
        name = self._users.get(uid)
        if name is not None:
            return name
        try:
            name = pwd.getpwuid(uid).pw_name
        except KeyError:
            return None  # not cached: the account may be created later
        if len(self._users) >= USERS_CACHE:
            self._users.clear()
        self._users[uid] = name
        return name


def actor_of(pid: int) -> Actor:
    """The actor of ``pid`` now, uncached."""
    return ActorCache(0).actor_of(pid)
