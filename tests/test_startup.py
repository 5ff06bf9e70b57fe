"""Start-up: each command imports what it uses and nothing else.

What is imported is asserted, never how long it took (timings belong to bench/): the real
CLI runs as a subprocess (``python -m dlpd ...``, through runpy) that writes ``sys.modules``
to a file as it exits. (``-X importtime`` would not do: it does not list the modules that
``importlib.import_module`` loads, which is how commands and extractors are loaded.)
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import click
import pytest

from dlpd.cli import COMMANDS, cli
from tests.conftest import DlpdRun

# `python -m dlpd ARGS`, but sys.modules is written to OUT when the process exits.
_RUN_RECORDING = """
import atexit, json, runpy, sys
out, args = sys.argv[1], sys.argv[2:]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["dlpd", *args]
runpy.run_module("dlpd", run_name="__main__", alter_sys=True)
"""

# Never needed by `dlpd scan` of a tree without such files, on a local store that exists
# and holds no label: the other commands and their store modules, SQLAlchemy (the cache
# is read through sqlite3), the daemon, the watcher, the sinks, the migrations, the
# extractors of formats the tree does not hold, rich (only for a table on a terminal) and
# structlog (only when something is logged).
NOT_FOR_SCAN = (
    "alembic", "sqlalchemy", "dlpd.store.db", "dlpd.store.schema", "dlpd.store.labels",
    "dlpd.store.fingerprints", "dlpd.labelling.resolve",
    "rich", "structlog", "watchdog", "pypdf", "pypdfium2", "pyarrow", "olefile",
    "dlpd.daemon", "dlpd.watch", "dlpd.sinks", "dlpd.config_checks",
    "dlpd.cli.alerts", "dlpd.cli.daemon", "dlpd.cli.labels", "dlpd.cli.rules",
    "dlpd.cli.render_alerts", "dlpd.store.access", "dlpd.store.alerts", "dlpd.store.outbox",
    "dlpd.classify.extract.archive", "dlpd.classify.extract.pdf",
    "dlpd.classify.extract.ooxml", "dlpd.classify.extract.odf",
    "dlpd.classify.extract.ole", "dlpd.classify.extract.mail",
    "dlpd.classify.extract.sqlite", "dlpd.classify.extract.columnar",
    "dlpd.classify.extract.notebook", "dlpd.classify.extract.image",
)  # fmt: skip

# `dlpd --help` reads no config, opens no store and compiles no rule.
NOT_FOR_HELP = (
    "pydantic", "sqlalchemy", "yara", "magic", "structlog", "rich",
    "dlpd.config", "dlpd.wiring", "dlpd.store", "dlpd.classify",
    "dlpd.cli.scan", "dlpd.cli.alerts", "dlpd.cli.daemon", "dlpd.cli.labels", "dlpd.cli.rules",
)  # fmt: skip


class Recorded(NamedTuple):
    returncode: int
    stdout: str
    stderr: str
    modules: set[str]


def offending(names: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names
                  if any(n == f or n.startswith(f + ".") for f in forbidden))


@pytest.fixture
def importing(dlpd_home: Path, tmp_path: Path) -> Callable[..., Recorded]:
    """Run the CLI as a user would (HOME and XDG dirs of its own) and record its imports."""

    def run(*args: str | os.PathLike[str]) -> Recorded:
        out = tmp_path / "modules.json"
        env = {**os.environ, "HOME": str(dlpd_home),
               "XDG_STATE_HOME": str(dlpd_home / ".local/state"),
               "XDG_CACHE_HOME": str(dlpd_home / ".cache")}
        proc = subprocess.run([sys.executable, "-c", _RUN_RECORDING, str(out),
                               *map(os.fspath, args)], capture_output=True, text=True,
                              env=env, cwd=dlpd_home, timeout=120, check=False)
        modules = set(json.loads(out.read_text()))
        assert "dlpd.cli" in modules
        return Recorded(proc.returncode, proc.stdout, proc.stderr, modules)

    return run


@pytest.mark.parametrize("fmt", ["jsonl", "json", "table"])
def test_scan_of_an_empty_tree_imports_only_what_scanning_uses(
    tmp_path: Path, importing: Callable[..., Recorded], dlpd_config: Callable[..., Path],
    fmt: str,
) -> None:
    """``table`` too: stdout is a pipe here, so the table is plain text and needs no rich.
    The first scan creates the store (through SQLAlchemy); the next ones need none of it."""
    cfg = dlpd_config(tmp_path / "cfg")
    (tmp_path / "empty").mkdir()
    first = importing("scan", "--config", cfg, "--format", fmt, tmp_path / "empty")
    assert first.returncode == 0, first.stderr[-2000:]
    assert {"dlpd.cli.scan", "yara", "sqlalchemy"} <= first.modules  # the list is real
    run = importing("scan", "--config", cfg, "--format", fmt, tmp_path / "empty")
    assert run.returncode == 0, run.stderr[-2000:]
    assert {"dlpd.cli.scan", "yara", "dlpd.store.direct"} <= run.modules
    assert offending(run.modules, NOT_FOR_SCAN) == []


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_scan_imports_an_extractor_when_it_meets_its_kind(
    tmp_path: Path, importing: Callable[..., Recorded], dlpd_config: Callable[..., Path],
    jobs: str,
) -> None:
    """One job reads in this process; two read in worker processes, and the extractor is
    imported there, never in the process that walks and records."""
    tree = tmp_path / "tree"
    tree.mkdir()
    with zipfile.ZipFile(tree / "notes.zip", "w") as z:
        z.writestr("notes.txt", "CUI//SP-PRVCY\nPersonnel records.\n")
    run = importing("scan", "--config", dlpd_config(tmp_path / "cfg"), "--format", "jsonl",
                    "--jobs", jobs, tree)
    assert run.returncode == 1, run.stderr[-2000:]
    assert ("dlpd.classify.extract.archive" in run.modules) is (jobs == "1")
    (line,) = [json.loads(x) for x in run.stdout.splitlines()]
    assert line["categories"] == ["cui"]


def test_help_imports_no_command(importing: Callable[..., Recorded]) -> None:
    run = importing("--help")
    assert run.returncode == 0
    assert offending(run.modules, NOT_FOR_HELP) == []
    for name in COMMANDS:
        assert f"\n  {name} " in run.stdout


def test_help_lists_each_command_as_its_own_help_says() -> None:
    """``COMMANDS`` carries each command's summary so that `dlpd --help` imports none:
    it must say what the command itself says, at every width."""
    ctx = click.Context(cli)
    for name, entry in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name
        for width in (30, 45, 80, 200):
            summary = click.Command(name, help=entry.summary).get_short_help_str(width)
            assert summary == command.get_short_help_str(width), name


def test_every_command_runs_its_own_help(run_dlpd: Callable[..., DlpdRun]) -> None:
    for name in COMMANDS:
        run = run_dlpd(name, "--help")
        assert run.returncode == 0, (name, run.stderr[-2000:])
        assert f"Usage: python -m dlpd {name}" in run.stdout


def test_scan_logs_json_at_info_and_nothing_at_the_default_level(
    tmp_path: Path, run_dlpd: Callable[..., DlpdRun], dlpd_config: Callable[..., Path],
) -> None:
    """structlog is loaded only when something is logged: when it is, it is configured."""
    cfg = dlpd_config(tmp_path / "cfg")
    (tmp_path / "empty").mkdir()
    quiet = run_dlpd("scan", "--config", cfg, "--format", "jsonl", tmp_path / "empty")
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == ""
    loud = run_dlpd("--log-level", "info", "scan", "--config", cfg, "--format", "jsonl",
                    tmp_path / "empty")
    assert loud.returncode == 0 and loud.stdout == ""
    events = [json.loads(line) for line in loud.stderr.splitlines()]
    assert any(e["event"] == "scan finished" and e["logger"] == "dlpd.scan" for e in events)


def test_scan_keeps_its_compiled_rules_in_the_state_directory(
    tmp_path: Path, run_dlpd: Callable[..., DlpdRun], dlpd_config: Callable[..., Path],
) -> None:
    state = tmp_path / "state"
    cfg = dlpd_config(tmp_path / "cfg")
    (tmp_path / "empty").mkdir()
    for _ in range(2):
        run = run_dlpd("scan", "--config", cfg, "--format", "jsonl", tmp_path / "empty",
                       env={"XDG_STATE_HOME": str(state), "STATE_DIRECTORY": ""})
        assert run.returncode == 0, run.stderr[-2000:]
    cache = state / "dlpd" / "compiled-rules"
    (compiled,) = cache.iterdir()
    assert compiled.suffix == ".yarc"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert stat.S_IMODE(compiled.stat().st_mode) == 0o600
