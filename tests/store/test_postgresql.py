"""What only a shared PostgreSQL database has: its migrations, an operator who upgrades it
(never the daemon that opens it), credentials kept out of every message, and the
least-privilege role the daemons log in as. All on the suite's own server (tests/pg.py).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dlpd.errors import StoreError
from dlpd.model import Alert, AlertStatus, Severity
from dlpd.store import alerts, audit, db
from dlpd.store.db import open_engine, transaction
from dlpd.store.schema import metadata
from tests.pg import PASSWORD_GROUP, PgServer

T0 = 1_700_000_000.0
SECRET = "s3cr3t-Pa55w0rd"


def _alembic_upgrade(engine: sa.Engine, revision: str = "head") -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    cfg.attributes["engine"] = engine
    command.upgrade(cfg, revision)


@pytest.fixture
def bare(pg_url: str) -> Iterator[sa.Engine]:
    """An empty database's engine, nothing created."""
    engine = sa.create_engine(pg_url)
    yield engine
    engine.dispose()


def test_migrations_build_the_schema_the_code_declares(bare: sa.Engine) -> None:
    # The PostgreSQL twin of test_alerts_repo's: 0001..head on an empty database build
    # what schema.py's create_all (a new store) builds.
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    _alembic_upgrade(bare)
    with bare.connect() as conn:
        assert db.current_revision(bare) == db.HEAD_REVISION
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == [], f"schema.py and the migrations disagree on PostgreSQL: {diff}"


@pytest.mark.parametrize("how", ["migrations", "create_all"])
def test_the_audit_table_refuses_update_delete_and_truncate(bare: sa.Engine, how: str) -> None:
    if how == "migrations":
        _alembic_upgrade(bare)
    else:
        db.upgrade(bare)
    with transaction(bare) as conn:
        audit.append(conn, actor="a", action="login", target="a", reason="", details={},
                     now=T0)
    for statement in ("UPDATE audit SET reason = 'x'", "DELETE FROM audit",
                      "TRUNCATE audit"):
        with pytest.raises(StoreError, match="audit is append-only"), \
                transaction(bare) as conn:
            conn.execute(sa.text(statement))
    with bare.connect() as conn:
        assert audit.verify(conn).entries == 1


def test_opening_never_creates_a_shared_database(pg_url: str, bare: sa.Engine) -> None:
    with pytest.raises(db.SchemaNotCurrent, match=r"no dlpd schema yet .*"
                       r"run `dlpd db upgrade --config /etc/dlpd/fs-a.toml`"):
        open_engine(pg_url, fix="dlpd db upgrade --config /etc/dlpd/fs-a.toml")
    with bare.connect() as conn:
        assert sa.inspect(conn).get_table_names() == []
    # Told to (a single host), it does.
    open_engine(pg_url, migrate_mode="auto").dispose()
    assert db.current_revision(bare) == db.HEAD_REVISION


def test_a_database_behind_is_an_error_naming_both_revisions(
        pg_url: str, bare: sa.Engine) -> None:
    _alembic_upgrade(bare, "0006")
    with pytest.raises(db.SchemaNotCurrent) as caught:
        open_engine(pg_url)
    message = str(caught.value)
    assert f"at schema revision 0006, this dlpd needs {db.HEAD_REVISION}" in message
    assert "run `dlpd db upgrade`" in message
    assert db.current_revision(bare) == "0006", "opening must not migrate it"
    before, after = db.upgrade(bare)
    assert (before.revision, after.revision) == ("0006", db.HEAD_REVISION)
    open_engine(pg_url).dispose()


def test_a_revision_newer_than_this_dlpd_is_refused_not_downgraded(
        pg_url: str, bare: sa.Engine) -> None:
    db.upgrade(bare)
    with bare.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(db.SchemaNotCurrent, match=r"9999, which this dlpd .* does not know"):
        open_engine(pg_url)
    with pytest.raises(db.SchemaNotCurrent, match="newer dlpd"):
        db.upgrade(bare)


def test_sqlite_still_migrates_itself_unless_told_not_to(tmp_path: Path) -> None:
    for name in ("auto.db", "never.db"):
        engine = sa.create_engine(f"sqlite:///{tmp_path}/{name}")
        _alembic_upgrade(engine, "0006")
        engine.dispose()
    open_engine(f"sqlite:///{tmp_path}/auto.db").dispose()
    with pytest.raises(db.SchemaNotCurrent, match="at schema revision 0006"):
        open_engine(f"sqlite:///{tmp_path}/never.db", migrate_mode="never")


def _password_role(server: PgServer, database: str, name: str) -> None:
    server.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{SECRET}' IN ROLE {PASSWORD_GROUP}",
                   f"GRANT ALL ON DATABASE {database} TO {name}")
    server.execute(f"GRANT ALL ON SCHEMA public TO {name}", database=database)


def test_the_password_never_appears_in_an_error(pg_server: PgServer, pg_url: str) -> None:
    database = make_url(pg_url).database or ""
    _password_role(pg_server, database, f"{database}_pw")
    right = pg_server.url(database, user=f"{database}_pw", password=SECRET)
    open_engine(right, migrate_mode="auto").dispose()  # the password works
    wrong = pg_server.url(database, user=f"{database}_pw", password=SECRET + "x")
    with pytest.raises(StoreError) as refused:
        open_engine(wrong)
    assert "password authentication failed" in str(refused.value)
    closed = f"postgresql+psycopg://{database}_pw:{SECRET}@127.0.0.1:1/{database}"
    with pytest.raises(StoreError) as unreachable:
        open_engine(closed)
    for message in (str(refused.value), str(unreachable.value)):
        assert SECRET not in message, message
        assert "127.0.0.1" in message
    assert "Connection refused" in str(unreachable.value)


def test_a_password_file_authenticates_and_its_mode_is_checked(
        pg_server: PgServer, pg_url: str, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    database = make_url(pg_url).database or ""
    _password_role(pg_server, database, f"{database}_pf")
    secret = tmp_path / "db-password"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    url = pg_server.url(database, user=f"{database}_pf")
    open_engine(url, migrate_mode="auto", password=db.read_password_file(secret)).dispose()
    assert not caplog.records
    secret.chmod(0o640)
    db.read_password_file(secret)
    assert any("database.password_file" in r.getMessage() and "0640" in r.getMessage()
               for r in caplog.records)
    with pytest.raises(StoreError) as refused:
        open_engine(url, password=SECRET + "-wrong")
    assert SECRET not in str(refused.value)
    secret.write_text("two\nlines\n")
    with pytest.raises(StoreError, match=r"database.password_file: .* alone, on one line"):
        db.read_password_file(secret)


def _draft(path: str) -> Alert:
    return Alert(id=0, created=T0, updated=T0, host="fs-a", path=path, sha256="aa" * 32,
                 label="export", labels=("export",), categories=("export-control",),
                 rules=("itar_marking",), severity=Severity.HIGH, reason="r",
                 provenance=None, status=AlertStatus.OPEN)


# The documented least-privilege setup (dlpd/data/dlpd.toml, [database]), as SQL.
def _least_privilege(server: PgServer, database: str, owner: str, daemon: str) -> None:
    server.execute(f"CREATE ROLE {owner} LOGIN", f"CREATE ROLE {daemon} LOGIN",
                   f"ALTER DATABASE {database} OWNER TO {owner}")
    server.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC",
                   f"ALTER SCHEMA public OWNER TO {owner}",
                   f"GRANT USAGE ON SCHEMA public TO {daemon}", database=database)


def _grants(owner_engine: sa.Engine, daemon: str) -> None:
    with owner_engine.begin() as conn:
        for statement in (
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {daemon}",
                f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {daemon}",
                f"REVOKE UPDATE, DELETE ON audit FROM {daemon}",
                f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {daemon}"):
            conn.execute(sa.text(statement))


def test_the_daemon_role_triages_but_has_no_ddl_and_cannot_touch_the_audit(
        pg_server: PgServer, pg_url: str) -> None:
    database = make_url(pg_url).database or ""
    owner, daemon = f"{database}_owner", f"{database}_daemon"
    _least_privilege(pg_server, database, owner, daemon)
    owner_engine = db.bare_engine(pg_server.url(database, user=owner))
    before, after = db.upgrade(owner_engine)  # `dlpd db upgrade`, as the owner
    assert (before.revision, after.revision) == (None, db.HEAD_REVISION)
    _grants(owner_engine, daemon)
    owner_engine.dispose()

    engine = open_engine(pg_server.url(database, user=daemon))  # at head: opens
    sinks = (alerts.SinkRoute("hook"),)
    with transaction(engine) as conn:
        raised = alerts.raise_alert(conn, _draft("/data/k17/spec.docx"), sinks)
        assert raised is not None
        audit.append(conn, actor="alice", action="ack", target=f"alert {raised.id}",
                     reason="seen", details={}, now=T0 + 1)
        changed = alerts.set_status(conn, raised.id, AlertStatus.ACKNOWLEDGED,
                                    author="alice", note="seen", now=T0 + 1, sinks=sinks)
    assert changed is not None and changed.status is AlertStatus.ACKNOWLEDGED
    refusals = {
        "CREATE TABLE x (id integer)": "permission denied for schema public",
        "DELETE FROM audit": "permission denied for table audit",
        "TRUNCATE audit": "permission denied for table audit",
        "ALTER TABLE alerts ADD COLUMN x integer": "must be owner of table alerts",
        "UPDATE alembic_version SET version_num = '0001'":
            "permission denied for table alembic_version",
    }
    for statement, why in refusals.items():
        with pytest.raises(StoreError, match=why), transaction(engine) as conn:
            conn.execute(sa.text(statement))
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit")).scalar() == 1
    engine.dispose()


def test_two_upgrades_at_once_run_one_after_the_other(pg_url: str) -> None:
    import threading

    results: list[object] = []

    def run() -> None:
        engine = db.bare_engine(pg_url)
        try:
            results.append(db.upgrade(engine)[1].revision)
        except Exception as exc:  # reported by the assertion
            results.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=run, name=f"upgrade-{n}") for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [db.HEAD_REVISION] * 3


def test_libpq_query_parameters_pass_through(pg_url: str) -> None:
    # TLS is libpq's: sslmode and friends reach it untouched (the test server has no TLS,
    # so "require" must fail there and "disable" must work).
    open_engine(pg_url + "?sslmode=disable&application_name=dlpd-test",
                migrate_mode="auto").dispose()
    with pytest.raises(StoreError, match="SSL"):
        open_engine(pg_url + "?sslmode=require")


def test_environment_password_reaches_libpq(pg_server: PgServer, pg_url: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    database = make_url(pg_url).database or ""
    _password_role(pg_server, database, f"{database}_env")
    url = pg_server.url(database, user=f"{database}_env")
    monkeypatch.setenv("PGPASSWORD", SECRET)
    open_engine(url, migrate_mode="auto").dispose()
    monkeypatch.setenv("PGPASSWORD", "wrong")
    with pytest.raises(StoreError, match="password authentication failed"):
        open_engine(url)
    assert os.environ["PGPASSWORD"] == "wrong"


def test_a_server_that_never_answers_is_an_error_within_the_connect_timeout() -> None:
    """A dropped route or a wedged server must not hold the daemon's loop for ever: libpq
    waits without limit unless told (store.db.CONNECT_TIMEOUT)."""
    outcome: list[BaseException] = []

    def connect(port: int) -> None:
        try:
            open_engine(f"postgresql+psycopg://dlpd@127.0.0.1:{port}/dlpd",
                        migrate_mode="never")
        except BaseException as exc:  # whatever it is, the test reads it
            outcome.append(exc)

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nobody ever speaks
        started = time.monotonic()
        waiter = threading.Thread(target=connect, args=(silent.getsockname()[1],),
                                  daemon=True)
        waiter.start()
        waiter.join(db.CONNECT_TIMEOUT * 2 + 5)
        took = time.monotonic() - started
    assert not waiter.is_alive(), f"still connecting after {took:.0f} s"
    assert len(outcome) == 1 and isinstance(outcome[0], StoreError), outcome
