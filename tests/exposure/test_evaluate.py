"""The permission check as the kernel makes it, judged for every account class: pure,
with accounts and modes as values (the real-file tests check it against the kernel)."""

from __future__ import annotations

from dlpd.exposure.acl import Acl
from dlpd.exposure.evaluate import evaluate
from dlpd.exposure.model import Accounts, Node, Readers, ReasonKind, User

ALICE, BOB, CAROL, DAVE = 1001, 1002, 1003, 1004
TEAM, LAB = 2000, 3000
ACCOUNTS = Accounts.build(
    [User(0, "root", 0), User(ALICE, "alice", ALICE), User(BOB, "bob", BOB),
     User(CAROL, "carol", CAROL), User(DAVE, "dave", LAB)],
    [(0, "root", ()), (ALICE, "alice", ()), (BOB, "bob", ()), (CAROL, "carol", ()),
     (TEAM, "k17-team", ("alice",)), (LAB, "lab-all", ("alice", "bob"))])
READERS = Readers.resolve(["group:k17-team"], ACCOUNTS)
OPEN_DIRS = (Node(0o40755, 0, 0), Node(0o40755, 0, 0))


def _texts(target: Node, chain: tuple[Node, ...] = OPEN_DIRS,
           readers: Readers = READERS) -> list[str]:
    return [r.text for r in evaluate(target, chain, ACCOUNTS, readers).reasons]


def test_group_readable_by_the_readers_group_is_not_exposed() -> None:
    assert _texts(Node(0o100640, ALICE, TEAM)) == []


def test_other_read_is_world_readable() -> None:
    found = evaluate(Node(0o100644, ALICE, TEAM), OPEN_DIRS, ACCOUNTS, READERS)
    assert [r.text for r in found.reasons] == ["world-readable"]
    assert found.outsiders == 3  # bob, carol, dave; root never counts


def test_a_closed_directory_above_hides_a_world_readable_file() -> None:
    closed = (Node(0o40755, 0, 0), Node(0o40700, ALICE, ALICE))
    assert _texts(Node(0o100644, ALICE, TEAM), closed) == []


def test_a_group_searchable_directory_lets_only_its_group_through() -> None:
    lab_only = (Node(0o40755, 0, 0), Node(0o40750, ALICE, LAB))
    assert _texts(Node(0o100644, ALICE, TEAM), lab_only) == [
        "world-readable (reachable by 2 accounts outside readers)"]  # bob, dave


def test_group_with_outsiders_names_the_group_and_counts_them() -> None:
    assert _texts(Node(0o100640, ALICE, LAB)) == ["group lab-all (2 members outside readers)"]


def test_group_denial_is_final_even_when_other_would_grant() -> None:
    # The kernel stops at the group class: lab-all members are refused, others read.
    found = evaluate(Node(0o100604, ALICE, LAB), OPEN_DIRS, ACCOUNTS, READERS)
    assert [r.text for r in found.reasons] == ["world-readable"]
    assert found.outsiders == 1  # carol only


def test_acl_user_entry_and_the_mask() -> None:
    acl = Acl(user_obj=6, group_obj=4, other=0, mask=4, users=((BOB, 4),))
    assert _texts(Node(0o100640, ALICE, TEAM, acl)) == ["ACL user:bob"]
    masked = Acl(user_obj=6, group_obj=4, other=0, mask=0, users=((BOB, 4),))
    assert _texts(Node(0o100600, ALICE, TEAM, masked)) == []


def test_acl_group_entry_counts_members_outside_readers() -> None:
    acl = Acl(user_obj=6, group_obj=0, other=0, mask=4, groups=((LAB, 4),))
    assert _texts(Node(0o100640, ALICE, TEAM, acl)) == [
        "ACL group:lab-all (2 members outside readers)"]


def test_owner_outside_readers_is_a_reason_whatever_the_owner_bits() -> None:
    assert _texts(Node(0o100040, CAROL, TEAM)) == ["owner carol"]
    assert _texts(Node(0o100640, 0, TEAM)) == []  # root is never counted


def test_a_directory_listing_open_to_outsiders() -> None:
    assert _texts(Node(0o40755, ALICE, TEAM)) == ["world-readable"]
    assert _texts(Node(0o40711, ALICE, TEAM)) == []  # searchable, not listable


def test_world_readable_is_said_even_with_no_account_enumerated() -> None:
    # An LDAP site without enumeration: "anyone" still stands for accounts not listed.
    alone = Accounts.build([User(ALICE, "alice", ALICE)], [(TEAM, "k17-team", ("alice",))])
    found = evaluate(Node(0o100644, ALICE, TEAM), OPEN_DIRS, alone,
                     Readers.resolve(["user:alice"], alone))
    assert [(r.kind, r.text, r.accounts) for r in found.reasons] == [
        (ReasonKind.WORLD, "world-readable", 0)]


def test_unknown_reader_is_a_problem_and_names_nobody() -> None:
    found = evaluate(Node(0o100600, ALICE, ALICE), OPEN_DIRS, ACCOUNTS,
                     Readers.resolve(["user:nosuch"], ACCOUNTS))
    assert [r.text for r in found.reasons] == ["owner alice"]
    assert found.problems == ("reader user:nosuch names no account here",)


def test_large_directory_is_judged_in_classes() -> None:
    # 50,000 accounts in one primary group: one class, not 50,000 checks.
    users = [User(10_000 + n, f"u{n}", 100) for n in range(50_000)]
    big = Accounts.build([*users, User(ALICE, "alice", ALICE)],
                         [(100, "users", ()), (TEAM, "k17-team", ("alice",))])
    found = evaluate(Node(0o100640, ALICE, 100), OPEN_DIRS, big,
                     Readers.resolve(["group:k17-team"], big))
    assert [r.text for r in found.reasons] == ["group users (50000 members outside readers)"]
