"""Summaries and Markdown for bench/daemon_bench.py. Pure: numbers in, text out.

The measured backend is dlpd's own inotify reader (the default on Linux); watchdog's
Observer is the reference. Targets are judged on each backend; ratios are inotify /
watchdog from the same run (lower is better for every ratio shown).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MEASURED, REFERENCE = "inotify", "watchdog"

P50_LIMIT_MS = 50.0
P99_LIMIT_MS = 1000.0
IDLE_CPU_LIMIT_PCT = 0.5
RSS_LIMIT_MB = 300.0
# Latency targets hold "up to 100 files/s"; faster cases are judged on losses only.
LATENCY_TARGET_MAX_RATE = 100.0


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def median(values: Sequence[float]) -> float:
    clean = [v for v in values if not math.isnan(v)]
    return statistics.median(clean) if clean else math.nan


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "--"
    return f"{value:,.{digits}f}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or math.isnan(a) or math.isnan(b) or b == 0:
        return "--"
    return f"{a / b:.2f}"


# -- latency ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """One case (rate, size mix) on one backend over all rounds."""

    case: str
    rate: float
    backend: str
    written: int  # summed over rounds
    missed: int  # files without an alert after the drain, summed
    p50_ms: float  # median over rounds of each round's p50
    p99_ms: float  # median over rounds of each round's p99
    max_ms: float  # worst single file, all rounds
    pooled_p99_ms: float  # p99 over every file of every round
    rounds_p50: tuple[float, ...]
    rounds_p99: tuple[float, ...]
    by_size: dict[str, dict[str, float]]  # size class -> p50/p99/max ms (pooled)
    duplicates: int  # alerts beyond one per file (a file scanned mid-write, then again)
    writer_lag_ms: float  # the writer's worst lateness against its schedule
    stalls: int  # pauses > 100 ms in alert commits while files waited, all rounds
    stall_max_ms: float
    stall_spacing_s: float  # median time from one such pause to the next (nan: < 2)

    def to_json(self) -> dict[str, Any]:
        return {k: _round(getattr(self, k)) for k in self.__slots__}


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 2)
    if isinstance(value, tuple | list):
        return [_round(v) for v in value]
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    return value


def size_class(size: int) -> str:
    if size >= 8 << 20:
        return "10 MB"
    if size >= 512 << 10:
        return "1 MB"
    return "small"


def summarize_latency(case: str, rate: float, backend: str,
                      rounds: Sequence[dict[str, Any]]) -> LatencySummary:
    """``rounds``: per round, {"latencies": [(size, seconds)], "written", "missed", ...}."""
    per_round = [[s for _, s in r["latencies"]] for r in rounds]
    pooled = [s for r in rounds for _, s in r["latencies"]]
    classes: dict[str, list[float]] = {}
    for r in rounds:
        for size, seconds in r["latencies"]:
            classes.setdefault(size_class(size), []).append(seconds)
    by_size = {
        name: {"files": len(vals), "p50_ms": percentile(vals, 50) * 1e3,
               "p99_ms": percentile(vals, 99) * 1e3, "max_ms": max(vals) * 1e3}
        for name, vals in sorted(classes.items())
    }
    stalls = [st for r in rounds for st in r["stalls"]]
    spacing = [b[0] - a[0] for r in rounds for a, b in zip(r["stalls"], r["stalls"][1:],
                                                            strict=False)]
    p50s = tuple(percentile(v, 50) * 1e3 for v in per_round)
    p99s = tuple(percentile(v, 99) * 1e3 for v in per_round)
    return LatencySummary(
        case=case, rate=rate, backend=backend,
        written=sum(r["written"] for r in rounds),
        missed=sum(r["missed"] for r in rounds),
        p50_ms=median(p50s), p99_ms=median(p99s),
        max_ms=max(pooled) * 1e3 if pooled else math.nan,
        pooled_p99_ms=percentile(pooled, 99) * 1e3,
        rounds_p50=p50s, rounds_p99=p99s, by_size=by_size,
        duplicates=sum(r["duplicates"] for r in rounds),
        writer_lag_ms=max(r["writer_lag"] for r in rounds) * 1e3,
        stalls=len(stalls),
        stall_max_ms=max((st[1] for st in stalls), default=0.0) * 1e3,
        stall_spacing_s=median(spacing),
    )


def latency_table(summaries: Sequence[LatencySummary]) -> list[str]:
    by = {(s.case, s.backend): s for s in summaries}
    cases = list(dict.fromkeys(s.case for s in summaries))
    lines = [
        "| case | backend | files | missed | p50 ms | p99 ms | max ms | rounds p50 / p99 ms "
        "| p50 ratio | p99 ratio |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for case in cases:
        mine, ref = by.get((case, MEASURED)), by.get((case, REFERENCE))
        for s in (mine, ref):
            if s is None:
                continue
            rounds = ", ".join(f"{fmt(a, 0)}/{fmt(b, 0)}"
                               for a, b in zip(s.rounds_p50, s.rounds_p99, strict=True))
            first = s is mine or mine is None
            r50 = ratio(mine.p50_ms, ref.p50_ms) if first and mine and ref else ""
            r99 = ratio(mine.p99_ms, ref.p99_ms) if first and mine and ref else ""
            lines.append(f"| {case} | {s.backend} | {s.written} | {s.missed} | "
                         f"{fmt(s.p50_ms)} | {fmt(s.p99_ms)} | {fmt(s.max_ms)} | {rounds} | "
                         f"{r50} | {r99} |")
    return lines


def stall_lines(summaries: Sequence[LatencySummary]) -> list[str]:
    out = []
    for s in summaries:
        if not s.stalls:
            continue
        spacing = "" if math.isnan(s.stall_spacing_s) else \
            f", one every {s.stall_spacing_s:.2f} s (median spacing)"
        out.append(f"- {s.case}, {s.backend}: {s.stalls} pauses > 100 ms in alert commits "
                   f"while files waited, longest {fmt(s.stall_max_ms, 0)} ms{spacing}.")
    return out


def size_lines(summaries: Sequence[LatencySummary]) -> list[str]:
    out = []
    for s in summaries:
        if len(s.by_size) < 2:
            continue
        parts = [f"{name}: {int(v['files'])} files, p50 {fmt(v['p50_ms'])} / p99 "
                 f"{fmt(v['p99_ms'])} / max {fmt(v['max_ms'])} ms"
                 for name, v in s.by_size.items()]
        out.append(f"- {s.case}, {s.backend}: " + "; ".join(parts))
    return out


# -- storms -------------------------------------------------------------------------------


def summarize_storm(count: int, backend: str, runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {
        "count": count,
        "backend": backend,
        "runs": len(runs),
        "write_s": median([r["write_s"] for r in runs]),
        "drain_s": median([r["drain_s"] for r in runs]),
        "rounds_drain_s": [r["drain_s"] for r in runs],
        "closed_write": median([r["closed_write"] for r in runs]),
        "overflows": max(r["overflows"] for r in runs),
        "missing_files": max(r["missing_files"] for r in runs),
        "missing_alerts": max(r["missing_alerts"] for r in runs),
        "cpu_s": median([r["cpu_s"] for r in runs]),
        "hwm_mb": max(r["hwm_kib"] for r in runs) / 1024,
        "full_crawls": max(r["full_crawls"] for r in runs),
    }


def storm_table(storms: Sequence[dict[str, Any]]) -> list[str]:
    lines = [
        "| storm | backend | runs | write s | drain s | files/s | close events delivered "
        "| overflows | full crawls | missing rows / alerts | daemon CPU s | VmHWM MB "
        "| drain ratio |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    by = {(s["count"], s["backend"]): s for s in storms}
    for count in dict.fromkeys(s["count"] for s in storms):
        mine, ref = by.get((count, MEASURED)), by.get((count, REFERENCE))
        for s in (mine, ref):
            if s is None:
                continue
            first = s is mine or mine is None
            dr = ratio(mine["drain_s"], ref["drain_s"]) if first and mine and ref else ""
            rate = count / s["drain_s"] if s["drain_s"] and not math.isnan(s["drain_s"]) \
                else math.nan
            delivered = f"{fmt(s['closed_write'], 0)} ({fmt(100 * s['closed_write'] / count, 0)}%)"
            lines.append(
                f"| {count:,} | {s['backend']} | {s['runs']} | {fmt(s['write_s'])} | "
                f"{fmt(s['drain_s'])} | {fmt(rate, 0)} | {delivered} | {s['overflows']} | "
                f"{s['full_crawls']} | {s['missing_files']} / {s['missing_alerts']} | "
                f"{fmt(s['cpu_s'])} | {fmt(s['hwm_mb'], 0)} | {dr} |")
    return lines


# -- idle ---------------------------------------------------------------------------------


def idle_table(idle: Sequence[dict[str, Any]]) -> list[str]:
    lines = [
        "| backend | dirs | watched dirs | READY s | first crawl s | idle CPU % of a core "
        "| VmRSS MB | VmHWM MB | threads |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in idle:
        lines.append(
            f"| {s['backend']} | {s['dirs']:,} | {s['watched_dirs']:,} | {fmt(s['ready_s'])} | "
            f"{fmt(s['first_crawl_s'])} | {fmt(s['cpu_pct'], 2)} | {fmt(s['rss_kib'] / 1024, 0)} "
            f"| {fmt(s['hwm_kib'] / 1024, 0)} | {s['threads']} |")
    return lines


# -- targets ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    limit: str
    values: dict[str, float]  # backend -> measured
    at_most: float
    unit: str = ""
    digits: int = 1

    def met(self, backend: str) -> bool | None:
        value = self.values.get(backend)
        if value is None or math.isnan(value):
            return None
        return value <= self.at_most

    def cell(self, backend: str) -> str:
        value = self.values.get(backend)
        if value is None:
            return "--"
        met = self.met(backend)
        verdict = "n/a" if met is None else "met" if met else "**MISSED**"
        return f"{fmt(value, self.digits)}{self.unit} {verdict}"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "limit": self.limit,
                "values": _round(self.values),
                "met": {b: self.met(b) for b in self.values}}


def build_targets(latency: Sequence[LatencySummary], idle: Sequence[dict[str, Any]]
                  ) -> list[Target]:
    targets = []
    cases = list(dict.fromkeys((s.case, s.rate) for s in latency))
    by = {(s.case, s.backend): s for s in latency}

    def values(case: str, attr: str) -> dict[str, float]:
        return {b: float(getattr(by[(case, b)], attr)) for b in (MEASURED, REFERENCE)
                if (case, b) in by}

    for case, rate in cases:
        if rate > LATENCY_TARGET_MAX_RATE:
            continue
        targets.append(Target(f"latency p50, {case}", "<= 50 ms", values(case, "p50_ms"),
                              P50_LIMIT_MS, " ms"))
        targets.append(Target(f"latency p99, {case}", "<= 1 s", values(case, "p99_ms"),
                              P99_LIMIT_MS, " ms"))
    for case, _rate in cases:
        targets.append(Target(f"missed files, {case}", "0", values(case, "missed"), 0.0,
                              digits=0))
    for attr, name, limit, unit, digits in (
            ("cpu_pct", "idle CPU (% of a core)", IDLE_CPU_LIMIT_PCT, " %", 2),
            ("rss_kib", "idle RSS (VmRSS)", RSS_LIMIT_MB, " MB", 0),
            ("hwm_kib", "peak RSS (VmHWM)", RSS_LIMIT_MB, " MB", 0)):
        vals = {s["backend"]: s[attr] / (1024 if attr != "cpu_pct" else 1) for s in idle}
        dirs = idle[0]["dirs"] if idle else 0
        if vals:
            op = "<" if attr == "cpu_pct" else "<="
            targets.append(Target(f"{name}, {dirs:,} dirs", f"{op} {limit:g}{unit}", vals,
                                  limit, unit, digits))
    return targets


def targets_table(targets: Sequence[Target]) -> list[str]:
    lines = [f"| target | limit | {MEASURED} (dlpd default) | {REFERENCE} (reference) |",
             "|---|---|---|---|"]
    lines += [f"| {t.name} | {t.limit} | {t.cell(MEASURED)} | {t.cell(REFERENCE)} |"
              for t in targets]
    return lines
