"""Engine factory, SQLite pragmas and schema migration (alembic) at open."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from dlpd.errors import StoreError

_MIGRATIONS = Path(__file__).parent / "migrations"
# The newest revision in migrations/versions; a test keeps it equal to alembic's head.
# Knowing it here lets an up-to-date database open without importing alembic (~50 ms).
HEAD_REVISION = "0003"


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


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


__all__ = ["HEAD_REVISION", "Connection", "Engine", "NoDatabase", "migrate", "open_engine",
           "sqlite_files",
           "transaction"]


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
    return [db, db + "-wal", db + "-shm", db + "-journal"]


def open_engine(url: str, *, create: bool = True) -> Engine:
    """Create the engine, make the SQLite directory, and migrate the schema to head.

    ``create=False`` (the CLI's alert and status commands): a missing SQLite file is an
    error rather than created, so that root reading alerts before the service first ran
    does not leave a root-owned database the daemon's user cannot write.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"database.url: not a database URL: {exc}") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        db_path = Path(parsed.database or "")
        if not create and not db_path.exists():
            raise NoDatabase(f"no database at {db_path} yet: `dlpd run` or `dlpd scan` "
                             "creates it")
        try:
            db_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise StoreError(f"cannot create {db_path.parent}: {exc.strerror}") from None
    try:
        engine = create_engine(parsed)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"database.url: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        migrate(engine)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot open the database: {exc.__class__.__name__}: {exc}") from None
    return engine


def migrate(engine: Engine) -> None:
    """Upgrade to the newest schema; cheap when already there (alembic is not loaded)."""
    if current_revision(engine) == HEAD_REVISION:
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
