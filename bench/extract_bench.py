"""What issue 10's extractors cost: yara vs ``dlpd scan`` with OCR off and on, on a
research-storage tree (bench/corpus_research.py).

    python bench/extract_bench.py [--root bench/corpus-research] [--rounds 3] [--scale 1]
                                  [--jobs 2] [--out bench/results] [--quiet-wait 30]

Per round, interleaved so that drift on a shared machine hits every run alike:
``yara -r -p N`` with the shipped rules (one namespace per file, as scan_bench does),
``dlpd scan --no-cache --format jsonl --jobs N`` with ``[extract] ocr = "off"``, and the
same with ``ocr = "on"``; each dlpd run with a fresh SQLite state. Prints a markdown table
and, per run, the files with findings, the categories found and how many files had "ocr"
in a detection's reasons. Results go to ``OUT/extract-<UTC>.{json,md}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import corpus_research
from bench_machine import machine_info
from bench_proc import RunResult, run_measured, tail, wait_for_quiet
from bench_report import ToolSummary, tools_table
from scan_bench import (
    BenchError,
    check_yara_rules,
    child_env,
    warm_page_cache,
    yara_rule_args,
)

REPO = Path(__file__).resolve().parent.parent
RUNS = ("yara", "dlpd ocr=off", "dlpd ocr=on")


def write_config(state: Path, ocr: str) -> Path:
    """A config with its own SQLite store and the OCR switch of this run."""
    config = state / "dlpd.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{state / "dlpd.db"}"\n\n[extract]\nocr = "{ocr}"\n'
    )
    return config


def run_argv(args: argparse.Namespace, run: str, config: Path, rule_args: list[str]) -> list[str]:
    if run == "yara":
        return [args.yara, "-r", "-p", str(args.jobs), "-w", *rule_args, str(args.root)]
    return [*shlex.split(args.dlpd), "scan", "--no-cache", "--format", "jsonl",
            "--jobs", str(args.jobs), "--config", str(config), str(args.root)]


def findings(run: str, stdout: Path) -> dict[str, Any]:
    """Files with findings, categories (dlpd) or rules (yara), files with an OCR finding."""
    files: set[str] = set()
    labels: Counter[str] = Counter()
    ocr_files = 0
    outcomes: Counter[str] = Counter()
    with stdout.open(encoding="utf-8", errors="surrogateescape") as handle:
        for line in handle:
            if not line.strip():
                continue
            if run == "yara":
                rule, _, path = line.rstrip("\n").partition(" ")
                if path:
                    files.add(path)
                    labels[rule.split(":")[-1]] += 1
                continue
            record = json.loads(line)
            outcomes[str(record.get("outcome"))] += 1
            detections = record.get("detections") or []
            if not detections:
                continue
            files.add(record["path"])
            labels.update(set(record.get("categories") or ()))
            ocr_files += any("ocr" in (d.get("reasons") or ()) for d in detections)
    return {"files_with_findings": len(files), "labels": dict(sorted(labels.items())),
            "ocr_files": ocr_files if run != "yara" else None,
            "outcomes": dict(sorted(outcomes.items()))}


def _ok(run: str, result: RunResult) -> bool:
    # yara exits 0; dlpd exits 1 when it found something, 2 on an error.
    return result.returncode == 0 or (run != "yara" and result.returncode == 1)


def one_round(args: argparse.Namespace, number: int, scratch: Path,
              rule_args: list[str]) -> dict[str, tuple[RunResult, dict[str, Any]]]:
    done = {}
    for run in RUNS:
        slug = run.replace(" ", "-").replace("=", "-")
        state = scratch / f"state-{slug}-{number}"
        state.mkdir()
        config = write_config(state, "on" if run.endswith("on") else "off")
        result = run_measured(run_argv(args, run, config, rule_args),
                              state / "out", state / "err", env=child_env(state))
        if not _ok(run, result):
            raise BenchError(f"{run} exited {result.returncode}: {shlex.join(result.argv)}\n"
                             f"{tail(result.stderr)}")
        done[run] = (result, findings(run, result.stdout))
        print(f"  round {number} {run:<13} {result.seconds:7.2f} s  cpu "
              f"{result.cpu_seconds:6.1f} s  rss {result.peak_rss_mib:6.0f} MB", flush=True)
    return done


def finding_lines(last: dict[str, tuple[RunResult, dict[str, Any]]]) -> list[str]:
    lines = ["| run | files with findings | OCR files | found (files per category/rule) |",
             "|---|---:|---:|---|"]
    for run, (_, found) in last.items():
        labels = ", ".join(f"{k} {v}" for k, v in found["labels"].items()) or "--"
        ocr = "--" if found["ocr_files"] is None else str(found["ocr_files"])
        lines.append(f"| {run} | {found['files_with_findings']} | {ocr} | {labels} |")
    for run, (_, found) in last.items():
        if found["outcomes"]:
            lines.append(f"\n{run} outcomes: " + ", ".join(
                f"{k} {v}" for k, v in found["outcomes"].items()))
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=REPO / "bench" / "corpus-research")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--dlpd", default=f"{shlex.quote(sys.executable)} -m dlpd")
    parser.add_argument("--yara", default="yara")
    parser.add_argument("--rules-dir", type=Path, default=REPO / "dlpd" / "data" / "signatures")
    parser.add_argument("--quiet-wait", type=float, default=30.0,
                        help="before each round, wait up to this long for 85%% idle CPUs")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    args.root = args.root.resolve()
    manifest = corpus_research.read_manifest(args.root)
    if manifest is None or manifest.get("scale") != args.scale:
        print(f"generating {args.root} (scale {args.scale}) ...", flush=True)
        manifest = corpus_research.make(args.root, args.scale)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    load_before = os.getloadavg()
    rule_args = yara_rule_args(args.rules_dir)
    rounds, idle = [], []
    with tempfile.TemporaryDirectory(prefix="dlpd-extract-bench-") as tmp:
        scratch = Path(tmp)
        check_yara_rules(args.yara, rule_args, scratch)
        cache = warm_page_cache(args.root)
        for number in range(1, args.rounds + 1):
            idle.append(wait_for_quiet(args.quiet_wait) if args.quiet_wait > 0 else -1.0)
            rounds.append(one_round(args, number, scratch, rule_args))
    tools = [ToolSummary(tool=name,
                         seconds=tuple(r[name][0].seconds for r in rounds),
                         cpu_seconds=tuple(r[name][0].cpu_seconds for r in rounds),
                         peak_rss_mib=max(r[name][0].peak_rss_mib for r in rounds),
                         corpus_bytes=cache["bytes"], corpus_files=cache["files"])
             for name in RUNS]
    table = [*tools_table(tools), "", *finding_lines(rounds[-1])]
    header = [f"# extract bench {stamp}", "",
              f"corpus {args.root}: {cache['files']} files, {cache['bytes'] / 1e6:.1f} MB, "
              f"scale {args.scale}; jobs {args.jobs}; {args.rounds} rounds; "
              f"loadavg before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}; "
              f"CPU idle before rounds {', '.join(f'{x:.2f}' for x in idle)}", ""]
    markdown = "\n".join([*header, *table, ""])
    report = {
        "timestamp": stamp,
        "corpus": {"dir": str(args.root), **cache, "manifest": manifest},
        "machine": {**machine_info(args.yara, shlex.split(args.dlpd), REPO),
                    "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                    "cpu_idle_before_rounds": [round(x, 2) for x in idle]},
        "jobs": args.jobs,
        "tools": [t.to_json() for t in tools],
        "findings": {name: found for name, (_, found) in rounds[-1].items()},
        "runs": [{name: {"seconds": round(res.seconds, 3), "cpu_seconds": round(res.cpu_seconds, 2),
                         "peak_rss_mib": round(res.peak_rss_mib, 1),
                         "returncode": res.returncode} for name, (res, _) in r.items()}
                 for r in rounds],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    base = args.out / f"extract-{stamp}"
    base.with_suffix(".json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    base.with_suffix(".md").write_text(markdown)
    print("\n" + markdown)
    print(f"written: {base}.json, {base}.md")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return run(parse_args(argv))
    except BenchError as exc:
        print(f"extract_bench: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
