"""Who opened a labelled file, and may they: the daemon's adapter around
``policy.readers``, on the accounts snapshot exposure uses (``exposure.accounts``, read
again every few minutes, so a storm of opens by one worker costs no lookup at all).

Main thread only.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from dlpd.config import Settings
from dlpd.dirfd import root_of
from dlpd.exposure.accounts import AccountsCache
from dlpd.exposure.check import judge
from dlpd.exposure.model import Accounts, Readers
from dlpd.exposure.reading import examine
from dlpd.model import Actor
from dlpd.policy.readers import Exemptions, unauthorized


class AccessJudge:
    """The labels of an opened file its opener is not among the readers of."""

    def __init__(self, entries: Mapping[str, tuple[str, ...]], exemptions: Exemptions,
                 accounts: AccountsCache | None = None) -> None:
        # Labels without readers are not judged at all.
        self._entries = {label: e for label, e in entries.items() if e}
        # Every entry at once, as the snapshot is asked for it (once, not per open).
        self._all_entries = frozenset(e for es in self._entries.values() for e in es)
        self._exemptions = exemptions
        self.accounts = accounts if accounts is not None else AccountsCache()
        self._resolved: tuple[Accounts, dict[str, Readers]] | None = None
        self._memberships: dict[int, frozenset[int]] = {}

    @classmethod
    def of(cls, settings: Settings, accounts: AccountsCache | None = None) -> AccessJudge:
        access = settings.access
        return cls({name: cfg.readers for name, cfg in settings.labels.items()},
                   Exemptions(users=frozenset(access.exempt_users),
                              executables=frozenset(access.exempt_executables)), accounts)

    def readers(self, label: str) -> tuple[str, ...]:
        """``label``'s readers entries (empty: not judged)."""
        return self._entries.get(label, ())

    def denied(self, actor: Actor, labels: Collection[str]) -> tuple[str, ...]:
        if not self._entries or actor.uid is None:
            return ()
        snapshot = self.accounts.get(self._all_entries)
        if self._resolved is None or self._resolved[0] is not snapshot:
            self._resolved = (snapshot, {label: Readers.resolve(entries, snapshot)
                                         for label, entries in self._entries.items()})
            self._memberships.clear()
        return unauthorized(actor, labels, self._resolved[1], self._exemptions,
                            self._groups(snapshot, actor.uid, actor.gid))

    def _groups(self, accounts: Accounts, uid: int, gid: int | None) -> frozenset[int]:
        """The groups ``uid`` belongs to in the snapshot, and the process's own gid."""
        found = self._memberships.get(uid)
        if found is None:
            found = frozenset(g.gid for g in accounts.groups.values() if uid in g.members)
            self._memberships[uid] = found
        return found | ({gid} if gid is not None else frozenset())


class ExposureCheck:
    """Who outside a label's readers can read a watched file now: asked after every read
    of a labelled file and on its attribute events (chmod, chown, setfacl)."""

    def __init__(self, judge: AccessJudge, roots: Sequence[str], cross_devices: bool) -> None:
        self._judge = judge
        self._roots = tuple(roots)
        self._cross_devices = cross_devices

    def reasons(self, path: str, labels: Collection[str]) -> dict[str, list[str]]:
        """For each of ``labels`` with readers, the ways in for outsiders (empty: none).
        The file and its directories are read once for all labels; nothing is judged when
        ``path`` cannot be examined (gone, replaced by a symlink, outside the roots)."""
        judged = {label: entries for label in labels
                  if (entries := self._judge.readers(label))}
        root = root_of(path, self._roots) if judged else None
        if root is None:
            return {}
        try:
            examined = examine(root, path, cross_devices=self._cross_devices)
        except OSError:
            return {}
        snapshot = self._judge.accounts.get(e for es in judged.values() for e in es)
        return {label: [r.text for r in judge(examined, entries, snapshot).reasons]
                for label, entries in judged.items()}
