"""SQLite databases through the standard library's driver, table by table, read-only.

Each ordinary table becomes one text part named after it (``study.db!patients``), a row a
line, ``column=value; ...`` (``rows.py``).

Never a write to the scanned file, never a lock, never a re-open by path. SQLite's unix
VFS resolves symbolic links before it opens a name, so ``/proc/self/fd/N`` would be
re-opened by the path the file has now (a FIFO or another file swapped in meanwhile):
SQLite only ever sees a copy that dlpd made from its own descriptor.

- A database in memory (files up to ``max_buffer_bytes``, members of archives) is handed
  to ``Connection.deserialize``: SQLite copies the bytes (the job holds the file once
  more, at most ``max_buffer_bytes``). A WAL-mode image is read as a rollback one (the
  in-memory VFS has no WAL index; the main file's pages are the same).
- A bigger file is copied (``sendfile`` from our descriptor, at most ``max_scan_bytes``)
  into a private directory (``mkdtemp``, 0700) and opened ``mode=ro&immutable=1``: no
  lock, no ``-journal``/``-wal``/``-shm`` looked for or made.

Either way a research app holding a write transaction on the live database does not
block us, nor we it. What a writer keeps in the ``-wal`` file beside the database
(committed or not, until a checkpoint copies it into the main file) is not read here:
the ``-wal`` file is a file of its own, and its pages are matched raw as any file's.

A hostile file: ``query_only``, ``trusted_schema=OFF``, a 2 MiB page cache, no mmap, cell
size checks, values longer than ``_MAX_VALUE`` refused by SQLite itself; a BLOB over
``_MAX_BLOB`` is skipped unloaded (its length comes from the record header); only tables
whose schema says ``CREATE TABLE`` (no views, no virtual tables: their module would run;
FTS shadow tables are ordinary tables and are read), generated columns left out (they
compute), names quoted, every cell cut in SQL, ``max_table_rows`` rows per table, a
progress handler that stops SQLite when the scan's time is up. SQLite's messages may
quote the schema: reasons name the error code only.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sqlite3
import tempfile
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from dlpd.classify.extract.base import Member
from dlpd.classify.extract.collect import Problems
from dlpd.classify.extract.reading import hand_over
from dlpd.classify.extract.rows import TableLines, column_label, table_member_name
from dlpd.classify.limits import Budget, KiB, MiB
from dlpd.errors import ExtractionError, LimitExceeded

# The longest value SQLite will hand us (SQLITE_LIMIT_LENGTH): a longer TEXT ends the
# read of its table (SQLITE_TOOBIG, noted); a longer BLOB is skipped unread.
_MAX_VALUE = 8 * MiB
# BLOBs longer than this are photos and pickles, not text: skipped without loading.
_MAX_BLOB = 1 * MiB
_CACHE_KIB = 2048
_TIME_CHECK = 256
# SQLite VM steps between two looks at the clock.
_PROGRESS_STEPS = 10_000
_CREATE_TABLE = re.compile(r"\s*CREATE\s+TABLE\b", re.IGNORECASE)
# Names SQLite keeps for itself (sqlite_sequence, sqlite_stat1): counters, not content.
_INTERNAL = "sqlite\\_%"
_COPY_CHUNK = 8 * MiB
# Header bytes 18-19, the file format's write and read versions: 2 is WAL, 1 rollback.
_WAL_VERSIONS = b"\x02\x02"
_LEGACY_VERSIONS = b"\x01\x01"


@dataclass(frozen=True, slots=True)
class _Table:
    name: str
    label: str  # for reasons: the name quoted and cut


@dataclass(frozen=True, slots=True)
class _Read:
    data: bytes
    problem: str | None = None
    stop: LimitExceeded | None = None


def extract_sqlite(stream: BinaryIO, budget: Budget) -> Iterator[Member]:
    with _connect(stream, budget) as (conn, cut):
        if cut:
            budget.note("max_scan_bytes", f"database copied to its first "
                        f"{budget.limits.max_scan_bytes} bytes: tables past them unread")
        tables = _tables(conn, budget)
        problems = Problems("sqlite")
        for table in tables:
            budget.charge_member()
            read = _read_table(conn, table, budget)
            budget.charge_bytes(len(read.data))
            if read.data:
                yield from hand_over(budget, Member(table_member_name(table.name), read.data,
                                                    is_text=True, part=True))
            if read.stop is not None:
                raise read.stop
            if read.problem is not None and not cut:
                problems.add(table.name, read.problem)
        problems.raise_if_any()


# -- opening --------------------------------------------------------------------------
@contextlib.contextmanager
def _connect(stream: BinaryIO, budget: Budget) -> Iterator[tuple[sqlite3.Connection, bool]]:
    """A hardened read-only connection, and whether the database was cut short."""
    fd = _fileno(stream)
    if fd is None:
        with _opened(":memory:", budget) as conn:
            _deserialize(conn, stream, budget)
            yield conn, False
        return
    with tempfile.TemporaryDirectory(prefix="dlpd-sqlite-") as private:
        path = os.path.join(private, "db")
        cut = _copy(fd, path, budget)
        with _opened(f"file:{urllib.parse.quote(path)}?mode=ro&immutable=1", budget) as conn:
            yield conn, cut


@contextlib.contextmanager
def _opened(uri: str, budget: Budget) -> Iterator[sqlite3.Connection]:
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise ExtractionError(f"sqlite: not opened ({_code(exc)})") from exc
    try:
        _harden(conn, budget)
        yield conn
    finally:
        conn.close()


def _fileno(stream: BinaryIO) -> int | None:
    try:
        return stream.fileno()
    except (io.UnsupportedOperation, AttributeError, OSError):
        return None


def _deserialize(conn: sqlite3.Connection, stream: BinaryIO, budget: Budget) -> None:
    """The bytes in memory become the connection's database (SQLite copies them)."""
    if isinstance(stream, io.BytesIO):
        data = stream.getvalue()  # the buffer itself, where getbuffer() would copy it
    else:
        stream.seek(0)
        data = stream.read(budget.limits.max_buffer_bytes)
    if data[18:20] == _WAL_VERSIONS:
        # The in-memory VFS has no shared memory for WAL: read the image as a rollback
        # database (what the main file holds is the same either way).
        data = b"".join((data[:18], _LEGACY_VERSIONS, data[20:]))
    try:
        conn.deserialize(data)
    except (sqlite3.Error, OverflowError, MemoryError) as exc:
        raise ExtractionError(f"sqlite: not opened ({type(exc).__name__})") from exc


def _copy(fd: int, path: str, budget: Budget) -> bool:
    """Copy the file (its first ``max_scan_bytes``) to ``path``; True when cut."""
    cap = budget.limits.max_scan_bytes
    out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        done = 0
        while done < cap:
            # sendfile reads at an offset: the stream's own position is left alone.
            sent = os.sendfile(out, fd, done, min(_COPY_CHUNK, cap - done))
            if sent == 0:
                return False
            done += sent
            budget.check_time()
        return bool(os.pread(fd, 1, done))
    except OSError as exc:
        raise ExtractionError(f"sqlite: not copied ({exc.strerror or 'I/O error'})") from exc
    finally:
        os.close(out)


def _harden(conn: sqlite3.Connection, budget: Budget) -> None:
    conn.text_factory = bytes  # text that is not UTF-8 must not fail the row
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, _MAX_VALUE)
    # writable_schema: a truncated file (fewer pages than its header says) and schema
    # rows SQLite cannot parse are tolerated, so the tables still there are read;
    # query_only keeps every statement a read all the same.
    # Some pragmas read the schema: writable_schema comes first.
    for pragma in ("writable_schema=ON", "query_only=ON", "trusted_schema=OFF",
                   f"cache_size=-{_CACHE_KIB}", "mmap_size=0", "cell_size_check=ON"):
        try:
            conn.execute(f"PRAGMA {pragma}")
        except sqlite3.Error as exc:
            raise _failure(exc, budget) from exc
    conn.set_progress_handler(_out_of_time(budget), _PROGRESS_STEPS)


def _out_of_time(budget: Budget) -> Callable[[], int]:
    def handler() -> int:
        return 1 if budget.remaining_seconds() <= 0 else 0

    return handler


# -- reading --------------------------------------------------------------------------
def _tables(conn: sqlite3.Connection, budget: Budget) -> list[_Table]:
    """The ordinary tables, in the order they were created."""
    try:
        rows = conn.execute(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'table' "
            "AND name NOT LIKE ? ESCAPE '\\' ORDER BY rowid",
            (_INTERNAL,),
        ).fetchall()
    except sqlite3.Error as exc:
        raise _failure(exc, budget) from exc
    tables = []
    for raw_name, raw_sql in rows:
        name, sql = _text(raw_name), _text(raw_sql)
        # The schema row's type is only data: the statement says what SQLite will build.
        if name and _CREATE_TABLE.match(sql):
            tables.append(_Table(name, f"table {name[:80]!r}"))
    return tables


def _read_table(conn: sqlite3.Connection, table: _Table, budget: Budget) -> _Read:
    try:
        columns = _columns(conn, table.name)
    except sqlite3.Error as exc:
        return _stopped(b"", exc, budget)
    if not columns:  # every table has one: SQLite could not parse this one's schema
        return _Read(b"", problem="unreadable schema")
    lines = TableLines(budget, table.label, [column_label(c) for c in columns])
    cell = budget.options.max_cell_bytes
    select = ", ".join(_cell_sql(_quote(c), cell) for c in columns)
    # Identifiers cannot be parameters: every name is quoted (``_quote``), numbers are ours.
    sql = f"SELECT {select} FROM {_quote(table.name)} LIMIT {lines.max_rows + 1}"  # noqa: S608
    try:
        cursor = conn.execute(sql)
        # Row by row: a row SQLite fails on loses none of those before it.
        while not lines.full:
            row = cursor.fetchone()
            if row is None:
                break
            lines.add(row)
            if lines.rows % _TIME_CHECK == 0:
                budget.check_time()
        more = lines.rows >= lines.max_rows and cursor.fetchone() is not None
        cursor.close()
    except sqlite3.Error as exc:
        return _stopped(lines.to_bytes(), exc, budget)
    except LimitExceeded as exc:
        return _Read(lines.to_bytes(), stop=exc)
    if more:
        lines.rows_cut()
    return _Read(lines.to_bytes())


def _columns(conn: sqlite3.Connection, name: str) -> list[str]:
    """Columns stored in the table: generated columns (hidden 2 and 3) are computed from
    the others, and a VIRTUAL one would run its expression on every row."""
    rows = conn.execute("SELECT name, hidden FROM pragma_table_xinfo(?)", (name,)).fetchall()
    return [_text(col) for col, hidden in rows if hidden == 0]


def _cell_sql(column: str, cell: int) -> str:
    # typeof() and length() of a BLOB are read from the record header: a long BLOB is
    # skipped without SQLite loading it. substr() counts characters of TEXT (the cut to
    # bytes is made in Python) and bytes of a BLOB. Numbers come as they are (substr
    # would print a REAL card number as 4.11111111111111e+15).
    return (f"CASE typeof({column}) WHEN 'blob' THEN CASE WHEN length({column}) > "
            f"{_MAX_BLOB} THEN NULL ELSE substr({column}, 1, {cell}) END "
            f"WHEN 'text' THEN substr({column}, 1, {cell}) ELSE {column} END")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


# -- failures -------------------------------------------------------------------------
def _stopped(data: bytes, exc: sqlite3.Error, budget: Budget) -> _Read:
    """What was read of a table before ``exc``; the scan's time running out stops the
    file, any other error only this table."""
    failure = _failure(exc, budget)
    if isinstance(failure, LimitExceeded):
        return _Read(data, stop=failure)
    return _Read(data, problem=str(failure))


def _failure(exc: sqlite3.Error, budget: Budget) -> ExtractionError | LimitExceeded:
    code = _code(exc)
    if code.startswith("SQLITE_INTERRUPT") and budget.remaining_seconds() <= 0:
        return LimitExceeded("scan_timeout",
                             f"scan took longer than {budget.limits.scan_timeout}s")
    for prefix, reason in _REASONS:
        if code.startswith(prefix):
            return ExtractionError(reason)
    return ExtractionError(f"sqlite error ({code})")


_REASONS = (
    ("SQLITE_NOTADB", "not a database (encrypted or damaged)"),
    ("SQLITE_CORRUPT", "malformed database"),
    ("SQLITE_TOOBIG", f"a value longer than {_MAX_VALUE // KiB} KiB"),
    ("SQLITE_NOMEM", "out of memory"),
    ("SQLITE_IOERR", "read error"),
)


def _code(exc: sqlite3.Error) -> str:
    """SQLite's name of the error: its message may quote the file (a schema, a name)."""
    name = getattr(exc, "sqlite_errorname", None)
    return name if isinstance(name, str) else type(exc).__name__
