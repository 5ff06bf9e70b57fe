"""Benchmark ``dlpd scan`` against the yara CLI with the same rules on the same tree.

    python bench/scan_bench.py [--corpus DIR] [--size-mb 500] [--rounds 3] [--jobs 2]
                               [--out bench/results] [--dlpd CMD] [--rules-dir DIR]
                               [--quiet-wait 60] [--floor]

Per round, interleaved so that drift on a noisy machine hits every tool alike:
``yara -r -p N``, ``dlpd scan --no-cache`` (cold, fresh state), ``dlpd scan`` again (warm:
the incremental cache answers), dlpd on an empty directory (start-up cost) and, with
``--floor``, ``floor_scan.py``. Results go to ``OUT/scan-<UTC>.{json,md}`` and ``OUT/latest.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_machine import machine_info
from bench_outputs import Outputs, detection_summary, parse_dlpd, parse_yara
from bench_proc import RunResult, run_measured, tail, wait_for_quiet
from bench_report import (
    ToolSummary,
    build_targets,
    detection_lines,
    diagnostic_lines,
    diagnostics,
    render_markdown,
    tools_table,
)
from bench_report import targets_table as render_targets
from make_corpus import make_corpus, read_manifest

REPO = Path(__file__).resolve().parent.parent
PYCACHE = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dlpd-bench" / "pycache"
)
# "dlpd start-up" scans an empty directory: the fixed cost (imports, rules, store) that
# sits under every run and is the floor of the warm time. A reference, not a target.
TOOLS = ("yara", "dlpd cold", "dlpd warm", "dlpd start-up")
# With --floor: read + sha256 + yara-python on a thread pool (bench/floor_scan.py), what
# any Python scanner costs at the least. A reference, not a target.
FLOOR = "python floor"
_READ_CHUNK = 1 << 20


class BenchError(Exception):
    """A tool could not run as configured; the message says which and why."""


# -- corpus and rules -----------------------------------------------------------------------


def ensure_corpus(root: Path, size_mb: int, seed: int) -> dict[str, Any]:
    """Reuse the corpus at ``root`` if it was made with these parameters, else (re)make it."""
    manifest = read_manifest(root)
    if manifest and manifest.get("size_mb") == size_mb and manifest.get("seed") == seed:
        return manifest
    print(f"generating corpus in {root} ({size_mb} MB, seed {seed}) ...", flush=True)
    return make_corpus(root, size_mb, seed, force=manifest is not None)


def yara_rule_args(rules_dir: Path) -> list[str]:
    """``NAMESPACE:FILE`` per rule file: one namespace each, as dlpd compiles them, so two
    files may both define a rule of the same name."""
    files = sorted(rules_dir.glob("*.yar"))
    if not files:
        raise BenchError(f"no *.yar files in {rules_dir}")
    return [f"f{i}_{p.stem}:{p}" for i, p in enumerate(files)]


def check_yara_rules(yara: str, rule_args: list[str], scratch: Path) -> None:
    """Compile the rules once with the CLI; on failure name each file that does not compile."""
    probe = scratch / "empty"
    probe.write_bytes(b"")
    whole = subprocess.run(
        [yara, "-w", *rule_args, str(probe)], capture_output=True, text=True, check=False
    )
    if whole.returncode == 0:
        return
    problems = []
    for arg in rule_args:
        one = subprocess.run(
            [yara, "-w", arg, str(probe)], capture_output=True, text=True, check=False
        )
        if one.returncode != 0:
            problems.append(f"{arg.split(':', 1)[1]}: {one.stderr.strip()}")
    detail = "\n".join(problems) or whole.stderr.strip()
    raise BenchError(f"the yara CLI cannot compile the shipped rules:\n{detail}")


def warm_page_cache(root: Path) -> dict[str, Any]:
    """Read every file once so both tools start from RAM, not from the (virtual) disk."""
    started = time.perf_counter()
    buffer = bytearray(_READ_CHUNK)
    files = total = 0
    for directory, _, names in os.walk(root):
        for name in names:
            with open(os.path.join(directory, name), "rb", buffering=0) as handle:
                while count := handle.readinto(buffer):
                    total += count
            files += 1
    return {"files": files, "bytes": total, "seconds": time.perf_counter() - started}


# -- one round --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Setup:
    root: Path
    jobs: int
    yara: str
    rule_args: list[str]
    dlpd: list[str]
    empty: Path  # an empty directory, for the start-up run
    rules_dir: Path
    tools: tuple[str, ...] = TOOLS


def tool_argv(setup: Setup, tool: str, config: Path) -> list[str]:
    if tool == "yara":
        return [setup.yara, "-r", "-p", str(setup.jobs), "-w", *setup.rule_args, str(setup.root)]
    if tool == FLOOR:
        floor = Path(__file__).with_name("floor_scan.py")
        return [
            sys.executable,
            str(floor),
            "--jobs",
            str(setup.jobs),
            str(setup.rules_dir),
            str(setup.root),
        ]
    cache = ["--no-cache"] if tool == "dlpd cold" else []
    target = setup.empty if tool == "dlpd start-up" else setup.root
    return [
        *setup.dlpd,
        "scan",
        *cache,
        "--format",
        "jsonl",
        "--jobs",
        str(setup.jobs),
        "--config",
        str(config),
        str(target),
    ]


def write_dlpd_config(state: Path) -> Path:
    """A config whose SQLite store lives in this round's own state directory."""
    config = state / "dlpd.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{state / "dlpd.db"}"\n')
    return config


def _ok(tool: str, result: RunResult) -> bool:
    # dlpd exits 1 when it found something (clamscan's convention); 2 is an error.
    return result.returncode == 0 or (tool != "yara" and result.returncode == 1)


def child_env(state: Path) -> dict[str, str]:
    """The environment of every measured run.

    XDG_STATE_HOME points into the round's state directory, so that no default path of
    dlpd escapes into the real home. Python bytecode is cached (in the user's cache dir, not
    the work tree) even where PYTHONDONTWRITEBYTECODE is set, as it is on our CI machines:
    an installed dlpd has its .pyc files, and recompiling its modules on every start would
    charge ~0.1 s to each run that is not dlpd's.
    """
    env = {**os.environ, "XDG_STATE_HOME": str(state), "PYTHONPYCACHEPREFIX": str(PYCACHE)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def prime_dlpd(setup: Setup, scratch: Path) -> None:
    """One untimed start-up run: writes the bytecode cache and fails early if dlpd cannot
    run at all."""
    state = scratch / "state-0"
    state.mkdir()
    argv = tool_argv(setup, "dlpd start-up", write_dlpd_config(state))
    result = run_measured(argv, state / "out", state / "err", env=child_env(state))
    if not _ok("dlpd", result):
        raise BenchError(f"dlpd does not run: {shlex.join(argv)}\n{tail(result.stderr)}")


def run_round(setup: Setup, number: int, scratch: Path) -> dict[str, tuple[RunResult, Outputs]]:
    state = scratch / f"state-{number}"
    state.mkdir()
    config = write_dlpd_config(state)
    env = child_env(state)
    results = {}
    for tool in setup.tools:
        slug = tool.replace(" ", "-")
        result = run_measured(
            tool_argv(setup, tool, config),
            scratch / f"{slug}-{number}.out",
            scratch / f"{slug}-{number}.err",
            env=env,
        )
        if not _ok(tool, result):
            raise BenchError(
                f"{tool} exited {result.returncode}: {shlex.join(result.argv)}\n"
                f"{tail(result.stderr)}"
            )
        results[tool] = (result, parse_output(tool, result.stdout, setup.root))
        print(
            f"  round {number} {tool:<13} {result.seconds:7.2f} s  "
            f"cpu {result.cpu_seconds:6.1f} s  rss {result.peak_rss_mib:6.0f} MB",
            flush=True,
        )
    return results


def parse_output(tool: str, stdout: Path, root: Path) -> Outputs:
    if tool == "yara":
        return parse_yara(stdout, root)
    return Outputs() if tool == FLOOR else parse_dlpd(stdout, root)


# -- summary --------------------------------------------------------------------------------


def summarize(
    rounds: list[dict[str, tuple[RunResult, Outputs]]], corpus_bytes: int, corpus_files: int
) -> list[ToolSummary]:
    return [
        ToolSummary(
            tool=tool,
            seconds=tuple(r[tool][0].seconds for r in rounds),
            cpu_seconds=tuple(r[tool][0].cpu_seconds for r in rounds),
            peak_rss_mib=max(r[tool][0].peak_rss_mib for r in rounds),
            # The start-up run reads no corpus: no throughput to report.
            corpus_bytes=0 if tool == "dlpd start-up" else corpus_bytes,
            corpus_files=0 if tool == "dlpd start-up" else corpus_files,
        )
        for tool in rounds[0]
    ]


def write_results(out: Path, stamp: str, report: dict[str, Any], markdown: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    base = out / f"scan-{stamp}"
    base.with_suffix(".json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    base.with_suffix(".md").write_text(markdown)
    (out / "latest.md").write_text(markdown)
    return base


# -- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "bench" / "corpus")
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="yara -p and dlpd --jobs (default: CPU count)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument(
        "--dlpd",
        default=f"{shlex.quote(sys.executable)} -m dlpd",
        help="dlpd command line (default: this Python's -m dlpd)",
    )
    parser.add_argument("--yara", default="yara", help="yara CLI executable")
    parser.add_argument(
        "--rules-dir",
        type=Path,
        default=REPO / "signatures",
        help="rule files given to the yara CLI (dlpd uses its configured rules)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="before each round, wait up to this many seconds for the CPUs to be 85%% idle "
        "(0: do not wait)",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also run bench/floor_scan.py (read+sha256+yara-python) as a reference",
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    root = args.corpus.resolve()
    manifest = ensure_corpus(root, args.size_mb, args.seed)
    load_before = os.getloadavg()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    with tempfile.TemporaryDirectory(prefix="dlpd-bench-") as tmp:
        scratch = Path(tmp)
        setup = Setup(
            root,
            args.jobs,
            args.yara,
            yara_rule_args(args.rules_dir),
            shlex.split(args.dlpd),
            empty=scratch / "empty-tree",
            rules_dir=args.rules_dir,
            tools=(*TOOLS, FLOOR) if args.floor else TOOLS,
        )
        setup.empty.mkdir()
        check_yara_rules(args.yara, setup.rule_args, scratch)
        prime_dlpd(setup, scratch)
        cache = warm_page_cache(root)
        print(
            f"page cache warmed: {cache['files']} files, {cache['bytes'] / 1e6:.1f} MB read "
            f"in {cache['seconds']:.2f} s; all timed runs read from RAM",
            flush=True,
        )
        rounds, idle = [], []
        for number in range(1, args.rounds + 1):
            idle.append(wait_for_quiet(args.quiet_wait) if args.quiet_wait > 0 else -1.0)
            rounds.append(run_round(setup, number, scratch))
    tools = summarize(rounds, cache["bytes"], cache["files"])
    by_name = {t.tool: t for t in tools}
    targets = build_targets(by_name["yara"], by_name["dlpd cold"], by_name["dlpd warm"])
    report = {
        "timestamp": stamp,
        "corpus": corpus_json(root, cache, manifest),
        "rules": {"dir": str(args.rules_dir), "count": len(setup.rule_args)},
        "machine": {
            **machine_info(args.yara, setup.dlpd, REPO),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "cpu_idle_before_rounds": [round(x, 2) for x in idle],
        },
        "page_cache": cache,
        "rounds": args.rounds,
        "jobs": args.jobs,
        "quiet_wait": args.quiet_wait,
        # The state directories are gone after the run; show where the config sat.
        "commands": {
            t: shlex.join(tool_argv(setup, t, Path("$STATE/dlpd.toml"))) for t in setup.tools
        },
        "tools": [t.to_json() for t in tools],
        "targets": [t.to_json() for t in targets],
        "diagnostics": {k: round(v, 4) for k, v in diagnostics(tools).items()},
        "detection": detection_summary(
            manifest, *(rounds[-1][t][1] for t in ("yara", "dlpd cold", "dlpd warm"))
        ),
        "runs": [{tool: _run_json(result) for tool, (result, _) in r.items()} for r in rounds],
    }
    base = write_results(args.out, stamp, report, render_markdown(report, tools, targets))
    summary = [*tools_table(tools), "", *render_targets(targets), ""]
    summary += [*diagnostic_lines(report["diagnostics"]), ""]
    print("\n".join(["", *summary, *detection_lines(report["detection"]), ""]))
    print(f"written: {base}.json, {base}.md, {args.out / 'latest.md'}")
    return 0 if all(t.passed for t in targets) else 1


def corpus_json(root: Path, cache: dict[str, Any], manifest: dict[str, Any]) -> dict[str, Any]:
    return {
        "dir": str(root),
        "files": cache["files"],
        "bytes": cache["bytes"],
        "dirs": manifest["dirs"],
        "seed": manifest["seed"],
        "planted": manifest["positives"]["by_category"],
    }


def _run_json(result: RunResult) -> dict[str, Any]:
    return {
        "seconds": round(result.seconds, 3),
        "user_seconds": round(result.user_seconds, 2),
        "system_seconds": round(result.system_seconds, 2),
        "maxrss_kib": result.maxrss_kib,
        "tree_rss_kib": result.tree_rss_kib,
        "max_processes": result.max_processes,
        "returncode": result.returncode,
    }


def main(argv: list[str] | None = None) -> int:
    try:
        return run(parse_args(argv))
    except BenchError as exc:
        print(f"scan_bench: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
