"""`dlpd exposure` end to end: a real store with a labelled dataset, real files and a real
account; the exposed paths as JSON lines with their reasons, names escaped, exit 1 when
something is exposed and 0 when nothing is."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon.test_control_socket import LABEL, User, _useradd

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd") is None,
    reason="needs root and useradd to make a real account and label as root")


@pytest.fixture(scope="module")
def owner() -> Iterator[User]:
    user = _useradd(f"dlpdexc{uuid.uuid4().hex[:6]}")
    try:
        yield user
    finally:
        subprocess.run(["userdel", user.name], check=False, capture_output=True)


@pytest.fixture
def site(owner: User) -> Iterator[Path]:
    """A watched tree with a dataset owned by ``owner``, and a config naming the owner
    as the label's only reader."""
    base = Path(tempfile.mkdtemp(prefix="dlpd-exposure-cli-", dir="/tmp"))
    try:
        base.chmod(0o755)
        data = base / "data" / "k17"
        data.mkdir(parents=True)
        for path in (base / "data", data):
            path.chmod(0o755)
        (base / "dlpd.toml").write_text(
            f'[database]\nurl = "sqlite:///{base}/state/dlpd.db"\n\n'
            f'[watch]\npaths = ["{base}/data"]\n\n'
            f'[daemon]\ncontrol_socket = "{base}/no-daemon.sock"\n\n'
            f'[labels.{LABEL}]\napproved = ["{base}/data"]\n'
            f'readers = ["user:{owner.name}"]\n\n'
            f'[labels.personal-data]\napproved = "anywhere"\n')
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _dlpd(*args: str | os.PathLike[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dlpd", *map(os.fspath, args)],
                          check=False, capture_output=True, text=True, cwd=cwd, timeout=120)


def _dataset(site: Path, owner: User, files: dict[str, int]) -> Path:
    data = site / "data" / "k17"
    for name, mode in files.items():
        path = data / name
        path.write_text("drawings\n")
        os.chown(path, owner.uid, owner.gid)
        path.chmod(mode)
    os.chown(data, owner.uid, owner.gid)
    config = ("--config", site / "dlpd.toml")
    done = _dlpd("label", "set", data, "--label", LABEL, "--note", "EAR 9E003", *config,
                 cwd=site)
    assert done.returncode == 0, done.stderr
    scanned = _dlpd("scan", data, *config, cwd=site)  # files below take the label
    assert scanned.returncode in (0, 1), scanned.stderr
    return data


def test_exposed_files_are_listed_with_the_reason_and_names_escaped(
        site: Path, owner: User) -> None:
    hostile = "spec\n\x1b[31mok.txt"
    data = _dataset(site, owner, {"drawing.txt": 0o644, "private.txt": 0o600,
                                  hostile: 0o644})
    done = _dlpd("exposure", "--config", site / "dlpd.toml", "--format", "jsonl", cwd=site)
    assert done.returncode == 1, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    by_path = {r["path"]: r for r in records}
    assert set(by_path) == {str(data), str(data / "drawing.txt"), str(data / hostile)}
    drawing = by_path[str(data / "drawing.txt")]
    assert (drawing["label"], drawing["kind"], drawing["owner"], drawing["mode"]) == (
        LABEL, "file", owner.name, "0644")
    assert [r["text"] for r in drawing["reasons"]] == ["world-readable"]
    assert by_path[str(data)]["kind"] == "directory"  # its listing is open too
    assert "\x1b" not in done.stdout and len(done.stdout.splitlines()) == 3

    table = _dlpd("exposure", "--config", site / "dlpd.toml", cwd=site)
    assert table.returncode == 1
    assert "spec\\n\\x1b[31mok.txt" in table.stdout
    assert "\x1b" not in table.stdout
    lines = table.stdout.splitlines()
    assert lines[0].split("\t") == ["label", "path", "kind", "owner", "mode", "reasons"]
    assert len(lines) == 4 and all(len(line.split("\t")) == 6 for line in lines)


def test_nothing_exposed_exits_0(site: Path, owner: User) -> None:
    data = _dataset(site, owner, {"drawing.txt": 0o600})
    data.chmod(0o700)
    done = _dlpd("exposure", "--config", site / "dlpd.toml", "--format", "jsonl", cwd=site)
    assert (done.returncode, done.stdout) == (0, ""), done.stderr
    assert "2 labelled path(s) judged, 0 exposed" in done.stderr


def test_a_label_without_readers_is_an_error(site: Path) -> None:
    done = _dlpd("exposure", "--config", site / "dlpd.toml", "--label", "personal-data",
                 cwd=site)
    assert done.returncode == 2
    assert "has no readers" in done.stderr
