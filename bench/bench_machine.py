"""What the benchmark ran on: CPUs, memory, tool versions, the dlpd commit. Read-only."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any


def _command_output(argv: list[str], cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=60, cwd=cwd, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_mb() -> int:
    with open("/proc/meminfo") as handle:
        return int(handle.readline().split()[1]) // 1024


def machine_info(yara: str, dlpd: list[str], repo: Path) -> dict[str, Any]:
    try:
        yara_python = metadata.version("yara-python")
    except metadata.PackageNotFoundError:
        yara_python = "not installed"
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "mem_total_mb": _mem_total_mb(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "yara_cli": _command_output([yara, "--version"]),
        "yara_python": yara_python,
        "dlpd_version": _command_output([*dlpd, "--version"]).rsplit(" ", 1)[-1],
        "dlpd_commit": _command_output(["git", "rev-parse", "--short", "HEAD"], cwd=repo),
    }
