"""`dlpd db current|upgrade` as operators run them: the real CLI, the suite's own
PostgreSQL (tests/pg.py) and a SQLite file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dlpd.store import db
from tests.conftest import DlpdRun
from tests.pg import PASSWORD_GROUP, PgServer

Run = Callable[..., DlpdRun]
HEAD = db.HEAD_REVISION
SECRET = "cli-S3cret-pw"


def _config(directory: Path, url: str, extra: str = "") -> Path:
    path = directory / "dlpd.toml"
    path.write_text(f'[database]\nurl = "{url}"\n{extra}')
    return path


def test_a_new_shared_database_is_made_by_upgrade_only(
        run_dlpd: Run, pg_url: str, tmp_path: Path) -> None:
    cfg = _config(tmp_path, pg_url)
    fix = f"dlpd db upgrade --config {cfg}"
    before = run_dlpd("db", "current", "--config", cfg)
    assert before.returncode == 1, before.describe()
    assert before.stdout.splitlines()[1:] == [
        "revision: (none: empty database)", f"head: {HEAD}", f"behind: run `{fix}`"]
    refused = run_dlpd("alerts", "list", "--config", cfg)
    assert refused.returncode == 2
    assert f"no dlpd schema yet (this dlpd needs revision {HEAD}): run `{fix}`" in \
        refused.stderr, refused.describe()
    made = run_dlpd("db", "upgrade", "--config", cfg)
    assert made.returncode == 0, made.describe()
    assert made.stdout.splitlines()[1] == f"upgraded: (none: empty database) -> {HEAD}"
    again = run_dlpd("db", "upgrade", "--config", cfg)
    assert again.stdout.splitlines()[1] == f"already at {HEAD}"
    now = run_dlpd("db", "current", "--config", cfg)
    assert (now.returncode, now.stdout.splitlines()[1:]) == (
        0, [f"revision: {HEAD}", f"head: {HEAD}", "up to date"]), now.describe()
    assert run_dlpd("alerts", "list", "--config", cfg).returncode == 0


def test_a_database_behind_names_both_revisions(
        run_dlpd: Run, pg_url: str, tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    engine = sa.create_engine(pg_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    cfg.attributes["engine"] = engine
    command.upgrade(cfg, "0006")
    engine.dispose()
    config = _config(tmp_path, pg_url)
    behind = run_dlpd("db", "current", "--config", config)
    assert behind.returncode == 1
    assert behind.stdout.splitlines()[1:3] == ["revision: 0006", f"head: {HEAD}"]
    status = run_dlpd("alerts", "list", "--config", config)
    assert status.returncode == 2
    assert f"at schema revision 0006, this dlpd needs {HEAD}: run `dlpd db upgrade " \
        f"--config {config}`" in status.stderr, status.describe()
    done = run_dlpd("db", "upgrade", "--config", config)
    assert done.stdout.splitlines()[1] == f"upgraded: 0006 -> {HEAD}", done.describe()


def test_credentials_stay_secret(run_dlpd: Run, pg_server: PgServer, pg_url: str,
                                 tmp_path: Path) -> None:
    database = make_url(pg_url).database or ""
    role = f"{database}_cli"
    pg_server.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{SECRET}' IN ROLE {PASSWORD_GROUP}",
                      f"ALTER DATABASE {database} OWNER TO {role}")
    pg_server.execute(f"ALTER SCHEMA public OWNER TO {role}", database=database)
    secret = tmp_path / "db-password"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    url = pg_server.url(database, user=role)
    cfg = _config(tmp_path, url, f'password_file = "{secret}"\n')
    made = run_dlpd("db", "upgrade", "--config", cfg)
    assert (made.returncode, made.stderr) == (0, ""), made.describe()
    secret.chmod(0o644)
    loose = run_dlpd("db", "current", "--config", cfg)
    assert loose.returncode == 0, loose.describe()
    assert "database.password_file" in loose.stderr and "0644" in loose.stderr

    # A password in the URL: shown redacted, and cut from the driver's complaint.
    wrong = _config(tmp_path, pg_server.url(database, user=role, password=SECRET + "x"))
    refused = run_dlpd("db", "current", "--config", wrong)
    assert refused.returncode == 2
    assert "password authentication failed" in refused.stderr, refused.describe()
    unreachable = _config(tmp_path, f"postgresql+psycopg://{role}:{SECRET}@127.0.0.1:1/x")
    down = run_dlpd("db", "current", "--config", unreachable)
    assert down.returncode == 2 and "Connection refused" in down.stderr, down.describe()
    assert f"{role}:***@127.0.0.1:1/x" in down.stdout
    for run in (refused, down, made, loose):
        assert SECRET not in run.stdout + run.stderr


def test_sqlite_current_and_upgrade(run_dlpd: Run, tmp_path: Path) -> None:
    cfg = _config(tmp_path, f"sqlite:///{tmp_path}/state/dlpd.db")
    missing = run_dlpd("db", "current", "--config", cfg)
    assert missing.returncode == 1, missing.describe()
    assert missing.stdout.splitlines()[1] == "revision: (none: no database yet)"
    assert not (tmp_path / "state" / "dlpd.db").exists()
    made = run_dlpd("db", "upgrade", "--config", cfg)
    assert made.stdout.splitlines()[1] == f"upgraded: (none: empty database) -> {HEAD}"
    assert run_dlpd("db", "current", "--config", cfg).returncode == 0


def test_the_daemon_refuses_a_schema_it_does_not_need_with_ex_config(
        run_dlpd: Run, pg_url: str, tmp_path: Path) -> None:
    """`dlpd run` on a shared database not yet upgraded: exit 78 (the unit's
    RestartPreventExitStatus), naming the fix, not a restart loop."""
    tree = tmp_path / "tree"
    tree.mkdir()
    cfg = _config(tmp_path, pg_url,
                  f'\n[daemon]\nruntime_dir = "{tmp_path / "run"}"\n'
                  f'control_socket = "{tmp_path / "run" / "control.sock"}"\n'
                  f'\n[watch]\npaths = ["{tree}"]\n')
    refused = run_dlpd("run", "--config", cfg, timeout=60)
    assert refused.returncode == 78, refused.describe()
    assert "dlpd db upgrade" in refused.stderr and "Traceback" not in refused.stderr
