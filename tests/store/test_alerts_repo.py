"""Alerts, notes and the outbox on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from dlpd.model import Alert, AlertStatus, Severity
from dlpd.store import alerts as repo
from dlpd.store import db, outbox
from dlpd.store.db import StoreError, open_engine, transaction
from dlpd.store.schema import metadata

SINKS = (repo.SinkRoute("hook"), repo.SinkRoute("siem", Severity.HIGH))


def _draft(path: str = "/home/a/x.dwg", sha: str = "aa" * 32, label: str = "export",
           severity: str = "medium", now: float = 1.0) -> Alert:
    return Alert(id=0, created=now, updated=now, host="h", path=path, sha256=sha, label=label,
                 labels=(label,), categories=("export-control",), rules=("itar_marking",),
                 severity=Severity.parse(severity), reason="label export may only live under /d",
                 provenance="copy of /d/x.dwg", status=AlertStatus.OPEN)


@pytest.fixture
def engine(store_url: str) -> Iterator[sa.Engine]:
    engine = open_engine(store_url)
    yield engine
    engine.dispose()


def test_one_active_alert_per_path_content_label(engine: sa.Engine) -> None:
    with transaction(engine) as conn:
        first = repo.raise_alert(conn, _draft(now=1.0), SINKS)
        again = repo.raise_alert(conn, _draft(now=2.0), SINKS)
        other_label = repo.raise_alert(conn, _draft(label="pii", now=2.0), SINKS)
        changed = repo.raise_alert(conn, _draft(sha="bb" * 32, now=3.0), SINKS)
    assert first is not None and again is None
    assert other_label is not None and changed is not None
    assert first.status is AlertStatus.OPEN and first.provenance == "copy of /d/x.dwg"


def test_resolved_alert_frees_the_key_false_positive_keeps_it(engine: sa.Engine) -> None:
    with transaction(engine) as conn:
        a = repo.raise_alert(conn, _draft(now=1.0), SINKS)
        assert a is not None
        repo.set_status(conn, a.id, AlertStatus.RESOLVED, author="dlpd", note="deleted",
                        now=2.0, sinks=SINKS)
        b = repo.raise_alert(conn, _draft(now=3.0), SINKS)
        assert b is not None and b.id != a.id
        repo.set_status(conn, b.id, AlertStatus.FALSE_POSITIVE, author="eve",
                        note="a drawing of a teapot", now=4.0, sinks=SINKS)
        assert repo.raise_alert(conn, _draft(now=5.0), SINKS) is None
        shown = repo.get(conn, b.id)
    assert shown is not None and shown.status is AlertStatus.FALSE_POSITIVE
    assert [(n.author, n.text, n.status) for n in shown.notes] == [
        ("eve", "a drawing of a teapot", AlertStatus.FALSE_POSITIVE)]


def test_only_from_guards_status_changes(engine: sa.Engine) -> None:
    with transaction(engine) as conn:
        a = repo.raise_alert(conn, _draft(now=1.0), SINKS)
        assert a is not None
        repo.set_status(conn, a.id, AlertStatus.FALSE_POSITIVE, author="eve", note="",
                        now=2.0, sinks=SINKS)
        assert repo.set_status(conn, a.id, AlertStatus.RESOLVED, author="dlpd", note="gone",
                               now=3.0, sinks=SINKS,
                               only_from=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)) is None
        assert repo.set_status(conn, 999, AlertStatus.RESOLVED, author="x", note="",
                               now=3.0, sinks=SINKS) is None


def test_outbox_rows_are_written_with_the_alert_and_follow_min_severity(
        engine: sa.Engine) -> None:
    with transaction(engine) as conn:
        repo.raise_alert(conn, _draft(severity="medium", now=1.0), SINKS)
        repo.raise_alert(conn, _draft(path="/p2", severity="critical", now=1.0), SINKS)
    with transaction(engine) as conn:
        hook = outbox.due(conn, "hook", 10.0)
        siem = outbox.due(conn, "siem", 10.0)
    assert [m.kind for m in hook] == ["alert.created", "alert.created"]
    assert len(siem) == 1 and '"/p2"' in siem[0].body
    assert len({m.msg_id for m in hook}) == 2


def test_outbox_failure_and_delivery_bookkeeping(engine: sa.Engine) -> None:
    with transaction(engine) as conn:
        repo.raise_alert(conn, _draft(now=1.0), SINKS)
        (m,) = outbox.due(conn, "hook", 1.0)
        outbox.mark_failed(conn, m.id, "HTTP 503", retry_at=50.0)
        assert outbox.due(conn, "hook", 10.0) == []
        assert outbox.next_attempt(conn, "hook", "h") == 50.0
        backlog = outbox.backlogs(conn)["hook"]
        assert (backlog.pending, backlog.failing, backlog.last_error) == (1, 1, "HTTP 503")
        (again,) = outbox.due(conn, "hook", 50.0)
        assert again.attempts == 1 and again.body == m.body and again.msg_id == m.msg_id
        outbox.mark_delivered(conn, m.id, 51.0)
        assert "hook" not in outbox.backlogs(conn)


def test_a_failed_transaction_writes_neither_alert_nor_outbox(engine: sa.Engine) -> None:
    with pytest.raises(StoreError), transaction(engine) as conn:
        repo.raise_alert(conn, _draft(now=1.0), SINKS)
        conn.execute(sa.text("SELECT * FROM no_such_table"))
    with transaction(engine) as conn:
        assert repo.query(conn) == []
        assert outbox.due(conn, "hook", 10.0) == []


def test_query_filters(engine: sa.Engine) -> None:
    with transaction(engine) as conn:
        repo.raise_alert(conn, _draft(path="/h/a/1", severity="low", now=10.0), SINKS)
        repo.raise_alert(conn, _draft(path="/h/a/2", severity="high", now=20.0), SINKS)
        repo.raise_alert(conn, _draft(path="/h/ab/3", severity="critical", now=30.0), SINKS)
        high = repo.query(conn, min_severity=Severity.HIGH)
        assert [a.path for a in high] == ["/h/a/2", "/h/ab/3"]
        assert [a.path for a in repo.query(conn, path_prefix="/h/a")] == ["/h/a/1", "/h/a/2"]
        assert [a.path for a in repo.query(conn, since=15.0)] == ["/h/a/2", "/h/ab/3"]
        assert [a.path for a in repo.query(conn, limit=1)] == ["/h/ab/3"]
        assert repo.open_counts(conn) == {"low": 1, "high": 1, "critical": 1}


def test_migrations_build_the_schema_the_code_declares(tmp_path: Path) -> None:
    # A new store is created from schema.py and stamped; the migrations must build the
    # same schema for the stores that are upgraded. Run them all on an empty database.
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.config import Config
    from alembic.migration import MigrationContext

    engine = sa.create_engine(f"sqlite:///{tmp_path}/migrated.db")
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    cfg.attributes["engine"] = engine
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == \
            db.HEAD_REVISION
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == [], f"schema.py and the migrations disagree: {diff}"


def test_a_new_store_is_created_at_the_head_revision(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == \
            db.HEAD_REVISION
        diff = compare_metadata_of(conn)
    assert diff == []


def compare_metadata_of(conn: sa.Connection) -> list[object]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    return list(compare_metadata(MigrationContext.configure(conn), metadata))
