"""Fixtures: one seeded store with accounts per session, copied for each console started.

Seeding and the three ``user add`` runs (argon2 plus an interpreter start each) happen
once; every test gets its own copy of that database and its own ``dlpd console``, so a
test that acknowledges 247 alerts changes nothing another test sees.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.console.harness import (
    PASSWORDS,
    ROLES,
    ConsoleServer,
    Seeded,
    add_user,
    copy_store,
    seed_store,
    write_config,
)


@dataclass(frozen=True, slots=True)
class Template:
    db: Path
    seeded: Seeded


@dataclass(frozen=True, slots=True)
class Console:
    """A running console over its own copy of the seeded store."""

    base: str
    cfg: Path
    db: Path
    seeded: Seeded
    server: ConsoleServer


MakeConsole = Callable[..., Console]


@pytest.fixture(scope="session")
def console_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    directory = tmp_path_factory.mktemp("console-template")
    db = directory / "dlpd.db"
    seeded = seed_store(db, time.time())
    cfg = write_config(directory, db)
    for name, role in ROLES.items():
        add_user(cfg, name, role, PASSWORDS[name])
    return Template(db, seeded)


@pytest.fixture
def make_console(console_template: Template, tmp_path: Path) -> Iterator[MakeConsole]:
    """``make_console(settings="")``: start a console; ``settings`` are extra lines of its
    ``[console]`` table (``login_window = "3s"``)."""
    servers: list[ConsoleServer] = []

    def make(settings: str = "") -> Console:
        directory = tmp_path / f"console{len(servers)}"
        directory.mkdir(mode=0o700)
        db = directory / "dlpd.db"
        copy_store(console_template.db, db)
        cfg = write_config(directory, db, settings)
        server = ConsoleServer(cfg, directory)
        servers.append(server)
        return Console(server.base, cfg, db, console_template.seeded, server)

    yield make
    try:
        for server in servers:
            server.check_alive()
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def console(make_console: MakeConsole) -> Console:
    return make_console()
