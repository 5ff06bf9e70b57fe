"""The user and group databases as one ``Accounts`` snapshot: the only reader of pwd/grp
for exposure.

A snapshot enumerates every entry once (``pwd.getpwall()``, ``grp.getgrall()``) and
indexes them by id: an institute directory of 50,000 accounts takes a second or two
through NSS, so one evaluation run reads it once, and the daemon keeps it for
``refresh`` seconds (``AccountsCache``) instead of per event.

LDAP and SSSD sites often turn enumeration off (sssd ``enumerate = false``, the default):
``getpwall()`` then lists local accounts only. Names asked for by a label's ``readers``
are looked up one by one (``getpwnam``/``getgrnam``) and added, so readers still resolve;
but the counts of group members and of accounts outside the readers are then of the
accounts listed, and a directory account is judged as "anyone" unless a group the path
names lists it. A world-readable path is reported either way: "anyone" stands for every
account the path does not name.
"""

from __future__ import annotations

import grp
import pwd
import time
from collections.abc import Callable, Iterable

from dlpd.exposure.model import Accounts, User


def load(reader_entries: Iterable[str] = ()) -> Accounts:
    """A snapshot of the databases, plus the accounts ``reader_entries`` name by name
    that enumeration did not list."""
    users = {p.pw_name: User(p.pw_uid, p.pw_name, p.pw_gid) for p in pwd.getpwall()}
    groups = {g.gr_name: (g.gr_gid, g.gr_name, tuple(g.gr_mem)) for g in grp.getgrall()}
    for entry in reader_entries:
        kind, _, name = entry.partition(":")
        try:
            if kind == "user" and name not in users:
                p = pwd.getpwnam(name)
                users[name] = User(p.pw_uid, p.pw_name, p.pw_gid)
            elif kind == "group" and name not in groups:
                g = grp.getgrnam(name)
                groups[name] = (g.gr_gid, g.gr_name, tuple(g.gr_mem))
                for member in g.gr_mem:
                    if member not in users:
                        m = pwd.getpwnam(member)
                        users[member] = User(m.pw_uid, m.pw_name, m.pw_gid)
        except KeyError:
            continue  # no such account (yet): the reader names nobody
    return Accounts.build(users.values(), groups.values())


class AccountsCache:
    """One snapshot, read again when it is older than ``refresh`` seconds or when asked
    for readers it was not built with. Used from one thread (the daemon's main loop)."""

    def __init__(self, refresh: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._refresh = refresh
        self._clock = clock
        self._snapshot: Accounts | None = None
        self._taken = 0.0
        self._entries: frozenset[str] = frozenset()

    def get(self, reader_entries: Iterable[str] = ()) -> Accounts:
        wanted = frozenset(reader_entries)
        now = self._clock()
        stale = self._snapshot is None or now - self._taken >= self._refresh
        if stale or not wanted <= self._entries:
            self._entries = wanted | (frozenset() if stale else self._entries)
            self._snapshot = load(sorted(self._entries))
            self._taken = now
        assert self._snapshot is not None
        return self._snapshot
