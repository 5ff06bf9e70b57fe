"""The local SQLite store through the stdlib's ``sqlite3``: what ``dlpd scan`` reads and
writes when nothing but its cache and results is needed (``wiring.open_scan_store``).

SQLAlchemy's import and its per-statement work were most of a small scan's start-up and a
share of every warm rescan's row; the queries are ``store.files``' plain SQL, the same
ones the daemon runs through SQLAlchemy. This store opens only a database that exists and
is at this dlpd's schema head: creating or migrating one is ``store.db``'s job (the
caller opens that first, then this).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dlpd.errors import StoreError
from dlpd.store.revision import HEAD_REVISION
from dlpd.store.sql import DirectSql
from dlpd.store.sqlite_file import apply_pragmas, plain_sqlite_path, store_directory_problem

_log = logging.getLogger("dlpd.store")


class DirectStore:
    """``store.sql.Transactions`` on one SQLite file. Each open transaction has a
    connection of its own (a scan reads the cache on one while its writer commits on
    another, as with SQLAlchemy's pool); idle connections are kept for the next. Used
    from one thread."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._idle: list[sqlite3.Connection] = []

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path)
            apply_pragmas(conn)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the database {self.path}: {_said(exc)}") from None
        return conn

    @contextmanager
    def transaction(self) -> Iterator[DirectSql]:
        """One transaction; database failures (locked, disk full, read-only) become
        StoreError, in the driver's words as ``store.db.transaction`` says them."""
        conn = self._idle.pop() if self._idle else self._connect()
        try:
            yield DirectSql(conn)
            conn.commit()
        except BaseException as exc:
            self._give_back(conn, rolled_back=_rollback(conn))
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"database: {_said(exc)}") from None
            raise
        self._give_back(conn)

    def _give_back(self, conn: sqlite3.Connection, *, rolled_back: bool = True) -> None:
        if rolled_back:
            self._idle.append(conn)
        else:
            conn.close()  # in an unknown state: the next transaction opens a new one

    def revision(self) -> str | None:
        """The schema revision the file is at (None: no dlpd schema)."""
        with self.transaction() as sql:
            try:
                row = sql.rows("SELECT version_num FROM alembic_version").fetchone()
            except sqlite3.OperationalError:  # no such table: not a dlpd store (yet)
                return None
        return None if row is None else str(row[0])

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


def open_direct(url: str, *, warn: bool = True) -> DirectStore | None:
    """The store at ``url`` opened directly, or None when this cannot serve it: not a
    plain SQLite URL (options in a URL are SQLAlchemy's to read), no file yet, or a schema
    not at head (``store.db.open_store`` creates or migrates it, or says why not).
    ``warn``: say that its directory is not private, as ``store.db`` does at open (False
    when ``store.db`` has just said so)."""
    path = plain_sqlite_path(url)
    if path is None or not Path(path).is_file():
        return None
    store = DirectStore(path)
    try:
        if store.revision() == HEAD_REVISION:
            if warn and (problem := store_directory_problem(url)):
                _log.warning("the store's directory is not private: %s", problem)
            return store
    except StoreError:
        pass  # store.db opens it again and says what is wrong in its own words
    store.close()
    return None


def _said(exc: sqlite3.Error) -> str:
    return f"{type(exc).__name__}: {exc}"


def _rollback(conn: sqlite3.Connection) -> bool:
    try:
        conn.rollback()
    except sqlite3.Error:
        return False
    return True

