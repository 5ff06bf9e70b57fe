"""The Python floor: the least any yara-python scanner must do, for reading benchmark results.

    python bench/floor_scan.py --jobs 2 RULES_DIR DIR

Walks DIR, reads each file whole, hashes it (sha256) and matches it with yara-python on a
thread pool; no libmagic, no extraction, no validators, no store, no output but a count.
If dlpd is far above this, the gap is dlpd's own work; if this is already near the yara
CLI, the throughput target is within reach of a Python pipeline.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yara


def compile_rules(rules_dir: Path) -> Any:
    files = sorted(rules_dir.glob("*.yar"))
    return yara.compile(filepaths={f"f{i}_{p.stem}": str(p) for i, p in enumerate(files)})


def scan_one(rules: Any, path: str) -> int:
    with open(path, "rb", buffering=0) as handle:
        data = handle.read()
    hashlib.sha256(data).digest()
    return len(rules.match(data=data, timeout=60))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("rules_dir", type=Path)
    parser.add_argument("dir")
    args = parser.parse_args(argv)
    rules = compile_rules(args.rules_dir)
    paths = [os.path.join(d, n) for d, _, names in os.walk(args.dir) for n in names]
    with ThreadPoolExecutor(args.jobs) as pool:
        matches = sum(pool.map(lambda p: scan_one(rules, p), paths, chunksize=16))
    print(f"{len(paths)} files, {matches} rule matches")
    return 0


if __name__ == "__main__":
    sys.exit(main())
