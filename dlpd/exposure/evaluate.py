"""Who outside a label's readers can read a path, and why: pure.

What is modelled is the kernel's own POSIX permission check (``generic_permission`` and
``posix_acl_permission``), applied to every account the user database lists:

- the owner is judged by the owner bits alone; a named ACL user entry by its bits under
  the mask; then the group class (the owning group and named ACL groups, under the mask:
  if the account is in any of them, one must grant, and "other" is not consulted even if
  it would); else the "other" bits;
- to open a path, an account must also search (x) every directory from ``/`` down to it:
  a world-readable file in a 0700 directory is readable only by that directory's owner;
- for a directory itself, "read" is listing its names.

What is not modelled: capabilities (CAP_DAC_READ_SEARCH, CAP_DAC_OVERRIDE: whoever holds
them reads everything, as root does, and root is never counted), NFSv4 or SMB ACLs
enforced by a server, SELinux/AppArmor (which only ever take access away), other paths to
the same inode (a hard link or a bind mount in a more open directory), file descriptors
already open, and group memberships the user database does not list (a process's
supplementary groups come from its login, usually from the same database).

The file's owner outside the readers is a reason of its own (``owner NAME``), whatever
the owner bits say: an owner may ``chmod`` at will, so a file owned by someone not on
the list is in that person's hands already. An owner who is a reader (or root) is not.

Accounts are judged in classes, not one by one: only the uids this path names (owners,
ACL users, readers) and membership in the groups it names (owning groups, ACL groups,
reader groups) can change the answer, so every account that shares those is judged once.
Everyone else is "anyone": an account the path names nowhere, which also stands for
accounts created later and accounts an LDAP directory does not enumerate. Cost: the
members of the named groups, once; then one check per class and directory.
"""

from __future__ import annotations

from collections.abc import Sequence

from dlpd.exposure.acl import EXECUTE, READ
from dlpd.exposure.model import (
    ROOT_UID,
    Accounts,
    Exposure,
    Node,
    Readers,
    Reason,
    ReasonKind,
)

# A way in: (kind, the uid or gid it names; 0 for the world).
Grant = tuple[ReasonKind, int]
# An account class: its uid where the path names it (else None), its groups among those
# the path names.
Principal = tuple[int | None, frozenset[int]]

_ORDER = (ReasonKind.WORLD, ReasonKind.GROUP, ReasonKind.ACL_GROUP, ReasonKind.ACL_USER,
          ReasonKind.OWNER)


def grants(node: Node, uid: int | None, groups: frozenset[int], want: int) -> tuple[Grant, ...]:
    """The entries of ``node`` that give ``want`` to an account (``uid``, ``groups``);
    empty when the kernel would refuse it. ``uid`` None: an account ``node`` names nowhere."""
    acl = node.acl
    if uid is not None and uid == node.uid:
        owner = acl.user_obj if acl is not None else node.mode >> 6
        return ((ReasonKind.OWNER, uid),) if owner & want == want else ()
    if acl is None:
        if node.gid in groups:
            return ((ReasonKind.GROUP, node.gid),) if (node.mode >> 3) & want == want else ()
        return ((ReasonKind.WORLD, 0),) if node.mode & want == want else ()
    mask = acl.effective_mask
    for named, perm in acl.users:
        if named == uid:
            return ((ReasonKind.ACL_USER, named),) if perm & mask & want == want else ()
    matched = False
    found: list[Grant] = []
    if node.gid in groups:
        matched = True
        if acl.group_obj & mask & want == want:
            found.append((ReasonKind.GROUP, node.gid))
    for named, perm in acl.groups:
        if named in groups:
            matched = True
            if perm & mask & want == want:
                found.append((ReasonKind.ACL_GROUP, named))
    if matched:
        return tuple(found)
    return ((ReasonKind.WORLD, 0),) if acl.other & want == want else ()


def _named(nodes: Sequence[Node], readers: Readers) -> tuple[set[int], set[int]]:
    uids = {n.uid for n in nodes} | set(readers.uids)
    gids = {n.gid for n in nodes} | set(readers.gids)
    for node in nodes:
        if node.acl is not None:
            uids.update(uid for uid, _ in node.acl.users)
            gids.update(gid for gid, _ in node.acl.groups)
    return uids, gids


def _classes(nodes: Sequence[Node], accounts: Accounts,
             readers: Readers) -> tuple[dict[Principal, int], int]:
    """Account classes outside the readers with how many accounts each holds, and how
    many accounts are "anyone" (named nowhere)."""
    uids, gids = _named(nodes, readers)
    groups_of: dict[int, set[int]] = {uid: set() for uid in uids}
    for gid in gids:
        for member in accounts.members(gid):
            groups_of.setdefault(member, set()).add(gid)
    classes: dict[Principal, int] = {}
    listed = 0
    for uid, groups in groups_of.items():
        if uid == ROOT_UID:
            continue
        listed += uid in accounts.users
        if readers.includes(uid, groups):
            continue
        principal = (uid if uid in uids else None, frozenset(groups))
        classes[principal] = classes.get(principal, 0) + 1
    return classes, accounts.others - listed


def evaluate(target: Node, chain: Sequence[Node], accounts: Accounts, readers: Readers,
             ) -> Exposure:
    """The exposure of ``target`` (a file, or a directory: then its listing), reached
    through the directories ``chain`` (from ``/`` down to its parent)."""
    nodes = (*chain, target)
    classes, anyone = _classes(nodes, accounts, readers)
    nobody: Principal = (None, frozenset())
    tally: dict[Grant, int] = {}
    outsiders = 0
    anyone_reads = False
    for (uid, groups), count in [*classes.items(), (nobody, anyone)]:
        if not all(grants(d, uid, groups, EXECUTE) for d in chain):
            continue
        ways = set(grants(target, uid, groups, READ))
        if uid is not None and uid == target.uid:
            ways.add((ReasonKind.OWNER, uid))  # an owner may chmod: see the docstring
        if not ways:
            continue
        outsiders += count
        if (uid, groups) == nobody and (ReasonKind.WORLD, 0) in ways:
            anyone_reads = True
        for way in ways:
            tally[way] = tally.get(way, 0) + count
    reasons = [_reason(way, n, accounts, anyone_reads) for way, n in tally.items()
               if n or (way[0] is ReasonKind.WORLD and anyone_reads)]
    reasons.sort(key=lambda r: (_ORDER.index(r.kind), r.who))
    return Exposure(tuple(reasons), outsiders, _unknown(readers))


def _unknown(readers: Readers) -> tuple[str, ...]:
    return tuple(f"reader {entry} names no account here" for entry in readers.unknown)


def _reason(way: Grant, count: int, accounts: Accounts, anyone_reads: bool) -> Reason:
    kind, ident = way
    if kind is ReasonKind.WORLD:
        text = ("world-readable" if anyone_reads else
                f"world-readable (reachable by {_accounts(count)} outside readers)")
        return Reason(kind, "", count, text)
    if kind is ReasonKind.OWNER:
        name = accounts.user_name(ident)
        return Reason(kind, name, count, f"owner {name}")
    if kind is ReasonKind.ACL_USER:
        name = accounts.user_name(ident)
        return Reason(kind, name, count, f"ACL user:{name}")
    name = accounts.group_name(ident)
    prefix = "group " if kind is ReasonKind.GROUP else "ACL group:"
    return Reason(kind, name, count,
                  f"{prefix}{name} ({_members(count)} outside readers)")


def _accounts(count: int) -> str:
    return f"{count} account" + ("" if count == 1 else "s")


def _members(count: int) -> str:
    return f"{count} member" + ("" if count == 1 else "s")

