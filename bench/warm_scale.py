"""How a warm rescan scales with file count: the incremental cache on many small files.

The scan issue asks that a warm rescan of 1M unchanged files be feasible in well under a
minute. This makes N tiny files (default 200,000) in a temporary directory, runs one cold
``dlpd scan`` to fill the store, then times warm rescans and reports files/s and the
extrapolation to 1M files. Run: ``python bench/warm_scale.py [--files N] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_tree(root: Path, files: int) -> None:
    per_dir = 1000
    for i in range(files):
        d = root / f"d{i // per_dir:05d}"
        if i % per_dir == 0:
            d.mkdir()
        (d / f"f{i:07d}.txt").write_bytes(b"sample %d\n" % i)
    old = time.time() - 3600  # written "long ago": nothing is racy
    for d in root.iterdir():
        for f in d.iterdir():
            os.utime(f, (old, old))


def timed_scan(dlpd: list[str], root: Path, config: Path, *extra: str) -> tuple[float, int]:
    started = time.perf_counter()
    proc = subprocess.run([*dlpd, "scan", str(root), "--config", str(config), "--format",
                           "jsonl", *extra], stdout=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        sys.exit(f"dlpd scan failed with exit {proc.returncode}")
    return elapsed, proc.stdout.count(b"\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    dlpd = [sys.executable, "-m", "dlpd"]
    with tempfile.TemporaryDirectory(prefix="dlpd-warm-") as tmp:
        root, config = Path(tmp) / "tree", Path(tmp) / "dlpd.toml"
        root.mkdir()
        config.write_text(f'[database]\nurl = "sqlite:///{tmp}/dlpd.db"\n')
        t0 = time.perf_counter()
        make_tree(root, args.files)
        print(f"made {args.files} files in {time.perf_counter() - t0:.1f}s", flush=True)
        cold, n = timed_scan(dlpd, root, config)
        print(f"cold scan: {cold:.1f}s for {n} files ({n / cold:.0f} files/s)", flush=True)
        warm = [timed_scan(dlpd, root, config)[0] for _ in range(args.rounds)]
        median = statistics.median(warm)
        print(f"warm rescan: median {median:.2f}s over {args.rounds} rounds "
              f"({args.files / median:.0f} files/s); 1M files extrapolated: "
              f"{median * 1_000_000 / args.files:.0f}s")


if __name__ == "__main__":
    main()
