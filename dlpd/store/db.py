"""Engine factory, SQLite pragmas and schema migration (alembic) at open.

The store holds paths, hashes and redacted previews of sensitive files: a SQLite file is
created 0600 whatever the umask (SQLite gives its -wal and -shm files the database
file's mode), and a directory that others can write to is reported (``store_directory
_problem``): whoever can write there can replace the database or plant a WAL file.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, create_engine, event, inspect, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from dlpd.errors import StoreError
from dlpd.textsafe import redact_url

_log = logging.getLogger("dlpd.store")

_MIGRATIONS = Path(__file__).parent / "migrations"
# The newest revision in migrations/versions; a test keeps it equal to alembic's head.
# Knowing it here lets an up-to-date database open without importing alembic (~50 ms).
HEAD_REVISION = "0008"


class NoDatabase(StoreError):
    """``open_engine(create=False)`` found no database file."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers (the CLI) never block the writer (the daemon). NORMAL is crash-safe
    # in WAL mode; only a power loss may drop the last commits, which a rescan restores.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def upsert(conn: Connection, table: Table) -> sqlite.Insert:
    """``INSERT ... ON CONFLICT`` in the connection's dialect (the same API in both
    dialects dlpd targets). One place for the choice; note that the schema's partial
    indexes (``postgresql_where``) load PostgreSQL's dialect module anyway."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql  # noqa: PLC0415

        return cast("sqlite.Insert", postgresql.insert(table))
    return sqlite.insert(table)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


__all__ = ["HEAD_REVISION", "Connection", "Engine", "NoDatabase", "migrate", "open_engine",
           "sqlite_files", "store_directory_problem", "transaction"]


def sqlite_files(url: str) -> list[str]:
    """The files of a SQLite database URL (the database, its WAL, shared memory and
    journal), so that a scan never reads dlpd's own state; none for other databases."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return []
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return []
    db = str(Path(parsed.database or "").resolve())
    return [db, db + "-wal", db + "-shm", db + "-journal", db + ".lock"]


def store_directory_problem(url: str) -> str | None:
    """What is wrong with the SQLite database's directory, if anything: writable by group
    or others, or owned by a user other than us and root (a sticky bit does not help: a
    planted ``-wal`` file would be read as ours)."""
    files = sqlite_files(url)
    if not files:
        return None
    directory = Path(files[0]).parent
    try:
        st = directory.stat()
    except OSError:
        return None  # not there yet: created 0700
    if st.st_uid not in (0, os.geteuid()):
        return f"{directory} is owned by uid {st.st_uid}, who could replace the store"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return (f"{directory} is writable by group or others (mode "
                f"{stat.S_IMODE(st.st_mode):04o}), who could replace the store")
    return None


def open_engine(url: str, *, create: bool = True) -> Engine:
    """Create the engine, make the SQLite directory, and migrate the schema to head.

    ``create=False`` (the CLI's alert and status commands): a missing SQLite file is an
    error rather than created, so that root reading alerts before the service first ran
    does not leave a root-owned database the daemon's user cannot write.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        # The library's message repeats the URL, password included.
        raise StoreError(f"database.url: not a database URL: {redact_url(url)}") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        db_path = Path(parsed.database or "")
        if not create and not db_path.exists():
            raise NoDatabase(f"no database at {db_path} yet: `dlpd run` or `dlpd scan` "
                             "creates it")
        try:
            db_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            _create_private(db_path)
        except OSError as exc:
            raise StoreError(f"cannot create {exc.filename or db_path}: {exc.strerror}") \
                from None
        if create and (problem := store_directory_problem(url)):
            _log.warning("the store's directory is not private: %s", problem)
    try:
        engine = create_engine(parsed)
    except (ArgumentError, ImportError) as exc:  # an unknown dialect or a missing driver
        raise StoreError(f"database.url: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        migrate(engine)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot open the database: {exc.__class__.__name__}: {exc}") from None
    return engine


def _create_private(db_path: Path) -> None:
    """Create an empty database file 0600 (SQLite takes an empty file as a new database)
    unless one exists; never through a symlink planted at the path."""
    try:
        fd = os.open(db_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                     | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def migrate(engine: Engine) -> None:
    """Upgrade to the newest schema; cheap when already there (alembic is not loaded). A
    new, empty database is created from ``schema.py`` and stamped with the head revision
    (Alembic's "create_all, then stamp" for new databases): no migration script is read,
    so a user whose store is new needs nothing of alembic's (a test checks that the
    migrations build the same schema)."""
    if current_revision(engine) == HEAD_REVISION:
        return
    with engine.begin() as conn:
        if not inspect(conn).get_table_names():
            from dlpd.store.schema import metadata  # noqa: PLC0415 - a new store only

            metadata.create_all(conn)
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT "
                              "NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY "
                              "(version_num))"))
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"),
                         {"v": HEAD_REVISION})
            return
    from alembic import command  # noqa: PLC0415 - see HEAD_REVISION
    from alembic.config import Config  # noqa: PLC0415

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["engine"] = engine
    command.upgrade(cfg, "head")


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction; database failures (locked, disk full, read-only) become StoreError."""
    try:
        with engine.begin() as conn:
            yield conn
    except SQLAlchemyError as exc:
        # The driver's own error ("database is locked") says more than SQLAlchemy's wrapper.
        cause = getattr(exc, "orig", None) or exc
        raise StoreError(f"database: {type(cause).__name__}: {cause}") from None
