"""Table fingerprints on a real SQLite store: what a labelled table's rows are recognised
in (an extract with rows reordered and a column dropped, a workbook and an OpenDocument
sheet built from its rows, read by dlpd's own extractors) and what they are not (a table of
independent rows with the same value distributions, one that shares only the header)."""

from __future__ import annotations

import csv
import io
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import sqlalchemy as sa
from corpus_formats import ods_bytes, xlsx_bytes

from dlpd.classify.extract import extract
from dlpd.classify.limits import Budget, Limits
from dlpd.fingerprint.delimited import rows_from_text
from dlpd.fingerprint.table import MIN_ROWS, TablePrints, table_prints
from dlpd.store import fingerprint_tables as repo
from dlpd.store import fingerprints
from dlpd.store.db import open_engine, transaction
from dlpd.store.schema import fp_cells, fp_sources

HEADER = ["run_id", "date", "mach", "alpha_deg", "pressure_kpa", "temperature_k", "config",
          "operator", "status"]
CONFIGS = ["clean", "flaps-10", "flaps-20", "gear-down", "spoiler", "clean-trip"]
OPERATORS = ["a.kato", "b.lee", "c.ngata", "d.moreau", "e.silva", "f.ito", "g.khan", "h.berg",
             "i.rossi", "j.novak", "k.tanaka", "l.odu"]
STATUS = ["ok", "ok", "ok", "rerun", "fail"]


def run_table(rng: random.Random, n: int) -> list[list[str]]:
    """A wind-tunnel run table: an identifier, a date, five measurements, three choices."""
    ids = rng.sample(range(100_000), n)
    return [[f"K17-R{ids[i]:05d}", f"2024-{1 + rng.randrange(12):02d}-{1 + rng.randrange(28):02d}",
             f"{rng.uniform(0.3, 3.0):.2f}", f"{rng.uniform(-5, 15):.1f}",
             f"{rng.uniform(50, 500):.1f}", f"{rng.gauss(290, 15):.2f}", rng.choice(CONFIGS),
             rng.choice(OPERATORS), rng.choice(STATUS)] for i in range(n)]


def resampled(rng: random.Random, rows: Sequence[Sequence[str]], n: int) -> list[list[str]]:
    """Rows whose every cell is drawn, independently, from the same column of ``rows``:
    the same value distributions (identifiers included), no row of the source."""
    columns = list(zip(*rows, strict=True))
    return [[rng.choice(column) for column in columns] for _ in range(n)]


def csv_text(rows: Sequence[Sequence[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return out.getvalue()


def without(rows: Sequence[Sequence[str]], column: int) -> list[list[str]]:
    return [[c for j, c in enumerate(r) if j != column] for r in rows]


def as_numbers(rows: Sequence[Sequence[str]]) -> list[list[str | float]]:
    """Cells a spreadsheet stores as numbers (1.50 becomes 1.5), the rest as strings."""
    def cell(value: str) -> str | float:
        try:
            return float(value)
        except ValueError:
            return value
    return [[cell(c) for c in row] for row in rows]


def sheet_text(kind_bytes: bytes) -> str:
    (text, *_) = extract("zip", io.BytesIO(kind_bytes), Budget(Limits()))
    assert text.is_text
    return text.data.decode()


@pytest.fixture(scope="module")
def source() -> list[list[str]]:
    return run_table(random.Random(17), 5000)


def add_source(conn: sa.Connection, path: str, prints: TablePrints) -> int:
    """A labelled table: its source row (F1's register), then its table prints."""
    source_id = fingerprints.register(
        conn, host="h", path=path, sha256="00" * 32, labels=["export-controlled"],
        origin={}, text=None, table=prints, now=1.0)
    repo.register_table(conn, source_id, prints)
    return source_id


def prints_of(text: str, key: bytes) -> TablePrints:
    rows = rows_from_text(text)
    assert rows is not None
    return table_prints(rows, key)


class Store(NamedTuple):
    engine: sa.Engine
    source_id: int
    key: bytes


def labelled_store(directory: Path, source: list[list[str]]) -> Store:
    """The run table registered as a labelled CSV file, beside an unrelated table."""
    engine = open_engine(f"sqlite:///{directory}/dlpd.db")
    with transaction(engine) as conn:
        key = fingerprints.cell_key(conn)
        sid = add_source(conn, "/data/k17/runs.csv", prints_of(csv_text([HEADER, *source]), key))
        other = run_table(random.Random(99), 3000)
        add_source(conn, "/data/other/runs.csv", prints_of(csv_text([HEADER, *other]), key))
    return Store(engine, sid, key)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, source: list[list[str]]) -> Store:
    """Shared by the tests that only look up."""
    return labelled_store(tmp_path_factory.mktemp("store"), source)


@pytest.fixture
def own_store(tmp_path: Path, source: list[list[str]]) -> Store:
    """For a test that changes the index."""
    return labelled_store(tmp_path, source)


def lookup(engine: sa.Engine, text: str) -> list[repo.TableCandidate]:
    with transaction(engine) as conn:
        return repo.table_candidates(conn, prints_of(text, fingerprints.cell_key(conn)))


@pytest.mark.parametrize("dropped", [0, 4, 6])  # the identifier, a measurement, a choice
def test_extract_of_200_rows_reordered_one_column_dropped_is_found(
        store: Store, source: list[list[str]], dropped: int) -> None:
    engine, sid, _ = store
    rows = random.Random(dropped).sample(source, 200)  # sample: a new order too
    text = csv_text(without([HEADER, *rows], dropped))
    (found, *rest) = lookup(engine, text)
    assert found.source_id == sid and found.rows == 200 and found.score > 0
    assert found.is_derived
    assert not rest  # the unrelated table is no candidate


def test_workbook_built_from_labelled_rows_is_found(
        store: Store, source: list[list[str]]) -> None:
    engine, sid, _ = store
    rows = random.Random(5).sample(source, 300)
    text = sheet_text(xlsx_bytes([without([HEADER], 3)[0], *as_numbers(without(rows, 3))],
                                 sheet="extract"))
    assert "\t" in text  # dlpd's worksheet text: cells tab-separated
    (found,) = lookup(engine, text)
    assert (found.source_id, found.rows) == (sid, 300)


def test_opendocument_sheet_built_from_labelled_rows_is_found(
        store: Store, source: list[list[str]]) -> None:
    engine, sid, _ = store
    rows = source[1000:1040]
    (found,) = lookup(engine, sheet_text(ods_bytes([HEADER, *as_numbers(rows)])))
    assert (found.source_id, found.rows) == (sid, 40)


@pytest.mark.parametrize("how", ["same generator", "resampled columns"])
def test_independent_rows_with_the_same_distributions_are_not_found(
        store: Store, source: list[list[str]], how: str) -> None:
    engine = store.engine
    rng = random.Random(2024)
    rows = run_table(rng, 20_000) if how == "same generator" else resampled(rng, source, 20_000)
    assert lookup(engine, csv_text([HEADER, *rows])) == []


def test_a_shared_header_alone_is_not_found(
        store: Store) -> None:
    engine = store.engine
    rng = random.Random(3)
    rows = [[f"Q-{rng.randrange(10**6)}", "2031-01-01", f"{rng.random():.6f}", "x1", "y2",
             "z3", "w4", "v5", "u6"] for _ in range(50)]
    assert lookup(engine, csv_text([HEADER, *rows])) == []
    # Even a header of text columns, which stays a row, is one row: short of MIN_ROWS.
    words = [[f"w{i}-{j}" for j in range(9)] for i in range(20)]
    assert MIN_ROWS > 1 and lookup(engine, csv_text([HEADER, *words])) == []


def test_values_common_to_many_labelled_tables_still_weigh_inside_one(
        own_store: Store, source: list[list[str]]) -> None:
    """Dates, settings and names that every run table of the lab holds are no way to pick
    a candidate (too many sources hold them), but inside the one table they are evidence:
    without them a row with its identifier dropped falls below the bar."""
    engine, sid, key = own_store
    rng = random.Random(8)
    with transaction(engine) as conn:
        for i in range(repo.MAX_SOURCES_PER_CELL + 10):
            rows = [[f"P{i}-{j}", *row[1:4], f"{rng.random():.6f}", f"{rng.random():.6f}",
                     *row[6:]] for j, row in enumerate(rng.sample(source, 200))]
            add_source(conn, f"/data/lab/{i}.csv", table_prints(rows, key))
    rows = random.Random(1).sample(source, 200)
    (found,) = lookup(engine, csv_text(without([HEADER, *rows], 0)))
    assert (found.source_id, found.rows) == (sid, 200)


def test_few_rows_are_counted_but_not_enough(
        store: Store, source: list[list[str]]) -> None:
    engine, sid, _ = store
    (found,) = lookup(engine, csv_text([HEADER, *source[:MIN_ROWS - 1]]))
    assert (found.source_id, found.rows) == (sid, MIN_ROWS - 1) and not found.is_derived


def test_stoplisted_cells_are_left_out(own_store: Store, source: list[list[str]]) -> None:
    engine, _, key = own_store
    rows = source[:50]
    prints = table_prints(rows, key)
    with transaction(engine) as conn:
        fingerprints.stop_prints(conn, prints.cells, "common", kind="cell")
    assert lookup(engine, csv_text(rows)) == []


def test_register_replaces_the_prints_and_the_key_is_kept(own_store: Store, source: list[list[str]]
                                                ) -> None:
    engine, sid, key = own_store
    with transaction(engine) as conn:
        assert fingerprints.cell_key(conn) == key
        repo.register_table(conn, sid, table_prints(source[:100], key))
        assert conn.execute(sa.select(fp_sources.c.rows).where(fp_sources.c.id == sid)
                            ).scalar() == 100
    (found,) = lookup(engine, csv_text(source[:100]))
    assert (found.source_id, found.rows) == (sid, 100)
    assert lookup(engine, csv_text(source[200:300])) == []


def test_no_cell_value_reaches_the_store(store: Store, source: list[list[str]]) -> None:
    engine = store.engine
    raw = Path(str(engine.url.database)).read_bytes()
    for cell in (source[0][0], source[0][4], "a.kato", "flaps-10"):
        assert cell.encode() not in raw and cell.lower().encode() not in raw


# Every SCAN in a plan must be of the query's own temporary table (aliased q: its cells,
# read whole, rightly) or of a bounded subquery; an index table (under any alias) only
# ever SEARCHed.
_ALLOWED_SCAN = re.compile(r"SCAN (?:TABLE )?(?:q|fp_cell_query|fp_cell_probe|"
                           r"\(subquery-\d+\)|CONSTANT ROW)")


def test_lookups_use_the_index_never_a_scan(store: Store, source: list[list[str]]) -> None:
    engine = store.engine
    statements: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
             _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        found = lookup(engine, csv_text([HEADER, *source[:200]]))
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    assert found and found[0].rows == 200
    touched = {t for s, _ in statements for t in re.findall(r"\bfp_\w+", s)}
    assert {"fp_cells", "fp_sources", "fp_stop"} <= touched
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS fp_cell_query (print BIGINT)")
        conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS fp_cell_probe "
                             "(source_id INTEGER, print BIGINT)")
        for statement, parameters in statements:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            details = [str(row[-1]) for row in plan]
            scans = [d for d in details if d.startswith("SCAN") and not _ALLOWED_SCAN.fullmatch(d)]
            assert not scans, f"{statement}\n{details}"


def test_an_empty_index_finds_nothing(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path}/dlpd.db")
    with transaction(engine) as conn:
        key = fingerprints.cell_key(conn)
        prints = table_prints([["S-1", "2.5", "x1"], ["S-2", "3.5", "x2"]], key)
        assert repo.table_candidates(conn, prints) == []
        assert conn.execute(sa.select(sa.func.count()).select_from(fp_cells)).scalar() == 0
