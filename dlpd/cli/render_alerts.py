"""Rendering alerts, the access log and the daemon's status for people and machines.

Paths, notes, reasons, process names and sink errors are data someone else chose: every
one goes through ``visible`` before it is shown, and rich never parses it as markup.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from typing import IO, Any

from dlpd.model import Actor, Alert, AlertDetails, Origin
from dlpd.store.access import AccessRecord, TopActor
from dlpd.store.alerts import FalsePositive
from dlpd.textsafe import json_text, visible


def when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def ago(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.1f}s"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], out: IO[str]) -> None:
    """A rich table on a terminal; tab-separated lines with a header otherwise.

    Cells are escaped here (``visible``: no tab, newline or ESC survives), so one row is
    one line, and reach rich as ``Text``, never as markup.
    """
    cells = [[visible(c) for c in row] for row in rows]
    if out.isatty():
        from rich.console import Console  # noqa: PLC0415 - machine formats never load rich
        from rich.table import Table  # noqa: PLC0415
        from rich.text import Text  # noqa: PLC0415

        table = Table()
        for h in headers:
            table.add_column(h, overflow="fold")
        for row in cells:
            table.add_row(*(Text(c) for c in row))
        Console(file=out, markup=False, emoji=False, highlight=False).print(table)
        return
    out.write("\t".join(headers) + "\n")
    for row in cells:
        out.write("\t".join(row) + "\n")


def dump(items: Sequence[Mapping[str, Any]], fmt: str, out: IO[str] | None = None) -> None:
    out = out or sys.stdout
    if fmt == "json":
        out.write(json_text(list(items), indent=2) + "\n")
    else:
        for item in items:
            out.write(json_text(item) + "\n")


def alerts_table(alerts: Sequence[Alert], out: IO[str] | None = None) -> None:
    # The host after the path (a fleet's alerts share one store; scripts reading the
    # path by position keep it where it was).
    rows = [(str(a.id), when(a.created), str(a.severity), a.status.value, a.label, a.path,
             a.host, a.provenance or "-") for a in alerts]
    _table(("id", "created", "severity", "status", "label", "path", "host", "provenance"),
           rows, out or sys.stdout)


def _joined(items: Sequence[str]) -> str:
    return ", ".join(visible(i) for i in items) or "-"


def _owner(name: str | None, number: int | None, kind: str) -> str:
    if number is None:
        return f"{kind} unknown"
    return f"{visible(name)} ({kind} {number})" if name else f"{kind} {number} (no name)"


def _file_lines(details: AlertDetails | None) -> list[str]:
    """What the scan knew of the file when the alert was raised."""
    if details is None:
        return ["  file:        not recorded (raised before dlpd kept file details)"]
    lines = [
        f"  file:        {details.size} bytes, modified {when(details.mtime)}, "
        f"type {visible(details.mime) if details.mime else '-'}",
        f"  owner:       {_owner(details.owner, details.uid, 'uid')}, "
        f"group {_owner(details.group, details.gid, 'gid')}",
        "  detections:" + ("" if details.detections else "  none recorded"),
    ]
    for d in details.detections:
        member = f"  in {visible(d.member)}" if d.member else ""
        lines.append(f"    {visible(d.rule)}  {visible(d.category)}  confidence "
                     f"{d.confidence}  count {d.count}{member}")
        if d.previews:
            lines.append(f"      previews: {_joined(d.previews)}")
    return lines


def _decision_lines(decisions: Sequence[FalsePositive]) -> list[str]:
    lines = []
    for fp in decisions:
        lifted = (f"; lifted {when(fp.lifted)} by {visible(fp.lifted_by or '-')}"
                  if fp.lifted is not None else "; standing")
        lines.append(f"  false positive #{fp.id}: {when(fp.created)} by {visible(fp.author)} "
                     f"on alert {fp.alert_id}: {visible(fp.note)}{lifted}")
    return lines


def alert_details(alert: Alert, out: IO[str] | None = None,
                  decisions: Sequence[FalsePositive] = ()) -> None:
    """One alert for people; ``decisions``: the false-positive decisions on its content
    and label."""
    out = out or sys.stdout
    # Prose of ours quoting display forms (already escaped): escape, do not double.
    provenance = visible(alert.provenance, keep_backslash=True) if alert.provenance else "-"
    lines = [
        f"alert {alert.id}  [{alert.status.value}]  severity {alert.severity}  "
        f"kind {alert.kind.value}",
        f"  path:        {visible(alert.path)}",
        f"  sha256:      {visible(alert.sha256)}",
        f"  label:       {visible(alert.label)}   (file labels: {_joined(alert.labels)})",
        f"  categories:  {_joined(alert.categories)}",
        f"  rules:       {_joined(alert.rules)}",
        f"  reason:      {visible(alert.reason)}",
        f"  provenance:  {provenance}",
        f"  host:        {visible(alert.host)}",
        f"  created:     {when(alert.created)}   updated: {when(alert.updated)}",
        *_origin_lines(alert.details.origin if alert.details else None),
        *_actor_lines(alert.details.actor if alert.details else None),
        *_file_lines(alert.details),
        *_decision_lines(decisions),
    ]
    if alert.notes:
        lines.append("  notes:")
        for n in alert.notes:
            status = f" -> {n.status.value}" if n.status else ""
            lines.append(f"    {when(n.time)}  {visible(n.author)}{status}: {visible(n.text)}")
    out.write("\n".join(lines) + "\n")


def _actor_lines(actor: Actor | None) -> list[str]:
    """Who did what the alert is about (fanotify): the process, its user, its command."""
    if actor is None:
        return []
    lines = [f"  actor:       {visible(actor_text(actor))}"]
    if actor.exe:
        lines.append(f"  executable:  {visible(actor.exe)}")
    if actor.cmdline:
        lines.append(f"  command:     {visible(actor.cmdline)}")
    if actor.ppid is not None:
        lines.append(f"  parent pid:  {actor.ppid}")
    return lines


def _origin_lines(origin: Origin | None) -> list[str]:
    """Where the label came from when no detection gave it: the fields behind the
    provenance sentence."""
    if origin is None:
        return []
    parts = [visible(origin.kind)]
    if origin.source_path:
        host = f"{visible(origin.source_host)}:" if origin.source_host else ""
        parts.append(f"source {host}{visible(origin.source_path)}")
    if origin.share is not None:
        parts.append(f"share {origin.share:.0%}")
    if origin.rows is not None:
        parts.append(f"rows {origin.rows}")
    if origin.set_by:
        parts.append(f"set by {visible(origin.set_by)}"
                     + (f" on {when(origin.set_at)}" if origin.set_at else ""))
    return [f"  origin:      {'; '.join(parts)}"]


def actor_text(actor: Actor | None) -> str:
    """``alice (uid 1001) cp [pid 4242]``; "-" when the backend could not tell."""
    if actor is None:
        return "-"
    who = (f"{actor.user} (uid {actor.uid})" if actor.user is not None
           else f"uid {actor.uid}" if actor.uid is not None else "unknown")
    return f"{who} {actor.program or '?'} [pid {actor.pid}]"


def access_table(records: Sequence[AccessRecord], out: IO[str] | None = None) -> None:
    rows = []
    for r in records:
        path = r.path if not r.src_path else f"{r.path} (from {r.src_path})"
        rows.append((when(r.first), when(r.last), r.host or "-", r.kind, str(r.count), path,
                     ", ".join(r.labels), actor_text(r.actor)))
    _table(("first", "last", "host", "kind", "count", "path", "labels", "actor"), rows,
           out or sys.stdout)


def top_table(records: Sequence[TopActor], out: IO[str] | None = None) -> None:
    rows = [(r.user if r.user is not None else "-", "-" if r.uid is None else str(r.uid),
             r.process or "?", str(r.events), str(r.files), when(r.last)) for r in records]
    _table(("user", "uid", "program", "events", "files", "last"), rows, out or sys.stdout)


def _watched(count: int, backend: str) -> str:
    """inotify and watchdog watch directories; fanotify marks the roots' file systems."""
    if backend == "fanotify":
        return f"fanotify, {count} {'root' if count == 1 else 'roots'} under a file-system mark"
    return f"{count} {'directory' if count == 1 else 'directories'}, {backend}"


def status_text(status: Mapping[str, Any], out: IO[str] | None = None) -> None:
    """``status`` is `dlpd status`'s report; its ``daemon`` is the daemon's status file
    (``DaemonStatus`` or its JSON)."""
    from dlpd.daemon.status import DaemonStatus  # noqa: PLC0415 - `dlpd scan` skips it

    out = out or sys.stdout
    lines = [f"dlpd: {status['state']}"]
    raw = status.get("daemon")
    daemon = (raw if isinstance(raw, DaemonStatus)
              else DaemonStatus.from_json(raw) if isinstance(raw, Mapping) else None)
    if daemon is not None:
        lines += [
            f"  pid {daemon.pid}, version {daemon.version}, up {ago(status['uptime'])}, "
            f"status updated {ago(status['status_age'])} ago",
            f"  host: {visible(daemon.host or '?')}",
            f"  watching: {', '.join(daemon.roots)} "
            f"({_watched(daemon.watched_dirs, daemon.backend)})",
        ]
        if daemon.unwatched:
            lines.append(f"  NOT watched (crawled only): {', '.join(daemon.unwatched)}")
        lines.append(f"  queue: {daemon.queue_depth} files, oldest waiting "
                     f"{ago(daemon.oldest_queued_age)}; {daemon.in_flight} being scanned")
        last = daemon.last_full_crawl
        crawl = ("running" if daemon.crawl_running_since else "idle")
        lines.append(
            f"  reconciliation: {crawl}; last full crawl "
            + (f"{when(last.finished)} ({last.files} files, {last.read} read, "
               f"reason {last.reason})" if last else "not finished yet"))
        lines.append(f"  events {daemon.events}, overflows {daemon.overflows}, "
                     f"files scanned {daemon.scanned}")
    counts = status.get("open_alerts", {})
    lines.append("  open alerts: " + (", ".join(f"{n} {sev}" for sev, n in counts.items())
                                      if counts else "none"))
    backlogs = status.get("sinks", {})
    for name, b in backlogs.items():
        err = f", last error: {b['last_error']}" if b.get("last_error") else ""
        lines.append(f"  sink {name}: {b['pending']} pending"
                     + (f" (oldest {ago(b['oldest_age'])})" if b.get("oldest_age") else "")
                     + err)
    # Each line is built on one line; roots, sink names and errors are data: escape it all.
    out.write("\n".join(visible(line) for line in lines) + "\n")
