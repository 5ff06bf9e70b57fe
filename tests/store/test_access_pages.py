"""The console's access-log page on a real SQLite file, records written through the
store's own insert_records (what the daemon's aggregator calls)."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from dlpd.model import AccessKind, Actor
from dlpd.store import access
from dlpd.store.access import AccessFilter, AccessRecord
from dlpd.store.db import open_engine, transaction

T0 = 1_700_000_000.0
ODD = os.fsdecode(b"/data/a/caf\xe9.csv")
ALICE = Actor(pid=10, uid=1001, user="alice", gid=1001, ppid=1, exe="/usr/bin/cat",
              cmdline="cat x")
DIGITS = Actor(pid=11, uid=1002, user="1001", gid=1002, ppid=1, exe="/usr/bin/cp",
               cmdline="cp x y")  # a user *named* 1001: the filter "1001" finds both


def _rec(path: str, n: int, *, kind: AccessKind = AccessKind.OPENED,
         labels: tuple[str, ...] = ("pii",), actor: Actor | None = ALICE) -> AccessRecord:
    return AccessRecord(path=path, kind=kind, labels=labels, first=T0 + n, last=T0 + n,
                        count=1, actor=actor)


@pytest.fixture
def engine(store_url: str) -> sa.Engine:
    engine = open_engine(store_url)
    with transaction(engine) as conn:
        access.insert_records(conn, [
            _rec("/data/a/1", 1),
            _rec("/data/a/2", 2, kind=AccessKind.DELETED),
            _rec("/data/a/3", 3, labels=("pii-x",)),  # a label that contains "pii"
            _rec("/data/a/4", 4, labels=("hr", 'we"ird')),
            _rec("/data/a2/5", 5),  # a sibling of /data/a
            _rec(ODD, 6),
            _rec("/data/a/7", 7, actor=None),  # inotify: no actor
            _rec("/data/a/8", 8, actor=DIGITS),
            _rec("/home/9", 900),
        ], host="fs-a")
    return engine


def _ids(engine: sa.Engine, f: AccessFilter) -> list[int | None]:
    with engine.connect() as conn:
        return [r.id for r in access.page(conn, f, before_id=None, limit=100)]


@pytest.mark.parametrize(("f", "expected"), [
    (AccessFilter(), [9, 8, 7, 6, 5, 4, 3, 2, 1]),
    (AccessFilter(path_prefix="/data/a"), [8, 7, 6, 4, 3, 2, 1]),
    (AccessFilter(path_prefix="/data/a2"), [5]),
    (AccessFilter(path_prefix=ODD), [6]),
    (AccessFilter(labels=("pii",)), [9, 8, 7, 6, 5, 2, 1]),
    (AccessFilter(labels=("hr", "pii-x")), [4, 3]),
    (AccessFilter(labels=('we"ird',)), [4]),
    (AccessFilter(labels=("%",)), []),
    (AccessFilter(users=("alice",)), [9, 6, 5, 4, 3, 2, 1]),
    (AccessFilter(users=("1001",)), [9, 8, 6, 5, 4, 3, 2, 1]),
    (AccessFilter(users=("1002",)), [8]),
    (AccessFilter(kinds=("deleted",)), [2]),
    (AccessFilter(kinds=("deleted", "opened")), [9, 8, 7, 6, 5, 4, 3, 2, 1]),
    (AccessFilter(since=T0 + 3, until=T0 + 6), [5, 4, 3]),
    (AccessFilter(since=T0 + 100), [9]),
    (AccessFilter(path_prefix="/data/a", labels=("pii",), users=("alice",),
                  kinds=("opened",), since=T0 + 2), [6]),
])
def test_each_filter_narrows(engine: sa.Engine, f: AccessFilter,
                             expected: list[int]) -> None:
    assert _ids(engine, f) == expected


def test_pages_by_keyset_and_records_round_trip(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        first = access.page(conn, AccessFilter(), before_id=None, limit=4)
        second = access.page(conn, AccessFilter(), before_id=first[-1].id, limit=4)
        third = access.page(conn, AccessFilter(), before_id=second[-1].id, limit=4)
        every = list(access.iter_records(conn, AccessFilter(), chunk=2))
    assert [r.id for r in first + second + third] == [9, 8, 7, 6, 5, 4, 3, 2, 1]
    assert every == first + second + third
    odd = next(r for r in every if r.id == 6)
    assert odd.path == ODD and odd.actor == ALICE and odd.labels == ("pii",)
    assert next(r for r in every if r.id == 7).actor is None


def test_a_broad_prefix_or_window_gives_the_same_rows(store_url: str) -> None:
    engine = open_engine(store_url)
    n = access._BROAD + 100
    with transaction(engine) as conn:
        access.insert_records(conn, [_rec(f"/wide/{i % 5}/{i}", i) for i in range(1, n + 1)],
                              host="fs-a")
    with engine.connect() as conn:
        wide = [r.id for r in access.iter_records(conn, AccessFilter(path_prefix="/wide"))]
        window = [r.id for r in access.iter_records(
            conn, AccessFilter(since=T0 + 10, until=T0 + n - 10), chunk=500)]
        narrow = [r.id for r in access.page(conn, AccessFilter(path_prefix="/wide/3"),
                                            before_id=None, limit=n)]
    assert wide == list(range(n, 0, -1))
    assert window == list(range(n - 11, 9, -1))
    assert narrow == [i for i in range(n, 0, -1) if i % 5 == 3]
