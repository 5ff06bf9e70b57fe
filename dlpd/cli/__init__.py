"""The command line: parse, call one library function, render.

Commands are grouped by who runs them: `scan` (anyone scanning a tree), `daemon` (lab IT:
run, status, check-config, example-config), `alerts` (security teams: alerts, access),
`labels` (researchers: label set|remove|show|list|history) and `rules` (whoever writes
signatures).

The group loads a command's module only when that command runs (click's lazy-group
pattern): importing every command drags in the store's schema, the alert renderers and
the daemon's helpers, which `dlpd scan` never uses and which cost more than the scan of a
small tree. `dlpd --help` lists the commands from ``COMMANDS`` without importing any.
"""

from __future__ import annotations

import importlib
import logging
import sys
from dataclasses import dataclass

import click

from dlpd import __version__
from dlpd.cli.common import ExitCode, configure_logging, fail


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """Where a command lives, and its one-line help for `dlpd --help` (the first paragraph
    of its docstring; tests/test_startup.py checks that the two agree)."""

    module: str
    attr: str
    summary: str


COMMANDS: dict[str, LazyCommand] = {
    "access": LazyCommand("dlpd.cli.access", "access",
                          "The access log of labelled files: who did what, and the most."),
    "alerts": LazyCommand("dlpd.cli.alerts", "alerts",
                          "List, show, triage and export alerts."),
    "check-config": LazyCommand(
        "dlpd.cli.daemon", "check_config",
        "Validate a config file (and the rules it names) without scanning."),
    "db": LazyCommand("dlpd.cli.db", "db",
                      "The store's schema: its revision, and upgrading it to this dlpd's."),
    "console": LazyCommand(
        "dlpd.cli.console", "console",
        "The review web app: alerts, labels, the access log and triage, in a browser."),
    "example-config": LazyCommand(
        "dlpd.cli.daemon", "example_config",
        "Print the example config: every key, its default, and what it does."),
    "exposure": LazyCommand(
        "dlpd.cli.exposure", "exposure",
        "Labelled files and directories that users outside the label's readers can read."),
    "label": LazyCommand(
        "dlpd.cli.labels", "label",
        "Label datasets as controlled, and see what carries which label and why."),
    "rules": LazyCommand("dlpd.cli.rules", "rules", "Check and try the signatures."),
    "run": LazyCommand("dlpd.cli.daemon", "run",
                       "Watch the configured trees and raise alerts (foreground; for systemd)."),
    "scan": LazyCommand("dlpd.cli.scan", "scan",
                        "Classify the files under PATHS and record the results."),
    "status": LazyCommand(
        "dlpd.cli.daemon", "status",
        "Is the daemon running, what is it watching, what is queued, what is open."),
}


class LazyGroup(click.Group):
    """A group whose commands are imported by name, when one is run or asked for help."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        command = getattr(importlib.import_module(entry.module), entry.attr)
        assert isinstance(command, click.Command), f"{entry.module}.{entry.attr}"
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click's own version loads every command for its one-line help; a bare Command
        # holding the summary shortens it exactly as the real one would.
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, click.Command(name, help=COMMANDS[name].summary).get_short_help_str(limit))
                for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def main() -> None:
    """The console entry point: the CLI, with nothing escaping as a traceback."""
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # `dlpd scan --format jsonl | head`: the reader left; that is not an error of ours.
        sys.stderr.close()
        sys.exit(ExitCode.CLEAN)
    except Exception as exc:
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            raise
        fail(f"internal error: {type(exc).__name__}: {exc} "
             "(run with --log-level debug for the traceback)")


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dlpd")
@click.option("--log-level", default=None,
              type=click.Choice(["debug", "info", "warning", "error"]),
              help="Default: warning; info for `dlpd run`.")
@click.pass_context
def cli(ctx: click.Context, log_level: str | None) -> None:
    """dlpd: find controlled and personal data in research data trees."""
    ctx.meta["dlpd.log_level"] = log_level
    configure_logging(log_level or "warning", deferred=True)
