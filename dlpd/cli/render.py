"""Rendering scan results for people (rich, on a terminal) and machines (JSON, JSONL).

Library code returns values; this module and the CLI are the only ones that write output.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from json.encoder import encode_basestring
from typing import IO, TYPE_CHECKING

from dlpd.model import FileResult, Outcome
from dlpd.scan.runner import ScanSummary, WalkProgress
from dlpd.textsafe import json_text, visible

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.measure import Measurement

# The layout of ``--format table`` when stdout is not a terminal: this header, then one
# tab-separated row per file with findings or problems; ``-`` for an empty field. Tabs and
# newlines in names are escaped (``visible``), so a row is always one line of 5 fields.
PLAIN_COLUMNS = ("path", "outcome", "labels", "categories", "reason")
ELLIPSIS = "\u2026"


def result_json(result: FileResult) -> dict[str, object]:
    # `path` is the display form; `path_b64` (when the name is not UTF-8) its exact bytes.
    return result.to_json()


def jsonl_line(result: FileResult) -> str:
    """One result as one JSON line: ``result_json`` through ``json_text``.

    A warm rescan prints one per unchanged file: a result without detections whose line
    is ASCII is written from a template (a fifth of the cost of building the dict and
    running the encoder); anything else takes the general path. The two agree byte for
    byte (a test holds them to it): same fields, order, escapes and separators."""
    if result.detections:
        return json_text(result_json(result))
    path = result.path
    if not path.isascii():  # the display form, path_b64, and json_text's own escapes
        return json_text(result_json(result))
    sha256, mime, reason = result.sha256, result.mime, result.reason
    line = _CACHED_LINE % (
        _string(path), result.size,
        "null" if sha256 is None else _string(sha256),
        "null" if mime is None else _string(mime),
        _OUTCOMES[result.outcome],
        "null" if reason is None else _string(reason),
        _strings(result.labels) if result.labels else "[]",
        "true" if result.cached else "false",
        _strings(result.xattr_labels) if result.xattr_labels else "[]")
    # Non-ASCII text may hold what json_text escapes (NEL, U+2028, lone surrogates).
    return line if line.isascii() else json_text(result_json(result))


# to_json's fields in its order, for a result without detections.
_CACHED_LINE = ('{"path":%s,"size":%d,"sha256":%s,"mime":%s,"outcome":%s,"reason":%s,'
                '"labels":%s,"categories":[],"detections":[],"cached":%s,'
                '"xattr_labels":%s}')
# json.dumps(ensure_ascii=False) writes a string with this very function.
_string = encode_basestring
_OUTCOMES = {o: _string(o.value) for o in Outcome}


def _strings(texts: tuple[str, ...]) -> str:
    return "[" + ",".join(map(_string, texts)) + "]"


def results_document(results: Sequence[FileResult], summary: ScanSummary | None) -> str:
    """``--format json``: the results (and the summary, for a scan) as one JSON document."""
    files = [result_json(r) for r in results]
    if summary is None:
        return json_text(files, indent=2)
    return json_text({"files": files, "summary": summary_json(summary)}, indent=2)


def summary_json(summary: ScanSummary) -> dict[str, object]:
    return {
        "files": summary.files,
        "read": summary.read,
        "cached": summary.cached,
        "with_findings": summary.found,
        "errors": summary.errors,
        "skipped": summary.skipped,
        "limit_exceeded": summary.limited,
        "unstable": summary.unstable,
        "forgotten": summary.forgotten,
        "bytes_read": summary.bytes_read,
        "seconds": round(summary.elapsed, 3),
        # Stopped by Ctrl-C or SIGTERM: what was read is recorded; a re-run continues.
        "interrupted": summary.cancelled,
    }


def summary_line(summary: ScanSummary) -> str:
    mb = summary.bytes_read / 1e6
    secs = max(summary.elapsed, 1e-9)
    gone = (f", {summary.forgotten} gone since the last scan (forgotten)"
            if summary.forgotten else "")
    return (
        f"{summary.files} files ({summary.read} read, {summary.cached} unchanged), "
        f"{summary.found} with findings, {summary.errors} errors, {summary.skipped} skipped, "
        f"{summary.limited} over a limit{gone}; {mb:.1f} MB in {summary.elapsed:.1f}s "
        f"({mb / secs:.1f} MB/s)"
    )


def interrupted_line(summary: ScanSummary) -> str:
    """What an interrupted scan left behind, and how to go on: the store answers every
    recorded file that is unchanged, so the same command again reads only the rest."""
    return (f"interrupted after {summary.files} files, their results recorded; the same "
            "command again continues where this one stopped (recorded files that have not "
            "changed are not read again)")


def progress_line(files: int, bytes_read: int, elapsed: float, walked: WalkProgress,
                  sizes_done: int) -> str:
    """The progress display's text: files and MB so far and per second; once the walk has
    listed everything, the total and an ETA.

    ``bytes_read`` is what was read (cached files cost no read), ``sizes_done`` the sizes
    of the files done, to set against the walk's sizes. The ETA is the larger of the
    estimates by files and by bytes: many small files cost per file, large ones per byte.
    """
    secs = max(elapsed, 1e-9)
    mb = bytes_read / 1e6
    rate = f"{files / secs:,.0f} files/s, {mb / secs:.1f} MB/s"
    if not walked.done or walked.files == 0:
        return f"{files:,} files, {mb:,.1f} MB; {rate}"
    left = max(0.0, (walked.files - files) / max(files, 1),
               (walked.bytes - sizes_done) / max(sizes_done, 1) if walked.bytes else 0.0)
    eta = _clock(elapsed * left) if files else "?"
    return (f"{files:,} of {walked.files:,} files, {mb:,.1f} MB; {rate}; "
            f"ETA {eta}")


def _clock(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def shorten_left(shown: str, width: int, cells: Callable[[str], int] = len) -> str:
    """``shown`` (a display path) in ``width`` cells, shortened from the left with ``…``:
    the file name stays whole, with as many of its directories as fit. A name longer
    than ``width`` is returned whole (``…/name``): a path is never cut inside a name."""
    if cells(shown) <= width:
        return shown
    head, sep, kept = shown.rpartition("/")
    if not sep:
        return shown
    for part in reversed(head.split("/")):
        if cells(f"{ELLIPSIS}/{part}/{kept}") > width:
            break
        kept = f"{part}/{kept}"
    return f"{ELLIPSIS}/{kept}"


class _PathCell:
    """A table cell that shortens its path from the left to the width rich gives it."""

    def __init__(self, shown: str) -> None:
        self.shown = shown

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        from rich.cells import cell_len  # noqa: PLC0415
        from rich.measure import Measurement  # noqa: PLC0415

        name = self.shown.rpartition("/")[2]
        whole = cell_len(self.shown)
        return Measurement(min(whole, cell_len(f"{ELLIPSIS}/{name}")), whole)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.cells import cell_len  # noqa: PLC0415
        from rich.text import Text  # noqa: PLC0415

        # Folded only when one name is wider than the whole column.
        yield Text(shorten_left(self.shown, options.max_width, cell_len), overflow="fold")


def _findings_cell(result: FileResult) -> str:
    """One line per finding: the only newlines in the cell are these."""
    parts = []
    for d in result.detections:
        where = f" in {d.member}" if d.member else ""
        parts.append(visible(f"{d.category} ({d.rule}, {d.confidence}, x{d.count}){where}"))
    return "\n".join(parts)


def _outcome(result: FileResult) -> str:
    return visible(result.outcome.value + (f": {result.reason}" if result.reason else ""))


def render_table(
    results: Sequence[FileResult], summary: ScanSummary, out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> None:
    """Files with findings or problems, then the summary line.

    On a terminal: a rich table (paths shortened from the left, never cut inside a name)
    and the summary below it. Otherwise ``PLAIN_COLUMNS`` as a header and tab-separated
    rows for ``cut``/``awk``, and the summary on ``err`` so that the data stays parseable.
    Every cell is data: escaped by ``visible`` (one line, no control reaches the terminal)
    and handed to rich as ``Text``, never parsed as markup, emoji codes or links.
    """
    out = out or sys.stdout
    notable = [r for r in results
               if r.detections or r.labels or r.outcome.value in ("error", "limit_exceeded")]
    if not out.isatty():
        out.writelines(_plain_rows(notable))
        (err or sys.stderr).writelines(f"{line}\n" for line in _summary_lines(summary))
        return
    # rich costs ~25 ms to import: machine formats and pipes never load it.
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    console = Console(file=out, markup=False, emoji=False, highlight=False)
    if notable:
        rows = [(visible(r.path), visible(", ".join(r.labels)), _findings_cell(r), _outcome(r))
                for r in notable]
        table = Table(show_lines=False)
        # Not folded by rich: the cell shortens itself from the left (see _file_width).
        table.add_column("file", no_wrap=True, max_width=_file_width(rows, console.width))
        table.add_column("labels", overflow="fold")
        table.add_column("findings", overflow="fold")
        table.add_column("outcome")
        for path, labels, findings, outcome in rows:
            table.add_row(_PathCell(path), Text(labels), Text(findings), Text(outcome))
        console.print(table)
    for line in _summary_lines(summary):
        console.print(Text(line))


def _summary_lines(summary: ScanSummary) -> list[str]:
    return [summary_line(summary), *([interrupted_line(summary)] if summary.cancelled else [])]


# A 4-column rich table: 5 borders and a space either side of each cell.
_TABLE_FRAME = 5 + 4 * 2


def _file_width(rows: Sequence[tuple[str, str, str, str]], width: int) -> int:
    """The file column's width: what the other columns leave, but at least the widest
    ``…/name`` (up to half the terminal), so that names stay whole and the other columns
    wrap instead."""
    from rich.cells import cell_len  # noqa: PLC0415

    def widest(cells: Sequence[str], header: str) -> int:
        return max(cell_len(line) for cell in (header, *cells) for line in cell.split("\n"))

    others = sum(widest([row[i] for row in rows], header)
                 for i, header in ((1, "labels"), (2, "findings"), (3, "outcome")))
    names = max(cell_len(f"{ELLIPSIS}/{row[0].rpartition('/')[2]}") for row in rows)
    return max(width - others - _TABLE_FRAME, min(names, width // 2), len("file"))


def _plain_rows(notable: Sequence[FileResult]) -> Iterator[str]:
    yield "\t".join(PLAIN_COLUMNS) + "\n"
    for r in notable:
        fields = (r.path, r.outcome.value, ",".join(r.labels), ",".join(r.categories),
                  r.reason or "")
        yield "\t".join(visible(f) or "-" for f in fields) + "\n"
