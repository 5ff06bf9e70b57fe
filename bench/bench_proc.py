"""Run one child process and measure it: wall time, CPU time and peak memory.

Wall time is ``perf_counter`` around spawn..reap. Peak RSS comes from ``os.wait4``: the
rusage of that child alone (``communicate()``/``subprocess.run`` reap via ``waitpid`` and
would leave us with ``RUSAGE_CHILDREN``, the max over every child this script ever had).
``ru_maxrss`` is the largest single process of the child's tree, so a sampler also sums RSS
over the whole tree, in case a tool forks workers. Summed RSS counts a page that forked
workers share copy-on-write once per process (the conservative figure, the one the targets
use); summed PSS (``/proc/PID/smaps_rollup``) shares it out, for what the tree really holds.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_SAMPLE_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class RunResult:
    argv: tuple[str, ...]
    seconds: float
    user_seconds: float
    system_seconds: float
    maxrss_kib: int  # ru_maxrss of the child (Linux: KiB), largest process of its tree
    tree_rss_kib: int  # sampled peak of the summed RSS of the child and its descendants
    tree_pss_kib: int  # sampled peak of their summed PSS (shared pages shared out)
    max_processes: int
    returncode: int
    stdout: Path
    stderr: Path

    @property
    def peak_rss_mib(self) -> float:
        return max(self.maxrss_kib, self.tree_rss_kib) / 1024

    @property
    def cpu_seconds(self) -> float:
        return self.user_seconds + self.system_seconds


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, via ``/proc/PID/task/TID/children``."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{current}/task/{tid}/children") as handle:
                    queue.extend(int(child) for child in handle.read().split())
            except OSError:
                continue
    return found


def _rss_kib(pid: int) -> int:
    return _field_kib(f"/proc/{pid}/status", "VmRSS:")


def _pss_kib(pid: int) -> int:
    return _field_kib(f"/proc/{pid}/smaps_rollup", "Pss:")


def _field_kib(path: str, name: str) -> int:
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(name):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class _TreeSampler(threading.Thread):
    """Polls the summed RSS of a process tree until stopped; keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self._pid = pid
        self._stop_event = threading.Event()
        self.peak_kib = 0
        self.peak_pss_kib = 0
        self.max_processes = 1

    def run(self) -> None:
        while not self._stop_event.wait(_SAMPLE_SECONDS):
            pids = _descendants(self._pid)
            self.max_processes = max(self.max_processes, len(pids))
            self.peak_kib = max(self.peak_kib, sum(_rss_kib(p) for p in pids))
            self.peak_pss_kib = max(self.peak_pss_kib, sum(_pss_kib(p) for p in pids))

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def run_measured(
    argv: Sequence[str], stdout: Path, stderr: Path, env: Mapping[str, str] | None = None
) -> RunResult:
    """Run ``argv`` to completion with output to files; return its measurements."""
    with stdout.open("wb") as out, stderr.open("wb") as err:
        started = time.perf_counter()
        child = subprocess.Popen(list(argv), stdout=out, stderr=err, env=env)
        sampler = _TreeSampler(child.pid)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        sampler.stop()
    # Tell Popen the child is reaped, so its finaliser does not wait on a recycled pid.
    child.returncode = os.waitstatus_to_exitcode(status)
    return RunResult(
        argv=tuple(argv),
        seconds=seconds,
        user_seconds=usage.ru_utime,
        system_seconds=usage.ru_stime,
        maxrss_kib=usage.ru_maxrss,
        tree_rss_kib=sampler.peak_kib,
        tree_pss_kib=sampler.peak_pss_kib,
        max_processes=sampler.max_processes,
        returncode=child.returncode,
        stdout=stdout,
        stderr=stderr,
    )


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a (log) file, for error reports."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _cpu_times() -> tuple[int, int]:
    """(idle, total) jiffies over all CPUs since boot, from the first line of /proc/stat."""
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return idle, sum(fields[:8])  # guest time is already inside user/nice


def cpu_idle_fraction(seconds: float = 1.0) -> float:
    """Share of all CPUs idle over the next ``seconds``: what other work leaves us."""
    idle_before, total_before = _cpu_times()
    time.sleep(seconds)
    idle_after, total_after = _cpu_times()
    return (idle_after - idle_before) / max(1, total_after - total_before)


def wait_for_quiet(max_wait: float, threshold: float = 0.85) -> float:
    """Wait (up to ``max_wait`` seconds) until the CPUs are at least ``threshold`` idle, so
    that a round does not start while another job holds a core. Returns the last idle share;
    the caller records it, since after ``max_wait`` the round runs anyway."""
    deadline = time.monotonic() + max_wait
    idle = cpu_idle_fraction()
    while idle < threshold and time.monotonic() < deadline:
        time.sleep(4.0)
        idle = cpu_idle_fraction()
    return idle
