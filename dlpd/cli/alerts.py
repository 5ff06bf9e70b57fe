"""The security team's alert commands: `alerts list|show|ack|resolve|false-positive|reopen|
export` (`access` is cli/access.py). Thin: parse, call the library, render."""

from __future__ import annotations

import dataclasses
import getpass
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from dlpd import __version__
from dlpd.cli.common import (
    config_option,
    errors,
    existing_store,
    fail,
    settings_or_exit,
    when_option,
)
from dlpd.cli.render_alerts import alert_details, alerts_table, dump
from dlpd.cli.when import FORMS
from dlpd.model import Alert, AlertStatus, Severity
from dlpd.review import triage
from dlpd.review.triage import Action
from dlpd.store import alerts as alerts_repo
from dlpd.store.db import transaction
from dlpd.wiring import sink_routes

_ACTIVE = ("open", "acknowledged")
_STATUSES = [s.value for s in AlertStatus]


def _sha256(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    if not re.fullmatch(r"[0-9a-f]{8,64}", value.strip().lower()):
        raise click.BadParameter("expected a sha256 in hex, or at least its first 8 digits",
                                 param=param)
    return value.strip().lower()


@click.group()
def alerts() -> None:
    """List, show, triage and export alerts."""


_F = TypeVar("_F", bound=Callable[..., Any])


def _filters(f: _F) -> _F:
    """The options `alerts list` and `alerts export` share; each narrows, and a repeated
    one takes any of its values."""
    f = click.option("--status", "statuses", multiple=True,
                     type=click.Choice([*_STATUSES, "active", "all"]),
                     help="Repeatable; default: active (open and acknowledged).")(f)
    f = click.option("--since", callback=when_option, help=f"Raised at or after: {FORMS}.")(f)
    f = click.option("--until", callback=when_option, help="Raised before (same forms).")(f)
    f = click.option("--severity", type=click.Choice(Severity.names()),
                     help="This severity and above.")(f)
    f = click.option("--label", "labels", multiple=True, help="Alerts for this label "
                     "(repeatable).")(f)
    f = click.option("--category", "categories", multiple=True,
                     help="Alerts on files with a detection of this category (repeatable).")(f)
    f = click.option("--sha256", callback=_sha256,
                     help="Alerts on this content (the hash or its first 8+ hex digits).")(f)
    f = click.option("--host", "hosts", multiple=True, help="Raised on this host "
                     "(repeatable).")(f)
    f = click.option("--path", "path_prefix", help="Only alerts at or under this path.")(f)
    f = click.option("--limit", type=click.IntRange(1), help="The newest N.")(f)
    return config_option(f)


def _query(config_path: Path | None, statuses: Sequence[str], severity: str | None,
           path_prefix: str | None, **filters: Any) -> list[Alert]:
    settings = settings_or_exit(config_path)
    wanted: list[str] = []
    for s in statuses or ("active",):
        wanted += list(_ACTIVE) if s == "active" else [] if s == "all" else [s]
    if "all" in statuses:
        wanted = []
    engine = existing_store(settings)
    with errors(), transaction(engine) as conn:
        return alerts_repo.query(conn, statuses=wanted,
                                 min_severity=Severity.parse(severity) if severity else None,
                                 path_prefix=os.path.abspath(path_prefix) if path_prefix else None,
                                 **filters)


@alerts.command("list")
@_filters
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl"]), default="table")
def alerts_list(fmt: str, **filters: Any) -> None:
    """Alerts, oldest first."""
    found = _query(**filters)
    if fmt == "table":
        alerts_table(found)
    else:
        dump([a.to_json() for a in found], fmt)


@alerts.command("show")
@click.argument("alert_id", type=int)
@config_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def alerts_show(alert_id: int, config_path: Path | None, fmt: str) -> None:
    """One alert with its history."""
    engine = existing_store(settings_or_exit(config_path))
    with errors(), transaction(engine) as conn:
        alert = alerts_repo.get(conn, alert_id)
        decisions = (alerts_repo.decisions(conn, alert.sha256, alert.label)
                     if alert is not None else [])
    if alert is None:
        fail(f"no alert {alert_id}")
    if fmt == "json":
        dump([{**alert.to_json(),
               "false_positives": [dataclasses.asdict(d) for d in decisions]}], "jsonl")
    else:
        alert_details(alert, decisions=decisions)


def _triage(action: Action, help_text: str) -> click.Command:
    @click.command(help=help_text)
    @click.argument("alert_ids", type=int, nargs=-1, required=True)
    @click.option("--note", default="", help="Why (stored with your name and the time; "
                  "required to resolve or mark false-positive).")
    @click.option("--author", default=None,
                  help="Who (default: the invoking user, $SUDO_USER under sudo).")
    @config_option
    def command(alert_ids: tuple[int, ...], note: str, author: str | None,
                config_path: Path | None) -> None:
        settings = settings_or_exit(config_path)
        unix_user = getpass.getuser()
        who = author or os.environ.get("SUDO_USER") or unix_user
        engine = existing_store(settings)
        with errors(), transaction(engine) as conn:
            outcome = triage.apply(conn, action, alert_ids, author=who, reason=note,
                                   now=time.time(), sinks=sink_routes(settings),
                                   via=f"cli (unix user {unix_user})")
        for alert in outcome.changed:
            named = outcome.carried_by.get(alert.id)
            click.echo(f"alert {alert.id}: {alert.status.value}" if named is None else
                       f"alert {alert.id}: {alert.status.value} (same content and label as "
                       f"alert {named})")
        if outcome.missing:
            fail(f"no alert {', '.join(map(str, outcome.missing))}")

    return command


alerts.add_command(_triage(Action.ACK, "Acknowledge alerts (triaged, still live)."), "ack")
alerts.add_command(_triage(Action.RESOLVE, "Resolve alerts (the problem is gone); --note "
                           "says how."), "resolve")
alerts.add_command(_triage(
    Action.FALSE_POSITIVE,
    "Mark alerts false positives: their content is fine with their label anywhere. Every "
    "live alert on the same content and label (any path, any host) is closed with it, and "
    "the content is not raised again with that label while the decision stands. The "
    "decision is recorded once, with --note (required) and --author."), "false-positive")
alerts.add_command(_triage(
    Action.REOPEN,
    "Reopen alerts. Reopening a false positive lifts the decision: the other alerts it "
    "closed reopen too, and new copies are raised again."), "reopen")


@alerts.command("export")
@_filters
@click.option("--format", "fmt", type=click.Choice(["ecs", "cef"]), required=True)
def alerts_export(fmt: str, **filters: Any) -> None:
    """Alerts for a SIEM: Elastic Common Schema (JSON lines) or ArcSight CEF."""
    from dlpd.sinks.formats import cef, ecs  # noqa: PLC0415

    found = _query(**filters)
    for alert in found:
        data = alert.to_json()
        if fmt == "ecs":
            dump([ecs(data, __version__)], "jsonl")
        else:
            sys.stdout.write(cef(data, __version__) + "\n")


