"""Who opened a labelled file, and may they: the daemon's adapter around
``policy.readers`` (group names and memberships from the account database, cached).

Main thread only. Memberships are cached for ``_TTL`` seconds per user, so a storm of
opens by one worker costs one ``getgrouplist``; a group added to a user shows within
that time.
"""

from __future__ import annotations

import grp
import os
import pwd
import time
from collections.abc import Callable, Collection, Mapping

from dlpd.config import Settings
from dlpd.model import Actor
from dlpd.policy.readers import Exemptions, Readers, unauthorized

_TTL = 300.0
_MAX_CACHED = 4096


class AccessJudge:
    """The labels of an opened file its opener is not among the readers of."""

    def __init__(self, readers: Mapping[str, Readers], exemptions: Exemptions,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._readers = readers
        self._exemptions = exemptions
        self._clock = clock
        self._groups: dict[tuple[str | None, int, int | None], tuple[float, frozenset[int]]] = {}
        self._group_ids: tuple[float, dict[str, int]] | None = None

    @classmethod
    def of(cls, settings: Settings) -> AccessJudge:
        readers = {name: Readers.parse(cfg.readers) for name, cfg in settings.labels.items()}
        access = settings.access
        return cls(readers, Exemptions(users=frozenset(access.exempt_users),
                                       executables=frozenset(access.exempt_executables)))

    @property
    def active(self) -> bool:
        """Whether any label has readers (else nothing is judged)."""
        return any(r.configured for r in self._readers.values())

    def denied(self, actor: Actor, labels: Collection[str]) -> tuple[str, ...]:
        if not self.active:
            return ()
        return unauthorized(actor, labels, self._readers, self._exemptions, self._groups_of,
                            self._names())

    def _names(self) -> dict[str, int]:
        """The gids of the group names the readers mention (unknown names are left out:
        a group created later counts once the cache expires)."""
        now = self._clock()
        if self._group_ids is None or now - self._group_ids[0] > _TTL:
            wanted = {g for r in self._readers.values() for g in r.groups}
            found: dict[str, int] = {}
            for name in wanted:
                try:
                    found[name] = grp.getgrnam(name).gr_gid
                except KeyError:
                    continue
            self._group_ids = (now, found)
        return self._group_ids[1]

    def _groups_of(self, user: str | None, uid: int, gid: int | None) -> frozenset[int]:
        key = (user, uid, gid)
        now = self._clock()
        cached = self._groups.get(key)
        if cached is not None and now - cached[0] <= _TTL:
            return cached[1]
        found: frozenset[int] = frozenset()
        if user is not None:
            try:
                base = gid if gid is not None else pwd.getpwnam(user).pw_gid
                found = frozenset(os.getgrouplist(user, base))
            except (KeyError, OSError):
                found = frozenset()
        if len(self._groups) >= _MAX_CACHED:
            self._groups.clear()
        self._groups[key] = (now, found)
        return found
