"""Generate a deterministic benchmark corpus shaped like a research data share.

    python bench/make_corpus.py DIR [--size-mb 500] [--seed 1] [--force]

Several thousand files (log-normal sizes, ~1 KB to ~20 MB plus a handful bigger) in a few
hundred nested directories, ~1% of them carrying a planted positive. ``DIR/MANIFEST.json``
records what was written, including every planted positive, so a benchmark can score recall.
The same seed and size give byte-identical trees.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus_kinds import KINDS, Pools
from corpus_plants import CONTAINER_KINDS, ELIGIBLE

MANIFEST = "MANIFEST.json"
KiB = 1024
MiB = 1024 * KiB

# Log-normal file sizes: median 12 KiB, sigma 1.9 gives a mean near 70 KiB, so 500 MB is
# ~6,000 files, with a long tail to the 20 MiB cap.
_SIZE_MEDIAN = 12 * KiB
_SIZE_SIGMA = 1.9
_SIZE_MIN, _SIZE_MAX = 1 * KiB, 20 * MiB
_BIG_KINDS = ("log", "csv", "fastq", "bin")
_POSITIVE_RATE = 0.01
_FILES_PER_DIR = 14

_TOP_DIRS = (
    "genomics-lab",
    "imaging-core",
    "clinical-study",
    "materials",
    "climate-model",
    "admin",
    "shared",
    "users",
)
_SUB_DIRS = (
    "projects",
    "raw",
    "processed",
    "analysis",
    "figures",
    "sample-sheets",
    "notes",
    "runs",
    "exports",
    "archive",
    "qc",
    "scripts",
    "tmp",
    "reports",
    "instrument",
)


@dataclass(frozen=True, slots=True)
class PlannedFile:
    relpath: str
    kind: str
    size: int
    plant: str | None


def plan_sizes(rng: random.Random, budget: int) -> list[tuple[int, bool]]:
    """Target sizes summing to ~``budget``, as (size, is_big); the big ones come first."""
    big_count = max(1, budget // (150 * MiB))
    big_size = min(40 * MiB, budget // 12)
    sizes = [(rng.randint(big_size * 3 // 5, big_size), True) for _ in range(big_count)]
    remaining = budget - sum(size for size, _ in sizes)
    while remaining > 0:
        size = int(rng.lognormvariate(math.log(_SIZE_MEDIAN), _SIZE_SIGMA))
        size = min(max(size, _SIZE_MIN), _SIZE_MAX, max(remaining, _SIZE_MIN))
        sizes.append((size, False))
        remaining -= size
    return sizes


def plan_dirs(rng: random.Random, file_count: int) -> list[str]:
    """Nested relative directories; new ones hang off existing ones, so depth varies."""
    dirs = [f"{top}" for top in _TOP_DIRS]
    target = max(len(dirs), file_count // _FILES_PER_DIR)
    while len(dirs) < target:
        parent = rng.choice(dirs)
        if parent.count("/") >= 6:  # deep enough; real shares rarely nest further
            continue
        name = rng.choice(_SUB_DIRS)
        dirs.append(f"{parent}/{name}-{rng.randint(1, 999):03d}")
    return dirs


def _pick_kind(rng: random.Random) -> str:
    names = list(KINDS)
    return rng.choices(names, weights=[KINDS[n].weight for n in names])[0]


def plan_files(rng: random.Random, budget: int) -> list[PlannedFile]:
    sizes = plan_sizes(rng, budget)
    dirs = plan_dirs(rng, len(sizes))
    kinds = [
        _BIG_KINDS[i % len(_BIG_KINDS)] if big else _pick_kind(rng)
        for i, (_, big) in enumerate(sizes)
    ]
    plants = _plan_plants(rng, kinds)
    planned = []
    for index, ((size, _), kind) in enumerate(zip(sizes, kinds, strict=True)):
        name = f"{kind}_{index:05d}{KINDS[kind].suffix}"
        planned.append(PlannedFile(f"{rng.choice(dirs)}/{name}", kind, size, plants.get(index)))
    return planned


def _plan_plants(rng: random.Random, kinds: list[str]) -> dict[int, str]:
    """Choose ~1% of files and a category for each, cycling categories for an even spread."""
    categories = list(ELIGIBLE)
    wanted = max(len(categories), round(len(kinds) * _POSITIVE_RATE))
    candidates = [i for i, kind in enumerate(kinds) if any(kind in ELIGIBLE[c] for c in categories)]
    plants: dict[int, str] = {}
    for index in rng.sample(candidates, min(wanted, len(candidates))):
        fitting = [c for c in categories if kinds[index] in ELIGIBLE[c]]
        # The least-used fitting category first, so every category gets its share.
        counts = Counter(plants.values())
        plants[index] = min(fitting, key=lambda c: (counts[c], rng.random()))
    return plants


def write_corpus(root: Path, planned: list[PlannedFile], pools: Pools, seed: int) -> dict[str, int]:
    """Write every planned file; returns actual bytes per kind."""
    written: Counter[str] = Counter()
    for index, item in enumerate(planned):
        # One RNG per file, derived from the seed: content does not depend on earlier files.
        rng = random.Random(seed * 1_000_003 + index)
        data = KINDS[item.kind].generator(pools, rng, item.size, item.plant)
        path = root / item.relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written[item.kind] += len(data)
    return dict(written)


def build_manifest(
    planned: list[PlannedFile], written: dict[str, int], seed: int, size_mb: int, seconds: float
) -> dict[str, Any]:
    by_kind = {
        kind: {"files": sum(1 for p in planned if p.kind == kind), "bytes": count}
        for kind, count in sorted(written.items())
    }
    positives = [
        {
            "path": p.relpath,
            "category": p.plant,
            "kind": p.kind,
            "container": p.kind in CONTAINER_KINDS,
        }
        for p in planned
        if p.plant
    ]
    return {
        "generator": "bench/make_corpus.py",
        "seed": seed,
        "size_mb": size_mb,
        "files": len(planned),
        "bytes": sum(written.values()),
        "dirs": len({str(Path(p.relpath).parent) for p in planned}),
        "seconds": round(seconds, 2),
        "by_kind": by_kind,
        "positives": {
            "files": len(positives),
            "by_category": dict(sorted(Counter(str(p["category"]) for p in positives).items())),
            "in_containers": sum(1 for p in positives if p["container"]),
            "list": positives,
        },
        # The manifest itself is scanned by both tools; it names paths and categories only.
        "note": "MANIFEST.json holds no planted content and is scanned like any other file",
    }


def make_corpus(root: Path, size_mb: int, seed: int, force: bool = False) -> dict[str, Any]:
    _prepare_root(root, force)
    started = time.perf_counter()
    rng = random.Random(seed)
    pools = Pools.build(rng)
    planned = plan_files(rng, size_mb * 1_000_000)
    written = write_corpus(root, planned, pools, seed)
    manifest = build_manifest(planned, written, seed, size_mb, time.perf_counter() - started)
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return manifest


def _prepare_root(root: Path, force: bool) -> None:
    if root.exists() and any(root.iterdir()):
        # Only ever delete a tree this script made: it has our manifest at the top.
        if not force or not (root / MANIFEST).is_file():
            raise SystemExit(f"{root} is not empty (use --force to replace a generated corpus)")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)


def read_manifest(root: Path) -> dict[str, Any] | None:
    try:
        loaded: dict[str, Any] = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return loaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--size-mb", type=int, default=500, help="total size in MB (10^6 bytes)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--force", action="store_true", help="replace an existing corpus")
    args = parser.parse_args(argv)
    manifest = make_corpus(args.dir, args.size_mb, args.seed, args.force)
    positives = manifest["positives"]
    print(
        f"{args.dir}: {manifest['files']} files, {manifest['bytes'] / 1e6:.1f} MB "
        f"in {manifest['dirs']} dirs, {positives['files']} planted positives "
        f"{positives['by_category']}, {manifest['seconds']} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
