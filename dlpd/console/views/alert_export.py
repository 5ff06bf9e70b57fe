"""``GET /alerts.csv`` and ``/alerts.json``: the alert list's filter, every matching row,
streamed. Each export is an audit row (who took which alerts out, with which filter)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import replace

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from dlpd.console import export, filters
from dlpd.console.pages import engine_of, now, requires, user_of
from dlpd.console.views.params import Query
from dlpd.model import Role, display_path
from dlpd.store import alert_pages, audit
from dlpd.store.alert_pages import AlertFilter, AlertRow
from dlpd.store.db import Engine, transaction

CHUNK = 1000
HEADER = ("id", "created", "updated", "host", "path", "label", "severity", "status", "kind",
          "reason", "rules", "categories", "provenance")


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")


def _cells(row: AlertRow) -> tuple[object, ...]:
    return (row.id, _iso(row.created), _iso(row.updated), row.host, display_path(row.path),
            row.label, str(row.severity), row.status.value, row.kind.value, row.reason,
            row.rules, row.categories, row.provenance)


def _rows(engine: Engine, wanted: AlertFilter) -> Iterator[AlertRow]:
    """Every matching row, one short transaction per chunk (no read transaction held
    across the whole download, so the daemon's writes are never held up by a slow
    client on SQLite)."""
    def fetch(before: int | None) -> Sequence[AlertRow]:
        with transaction(engine) as conn:
            return alert_pages.page(conn, wanted, before_id=before, limit=CHUNK)
    return export.chunked(fetch, lambda row: row.id)


def _export(request: Request, fmt: str) -> Response:
    q = filters.alert_query(Query(request))
    engine = engine_of(request)
    with transaction(engine) as conn:
        newest = alert_pages.page(conn, q.filter, before_id=None, limit=1)
        # Bounded now: what was there when the person asked, not what arrives meanwhile.
        wanted = q.filter if q.filter.max_id is not None or not newest else \
            replace(q.filter, max_id=newest[0].id)
        audit.append(conn, actor=user_of(request).name, action="export", target="alerts",
                     reason="", now=now(),
                     details={"format": fmt, "filter": filters.link("", q).lstrip("?")})
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    headers = {"content-disposition": export.content_disposition(f"dlpd-alerts-{stamp}.{fmt}")}
    if fmt == "csv":
        lines = export.csv_lines(HEADER, (_cells(r) for r in _rows(engine, wanted)))
        return StreamingResponse(lines, media_type="text/csv; charset=utf-8", headers=headers)
    records = export.json_lines(r.to_json() for r in _rows(engine, wanted))
    return StreamingResponse(records, media_type="application/x-ndjson; charset=utf-8",
                             headers=headers)


@requires(Role.VIEWER)
def alerts_csv(request: Request) -> Response:
    return _export(request, "csv")


@requires(Role.VIEWER)
def alerts_json(request: Request) -> Response:
    return _export(request, "json")


routes: list[BaseRoute] = [
    Route("/alerts.csv", alerts_csv, methods=["GET"]),
    Route("/alerts.json", alerts_json, methods=["GET"]),
]
