"""Plain SQL on either engine, for the paths that run once a file: the scan's cache and
results (``store.files``) and whether anything is labelled (``store.presence``).

Those queries are written once, as SQL text with ``?`` placeholders that SQLite and
PostgreSQL both run, and executed one of two ways:

- ``CoreSql``: inside a SQLAlchemy transaction (the daemon, PostgreSQL, every command but
  a plain scan), through ``exec_driver_sql``: no statement compiled, the driver's errors
  wrapped as everywhere else in the store.
- ``DirectSql``: on a stdlib ``sqlite3`` connection (``store.direct``), so that
  ``dlpd scan`` on the local SQLite store never imports SQLAlchemy (about a third of a
  second of start-up on this machine) and its rows cost no wrapping.

This module imports nothing of SQLAlchemy; a caller holding a SQLAlchemy Connection gets
its adapter from ``as_sql``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy import Connection

Params = Sequence[Any]


class Rows(Protocol):
    """What a query returns: a DB-API cursor or SQLAlchemy's CursorResult."""

    def fetchone(self) -> Any: ...
    def fetchmany(self, size: int = ...) -> Sequence[Any]: ...
    def fetchall(self) -> Sequence[Any]: ...
    def close(self) -> Any: ...
    def __iter__(self) -> Iterator[Any]: ...


class Sql(Protocol):
    """A connection inside a transaction, taking SQL with ``?`` placeholders."""

    def rows(self, statement: str, params: Params = ()) -> Rows:
        """Run a query; its rows are tuples (or tuple-like rows) in the SELECT's order."""
        ...

    def run(self, statement: str, params: Params = ()) -> int:
        """Run a statement; the rows it changed."""
        ...

    def run_many(self, statement: str, params: Sequence[Params]) -> None:
        """Run a statement once for each parameter row (one driver call)."""
        ...


class Transactions(Protocol):
    """Where a scan reads and writes: each ``transaction()`` a connection of its own,
    committed at the end of the block, rolled back (and a ``StoreError`` raised for a
    database failure) when it raises."""

    def transaction(self) -> AbstractContextManager[Sql]: ...


def marks(count: int) -> str:
    """``?, ?, ?``: the placeholders of an IN list of ``count`` values."""
    return ", ".join("?" * count)


class DirectSql:
    """``Sql`` on a stdlib sqlite3 connection."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def rows(self, statement: str, params: Params = ()) -> Rows:
        return self._conn.execute(statement, params)

    def run(self, statement: str, params: Params = ()) -> int:
        return self._conn.execute(statement, params).rowcount

    def run_many(self, statement: str, params: Sequence[Params]) -> None:
        self._conn.executemany(statement, params)


class CoreSql:
    """``Sql`` on a SQLAlchemy Connection: the same SQL text straight to its driver, with
    the driver's placeholders (psycopg takes ``%s``)."""

    __slots__ = ("_format", "conn")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn  # for callers that go on with SQLAlchemy (labels, prints)
        self._format = conn.dialect.paramstyle in ("format", "pyformat")

    def _text(self, statement: str) -> str:
        # None of dlpd's statements holds a "?" or "%" of its own: placeholders only.
        if not self._format:
            return statement
        return _FORMATTED.get(statement) or _formatted(statement)

    def rows(self, statement: str, params: Params = ()) -> Rows:
        return self.conn.exec_driver_sql(self._text(statement), tuple(params))

    def run(self, statement: str, params: Params = ()) -> int:
        return int(self.conn.exec_driver_sql(self._text(statement), tuple(params)).rowcount)

    def run_many(self, statement: str, params: Sequence[Params]) -> None:
        if params:
            self.conn.exec_driver_sql(self._text(statement), [tuple(p) for p in params])


_FORMATTED: dict[str, str] = {}


def _formatted(statement: str) -> str:
    formatted = _FORMATTED[statement] = statement.replace("?", "%s")
    return formatted


def as_sql(conn: Connection | Sql) -> Sql:
    """``conn`` as ``Sql``: an adapter is itself; a SQLAlchemy Connection is wrapped."""
    if isinstance(conn, (DirectSql, CoreSql)):
        return conn
    return CoreSql(conn)  # type: ignore[arg-type]  # not an adapter: a Connection
