"""The audit trail on a real SQLite file and PostgreSQL database: append-only at the
database, and a hash chain that finds a row changed or removed behind its back."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from dlpd.errors import StoreError
from dlpd.store import audit, db, schema
from dlpd.store.db import open_engine, transaction

T0 = 1_700_000_000.0


@pytest.fixture
def store(store_url: str) -> Iterator[tuple[sa.Engine, str]]:
    engine = open_engine(store_url)
    yield engine, store_url
    engine.dispose()


def _fill(engine: sa.Engine, n: int = 5) -> list[audit.AuditEntry]:
    with transaction(engine) as conn:
        return [audit.append(conn, actor="alice", action="ack", target=f"alert {i}",
                             reason=f"seen <b>{i}</b>\x1b[31m", now=T0 + i + 0.1,
                             details={"alert": i, "from": "open", "nested": {"b": 1, "a": [i]}})
                for i in range(1, n + 1)]


def test_rows_chain_from_genesis_and_verify(store: tuple[sa.Engine, str]) -> None:
    engine, _ = store
    with engine.connect() as conn:
        assert audit.verify(conn) == audit.ChainCheck(True, 0, None, None)
    made = _fill(engine)
    assert made[0].prev_hash == audit.GENESIS and made[0].id == 1
    assert [e.prev_hash for e in made[1:]] == [e.hash for e in made[:-1]]
    with engine.connect() as conn:
        assert audit.verify(conn) == audit.ChainCheck(True, 5, None, None)
        newest = audit.entries(conn, limit=2)
        assert [e.id for e in newest] == [5, 4]
        assert newest[0] == made[4]  # read back exactly as appended (details included)
        assert [e.id for e in audit.entries(conn, before_id=4, limit=10)] == [3, 2, 1]
        assert [e.id for e in audit.entries(conn, target="alert 2")] == [2]
        assert audit.entries(conn, actor="bob") == []


def test_update_and_delete_are_refused_by_the_database(store: tuple[sa.Engine, str]) -> None:
    engine, _ = store
    _fill(engine, 2)
    for statement in ("UPDATE audit SET reason = 'nothing' WHERE id = 1",
                      "DELETE FROM audit WHERE id = 2"):
        with pytest.raises(StoreError, match="audit is append-only"), \
                transaction(engine) as conn:
            conn.execute(sa.text(statement))
    with engine.connect() as conn:
        assert audit.verify(conn).ok


def test_a_fork_is_refused_by_the_unique_prev_hash(store: tuple[sa.Engine, str]) -> None:
    engine, _ = store
    first = _fill(engine, 1)[0]
    with pytest.raises(StoreError, match=r"(?i)unique"), transaction(engine) as conn:
        conn.execute(sa.insert(schema.audit).values(
            id=7, time=T0, actor="x", action="ack", target="t", reason="r", details="{}",
            prev_hash=first.prev_hash, hash="f" * 64))


def _behind_its_back(url: str, *statements: str) -> None:
    """What someone with write access to the file (SQLite), or the database's owner
    (PostgreSQL), could do: drop or disable the triggers first."""
    if url.startswith("sqlite:"):
        raw = sqlite3.connect(sa.make_url(url).database or "")
        with raw:
            raw.execute("DROP TRIGGER audit_no_update")
            raw.execute("DROP TRIGGER audit_no_delete")
            for statement in statements:
                raw.execute(statement)
        raw.close()
        return
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE audit DISABLE TRIGGER USER"))
        for statement in statements:
            conn.execute(sa.text(statement))
    engine.dispose()


def test_verify_finds_a_changed_reason(store: tuple[sa.Engine, str]) -> None:
    engine, path = store
    _fill(engine)
    _behind_its_back(path, "UPDATE audit SET reason = 'fine' WHERE id = 3")
    with engine.connect() as conn:
        check = audit.verify(conn)
    assert (check.ok, check.first_bad, check.entries) == (False, 3, 3)
    assert "changed" in (check.problem or "")


def test_verify_finds_a_changed_time_or_detail(store: tuple[sa.Engine, str]) -> None:
    engine, path = store
    _fill(engine)
    _behind_its_back(path, "UPDATE audit SET time = time + 1e-6 WHERE id = 4")
    with engine.connect() as conn:
        assert audit.verify(conn).first_bad == 4


def test_verify_finds_a_deleted_row(store: tuple[sa.Engine, str]) -> None:
    engine, path = store
    _fill(engine)
    _behind_its_back(path, "DELETE FROM audit WHERE id = 2")
    with engine.connect() as conn:
        check = audit.verify(conn)
    assert (check.ok, check.first_bad) == (False, 3)
    assert "missing" in (check.problem or "")


def test_verify_finds_a_rehashed_row_that_no_longer_chains(
        store: tuple[sa.Engine, str]) -> None:
    # Changing a row and recomputing its own hash still breaks the next row's link.
    engine, path = store
    made = _fill(engine)
    forged = audit._digest(made[1].prev_hash, id=2, time=made[1].time, actor="alice",
                           action="ack", target="alert 2", reason="fine",
                           details=made[1].details)
    _behind_its_back(path, f"UPDATE audit SET reason = 'fine', hash = '{forged}' WHERE id = 2")
    with engine.connect() as conn:
        check = audit.verify(conn)
    assert (check.ok, check.first_bad) == (False, 3)


def test_verify_streams_past_one_chunk(store: tuple[sa.Engine, str]) -> None:
    engine, path = store
    _fill(engine, audit._CHUNK + 5)
    with engine.connect() as conn:
        assert audit.verify(conn) == audit.ChainCheck(True, audit._CHUNK + 5, None, None)
    _behind_its_back(path, f"UPDATE audit SET actor = 'mallory' WHERE id = {audit._CHUNK + 2}")
    with engine.connect() as conn:
        assert audit.verify(conn).first_bad == audit._CHUNK + 2


def test_a_store_upgraded_by_the_migrations_refuses_changes_too(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    engine = sa.create_engine(f"sqlite:///{tmp_path}/migrated.db")
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    cfg.attributes["engine"] = engine
    command.upgrade(cfg, "head")
    with transaction(engine) as conn:
        audit.append(conn, actor="a", action="login", target="a", reason="", details={},
                     now=T0)
    with pytest.raises(StoreError, match="append-only"), transaction(engine) as conn:
        conn.execute(sa.text("DELETE FROM audit"))
    with engine.connect() as conn:
        assert audit.verify(conn).entries == 1
