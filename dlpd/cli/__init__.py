"""The command line: parse, call one library function, render.

Commands are grouped by who runs them: `scan` (anyone scanning a tree), `daemon` (lab IT:
run, status, check-config, example-config), `alerts` (security teams: alerts, access),
`labels` (researchers: label set|remove|show|list|history) and `rules` (whoever writes
signatures). This module builds the group and adds them last.
"""

from __future__ import annotations

import logging
import sys

import click

from dlpd import __version__
from dlpd.cli.alerts import access, alerts
from dlpd.cli.common import ExitCode, configure_logging, fail
from dlpd.cli.daemon import check_config, example_config, run, status
from dlpd.cli.labels import label
from dlpd.cli.rules import rules
from dlpd.cli.scan import scan


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dlpd")
@click.option("--log-level", default=None,
              type=click.Choice(["debug", "info", "warning", "error"]),
              help="Default: warning; info for `dlpd run`.")
@click.pass_context
def cli(ctx: click.Context, log_level: str | None) -> None:
    """dlpd: find controlled and personal data in research data trees."""
    ctx.meta["dlpd.log_level"] = log_level
    configure_logging(log_level or "warning")


for _command in (scan, check_config, example_config, run, status, alerts, access, label,
                 rules):
    cli.add_command(_command)
