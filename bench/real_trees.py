"""Real trees and core scaling: ``dlpd scan`` against ``yara`` and ``clamscan`` with the
same rules, on the machine's documentation, its real PDFs and the generated bench tree.

    python bench/real_trees.py [--rounds 3] [--clamscan-rounds R] [--trees doc,pdfs,generated]
                               [--startup-runs 10] [--quiet-wait 30] [--out bench/results]

Trees: ``doc`` (``/usr/share/doc`` as it is), ``pdfs`` (``bench/real-pdfs/tree/``, gathered by
bench/real_pdfs.py on first use), ``generated`` (``bench/corpus/``, bench/make_corpus.py).
Per round, per tree, interleaved (the order rotates each round): ``yara -r -p N``,
``clamscan -r`` with the shipped .yar files as its only database, ``dlpd scan --no-cache
--jobs N`` (N = CPUs), ``--jobs 1`` under ``taskset`` on one CPU and ``--jobs 2`` on two.
Every dlpd run has a state directory of its own, settled first by an untimed scan of an
empty directory (its SQLite store created and its compiled rules cached, as on a host
after its first run). Start-up (an empty directory) is measured ``--startup-runs`` times,
spread over the rounds, on a settled state and on a fresh one (a host's first run: the
store created, the rules compiled). Results: ``OUT/real-trees-<UTC>.{json,md}``
and ``OUT/real-trees-latest.md``. Exit 0 when every target passes, 1 when one fails, 2 when
a tool could not run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import real_pdfs
import real_trees_report as report
from bench_machine import machine_info
from bench_proc import RunResult, run_measured, tail, wait_for_quiet
from bench_report import Target, targets_table
from real_trees_findings import parse
from scan_bench import (
    BenchError,
    check_yara_rules,
    child_env,
    ensure_corpus,
    write_dlpd_config,
    yara_rule_args,
)

REPO = Path(__file__).resolve().parent.parent
RULES_DIR = REPO / "dlpd" / "data" / "signatures"
TREES = ("doc", "pdfs", "generated")
# clamscan's limits set to dlpd's defaults (max_scan_bytes, max_total_uncompressed,
# max_members, max_archive_depth), so both give up on the same files.
CLAMSCAN_LIMITS = (
    "--max-filesize=256M",
    "--max-scansize=1024M",
    "--max-files=10000",
    "--max-recursion=10",
)
_RULE = re.compile(rb"^\s*(?:(?:private|global)\s+)*rule\s+\w+", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class RunSpec:
    label: str
    kind: str  # yara | clamscan | dlpd
    jobs: int
    cpus: tuple[int, ...] | None = None  # taskset -c; None: unpinned
    workers: str = "auto"  # [scan] workers: the A/B of worker processes against threads


@dataclass(frozen=True, slots=True)
class Tree:
    name: str
    root: Path
    files: int
    bytes: int


def plan_runs(
    nproc: int, allowed: list[int], with_clamscan: bool
) -> tuple[list[RunSpec], dict[str, str]]:
    """The runs of one tree and which run plays each role (see real_trees_report)."""
    runs = [RunSpec(f"yara -p {nproc}", "yara", nproc)]
    if with_clamscan:
        runs.append(RunSpec("clamscan", "clamscan", 1))
    one = RunSpec(f"dlpd -j 1 @cpu {allowed[0]}", "dlpd", 1, (allowed[0],))
    runs.append(one)
    roles = {"yara": runs[0].label, "dlpd-1": one.label}
    if with_clamscan:
        roles["clamscan"] = "clamscan"
    if len(allowed) >= 2:
        pair = (allowed[0], allowed[1])
        everything = nproc == 2 and len(allowed) == 2
        # On a 2-CPU machine "-j 2 on two CPUs" and "-j N unpinned" are the same run.
        two = RunSpec(
            f"dlpd -j 2 @cpus {pair[0]},{pair[1]}" + (" (all)" if everything else ""),
            "dlpd",
            2,
            pair,
        )
        runs.append(two)
        roles["dlpd-2"] = two.label
        threads = RunSpec(f"dlpd -j 2 threads @cpus {pair[0]},{pair[1]}", "dlpd", 2, pair,
                          workers="threads")
        runs.append(threads)
        roles["dlpd-2-threads"] = threads.label
        if everything:
            roles["dlpd"] = two.label
            return runs, roles
    if nproc == 1:
        roles["dlpd"] = one.label
        return runs, roles
    every = RunSpec(f"dlpd -j {nproc}", "dlpd", nproc)
    runs.append(every)
    roles["dlpd"] = every.label
    return runs, roles


def run_argv(
    spec: RunSpec, args: argparse.Namespace, tree: Path, config: Path, rule_args: list[str]
) -> list[str]:
    if spec.kind == "yara":
        return [args.yara, "-r", "-p", str(spec.jobs), "-w", *rule_args, str(tree)]
    if spec.kind == "clamscan":
        databases = [f"--database={p}" for p in sorted(args.rules_dir.glob("*.yar"))]
        return [args.clamscan, "-r", "-i", "--no-summary", *databases, *CLAMSCAN_LIMITS, str(tree)]
    pin = ["taskset", "-c", ",".join(map(str, spec.cpus))] if spec.cpus else []
    return [
        *pin,
        *shlex.split(args.dlpd),
        "scan",
        "--no-cache",
        "--format",
        "jsonl",
        "--jobs",
        str(spec.jobs),
        "--config",
        str(config),
        str(tree),
    ]


def _ok(kind: str, result: RunResult) -> bool:
    # yara exits 0; clamscan and dlpd exit 1 when they found something, 2 on an error.
    return result.returncode == 0 or (kind != "yara" and result.returncode == 1)


def measure(argv: list[str], kind: str, state: Path) -> RunResult:
    state.mkdir(parents=True)
    result = run_measured(argv, state / "out", state / "err", env=child_env(state))
    if not _ok(kind, result):
        raise BenchError(f"exited {result.returncode}: {shlex.join(argv)}\n{tail(result.stderr)}")
    return result


def tree_stats(name: str, root: Path) -> Tree:
    """Regular files and their bytes, links not followed; reads each file once, so every
    timed run starts from the page cache, not the disk."""
    files = total = 0
    buffer = bytearray(1 << 20)
    for directory, _, names in os.walk(root):
        for entry in names:
            path = os.path.join(directory, entry)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            try:
                with open(path, "rb", buffering=0) as handle:
                    while count := handle.readinto(buffer):
                        total += count
            except OSError:
                continue
            files += 1
    return Tree(name, root, files, total)


def clamscan_rules(clamscan: str, rules_dir: Path, scratch: Path) -> dict[str, Any]:
    """How many of our rules clamscan loads (its YARA subset skips some): the summary's
    'Known viruses' over an empty directory, beside the rule count of the .yar files."""
    empty = scratch / "clam-empty"
    empty.mkdir()
    databases = [f"--database={p}" for p in sorted(rules_dir.glob("*.yar"))]
    done = subprocess.run(
        [clamscan, *databases, str(empty)], capture_output=True, text=True, check=False, timeout=300
    )
    loaded = re.search(r"Known viruses:\s*(\d+)", done.stdout)
    if loaded is None:
        raise BenchError(f"clamscan does not run: {done.stderr.strip()[-800:]}")
    declared = sum(len(_RULE.findall(p.read_bytes())) for p in rules_dir.glob("*.yar"))
    return {
        "loaded": int(loaded.group(1)),
        "declared": declared,
        "version": done.stdout.split("Engine version:")[-1].split("\n")[0].strip(),
    }


def startup_run(args: argparse.Namespace, scratch: Path, tag: str) -> tuple[float, float]:
    """(a host's first run, a later run): ``dlpd scan EMPTY`` on a fresh state directory,
    then again on it."""
    state = scratch / f"startup-{tag}"
    config = write_config(state)
    first = measure(empty_scan(args, scratch, config), "dlpd", state / "first").seconds
    return first, measure(empty_scan(args, scratch, config), "dlpd", state / "run").seconds


def empty_scan(args: argparse.Namespace, scratch: Path, config: Path) -> list[str]:
    empty = scratch / "empty-tree"
    empty.mkdir(exist_ok=True)
    return [*shlex.split(args.dlpd), "scan", "--format", "jsonl", "--config", str(config),
            str(empty)]


def write_config(state: Path, workers: str = "auto") -> Path:
    state.mkdir(parents=True)
    config = write_dlpd_config(state)
    if workers != "auto":
        with config.open("a", encoding="utf-8") as f:
            f.write(f'\n[scan]\nworkers = "{workers}"\n')
    return config


def settled(args: argparse.Namespace, scratch: Path, state: Path, workers: str) -> Path:
    """A state directory as a host has it after its first run (the store created, the
    compiled rules cached): the config of one, settled by an untimed empty scan."""
    config = write_config(state, workers)
    measure(empty_scan(args, scratch, config), "dlpd", state / "settle")
    return config


def one_round(
    args: argparse.Namespace,
    number: int,
    trees: list[Tree],
    runs: list[RunSpec],
    scratch: Path,
    rule_args: list[str],
) -> dict[str, dict[str, RunResult]]:
    done: dict[str, dict[str, RunResult]] = {}
    shift = (number - 1) % len(runs)
    order = runs[shift:] + runs[:shift]  # rotate: no tool always runs first
    for tree in trees:
        done[tree.name] = {}
        for spec in order:
            if spec.kind == "clamscan" and number > args.clamscan_rounds:
                continue
            slug = re.sub(r"[^a-z0-9]+", "-", spec.label.lower()).strip("-")
            state = scratch / f"r{number}-{tree.name}-{slug}"
            config = settled(args, scratch, state, spec.workers)
            result = measure(
                run_argv(spec, args, tree.root, config, rule_args), spec.kind, state / "run"
            )
            done[tree.name][spec.label] = result
            print(
                f"  round {number} {tree.name:<9} {spec.label:<24} {result.seconds:8.2f} s"
                f"  cpu {result.cpu_seconds:7.1f} s  rss {result.peak_rss_mib:5.0f} MB"
                f"  pss {result.tree_pss_kib / 1024:5.0f} MB",
                flush=True,
            )
    return done


def summarize(
    trees: list[Tree], runs: list[RunSpec], rounds: list[dict[str, dict[str, RunResult]]]
) -> dict[str, dict[str, Any]]:
    """Per tree and run: medians over the rounds it ran, findings of its last round."""
    found: dict[str, dict[str, Any]] = {}
    for tree in trees:
        found[tree.name] = {}
        for spec in runs:
            results = [r[tree.name][spec.label] for r in rounds if spec.label in r[tree.name]]
            if not results:
                continue
            found[tree.name][spec.label] = report.RunSummary(
                label=spec.label,
                seconds=tuple(r.seconds for r in results),
                cpu_seconds=tuple(r.cpu_seconds for r in results),
                peak_rss_mib=max(r.peak_rss_mib for r in results),
                peak_pss_mib=max(r.tree_pss_kib for r in results) / 1024,
                tree_bytes=tree.bytes,
                tree_files=tree.files,
                findings=parse(spec.kind, results[-1].stdout),
            )
    return found


def render(
    stamp: str,
    context: dict[str, Any],
    trees: list[Tree],
    summaries: dict[str, dict[str, Any]],
    ratios: dict[str, dict[str, float]],
    roles: dict[str, str],
    targets: list[Target],
    startup: list[float],
    first_runs: list[float],
) -> str:
    machine, clam = context["machine"], context["clamscan"]
    lines = [
        f"# dlpd on real trees, {stamp}",
        "",
        f"Machine: {machine['nproc']} CPUs ({machine['cpu_model']}), {machine['mem_total_mb']} "
        f"MB RAM, Python {machine['python']}, yara CLI {machine['yara_cli']}, ClamAV "
        f"{clam.get('version', '--')}, dlpd {machine['dlpd_version']} @ "
        f"{machine['dlpd_commit']}.",
        f"Load: average {context['loadavg_before']} before, {context['loadavg_after']} after; "
        f"CPU idle before each round {context['idle']} (waited up to {context['quiet_wait']:g} "
        "s for 85%). Page cache warm (every file read once before round 1).",
        f"Rounds: {context['rounds']} (clamscan in the first {context['clamscan_rounds']}), "
        "interleaved, order rotating; medians, ratios are medians of per-round ratios; peak "
        "RSS is the worst round; findings are the last round's.",
    ]
    if clam:
        lines.append(
            f"clamscan loads {clam['loaded']} of the {clam['declared']} rules of the "
            ".yar files (its YARA subset: no uint16be/uint32be, rules without a string "
            "are skipped); it reports the first match per file."
        )
    for tree in trees:
        runs = summaries[tree.name]
        lines += [
            "",
            f"## {tree.name}: `{tree.root}`, {tree.files} files, {tree.bytes / 1e6:.1f} MB",
            "",
            *report.tree_table(runs),
            "",
            *report.ratio_lines(ratios[tree.name], machine["nproc"]),
            report.outcome_line(runs, roles["dlpd"]),
        ]
    middle = statistics.median(startup or [0.0])
    lines += [
        "",
        "## Start-up",
        "",
        f"`dlpd scan EMPTY`, {len(startup)} runs: median {middle:.3f} s "
        f"(min {min(startup, default=0):.3f}, max {max(startup, default=0):.3f}); a host's "
        f"first run (the store created, the rules compiled): median "
        f"{statistics.median(first_runs or [0.0]):.3f} s.",
        "",
        "## Targets",
        "",
        *targets_table(targets),
        "",
        "Commands:",
        "",
        *[f"- {k}: `{v}`" for k, v in context["commands"].items()],
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--trees", default=",".join(TREES), help="comma-separated subset of doc,pdfs,generated"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--clamscan-rounds",
        type=int,
        default=None,
        help="run clamscan in the first R rounds only (default: all; it is the slowest run by far)",
    )
    parser.add_argument("--no-clamscan", action="store_true")
    parser.add_argument("--startup-runs", type=int, default=10)
    parser.add_argument("--doc-root", type=Path, default=Path("/usr/share/doc"))
    parser.add_argument("--pdf-root", type=Path, default=real_pdfs.DEFAULT_DIR)
    parser.add_argument("--corpus", type=Path, default=REPO / "bench" / "corpus")
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--dlpd", default=f"{shlex.quote(sys.executable)} -m dlpd")
    parser.add_argument("--yara", default="yara")
    parser.add_argument("--clamscan", default="clamscan")
    parser.add_argument("--rules-dir", type=Path, default=RULES_DIR)
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="before each round, wait up to this long for 85%% idle CPUs",
    )
    args = parser.parse_args(argv)
    if args.clamscan_rounds is None:
        args.clamscan_rounds = args.rounds
    if args.no_clamscan:
        args.clamscan_rounds = 0
    return args


def check_tools(args: argparse.Namespace) -> None:
    missing = [tool for tool in (args.yara, "taskset") if shutil.which(tool) is None]
    if missing:
        raise BenchError(
            f"not on PATH: {', '.join(missing)} (Debian: apt-get install -y yara util-linux)"
        )
    if args.clamscan_rounds > 0 and shutil.which(args.clamscan) is None:
        raise BenchError(
            f"{args.clamscan} not on PATH: apt-get install -y clamav (no "
            "freshclam database is needed: only our rules are loaded), or pass "
            "--no-clamscan"
        )


def prepare_trees(args: argparse.Namespace) -> list[Tree]:
    wanted = [name.strip() for name in args.trees.split(",") if name.strip()]
    unknown = set(wanted) - set(TREES)
    if unknown:
        raise BenchError(f"unknown tree(s): {', '.join(sorted(unknown))}")
    trees = []
    for name in wanted:
        if name == "pdfs":
            real_pdfs.gather(args.pdf_root)
            root = args.pdf_root / real_pdfs.TREE
        elif name == "generated":
            ensure_corpus(args.corpus.resolve(), args.size_mb, args.seed)
            root = args.corpus
        else:
            root = args.doc_root
        trees.append(tree_stats(name, root.resolve()))
    return trees


def run(args: argparse.Namespace) -> int:
    check_tools(args)
    trees = prepare_trees(args)
    nproc = os.cpu_count() or 1
    allowed = sorted(os.sched_getaffinity(0))
    runs, roles = plan_runs(nproc, allowed, args.clamscan_rounds > 0)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    load_before = os.getloadavg()
    rule_args = yara_rule_args(args.rules_dir)
    per_round = math.ceil(args.startup_runs / max(1, args.rounds))
    rounds: list[dict[str, dict[str, RunResult]]] = []
    idle: list[float] = []
    startup: list[float] = []
    first_runs: list[float] = []
    with tempfile.TemporaryDirectory(prefix="dlpd-real-trees-") as tmp:
        scratch = Path(tmp)
        check_yara_rules(args.yara, rule_args, scratch)
        clam = (
            clamscan_rules(args.clamscan, args.rules_dir, scratch)
            if args.clamscan_rounds > 0
            else {}
        )
        startup_run(args, scratch, "prime")  # untimed: writes the bytecode cache
        for number in range(1, args.rounds + 1):
            idle.append(wait_for_quiet(args.quiet_wait) if args.quiet_wait > 0 else -1.0)
            for extra in range(per_round):
                if len(startup) < args.startup_runs:
                    first, later = startup_run(args, scratch, f"{number}-{extra}")
                    first_runs.append(first)
                    startup.append(later)
            rounds.append(one_round(args, number, trees, runs, scratch, rule_args))
        summaries = summarize(trees, runs, rounds)
        commands = {
            spec.label: shlex.join(
                run_argv(spec, args, Path("TREE"), Path("$STATE/dlpd.toml"), rule_args)
            )
            for spec in runs
        }
    ratios = {t.name: report.tree_ratios(summaries[t.name], roles) for t in trees}
    targets = report.build_targets(summaries, ratios, roles, startup)
    context = {
        "machine": machine_info(args.yara, shlex.split(args.dlpd), REPO),
        "clamscan": clam,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "idle": ", ".join("not measured" if x < 0 else f"{x:.0%}" for x in idle),
        "quiet_wait": args.quiet_wait,
        "rounds": args.rounds,
        "clamscan_rounds": args.clamscan_rounds,
        "commands": commands,
    }
    markdown = render(stamp, context, trees, summaries, ratios, roles, targets, startup,
                      first_runs)
    data = {
        "timestamp": stamp,
        **context,
        "trees": [
            {"name": t.name, "root": str(t.root), "files": t.files, "bytes": t.bytes} for t in trees
        ],
        "roles": roles,
        "runs": {
            tree: {label: s.to_json() for label, s in runs_.items()}
            for tree, runs_ in summaries.items()
        },
        "ratios": {tree: {k: round(v, 4) for k, v in r.items()} for tree, r in ratios.items()},
        "startup_seconds": [round(s, 4) for s in startup],
        "first_run_seconds": [round(s, 4) for s in first_runs],
        "targets": [t.to_json() for t in targets],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    base = args.out / f"real-trees-{stamp}"
    base.with_suffix(".json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    base.with_suffix(".md").write_text(markdown)
    (args.out / "real-trees-latest.md").write_text(markdown)
    print("\n" + markdown)
    print(f"written: {base}.json, {base}.md, {args.out / 'real-trees-latest.md'}")
    return 0 if all(t.passed for t in targets) else 1


def main(argv: list[str] | None = None) -> int:
    try:
        return run(parse_args(argv))
    except BenchError as exc:
        print(f"real_trees: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
