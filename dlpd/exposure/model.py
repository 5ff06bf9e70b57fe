"""The values exposure is judged from and answered with: pure, frozen.

``Node`` is what the kernel's permission check reads of one inode (mode, owner, group,
access ACL); ``Accounts`` a snapshot of the user and group databases indexed by id;
``Readers`` a label's ``readers`` resolved against that snapshot; ``Exposure`` the answer:
who outside the readers can read, and why, one ``Reason`` per way in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from dlpd.exposure.acl import Acl

ROOT_UID = 0


@dataclass(frozen=True, slots=True)
class Node:
    """One file or directory as the permission check sees it."""

    mode: int
    uid: int
    gid: int
    acl: Acl | None = None


@dataclass(frozen=True, slots=True)
class User:
    uid: int
    name: str
    gid: int  # the primary group: a member of it without being listed in it


@dataclass(frozen=True, slots=True)
class Group:
    gid: int
    name: str
    members: frozenset[int]  # uids: listed members and those whose primary group it is


@dataclass(frozen=True, slots=True)
class Accounts:
    """Users by uid and groups by gid (members included), and both by name. Build with
    ``Accounts.build``; ``accounts.py`` reads the system's databases into one."""

    users: Mapping[int, User] = field(default_factory=dict)
    groups: Mapping[int, Group] = field(default_factory=dict)
    user_ids: Mapping[str, int] = field(default_factory=dict)
    group_ids: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, users: Iterable[User],
              groups: Iterable[tuple[int, str, Iterable[str]]]) -> Accounts:
        """From passwd entries and (gid, name, member names) group entries. The first
        entry of a duplicated uid, gid or name wins (as NSS lookups answer); a member
        name without a passwd entry is left out (it has no uid to count)."""
        by_uid: dict[int, User] = {}
        user_ids: dict[str, int] = {}
        for user in users:
            by_uid.setdefault(user.uid, user)
            user_ids.setdefault(user.name, user.uid)
        members: dict[int, set[int]] = {}
        for user in by_uid.values():
            members.setdefault(user.gid, set()).add(user.uid)
        names: dict[int, str] = {}
        group_ids: dict[str, int] = {}
        for gid, name, listed in groups:
            names.setdefault(gid, name)
            group_ids.setdefault(name, gid)
            members.setdefault(gid, set()).update(
                user_ids[m] for m in listed if m in user_ids)
        by_gid = {gid: Group(gid, names.get(gid, f"gid {gid}"), frozenset(uids))
                  for gid, uids in members.items()}
        return cls(MappingProxyType(by_uid), MappingProxyType(by_gid),
                   MappingProxyType(user_ids), MappingProxyType(group_ids))

    def user_name(self, uid: int) -> str:
        user = self.users.get(uid)
        return user.name if user is not None else f"uid {uid}"

    def group_name(self, gid: int) -> str:
        group = self.groups.get(gid)
        return group.name if group is not None else f"gid {gid}"

    def members(self, gid: int) -> frozenset[int]:
        group = self.groups.get(gid)
        return group.members if group is not None else frozenset()

    @property
    def others(self) -> int:
        """How many accounts there are besides root."""
        return len(self.users) - (ROOT_UID in self.users)


@dataclass(frozen=True, slots=True)
class Readers:
    """A label's readers as ids: these users, and every member of these groups.
    ``unknown``: entries naming an account the snapshot does not have (nobody, then)."""

    uids: frozenset[int] = frozenset()
    gids: frozenset[int] = frozenset()
    unknown: tuple[str, ...] = ()

    @classmethod
    def resolve(cls, entries: Iterable[str], accounts: Accounts) -> Readers:
        """``user:NAME``, ``group:NAME``, ``uid:N``, ``gid:N`` (config.is_reader_entry)."""
        uids: set[int] = set()
        gids: set[int] = set()
        unknown: list[str] = []
        for entry in entries:
            kind, _, name = entry.partition(":")
            if kind == "uid":
                uids.add(int(name))
            elif kind == "gid":
                gids.add(int(name))
            elif kind == "user" and name in accounts.user_ids:
                uids.add(accounts.user_ids[name])
            elif kind == "group" and name in accounts.group_ids:
                gids.add(accounts.group_ids[name])
            else:
                unknown.append(entry)
        return cls(frozenset(uids), frozenset(gids), tuple(unknown))

    def includes(self, uid: int, groups: Iterable[int]) -> bool:
        return uid in self.uids or not self.gids.isdisjoint(groups)


class ReasonKind(StrEnum):
    WORLD = "world"          # the "other" permission bits (or ACL entry)
    GROUP = "group"          # the file's group
    ACL_GROUP = "acl-group"  # a named group entry of the ACL
    ACL_USER = "acl-user"    # a named user entry of the ACL
    OWNER = "owner"          # the file's owner is not a reader


@dataclass(frozen=True, slots=True)
class Reason:
    """One way in: ``kind``, the account or group it names (``who``; "" for the world),
    how many accounts outside the readers get in this way (of those the snapshot lists),
    and the sentence for people ("group lab-all (43 members outside readers)")."""

    kind: ReasonKind
    who: str
    accounts: int
    text: str

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind.value, "who": self.who, "accounts": self.accounts,
                "text": self.text}


@dataclass(frozen=True, slots=True)
class Exposure:
    """Who outside the readers can read a path: the reasons (none: not exposed), how many
    listed accounts that is in all, and what could not be judged (an ACL unreadable)."""

    reasons: tuple[Reason, ...] = ()
    outsiders: int = 0
    problems: tuple[str, ...] = ()

    @property
    def is_exposed(self) -> bool:
        return bool(self.reasons)

    @property
    def summary(self) -> str:
        return "; ".join(r.text for r in self.reasons)
