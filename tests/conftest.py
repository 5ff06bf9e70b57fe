"""Shared fixtures: dlpd as a real subprocess, throwaway configs, a thread-leak guard.

``run_dlpd(*args, env=None, timeout=..., cwd=None, unprivileged=False)`` runs
``python -m dlpd ARGS`` (``unprivileged``: as root without capabilities) in its own
process group (killed whole on timeout) and returns a ``DlpdRun`` — a
``(returncode, stdout, stderr)`` tuple with helpers to parse ``--format jsonl`` output.
``dlpd_config(directory, extra="")`` writes a TOML config whose SQLite database lives in
``directory``. ``scan_jsonl(*paths, config=...)`` is the two together for ``scan``.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import settings

# The suite's own PostgreSQL (pg_server, pg_url), for any test that asks for it.
pytest_plugins = ("tests.pg",)

# The machines are small and shared: a slow example is noise, not a failure. Properties
# are about correctness; speed is measured in bench/.
settings.register_profile("dlpd", deadline=None)
settings.load_profile("dlpd")

DLPD = (sys.executable, "-m", "dlpd")
DEFAULT_TIMEOUT = 300.0
# Root without a single capability: file modes apply to it (no CAP_DAC_OVERRIDE or
# CAP_DAC_READ_SEARCH), yet it stays the owner of the checkout and its venv, wherever they
# live (another user, such as nobody, cannot run a venv under a 0700 /root).
DROP_CAPABILITIES = ("setpriv", "--inh-caps=-all", "--ambient-caps=-all",
                     "--bounding-set=-all", "--")
TRACEBACK = "Traceback (most recent call last)"


class DlpdRun(NamedTuple):
    returncode: int
    stdout: str
    stderr: str

    def describe(self, limit: int = 3000) -> str:
        """For assertion messages: exit code and the end of stderr."""
        err = self.stderr[-limit:] if self.stderr else "(empty)"
        return f"exit code {self.returncode}; stderr tail:\n{err}"

    def records(self) -> list[dict[str, Any]]:
        """One JSON object per non-empty stdout line; fails naming the first bad line."""
        out = []
        for n, line in enumerate(self.stdout.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                pytest.fail(f"stdout line {n} is not JSON ({exc}): {line[:300]!r}\n"
                            + self.describe())
            if not isinstance(obj, dict):
                pytest.fail(f"stdout line {n} is not a JSON object: {line[:300]!r}")
            out.append(obj)
        return out

    def by_path(self) -> dict[str, dict[str, Any]]:
        """Records keyed by ``path``; fails if a path is reported twice."""
        index: dict[str, dict[str, Any]] = {}
        for rec in self.records():
            path = rec.get("path")
            assert isinstance(path, str), f"record without a string path: {rec}"
            assert path not in index, f"{path!r} reported twice:\n{index[path]}\n{rec}"
            index[path] = rec
        return index

    def assert_finished_cleanly(self) -> None:
        """Exit code 0 or 1 (never 2, never a signal) and no Python traceback on stderr."""
        assert TRACEBACK not in self.stderr, f"traceback on stderr:\n{self.stderr[-5000:]}"
        assert self.returncode in (0, 1), f"expected exit code 0 or 1; {self.describe()}"


def _decode(stream: bytes, name: str, argv: Sequence[str]) -> str:
    try:
        return stream.decode("utf-8")
    except UnicodeDecodeError as exc:
        around = stream[max(0, exc.start - 80) : exc.end + 80]
        pytest.fail(f"{name} of {' '.join(argv)} is not valid UTF-8 at byte {exc.start}: "
                    f"{around!r}")


def _run(
    args: Sequence[str | os.PathLike[str]],
    *,
    home: Path,
    env: Mapping[str, str] | None,
    timeout: float,
    cwd: str | os.PathLike[str] | None,
    unprivileged: bool,
) -> DlpdRun:
    argv = [*DLPD, *(os.fspath(a) for a in args)]
    if unprivileged:
        argv = [*DROP_CAPABILITIES, *argv]
    full_env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local/state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "PYTHONFAULTHANDLER": "1",
        **(env or {}),
    }
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=full_env, cwd=cwd or home, start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{' '.join(argv)} did not finish within {timeout:.0f}s (killed).\n"
                    f"stderr tail:\n{err.decode(errors='replace')[-3000:]}")
    return DlpdRun(proc.returncode, _decode(out, "stdout", argv), _decode(err, "stderr", argv))


@pytest.fixture(scope="session")
def dlpd_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HOME and XDG dirs for the subprocess, so no user configuration leaks in."""
    home = tmp_path_factory.mktemp("home")
    return home


@pytest.fixture(scope="session")
def run_dlpd(dlpd_home: Path) -> Callable[..., DlpdRun]:
    def run(
        *args: str | os.PathLike[str],
        env: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        cwd: str | os.PathLike[str] | None = None,
        unprivileged: bool = False,
    ) -> DlpdRun:
        return _run(args, home=Path(env["HOME"]) if env and "HOME" in env else dlpd_home,
                    env=env, timeout=timeout, cwd=cwd, unprivileged=unprivileged)

    return run


@pytest.fixture(scope="session")
def dlpd_config() -> Callable[..., Path]:
    def write(directory: Path, extra: str = "", name: str = "dlpd.toml") -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / name
        db = (directory / "dlpd.db").as_posix()
        path.write_text(f'[database]\nurl = "sqlite:///{db}"\n\n{extra}', encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def scan_jsonl(run_dlpd: Callable[..., DlpdRun]) -> Callable[..., DlpdRun]:
    """``scan_jsonl(*paths, config=CFG, args=("--no-cache",), **run_kw)``."""

    def scan(
        *paths: str | os.PathLike[str],
        config: Path,
        args: Sequence[str] = (),
        **run_kw: Any,
    ) -> DlpdRun:
        return run_dlpd("scan", *paths, "--format", "jsonl", "--config", config, *args, **run_kw)

    return scan


@pytest.fixture(autouse=True)
def _no_thread_leaks() -> Iterator[None]:
    """Fail a test that leaves threads running (after watchdog's tests/conftest.py)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 2.0
    while True:
        gc.collect()
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leaked, f"threads left running: {[t.name for t in leaked]}"
