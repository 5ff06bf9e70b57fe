"""Text fingerprints: build rate, lookup latency against 1k/10k/100k labelled documents,
index size per labelled MB, and the indexed lookup against a join that scans fp_text.

    .venv/bin/python bench/fingerprint_bench.py            # 1k, 10k, 100k (~3 min)
    .venv/bin/python bench/fingerprint_bench.py --quick    # 1k, 10k (< 40 s)

One run, medians of repeated lookups, a markdown table on stdout and in
bench/results/fingerprint-latest.md. Prose is the standard library's docstrings
(tests/fingerprint/text_corpus.py). The large indexes are built synthetically but to
scale: every document holds as many prints as a real 10 kB text gives, 2% of them drawn
from a pool of boilerplate prints shared by many documents (the df bound's work).
"""

from __future__ import annotations

import argparse
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
sys.path.insert(0, str(HERE.parent / "tests"))

from fingerprint.text_corpus import MODULES, module_text  # noqa: E402

from dlpd.fingerprint.text import K, W, text_prints  # noqa: E402
from dlpd.store import fingerprints as repo  # noqa: E402
from dlpd.store.db import open_engine, transaction  # noqa: E402

DOC_BYTES = 10_000
BOILER_POOL = 200
BOILER_SHARE = 0.02


def prose(size: int) -> str:
    parts = [module_text(m, limit=10**7) for m in MODULES]
    text = "\n\n".join(p for p in parts if p)
    out, n = [], 0
    while n < size:  # repeated with its words in reverse: the same work, other prints
        piece = text if len(out) % 2 == 0 else " ".join(reversed(text.split(" ")))
        out.append(piece)
        n += len(piece.encode())
    return "".join(out).encode()[:size].decode("utf-8", "ignore")


def build_rate(text: str, rounds: int) -> tuple[float, float, int]:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        prints = text_prints(text)
        times.append(time.perf_counter() - t)
    mb = len(text.encode()) / 1e6
    median = statistics.median(times)
    return mb / median, median * 1000, len(prints.prints)


def index_size_real(tmp: Path) -> tuple[float, float]:
    """Register the real corpus; SQLite file size (after VACUUM) per MB of text."""
    engine = open_engine(f"sqlite:///{tmp}/real.db")
    base = _db_size(tmp / "real.db", engine)
    text_mb = 0.0
    with transaction(engine) as conn:
        for i, name in enumerate(MODULES):
            text = module_text(name, limit=10**7)
            if not text:
                continue
            text_mb += len(text.encode()) / 1e6
            repo.register(conn, host="h", path=f"/data/{i}.txt", sha256=f"{i:064x}",
                          labels=["x"], origin={}, text=text_prints(text), table=None,
                          now=1.0)
    size = _db_size(tmp / "real.db", engine) - base
    engine.dispose()
    return size / 1e6 / text_mb, text_mb


def _db_size(path: Path, engine: object) -> int:
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.execute("VACUUM")
    raw.close()
    return path.stat().st_size


def build_index(path: Path, docs: int, per_doc: int, rng: random.Random) -> float:
    """``docs`` synthetic sources of ``per_doc`` prints; returns the build time."""
    engine = open_engine(f"sqlite:///{path}")
    engine.dispose()
    t = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("DROP INDEX ix_fp_text_source")
    boiler = [rng.getrandbits(63) for _ in range(BOILER_POOL)]
    n_boiler = max(1, int(per_doc * BOILER_SHARE))
    db.executemany(
        "INSERT INTO fp_sources (id, host, path_key, path, sha256, labels, origin, kind, "
        "prints, rows, registered) VALUES (?, 'h', ?, ?, ?, '[\"x\"]', '{}', 'text', ?, 0, 1)",
        ((i, f"/d/{i}".encode(), f"/d/{i}", f"{i:064x}", per_doc) for i in range(1, docs + 1)))
    batch: list[tuple[int, int]] = []
    for i in range(1, docs + 1):
        own = {rng.getrandbits(63) for _ in range(per_doc - n_boiler)}
        own.update(rng.sample(boiler, n_boiler))
        batch.extend((p, i) for p in own)
        if len(batch) > 2_000_000:
            batch.sort()
            db.executemany("INSERT OR IGNORE INTO fp_text (print, source_id) VALUES (?, ?)",
                           batch)
            batch.clear()
    batch.sort()
    db.executemany("INSERT OR IGNORE INTO fp_text (print, source_id) VALUES (?, ?)", batch)
    db.execute("CREATE INDEX ix_fp_text_source ON fp_text (source_id)")
    db.commit()
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return time.perf_counter() - t


def source_prints(path: Path, source_id: int) -> list[int]:
    db = sqlite3.connect(path)
    rows = db.execute("SELECT print FROM fp_text WHERE source_id = ?", (source_id,)).fetchall()
    db.close()
    return [r[0] for r in rows]


def lookup_ms(path: Path, prints: frozenset[int], rounds: int) -> tuple[float, int]:
    engine = open_engine(f"sqlite:///{path}")
    times, found = [], 0
    with engine.connect() as conn:
        repo.text_candidates(conn, prints)  # warm: pages in the cache, as in the daemon
        for _ in range(rounds):
            t = time.perf_counter()
            found = len(repo.text_candidates(conn, prints))
            times.append(time.perf_counter() - t)
    engine.dispose()
    return statistics.median(times) * 1000, found


SCAN_JOIN = """
SELECT t.source_id, count(*) FROM fp_text AS t CROSS JOIN temp.fp_query AS q
  ON q.print = t.print GROUP BY t.source_id
"""


def scan_ms(path: Path, prints: frozenset[int]) -> float:
    engine = open_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        repo._fill_query(conn, sorted(prints))
        t = time.perf_counter()
        conn.exec_driver_sql(SCAN_JOIN).all()
        took = time.perf_counter() - t
    engine.dispose()
    return took * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k and 10k documents only")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "fingerprint-latest.md")
    args = parser.parse_args()
    rng = random.Random(1)
    sizes = (1_000, 10_000) if args.quick else (1_000, 10_000, 100_000)
    rounds = 3 if args.quick else 5

    big, small = prose(1_000_000), prose(DOC_BYTES)
    rate, build_ms, big_prints = build_rate(big, rounds)
    small_prints = text_prints(small).prints
    per_doc = len(small_prints)
    lines = [
        "# Text fingerprints", "",
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, K={K} bytes, W={W} anchored k-grams; "
        f"{'--quick' if args.quick else 'full run'}", "",
        "| measure | value |", "|---|---|",
        f"| print build rate (1 MB of prose) | {rate:.2f} MB/s ({build_ms:.0f} ms, "
        f"{big_prints} prints) |",
        f"| prints of a 10 kB document | {per_doc} |",
    ]
    with tempfile.TemporaryDirectory(prefix="dlpd-fpbench-") as tmp_name:
        tmp = Path(tmp_name)
        per_mb, text_mb = index_size_real(tmp)
        lines.append(f"| index size, real corpus ({text_mb:.2f} MB of text) | "
                     f"{per_mb:.2f} MB per MB of text |")
        lookups = ["", "| labelled documents | build | index MB per text MB | "
                   "lookup 1 MB doc (ms) | lookup 10 kB doc (ms) | candidates |",
                   "|---|---|---|---|---|---|"]
        scan_line = ""
        for docs in sizes:
            path = tmp / f"idx{docs}.db"
            built = build_index(path, docs, per_doc, rng)
            size_ratio = path.stat().st_size / (docs * DOC_BYTES)
            # The queries hold 40% of one labelled document's prints: a real hit to count.
            hit = frozenset(source_prints(path, docs // 2)[: int(per_doc * 0.4)])
            big_ms, found = lookup_ms(path, big_prints_set(big) | hit, rounds)
            small_ms, _ = lookup_ms(path, small_prints | hit, rounds * 3)
            lookups.append(f"| {docs:,} | {built:.1f} s | {size_ratio:.2f} | {big_ms:.1f} | "
                           f"{small_ms:.2f} | {found} |")
            if docs == 10_000:
                scan_line = (f"| 1 MB doc against 10k documents: indexed {big_ms:.1f} ms, "
                             f"join scanning fp_text {scan_ms(path, big_prints_set(big)):.0f} ms |"
                             " |")
            path.unlink()
        lines += lookups
        if scan_line:
            lines += ["", "| indexed vs scan | |", "|---|---|", scan_line]
    report = "\n".join(lines) + "\n"
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    return 0


_BIG: dict[int, frozenset[int]] = {}


def big_prints_set(text: str) -> frozenset[int]:
    if id(text) not in _BIG:
        _BIG[id(text)] = text_prints(text).prints
    return _BIG[id(text)]


if __name__ == "__main__":
    raise SystemExit(main())
