"""service.handle end to end: a real SQLite store, real files and two real Unix users.

The service runs in this (root) process; the caller is who the socket would name, so the
users are real (their uids own the files) and the decisions are the service's own.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dlpd.errors import LabelError
from dlpd.labelling.markers import apply_marker, marker_deleted, read_marker
from dlpd.labelling.model import Caller
from dlpd.labelling.service import (
    LabelContext,
    LabelRequest,
    LabelResponse,
    handle,
)
from dlpd.labelling.xattrs import XATTR
from dlpd.store import labels as repo
from dlpd.store.db import Engine, open_engine, transaction

LABELS = ("cui", "export-controlled")
EC = "export-controlled"

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("useradd") is None,
                                reason="creates Unix users: needs root and useradd")


@dataclass(frozen=True)
class Users:
    alice: Caller
    bob: Caller
    carol: Caller  # in the label admin group
    root: Caller
    admin_gid: int


def _caller(name: str) -> Caller:
    pw = pwd.getpwnam(name)
    gids = {pw.pw_gid, *os.getgrouplist(name, pw.pw_gid)}
    return Caller(uid=pw.pw_uid, gids=tuple(sorted(gids)), name=name, pid=None)


@pytest.fixture(scope="module")
def users() -> Iterator[Users]:
    tag = f"{os.getpid() % 100000}"
    names = [f"dlpdt-a{tag}", f"dlpdt-b{tag}", f"dlpdt-c{tag}"]
    group = f"dlpdt-adm{tag}"
    made: list[str] = []
    subprocess.run(["groupadd", "--system", group], check=True)
    try:
        for name in names:
            extra = ["-G", group] if name == names[2] else []
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                            "/usr/sbin/nologin", *extra, name], check=True)
            made.append(name)
        yield Users(*(_caller(n) for n in names), root=Caller(0, (0,), "root"),
                    admin_gid=grp.getgrnam(group).gr_gid)
    finally:
        for name in made:
            subprocess.run(["userdel", name], check=False)
        subprocess.run(["groupdel", group], check=False)


@dataclass(frozen=True)
class Site:
    root: Path
    alice_dir: Path
    bob_dir: Path
    engine: Engine
    ctx: LabelContext


@pytest.fixture
def site(tmp_path: Path, users: Users) -> Site:
    root = tmp_path / "data"
    alice_dir, bob_dir = root / "alice" / "k17", root / "bob"
    (alice_dir / "run").mkdir(parents=True)
    bob_dir.mkdir()
    (alice_dir / "run" / "table.csv").write_text("a,b\n1,2\n")
    (alice_dir / "spec.txt").write_text("design\n")
    for path in (root / "alice", alice_dir, alice_dir / "run", alice_dir / "run" / "table.csv",
                 alice_dir / "spec.txt"):
        os.chown(path, users.alice.uid, -1)
    os.chown(bob_dir, users.bob.uid, -1)
    engine = open_engine(f"sqlite:///{tmp_path / 'dlpd.db'}")
    ctx = LabelContext(engine=engine, labels=LABELS, roots=(str(root),), host="fs1",
                       admin_gid=users.admin_gid,
                       categories={"export-control": EC}, clock=lambda: 1_790_000_000.0)
    return Site(root, alice_dir, bob_dir, engine, ctx)


def _set(site: Site, caller: Caller, path: Path | str, label: str = EC,
         note: str = "EAR 9E003") -> LabelResponse:
    return handle(LabelRequest("set", (str(path),), label, note), caller, site.ctx)


def _history(site: Site, path: Path | str) -> list[tuple[str, bool, str]]:
    with transaction(site.engine) as conn:
        return [(h.action, h.allowed, h.actor) for h in repo.history(conn, "fs1", str(path))]


def _active(site: Site) -> list[tuple[str, str, str]]:
    with transaction(site.engine) as conn:
        return [(a.path, a.label, a.set_by) for a in repo.list_active(conn, "fs1")]


def test_owner_sets_and_everything_beneath_inherits(site: Site, users: Users) -> None:
    response = _set(site, users.alice, site.alice_dir)
    assert response.ok and response.results[0].changed, response
    later = site.alice_dir / "run" / "created-later.csv"
    later.write_text("x\n")
    shown = handle(LabelRequest("show", (str(later),)), users.bob, site.ctx)
    assert [(s.label, s.source, s.via, s.set_by, s.note) for s in shown.sources] == [
        (EC, "inherited", str(site.alice_dir), users.alice.name, "EAR 9E003")]
    assert _history(site, site.alice_dir) == [("set", True, users.alice.name)]


def test_other_user_refused_and_the_refusal_audited(site: Site, users: Users) -> None:
    response = _set(site, users.bob, site.alice_dir)
    assert response.status == "refused"
    assert response.error is not None and "does not own the directory" in response.error
    assert _active(site) == []
    with transaction(site.engine) as conn:
        (entry,) = repo.history(conn, "fs1", str(site.alice_dir))
    assert (entry.action, entry.allowed, entry.actor, entry.actor_uid) == (
        "refused", False, users.bob.name, users.bob.uid)
    assert entry.reason is not None and entry.reason.startswith("set: ")


def test_root_may_label_anything(site: Site, users: Users) -> None:
    assert _set(site, users.root, site.alice_dir / "spec.txt").ok
    assert _active(site) == [(str(site.alice_dir / "spec.txt"), EC, "root")]


def test_file_label_mirrored_to_its_xattr(site: Site, users: Users) -> None:
    target = site.alice_dir / "spec.txt"
    try:
        os.setxattr(target, "user.dlpd.probe", b"1")
    except OSError as exc:
        pytest.skip(f"no user xattrs here: {exc.strerror}")
    response = _set(site, users.alice, target)
    assert response.results[0].mirrored
    assert os.getxattr(target, XATTR) == EC.encode()
    removed = handle(LabelRequest("remove", (str(target),), EC, "wrong file"), users.alice,
                     site.ctx)
    assert removed.ok and removed.results[0].mirrored
    assert XATTR not in os.listxattr(target)


def test_second_set_keeps_the_first_setter(site: Site, users: Users) -> None:
    assert _set(site, users.alice, site.alice_dir).ok
    again = _set(site, users.root, site.alice_dir, note="root too")
    assert again.ok and not again.results[0].changed
    assert _active(site) == [(str(site.alice_dir), EC, users.alice.name)]
    assert _history(site, site.alice_dir) == [("set", True, users.alice.name),
                                              ("set", True, "root")]


def test_remove_by_setter_admin_or_root_only(site: Site, users: Users) -> None:
    assert _set(site, users.alice, site.alice_dir).ok

    def remove(caller: Caller) -> LabelResponse:
        return handle(LabelRequest("remove", (str(site.alice_dir),), EC, "declassified"),
                      caller, site.ctx)

    refused = remove(users.bob)
    assert refused.status == "refused" and "did not set" in (refused.error or "")
    assert _active(site) != []
    assert remove(users.carol).ok  # the label admin group
    assert _active(site) == []
    assert _history(site, site.alice_dir) == [
        ("set", True, users.alice.name), ("refused", False, users.bob.name),
        ("remove", True, users.carol.name)]
    # Removed: no longer inherited.
    shown = handle(LabelRequest("show", (str(site.alice_dir / "spec.txt"),)), users.alice,
                   site.ctx)
    assert shown.ok and shown.sources == ()


@pytest.mark.parametrize("through", ["parent", "last"])
def test_symlink_trick_refused(site: Site, users: Users, through: str) -> None:
    """Bob links into Alice's tree from his own; neither a link in the middle of the path
    nor one at its end labels (or is taken as) her data, and nothing is stored."""
    link = site.bob_dir / "link"
    link.symlink_to(site.alice_dir)
    os.lchown(link, users.bob.uid, -1)
    target = link / "spec.txt" if through == "parent" else link
    response = _set(site, users.bob, target)
    assert response.status == "refused"
    assert "symlink" in (response.error or "")
    # Root too: the path names a link, not the data.
    assert _set(site, users.root, target).status == "refused"
    assert _active(site) == []
    assert [a for a, _, _ in _history(site, target)] == ["refused", "refused"]


def test_unknown_label_names_the_configured_ones(site: Site, users: Users) -> None:
    response = _set(site, users.alice, site.alice_dir, label="secret-sauce")
    assert response.status == "error"
    assert response.error == ("unknown label 'secret-sauce'; configured labels "
                              "([labels.NAME]): cui, export-controlled")
    assert _active(site) == [] and _history(site, site.alice_dir) == []


def test_path_outside_the_watched_trees(site: Site, users: Users, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    response = _set(site, users.root, outside)
    assert response.status == "error"
    assert "not under a watched tree" in (response.error or "")
    # A sibling that merely starts with the root's name is outside too.
    sibling = Path(str(site.root) + "2")
    sibling.mkdir()
    assert "not under a watched tree" in (_set(site, users.root, sibling).error or "")


@pytest.mark.parametrize(
    ("path", "says"),
    [("relative/path", "not an absolute path"), ("/data/../etc", "'..' are not followed"),
     ("{root}/alice/missing", "no such file or directory")],
)
def test_bad_paths(site: Site, users: Users, path: str, says: str) -> None:
    response = _set(site, users.root, path.format(root=site.root))
    assert response.status in ("error", "refused") and says in (response.error or "")


def test_list_and_history(site: Site, users: Users) -> None:
    assert _set(site, users.alice, site.alice_dir).ok
    assert handle(LabelRequest("set", (str(site.alice_dir / "spec.txt"),), "cui"),
                  users.alice, site.ctx).ok
    listed = handle(LabelRequest("list", (), None), users.bob, site.ctx)
    assert [(a.path, a.label) for a in listed.assignments] == [
        (str(site.alice_dir), EC), (str(site.alice_dir / "spec.txt"), "cui")]
    only = handle(LabelRequest("list", (), "cui"), users.bob, site.ctx)
    assert [a.label for a in only.assignments] == ["cui"]
    hist = handle(LabelRequest("history", (str(site.alice_dir),)), users.bob, site.ctx)
    assert [(h.action, h.actor, h.note) for h in hist.history] == [
        ("set", users.alice.name, "EAR 9E003")]


def test_wire_format_round_trip(site: Site, users: Users) -> None:
    request = LabelRequest("set", (str(site.alice_dir),), EC, "EAR 9E003")
    assert LabelRequest.from_json(json.loads(json.dumps(request.to_json()))) == request
    response = _set(site, users.alice, site.alice_dir)
    shown = handle(LabelRequest("show", (str(site.alice_dir / "spec.txt"),)), users.alice,
                   site.ctx)
    for r in (response, shown):
        assert LabelResponse.from_json(json.loads(json.dumps(r.to_json()))) == r


@pytest.mark.parametrize(
    ("obj", "says"),
    [
        ([], "expected a JSON object"),
        ({"op": "set", "paths": ["/x"], "label": "ec", "uid": 0}, "unknown key 'uid'"),
        ({"op": "chown", "paths": ["/x"]}, "op must be one of"),
        ({"op": "set", "paths": "/x", "label": "ec"}, "paths must be a list"),
        ({"op": "set", "paths": [1], "label": "ec"}, "paths must be strings"),
        ({"op": "set", "paths": ["/" + "x" * 5000], "label": "ec"}, "paths must be strings"),
        ({"op": "set", "paths": ["/x"] * 300, "label": "ec"}, "more than 256 paths"),
        ({"op": "set", "paths": ["/x"], "label": ["ec"]}, "label must be a string"),
        ({"op": "set", "paths": ["/x"], "label": "ec", "note": 5}, "note must be a str"),
        ({"op": "set", "paths": ["/x"], "label": "ec", "note": "n" * 1001}, "note longer"),
    ],
)
def test_malformed_requests_are_label_errors(obj: object, says: str) -> None:
    with pytest.raises(LabelError, match=r"^request: ") as info:
        LabelRequest.from_json(obj)
    assert says in str(info.value)


def _marker(site: Site, directory: Path, text: bytes, owner: int) -> list[tuple[bool, str]]:
    marker = directory / ".dlpd-label"
    marker.write_bytes(text)
    os.chown(marker, owner, -1)
    fd = os.open(directory, os.O_PATH | os.O_DIRECTORY)
    try:
        found = read_marker(fd)
        assert found is not None
        parsed, marker_uid = found
        with transaction(site.engine) as conn:
            results = apply_marker(conn, site.ctx, str(directory), os.fstat(fd).st_uid,
                                   parsed, marker_uid)
    finally:
        os.close(fd)
    return [(r.allowed, r.message) for r in results]


def test_marker_by_the_directory_owner_labels_it(site: Site, users: Users) -> None:
    results = _marker(site, site.alice_dir, b'label = "export-controlled"\nnote = "K-17"\n',
                      users.alice.uid)
    assert results == [(True, "labelled")]
    shown = handle(LabelRequest("show", (str(site.alice_dir / "run" / "table.csv"),)),
                   users.alice, site.ctx)
    assert [(s.source, s.via, s.set_by, s.note) for s in shown.sources] == [
        ("inherited", str(site.alice_dir), users.alice.name, "K-17")]
    on_dir = handle(LabelRequest("show", (str(site.alice_dir),)), users.alice, site.ctx)
    assert [s.source for s in on_dir.sources] == ["marker"]
    # Deleting the marker keeps the label and is recorded.
    (site.alice_dir / ".dlpd-label").unlink()
    with transaction(site.engine) as conn:
        assert marker_deleted(conn, site.ctx, str(site.alice_dir), users.alice.uid) == 1
    assert _active(site) == [(str(site.alice_dir), EC, users.alice.name)]
    assert _history(site, site.alice_dir) == [("marker-set", True, users.alice.name),
                                              ("marker-deleted", True, users.alice.name)]


def test_marker_by_another_user_refused_and_audited(site: Site, users: Users) -> None:
    """Bob can write into Alice's directory (mode 0777 here), but his marker does not
    label her data; an unknown label in a marker is refused by name."""
    site.alice_dir.chmod(0o777)
    results = _marker(site, site.alice_dir, b'label = ["export-controlled", "nope"]\n',
                      users.bob.uid)
    assert [allowed for allowed, _ in results] == [False, False]
    assert "does not own the directory" in results[0][1]
    assert "unknown label 'nope'" in results[1][1]
    assert _active(site) == []
    assert _history(site, site.alice_dir) == [("refused", False, users.bob.name)] * 2


def test_marker_not_toml_or_a_symlink(site: Site, users: Users) -> None:
    marker = site.alice_dir / ".dlpd-label"
    fd = os.open(site.alice_dir, os.O_PATH | os.O_DIRECTORY)
    try:
        assert read_marker(fd) is None
        marker.write_bytes(b"label: export-controlled\n")
        with pytest.raises(LabelError, match="not TOML"):
            read_marker(fd)
        marker.unlink()
        marker.symlink_to("/etc/shadow")
        with pytest.raises(LabelError, match="symlink"):
            read_marker(fd)
    finally:
        os.close(fd)


def test_detected_labels_come_from_the_last_scan(site: Site, users: Users,
                                                 tmp_path: Path) -> None:
    from dlpd.model import (
        Confidence,
        Detection,
        FileResult,
        FileStat,
        Outcome,
    )
    from dlpd.store.files import save_results

    path = str(site.alice_dir / "spec.txt")
    det = Detection(rule="itar_banner", category="export-control",
                    confidence=Confidence.HIGH, count=1, member=None, previews=(), reasons=())
    result = FileResult(path=path, outcome=Outcome.OK, size=7, sha256="0" * 64,
                        mime="text/plain", reason=None, detections=(det,), labels=(EC,),
                        stat=FileStat(1, 2, 7, 0, 0))
    with transaction(site.engine) as conn:
        save_results(conn, [result], host=site.ctx.host, rules_version="v",
                     scan_started_ns=0, now=1.0)
    shown = handle(LabelRequest("show", (path,)), users.alice, site.ctx)
    assert [(s.label, s.source, s.via) for s in shown.sources] == [
        (EC, "detected", "export-control")]
