"""Engine factory and schema migration (alembic) at open; the SQLite file itself (made
private, its pragmas) is ``store.sqlite_file``'s.

A shared database (PostgreSQL, many daemons) is never migrated by whoever opens it first
unless ``[database] migrate = "auto"`` says so: a database behind this dlpd's head is an
error naming both revisions and ``dlpd db upgrade``, which an operator runs as the role
that owns the schema (the daemons' role has no DDL). SQLite, one daemon's own file, is
migrated at open as it always was.

The URL's password and the password file's are secrets: every message this module
raises shows the URL redacted and has the password cut out of the driver's words.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from sqlalchemy import Connection, Engine, Table, create_engine, event, inspect, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from dlpd.errors import StoreError
from dlpd.store.revision import HEAD_REVISION, MIGRATIONS, SchemaState
from dlpd.store.sql import CoreSql
from dlpd.store.sqlite_file import (
    NoDatabase,
    apply_pragmas,
    prepare_sqlite_file,
    sqlite_files,
    store_directory_problem,
)
from dlpd.textsafe import redact_url

if TYPE_CHECKING:
    from dlpd.config import Settings

_log = logging.getLogger("dlpd.store")

# Seconds a connection to a database server may take (libpq's connect_timeout; a URL's
# own ?connect_timeout= wins).
CONNECT_TIMEOUT = 10


MigrateMode = Literal["auto", "never"]
# Serialises migrations of one PostgreSQL database (two `dlpd db upgrade`, or daemons with
# migrate = "auto", started at once); an arbitrary constant: "dlpd" in ASCII.
_MIGRATION_LOCK = 0x646C7064


class SchemaNotCurrent(StoreError):
    """The database is not at this dlpd's head revision and may not be migrated here."""


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


__all__ = ["HEAD_REVISION", "Connection", "Engine", "EngineStore", "MigrateMode", "NoDatabase",
           "SchemaNotCurrent", "SchemaState", "bare_engine", "migrate", "open_engine",
           "open_store", "open_unchecked", "read_password_file", "require_head", "schema_state",
           "sqlite_files", "store_directory_problem", "transaction", "upgrade"]


def open_store(settings: Settings, *, create: bool = True) -> Engine:
    """``open_engine`` as the configuration says: its URL, ``migrate`` mode and password
    file; ``dlpd db upgrade --config <the file>`` in the message of a database behind."""
    url, password = _configured(settings)
    fix = "dlpd db upgrade" + (f" --config {settings.source}" if settings.source else "")
    return open_engine(url, create=create, migrate_mode=settings.database.migrate,
                       password=password, fix=fix)


def open_unchecked(settings: Settings, *, create: bool = True) -> Engine:
    """The configured database without looking at its schema (``dlpd db``)."""
    url, password = _configured(settings)
    return bare_engine(url, create=create, password=password)


def _configured(settings: Settings) -> tuple[str, str | None]:
    from dlpd.config import database_url  # noqa: PLC0415 - config is loaded by then

    database = settings.database
    return database_url(settings), (read_password_file(database.password_file)
                                    if database.password_file else None)


def open_engine(url: str, *, create: bool = True, migrate_mode: MigrateMode | None = None,
                password: str | None = None, fix: str = "dlpd db upgrade") -> Engine:
    """Create the engine, make the SQLite directory, and bring the schema to head.

    ``create=False`` (the CLI's alert and status commands): a missing SQLite file is an
    error rather than created, so that root reading alerts before the service first ran
    does not leave a root-owned database the daemon's user cannot write.

    ``migrate_mode``: ``"auto"`` upgrades (or creates) the schema; ``"never"`` raises
    ``SchemaNotCurrent`` naming ``fix`` unless the database is at head. None: auto for
    SQLite, never for a shared database. ``password`` (a password file's) overrides the
    URL's.
    """
    engine = bare_engine(url, create=create, password=password)
    is_sqlite = engine.dialect.name == "sqlite"
    try:
        if (migrate_mode or ("auto" if is_sqlite else "never")) == "auto":
            migrate(engine)
        else:
            require_head(engine, fix)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"cannot open the database {redact_url(url)}: "
                         f"{describe_error(engine, exc)}") from None
    except StoreError:
        engine.dispose()
        raise
    return engine


def bare_engine(url: str, *, create: bool = True, password: str | None = None) -> Engine:
    """The engine, without looking at its schema (``dlpd db``); a SQLite file is made
    private (or, ``create=False``, must exist) as in ``open_engine``."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        # The library's message repeats the URL, password included.
        raise StoreError(f"database.url: not a database URL: {redact_url(url)}") from None
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite and parsed.database not in (None, "", ":memory:"):
        prepare_sqlite_file(url, Path(parsed.database or ""), create=create)
    if password is not None:
        if is_sqlite:
            raise StoreError("database.password_file: set, but the database is SQLite")
        # In the URL object, not connect_args: SQLAlchemy hides it in every repr, and
        # describe_error finds it there to cut it out of the driver's messages.
        parsed = parsed.set(password=password)
    options: dict[str, Any] = {}
    if not is_sqlite:
        # A server that does not answer at all (a dropped route, not a refusal) would
        # otherwise hold a connect forever, and the daemon's loop with it: libpq waits
        # without limit by default. pre_ping: a pooled connection the server closed (a
        # restart) is replaced before use instead of failing the next write.
        options["pool_pre_ping"] = True
        if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
            options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
    try:
        engine = create_engine(parsed, **options)
    except (ArgumentError, ImportError) as exc:  # an unknown dialect or a missing driver
        hint = " (pip install 'dlpd[postgresql]')" if parsed.get_backend_name() == \
            "postgresql" else ""
        raise StoreError(f"database.url: {_scrub(str(exc), parsed)}{hint}") from None
    if is_sqlite:
        event.listen(engine, "connect", apply_pragmas)
    return engine


def read_password_file(path: Path) -> str:
    """``[database] password_file``: the file holds the password alone (a final newline
    is not part of it). Readable by group or others is worth a warning, not a refusal
    (the operator may have a reason; the log says which key to look at)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            data = f.read(4097)
    except OSError as exc:
        raise StoreError(f"database.password_file: cannot read {path}: "
                         f"{exc.strerror or exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        _log.warning("database.password_file: %s is readable by group or others (mode "
                     "%04o); make it 0600 or 0400", path, stat.S_IMODE(mode))
    try:
        password = data.decode("utf-8").removesuffix("\n").removesuffix("\r")
    except UnicodeDecodeError:
        raise StoreError(f"database.password_file: {path} is not UTF-8 text") from None
    if len(data) > 4096 or not password or "\n" in password:
        raise StoreError(f"database.password_file: {path} must hold the password alone, "
                         "on one line")
    return password


def describe_error(engine: Engine, exc: BaseException) -> str:
    """A database error in the driver's own words ("connection refused", "password
    authentication failed"), with the password cut out wherever the driver repeated it."""
    cause = getattr(exc, "orig", None) or exc
    return _scrub(f"{type(cause).__name__}: {cause}", engine.url)


def _scrub(message: str, url: URL) -> str:
    if url.password:
        message = message.replace(str(url.password), "***")
    return message


def schema_state(engine: Engine) -> SchemaState:
    try:
        return SchemaState(current_revision(engine))
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the database {_where(engine)}: "
                         f"{describe_error(engine, exc)}") from None


def _where(engine: Engine) -> str:
    return redact_url(engine.url.render_as_string(hide_password=True))


def require_head(engine: Engine, fix: str = "dlpd db upgrade") -> None:
    """``SchemaNotCurrent`` unless the schema is at head, saying what to run."""
    state = schema_state(engine)
    if state.is_current:
        return
    where = _where(engine)
    if state.revision is None:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
        if tables:
            raise SchemaNotCurrent(f"the database {where} has tables but no dlpd schema "
                                   "revision (alembic_version): not a dlpd database?")
        raise SchemaNotCurrent(f"the database {where} has no dlpd schema yet (this dlpd "
                               f"needs revision {state.head}): run `{fix}`")
    if state.is_behind:
        raise SchemaNotCurrent(f"the database {where} is at schema revision "
                               f"{state.revision}, this dlpd needs {state.head}: run `{fix}`")
    raise SchemaNotCurrent(f"the database {where} is at schema revision {state.revision}, "
                           f"which this dlpd (head {state.head}) does not know: a newer "
                           "dlpd upgraded it; install that version here too")


def upgrade(engine: Engine) -> tuple[SchemaState, SchemaState]:
    """``dlpd db upgrade``: create or migrate the schema to head; (before, after). A
    revision newer than this dlpd's head is refused, never "downgraded" by accident."""
    before = schema_state(engine)
    if not before.is_current and not before.is_behind:
        require_head(engine)  # raises, saying a newer dlpd upgraded it
    try:
        migrate(engine)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot upgrade the database: {describe_error(engine, exc)}") \
            from None
    return before, schema_state(engine)


def migrate(engine: Engine) -> None:
    """Upgrade to the newest schema; cheap when already there (alembic is not loaded). A
    new, empty database is created from ``schema.py`` and stamped with the head revision
    (Alembic's "create_all, then stamp" for new databases): no migration script is read,
    so a user whose store is new needs nothing of alembic's (a test checks that the
    migrations build the same schema). On PostgreSQL an advisory lock makes two
    migrations of one database run one after the other (the second finds it done)."""
    if current_revision(engine) == HEAD_REVISION:
        return
    if engine.dialect.name != "postgresql":
        _migrate_now(engine)
        return
    with engine.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
        try:
            if current_revision(engine) != HEAD_REVISION:
                _migrate_now(engine)
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
            lock.commit()


def _migrate_now(engine: Engine) -> None:
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
    cfg.set_main_option("script_location", str(MIGRATIONS))
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
        raise StoreError(f"database: {describe_error(engine, exc)}") from None


class EngineStore:
    """``store.sql.Transactions`` on an engine: each transaction's connection as
    ``CoreSql``, for the code that runs on either store (the scan)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[CoreSql]:
        with transaction(self.engine) as conn:
            yield CoreSql(conn)
