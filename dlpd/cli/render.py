"""Rendering scan results for people (rich, on a terminal) and machines (JSON, JSONL).

Library code returns values; this module and the CLI are the only ones that write output.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import IO

from dlpd.model import FileResult
from dlpd.scan.runner import ScanSummary
from dlpd.textsafe import json_text, visible


def result_json(result: FileResult) -> dict[str, object]:
    # `path` is the display form; `path_b64` (when the name is not UTF-8) its exact bytes.
    return result.to_json()


def jsonl_line(result: FileResult) -> str:
    return json_text(result_json(result))


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
        "bytes_read": summary.bytes_read,
        "seconds": round(summary.elapsed, 3),
    }


def summary_line(summary: ScanSummary) -> str:
    mb = summary.bytes_read / 1e6
    secs = max(summary.elapsed, 1e-9)
    return (
        f"{summary.files} files ({summary.read} read, {summary.cached} unchanged), "
        f"{summary.found} with findings, {summary.errors} errors, {summary.skipped} skipped, "
        f"{summary.limited} over a limit; {mb:.1f} MB in {summary.elapsed:.1f}s "
        f"({mb / secs:.1f} MB/s)"
    )


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
    results: Sequence[FileResult], summary: ScanSummary, out: IO[str] | None = None
) -> None:
    """Files with findings or problems, then the summary line; plain when not a terminal.

    Every cell is data: escaped by ``visible`` (one line, no control reaches the terminal)
    and handed to rich as ``Text``, never parsed as markup, emoji codes or links.
    """
    # rich costs ~25 ms to import: machine formats never load it.
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    out = out or sys.stdout
    console = Console(file=out, markup=False, emoji=False, highlight=False,
                      soft_wrap=not out.isatty())
    notable = [r for r in results if r.detections or r.outcome.value in ("error", "limit_exceeded")]
    if console.is_terminal:
        if notable:
            table = Table(show_lines=False)
            table.add_column("file", overflow="fold")
            table.add_column("labels")
            table.add_column("findings", overflow="fold")
            table.add_column("outcome")
            for r in notable:
                table.add_row(Text(visible(r.path)), Text(visible(", ".join(r.labels))),
                              Text(_findings_cell(r)), Text(_outcome(r)))
            console.print(table)
        console.print(Text(summary_line(summary)))
        return
    for r in notable:
        cats = visible(",".join(r.categories)) or "-"
        labels = visible(",".join(r.labels)) or "-"
        reason = f"\t{visible(r.reason)}" if r.reason else ""
        out.write(f"{visible(r.path)}\t{r.outcome.value}\t{labels}\t{cats}{reason}\n")
    out.write(summary_line(summary) + "\n")
