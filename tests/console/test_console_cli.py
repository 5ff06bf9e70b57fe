"""`dlpd console` from the command line: accounts (passwords never as arguments, rules,
audit rows), `audit verify`, the refusal to serve plain HTTP beyond loopback, the missing
extra, and a walk over every state-changing route of the real server proving each one
refuses a missing token, a wrong one and a foreign Origin."""

from __future__ import annotations

import getpass
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from starlette.routing import Route

from dlpd.config import load_settings
from dlpd.console.app import build_app
from dlpd.store import suppressions
from dlpd.store.db import open_engine, transaction
from tests.console.conftest import MakeConsole
from tests.console.harness import DLPD, PASSWORDS, WebClient, run_cli, write_config

_ME = "cli:" + (os.environ.get("SUDO_USER") or getpass.getuser())


def _store(tmp_path: Path) -> tuple[Path, Path]:
    db = tmp_path / "dlpd.db"
    open_engine(f"sqlite:///{db}").dispose()
    return db, write_config(tmp_path, db)


def _audit(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db) as conn:
        return [(str(a), str(b), str(c)) for a, b, c in
                conn.execute("SELECT actor, action, target FROM audit ORDER BY id")]


def test_user_add_takes_the_password_from_stdin_only(tmp_path: Path) -> None:
    db, cfg = _store(tmp_path)
    as_argument = run_cli(cfg, "console", "user", "add", "eve", "--role", "viewer",
                          "--password", "a long enough password")
    assert as_argument.returncode == 2
    assert "No such option" in as_argument.stderr
    short = run_cli(cfg, "console", "user", "add", "eve", "--role", "viewer",
                    "--password-stdin", stdin="short\n")
    assert short.returncode == 2
    assert "at least 12 characters" in short.stderr
    bad_name = run_cli(cfg, "console", "user", "add", "<b>eve", "--role", "viewer",
                       "--password-stdin", stdin="a long enough password\n")
    assert bad_name.returncode == 2
    ok = run_cli(cfg, "console", "user", "add", "eve", "--role", "viewer",
                 "--password-stdin", stdin="a long enough password\n")
    assert ok.returncode == 0, ok.stderr
    again = run_cli(cfg, "console", "user", "add", "eve", "--role", "admin",
                    "--password-stdin", stdin="a long enough password\n")
    assert again.returncode == 2
    listed = run_cli(cfg, "console", "user", "list")
    assert re.search(r"^eve\tviewer\tactive\t", listed.stdout, re.M), listed.stdout
    assert _audit(db) == [(_ME, "user-add", "eve")]
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT password_hash FROM console_users").fetchone()[0]
    assert stored.startswith("$argon2id$")
    assert "a long enough password" not in stored


def test_user_changes_take_effect_on_the_server_and_are_audited(
        make_console: MakeConsole, tmp_path: Path) -> None:
    console = make_console()
    web = WebClient(console.base)
    try:
        assert web.login("vera", PASSWORDS["vera"]).status_code == 303
        assert run_cli(console.cfg, "console", "user", "role", "vera", "analyst").returncode == 0
        # Roles are read with the session: the next page knows the new one.
        assert 'value="ack"' in web.get(f"/alerts/{console.seeded.itar[0]}").text
        new = "a new passphrase 44"
        changed = run_cli(console.cfg, "console", "user", "passwd", "vera",
                          "--password-stdin", stdin=new + "\n")
        assert changed.returncode == 0, changed.stderr
        # A new password ends the account's sessions.
        assert web.get("/alerts").status_code == 303
        other = WebClient(console.base)
        assert other.login("vera", PASSWORDS["vera"]).status_code == 401
        assert other.login("vera", new).status_code == 303
        assert run_cli(console.cfg, "console", "user", "disable", "vera").returncode == 0
        assert other.get("/alerts").status_code == 303  # signed out
        assert WebClient(console.base).login("vera", new).status_code == 401
        missing = run_cli(console.cfg, "console", "user", "disable", "nobody")
        assert missing.returncode == 2 and "no account" in missing.stderr
        other.close()
    finally:
        web.close()
    actions = [(a, t) for actor, a, t in _audit(console.db) if actor == _ME]
    assert actions[-3:] == [("user-role", "vera"), ("user-password", "vera"),
                            ("user-disable", "vera")]


def test_audit_verify_finds_a_changed_row(tmp_path: Path) -> None:
    db, cfg = _store(tmp_path)
    for name in ("ann", "ben", "cid"):
        assert run_cli(cfg, "console", "user", "add", name, "--role", "viewer",
                       "--password-stdin", stdin="a long enough password\n").returncode == 0
    ok = run_cli(cfg, "console", "audit", "verify")
    assert (ok.returncode, ok.stdout.strip()) == (0, "audit chain ok: 3 entries")
    with sqlite3.connect(db) as conn:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE audit SET target = 'x' WHERE id = 2")
        triggers = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'")]
        for trigger in triggers:
            conn.execute(f'DROP TRIGGER "{trigger}"')
        conn.execute("UPDATE audit SET target = 'mallory' WHERE id = 2")
    broken = run_cli(cfg, "console", "audit", "verify")
    assert broken.returncode == 1
    assert "broken at entry 2" in broken.stderr


def test_serve_refuses_plain_http_beyond_loopback(tmp_path: Path) -> None:
    _, cfg = _store(tmp_path)
    res = run_cli(cfg, "console", "--listen", "0.0.0.0:18799", timeout=60)
    assert res.returncode == 78  # EX_CONFIG: systemd does not restart into it
    assert "console.tls_cert" in res.stderr and "Traceback" not in res.stderr
    bad = cfg.with_name("bad.toml")
    bad.write_text(cfg.read_text().replace("[console]", '[console]\nlisten = "nowhere"', 1))
    res = run_cli(bad, "console", timeout=60)
    assert res.returncode == 78 and "console.listen" in res.stderr, res.stderr


def test_missing_extra_names_the_install_command(tmp_path: Path) -> None:
    _, cfg = _store(tmp_path)
    code = ("import sys; sys.modules['uvicorn'] = None; sys.argv = ['dlpd', 'console', "
            f"'--config', {str(cfg)!r}]; from dlpd.cli import main; main()")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=False)
    assert res.returncode == 2
    assert "pip install 'dlpd[console]'" in res.stderr


def _post_routes(tmp_path: Path) -> list[str]:
    """Every path the app accepts a POST on, path parameters filled in."""
    engine = open_engine(f"sqlite:///{tmp_path / 'routes.db'}")
    app = build_app(load_settings(None), engine)
    paths = []
    for route in app.routes:
        if isinstance(route, Route) and "POST" in (route.methods or ()):
            paths.append(re.sub(r"\{(\w+)(:int)?\}",
                                lambda m: "1" if m[2] else "vera", route.path))
    engine.dispose()
    return paths


def test_every_state_changing_route_refuses_a_missing_or_wrong_token(
        make_console: MakeConsole, tmp_path: Path) -> None:
    paths = _post_routes(tmp_path)
    assert {"/login", "/logout", "/alerts/bulk", "/alerts/1/triage"} <= set(paths), paths
    console = make_console()
    web = WebClient(console.base)
    try:
        assert web.login("adam", PASSWORDS["adam"]).status_code == 303
        before = len(_audit(console.db))
        form = {"action": "resolve", "reason": "r", "id": "1", "scope": "selected",
                "role": "viewer", "name": "x", "password": "a long enough password"}
        for path in paths:
            for how in ({"csrf": None}, {"csrf": "wrong-token"},
                        {"origin": "http://evil.example"}, {"origin": None}):
                res = web.post(path, form, **how)  # type: ignore[arg-type]
                assert res.status_code == 403, (path, how, res.status_code)
        assert len(_audit(console.db)) == before
        # The same session with its token is heard (the walk proves the refusals).
        assert web.post("/alerts/1/triage", {"action": "ack", "reason": ""}).status_code == 303
    finally:
        web.close()


def test_console_prints_its_url_once_listening(make_console: MakeConsole) -> None:
    console = make_console()
    assert f"dlpd console: serving on {console.base}/" in console.server.output()
    assert subprocess.run([*DLPD, "--help"], capture_output=True, text=True,
                          check=False).stdout.count("console") == 1


def test_suppress_list_shows_rules_in_force_and_with_all_the_rest(tmp_path: Path) -> None:
    db, cfg = _store(tmp_path)
    engine = open_engine(f"sqlite:///{db}")
    now = time.time()
    with transaction(engine) as conn:
        suppressions.add(conn, label="itar", path_prefix="/srv/sim\n<b>", rule=None,
                         owner="sim-team", reason="synthetic test data", created_by="ana",
                         now=now - 100, expires=now + 86400)
        suppressions.add(conn, label="pii", path_prefix="/tmp/old", rule="card_number",
                         owner="ops", reason="old export", created_by="ana", now=now - 100,
                         expires=now - 10)  # valid when made, expired since
    engine.dispose()
    shown = run_cli(cfg, "console", "suppress", "list")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("\n") == 1
    assert "\tin force\titar\t/srv/sim\\n<b>\tany rule\towner sim-team\t" in shown.stdout
    every = run_cli(cfg, "console", "suppress", "list", "--all").stdout
    assert "\texpired\tpii\t/tmp/old\tcard_number\t" in every
