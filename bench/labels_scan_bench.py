"""Cold `dlpd scan` of the standard bench tree with and without labels and a fingerprint
index, side by side in one run (interleaved rounds, medians).

    python bench/labels_scan_bench.py [--corpus DIR] [--size-mb 500] [--rounds 3]
                                      [--sources 10000] [--baseline CMD] [--out DIR]

Cases, each with a fresh store per round:
- ``none``: no ``[labels]`` configured (the feature costs nothing: no prints, no lookups);
- ``labels, nothing set``: labels configured, nothing labelled or registered (the
  resolver is idle: prints are not computed);
- ``10k index``: labels configured and ``--sources`` labelled documents registered (10 kB
  of text each: ~140 prints, as real documents give), so every file read is
  fingerprinted (text and table prints) and looked up against the index;
- with ``--baseline CMD`` (e.g. a checkout of the commit before the feature run as
  ``env PYTHONPATH=/tmp/old python -m dlpd``): the same tree with that dlpd, no labels.
Results: ``OUT/labels-scan-latest.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_machine import machine_info  # noqa: E402
from scan_bench import ensure_corpus  # noqa: E402

from dlpd.fingerprint.text import TextPrints  # noqa: E402
from dlpd.store import fingerprints as fp_repo  # noqa: E402
from dlpd.store.db import open_engine, transaction  # noqa: E402

LABEL = "export-controlled"
PRINTS_PER_SOURCE = 140  # a 10 kB document at one print per ~71 bytes of text


def config(state: Path, labels: bool) -> Path:
    path = state / "dlpd.toml"
    text = f'[database]\nurl = "sqlite:///{state / "dlpd.db"}"\n'
    if labels:
        text += f'\n[labels.{LABEL}]\napproved = ["/nowhere-in-particular"]\n'
    path.write_text(text)
    return path


def seed_index(state: Path, sources: int, host: str) -> None:
    """``sources`` registered documents with realistic print counts."""
    engine = open_engine(f"sqlite:///{state / 'dlpd.db'}")
    rng = random.Random(7)
    with transaction(engine) as conn:
        for n in range(sources):
            prints = frozenset(rng.getrandbits(47) for _ in range(PRINTS_PER_SOURCE))
            fp_repo.register(conn, host=host, path=f"/labelled/doc-{n:06d}.docx",
                             sha256=f"{n:064x}", labels=[LABEL],
                             origin={LABEL: {"set_by": "bench", "set_at": 0.0}},
                             text=TextPrints(prints, 10_000), table=None, now=0.0)
    engine.dispose()


def run(cmd: list[str], cfg: Path, root: Path, jobs: int, env: dict[str, str]) -> float:
    argv = [*cmd, "scan", "--no-cache", "--format", "jsonl", "--jobs", str(jobs),
            "--config", str(cfg), str(root)]
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                          check=False)
    took = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{shlex.join(argv)} failed: {proc.stderr.decode()[-2000:]}")
    return took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "bench" / "corpus")
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--dlpd", default=f"{shlex.quote(sys.executable)} -m dlpd")
    parser.add_argument("--baseline", default="", help="another dlpd command, no labels")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args(argv)
    ensure_corpus(args.corpus, args.size_mb, args.seed)
    mb = sum(p.stat().st_size for p in args.corpus.rglob("*") if p.is_file()) / 1e6
    host = "bench-host"
    cases = ["none", "labels, nothing set", f"{args.sources // 1000}k index"]
    if args.baseline:
        cases.insert(0, "baseline (before the feature)")
    times: dict[str, list[float]] = {c: [] for c in cases}
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="dlpd-labels-bench-") as scratch:
        for rnd in range(args.rounds):
            order = cases[rnd % len(cases):] + cases[:rnd % len(cases)]
            for case in order:
                state = Path(scratch) / f"r{rnd}-{cases.index(case)}"
                state.mkdir()
                env = {**os.environ, "XDG_STATE_HOME": str(state)}
                cmd = shlex.split(args.dlpd)
                if case.startswith("baseline"):
                    cfg, cmd = config(state, labels=False), shlex.split(args.baseline)
                elif case == "none":
                    cfg = config(state, labels=False)
                else:
                    cfg = config(state, labels=True)
                    cfg.write_text(cfg.read_text() + f'\n[daemon]\nhost = "{host}"\n')
                    if case.endswith("index"):
                        # The store must exist (and be migrated) before it is seeded.
                        run(cmd, cfg, state, args.jobs, env)
                        seed_index(state, args.sources, host)
                times[case].append(run(cmd, cfg, args.corpus, args.jobs, env))
                print(f"round {rnd + 1} {case}: {times[case][-1]:.2f} s", flush=True)
    base = statistics.median(times["none"])
    command = shlex.join(["python", "bench/labels_scan_bench.py", *(argv or sys.argv[1:])])
    lines = [
        f"# Cold scan with labels and a fingerprint index, "
        f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}",
        "",
        f"Command: `{command}` ({(time.time() - started) / 60:.1f} min).",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in machine_info(
            "yara", shlex.split(args.dlpd), REPO).items()) + ".",
        f"Tree: {args.corpus} ({mb:.0f} MB); `dlpd scan --no-cache --jobs {args.jobs}`, a fresh "
        f"store per run, {args.rounds} interleaved rounds, medians. In the index case "
        f"{args.sources:,} labelled documents are registered ({PRINTS_PER_SOURCE} prints "
        "each); none of the tree's files is labelled.",
        "",
        "| case | median s | MB/s | vs none |",
        "|---|---:|---:|---:|",
    ]
    for case in cases:
        med = statistics.median(times[case])
        lines.append(f"| {case} | {med:.2f} | {mb / med:.1f} | {med / base:.3f} |")
    text = "\n".join(lines) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "labels-scan-latest.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
