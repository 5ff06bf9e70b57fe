"""The files repository: the incremental-scan cache and stored results, in bulk.

Every function takes a connection from the caller, who owns the transaction: a SQLAlchemy
Connection or a ``store.sql`` adapter. The queries are plain SQL that SQLite and
PostgreSQL both run (``store.sql``): a scan answers every file from here, so they carry
no statement compilation, and ``dlpd scan`` runs them without SQLAlchemy at all
(``store.direct``). ``schema.files``, ``detections`` and ``scans`` define the tables.

The cache is per host (``host``: ``[daemon] host``): two servers' ``/data/x`` are two
rows, and nothing here reads or forgets another host's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from dlpd.model import Confidence, Detection, FileResult, FileStat, Outcome
from dlpd.store.paths import display_path, key, real, under_sql
from dlpd.store.sql import Sql, as_sql, marks

if TYPE_CHECKING:
    from sqlalchemy import Connection

_BATCH = 500
_FIRST_CHUNK = 8


class CachedFile(NamedTuple):
    """What the store remembers of a file: its stat key and its last result.

    The row as the database driver returns it (``_CACHE_COLUMNS``, in this order): a warm
    rescan builds one per file, so nothing is converted until asked (``stat``,
    ``labels``), and the freshness test reads the raw columns."""

    path_key: bytes  # the driver's binary type (bytes; memoryview for some drivers)
    dev: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int
    racy: bool  # 0/1 as SQLite stores a Boolean
    rules_version: str
    id: int
    sha256: str | None
    mime: str | None
    outcome: str
    reason: str | None
    labels_json: str
    categories_json: str

    @property
    def stat(self) -> FileStat:
        return FileStat(self.dev, self.inode, self.size, self.mtime_ns, self.ctime_ns)

    @property
    def labels(self) -> tuple[str, ...]:
        # Most files carry no label: skip the JSON parser for them.
        return () if self.labels_json == "[]" else tuple(json.loads(self.labels_json))

    @property
    def has_findings(self) -> bool:
        return self.categories_json != "[]"

    def is_fresh(self, current: FileStat | os.stat_result, rules_version: str) -> bool:
        """Unchanged since the last scan by the same rules, and not racy. ``current``: the
        file's FileStat, or a walked file's lstat as it is (a warm rescan asks this of
        every file: no FileStat is built for it)."""
        if self.racy or self.rules_version != rules_version:
            return False
        if isinstance(current, FileStat):
            return (self.mtime_ns == current.mtime_ns and self.ctime_ns == current.ctime_ns
                    and self.size == current.size and self.inode == current.inode
                    and self.dev == current.dev)
        return (self.mtime_ns == current.st_mtime_ns and self.ctime_ns == current.st_ctime_ns
                and self.size == current.st_size and self.inode == current.st_ino
                and self.dev == current.st_dev)


# CachedFile's fields, in order.
_CACHE_COLUMNS = ("path_key, dev, inode, size, mtime_ns, ctime_ns, racy, rules_version, id, "
                  "sha256, mime, outcome, reason, labels, categories")
_CACHED_FILE = f"SELECT {_CACHE_COLUMNS} FROM files WHERE host = ? AND path_key = ?"
_CHILDREN = (f"SELECT {_CACHE_COLUMNS} FROM files WHERE host = ? AND path_key >= ? "
             "AND path_key < ? ORDER BY path_key LIMIT ?")
_new_tuple = tuple.__new__


def _cached(row: Sequence[Any]) -> CachedFile:
    # The row's values as they are, in CachedFile's field order: a warm rescan builds one
    # of these per file (a dataclass with converted fields cost ~3 us a file).
    return _new_tuple(CachedFile, row)


def cached_file(conn: Connection | Sql, path: str, *, host: str) -> CachedFile | None:
    """The stored file at exactly ``path`` on ``host``, if any."""
    row = as_sql(conn).rows(_CACHED_FILE, (host, key(path))).fetchone()
    return None if row is None else _cached(row)


def stored_children(conn: Connection | Sql, directory: str, *, host: str,
                    page: int = _BATCH) -> Iterator[tuple[bytes, CachedFile | None]]:
    """What the store holds of ``host`` directly in ``directory``, in key (byte) order: (key, the
    file) for a stored file, (key, None) for a subdirectory with stored files below it.

    Pages of at most ``page`` rows on the path index, never the whole subtree: past a
    subdirectory's first stored key the next page starts after the subdirectory's range
    (``sub/`` .. ``sub0``, see ``under``), so a directory costs one query per page and
    one per stored subdirectory, whatever lies below them. Each page is fetched whole
    (``fetchmany``: one driver call, not one a row) and handed out as consumed.
    """
    sql = as_sql(conn)
    base = key(directory.rstrip("/"))  # b"" for "/"
    prefix, end = base + b"/", base + b"0"
    after = len(prefix)
    start = prefix
    while True:
        result = sql.rows(_CHILDREN, (host, start, end, page))
        last, subdir, fetched = start, None, 0
        try:
            # Rows in growing chunks (one driver call each, not one a row), and the first
            # ones few: past a subdirectory's first key the rest of a chunk is its
            # subtree's, read for nothing.
            chunk = _FIRST_CHUNK
            while subdir is None and (rows := result.fetchmany(chunk)):
                fetched += len(rows)
                chunk = min(chunk * 4, page)
                for row in rows:
                    path_key = bytes(row[0])
                    slash = path_key.find(b"/", after)
                    if slash >= 0:
                        subdir = path_key[:slash]
                        break
                    last = path_key
                    yield path_key, _new_tuple(CachedFile, row)
        finally:
            result.close()
        if subdir is not None:
            yield subdir, None
            start = subdir + b"0"  # past the subdirectory's whole range
        elif fetched < page:
            return
        else:
            start = last + b"\0"  # the least key after the page's last


def forget(conn: Connection | Sql, keys: Sequence[bytes], subtrees: Sequence[str], *,
           host: str) -> int:
    """Forget ``host``'s files with these keys, and every one at or below ``subtrees``
    (their detections go with them): the rows deleted."""
    sql = as_sql(conn)
    deleted = 0
    for chunk in _chunks(keys):
        deleted += sql.run("DELETE FROM files WHERE host = ? AND path_key IN "
                           f"({marks(len(chunk))})", (host, *chunk))
    for tree in subtrees:
        clause, params = under_sql("path_key", tree)
        deleted += sql.run(f"DELETE FROM files WHERE host = ? AND {clause}", (host, *params))
    return deleted


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _BATCH):
        yield values[start:start + _BATCH]


_DETECTION_COLUMNS = "file_id, rule, category, confidence, count, member, previews, reasons"


def load_detections(conn: Connection | Sql,
                    file_ids: Iterable[int]) -> dict[int, tuple[Detection, ...]]:
    sql = as_sql(conn)
    found: dict[int, list[Detection]] = {}
    for chunk in _chunks(list(file_ids)):
        rows = sql.rows(f"SELECT {_DETECTION_COLUMNS} FROM detections WHERE file_id IN "
                        f"({marks(len(chunk))}) ORDER BY id", chunk)
        for file_id, rule, category, confidence, count, member, previews, reasons in rows:
            found.setdefault(file_id, []).append(Detection(
                rule=rule,
                category=category,
                confidence=Confidence.parse(confidence),
                count=count,
                member=member,
                previews=tuple(json.loads(previews)),
                reasons=tuple(json.loads(reasons)),
            ))
    return {k: tuple(v) for k, v in found.items()}


_OUTCOMES = {o.value: o for o in Outcome}  # a dict lookup, cheaper than Outcome(value)


def cached_result(path: str, cached: CachedFile, dets: tuple[Detection, ...]) -> FileResult:
    # Positional arguments, in FileResult's field order (path, outcome, size, sha256, mime,
    # reason, detections, labels, stat, cached): a warm rescan builds one per file.
    return FileResult(path, _OUTCOMES[cached.outcome], cached.size, cached.sha256, cached.mime,
                      cached.reason, dets, cached.labels, cached.stat, True)


# The files row a result writes, after (host, path_key); an upsert keeps the row's id.
_FILE_COLUMNS = ("path", "dev", "inode", "size", "mtime_ns", "ctime_ns", "racy", "sha256",
                 "mime", "outcome", "reason", "labels", "categories", "last_scan",
                 "rules_version")
_UPSERT_FILE = (
    f"INSERT INTO files (host, path_key, {', '.join(_FILE_COLUMNS)}) "
    f"VALUES ({marks(2 + len(_FILE_COLUMNS))}) ON CONFLICT (host, path_key) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _FILE_COLUMNS))
_INSERT_DETECTION = (f"INSERT INTO detections ({_DETECTION_COLUMNS}) "
                     f"VALUES ({marks(8)})")


def save_results(
    conn: Connection | Sql,
    results: Sequence[FileResult],
    *,
    host: str,
    rules_version: str,
    scan_started_ns: int,
    now: float,
    racy_window_ns: int = 2_000_000_000,
) -> None:
    """Upsert the files and replace their detections, in bulk. Results without a stat key
    (the file could not even be stat'ed) are not stored."""
    sql = as_sql(conn)
    by_key: dict[bytes, FileResult] = {}
    rows: list[tuple[Any, ...]] = []
    for r in results:
        if r.stat is None:
            continue
        path_key = key(r.path)
        by_key[path_key] = r
        rows.append((
            host, path_key, display_path(r.path), r.stat.dev, r.stat.inode, r.stat.size,
            r.stat.mtime_ns, r.stat.ctime_ns,
            # A file written in the same clock tick as our read may change again without
            # its mtime moving: re-read it next time whatever its stat says.
            r.stat.mtime_ns >= scan_started_ns - racy_window_ns,
            r.sha256, r.mime, r.outcome.value, r.reason, json.dumps(list(r.labels)),
            json.dumps(list(r.categories)), now, rules_version,
        ))
    if not rows:
        return
    sql.run_many(_UPSERT_FILE, rows)
    ids: dict[bytes, int] = {}
    for chunk in _chunks(list(by_key)):
        found = sql.rows(f"SELECT path_key, id FROM files WHERE host = ? AND path_key IN "
                         f"({marks(len(chunk))})", (host, *chunk))
        ids.update({bytes(path_key): file_id for path_key, file_id in found})
    for chunk in _chunks(list(ids.values())):
        sql.run(f"DELETE FROM detections WHERE file_id IN ({marks(len(chunk))})", chunk)
    sql.run_many(_INSERT_DETECTION, [
        (ids[path_key], d.rule, d.category, str(d.confidence), d.count, d.member,
         json.dumps(list(d.previews), ensure_ascii=False),
         json.dumps(list(d.reasons), ensure_ascii=False))
        for path_key, r in by_key.items()
        for d in r.detections
    ])


def delete_paths(conn: Connection | Sql, paths: Iterable[str], *, host: str) -> int:
    """Forget ``host``'s files that are gone (their detections go with them)."""
    gone = [key(p) for p in paths]
    forget(conn, gone, (), host=host)
    return len(gone)


def start_scan(conn: Connection | Sql, roots: Sequence[str], rules_version: str, now: float, *,
               host: str) -> int:
    row = as_sql(conn).rows(
        "INSERT INTO scans (host, started, roots, files, read, found, errors, rules_version) "
        "VALUES (?, ?, ?, 0, 0, 0, 0, ?) RETURNING id",
        (host, now, json.dumps([display_path(r) for r in roots]), rules_version)).fetchone()
    return int(row[0])


def finish_scan(conn: Connection | Sql, scan_id: int, *, now: float, files_seen: int,
                read: int, found: int, errors: int) -> None:
    as_sql(conn).run("UPDATE scans SET finished = ?, files = ?, read = ?, found = ?, errors = ? "
                     "WHERE id = ?", (now, files_seen, read, found, errors, scan_id))


def copies_of(conn: Connection | Sql, sha256: str) -> list[tuple[str, str]]:
    """Stored files with this content on any host, as (host, path) (provenance: "copy
    of"), in a stable order."""
    rows = as_sql(conn).rows("SELECT host, path_key FROM files WHERE sha256 = ? ORDER BY id",
                             (sha256,))
    return [(host, real(path_key)) for host, path_key in rows]


def paths_under(conn: Connection | Sql, directory: str, *, host: str) -> list[str]:
    """``host``'s stored files at or below ``directory`` (a directory that left the
    watched trees)."""
    clause, params = under_sql("path_key", directory)
    rows = as_sql(conn).rows(f"SELECT path_key FROM files WHERE host = ? AND {clause}",
                             (host, *params))
    return [real(path_key) for (path_key,) in rows]


def labelled_paths(conn: Connection | Sql, *, host: str) -> dict[str, tuple[str, ...]]:
    """Every stored file of ``host`` that carries a label, with its labels (the daemon
    keeps these in memory to decide cheaply which events belong in the access log)."""
    rows = as_sql(conn).rows("SELECT path_key, labels FROM files WHERE host = ? AND "
                             "labels != '[]'", (host,))
    return {real(path_key): tuple(json.loads(labels)) for path_key, labels in rows}
