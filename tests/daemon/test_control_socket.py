"""The control socket of the real daemon, used by real Unix users (issue 9: "Researchers
are not root").

Two users are created for the module (useradd; removed after). The daemon runs as root
with CAP_DAC_READ_SEARCH only, as the systemd unit runs it: it reads every file but may
not write other users' attributes, so the client mirrors ``user.dlpd.labels`` itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.daemon.harness import Daemon

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd") is None or shutil.which("setpriv") is None,
    reason="needs root, useradd and setpriv to create users and run commands as them")

LABEL = "export-controlled"
# Root with one capability, as under the unit (CapabilityBoundingSet=CAP_DAC_READ_SEARCH).
DAEMON_PREFIX = ("setpriv", "--inh-caps=-all", "--ambient-caps=-all",
                 "--bounding-set=-all,+dac_read_search", "--")


class User(NamedTuple):
    name: str
    uid: int
    gid: int


class Site(NamedTuple):
    base: Path
    data: Path
    socket: Path
    owner: User
    other: User
    dataset: Path  # the owner's directory
    spec: Path  # a file in it
    others: Path  # the other user's directory


def _useradd(name: str) -> User:
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    "--user-group", name], check=True, capture_output=True)
    entry = pwd.getpwnam(name)
    return User(name, entry.pw_uid, entry.pw_gid)


@pytest.fixture(scope="module")
def users() -> Iterator[tuple[User, User]]:
    tag = uuid.uuid4().hex[:6]
    made: list[User] = []
    try:
        made.append(_useradd(f"dlpdown{tag}"))
        made.append(_useradd(f"dlpdoth{tag}"))
        yield made[0], made[1]
    finally:
        for user in made:
            subprocess.run(["userdel", user.name], check=False, capture_output=True)


def _python_prefix(user: User) -> list[str]:
    """Run as ``user`` (uid, gid and their groups): plain when the user can reach this
    interpreter; else with CAP_DAC_READ_SEARCH only to reach it (a venv under a 0700
    /root). That capability reads, it never writes, and SO_PEERCRED names the user all
    the same: what the daemon decides is unchanged."""
    plain = ["setpriv", f"--reuid={user.uid}", f"--regid={user.gid}", "--init-groups"]
    probe = subprocess.run([*plain, sys.executable, "-c", "import dlpd"],
                           check=False, capture_output=True, cwd="/")
    if probe.returncode == 0:
        return plain
    return [*plain, "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]


def as_user(user: User | None, *args: str | os.PathLike[str], cwd: Path,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``dlpd ARGS`` as ``user`` (None: root)."""
    prefix = _python_prefix(user) if user is not None else []
    home = str(cwd)
    return subprocess.run(
        [*prefix, sys.executable, "-m", "dlpd", *map(os.fspath, args)],
        check=False, capture_output=True, text=True, cwd=cwd, timeout=timeout,
        env={**os.environ, "HOME": home, "XDG_STATE_HOME": f"{home}/.state",
             "XDG_CONFIG_HOME": f"{home}/.config"})


@pytest.fixture
def site(users: tuple[User, User]) -> Iterator[Site]:
    owner, other = users
    # Not under pytest's tmp_path: its parents are 0700, and the users must get through.
    base = Path(tempfile.mkdtemp(prefix="dlpd-labels-", dir="/tmp"))
    try:
        base.chmod(0o755)
        data = base / "data"
        data.mkdir(mode=0o755)
        dataset = data / "k17"
        dataset.mkdir()
        spec = dataset / "spec.txt"
        spec.write_text("Star tracker baffle thermal model, revision 3.\n")
        others = data / "scratch"
        others.mkdir()
        for path in (dataset, spec):
            os.chown(path, owner.uid, owner.gid)
        os.chown(others, other.uid, other.gid)
        run = base / "run"
        run.mkdir(mode=0o755)
        (base / "state").mkdir(mode=0o700)
        yield Site(base, data, run / "control.sock", owner, other, dataset, spec, others)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def daemon(site: Site) -> Iterator[Daemon]:
    config = site.base / "dlpd.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{site.base}/state/dlpd.db"\n\n'
        f'[daemon]\nruntime_dir = "{site.base}/run"\ncontrol_socket = "{site.socket}"\n'
        f'shutdown_timeout = "10s"\n\n'
        f'[watch]\npaths = ["{site.data}"]\nreconcile_interval = "1h"\n\n'
        f'[labels.{LABEL}]\nseverity = "high"\napproved = []\n')
    proc = Daemon(config, site.base, site.base / "daemon.log", prefix=DAEMON_PREFIX).start()
    try:
        yield proc
    finally:
        proc.close()


def _history(daemon: Daemon, path: Path) -> list[tuple[str, int, str]]:
    return [(r["action"], r["allowed"], r["actor"]) for r in daemon.query(
        "SELECT * FROM label_history WHERE path = ? ORDER BY id", str(path))]


def _xattr(path: Path) -> bytes | None:
    try:
        return os.getxattr(path, "user.dlpd.labels")
    except OSError:
        return None


def test_socket_is_open_to_every_local_user(site: Site, daemon: Daemon) -> None:
    st = os.lstat(site.socket)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o666


def test_owner_labels_her_dataset_the_other_user_cannot(site: Site, daemon: Daemon) -> None:
    owner, other = site.owner, site.other
    sock = ("--socket", site.socket)
    done = as_user(owner, "label", "set", site.dataset, site.spec, "--label", LABEL,
                   "--note", "EAR 9E003, project K-17", *sock, cwd=site.base)
    assert done.returncode == 0, done.stderr
    assert "via the daemon" in done.stderr
    assert f"{site.dataset}: labelled" in done.stdout
    # The daemon (no CAP_FOWNER) could not write the owner's xattr; her client did.
    if _xattr(site.spec) is not None or _supports_xattr(site.base):
        assert _xattr(site.spec) == LABEL.encode()

    shown = as_user(other, "label", "show", site.spec, "--format", "json", *sock,
                    cwd=site.base)
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["mode"] == "daemon"
    assert {(s["label"], s["source"], s["set_by"]) for s in report["labels"]} >= {
        (LABEL, "explicit", owner.name)}

    # The other user may neither label her data nor lift her label.
    refused = as_user(other, "label", "set", site.dataset, "--label", LABEL, *sock,
                      cwd=site.base)
    assert refused.returncode == 5, refused
    assert "does not own" in refused.stderr
    lifted = as_user(other, "label", "remove", site.dataset, "--label", LABEL,
                     "--note", "not controlled", *sock, cwd=site.base)
    assert lifted.returncode == 5, lifted
    assert "did not set" in lifted.stderr
    history = _history(daemon, site.dataset)
    assert history[0] == ("set", 1, owner.name)
    assert ("refused", 0, other.name) in history
    assert sum(1 for h in history if h == ("refused", 0, other.name)) == 2
    active = daemon.query("SELECT * FROM label_assignments WHERE path = ? AND removed IS "
                          "NULL", str(site.dataset))
    assert [r["set_by"] for r in active] == [owner.name]

    # What the history says, the other user can read through the CLI too.
    table = as_user(other, "label", "history", site.dataset, *sock, cwd=site.base)
    assert table.returncode == 0, table.stderr
    assert "refused" in table.stdout and other.name in table.stdout

    # Root may do both.
    root_set = as_user(None, "label", "set", site.others, "--label", LABEL, *sock,
                       cwd=site.base)
    assert root_set.returncode == 0, root_set.stderr
    root_rm = as_user(None, "label", "remove", site.dataset, "--label", LABEL, "--note",
                      "declassified by lab IT", *sock, cwd=site.base)
    assert root_rm.returncode == 0, root_rm.stderr
    assert _history(daemon, site.dataset)[-1] == ("remove", 1, "root")
    assert daemon.proc is not None and daemon.proc.poll() is None


def _supports_xattr(directory: Path) -> bool:
    probe = directory / ".xattr-probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.dlpd.probe", b"1")
    except OSError:
        return False
    finally:
        probe.unlink()
    return True


def test_a_symlink_into_someone_elses_tree_is_refused(site: Site, daemon: Daemon) -> None:
    link = site.others / "k17"
    os.symlink(site.dataset, link)
    os.lchown(link, site.other.uid, site.other.gid)
    for target in (link, link / "spec.txt"):
        run = as_user(site.other, "label", "set", target, "--label", LABEL, "--socket",
                      site.socket, cwd=site.base)
        assert run.returncode != 0, run
        assert "symlink" in run.stderr or "symbolic link" in run.stderr, run.stderr
    assert daemon.query("SELECT * FROM label_assignments") == []
    assert _xattr(site.spec) is None


def _raw(path: Path, data: bytes, *, close_write: bool = True) -> dict[str, object]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(20)
        sock.connect(os.fspath(path))
        # Refused half-way (too large): the answer is already waiting.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.endswith(b"\n") and answer.count(b"\n") == 1, answer
    return dict(json.loads(answer))


def test_bad_requests_get_error_answers_and_the_daemon_keeps_serving(
        site: Site, daemon: Daemon) -> None:
    bad = {
        b"{not json\n": "malformed",
        b"[1, 2]\n": "not a JSON object",
        b'{"op": "chmod", "paths": ["/"]}\n': "op must be",
        b'{"op": "set", "paths": ["/x"], "label": "' + LABEL.encode() + b'", "extra": 1}\n':
            "unknown key",
        b'{"op": "set", "paths": "/etc"}\n': "paths",
        b"\xff\xfe\n": "malformed",
        b"x" * (200 * 1024): "too large",
        b'{"op": "show", "paths": ["/' + b"a" * 70000 + b'"]}\n': "too large",
    }
    for request, expected in bad.items():
        answer = _raw(site.socket, request)
        assert answer["status"] == "error", (request[:40], answer)
        assert expected in str(answer["error"]), (request[:40], answer)
    # A client that sends half a line and waits is cut off by the read timeout.
    started = time.monotonic()
    answer = _raw(site.socket, b'{"op": "list"', close_write=False)
    assert "timeout" in str(answer["error"])
    assert time.monotonic() - started < 15
    # The daemon still serves, and its log holds no traceback.
    good = _raw(site.socket, b'{"op": "list"}\n')
    assert good["status"] == "ok"
    assert daemon.proc is not None and daemon.proc.poll() is None
    assert "Traceback" not in daemon.log_tail(200_000)


def test_a_flood_of_idle_connections_does_not_stop_the_others(
        site: Site, daemon: Daemon) -> None:
    idle = []
    try:
        for _ in range(12):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(os.fspath(site.socket))
            idle.append(sock)
        time.sleep(0.5)
        # Those over the bound are told "busy" at once; the daemon itself goes on.
        busy = 0
        for sock in idle:
            sock.settimeout(0.2)
            try:
                if b"busy" in sock.recv(4096):
                    busy += 1
            except TimeoutError:
                pass
        assert busy >= 12 - 4
    finally:
        for sock in idle:
            sock.close()
    # Once the flood is gone, a request is served again within moments (a handler still
    # finishing an idle connection may make the first try "busy": the answer says retry).
    deadline = time.monotonic() + 5
    while True:
        good = _raw(site.socket, b'{"op": "list"}\n')
        if good["status"] == "ok" or time.monotonic() > deadline:
            break
        assert "busy" in str(good.get("error")), good
        time.sleep(0.2)
    assert good["status"] == "ok"


def test_socket_in_a_directory_others_may_write_is_refused(site: Site) -> None:
    unsafe = site.base / "open"
    unsafe.mkdir()
    unsafe.chmod(0o777)
    config = site.base / "unsafe.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{site.base}/state/dlpd.db"\n\n'
        f'[daemon]\nruntime_dir = "{site.base}/run"\n'
        f'control_socket = "{unsafe}/control.sock"\n\n'
        f'[watch]\npaths = ["{site.data}"]\n\n[labels.{LABEL}]\napproved = []\n')
    proc = Daemon(config, site.base, site.base / "unsafe.log").start()
    try:
        assert not (unsafe / "control.sock").exists()
        assert "control socket not opened" in proc.log_tail(100_000)
        assert "writable by group or others" in proc.log_tail(100_000)
    finally:
        assert proc.stop() == 0
