"""Who may read labelled data: a label's readers, the exempt accounts, and the verdict on
one open. Pure: group membership is asked of a function the caller passes.

``readers = ["user:alice", "group:k17-team", "uid:1001", "gid:2001"]`` on a label names
who may read it; a label without readers is not judged (no unauthorized-access alert).
Root and the configured service accounts (by user, or by the executable that opened the
file: a backup agent, an indexer) are never unauthorized. A process whose credentials
could not be read (it had exited) is not judged either: an alert must name someone.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

from dlpd.model import Actor

# The groups a user belongs to: (user name or None, uid, primary gid or None) -> gids.
GroupsOf = Callable[[str | None, int, int | None], Collection[int]]

_KINDS = ("user", "group", "uid", "gid")


class BadReader(ValueError):
    """A readers entry that is not ``user:NAME``, ``group:NAME``, ``uid:N`` or ``gid:N``."""


@dataclass(frozen=True, slots=True)
class Readers:
    users: frozenset[str] = frozenset()
    uids: frozenset[int] = frozenset()
    groups: frozenset[str] = frozenset()
    gids: frozenset[int] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> Readers:
        found: dict[str, set[str]] = {kind: set() for kind in _KINDS}
        for entry in entries:
            kind, sep, name = entry.partition(":")
            if not sep or kind not in found or not name or name != name.strip():
                raise BadReader(f"{entry!r}: expected user:NAME, group:NAME, uid:N or gid:N")
            if kind in ("uid", "gid") and not name.isdigit():
                raise BadReader(f"{entry!r}: {kind} takes a number")
            found[kind].add(name)
        return cls(users=frozenset(found["user"]), uids=frozenset(map(int, found["uid"])),
                   groups=frozenset(found["group"]), gids=frozenset(map(int, found["gid"])))

    @property
    def configured(self) -> bool:
        return bool(self.users or self.uids or self.groups or self.gids)


@dataclass(frozen=True, slots=True)
class Exemptions:
    """Accounts and programs whose reads are never unauthorized (root always is)."""

    users: frozenset[str] = frozenset()
    uids: frozenset[int] = frozenset()
    executables: frozenset[str] = frozenset()

    def covers(self, actor: Actor) -> bool:
        return (actor.uid == 0 or actor.uid in self.uids
                or (actor.user is not None and actor.user in self.users)
                or (actor.exe is not None and actor.exe in self.executables))


def may_read(actor: Actor, readers: Readers, groups_of: GroupsOf,
             group_ids: Mapping[str, int]) -> bool:
    """Whether ``actor`` is among ``readers`` (``group_ids``: group names resolved)."""
    if actor.uid is None:
        return True  # not judged: see the module docstring
    if actor.uid in readers.uids or (actor.user is not None and actor.user in readers.users):
        return True
    wanted = set(readers.gids) | {group_ids[g] for g in readers.groups if g in group_ids}
    if not wanted:
        return False
    if actor.gid is not None and actor.gid in wanted:
        return True
    return not wanted.isdisjoint(groups_of(actor.user, actor.uid, actor.gid))


def unauthorized(actor: Actor, labels: Iterable[str], readers: Mapping[str, Readers],
                 exemptions: Exemptions, groups_of: GroupsOf,
                 group_ids: Mapping[str, int]) -> tuple[str, ...]:
    """The labels of an opened file that ``actor`` is not among the readers of."""
    if not actor.known or exemptions.covers(actor):
        return ()
    return tuple(label for label in sorted(set(labels))
                 if (r := readers.get(label)) is not None and r.configured
                 and not may_read(actor, r, groups_of, group_ids))
