"""`dlpd console`: serve the review web app; `dlpd console user add|list|disable|passwd|
role` and `dlpd console audit verify`. Thin: the work is in dlpd.console and the store.

Passwords are read from a prompt (typed twice) or, for scripts, from standard input with
``--password-stdin``; never from an argument, which every user sees in ps and the shell
keeps in its history. Every change here is an audit row whose actor is ``cli:`` and the
invoking Unix user ($SUDO_USER under sudo).
"""

from __future__ import annotations

import getpass
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dlpd.cli.common import (
    ExitCode,
    config_option,
    configure_logging,
    errors,
    existing_store,
    fail,
    report,
    settings_or_exit,
)
from dlpd.errors import ConfigError
from dlpd.model import Role
from dlpd.textsafe import visible

if TYPE_CHECKING:
    from dlpd.store.db import Connection, Engine

_ROLES = [r.value for r in Role]
_EXTRA = ("starlette", "jinja2", "uvicorn", "argon2", "multipart", "python_multipart")


@contextmanager
def console_extra() -> Iterator[None]:
    """Around an import of dlpd.console: a clear error when the extra is not installed."""
    try:
        yield
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] in _EXTRA:
            fail(f"the console needs {exc.name}, which is not installed: "
                 "pip install 'dlpd[console]'")
        raise


def _actor() -> str:
    return "cli:" + (os.environ.get("SUDO_USER") or getpass.getuser())


def _config(ctx: click.Context, config_path: Path | None) -> Path | None:
    """A subcommand's --config, else the one given to `dlpd console` itself."""
    return config_path or (ctx.obj or {}).get("config_path")


@click.group(invoke_without_command=True)
@config_option
@click.option("--listen", default=None, metavar="HOST:PORT",
              help="Address to serve on (default: console.listen, 127.0.0.1:8765).")
@click.option("--uds", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Serve on this Unix socket instead (behind a TLS reverse proxy).")
@click.pass_context
def console(ctx: click.Context, config_path: Path | None, listen: str | None,
            uds: Path | None) -> None:
    """The review web app: alerts, labels, the access log and triage, in a browser."""
    ctx.obj = {"config_path": config_path}
    if ctx.invoked_subcommand is not None:
        return
    configure_logging(ctx.meta.get("dlpd.log_level") or "info")
    from dlpd.config import load_settings  # noqa: PLC0415

    with console_extra():
        from dlpd.console.serve import check_listen, serve  # noqa: PLC0415
    try:
        settings = load_settings(config_path)
        listen, uds = listen or settings.console.listen, uds or settings.console.uds
        check_listen(settings, listen, uds)
    except ConfigError as exc:
        # As `dlpd run`: EX_CONFIG, which the unit's RestartPreventExitStatus names (a
        # bad config does not fix itself; a missing store, exit 2, may come).
        report(exc)
        sys.exit(ExitCode.CONFIG)
    engine = existing_store(settings)
    with errors():
        _purge_sessions(engine)
        serve(settings, engine, listen=listen, uds=uds,
              on_ready=lambda url: click.echo(f"dlpd console: serving on {url}"))


def _purge_sessions(engine: Engine) -> None:
    from dlpd.store import console_users  # noqa: PLC0415
    from dlpd.store.db import transaction  # noqa: PLC0415

    with transaction(engine) as conn:
        console_users.purge_sessions(conn, time.time())


@console.group()
def user() -> None:
    """Console accounts: viewers read, analysts also triage, admins also manage accounts."""


def _read_password(from_stdin: bool) -> str:
    with console_extra():
        from dlpd.console.auth import password_problem  # noqa: PLC0415
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True,
                                err=True)
    if problem := password_problem(password):
        fail(problem)
    return password


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(_ROLES), required=True)
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input.")
@config_option
@click.pass_context
def user_add(ctx: click.Context, name: str, role: str, password_stdin: bool,
             config_path: Path | None) -> None:
    """Create an account NAME with a role; its password is asked for (twice)."""
    from dlpd.store import audit, console_users  # noqa: PLC0415
    from dlpd.store.db import transaction  # noqa: PLC0415

    with console_extra():
        from dlpd.console.auth import hash_password, name_problem  # noqa: PLC0415
    if problem := name_problem(name):
        fail(problem)
    engine = existing_store(settings_or_exit(_config(ctx, config_path)))
    hashed = hash_password(_read_password(password_stdin))
    now = time.time()
    with errors(), transaction(engine) as conn:
        console_users.add_user(conn, name=name, role=Role(role), password_hash=hashed,
                               created_by=_actor(), now=now)
        audit.append(conn, actor=_actor(), action="user-add", target=name, reason="",
                     details={"role": role}, now=now)
    click.echo(f"account {name} added ({role})")


@user.command("list")
@config_option
@click.pass_context
def user_list(ctx: click.Context, config_path: Path | None) -> None:
    """Every account: name, role, state, created by whom and when."""
    from dlpd.cli.render_alerts import when  # noqa: PLC0415
    from dlpd.store import console_users  # noqa: PLC0415
    from dlpd.store.db import transaction  # noqa: PLC0415

    engine = existing_store(settings_or_exit(_config(ctx, config_path)))
    with errors(), transaction(engine) as conn:
        users = console_users.list_users(conn)
    for u in users:
        state = f"disabled {when(u.disabled)}" if u.disabled is not None else "active"
        click.echo(f"{visible(u.name)}\t{u.role.value}\t{state}\tcreated {when(u.created)} by "
                   f"{visible(u.created_by)}")


def _change(ctx: click.Context, config_path: Path | None, name: str, action: str,
            details: dict[str, object], change: Callable[[Connection, float], bool]) -> None:
    """One account change in one transaction with its audit row; an error when there
    is no such account."""
    from dlpd.store import audit  # noqa: PLC0415
    from dlpd.store.db import transaction  # noqa: PLC0415

    engine = existing_store(settings_or_exit(_config(ctx, config_path)))
    now = time.time()
    with errors(), transaction(engine) as conn:
        done = change(conn, now)
        if done:
            audit.append(conn, actor=_actor(), action=action, target=name, reason="",
                         details=details, now=now)
    if not done:
        fail(f"no account {name!r}")


@user.command("disable")
@click.argument("name")
@config_option
@click.pass_context
def user_disable(ctx: click.Context, name: str, config_path: Path | None) -> None:
    """Disable account NAME: its sessions end now and it cannot sign in."""
    from dlpd.store import console_users  # noqa: PLC0415

    _change(ctx, config_path, name, "user-disable", {},
            lambda conn, now: console_users.disable_user(conn, name, now))
    click.echo(f"account {name} disabled")


@user.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(_ROLES))
@config_option
@click.pass_context
def user_role(ctx: click.Context, name: str, role: str, config_path: Path | None) -> None:
    """Give account NAME another role."""
    from dlpd.store import console_users  # noqa: PLC0415

    _change(ctx, config_path, name, "user-role", {"role": role},
            lambda conn, _now: console_users.set_role(conn, name, Role(role)))
    click.echo(f"account {name}: {role}")


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input.")
@config_option
@click.pass_context
def user_passwd(ctx: click.Context, name: str, password_stdin: bool,
                config_path: Path | None) -> None:
    """Set account NAME's password (asked for twice)."""
    from dlpd.store import console_users  # noqa: PLC0415

    with console_extra():
        from dlpd.console.auth import hash_password  # noqa: PLC0415
    hashed = hash_password(_read_password(password_stdin))
    _change(ctx, config_path, name, "user-password", {},
            lambda conn, now: console_users.set_password(conn, name, hashed, now))
    click.echo(f"account {name}: password changed")


@console.group("audit")
def audit_group() -> None:
    """The audit trail of console and triage actions (append-only, hash-chained)."""


@audit_group.command("verify")
@config_option
@click.pass_context
def audit_verify(ctx: click.Context, config_path: Path | None) -> None:
    """Check the audit trail's hash chain: exit 0 when whole, 1 at the first bad row."""
    from dlpd.store import audit  # noqa: PLC0415
    from dlpd.store.db import transaction  # noqa: PLC0415

    engine = existing_store(settings_or_exit(_config(ctx, config_path)))
    with errors(), transaction(engine) as conn:
        check = audit.verify(conn)
    if check.ok:
        click.echo(f"audit chain ok: {check.entries} entries")
        return
    click.echo(f"audit chain broken at entry {check.first_bad}: "
               f"{visible(check.problem or 'unknown problem')}", err=True)
    sys.exit(ExitCode.FOUND)


@console.group("suppress")
def suppress_group() -> None:
    """Suppression rules (added and revoked by analysts in the console)."""


@suppress_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also expired and revoked rules.")
@config_option
@click.pass_context
def suppress_list(ctx: click.Context, show_all: bool, config_path: Path | None) -> None:
    """Suppression rules: label, path, rule, owner, expiry, state, alerts suppressed."""
    from dlpd.cli.render_alerts import when  # noqa: PLC0415
    from dlpd.store import suppressions  # noqa: PLC0415
    from dlpd.store.db import transaction  # noqa: PLC0415

    engine = existing_store(settings_or_exit(_config(ctx, config_path)))
    now = time.time()
    with errors(), transaction(engine) as conn:
        rules = suppressions.list_all(conn)
    for rule, stopped, last in rules:
        if not show_all and not rule.in_force(now):
            continue
        fields = (f"#{rule.id}", rule.state(now), rule.label, rule.path_prefix,
                  rule.rule or "any rule", f"owner {rule.owner}", f"until {when(rule.expires)}",
                  f"{stopped} suppressed" + (f", last {when(last)}" if last else ""),
                  f"by {rule.created_by}: {rule.reason}")
        click.echo("\t".join(visible(f) for f in fields))
