"""`dlpd scan`: classify the files under the given paths, record, report."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import click

from dlpd.cli.common import ExitCode, config_option, errors, settings_or_exit
from dlpd.cli.render import jsonl_line, render_table, result_json, results_document, summary_json
from dlpd.model import FileResult
from dlpd.scan.runner import ScanOptions, run_scan
from dlpd.wiring import build_classifier, build_engine, build_pathfilter, default_jobs


def _scan_log() -> Any:
    """The structured logger, or None when nothing at info or below would be written."""
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        return None
    import structlog  # noqa: PLC0415

    return structlog.get_logger("dlpd.scan")


@click.command()
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
    settings = settings_or_exit(config_path)
    with errors():
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

    with errors():
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
    sys.exit(ExitCode.FOUND if found else ExitCode.CLEAN)


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
