"""Exposure of real files with real accounts, checked against the kernel itself: for each
case the outsider really tries to read the file (``setpriv`` as that user), and dlpd's
answer must agree with what the kernel allowed."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from dlpd.exposure.accounts import AccountsCache, load
from dlpd.exposure.check import exposure_of
from dlpd.exposure.model import Exposure

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(t) for t in ("useradd", "groupadd", "setpriv")),
    reason="needs root, useradd, groupadd and setpriv to make and act as real accounts")

needs_setfacl = pytest.mark.skipif(
    shutil.which("setfacl") is None,
    reason="setfacl missing (Debian package acl; scripts/test installs it)")


class World(NamedTuple):
    reader: str      # a member of the team (the label's readers)
    outsider: str    # in lab-all with the reader, not in the team
    team: str
    lab: str
    base: Path       # 0755, below /tmp

    @property
    def readers(self) -> tuple[str, ...]:
        return (f"group:{self.team}",)


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    tag = uuid.uuid4().hex[:6]
    reader, outsider = f"dlpdexr{tag}", f"dlpdexo{tag}"
    team, lab = f"dlpdteam{tag}", f"dlpdlab{tag}"
    base = Path(tempfile.mkdtemp(prefix="dlpd-exposure-", dir="/tmp"))
    made_users: list[str] = []
    made_groups: list[str] = []
    try:
        for name in (reader, outsider):
            _run("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin",
                 "--user-group", name)
            made_users.append(name)
        for group in (team, lab):
            _run("groupadd", group)
            made_groups.append(group)
        _run("usermod", "-aG", f"{team},{lab}", reader)
        _run("usermod", "-aG", lab, outsider)
        base.chmod(0o755)
        yield World(reader, outsider, team, lab, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
        for name in made_users:
            subprocess.run(["userdel", name], check=False, capture_output=True)
        for group in made_groups:
            subprocess.run(["groupdel", group], check=False, capture_output=True)


def _can_read(user: str, path: Path) -> bool:
    """The kernel's answer: can ``user`` (with the groups it logs in with) open it?"""
    probe = "import sys; open(sys.argv[1], 'rb').close()"
    if path.is_dir():
        probe = "import os, sys; os.listdir(sys.argv[1])"
    done = subprocess.run(["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups",
                           "/usr/bin/python3", "-c", probe, str(path)],
                          check=False, capture_output=True, cwd="/")
    return done.returncode == 0


def _file(world: World, relative: str, mode: int, group: str | None = None) -> Path:
    path = world.base / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("K-17 drawings\n")
    shutil.chown(path, world.reader, group or world.team)
    path.chmod(mode)
    return path


def _judge(world: World, path: Path) -> Exposure:
    found = exposure_of(str(world.base), str(path), world.readers, load(world.readers))
    assert found is not None
    # What dlpd says and what the kernel does agree, for the one outsider we can ask.
    assert _can_read(world.outsider, path) == any(
        world.outsider in r.who or r.kind in ("world", "group", "acl-group")
        for r in found.reasons)
    return found


def test_group_readable_by_the_readers_group_is_not_exposed(world: World) -> None:
    found = _judge(world, _file(world, "a/spec.txt", 0o640))
    assert found.reasons == ()
    assert _can_read(world.reader, world.base / "a/spec.txt")


def test_chmod_o_plus_r_is_world_readable(world: World) -> None:
    path = _file(world, "b/spec.txt", 0o640)
    assert not _judge(world, path).is_exposed
    path.chmod(0o644)
    assert [r.text for r in _judge(world, path).reasons] == ["world-readable"]


def test_world_readable_file_in_a_0700_directory_is_not_exposed(world: World) -> None:
    path = _file(world, "c/spec.txt", 0o644)
    shutil.chown(path.parent, world.reader, world.reader)
    path.parent.chmod(0o700)
    assert _judge(world, path).reasons == ()


def test_group_with_an_outsider_names_the_group_and_count(world: World) -> None:
    path = _file(world, "d/spec.txt", 0o640, group=world.lab)
    assert [r.text for r in _judge(world, path).reasons] == [
        f"group {world.lab} (1 member outside readers)"]


def test_labelled_directory_listable_by_others(world: World) -> None:
    directory = world.base / "e"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    assert [r.text for r in _judge(world, directory).reasons] == ["world-readable"]
    directory.chmod(0o751)  # others may pass through, not list
    assert _judge(world, directory).reasons == ()


@needs_setfacl
def test_acl_user_entry_is_found_and_a_closed_mask_is_not(world: World) -> None:
    path = _file(world, "f/spec.txt", 0o640)
    _run("setfacl", "-m", f"u:{world.outsider}:r", str(path))
    assert [r.text for r in _judge(world, path).reasons] == [f"ACL user:{world.outsider}"]
    _run("setfacl", "-m", "m::---", str(path))
    assert _judge(world, path).reasons == ()


@needs_setfacl
def test_acl_on_a_directory_above_opens_the_way(world: World) -> None:
    path = _file(world, "g/spec.txt", 0o644)
    shutil.chown(path.parent, world.reader, world.reader)
    path.parent.chmod(0o700)
    assert _judge(world, path).reasons == ()
    _run("setfacl", "-m", f"u:{world.outsider}:x", str(path.parent))
    assert [r.text for r in _judge(world, path).reasons] == [
        "world-readable (reachable by 1 account outside readers)"]


def test_a_symlink_in_place_of_the_path_is_not_examined(world: World) -> None:
    target = _file(world, "h/spec.txt", 0o644)
    link = world.base / "h" / "link.txt"
    link.symlink_to(target)
    assert exposure_of(str(world.base), str(link), world.readers, load()) is None


def test_accounts_cache_reads_the_databases_again_after_its_interval(world: World) -> None:
    now = [0.0]
    cache = AccountsCache(refresh=300.0, clock=lambda: now[0])
    first = cache.get(world.readers)
    name = f"dlpdexl{uuid.uuid4().hex[:6]}"
    _run("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", name)
    try:
        assert cache.get(world.readers) is first
        now[0] += 300.0
        assert name in cache.get(world.readers).user_ids
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)
