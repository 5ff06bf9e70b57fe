"""How a warm rescan scales with file count: the incremental cache on many small files.

Issue 11 asks a warm rescan of 1M unchanged files in at most 10 s, at a peak RSS of at most
150 MB that does not grow with the tree. This makes N tiny files (default 200,000; 1,000 a
directory) in a temporary directory, runs one cold ``dlpd scan --format jsonl`` to fill
the store, then warm rescans, and reports the median wall time, CPU time and peak RSS
(``os.wait4`` of each child: bench_proc.run_measured) of each.

``--baseline REF`` also runs the dlpd of git revision REF (``git archive`` into a
temporary directory, first on PYTHONPATH; the same interpreter and store) interleaved with
the working tree's, round by round, so that before and after see the same machine.
``--baseline DIR`` takes the ``dlpd`` package in DIR instead, and ``--current DIR`` the
one measured as "current": copies of the working tree with and without a change keep
both sides on the same rules and store schema while others edit them (a baseline whose
rules differ reads every file; one without a newer migration cannot open the store).
Run: ``python bench/warm_scale.py [--files N] [--rounds 3] [--baseline REF|DIR]
[--current DIR]``.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from bench_proc import RunResult, run_measured

REPO = Path(__file__).resolve().parent.parent


def make_tree(root: Path, files: int, per_dir: int = 1000) -> None:
    old = time.time() - 3600  # written "long ago": nothing is racy
    for i in range(files):
        d = root / f"d{i // per_dir:05d}"
        if i % per_dir == 0:
            d.mkdir()
        path = d / f"f{i:07d}.txt"
        path.write_bytes(b"sample %d\n" % i)
        os.utime(path, (old, old))


def checkout(ref: str, into: Path) -> Path:
    """The source tree of ``ref`` (its ``dlpd`` package and data), unpacked in ``into``."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "dlpd"],
                             stdout=subprocess.PIPE, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def scan(source: Path | None, root: Path, config: Path, out: Path) -> RunResult:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source or REPO),
                                                      env.get("PYTHONPATH")]))
    # -P: not the current directory first on sys.path (run from the repository, -m would
    # import the working tree's dlpd whatever PYTHONPATH says).
    argv = [sys.executable, "-P", "-m", "dlpd", "scan", str(root), "--config", str(config),
            "--format", "jsonl"]
    result = run_measured(argv, out / "stdout.jsonl", out / "stderr.txt", env=env)
    if result.returncode not in (0, 1):
        sys.exit(f"dlpd scan failed with exit {result.returncode}: "
                 f"{(out / 'stderr.txt').read_text()[-2000:]}")
    return result


def cached(out: Path) -> int:
    """Results answered from the cache (a version that reads them is not warm)."""
    with (out / "stdout.jsonl").open("rb") as f:
        return sum(1 for line in f if b'"cached":true' in line)


def describe(name: str, runs: list[RunResult], files: int) -> str:
    wall = statistics.median(r.seconds for r in runs)
    cpu = statistics.median(r.user_seconds + r.system_seconds for r in runs)
    rss = statistics.median(r.maxrss_kib for r in runs) / 1024
    return (f"{name:<10} wall {wall:7.2f} s  cpu {cpu:7.2f} s  peak RSS {rss:6.0f} MB  "
            f"({files / wall:,.0f} files/s; 1M files: {wall * 1_000_000 / files:.0f} s wall, "
            f"{cpu * 1_000_000 / files:.0f} s cpu)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--per-dir", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", metavar="REF|DIR",
                        help="git revision (e.g. HEAD~3), or a directory holding a dlpd "
                             "package, to compare with, interleaved")
    parser.add_argument("--current", metavar="DIR", type=Path, default=None,
                        help="a directory holding the dlpd package to measure "
                             "(default: this working tree)")
    parser.add_argument("--scratch", type=Path, default=None,
                        help="where the tree and the store go (default: the temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dlpd-warm-", dir=args.scratch) as tmp:
        base = Path(tmp)
        root, config, out = base / "tree", base / "dlpd.toml", base / "out"
        root.mkdir()
        out.mkdir()
        config.write_text(f'[database]\nurl = "sqlite:///{base}/dlpd.db"\n')
        current = args.current.resolve() if args.current else None
        versions: dict[str, Path | None] = {"current": current}
        if args.baseline and (Path(args.baseline) / "dlpd").is_dir():
            versions = {"baseline": Path(args.baseline).resolve(), **versions}
        elif args.baseline:
            versions = {args.baseline: checkout(args.baseline, base / "baseline"), **versions}
        t0 = time.perf_counter()
        make_tree(root, args.files, args.per_dir)
        print(f"made {args.files} files in {time.perf_counter() - t0:.1f}s", flush=True)
        cold = scan(current, root, config, out)
        print(describe("cold", [cold], args.files), flush=True)
        warm: dict[str, list[RunResult]] = {name: [] for name in versions}
        for round_ in range(args.rounds):
            for name, source in versions.items():
                run = scan(source, root, config, out)
                if (n := cached(out)) != args.files:
                    sys.exit(f"{name}: {n} of {args.files} files from the cache")
                warm[name].append(run)
                print(f"  round {round_ + 1} {name}: {run.seconds:.2f} s, "
                      f"{run.maxrss_kib / 1024:.0f} MB", flush=True)
        print(f"warm rescan of {args.files} unchanged files, median of {args.rounds}:")
        for name, runs in warm.items():
            print(describe(name, runs, args.files))


if __name__ == "__main__":
    main()
