"""Who may read labelled data (policy.readers): readers by user, uid, group and gid
(resolved as exposure resolves them), root and the exempt accounts, and a process that is
gone is not judged. Pure."""

from __future__ import annotations

import pytest

from dlpd.exposure.model import Accounts, Readers, User
from dlpd.model import Actor
from dlpd.policy.readers import Exemptions, unauthorized

USERS = [User(1001, "alice", 100), User(1002, "bob", 100), User(1003, "carol", 100),
         User(1004, "erin", 2500), User(1005, "dave", 100), User(1006, "mallory", 100)]
ACCOUNTS = Accounts.build(USERS, [(2017, "k17-team", ["carol"]), (3000, "lab-all", ["dave"]),
                                  (2500, "k17-guests", [])])
K17 = Readers.resolve(["user:alice", "uid:1002", "group:k17-team", "gid:2500"], ACCOUNTS)
PII = Readers.resolve(["group:lab-all"], ACCOUNTS)


def member_of(uid: int) -> frozenset[int]:
    return frozenset(g.gid for g in ACCOUNTS.groups.values() if uid in g.members)


def actor(user: str, uid: int, exe: str = "/usr/bin/cat") -> Actor:
    return Actor(pid=4242, uid=uid, user=user, gid=100, ppid=1, exe=exe, cmdline="cat f")


@pytest.mark.parametrize(("user", "uid", "denied"), [
    ("alice", 1001, ()),      # by name
    ("bob", 1002, ()),        # by uid
    ("carol", 1003, ()),      # a member of k17-team
    ("erin", 1004, ()),       # primary group 2500, by gid
    ("dave", 1005, ("export-controlled",)),  # only in lab-all
    ("mallory", 1006, ("export-controlled", "pii")),
])
def test_readers_by_user_uid_group_and_gid(user: str, uid: int,
                                           denied: tuple[str, ...]) -> None:
    readers = {"export-controlled": K17, "pii": PII}
    labels = ("pii", "export-controlled", "public")  # "public" has no readers: not judged
    if user in ("alice", "bob", "carol", "erin"):
        labels = ("export-controlled", "public")
    assert unauthorized(actor(user, uid), labels, readers, Exemptions(),
                        member_of(uid)) == denied


def test_root_exempt_accounts_and_gone_processes_are_not_judged() -> None:
    readers = {"export-controlled": K17}
    exempt = Exemptions(users=frozenset({"backup"}), executables=frozenset({"/usr/bin/restic"}))
    for who in (actor("root", 0), actor("backup", 995),
                actor("mallory", 1006, exe="/usr/bin/restic"),
                Actor(pid=99)):  # exited before /proc was read: an alert must name someone
        assert unauthorized(who, ("export-controlled",), readers, exempt, frozenset()) == ()
    # The exemption is by exact executable path, not by name.
    assert unauthorized(actor("mallory", 1006, exe="/tmp/restic"), ("export-controlled",),
                        readers, exempt, frozenset()) == ("export-controlled",)
