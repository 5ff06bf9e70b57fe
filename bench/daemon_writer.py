"""The writer process of bench/daemon_bench.py: creates files and records when each closed.

    python bench/daemon_writer.py paced --dir D --rate 100 --count 500 [--mix SPEC] --out F
    python bench/daemon_writer.py storm --root D --dirs 10 --count 10000 --out F

``paced``: file ``n`` is opened at ``start + n / rate`` (an absolute schedule: a late file
does not delay the ones after it); every file is sensitive (an ITAR marking first, padding
after up to its size). ``--mix`` is ``SIZE:WEIGHT,...`` (sizes in bytes; a weight is how
many files of that size in each cycle of ``sum(weights)`` files), default: all small.
``storm``: ``--count`` files as fast as possible, round-robin over ``--dirs`` directories
``ROOT/d0..``; every 20th file is sensitive, the others 200-odd plain bytes.

The output is JSON: the wall time (``time.time()``) right after each ``close()``, which is
what an alert's ``created`` is compared with. A separate process, so that the daemon and
the benchmark's polling do not share an interpreter (or a GIL) with the writer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

# The same marking as tests/daemon/harness.py: the shipped export-control rule fires on it.
ITAR_TEXT = (
    "WARNING - This document contains technical data whose export is restricted by the\n"
    "Arms Export Control Act (Title 22, U.S.C., Sec 2751, et seq.) and the International\n"
    "Traffic in Arms Regulations (ITAR), 22 CFR 120-130. Violations of these export laws\n"
    "are subject to severe criminal penalties.\n"
)
_PAD_LINE = b"telemetry frame 000000 baffle temperature nominal; gyro bias within limits\n"
SENSITIVE_EVERY = 20


def sensitive_bytes(n: int, size: int = 0) -> bytes:
    """An ITAR-marked note, unique by ``n`` (so every file is its own alert), padded with
    plain text lines up to ``size`` bytes."""
    head = f"{ITAR_TEXT}\nStar tracker baffle thermal model, revision {n}.\n".encode()
    if size <= len(head):
        return head
    pad = size - len(head)
    return head + (_PAD_LINE * (pad // len(_PAD_LINE) + 1))[:pad]


def parse_mix(spec: str) -> list[int]:
    """``"4096:17,1048576:2,10485760:1"`` -> one cycle of sizes, spread out (not bunched)."""
    pairs = []
    for part in spec.split(","):
        size, _, weight = part.partition(":")
        pairs.append((int(size), int(weight or "1")))
    total = sum(w for _, w in pairs)
    # Place each size's files evenly across the cycle (largest first claims its slots).
    cycle: list[int | None] = [None] * total
    for size, weight in sorted(pairs, key=lambda p: -p[0]):
        for k in range(weight):
            slot = (k * total) // weight
            while cycle[slot] is not None:
                slot = (slot + 1) % total
            cycle[slot] = size
    return [s for s in cycle if s is not None]


def paced(directory: Path, rate: float, count: int, mix: list[int]) -> dict[str, object]:
    bodies: dict[int, bytes] = {}  # padding per size, built once
    records = []
    start = time.monotonic() + 0.2
    worst_lag = 0.0
    for n in range(count):
        due = start + n / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            worst_lag = max(worst_lag, -delay)
        size = mix[n % len(mix)]
        if size not in bodies:
            bodies[size] = sensitive_bytes(0, size)
        head = sensitive_bytes(n)
        base = bodies[size]
        data = head + base[len(head):] if len(base) > len(head) else head
        path = directory / f"p{n:06d}.txt"
        opened = time.time()
        with open(path, "wb") as handle:
            handle.write(data)
        closed = time.time()
        records.append([path.name, round(opened, 6), round(closed, 6), len(data)])
    return {"files": records, "worst_lag": worst_lag}


def storm_path(root: Path, dirs: int, n: int) -> Path:
    return root / f"d{n % dirs}" / f"f{n:06d}.txt"


def storm(root: Path, dirs: int, count: int) -> dict[str, object]:
    plain = b"x" * 200
    first = time.time()
    for n in range(count):
        path = storm_path(root, dirs, n)
        data = sensitive_bytes(n) if n % SENSITIVE_EVERY == 0 else plain + str(n).encode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    return {"first_write": first, "last_close": time.time(), "count": count}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("paced")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--rate", type=float, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--mix", default="512:1")
    p.add_argument("--out", type=Path, required=True)
    s = sub.add_parser("storm")
    s.add_argument("--root", type=Path, required=True)
    s.add_argument("--dirs", type=int, default=10)
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.mode == "paced":
        result = paced(args.dir, args.rate, args.count, parse_mix(args.mix))
    else:
        result = storm(args.root, args.dirs, args.count)
    args.out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
