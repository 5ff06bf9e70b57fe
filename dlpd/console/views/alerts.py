"""The alert pages: the filtered list (tabs with counts per status, keyset paging, bulk
triage of the selection or of everything matching), the detail page and its triage form.
Exports of the same list are ``views/alert_export.py``.

Triage goes through ``dlpd.review.triage`` (the CLI's path too): one note and one audit
row per alert changed, the sinks told. Closing without a reason is refused there, and
the form comes back with the error and nothing changed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from dlpd.console import filters
from dlpd.console.filters import AlertQuery
from dlpd.console.pages import (
    engine_of,
    form_of,
    now,
    redirect,
    render,
    requires,
    settings_of,
    user_of,
)
from dlpd.console.views.params import Query, url
from dlpd.errors import StoreError
from dlpd.model import Alert, AlertKind, Role
from dlpd.review import triage
from dlpd.review.triage import Action, ReasonRequired
from dlpd.store import alert_pages
from dlpd.store import alerts as alerts_repo
from dlpd.store.alert_pages import AlertRow
from dlpd.store.db import transaction
from dlpd.wiring import sink_routes

# How many pages back the "Newer" link can retrace (the cursors ride in the URL).
_TRAIL = 30
_ACTIONS: tuple[tuple[str, str], ...] = (
    (Action.ACK.value, "Acknowledge"), (Action.RESOLVE.value, "Resolve"),
    (Action.FALSE_POSITIVE.value, "False positive"), (Action.REOPEN.value, "Reopen"))
_DONE = {Action.ACK: "acknowledged", Action.RESOLVE: "resolved",
         Action.FALSE_POSITIVE: "marked false positive", Action.REOPEN: "reopened"}


@dataclass(frozen=True, slots=True)
class Tab:
    name: str
    count: str  # "250", or "10000+" when a status reached COUNT_CAP
    href: str
    current: bool


# Each status is counted up to here: an exact count of a million alerts under a broad
# filter costs a walk of the whole index on every page view; past it the page says "N+".
COUNT_CAP = 10_000


def _total(counts: dict[str, int], statuses: Sequence[str]) -> str:
    wanted = statuses or list(counts)
    total = sum(counts.get(s, 0) for s in wanted)
    return f"{total}+" if any(counts.get(s, 0) >= COUNT_CAP for s in wanted) else str(total)


def _tabs(q: AlertQuery, counts: dict[str, int]) -> list[Tab]:
    return [Tab(name, _total(counts, statuses), filters.link("/alerts", q, tab=name),
                name == q.tab)
            for name, statuses in filters.TABS]


def _trail(request: Request) -> list[str]:
    raw = Query(request).get("back")
    return [c for c in raw.split(".") if c.isdigit() and len(c) < 19][-_TRAIL:]


def _page_link(q: AlertQuery, before: int | None, trail: Sequence[str]) -> str:
    base = filters.params(q, before=before)
    return url("/alerts", {**base, "back": ".".join(trail) or None})


@requires(Role.VIEWER)
def alert_list(request: Request) -> Response:
    q = filters.alert_query(Query(request))
    select_all = Query(request).get("select") == "all"
    size = settings_of(request).console.page_size
    with transaction(engine_of(request)) as conn:
        rows = alert_pages.page(conn, q.filter, before_id=q.before, limit=size + 1)
        counts = alert_pages.count_by_status(conn, q.filter, limit=COUNT_CAP)
        newest = rows[:1] if q.before is None else alert_pages.page(
            conn, q.filter, before_id=None, limit=1)
    more, rows = len(rows) > size, rows[:size]
    trail = _trail(request)
    older = _page_link(q, rows[-1].id, [*trail, str(q.before or 0)]) if more else None
    newer = None
    if q.before is not None:
        back = int(trail[-1]) if trail else 0
        newer = _page_link(q, back or None, trail[:-1])
    matching = _total(counts, q.filter.statuses)
    max_id = q.filter.max_id or (newest[0].id if newest else None)
    return render(
        request, "alerts.html", q=q, rows=rows, tabs=_tabs(q, counts), matching=matching,
        older=older, newer=newer, select_all=select_all, max_id=max_id,
        bulk_filter=filters.bulk_filter(q, max_id), list_href=filters.link("/alerts", q),
        select_all_href=url("/alerts", {**filters.params(q), "select": "all",
                                        "max_id": str(max_id) if max_id else None}),
        csv_href=filters.link("/alerts.csv", q), json_href=filters.link("/alerts.json", q),
        actions=_ACTIONS, can_triage=user_of(request).role.allows(Role.ANALYST),
        severities=filters.SEVERITIES, kinds=filters.KINDS,
        labels_text=", ".join(q.filter.labels), hosts_text=", ".join(q.filter.hosts),
        row_href=_row_href)


def _row_href(row: AlertRow) -> str:
    return f"/alerts/{row.id}"


def _ids(values: Sequence[str]) -> list[int]:
    return list(dict.fromkeys(int(v) for v in values if v.isdigit() and len(v) < 19))


@requires(Role.ANALYST)
def bulk(request: Request) -> Response:
    form = form_of(request)
    q = filters.from_bulk(form.get("filter", ""))
    back = filters.link("/alerts", q)
    try:
        action = Action(form.get("action", ""))
    except ValueError:
        return redirect(back, flash="Choose an action.")
    reason = form.get("reason", "")
    author = user_of(request).name
    sinks = sink_routes(settings_of(request))
    chosen = _ids(form.getlist("id"))
    try:
        if form.get("scope") == "all":
            if q.filter.max_id is None:
                return redirect(back, flash="The selection is out of date: choose again.")
            # Deselected on the page: shown but not ticked.
            exclude = frozenset(_ids(form.getlist("shown"))) - frozenset(chosen)
            count = triage.apply_matching(engine_of(request), action, q.filter,
                                          exclude=exclude, author=author, reason=reason,
                                          now=now(), sinks=sinks)
        else:
            if not chosen:
                return redirect(back, flash="No alert selected: tick the rows to act on.")
            with transaction(engine_of(request)) as conn:
                outcome = triage.apply(conn, action, chosen, author=author, reason=reason,
                                       now=now(), sinks=sinks)
            count = len({a.id for a in outcome.changed})
    except ReasonRequired:
        return redirect(back, flash=f"Nothing changed: {action.value} needs a reason.")
    return redirect(back, flash=f"{count} alert{'s' if count != 1 else ''} {_DONE[action]}.")


def _detail(request: Request, alert_id: int, *, status_code: int = 200,
            error: str | None = None, action: str = "", reason: str = "") -> Response:
    with transaction(engine_of(request)) as conn:
        alert = alerts_repo.get(conn, alert_id)
        decisions = ([] if alert is None
                     else alerts_repo.decisions(conn, alert.sha256, alert.label))
    if alert is None:
        return render(request, "error.html", 404, title="Not found",
                      message=f"There is no alert {alert_id}.")
    return render(
        request, "alert.html", status_code, alert=alert, decisions=decisions,
        exposure=_exposure(alert), error=error, chosen_action=action, reason=reason,
        actions=_ACTIONS, can_triage=user_of(request).role.allows(Role.ANALYST),
        directory_href=url("/alerts", {"status": "all",
                                       "path": os.path.dirname(alert.path) or "/"}),
        same_label_href=url("/alerts", {"label": alert.label}),
        history_href=url("/labels/history", {"path": alert.path}),
        # The suppression form prefilled: this label, this directory, the one rule.
        suppress_href=url("/suppressions", {
            "label": alert.label, "path_prefix": os.path.dirname(alert.path) or "/",
            "rule": alert.rules[0] if len(alert.rules) == 1 else None}) + "#h-new")


def _exposure(alert: Alert) -> list[str]:
    """The reasons an ``exposed`` alert gives (who can read it, through what)."""
    if alert.kind is not AlertKind.EXPOSED:
        return []
    _, colon, reasons = alert.reason.partition(": ")
    return [r for r in reasons.split("; ") if r] if colon else [alert.reason]


@requires(Role.VIEWER)
def alert_detail(request: Request) -> Response:
    return _detail(request, int(request.path_params["alert_id"]))


@requires(Role.ANALYST)
def alert_triage(request: Request) -> Response:
    alert_id = int(request.path_params["alert_id"])
    form = form_of(request)
    reason = form.get("reason", "")
    try:
        action = Action(form.get("action", ""))
    except ValueError:
        return _detail(request, alert_id, status_code=422, error="Choose an action.",
                       reason=reason)
    try:
        with transaction(engine_of(request)) as conn:
            outcome = triage.apply(conn, action, [alert_id], author=user_of(request).name,
                                   reason=reason, now=now(),
                                   sinks=sink_routes(settings_of(request)))
    except ReasonRequired:
        return _detail(request, alert_id, status_code=422, action=action.value,
                       error=f"{action.value}: a reason is required to close an alert.")
    except StoreError as exc:
        return _detail(request, alert_id, status_code=503, action=action.value,
                       reason=reason, error=f"Nothing changed: {exc}")
    if outcome.missing:
        return render(request, "error.html", 404, title="Not found",
                      message=f"There is no alert {alert_id}.")
    others = len(outcome.changed) - 1
    flash = f"Alert {alert_id} {_DONE[action]}." + (
        f" {others} other alert{'s' if others != 1 else ''} on the same content and "
        "label changed with it." if others > 0 else "")
    return redirect(f"/alerts/{alert_id}", flash=flash)


def home(request: Request) -> Response:
    return redirect("/alerts")


routes: list[BaseRoute] = [
    Route("/", home, methods=["GET"]),
    Route("/alerts", alert_list, methods=["GET"]),
    Route("/alerts/bulk", bulk, methods=["POST"]),
    Route("/alerts/{alert_id:int}", alert_detail, methods=["GET"]),
    Route("/alerts/{alert_id:int}/triage", alert_triage, methods=["POST"]),
]
