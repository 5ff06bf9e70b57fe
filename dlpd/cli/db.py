"""`dlpd db current|upgrade`: the store's schema revision, for operators.

A shared database (PostgreSQL) is migrated only by `dlpd db upgrade`, run once for the
fleet by the role that owns the schema; the daemons then find it at their head revision.
Thin: parse, call store.db, render.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dlpd.cli.common import ExitCode, config_option, errors, settings_or_exit
from dlpd.store.db import NoDatabase, SchemaState, open_unchecked, schema_state, upgrade
from dlpd.textsafe import redact_url, visible

# `dlpd db current`: 0 at head, 1 not (a script's `dlpd db current || dlpd db upgrade`).
NOT_CURRENT = 1


def _revision(state: SchemaState) -> str:
    return state.revision or "(none: empty database)"


def _where(settings_url: str) -> str:
    return visible(redact_url(settings_url), keep_backslash=True)


@click.group()
def db() -> None:
    """The store's schema: its revision, and upgrading it to this dlpd's."""


@db.command()
@config_option
def current(config_path: Path | None) -> None:
    """The database's schema revision, the one this dlpd needs, and whether to upgrade.

    Exit status: 0 up to date, 1 not (empty, behind, or newer than this dlpd), 2 error.
    """
    from dlpd.config import database_url  # noqa: PLC0415 - loaded by settings_or_exit

    settings = settings_or_exit(config_path)
    fix = "dlpd db upgrade" + (f" --config {config_path}" if config_path else "")
    click.echo(f"database: {_where(database_url(settings))}")
    with errors():
        try:
            engine = open_unchecked(settings, create=False)
        except NoDatabase:
            click.echo(f"revision: (none: no database yet)\nhead: {SchemaState(None).head}\n"
                       f"behind: run `{visible(fix)}`")
            sys.exit(NOT_CURRENT)
        try:
            state = schema_state(engine)
        finally:
            engine.dispose()
    click.echo(f"revision: {_revision(state)}\nhead: {state.head}")
    if state.is_current:
        click.echo("up to date")
        sys.exit(ExitCode.CLEAN)
    if state.is_behind:
        click.echo(f"behind: run `{visible(fix)}`")
    else:
        click.echo("ahead: a newer dlpd upgraded this database; install it here too")
    sys.exit(NOT_CURRENT)


@db.command("upgrade")
@config_option
def upgrade_command(config_path: Path | None) -> None:
    """Create or migrate the database's schema to this dlpd's revision.

    Run it as the role that owns the schema (not the daemons' role); it is safe to run
    twice, and two at once run one after the other.
    """
    from dlpd.config import database_url  # noqa: PLC0415 - loaded by settings_or_exit

    settings = settings_or_exit(config_path)
    click.echo(f"database: {_where(database_url(settings))}")
    with errors():
        engine = open_unchecked(settings, create=True)
        try:
            before, after = upgrade(engine)
        finally:
            engine.dispose()
    if before.revision == after.revision:
        click.echo(f"already at {after.revision}")
    else:
        click.echo(f"upgraded: {_revision(before)} -> {after.revision}")

