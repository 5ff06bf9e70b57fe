"""The operators' commands: `run` (the daemon, for systemd), `status`, `check-config`,
`example-config`."""

from __future__ import annotations

import sys
import time
from importlib.resources import files
from pathlib import Path
from typing import NoReturn

import click

from dlpd.cli.common import (
    ExitCode,
    config_option,
    configure_logging,
    errors,
    fail,
    report,
    settings_or_exit,
)
from dlpd.cli.render_alerts import dump, status_text
from dlpd.config import database_url, load_settings
from dlpd.config_checks import Level, is_daemon_config, problems
from dlpd.errors import ConfigError, DlpdError, SignatureError, StoreError
from dlpd.store import alerts as alerts_repo
from dlpd.store import outbox as outbox_repo
from dlpd.store.db import NoDatabase, SchemaNotCurrent, open_store, transaction
from dlpd.textsafe import redact_url, visible
from dlpd.wiring import build_ruleset


@click.command()
@config_option
@click.pass_context
def run(ctx: click.Context, config_path: Path | None) -> None:
    """Watch the configured trees and raise alerts (foreground; for systemd)."""
    configure_logging(ctx.meta.get("dlpd.log_level") or "info")
    from dlpd.daemon.mainloop import start_daemon  # noqa: PLC0415 - `dlpd scan` skips it

    try:
        settings = load_settings(config_path)
        daemon = start_daemon(settings)
    except (ConfigError, SignatureError, SchemaNotCurrent) as exc:
        # A schema behind (or ahead of) this dlpd waits for an operator's `dlpd db
        # upgrade`: like a bad config, restarting would only loop.
        report(exc, as_log=True)
        sys.exit(ExitCode.CONFIG)
    except StoreError as exc:
        report(exc, as_log=True)
        sys.exit(ExitCode.RETRY)  # Restart=on-failure tries again: the store may come back
    sys.exit(daemon.run())


@click.command()
@config_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def status(config_path: Path | None, fmt: str) -> None:
    """Is the daemon running, what is it watching, what is queued, what is open."""
    from dlpd.daemon.status import STALE_AFTER, is_alive, read_status, runtime_dir  # noqa: PLC0415

    settings = settings_or_exit(config_path)
    try:
        daemon = read_status(runtime_dir(settings))
    except DlpdError as exc:  # not ours to read: that says nothing of whether it runs
        _status_unknown(str(exc), fmt)
    now = time.time()
    report: dict[str, object] = {"state": "not running", "daemon": None}
    if daemon is not None and is_alive(daemon.pid):
        age = now - daemon.updated
        report.update(state="running" if age < STALE_AFTER else "not responding",
                      daemon=daemon.to_json(), uptime=now - daemon.started, status_age=age)
    backlogs: dict[str, outbox_repo.Backlog] = {}
    report["open_alerts"] = {}
    try:
        engine = open_store(settings, create=False)
    except NoDatabase:
        report["database"] = "not created yet"
    except SchemaNotCurrent as exc:
        fail(str(exc))
    except StoreError as exc:
        # A daemon riding out an outage is what this command must still show.
        report["database"] = f"unreachable: {exc}"
    except DlpdError as exc:
        fail(str(exc))
    else:
        try:
            with transaction(engine) as conn:
                report["open_alerts"] = alerts_repo.open_counts(conn)
                backlogs = outbox_repo.backlogs(conn)
        except StoreError as exc:
            report["database"] = f"unreachable: {exc}"
        finally:
            engine.dispose()
    sinks: dict[str, dict[str, object]] = {}
    for i in range(len(settings.sinks)):
        name = settings.sink_name(i)
        b = backlogs.get(name)
        sinks[name] = {"pending": b.pending if b else 0,
                       "oldest_age": (now - b.oldest) if b and b.oldest else None,
                       "failing": b.failing if b else 0,
                       "last_error": b.last_error if b else None}
    report["sinks"] = sinks
    if fmt == "json":
        dump([report], "json")
    else:
        status_text(report)
        _store_text(report)
    sys.exit(ExitCode.CLEAN if report["state"] == "running" else ExitCode.NOT_RUNNING)


def _store_text(report: dict[str, object]) -> None:
    """The store's part of the text status: the daemon's view of an outage, and ours."""
    daemon = report.get("daemon")
    outage = daemon.get("store_unreachable") if isinstance(daemon, dict) else None
    lines = []
    if isinstance(outage, dict):
        from dlpd.daemon.status import Unreachable  # noqa: PLC0415 - `dlpd scan` skips it

        down = Unreachable.from_json(outage)
        if down is not None:
            lines.append(f"  {down.line()}")
    if isinstance(report.get("database"), str):
        lines.append(f"  database: {report['database']}")
    for line in lines:  # the driver's words are data: escaped
        click.echo(visible(line))


def _status_unknown(problem: str, fmt: str) -> NoReturn:
    """LSB's "status is unknown" (exit 4): the status file is there but not ours to read."""
    if fmt == "json":
        dump([{"state": "unknown", "daemon": None, "error": problem}], "json")
    else:
        click.echo("dlpd: unknown")
    click.echo(f"dlpd: error: cannot tell whether the daemon runs: "
               f"{visible(problem, keep_backslash=True)}", err=True)
    sys.exit(ExitCode.UNKNOWN)


@click.command("check-config")
@config_option
@click.option("--strict", is_flag=True,
              help="Exit 1 when there are warnings (parts of the config that never alert).")
def check_config(config_path: Path | None, strict: bool) -> None:
    """Validate a config file (and the rules it names) without scanning.

    Errors are what `dlpd run` refuses (exit 2); warnings what runs but never alerts
    (exit 0, or 1 with --strict). A config with no watch paths, labels or sinks is
    judged as one for `dlpd scan`, which needs no watch paths.
    """
    from dlpd.daemon.runtime import check_sinks  # noqa: PLC0415 - `dlpd scan` skips it

    settings = settings_or_exit(config_path)
    with errors():  # every check before the first line: "OK" is said only when it is
        ruleset = build_ruleset(settings)
        check_sinks(settings)
    findings = problems(settings, daemon=is_daemon_config(settings))
    failed = [f for f in findings if f.level == Level.ERROR]
    source = settings.source or "embedded defaults"
    click.echo(f"config has errors: {source}" if failed else f"config OK: {source}")
    click.echo(f"  database: {redact_url(database_url(settings))}")
    click.echo(f"  rules: {len(ruleset.metas)} in {len(ruleset.files)} files "
               f"(version {ruleset.version})")
    click.echo(f"  minimum confidence: {settings.scan.min_confidence}")
    watch = settings.watch
    click.echo(f"  watch: {', '.join(watch.paths) or '(none: `dlpd run` needs watch.paths)'}"
               f"; backend {watch.backend}; crawl every {watch.reconcile_interval:g}s")
    for name, label in sorted(settings.labels.items()):
        places = ", ".join(label.prefixes) or ("nowhere" if label.is_nowhere else "anywhere")
        click.echo(f"  label {name} ({label.severity}): {places}")
    for i, sink in enumerate(settings.sinks):
        click.echo(f"  sink {settings.sink_name(i)}: {sink.type}")
    for level, heading in ((Level.WARNING, "warnings:"), (Level.ERROR, "errors:")):
        said = [f for f in findings if f.level == level]
        if said:
            click.echo(heading)
        for finding in said:
            click.echo(f"  {visible(str(finding), keep_backslash=True)}")
    if failed:
        sys.exit(ExitCode.ERROR)
    sys.exit(ExitCode.FOUND if strict and findings else ExitCode.CLEAN)


@click.command("example-config")
def example_config() -> None:
    """Print the example config: every key, its default, and what it does."""
    click.echo((files("dlpd") / "data" / "dlpd.toml").read_text(encoding="utf-8"), nl=False)
