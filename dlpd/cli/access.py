"""`dlpd access list|top`: what happened to labelled files, and who did it (the actor
columns are filled where the watch backend knows them: fanotify). Thin: parse, query,
render."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import click

from dlpd.cli.common import (
    config_option,
    errors,
    existing_store,
    settings_or_exit,
    when_option,
)
from dlpd.cli.render_alerts import access_table, dump, top_table
from dlpd.cli.when import FORMS
from dlpd.model import AccessKind
from dlpd.store import access as access_repo
from dlpd.store.db import transaction

_KINDS = click.Choice([k.value for k in AccessKind])


def _uid(_ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """``--user`` as a uid: a name from the account database, or a number."""
    if value is None:
        return None
    if value.isascii() and value.isdigit():
        return int(value)
    try:
        return pwd.getpwnam(value).pw_uid
    except KeyError:
        raise click.BadParameter(f"no user {value!r} (give a uid for a deleted account)",
                                 param=param) from None


@click.group()
def access() -> None:
    """The access log of labelled files: who did what, and the most."""


@access.command("list")
@config_option
@click.option("--path", "path_prefix", help="At or under this path.")
@click.option("--since", callback=when_option, help=f"At or after: {FORMS}.")
@click.option("--label", "labels", multiple=True, help="Files with this label (repeatable).")
@click.option("--user", "uid", callback=_uid, help="By this user (a name or a uid).")
@click.option("--kind", "kinds", multiple=True, type=_KINDS,
              help="Only this kind of event (repeatable).")
@click.option("--host", "hosts", multiple=True,
              help="Only on this host ([daemon] host; repeatable).")
@click.option("--limit", type=click.IntRange(1), help="The newest N rows.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl"]), default="table")
def access_list(config_path: Path | None, path_prefix: str | None, since: float | None,
                labels: tuple[str, ...], uid: int | None, kinds: tuple[str, ...],
                hosts: tuple[str, ...], limit: int | None, fmt: str) -> None:
    """Events on labelled files, repeats aggregated."""
    engine = existing_store(settings_or_exit(config_path))
    with errors(), transaction(engine) as conn:
        rows = access_repo.query(
            conn, path_prefix=os.path.abspath(path_prefix) if path_prefix else None,
            since=since, labels=labels, kinds=[AccessKind(k) for k in kinds],
            uids=() if uid is None else (uid,), hosts=hosts, limit=limit)
    if fmt == "table":
        access_table(rows)
    else:
        dump([r.to_json() for r in rows], fmt)


@access.command("top")
@config_option
@click.option("--path", "path_prefix", help="At or under this path.")
@click.option("--since", callback=when_option, help=f"At or after: {FORMS}.")
@click.option("--label", "labels", multiple=True, help="Files with this label (repeatable).")
@click.option("--kind", "kinds", multiple=True, type=_KINDS,
              help="Only this kind of event (repeatable; default: every kind).")
@click.option("--host", "hosts", multiple=True,
              help="Only on this host ([daemon] host; repeatable).")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl"]), default="table")
def access_top(config_path: Path | None, path_prefix: str | None, since: float | None,
               labels: tuple[str, ...], kinds: tuple[str, ...], hosts: tuple[str, ...],
               limit: int, fmt: str) -> None:
    """Who did the most to labelled files, by user and program (events with a known
    actor only: the fanotify watch backend)."""
    engine = existing_store(settings_or_exit(config_path))
    with errors(), transaction(engine) as conn:
        rows = access_repo.top(
            conn, path_prefix=os.path.abspath(path_prefix) if path_prefix else None,
            since=since, labels=labels, kinds=[AccessKind(k) for k in kinds], hosts=hosts,
            limit=limit)
    if fmt == "table":
        top_table(rows)
    else:
        dump([r.to_json() for r in rows], fmt)
