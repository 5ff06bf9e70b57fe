"""`dlpd status` by someone who may not read the daemon's status file: "unknown" (LSB exit
4) with the reason, never "not running". A real unprivileged process (root without
capabilities) against a 0600 file that belongs to nobody."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dlpd.cli.common import ExitCode


@pytest.fixture
def locked_status(tmp_path: Path) -> Path:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to drop capabilities")
    run = tmp_path / "run"
    run.mkdir()
    status = run / "status.json"
    status.write_text(json.dumps({"pid": os.getpid(), "started": 0, "updated": 0}))
    status.chmod(0o600)
    os.chown(status, 65534, 65534)
    cfg = tmp_path / "dlpd.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/dlpd.db"\n'
                   f'[daemon]\nruntime_dir = "{run}"\n')
    return cfg


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_an_unreadable_status_file_is_unknown_not_not_running(
        locked_status: Path, run_dlpd: Callable[..., Any], fmt: str) -> None:
    res = run_dlpd("status", "--config", locked_status, "--format", fmt, unprivileged=True)
    assert res.returncode == ExitCode.UNKNOWN == 4, res.describe()
    assert "not running" not in res.stdout
    (line,) = res.stderr.splitlines()
    assert "cannot tell whether the daemon runs" in line
    assert "status.json: permission denied" in line
    if fmt == "json":
        (report,) = json.loads(res.stdout)
        assert report["state"] == "unknown" and "permission denied" in report["error"]
    else:
        assert res.stdout == "dlpd: unknown\n"
