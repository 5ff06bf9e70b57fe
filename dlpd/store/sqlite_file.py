"""The local store's SQLite file: where a URL puts it, made private, and the pragmas
every connection to it gets, whoever opens it (SQLAlchemy's engine or ``store.direct``).

The store holds paths, hashes and redacted previews of sensitive files: the file is
created 0600 whatever the umask (SQLite gives its -wal and -shm files the database file's
mode), and a directory that others can write to is reported (``store_directory_problem``):
whoever can write there can replace the database or plant a WAL file.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Any

from dlpd.errors import StoreError

_log = logging.getLogger("dlpd.store")

# WAL: readers (the CLI) never block the writer (the daemon). NORMAL is crash-safe in WAL
# mode; only a power loss may drop the last commits, which a rescan restores.
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
           "PRAGMA busy_timeout=10000", "PRAGMA foreign_keys=ON")

_PLAIN = "sqlite:///"


class NoDatabase(StoreError):
    """A store opened with ``create=False`` found no database file."""


def apply_pragmas(dbapi_connection: Any, _record: Any = None) -> None:
    """Set ``PRAGMAS`` on a new DB-API connection (also SQLAlchemy's connect event)."""
    cursor = dbapi_connection.cursor()
    for pragma in PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def plain_sqlite_path(url: str) -> str | None:
    """The file of a plain ``sqlite:///PATH`` URL (the default store's form: no query
    options, escapes or driver name), as SQLAlchemy reads it; None for any other URL."""
    if not url.startswith(_PLAIN):
        return None
    rest = url[len(_PLAIN):]
    if rest in ("", ":memory:") or any(c in rest for c in "?%#@\\"):
        return None
    return rest


def sqlite_path(url: str) -> str | None:
    """The database file of a SQLite URL, as SQLAlchemy reads the URL (``sqlite:///rel``
    relative, ``sqlite:////abs`` absolute, percent-escapes decoded); None for an in-memory
    database or another engine. SQLAlchemy's parser is imported only for a URL that is
    not plain (``plain_sqlite_path``)."""
    if (path := plain_sqlite_path(url)) is not None:
        return path
    from sqlalchemy.engine import make_url  # noqa: PLC0415 - an unusual URL only
    from sqlalchemy.exc import ArgumentError  # noqa: PLC0415

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


def sqlite_files(url: str) -> list[str]:
    """The files of a SQLite database URL (the database, its WAL, shared memory and
    journal), so that a scan never reads dlpd's own state; none for other databases."""
    database = sqlite_path(url)
    if database is None:
        return []
    db = str(Path(database).resolve())
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


def prepare_sqlite_file(url: str, db_path: Path, *, create: bool) -> None:
    """Make the database's directory (0700) and an empty private file unless there is one;
    ``create=False``: a missing file is ``NoDatabase`` (root reading alerts before the
    service first ran must not leave a root-owned database the daemon cannot write)."""
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


def _create_private(db_path: Path) -> None:
    """Create an empty database file 0600 (SQLite takes an empty file as a new database)
    unless one exists; never through a symlink planted at the path."""
    try:
        fd = os.open(db_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                     | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return
    os.close(fd)
