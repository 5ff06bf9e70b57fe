"""What every command shares: exit codes, the --config option, error handling, logging."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from dlpd.errors import DlpdError, SignatureError
from dlpd.textsafe import visible

if TYPE_CHECKING:
    from dlpd.config import Settings
    from dlpd.store.db import Engine


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
    # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C: `dlpd scan` stopped by
    # SIGINT or SIGTERM (what it read is recorded; the same command again continues).
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
        problems = exc.problems if isinstance(exc, SignatureError) else (str(exc),)
        for problem in problems:
            structured_logger("dlpd.daemon").error("cannot start", error=problem)
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
    # Imported here: pydantic is most of `dlpd --help`'s start-up, and it reads no config.
    from dlpd.config import load_settings  # noqa: PLC0415

    with errors():
        return load_settings(config_path)


def when_option(_ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """A click callback: ``--since``/``--until`` as unix time (cli/when.py), or a usage
    error."""
    if value is None:
        return None
    from dlpd.cli.when import parse_when  # noqa: PLC0415 - only commands with --since

    try:
        return parse_when(value, time.time())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None


def existing_store(settings: Settings) -> Engine:
    """The existing store, for commands that read it (never created here: a missing
    SQLite file is a clear error, see store.db.open_engine)."""
    from dlpd.store.db import open_store  # noqa: PLC0415 - only commands that read it

    with errors():
        return open_store(settings, create=False)


def configure_logging(level: str, *, deferred: bool = False) -> None:
    """Every log line on stderr is one JSON object: ``event``, ``level``, ``logger``,
    ``timestamp``, and ``exception`` (the traceback) for ``log.exception``.

    structlog is configured on every run, whatever the level: unconfigured, it prints to
    stdout, where ``--format jsonl`` writes. Its events and the standard library's records
    (alembic, watchdog, ``warnings``) leave through one handler and one
    ``ProcessorFormatter``, so a log is JSON from its first line.

    ``deferred`` (the group, for every command): importing structlog costs more than a
    scan of a small tree (it loads asyncio and rich), and a scan at the default level logs
    nothing. So structlog is imported and configured only when it is needed: by the first
    standard-library record that reaches the handler, or by ``structured_logger``. The
    code that logs through structlog directly (the daemon, the watcher) is imported after
    `dlpd run` configures logging again, not deferred; if structlog is already imported,
    nothing is deferred.
    """
    threshold = getattr(logging, level.upper())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(threshold)
    logging.captureWarnings(True)
    # Alembic announces each of its plugins at info on every migration: noise, not news.
    # Its "Running upgrade" lines (alembic.runtime.migration) stay.
    logging.getLogger("alembic.runtime.plugins").setLevel(max(threshold, logging.WARNING))
    _STRUCTLOG.wanted = threshold
    if not deferred or "structlog" in sys.modules:
        _configure_structlog()


class _StructlogState:
    """structlog's configuration is per process: the level asked for by the last
    ``configure_logging``, and the one structlog was last configured with."""

    wanted: int | None = None
    configured: int | None = None


_STRUCTLOG = _StructlogState()


def structured_logger(name: str) -> Any:
    """structlog's logger ``name``, structlog configured first (see ``configure_logging``)."""
    _configure_structlog()
    import structlog  # noqa: PLC0415 - see configure_logging

    return structlog.get_logger(name)


def _stamped() -> list[Any]:
    import structlog  # noqa: PLC0415 - see configure_logging

    return [structlog.stdlib.add_logger_name, structlog.stdlib.add_log_level,
            structlog.processors.TimeStamper(fmt="iso")]


def _configure_structlog() -> None:
    level = _STRUCTLOG.wanted
    if level is None or level == _STRUCTLOG.configured:
        return
    import structlog  # noqa: PLC0415 - see configure_logging

    structlog.configure(
        processors=[*_stamped(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.stdlib.LoggerFactory(),
    )
    _STRUCTLOG.configured = level


class _JsonFormatter(logging.Formatter):
    """structlog's ``ProcessorFormatter``, built on the first record it formats."""

    def __init__(self) -> None:
        super().__init__()
        self._inner: logging.Formatter | None = None

    def format(self, record: logging.LogRecord) -> str:
        if self._inner is None:
            _configure_structlog()
            import structlog  # noqa: PLC0415 - see configure_logging

            self._inner = structlog.stdlib.ProcessorFormatter(
                foreign_pre_chain=_stamped(),
                # A traceback as text, never ``dict_tracebacks``' frame locals: a local
                # may hold the content being matched, which must not reach a log.
                processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                            structlog.processors.format_exc_info,
                            structlog.processors.JSONRenderer()],
            )
        return self._inner.format(record)
