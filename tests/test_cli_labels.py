"""`dlpd label` without a daemon: the local store, as the invoking user.

A researcher on their own tree with their own store (a config pointing to a database they
own); hostile paths and notes reach the terminal escaped; bad requests exit 2, refusals 5.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon.test_control_socket import LABEL, User, _useradd, as_user

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd") is None or shutil.which("setpriv") is None,
    reason="needs root, useradd and setpriv to run commands as a real user")


@pytest.fixture(scope="module")
def researcher() -> Iterator[User]:
    user = _useradd(f"dlpdres{uuid.uuid4().hex[:6]}")
    try:
        yield user
    finally:
        subprocess.run(["userdel", user.name], check=False, capture_output=True)


@pytest.fixture
def home(researcher: User) -> Iterator[Path]:
    """The researcher's own tree and store, in a directory they own."""
    base = Path(tempfile.mkdtemp(prefix="dlpd-local-", dir="/tmp"))
    try:
        base.chmod(0o755)
        own = base / "home"
        (own / "data" / "run7").mkdir(parents=True)
        (own / "data" / "run7" / "table.csv").write_text("a,b\n1,2\n")
        (own / "dlpd.toml").write_text(
            f'[database]\nurl = "sqlite:///{own}/state/dlpd.db"\n\n'
            f'[daemon]\ncontrol_socket = "{own}/no-daemon.sock"\n\n'
            f'[labels.{LABEL}]\napproved = []\n')
        for path in [own, *own.rglob("*")]:
            os.chown(path, researcher.uid, researcher.gid)
        yield own
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_local_mode_labels_the_users_own_tree_in_their_own_store(
        researcher: User, home: Path) -> None:
    config = ("--config", home / "dlpd.toml")
    dataset = home / "data" / "run7"
    done = as_user(researcher, "label", "set", dataset, "--label", LABEL, "--note",
                   "DUA 2026-14", *config, cwd=home)
    assert done.returncode == 0, done.stderr
    assert "answering from the local store" in done.stderr
    assert (home / "state" / "dlpd.db").stat().st_uid == researcher.uid

    shown = as_user(researcher, "label", "show", dataset / "table.csv", "--format", "json",
                    *config, cwd=home)
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["mode"] == "local"
    assert [(s["label"], s["source"], s["via"], s["set_by"]) for s in report["labels"]] == [
        (LABEL, "inherited", str(dataset), researcher.name)]

    listed = as_user(researcher, "label", "list", "--format", "jsonl", *config, cwd=home)
    assert [json.loads(line)["path"] for line in listed.stdout.splitlines()] == [str(dataset)]

    history = as_user(researcher, "label", "history", dataset, *config, cwd=home)
    assert history.returncode == 0
    assert "DUA 2026-14" in history.stdout


def test_bad_requests_exit_2_and_refusals_exit_5(researcher: User, home: Path) -> None:
    config = ("--config", home / "dlpd.toml")
    unknown = as_user(researcher, "label", "set", home / "data", "--label", "secret",
                      *config, cwd=home)
    assert unknown.returncode == 2
    assert "unknown label 'secret'" in unknown.stderr
    missing = as_user(researcher, "label", "set", home / "nothing", "--label", LABEL,
                      *config, cwd=home)
    assert missing.returncode == 5, missing
    assert "no such file" in missing.stderr
    no_note = as_user(researcher, "label", "remove", home / "data", "--label", LABEL,
                      *config, cwd=home)
    assert no_note.returncode == 2
    assert "--note" in no_note.stderr
    # Not hers: /etc is root's.
    theirs = as_user(researcher, "label", "set", "/etc", "--label", LABEL, *config,
                     cwd=home)
    assert theirs.returncode == 5
    assert "does not own" in theirs.stderr


def test_hostile_names_and_notes_reach_the_terminal_escaped(
        researcher: User, home: Path) -> None:
    config = ("--config", home / "dlpd.toml")
    evil = home / "data" / "run\x1b]0;pwned\x07\nfake"
    evil.mkdir()
    os.chown(evil, researcher.uid, researcher.gid)
    note = "ok\x1b[2J\r\nSET BY root"
    done = as_user(researcher, "label", "set", evil, "--label", LABEL, "--note", note,
                   *config, cwd=home)
    assert done.returncode == 0, done.stderr
    history = as_user(researcher, "label", "history", evil, *config, cwd=home)
    listed = as_user(researcher, "label", "list", *config, cwd=home)
    for out in (done.stdout, done.stderr, history.stdout, listed.stdout):
        assert "\x1b" not in out and "\x07" not in out and "\r" not in out
    assert "\\x1b[2J" in history.stdout
    assert len(listed.stdout.splitlines()) == 2  # the header and one row: no forged line
