"""Console accounts, sessions and suppression rules on a real SQLite file and a real
PostgreSQL database."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from dlpd.model import Role
from dlpd.store import console_users as users
from dlpd.store import suppressions
from dlpd.store.db import open_engine, transaction

T0 = 1_700_000_000.0


@pytest.fixture
def engine(store_url: str) -> Iterator[sa.Engine]:
    engine = open_engine(store_url)
    yield engine
    engine.dispose()


def _token(n: int) -> bytes:
    return hashlib.sha256(f"token {n}".encode()).digest()


def test_accounts_are_unique_by_name_and_keep_their_hash(engine: sa.Engine) -> None:
    with transaction(engine) as conn:
        alice = users.add_user(conn, name="alice", role=Role.ANALYST, password_hash="$argon2id$a",
                               created_by="root", now=T0)
        users.add_user(conn, name="bob", role=Role.VIEWER, password_hash="$argon2id$b",
                       created_by="alice", now=T0 + 1)
    with pytest.raises(users.DuplicateUser), transaction(engine) as conn:
        users.add_user(conn, name="alice", role=Role.ADMIN, password_hash="x",
                       created_by="root", now=T0 + 2)
    with transaction(engine) as conn:
        assert users.get_user(conn, "alice") == (alice, "$argon2id$a")
        assert users.get_user(conn, "carol") is None
        assert [u.name for u in users.list_users(conn)] == ["alice", "bob"]
        assert users.set_role(conn, "bob", Role.ADMIN)
        assert not users.set_role(conn, "carol", Role.ADMIN)
        assert users.set_password(conn, "alice", "$argon2id$new", T0 + 5)
        assert not users.set_password(conn, "carol", "h", T0 + 5)
        found = users.get_user(conn, "alice")
        assert found is not None and found[1] == "$argon2id$new"
        assert found[0].password_changed == T0 + 5 and found[0].created == T0
        assert [(u.name, u.role) for u in users.list_users(conn)] == [
            ("alice", Role.ANALYST), ("bob", Role.ADMIN)]


def test_sessions_end_by_time_by_logout_by_disabling_and_by_a_new_password(
        engine: sa.Engine) -> None:
    with transaction(engine) as conn:
        alice = users.add_user(conn, name="alice", role=Role.ANALYST, password_hash="h",
                               created_by="root", now=T0)
        bob = users.add_user(conn, name="bob", role=Role.VIEWER, password_hash="h",
                             created_by="root", now=T0)
        for n, who in ((1, alice), (2, alice), (3, bob), (4, bob)):
            users.create_session(conn, token_hash=_token(n), user_id=who.id, csrf=f"c{n}",
                                 now=T0 + 10, expires=T0 + 100)
    with transaction(engine) as conn:
        live = users.get_session(conn, _token(1), T0 + 20)
        assert live is not None and live.user == alice and live.csrf == "c1"
        assert (live.created, live.expires, live.last_seen) == (T0 + 10, T0 + 100, T0 + 10)
        users.touch_session(conn, _token(1), T0 + 30)
        touched = users.get_session(conn, _token(1), T0 + 31)
        assert touched is not None and touched.last_seen == T0 + 30
        assert users.get_session(conn, _token(1), T0 + 100) is None  # past its hard end
        assert users.get_session(conn, _token(9), T0 + 20) is None
        # A role change applies to a live session at once.
        users.set_role(conn, "bob", Role.ADMIN)
        bobs = users.get_session(conn, _token(3), T0 + 20)
        assert bobs is not None and bobs.user.role is Role.ADMIN
        users.delete_session(conn, _token(3))
        assert users.get_session(conn, _token(3), T0 + 20) is None
        assert users.disable_user(conn, "bob", T0 + 40)
        assert not users.disable_user(conn, "bob", T0 + 41)  # the first time stays
        assert users.get_session(conn, _token(4), T0 + 42) is None
        disabled = users.get_user(conn, "bob")
        assert disabled is not None and disabled[0].disabled == T0 + 40
        users.set_password(conn, "alice", "h2", T0 + 50)
        assert users.get_session(conn, _token(2), T0 + 51) is None
        users.create_session(conn, token_hash=_token(5), user_id=alice.id, csrf="c5",
                             now=T0 + 60, expires=T0 + 70)
        users.create_session(conn, token_hash=_token(6), user_id=alice.id, csrf="c6",
                             now=T0 + 60, expires=T0 + 700)
        assert users.purge_sessions(conn, T0 + 70) == 1
        assert users.get_session(conn, _token(6), T0 + 71) is not None
        left = conn.execute(sa.text("SELECT count(*) FROM console_sessions")).scalar()
        assert left == 1


def test_a_suppression_needs_a_label_an_absolute_prefix_and_an_expiry_ahead(
        engine: sa.Engine) -> None:
    good: dict[str, Any] = {
        "label": "pii", "path_prefix": "/scratch/etl", "rule": None, "owner": "data-eng",
        "reason": "nightly ETL copies", "created_by": "alice", "now": T0,
        "expires": T0 + 7 * 86400}
    for field, value, word in (("expires", T0, "expires"), ("expires", T0 - 1, "expires"),
                               ("label", " ", "label"), ("path_prefix", "scratch", "absolute"),
                               ("owner", "", "owner"), ("reason", "", "reason")):
        with pytest.raises(ValueError, match=word), transaction(engine) as conn:
            suppressions.add(conn, **{**good, field: value})
    with transaction(engine) as conn:
        made = suppressions.add(conn, **good)
        assert suppressions.list_all(conn) == [(made, 0, None)]


def test_suppressions_expire_by_time_alone_and_revoke_once(engine: sa.Engine) -> None:
    odd = os.fsdecode(b"/scratch/caf\xe9")
    with transaction(engine) as conn:
        short = suppressions.add(conn, label="pii", path_prefix=odd, rule="card_numbers",
                                 owner="team", reason="r", created_by="alice", now=T0,
                                 expires=T0 + 100)
        long = suppressions.add(conn, label="hr", path_prefix="/hr/tmp", rule="",
                                owner="team", reason="r", created_by="alice", now=T0,
                                expires=T0 + 1000)
    assert short.path_prefix == odd and short.rule == "card_numbers" and long.rule is None
    with transaction(engine) as conn:
        assert suppressions.in_force(conn, T0 + 50) == [short, long]
        assert suppressions.in_force(conn, T0 + 100) == [long]  # expired: nobody acted
        assert suppressions.revoke(conn, long.id, by="bob", now=T0 + 60)
        assert not suppressions.revoke(conn, long.id, by="carol", now=T0 + 61)
        assert not suppressions.revoke(conn, 999, by="carol", now=T0 + 61)
        assert suppressions.in_force(conn, T0 + 61) == [short]
        revoked = suppressions.get(conn, long.id)
        assert revoked is not None and (revoked.revoked, revoked.revoked_by) == (T0 + 60, "bob")
        assert suppressions.get(conn, short.id) == short  # the prefix's bytes came back


def test_hits_are_one_row_per_alert_stopped_counted_each_time(engine: sa.Engine) -> None:
    odd = os.fsdecode(b"/scratch/x\xff.csv")
    with transaction(engine) as conn:
        rule = suppressions.add(conn, label="pii", path_prefix="/scratch", rule=None,
                                owner="team", reason="r", created_by="alice", now=T0,
                                expires=T0 + 1000)
        other = suppressions.add(conn, label="hr", path_prefix="/scratch", rule=None,
                                 owner="team", reason="r", created_by="alice", now=T0,
                                 expires=T0 + 1000)
        for t in (T0 + 1, T0 + 5, T0 + 3):  # out of order: the last stays the latest
            suppressions.record_hit(conn, rule.id, path="/scratch/a.csv", sha256="aa" * 32,
                                    label="pii", kind="location", now=t)
        suppressions.record_hit(conn, rule.id, path=odd, sha256="aa" * 32, label="pii",
                                kind="location", now=T0 + 4)
        suppressions.record_hit(conn, rule.id, path="/scratch/a.csv", sha256="aa" * 32,
                                label="pii", kind="exposed", now=T0 + 2)
    with engine.connect() as conn:
        assert suppressions.hits(conn, rule.id) == [
            suppressions.SuppressionHit("/scratch/a.csv", "aa" * 32, "pii", "location",
                                        T0 + 1, T0 + 5, 3),
            suppressions.SuppressionHit(odd, "aa" * 32, "pii", "location", T0 + 4, T0 + 4, 1),
            suppressions.SuppressionHit("/scratch/a.csv", "aa" * 32, "pii", "exposed",
                                        T0 + 2, T0 + 2, 1)]
        assert suppressions.hits(conn, rule.id, limit=1)[0].count == 3
        assert suppressions.hits(conn, other.id) == []
        assert suppressions.list_all(conn) == [(other, 0, None), (rule, 3, T0 + 5)]
