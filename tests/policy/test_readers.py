"""Who may read labelled data (policy.readers): readers by user, uid, group and gid,
root and the exempt accounts, and a process that is gone is not judged. Pure."""

from __future__ import annotations

from collections.abc import Collection

import pytest

from dlpd.model import Actor
from dlpd.policy.readers import BadReader, Exemptions, Readers, may_read, unauthorized

GROUP_IDS = {"k17-team": 2017, "lab-all": 3000}
MEMBERS = {"carol": {2017}, "dave": {3000}}


def groups_of(user: str | None, _uid: int, _gid: int | None) -> Collection[int]:
    return MEMBERS.get(user or "", set())


def actor(user: str, uid: int, gid: int = 100, exe: str = "/usr/bin/cat") -> Actor:
    return Actor(pid=4242, uid=uid, user=user, gid=gid, ppid=1, exe=exe, cmdline="cat f")


K17 = Readers.parse(["user:alice", "uid:1002", "group:k17-team", "gid:2500"])


@pytest.mark.parametrize(("who", "allowed"), [
    (actor("alice", 1001), True),      # by name
    (actor("bob", 1002), True),        # by uid
    (actor("carol", 1003), True),      # a member of k17-team
    (actor("erin", 1004, gid=2500), True),  # primary group by gid
    (actor("dave", 1005), False),      # only in lab-all
    (actor("mallory", 1006), False),
])
def test_readers_by_user_uid_group_and_gid(who: Actor, allowed: bool) -> None:
    assert may_read(who, K17, groups_of, GROUP_IDS) is allowed


def test_the_verdict_names_the_labels_not_read_by_their_readers() -> None:
    readers = {"export-controlled": K17, "pii": Readers.parse(["group:lab-all"]),
               "public": Readers()}
    labels = ("public", "pii", "export-controlled")
    assert unauthorized(actor("dave", 1005), labels, readers, Exemptions(), groups_of,
                        GROUP_IDS) == ("export-controlled",)
    assert unauthorized(actor("mallory", 1006), labels, readers, Exemptions(), groups_of,
                        GROUP_IDS) == ("export-controlled", "pii")
    # A label without readers is not judged; a label with none configured neither.
    assert unauthorized(actor("mallory", 1006), ("public", "other"), readers, Exemptions(),
                        groups_of, GROUP_IDS) == ()


def test_root_exempt_accounts_and_gone_processes_are_not_judged() -> None:
    readers = {"export-controlled": K17}
    exempt = Exemptions(users=frozenset({"backup"}),
                        executables=frozenset({"/usr/bin/restic"}))
    judged = [
        actor("root", 0),
        actor("backup", 995),
        actor("mallory", 1006, exe="/usr/bin/restic"),
        Actor(pid=99),  # exited before /proc was read: an alert must name someone
    ]
    for who in judged:
        assert unauthorized(who, ("export-controlled",), readers, exempt, groups_of,
                            GROUP_IDS) == ()
    # The exemption is by exact executable path, not by name.
    assert unauthorized(actor("mallory", 1006, exe="/tmp/restic"), ("export-controlled",),
                        readers, exempt, groups_of, GROUP_IDS) == ("export-controlled",)


@pytest.mark.parametrize("entry", ["alice", "user:", "role:admin", "uid:12a", " user:x",
                                   "group: k17"])
def test_a_bad_reader_entry_is_refused(entry: str) -> None:
    with pytest.raises(BadReader):
        Readers.parse([entry])
