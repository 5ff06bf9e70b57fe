"""What every command shares: exit codes, the --config option, error handling, logging."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import Any, NoReturn

import click

from dlpd.config import Settings, load_settings
from dlpd.errors import DlpdError, SignatureError
from dlpd.textsafe import visible


class ExitCode(IntEnum):
    """Every exit status of every command, in one place.

    Scans answer as clamscan does (0 nothing found, 1 found, 2 error); `dlpd status` as
    LSB init scripts and `systemctl status` do (3 not running, 4 unknown); `dlpd run` with
    sysexits' EX_CONFIG (78), which the unit's RestartPreventExitStatus names.
    """

    CLEAN = 0
    FOUND = 1
    # `dlpd run` when the store cannot be opened: Restart=on-failure tries again, since the
    # store may come back (an alias of FOUND by number, a different promise by name).
    RETRY = 1
    ERROR = 2
    NOT_RUNNING = 3
    # LSB: "program or service status is unknown"; the status file is not ours to read.
    UNKNOWN = 4
    # `dlpd label set|remove`: the permission rule refused a path (nothing changed there;
    # the history records the refusal). Not ERROR: the request itself was fine.
    REFUSED = 5
    INTERRUPTED = 130
    CONFIG = 78


config_option = click.option(
    "--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
    help="TOML config file (default: embedded defaults).",
)


def fail(message: str) -> NoReturn:
    # Messages quote paths and file names: no control in one reaches the terminal.
    click.echo(f"dlpd: error: {visible(message, keep_backslash=True)}", err=True)
    sys.exit(ExitCode.ERROR)


def report(exc: DlpdError, *, as_log: bool = False) -> None:
    """One line on stderr per problem (a rule set can have several). ``as_log``: as a
    JSON log line (`dlpd run`, whose output is JSON from its first line to its last)."""
    if as_log:
        import structlog  # noqa: PLC0415

        problems = exc.problems if isinstance(exc, SignatureError) else (str(exc),)
        for problem in problems:
            structlog.get_logger("dlpd.daemon").error("cannot start", error=problem)
        return
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
        sys.exit(ExitCode.ERROR)


def settings_or_exit(config_path: Path | None) -> Settings:
    with errors():
        return load_settings(config_path)


def configure_logging(level: str) -> None:
    """Every log line on stderr is one JSON object: ``event``, ``level``, ``logger``,
    ``timestamp``, and ``exception`` (the traceback) for ``log.exception``.

    structlog is configured on every run, whatever the level: unconfigured, it prints to
    stdout, where ``--format jsonl`` writes. Its events and the standard library's records
    (alembic, watchdog, pypdf, ``warnings``) leave through one handler and one
    ``ProcessorFormatter``, so a log is JSON from its first line.
    """
    import structlog  # noqa: PLC0415 - kept out of `import dlpd.cli.common`

    threshold = getattr(logging, level.upper())
    stamped: list[Any] = [structlog.stdlib.add_logger_name, structlog.stdlib.add_log_level,
                          structlog.processors.TimeStamper(fmt="iso")]
    structlog.configure(
        processors=[*stamped, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.stdlib.LoggerFactory(),
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=stamped,
        # A traceback as text, never ``dict_tracebacks``' frame locals: a local may hold
        # the content being matched, which must not reach a log.
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer()],
    ))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(threshold)
    logging.captureWarnings(True)
    # Alembic announces each of its plugins at info on every migration: noise, not news.
    # Its "Running upgrade" lines (alembic.runtime.migration) stay.
    logging.getLogger("alembic.runtime.plugins").setLevel(max(threshold, logging.WARNING))
