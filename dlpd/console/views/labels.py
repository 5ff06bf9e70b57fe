"""Labelled datasets: the labels people set (and marker files declare), who set them and
when, and one path's whole story: its decisions, the labels it carries by content (copies
of and derivations from a labelled source) and its open exposure alerts."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from dlpd.config import host_name
from dlpd.console.pages import engine_of, render, requires, settings_of
from dlpd.console.views.params import Query, url
from dlpd.labelling.model import Assignment
from dlpd.model import AlertKind, AlertStatus, Role
from dlpd.store import labels as repo
from dlpd.store.alert_pages import AlertFilter, page
from dlpd.store.db import transaction

EXPOSURE_ROWS = 50


@dataclass(frozen=True, slots=True)
class AssignmentRow:
    """An assignment with the link to its path's history."""

    assignment: Assignment
    history_url: str


def _host(request: Request, query: Query) -> str:
    """The host whose labels are asked for: the one named, else this console's daemon
    host (a fleet's store holds several)."""
    return query.get("host") or host_name(settings_of(request))


def _history_url(host: str, path: str) -> str:
    return url("/labels/history", {"host": host, "path": path})


@requires(Role.VIEWER)
def label_list(request: Request) -> Response:
    query = Query(request)
    label, prefix, host = query.get("label"), query.get("path"), query.get("host")
    before = query.before()
    size = settings_of(request).console.page_size
    with transaction(engine_of(request)) as conn:
        found = repo.active_page(conn, host=host or None, label=label or None,
                                 path_prefix=prefix or None, before_id=before,
                                 limit=size + 1)
    rows = [AssignmentRow(a, _history_url(a.host, a.path)) for a in found[:size]]
    filters = {"label": label, "path": prefix, "host": host}
    older = (url("/labels", {**filters, "before": str(found[size - 1].id)})
             if len(found) > size else None)
    return render(request, "labels.html", rows=rows, label=label, path=prefix, host=host,
                  known_labels=sorted(settings_of(request).labels),
                  newest=url("/labels", filters) if before is not None else None,
                  older=older)


@requires(Role.VIEWER)
def label_history(request: Request) -> Response:
    query = Query(request)
    path = query.get("path")
    if not path.startswith("/"):
        return render(request, "error.html", status_code=400, title="No path",
                      message="A path (absolute) is required: /labels/history?path=/...")
    host = _host(request, query)
    with transaction(engine_of(request)) as conn:
        active = repo.active_for(conn, host, path)
        history = repo.history(conn, host, path)
        matches = repo.matches_for(conn, host, path)
        exposure = page(conn, AlertFilter(statuses=(str(AlertStatus.OPEN),),
                                          kinds=(str(AlertKind.EXPOSED),),
                                          hosts=(host,), path_prefix=path),
                        before_id=None, limit=EXPOSURE_ROWS)
    return render(request, "labels_history.html", host=host, path=path, active=active,
                  history=list(reversed(history)), matches=matches, exposure=exposure,
                  exposure_more=len(exposure) >= EXPOSURE_ROWS,
                  exposure_url=url("/alerts", {"status": "open", "kind": "exposed",
                                               "host": host, "path": path}),
                  history_url=_history_url)


routes: list[BaseRoute] = [
    Route("/labels", label_list, methods=["GET"]),
    Route("/labels/history", label_history, methods=["GET"]),
]
