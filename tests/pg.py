"""The test PostgreSQL: a real server started by the test suite, a fresh database per test.

``pg_server`` (session): Debian's ``postgresql`` binaries (``scripts/test`` installs the
package), ``initdb`` + ``pg_ctl`` into a temporary directory as the ``postgres`` user
(the server refuses to run as root), on a free loopback port, its socket in the same
directory, fsync and synchronous_commit off (a test server: speed over durability). It is
stopped at the end of the session. Without the binaries the PostgreSQL tests are skipped,
saying why. ``PgServer.stop()`` / ``start()`` take it down and bring it back on the same
port (the outage tests).

``pg_url`` (function): ``CREATE DATABASE t_<n>``, its SQLAlchemy URL, and ``DROP DATABASE
... WITH (FORCE)`` afterwards (an engine a test forgot to dispose does not block it).

Authentication is ``trust`` except for members of the role ``password_required``, who
must give a password over TCP (scram-sha-256): the credential tests use one.

tests/conftest.py loads this module as a plugin: any test may ask for ``pg_server`` or
``pg_url``.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

USER = "postgres"
PASSWORD_GROUP = "password_required"
_HBA = f"""\
local all all trust
host all +{PASSWORD_GROUP} 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
"""


def find_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's binaries (Debian: /usr/lib/postgresql/N/bin)."""
    found = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()]
    if found:
        return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PgServer:
    """One PostgreSQL cluster in a temporary directory, run as ``postgres`` when we are
    root (as ourselves otherwise)."""

    def __init__(self, bin_dir: Path, directory: Path) -> None:
        self.bin_dir = bin_dir
        self.directory = directory
        self.data = directory / "data"
        self.port = _free_port()
        self._as_user: tuple[str, ...] = ("runuser", "-u", USER, "--") \
            if os.geteuid() == 0 else ()
        self._counter = itertools.count(1)

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._as_user, *args], capture_output=True, text=True,
                              timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr[-2000:]}")

    def init(self) -> None:
        if self._as_user:
            shutil.chown(self.directory, user=USER, group=pwd.getpwnam(USER).pw_gid)
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", USER,
                  "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        (self.data / "pg_hba.conf").write_text(_HBA)
        self.start()
        self.execute(f"CREATE ROLE {PASSWORD_GROUP} NOLOGIN")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.directory / "server.log"), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                  "stop")

    def is_running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str = "postgres", user: str = USER, password: str | None = None,
            driver: str = "postgresql+psycopg") -> str:
        auth = f"{user}:{password}" if password is not None else user
        return f"{driver}://{auth}@127.0.0.1:{self.port}/{database}"

    def execute(self, *statements: str, database: str = "postgres") -> None:
        """Statements as the superuser, each in its own transaction (autocommit: CREATE
        DATABASE runs in none)."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=USER, dbname=database,
                             autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement.encode())

    def create_database(self, template: str | None = None) -> str:
        """A new database: empty, or a copy of ``template`` (which nobody may be
        connected to)."""
        name = f"t_{next(self._counter)}"
        self.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
        return name

    def drop_database(self, name: str) -> None:
        self.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt install postgresql; "
                    "scripts/test installs it)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(USER)
        except KeyError:
            pytest.skip(f"no {USER!r} user to run PostgreSQL as (it refuses root)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'dlpd[postgresql]')")
    # /tmp, not pytest's tmp_path: the postgres user must be able to reach the directory,
    # and pytest's base directory is private to us.
    directory = Path(tempfile.mkdtemp(prefix="dlpd-pg-"))
    server = PgServer(bin_dir, directory)
    try:
        server.init()
        yield server
    finally:
        if server.is_running():
            server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A new, empty database for one test: its URL (the superuser, no password)."""
    if not pg_server.is_running():  # a test that stopped it failed before starting it
        pg_server.start()
    name = pg_server.create_database()
    yield pg_server.url(name)
    if not pg_server.is_running():
        pg_server.start()
    pg_server.drop_database(name)
