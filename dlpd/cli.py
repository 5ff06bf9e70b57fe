"""The command line: parse, call one library function, render. Exit codes as clamscan:
0 nothing found, 1 something sensitive found, 2 error."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from importlib.resources import files
from pathlib import Path
from typing import Any

import click

from dlpd import __version__
from dlpd.cli_common import (
    EXIT_CLEAN,
    EXIT_FOUND,
    config_option,
    configure_logging,
)
from dlpd.cli_common import errors as _errors
from dlpd.cli_common import fail as _fail
from dlpd.cli_common import settings_or_exit as _settings
from dlpd.config import database_url
from dlpd.model import FileResult
from dlpd.render import jsonl_line, render_table, result_json, results_document, summary_json
from dlpd.scan.runner import ScanOptions, run_scan
from dlpd.textsafe import redact_url, visible
from dlpd.wiring import (
    build_classifier,
    build_engine,
    build_pathfilter,
    build_ruleset,
    default_jobs,
)


def main() -> None:
    """The console entry point: the CLI, with nothing escaping as a traceback."""
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        # `dlpd scan --format jsonl | head`: the reader left; that is not an error of ours.
        sys.stderr.close()
        sys.exit(EXIT_CLEAN)
    except Exception as exc:
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} "
              "(run with --log-level debug for the traceback)")


def _scan_log() -> Any:
    """The structured logger, or None when nothing at info or below would be written."""
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        return None
    import structlog  # noqa: PLC0415

    return structlog.get_logger("dlpd.scan")


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


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@config_option
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl"]), default="table",
              show_default=True)
@click.option("--no-cache", is_flag=True, help="Re-read every file, even if unchanged.")
@click.option("--jobs", type=click.IntRange(1, 256), help="Parallel scanner threads.")
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Skip paths matching GLOB (repeatable; added to [scan] exclude).")
def scan(paths: tuple[Path, ...], config_path: Path | None, fmt: str, no_cache: bool,
         jobs: int | None, exclude: tuple[str, ...]) -> None:
    """Classify the files under PATHS and record the results."""
    settings = _settings(config_path)
    with _errors():
        classifier = build_classifier(settings)
        engine = build_engine(settings)
        pathfilter = build_pathfilter(settings, exclude)
    roots = [str(p.absolute()) for p in paths]
    options = ScanOptions(jobs=jobs or default_jobs(settings), use_cache=not no_cache,
                          cross_devices=settings.scan.cross_devices)
    log = _scan_log()
    results: list[FileResult] = []
    found = False

    def log_result(result: FileResult) -> None:
        if log is None:
            return
        # The canonical per-file line: paths, outcome, categories; never content.
        log.debug("file", path=result_json(result)["path"], outcome=result.outcome.value,
                  categories=list(result.categories), cached=result.cached,
                  reason=result.reason)

    def on_result(result: FileResult) -> None:
        nonlocal found
        found = found or bool(result.detections)
        log_result(result)
        if fmt == "jsonl":
            sys.stdout.write(jsonl_line(result) + "\n")
        elif fmt == "json" or result.detections or result.outcome.value != "ok":
            results.append(result)

    with _errors():
        sink = _progress(on_result) if fmt == "table" and sys.stdout.isatty() else (
            nullcontext(on_result))
        with sink as handler:
            summary = run_scan(roots, classifier, engine, pathfilter, options, handler)
    if fmt == "json":
        sys.stdout.write(results_document(results, summary) + "\n")
    elif fmt == "table":
        render_table(results, summary)
    if log is not None:
        log.info("scan finished", **summary_json(summary))
    sys.stdout.flush()
    sys.exit(EXIT_FOUND if found else EXIT_CLEAN)


@contextmanager
def _progress(
    on_result: Callable[[FileResult], None],
) -> Iterator[Callable[[FileResult], None]]:
    """``on_result`` that also advances a progress bar (terminals only)."""
    from rich.progress import (  # noqa: PLC0415 - only a terminal loads rich's progress bar
        BarColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(SpinnerColumn(), TextColumn("[bold]scanning"), BarColumn(bar_width=None),
                  TextColumn("{task.completed} files, {task.fields[found]} with findings"),
                  TimeElapsedColumn(), transient=True) as progress:
        task = progress.add_task("scan", total=None, found=0)
        found = 0

        def tick(result: FileResult) -> None:
            nonlocal found
            found += bool(result.detections)
            progress.update(task, advance=1, found=found)
            on_result(result)

        yield tick


@cli.command("check-config")
@config_option
def check_config(config_path: Path | None) -> None:
    """Validate a config file (and the rules it names) without scanning."""
    from dlpd.daemon.runtime import check_sinks  # noqa: PLC0415 - `dlpd scan` skips it

    settings = _settings(config_path)
    with _errors():  # every check before the first line: "OK" is said only when it is
        ruleset = build_ruleset(settings)
        check_sinks(settings)
    source = settings.source or "embedded defaults"
    click.echo(f"config OK: {source}")
    click.echo(f"  database: {redact_url(database_url(settings))}")
    click.echo(f"  rules: {len(ruleset.metas)} in {len(ruleset.files)} files "
               f"(version {ruleset.version})")
    click.echo(f"  minimum confidence: {settings.scan.min_confidence}")
    watch = settings.watch
    click.echo(f"  watch: {', '.join(watch.paths) or '(none: `dlpd run` needs watch.paths)'}"
               f"; backend {watch.backend}; crawl every {watch.reconcile_interval:g}s")
    for name, label in sorted(settings.labels.items()):
        places = ", ".join(label.approved) or "anywhere"
        click.echo(f"  label {name} ({label.severity}): {places}")
    for i, sink in enumerate(settings.sinks):
        click.echo(f"  sink {settings.sink_name(i)}: {sink.type}")


@cli.command("example-config")
def example_config() -> None:
    """Print the example config: every key, its default, and what it does."""
    click.echo((files("dlpd") / "data" / "dlpd.toml").read_text(encoding="utf-8"), nl=False)


# The daemon's commands (run, status, alerts, access) live in their own module.
from dlpd.cli_daemon import access, alerts, run, status  # noqa: E402

for _command in (run, status, alerts, access):
    cli.add_command(_command)


@cli.group()
def rules() -> None:
    """Check and try the signatures."""


@rules.command("check")
@config_option
def rules_check(config_path: Path | None) -> None:
    """Compile every rule strictly: syntax errors and slow rules are problems."""
    settings = _settings(config_path)
    with _errors():
        ruleset = build_ruleset(settings, strict=True)
    click.echo(f"{len(ruleset.metas)} rules in {len(ruleset.files)} files: OK")


@rules.command("test")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(path_type=Path, exists=True, dir_okay=False))
@config_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def rules_test(files: tuple[Path, ...], config_path: Path | None, fmt: str) -> None:
    """Show which rules match FILES after validation (nothing is stored)."""
    settings = _settings(config_path)
    with _errors():
        classifier = build_classifier(settings)
    found = False
    out = []
    for f in files:
        result = classifier.classify(str(f))
        found = found or bool(result.detections)
        out.append(result)
    if fmt == "json":
        sys.stdout.write(results_document(out, None) + "\n")
    else:
        for r in out:
            click.echo(f"{visible(r.path)}: {r.outcome.value}"
                       + (f" ({visible(r.reason)})" if r.reason else ""))
            for d in r.detections:
                where = f" in {visible(d.member)}" if d.member else ""
                click.echo(f"  {d.rule} [{d.category}] {d.confidence} x{d.count}{where}"
                           + (f"  {visible(', '.join(d.previews))}" if d.previews else ""))
            if not r.detections:
                click.echo("  no rule matched")
    sys.exit(EXIT_FOUND if found else EXIT_CLEAN)

