"""Who may set and remove labels: a truth table over callers, owners and setters."""

from __future__ import annotations

import pytest

from dlpd.labelling.model import Assignment, Caller
from dlpd.labelling.permissions import may_remove, may_set

ALICE = Caller(uid=1001, gids=(1001,), name="alice")
BOB = Caller(uid=1002, gids=(1002, 500), name="bob")
ROOT = Caller(uid=0, gids=(0,), name="root")
ADMIN_GID = 500


@pytest.mark.parametrize(
    ("caller", "owner", "allowed"),
    [(ALICE, 1001, True), (BOB, 1001, False), (ROOT, 1001, True), (ALICE, 0, False),
     (ROOT, 0, True)],
)
@pytest.mark.parametrize("is_dir", [True, False])
def test_set_only_by_the_owner_or_root(caller: Caller, owner: int, allowed: bool,
                                       is_dir: bool) -> None:
    decision = may_set(caller, owner, is_dir=is_dir, path="/data/k17")
    assert decision.allowed is allowed
    if not allowed:
        assert "/data/k17" in decision.reason and "owner" in decision.reason
        assert ("directory" if is_dir else "file") in decision.reason


def _assignment(set_uid: int, set_by: str) -> Assignment:
    return Assignment(id=1, host="h", path="/data/k17", is_dir=True, label="export-controlled",
                      source="explicit", set_by=set_by, set_uid=set_uid, note="", set_at=0.0)


@pytest.mark.parametrize(
    ("caller", "admin_gid", "allowed"),
    [
        (ALICE, None, True),       # she set it
        (BOB, None, False),        # neither setter nor root, no admin group
        (BOB, ADMIN_GID, True),    # member of the admin group
        (BOB, 999, False),         # an admin group he is not in
        (ROOT, None, True),
        (Caller(uid=1003, gids=(1003,), name="carol"), ADMIN_GID, False),
    ],
)
def test_remove_by_setter_root_or_admin_group(caller: Caller, admin_gid: int | None,
                                              allowed: bool) -> None:
    decision = may_remove(caller, _assignment(1001, "alice"), admin_gid)
    assert decision.allowed is allowed
    if not allowed:
        assert "alice did" in decision.reason and "export-controlled" in decision.reason
