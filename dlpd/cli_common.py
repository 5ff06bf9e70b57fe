"""What every command shares: exit codes, the --config option, error handling, logging."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click

from dlpd.config import Settings, load_settings
from dlpd.errors import DlpdError, SignatureError
from dlpd.textsafe import visible

EXIT_CLEAN, EXIT_FOUND, EXIT_ERROR = 0, 1, 2

config_option = click.option(
    "--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
    help="TOML config file (default: embedded defaults).",
)


def fail(message: str) -> NoReturn:
    # Messages quote paths and file names: no control in one reaches the terminal.
    click.echo(f"dlpd: error: {visible(message, keep_backslash=True)}", err=True)
    sys.exit(EXIT_ERROR)


def report(exc: DlpdError) -> None:
    """One line on stderr per problem (a rule set can have several)."""
    if isinstance(exc, SignatureError):
        for problem in exc.problems:
            click.echo(f"dlpd: rules: {visible(problem, keep_backslash=True)}", err=True)
    else:
        click.echo(f"dlpd: error: {visible(str(exc), keep_backslash=True)}", err=True)


@contextmanager
def errors() -> Iterator[None]:
    """Turn dlpd's errors into one line on stderr and exit 2: never a traceback."""
    try:
        yield
    except DlpdError as exc:
        report(exc)
        sys.exit(EXIT_ERROR)


def settings_or_exit(config_path: Path | None) -> Settings:
    with errors():
        return load_settings(config_path)


def configure_logging(level: str, *, always: bool = False) -> None:
    """stderr, one JSON object a line. ``always``: set up structlog even above info (the
    daemon logs warnings through it; a scan does not)."""
    logging.basicConfig(level=getattr(logging, level.upper()), stream=sys.stderr,
                        format="%(message)s", force=True)
    if not always and logging.getLogger().getEffectiveLevel() > logging.INFO:
        return  # the scan logs at info and debug only: skip structlog's ~40 ms import
    import structlog  # noqa: PLC0415

    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.TimeStamper("iso"),
                    structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


