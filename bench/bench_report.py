"""Summaries and rendering for the scan benchmark: medians, targets, Markdown, JSON.

Pure: takes measured numbers, returns text. ``scan_bench.py`` does the running and writing.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ToolSummary:
    """One tool over all rounds: median time, throughput from it, and the worst peak RSS."""

    tool: str
    seconds: tuple[float, ...]
    cpu_seconds: tuple[float, ...]
    peak_rss_mib: float
    corpus_bytes: int
    corpus_files: int

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.seconds)

    @property
    def mb_per_s(self) -> float:
        return self.corpus_bytes / 1e6 / self.median_seconds

    @property
    def files_per_s(self) -> float:
        return self.corpus_files / self.median_seconds

    @property
    def reads_corpus(self) -> bool:
        return self.corpus_files > 0

    @property
    def median_cpu_seconds(self) -> float:
        return statistics.median(self.cpu_seconds)

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "median_seconds": round(self.median_seconds, 3),
            "mb_per_s": round(self.mb_per_s, 1),
            "files_per_s": round(self.files_per_s, 1),
            "median_cpu_seconds": round(self.median_cpu_seconds, 2),
            "peak_rss_mb": round(self.peak_rss_mib, 1),
            "rounds_seconds": [round(s, 3) for s in self.seconds],
        }


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    value: float
    limit: float
    at_least: bool  # True: value >= limit passes; False: value <= limit passes
    unit: str = ""

    @property
    def passed(self) -> bool:
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": round(self.value, 4),
            "limit": self.limit,
            "op": ">=" if self.at_least else "<=",
            "passed": self.passed,
        }


def paired_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """Median of per-round ratios: runs of one round are adjacent in time, so a noisy
    neighbour slows both sides of a pair alike and the ratio is steadier than the times."""
    return statistics.median(n / d for n, d in zip(numerators, denominators, strict=True))


def build_targets(yara: ToolSummary, cold: ToolSummary, warm: ToolSummary) -> list[Target]:
    return [
        # Throughput over the same bytes is inverse time: yara seconds / dlpd seconds.
        Target("dlpd cold / yara throughput", paired_ratio(yara.seconds, cold.seconds), 0.8, True),
        Target("dlpd warm / cold time", paired_ratio(warm.seconds, cold.seconds), 0.05, False),
        Target(
            "dlpd peak RSS",
            max(cold.peak_rss_mib, warm.peak_rss_mib),
            250.0,
            False,
            " MB",
        ),
    ]


def diagnostics(tools: Sequence[ToolSummary]) -> dict[str, float]:
    """Ratios that explain the targets; none is a target itself."""
    by_name = {t.tool: t for t in tools}
    cold, warm, startup = by_name["dlpd cold"], by_name["dlpd warm"], by_name["dlpd start-up"]
    found = {
        # The cache's own cost: warm and cold time without the start-up both pay.
        "warm_net_of_startup": statistics.median(
            (w - s) / (c - s)
            for w, c, s in zip(warm.seconds, cold.seconds, startup.seconds, strict=True)
        ),
        "startup_share_of_cold": paired_ratio(startup.seconds, cold.seconds),
    }
    if "python floor" in by_name:
        found["floor_over_yara_throughput"] = paired_ratio(
            by_name["yara"].seconds, by_name["python floor"].seconds
        )
    return found


def diagnostic_lines(found: dict[str, float]) -> list[str]:
    lines = [
        f"- Warm net of start-up, (warm - start-up) / (cold - start-up): "
        f"{found['warm_net_of_startup']:.3f} (what the incremental cache itself costs).",
        f"- Start-up / cold time: {found['startup_share_of_cold']:.3f}.",
    ]
    if "floor_over_yara_throughput" in found:
        lines.append(
            f"- Python floor / yara throughput: {found['floor_over_yara_throughput']:.3f} "
            "(the best a read+hash+yara-python pipeline did here)."
        )
    return lines


def _fmt(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def tools_table(tools: Sequence[ToolSummary]) -> list[str]:
    lines = [
        "| tool | median s | MB/s | files/s | CPU s | peak RSS MB | rounds s |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for t in tools:
        rounds = ", ".join(f"{s:.2f}" for s in t.seconds)
        mb_s, files_s = (
            (f"{t.mb_per_s:.1f}", f"{t.files_per_s:.0f}") if t.reads_corpus else ("--", "--")
        )
        lines.append(
            f"| {t.tool} | {t.median_seconds:.2f} | {mb_s} | {files_s} | "
            f"{t.median_cpu_seconds:.1f} | {t.peak_rss_mib:.0f} | {rounds} |"
        )
    return lines


def targets_table(targets: Sequence[Target]) -> list[str]:
    lines = ["| target | measured | limit | result |", "|---|---:|---:|---|"]
    for t in targets:
        op = ">=" if t.at_least else "<="
        verdict = "PASS" if t.passed else "FAIL"
        lines.append(
            f"| {t.name} | {_fmt(t.value)}{t.unit} | {op} {t.limit:g}{t.unit} | **{verdict}** |"
        )
    return lines


def detection_lines(detection: dict[str, Any]) -> list[str]:
    planted = detection["planted"]
    return [
        f"- Planted positives: {planted} files ({detection['planted_in_containers']} inside "
        "docx/xlsx/zip/tar.gz/gz, invisible to a byte-level scan). FASTQ/VCF files are genomic "
        'data by format; "others" had nothing planted: false positives (e.g. keyword-only '
        "hits in binary data that a validator would reject).",
        f"- yara CLI flagged {detection['yara_files']} files: {detection['yara_planted']}/"
        f"{planted} planted ({detection['yara_planted_in_containers']} in containers), "
        f"{detection['yara_formats']}/{detection['format_files']} FASTQ/VCF, "
        f"{detection['yara_other']} others.",
        f"- dlpd flagged {detection['dlpd_files']} files: {detection['dlpd_planted']}/{planted} "
        f"planted ({detection['dlpd_planted_in_containers']} in containers, "
        f"{detection['dlpd_planted_right_category']} with the planted category), "
        f"{detection['dlpd_formats']}/{detection['format_files']} FASTQ/VCF, "
        f"{detection['dlpd_other']} others.",
        f"- dlpd outcomes (cold, last round): {detection['dlpd_outcomes']}; warm run answered "
        f"{detection['warm_cached']}/{detection['warm_files']} files from the cache.",
    ]


def _percentages(shares: Sequence[float]) -> str:
    return ", ".join("not measured" if x < 0 else f"{x:.0%}" for x in shares)


def _reference_notes(tools: Sequence[ToolSummary]) -> list[str]:
    names = {t.tool for t in tools}
    notes = [
        "`dlpd start-up` scans an empty directory: imports, rule compilation and opening the "
        "store, the floor under every dlpd run and most of the warm time."
    ]
    if "python floor" in names:
        notes.append(
            "`python floor` (bench/floor_scan.py) only reads, hashes and matches each file with "
            "yara-python on the same threads: the least any Python scanner pays."
        )
    return notes


def render_markdown(
    report: dict[str, Any], tools: Sequence[ToolSummary], targets: Sequence[Target]
) -> str:
    corpus, machine = report["corpus"], report["machine"]
    lines = [
        f"# dlpd scan benchmark, {report['timestamp']}",
        "",
        f"Corpus `{corpus['dir']}`: {corpus['files']} files, {corpus['bytes'] / 1e6:.1f} MB, "
        f"{corpus['dirs']} dirs (seed {corpus['seed']}). Rules: {report['rules']['count']} "
        f"files from `{report['rules']['dir']}`.",
        f"Machine: {machine['nproc']} CPUs ({machine['cpu_model']}), "
        f"{machine['mem_total_mb']} MB RAM, Python {machine['python']}, yara CLI "
        f"{machine['yara_cli']}, yara-python {machine['yara_python']}, dlpd "
        f"{machine['dlpd_version']} @ {machine['dlpd_commit']}.",
        f"Page cache: warm. Every file was read once ({report['page_cache']['seconds']:.2f} s) "
        "before round 1, so all timed runs read from RAM. Python bytecode: cached, as in an "
        "installed package (one untimed dlpd start-up first).",
        f"Other work on the machine: CPU idle just before each round "
        f"{_percentages(machine['cpu_idle_before_rounds'])} (each round waits up to "
        f"{report['quiet_wait']:g} s for 85%); load average before {machine['loadavg_before']}, "
        f"after {machine['loadavg_after']}.",
        f"Rounds: {report['rounds']}, interleaved ({', '.join(t.tool for t in tools)} in each), "
        f"jobs/threads {report['jobs']}; each round has a fresh dlpd state directory. Times are "
        "medians; peak RSS is the worst round; ratios are medians of per-round ratios.",
        "",
        *tools_table(tools),
        "",
        *_reference_notes(tools),
        "",
        *targets_table(targets),
        "",
        "Diagnostics (not targets):",
        "",
        *diagnostic_lines(report["diagnostics"]),
        "",
        "Commands:",
        "",
        *[f"- {name}: `{cmd}`" for name, cmd in report["commands"].items()],
        "",
        "Detection (same rules; dlpd also extracts documents/archives and validates):",
        "",
        *detection_lines(report["detection"]),
        "",
    ]
    return "\n".join(lines)
