"""The security team's commands: `alerts list|show|ack|resolve|false-positive|reopen|export`
and `access list`. Thin: parse, call the library, render."""

from __future__ import annotations

import getpass
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from dlpd import __version__
from dlpd.cli.common import config_option, errors, fail, settings_or_exit
from dlpd.cli.render_alerts import access_table, alert_details, alerts_table, dump
from dlpd.config import Settings, database_url, parse_duration
from dlpd.model import Alert, AlertStatus, Severity
from dlpd.store import access as access_repo
from dlpd.store import alerts as alerts_repo
from dlpd.store.db import Engine, open_engine, transaction
from dlpd.wiring import sink_routes

_ACTIVE = ("open", "acknowledged")
_STATUSES = [s.value for s in AlertStatus]


def _since(value: str | None) -> float | None:
    """``2h``/``7d`` ago, or an ISO 8601 date/time (local time unless it has an offset)."""
    if value is None:
        return None
    try:
        return time.time() - parse_duration(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise click.BadParameter(f"expected 2h, 7d or an ISO date/time, got {value!r}",
                                 param_hint="--since") from None


def _engine(settings: Settings) -> Engine:
    """The existing store (never created here: see store.db.open_engine)."""
    with errors():
        return open_engine(database_url(settings), create=False)


@click.group()
def alerts() -> None:
    """List, show, triage and export alerts."""


_F = TypeVar("_F", bound=Callable[..., Any])


def _filters(f: _F) -> _F:
    f = click.option("--status", "statuses", multiple=True,
                     type=click.Choice([*_STATUSES, "active", "all"]),
                     help="Repeatable; default: active (open and acknowledged).")(f)
    f = click.option("--since", help="2h, 7d, or an ISO date/time.")(f)
    f = click.option("--severity", type=click.Choice(Severity.names()),
                     help="This severity and above.")(f)
    f = click.option("--path", "path_prefix", help="Only alerts at or under this path.")(f)
    f = click.option("--limit", type=click.IntRange(1), help="The newest N.")(f)
    return config_option(f)


def _query(config_path: Path | None, statuses: tuple[str, ...], since: str | None,
           severity: str | None, path_prefix: str | None, limit: int | None) -> list[Alert]:
    settings = settings_or_exit(config_path)
    wanted: list[str] = []
    for s in statuses or ("active",):
        wanted += list(_ACTIVE) if s == "active" else [] if s == "all" else [s]
    if "all" in statuses:
        wanted = []
    engine = _engine(settings)
    with errors(), transaction(engine) as conn:
        return alerts_repo.query(conn, statuses=wanted, since=_since(since),
                                 min_severity=Severity.parse(severity) if severity else None,
                                 path_prefix=os.path.abspath(path_prefix) if path_prefix else None,
                                 limit=limit)


@alerts.command("list")
@_filters
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl"]), default="table")
def alerts_list(config_path: Path | None, statuses: tuple[str, ...], since: str | None,
                severity: str | None, path_prefix: str | None, limit: int | None,
                fmt: str) -> None:
    """Alerts, oldest first."""
    found = _query(config_path, statuses, since, severity, path_prefix, limit)
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
    engine = _engine(settings_or_exit(config_path))
    with errors(), transaction(engine) as conn:
        alert = alerts_repo.get(conn, alert_id)
    if alert is None:
        fail(f"no alert {alert_id}")
    if fmt == "json":
        dump([alert.to_json()], "jsonl")
    else:
        alert_details(alert)


def _triage(status: AlertStatus, help_text: str) -> click.Command:
    @click.command(help=help_text)
    @click.argument("alert_ids", type=int, nargs=-1, required=True)
    @click.option("--note", default="", help="Why (stored with your name and the time).")
    @click.option("--author", default=None,
                  help="Who (default: the invoking user, $SUDO_USER under sudo).")
    @config_option
    def command(alert_ids: tuple[int, ...], note: str, author: str | None,
                config_path: Path | None) -> None:
        settings = settings_or_exit(config_path)
        who = author or os.environ.get("SUDO_USER") or getpass.getuser()
        engine = _engine(settings)
        missing = []
        with errors(), transaction(engine) as conn:
            for alert_id in alert_ids:
                done = alerts_repo.set_status(conn, alert_id, status, author=who,
                                              note=note or status.value, now=time.time(),
                                              sinks=sink_routes(settings))
                if done is None:
                    missing.append(alert_id)
                else:
                    click.echo(f"alert {alert_id}: {status.value}")
        if missing:
            fail(f"no alert {', '.join(map(str, missing))}")

    return command


alerts.add_command(_triage(AlertStatus.ACKNOWLEDGED, "Acknowledge alerts (triaged, still live)."),
                   "ack")
alerts.add_command(_triage(AlertStatus.RESOLVED, "Resolve alerts (the problem is gone)."),
                   "resolve")
alerts.add_command(_triage(AlertStatus.FALSE_POSITIVE,
                           "Mark alerts false positives (the same content is not raised "
                           "again at that path)."), "false-positive")
alerts.add_command(_triage(AlertStatus.OPEN, "Reopen alerts."), "reopen")


@alerts.command("export")
@_filters
@click.option("--format", "fmt", type=click.Choice(["ecs", "cef"]), required=True)
def alerts_export(config_path: Path | None, statuses: tuple[str, ...], since: str | None,
                  severity: str | None, path_prefix: str | None, limit: int | None,
                  fmt: str) -> None:
    """Alerts for a SIEM: Elastic Common Schema (JSON lines) or ArcSight CEF."""
    from dlpd.sinks.formats import cef, ecs  # noqa: PLC0415

    found = _query(config_path, statuses or ("all",), since, severity, path_prefix, limit)
    for alert in found:
        data = alert.to_json()
        if fmt == "ecs":
            dump([ecs(data, __version__)], "jsonl")
        else:
            sys.stdout.write(cef(data, __version__) + "\n")


@click.group()
def access() -> None:
    """The access log of labelled files."""


@access.command("list")
@config_option
@click.option("--path", "path_prefix", help="At or under this path.")
@click.option("--since", help="2h, 7d, or an ISO date/time.")
@click.option("--label", "labels", multiple=True, help="Files with this label (repeatable).")
@click.option("--limit", type=click.IntRange(1), help="The newest N rows.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl"]), default="table")
def access_list(config_path: Path | None, path_prefix: str | None, since: str | None,
                labels: tuple[str, ...], limit: int | None, fmt: str) -> None:
    """Events on labelled files, repeats aggregated."""
    engine = _engine(settings_or_exit(config_path))
    with errors(), transaction(engine) as conn:
        rows = access_repo.query(
            conn, path_prefix=os.path.abspath(path_prefix) if path_prefix else None,
            since=_since(since), labels=labels, limit=limit)
    if fmt == "table":
        access_table(rows)
    else:
        dump([r.to_json() for r in rows], fmt)
