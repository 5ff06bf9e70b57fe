"""Table fingerprints: rows/s to fingerprint, lookup latency of a 5,000-row table against
1k/10k labelled tables, index bytes per labelled row, and what is (not) found.

    .venv/bin/python bench/fingerprint_tables_bench.py            # 1k, 10k tables of 100 rows
    .venv/bin/python bench/fingerprint_tables_bench.py --quick    # tables of 10 rows (< 40 s)

One run, medians of repeated lookups, a markdown table on stdout and in
bench/results/fingerprint-tables-latest.md. The tables are wind-tunnel run tables (an
identifier, a date, five measurements, three choices; as in tests/fingerprint). The one
labelled table a query should find is registered for real (CSV text -> rows -> prints);
the other 1k/10k are built synthetically but to scale: each row holds the real prints of
common values (dates, settings, names: the cells every such table shares, which the lookup
must bound) beside random prints for its rare cells, and 15 pair prints.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from dlpd.fingerprint.cells import canonical_cell  # noqa: E402
from dlpd.fingerprint.delimited import rows_from_text  # noqa: E402
from dlpd.fingerprint.table import (  # noqa: E402
    K_ANCHORS,
    ROW_EXCESS_BITS,
    cell_print,
    source_pairs,
    table_prints,
)
from dlpd.store import fingerprint_tables as tables  # noqa: E402
from dlpd.store import fingerprints  # noqa: E402
from dlpd.store.db import open_engine, transaction  # noqa: E402
from dlpd.store.schema import dlpd_meta  # noqa: E402

HEADER = ["run_id", "date", "mach", "alpha_deg", "pressure_kpa", "temperature_k", "config",
          "operator", "status"]
CONFIGS = ["clean", "flaps-10", "flaps-20", "gear-down", "spoiler", "clean-trip"]
OPERATORS = ["a.kato", "b.lee", "c.ngata", "d.moreau", "e.silva", "f.ito", "g.khan", "h.berg",
             "i.rossi", "j.novak", "k.tanaka", "l.odu"]
STATUS = ["ok", "ok", "ok", "rerun", "fail"]
QUERY_ROWS = 5000
LABELLED_ROWS = 5000


def run_table(rng: random.Random, n: int, prefix: str = "K17") -> list[list[str]]:
    ids = rng.sample(range(100_000), n)
    return [[f"{prefix}-R{ids[i]:05d}",
             f"2024-{1 + rng.randrange(12):02d}-{1 + rng.randrange(28):02d}",
             f"{rng.uniform(0.3, 3.0):.2f}", f"{rng.uniform(-5, 15):.1f}",
             f"{rng.uniform(50, 500):.1f}", f"{rng.gauss(290, 15):.2f}", rng.choice(CONFIGS),
             rng.choice(OPERATORS), rng.choice(STATUS)] for i in range(n)]


def csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def fingerprint_rate(key: bytes, rounds: int) -> tuple[float, float, int]:
    """Rows/s from CSV text to registered prints (rows_from_text, table_prints, the pair
    prints a source registers), and the same from rows (no CSV parsing)."""
    rows = [HEADER, *run_table(random.Random(5), LABELLED_ROWS)]
    text = csv_text(rows)
    whole, from_rows = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        parsed = rows_from_text(text)
        assert parsed is not None
        prints = table_prints(parsed, key)
        pairs = source_pairs(prints)
        whole.append(time.perf_counter() - t)
        t = time.perf_counter()
        source_pairs(table_prints(rows, key))
        from_rows.append(time.perf_counter() - t)
    return (LABELLED_ROWS / statistics.median(whole), LABELLED_ROWS / statistics.median(from_rows),
            len(pairs))


def index_bytes_per_row(tmp: Path, key: bytes) -> tuple[float, int, int]:
    """One real 5,000-row source: SQLite bytes (after VACUUM) per registered row."""
    path = tmp / "one.db"
    engine = open_engine(f"sqlite:///{path}")
    with transaction(engine) as conn:
        conn.execute(dlpd_meta.insert().values(name=fingerprints.CELL_KEY,
                                                            value=key))
    engine.dispose()
    base = _db_size(path)
    engine = open_engine(f"sqlite:///{path}")
    rows = run_table(random.Random(11), LABELLED_ROWS)
    prints = table_prints([HEADER, *rows], key)
    with transaction(engine) as conn:
        sid = fingerprints.register(conn, host="h", path="/d/one.csv", sha256="0" * 64,
                                    labels=["x"], origin={}, text=None, table=prints, now=1.0)
        entries = tables.register_table(conn, sid, prints)
    engine.dispose()
    return (_db_size(path) - base) / prints.rows, entries, prints.rows


def _db_size(path: Path) -> int:
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.execute("VACUUM")
    raw.close()
    return path.stat().st_size


def common_prints(key: bytes) -> list[list[int]]:
    """Per column, the real prints of the values every run table shares."""
    dates = [f"2024-{m:02d}-{d:02d}" for m in range(1, 13) for d in range(1, 29)]
    mach = [f"{x / 100:.2f}" for x in range(30, 301)]
    alpha = [f"{x / 10:.1f}" for x in range(-50, 151)]
    columns = [dates, mach, alpha, CONFIGS, OPERATORS, ["ok", "rerun", "fail"]]
    out = []
    for values in columns:
        canon = {c for c in map(canonical_cell, values) if c is not None}
        out.append([cell_print(c, key) for c in sorted(canon)])
    return out


def build_index(path: Path, key: bytes, sources: int, rows_per: int,
                rng: random.Random) -> float:
    """``sources`` synthetic run tables of ``rows_per`` rows, then the real labelled one."""
    engine = open_engine(f"sqlite:///{path}")
    with transaction(engine) as conn:
        conn.execute(dlpd_meta.insert().values(name=fingerprints.CELL_KEY,
                                                            value=key))
    engine.dispose()
    t = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("DROP INDEX ix_fp_cells_source")
    db.executemany(
        "INSERT INTO fp_sources (id, host, path_key, path, sha256, labels, origin, kind, "
        "prints, rows, registered) VALUES (?, 'h', ?, ?, ?, '[\"x\"]', '{}', 'table', 0, ?, 1)",
        ((i, f"/d/{i}.csv".encode(), f"/d/{i}.csv", f"{i:064x}", rows_per)
         for i in range(1, sources + 1)))
    common = common_prints(key)
    batch: list[tuple[int, int, int]] = []
    pairs_per_row = K_ANCHORS * (K_ANCHORS - 1) // 2
    for i in range(1, sources + 1):
        counts: dict[int, int] = {}
        for _ in range(rows_per):
            row = [rng.getrandbits(63) for _ in range(3)] + [rng.choice(c) for c in common]
            for p in row:
                counts[p] = counts.get(p, 0) + 1
            for _ in range(pairs_per_row):
                counts[rng.getrandbits(63)] = 1
        batch.extend((p, i, n) for p, n in counts.items())
        if len(batch) > 2_000_000:
            _flush(db, batch)
    _flush(db, batch)
    db.execute("CREATE INDEX ix_fp_cells_source ON fp_cells (source_id)")
    db.commit()
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    took = time.perf_counter() - t
    engine = open_engine(f"sqlite:///{path}")
    labelled = run_table(random.Random(17), LABELLED_ROWS)
    with transaction(engine) as conn:
        prints = table_prints([HEADER, *labelled], key)
        sid = fingerprints.register(conn, host="h", path="/data/k17/runs.csv", sha256="f" * 64,
                                    labels=["export-controlled"], origin={}, text=None,
                                    table=prints, now=1.0)
        tables.register_table(conn, sid, prints)
    engine.dispose()
    return took


def _flush(db: sqlite3.Connection, batch: list[tuple[int, int, int]]) -> None:
    batch.sort()
    db.executemany("INSERT OR IGNORE INTO fp_cells (print, source_id, rows) VALUES (?, ?, ?)",
                   batch)
    batch.clear()


def queries() -> dict[str, str]:
    labelled = run_table(random.Random(17), LABELLED_ROWS)  # the labelled table's rows
    extract = random.Random(3).sample(labelled, 200)
    unrelated = run_table(random.Random(23), QUERY_ROWS, prefix="Q9")
    mixed = unrelated[:QUERY_ROWS - 200] + [r[:2] + r[3:] for r in extract]  # a column out
    random.Random(4).shuffle(mixed)
    resampled_rows = [[random.Random(i * 9 + j).choice(labelled)[j] for j in range(9)]
                      for i in range(QUERY_ROWS)]
    rng = random.Random(31)
    patients = [[f"PT-{rng.randrange(10**6):06d}", rng.choice(["kato", "lee", "ngata", "silva"]),
                 f"19{rng.randrange(40, 99)}-{1 + rng.randrange(12):02d}-"
                 f"{1 + rng.randrange(28):02d}",
                 rng.choice(["f", "m"]), f"ward-{rng.randrange(12)}", f"{rng.gauss(5.5, 1):.2f}"]
                for _ in range(QUERY_ROWS)]
    return {
        "another kind of table, 5,000 rows (patients)": csv_text(
            [["patient", "name", "born", "sex", "ward", "hba1c"], *patients]),
        "5,000 run-table rows of another project": csv_text([HEADER, *unrelated]),
        "5,000 rows, 200 of them labelled (a column dropped)": csv_text(
            [HEADER[:2] + HEADER[3:], *[r[:2] + r[3:] if len(r) == 9 else r for r in mixed]]),
        "5,000 rows resampled from the labelled columns": csv_text([HEADER, *resampled_rows]),
    }


def lookup(path: Path, text: str, rounds: int) -> tuple[float, float, list[tables.TableCandidate]]:
    engine = open_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        key = fingerprints.cell_key(conn)
        t = time.perf_counter()
        rows = rows_from_text(text)
        assert rows is not None
        prints = table_prints(rows, key)
        fp_ms = (time.perf_counter() - t) * 1000
        found = tables.table_candidates(conn, prints)  # warm: pages in the cache
        times = []
        for _ in range(rounds):
            t = time.perf_counter()
            found = tables.table_candidates(conn, prints)
            times.append(time.perf_counter() - t)
    engine.dispose()
    return fp_ms, statistics.median(times) * 1000, found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tables of 10 rows, 2 rounds")
    parser.add_argument("--out", type=Path,
                        default=HERE / "results" / "fingerprint-tables-latest.md")
    args = parser.parse_args()
    rng = random.Random(1)
    key = bytes(range(32))
    rows_per = 10 if args.quick else 100
    rounds = 2 if args.quick else 5
    rate_text, rate_rows, pairs = fingerprint_rate(key, rounds)
    lines = [
        "# Table fingerprints", "",
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}; {K_ANCHORS} anchors a row, a row matches at "
        f"{ROW_EXCESS_BITS:g} bits over log2(N); {'--quick' if args.quick else 'full run'}; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start", "",
        "| measure | value |", "|---|---|",
        f"| fingerprint rate, CSV text to prints (5,000-row table) | {rate_text:,.0f} rows/s |",
        f"| fingerprint rate, rows to prints | {rate_rows:,.0f} rows/s |",
        f"| pair prints of the 5,000-row table | {pairs:,} |",
    ]
    with tempfile.TemporaryDirectory(prefix="dlpd-fptables-") as tmp_name:
        tmp = Path(tmp_name)
        per_row, entries, nrows = index_bytes_per_row(tmp, key)
        lines.append(f"| index on disk per labelled row | {per_row:.0f} bytes "
                     f"({entries:,} prints for {nrows:,} rows) |")
        lines += ["", f"Lookups of a {QUERY_ROWS:,}-row CSV table (fingerprinting it is "
                  "not in the lookup time; it is in the last column):", "",
                  "| labelled tables | build | query | lookup (ms) | found (source: rows) | "
                  "fingerprint the query (ms) |", "|---|---|---|---|---|---|"]
        texts = queries()
        for sources in (1_000, 10_000):
            path = tmp / f"idx{sources}.db"
            built = build_index(path, key, sources, rows_per, rng)
            for name, text in texts.items():
                fp_ms, ms, found = lookup(path, text, rounds)
                shown = ", ".join(f"{c.source_id}: {c.rows}" for c in found) or "none"
                lines.append(f"| {sources:,} + 1 of {rows_per} rows each | {built:.1f} s | "
                             f"{name} | {ms:.1f} | {shown} | {fp_ms:.0f} |")
            path.unlink()
    report = "\n".join(lines) + "\n"
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
