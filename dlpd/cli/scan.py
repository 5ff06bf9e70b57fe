"""`dlpd scan`: classify the files under the given paths, record, report."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from pathlib import Path
from types import FrameType
from typing import Any

import click

from dlpd.cli.common import (
    ExitCode,
    config_option,
    errors,
    settings_or_exit,
    structured_logger,
)
from dlpd.cli.render import (
    interrupted_line,
    jsonl_line,
    progress_line,
    render_table,
    result_json,
    results_document,
    summary_json,
)
from dlpd.config import host_name
from dlpd.model import FileResult
from dlpd.scan.pathfilter import PathFilter
from dlpd.scan.runner import ScanOptions, WalkProgress, count_walk, run_scan
from dlpd.textsafe import visible
from dlpd.wiring import (
    build_classifier,
    build_pathfilter,
    default_jobs,
    open_scan_store,
    scan_processes,
)


def _scan_log() -> Any:
    """The structured logger, or None when nothing at info or below would be written."""
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        return None
    return structured_logger("dlpd.scan")


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@config_option
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl"]), default="table",
              show_default=True)
@click.option("--no-cache", is_flag=True, help="Re-read every file, even if unchanged.")
@click.option("--jobs", type=click.IntRange(1, 256),
              help="Files read at once (worker processes, or threads: [scan] workers).")
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Skip paths matching GLOB (repeatable; added to [scan] exclude).")
def scan(paths: tuple[Path, ...], config_path: Path | None, fmt: str, no_cache: bool,
         jobs: int | None, exclude: tuple[str, ...]) -> None:
    """Classify the files under PATHS and record the results."""
    settings = settings_or_exit(config_path)
    with errors():
        # Labels set by people and the fingerprint index: resolved only when there are any.
        store, labelling = open_scan_store(settings)
        classifier = build_classifier(settings, prints=labelling.prints)
        pathfilter = build_pathfilter(settings, exclude)
    roots = [str(p.absolute()) for p in paths]
    # Set by the first Ctrl-C or SIGTERM: what was read is recorded, and a re-run continues.
    cancel = threading.Event()
    jobs = jobs or default_jobs(settings)
    options = ScanOptions(host=host_name(settings), jobs=jobs, use_cache=not no_cache,
                          processes=scan_processes(settings, jobs),
                          shared_state=labelling.plan,
                          worker_memory=settings.scan.worker_memory,
                          cross_devices=settings.scan.cross_devices,
                          resolve=labelling.resolve, must_read=labelling.must_read,
                          cancel=cancel)
    log = _scan_log()
    results: list[FileResult] = []
    found = False

    def log_result(result: FileResult) -> None:
        assert log is not None
        # The canonical per-file line: paths, outcome, categories; never content.
        log.debug("file", path=result_json(result)["path"], outcome=result.outcome.value,
                  categories=list(result.categories), cached=result.cached,
                  reason=result.reason)

    write = sys.stdout.write
    jsonl = fmt == "jsonl"

    def on_result(result: FileResult) -> None:
        # Once a file: a warm rescan of a million files runs this a million times.
        nonlocal found
        if result.detections or result.labels:
            found = True
        if log is not None:
            log_result(result)
        if jsonl:
            write(jsonl_line(result) + "\n")
        elif fmt == "json" or result.detections or result.labels or result.outcome.value != "ok":
            results.append(result)

    # Until the results are out: a second signal while a large document is written aborts
    # as well, instead of landing in the default handler halfway through it.
    with _stopping_on_signal(cancel):
        with errors():
            sink = (_progress(on_result, _counted(roots, pathfilter, options))
                    if _shows_progress(fmt) else nullcontext(on_result))
            with sink as handler:
                summary = run_scan(roots, classifier, store, pathfilter, options, handler)
        if fmt == "json":
            sys.stdout.write(results_document(results, summary) + "\n")
        elif fmt == "table":
            render_table(results, summary)
        if summary.cancelled and fmt != "table":
            # stdout is JSON: the person who pressed Ctrl-C reads this on stderr.
            sys.stdout.flush()
            _echo_err(interrupted_line(summary))
        if log is not None:
            log.info("scan finished", **summary_json(summary))
        sys.stdout.flush()
    if summary.cancelled:
        sys.exit(ExitCode.INTERRUPTED)
    sys.exit(ExitCode.FOUND if found else ExitCode.CLEAN)


def _echo_err(message: str) -> None:
    click.echo(f"dlpd: {visible(message)}", err=True)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
STOPPING = "stopping: finishing the files in flight; press Ctrl-C again to abort"
ABORTED = "aborted: the files in flight were not recorded"


@contextmanager
def _stopping_on_signal(cancel: threading.Event) -> Iterator[None]:
    """While the scan runs, the first SIGINT or SIGTERM sets ``cancel``: the walk stops,
    the files in flight are finished and recorded, and the summary says so (a re-run
    answers what was recorded from the store). A second one, the person asking twice,
    aborts at once. The previous handlers are restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (and only it receives signals)
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if not cancel.is_set():
            cancel.set()
            _say(STOPPING)
            return
        _abort()

    # A signal ignored from the start stays ignored, as Python leaves SIGINT: a scan started
    # in the background by a script (`dlpd scan ... &`) is not stopped by a Ctrl-C meant
    # for the script's foreground.
    previous = {sig: signal.signal(sig, on_signal) for sig in _STOP_SIGNALS
                if signal.getsignal(sig) is not signal.SIG_IGN}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            # None: a handler not set from Python; the default is the closest there is.
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)


def _say(message: str) -> None:
    """One line on stderr from a signal handler: the main thread may have been inside a
    write to that stream (a re-entrant write raises), and a message is not worth dying for.
    Through ``sys.stderr``, not click: while the progress display runs, that is rich's
    proxy, which prints the line above the display instead of at the end of its line."""
    with suppress(RuntimeError, OSError, ValueError):
        sys.stderr.write(f"dlpd: {visible(message)}\n")
        sys.stderr.flush()


def _abort() -> None:
    """Exit now, without waiting for the readers: the results already written out are
    flushed, those held for the store's next batch are lost (the re-run reads them again).
    No unwinding: the thread pool's exit would wait for every batch in flight."""
    with suppress(RuntimeError, OSError, ValueError):
        sys.stdout.flush()
    # Straight to the descriptor: no stream lock; on a terminal, below the progress line,
    # and the cursor shown again (the progress display hid it and will not get to).
    below = "\x1b[?25h\n" if sys.stderr.isatty() else ""
    with suppress(OSError):
        os.write(2, f"{below}dlpd: {visible(ABORTED)}\n".encode())
    os._exit(ExitCode.INTERRUPTED)


def _shows_progress(fmt: str) -> bool:
    """Progress is drawn on stderr, for a person: only when stderr is a terminal, and not
    between JSON lines streaming to that same terminal. A redirected stdout never sees it."""
    return sys.stderr.isatty() and not (fmt == "jsonl" and sys.stdout.isatty())


@contextmanager
def _counted(roots: list[str], pathfilter: PathFilter,
             options: ScanOptions) -> Iterator[WalkProgress]:
    """A counting walk of ``roots`` in a thread of its own, for the progress display's
    total and ETA; stopped when the scan ends (a scan of a huge tree may end first)."""
    walked, stop = WalkProgress(), threading.Event()
    counter = threading.Thread(target=count_walk, name="dlpd-count", daemon=True,
                               args=(roots, pathfilter, options, walked, stop))
    counter.start()
    try:
        yield walked
    finally:
        stop.set()
        counter.join(timeout=1.0)


# rich redraws at most 10 times a second: recomputing the text more often is wasted.
_REDRAW = 0.1


@contextmanager
def _progress(
    on_result: Callable[[FileResult], None], counting: AbstractContextManager[WalkProgress],
) -> Iterator[Callable[[FileResult], None]]:
    """``on_result`` that also advances a progress bar on stderr: files and MB per second,
    and once the walk has listed everything, the total and an ETA."""
    from rich.console import Console  # noqa: PLC0415 - only a terminal loads rich's progress
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn  # noqa: PLC0415

    console = Console(stderr=True, markup=False, emoji=False, highlight=False)
    progress = Progress(SpinnerColumn(), TextColumn("scanning", style="bold"),
                        BarColumn(bar_width=None), TextColumn("{task.description}", markup=False),
                        # JSON lines written to a redirected stdout must stay there.
                        console=console, transient=True, redirect_stdout=False)
    with counting as walked, progress:
        task = progress.add_task("", total=None)
        started = time.monotonic()
        drawn = 0.0
        files = bytes_read = sizes = 0

        def draw(now: float) -> None:
            progress.update(task, completed=files, total=walked.files if walked.done else None,
                            description=progress_line(files, bytes_read, now - started,
                                                      walked, sizes))

        def tick(result: FileResult) -> None:
            nonlocal files, bytes_read, sizes, drawn
            files += 1
            bytes_read += 0 if result.cached else result.scanned_bytes
            sizes += result.size
            now = time.monotonic()
            if now - drawn >= _REDRAW:
                drawn = now
                draw(now)
            on_result(result)

        yield tick
        draw(time.monotonic())  # the last frame, drawn as the display closes, is exact
