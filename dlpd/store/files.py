"""The files repository: the incremental-scan cache and stored results, in bulk Core.

Every function takes a Connection from the caller, who owns the transaction. The cache
is per host (``host``: ``[daemon] host``): two servers' ``/data/x`` are two rows, and
nothing here reads or forgets another host's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, delete, insert, select, update

from dlpd.model import Confidence, Detection, FileResult, FileStat, Outcome
from dlpd.store.db import upsert
from dlpd.store.paths import display_path, key, real, under
from dlpd.store.schema import detections, files, scans

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


_CACHE_COLUMNS = (files.c.path_key, files.c.dev, files.c.inode, files.c.size,
                  files.c.mtime_ns, files.c.ctime_ns, files.c.racy, files.c.rules_version,
                  files.c.id, files.c.sha256, files.c.mime, files.c.outcome, files.c.reason,
                  files.c.labels, files.c.categories)
_new_tuple = tuple.__new__


def _cached(row: Sequence[Any]) -> CachedFile:
    # The row's values as they are, in CachedFile's field order: a warm rescan builds one
    # of these per file (a dataclass with converted fields cost ~3 us a file).
    return _new_tuple(CachedFile, row)


def cached_file(conn: Connection, path: str, *, host: str) -> CachedFile | None:
    """The stored file at exactly ``path`` on ``host``, if any."""
    row = conn.execute(select(*_CACHE_COLUMNS).where(
        files.c.host == host, files.c.path_key == key(path))).first()
    return None if row is None else _cached(row)


def stored_children(conn: Connection, directory: str, *, host: str,
                    page: int = _BATCH) -> Iterator[tuple[bytes, CachedFile | None]]:
    """What the store holds of ``host`` directly in ``directory``, in key (byte) order: (key, the
    file) for a stored file, (key, None) for a subdirectory with stored files below it.

    Pages of at most ``page`` rows on the path index, never the whole subtree: past a
    subdirectory's first stored key the next page starts after the subdirectory's range
    (``sub/`` .. ``sub0``, see ``under``), so a directory costs one query per page and
    one per stored subdirectory, whatever lies below them. Each page is fetched whole
    (``fetchmany``: one driver call, not one a row) and handed out as consumed.
    """
    base = key(directory.rstrip("/"))  # b"" for "/"
    prefix, end = base + b"/", base + b"0"
    after = len(prefix)
    start = prefix
    while True:
        result = conn.execute(
            select(*_CACHE_COLUMNS)
            .where(files.c.host == host, files.c.path_key >= start, files.c.path_key < end)
            .order_by(files.c.path_key).limit(page))
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


def forget(conn: Connection, keys: Sequence[bytes], subtrees: Sequence[str], *,
           host: str) -> int:
    """Forget ``host``'s files with these keys, and every one at or below ``subtrees``
    (their detections go with them): the rows deleted."""
    deleted = 0
    for start in range(0, len(keys), _BATCH):
        deleted += conn.execute(delete(files).where(
            files.c.host == host, files.c.path_key.in_(keys[start:start + _BATCH]))).rowcount
    for tree in subtrees:
        deleted += conn.execute(delete(files).where(
            files.c.host == host, under(files.c.path_key, tree))).rowcount
    return deleted


def load_detections(conn: Connection, file_ids: Iterable[int]) -> dict[int, tuple[Detection, ...]]:
    found: dict[int, list[Detection]] = {}
    ids = list(file_ids)
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start:start + _BATCH]
        rows = conn.execute(select(detections).where(detections.c.file_id.in_(chunk))
                            .order_by(detections.c.id))
        for row in rows.mappings():
            found.setdefault(row["file_id"], []).append(Detection(
                rule=row["rule"],
                category=row["category"],
                confidence=Confidence.parse(row["confidence"]),
                count=row["count"],
                member=row["member"],
                previews=tuple(json.loads(row["previews"])),
                reasons=tuple(json.loads(row["reasons"])),
            ))
    return {k: tuple(v) for k, v in found.items()}


_OUTCOMES = {o.value: o for o in Outcome}  # a dict lookup, cheaper than Outcome(value)


def cached_result(path: str, cached: CachedFile, dets: tuple[Detection, ...]) -> FileResult:
    # Positional arguments, in FileResult's field order (path, outcome, size, sha256, mime,
    # reason, detections, labels, stat, cached): a warm rescan builds one per file.
    return FileResult(path, _OUTCOMES[cached.outcome], cached.size, cached.sha256, cached.mime,
                      cached.reason, dets, cached.labels, cached.stat, True)


def save_results(
    conn: Connection,
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
    rows: list[dict[str, Any]] = []
    for r in results:
        if r.stat is None:
            continue
        rows.append({
            "host": host,
            "path_key": key(r.path),
            "path": display_path(r.path),
            "dev": r.stat.dev,
            "inode": r.stat.inode,
            "size": r.stat.size,
            "mtime_ns": r.stat.mtime_ns,
            "ctime_ns": r.stat.ctime_ns,
            # A file written in the same clock tick as our read may change again without
            # its mtime moving: re-read it next time whatever its stat says.
            "racy": r.stat.mtime_ns >= scan_started_ns - racy_window_ns,
            "sha256": r.sha256,
            "mime": r.mime,
            "outcome": r.outcome.value,
            "reason": r.reason,
            "labels": json.dumps(list(r.labels)),
            "categories": json.dumps(list(r.categories)),
            "last_scan": now,
            "rules_version": rules_version,
        })
    if not rows:
        return
    # ON CONFLICT upserts: the same API in both dialects dlpd targets.
    stmt = upsert(conn, files)
    stmt = stmt.on_conflict_do_update(
        index_elements=[files.c.host, files.c.path_key],
        set_={k: stmt.excluded[k] for k in rows[0] if k not in ("host", "path_key")},
    )
    conn.execute(stmt, rows)
    by_key = {row["path_key"]: r
              for row, r in zip(rows, (r for r in results if r.stat), strict=True)}
    ids: dict[bytes, int] = {}
    keys = list(by_key)
    for start in range(0, len(keys), _BATCH):
        chunk = keys[start:start + _BATCH]
        rows_ids = conn.execute(
            select(files.c.path_key, files.c.id).where(files.c.host == host,
                                                       files.c.path_key.in_(chunk)))
        ids.update({bytes(row.path_key): row.id for row in rows_ids})
    id_list = list(ids.values())
    for start in range(0, len(id_list), _BATCH):
        chunk_ids = id_list[start:start + _BATCH]
        conn.execute(delete(detections).where(detections.c.file_id.in_(chunk_ids)))
    det_rows = [
        {
            "file_id": ids[path_key],
            "rule": d.rule,
            "category": d.category,
            "confidence": str(d.confidence),
            "count": d.count,
            "member": d.member,
            "previews": json.dumps(list(d.previews), ensure_ascii=False),
            "reasons": json.dumps(list(d.reasons), ensure_ascii=False),
        }
        for path_key, r in by_key.items()
        for d in r.detections
    ]
    if det_rows:
        conn.execute(insert(detections), det_rows)


def delete_paths(conn: Connection, paths: Iterable[str], *, host: str) -> int:
    """Forget ``host``'s files that are gone (their detections go with them)."""
    gone = [key(p) for p in paths]
    for start in range(0, len(gone), _BATCH):
        conn.execute(delete(files).where(files.c.host == host,
                                         files.c.path_key.in_(gone[start:start + _BATCH])))
    return len(gone)


def start_scan(conn: Connection, roots: Sequence[str], rules_version: str, now: float, *,
               host: str) -> int:
    result = conn.execute(insert(scans).values(
        host=host, started=now, roots=json.dumps([display_path(r) for r in roots]), files=0, read=0,
        found=0, errors=0, rules_version=rules_version))
    return int(result.inserted_primary_key[0]) if result.inserted_primary_key else 0


def finish_scan(conn: Connection, scan_id: int, *, now: float, files_seen: int, read: int,
                found: int, errors: int) -> None:
    conn.execute(update(scans).where(scans.c.id == scan_id).values(
        finished=now, files=files_seen, read=read, found=found, errors=errors))


def copies_of(conn: Connection, sha256: str) -> list[tuple[str, str]]:
    """Stored files with this content on any host, as (host, path) (provenance: "copy
    of"), in a stable order."""
    stmt = (select(files.c.host, files.c.path_key).where(files.c.sha256 == sha256)
            .order_by(files.c.id))
    return [(r.host, real(r.path_key)) for r in conn.execute(stmt)]


def paths_under(conn: Connection, directory: str, *, host: str) -> list[str]:
    """``host``'s stored files at or below ``directory`` (a directory that left the
    watched trees)."""
    stmt = select(files.c.path_key).where(files.c.host == host,
                                          under(files.c.path_key, directory))
    return [real(r.path_key) for r in conn.execute(stmt)]


def labelled_paths(conn: Connection, *, host: str) -> dict[str, tuple[str, ...]]:
    """Every stored file of ``host`` that carries a label, with its labels (the daemon
    keeps these in memory to decide cheaply which events belong in the access log)."""
    stmt = select(files.c.path_key, files.c.labels).where(files.c.host == host,
                                                          files.c.labels != "[]")
    return {real(r.path_key): tuple(json.loads(r.labels)) for r in conn.execute(stmt)}
