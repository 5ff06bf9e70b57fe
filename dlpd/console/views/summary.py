"""The summary page: open alerts by label and severity, alerts raised per day, the paths
with the most open alerts and how many alerts are in each status; each as an SVG chart
(charts.py) with the same numbers as a table beside it."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from dlpd.console import charts
from dlpd.console.pages import engine_of, now, render, requires
from dlpd.console.views.params import Query, url
from dlpd.model import Role, Severity
from dlpd.store.alert_pages import summary
from dlpd.store.db import transaction

DEFAULT_DAYS = 30
MOST_DAYS = 366
DAY = 86400.0


@dataclass(frozen=True, slots=True)
class LabelLine:
    """One label's open alerts by severity (most severe first), with its total and the
    link to that list."""

    label: str
    counts: tuple[int, ...]
    total: int
    link: str


def _by_label(rows: tuple[tuple[str, str, int], ...],
              severities: tuple[str, ...]) -> list[LabelLine]:
    table: dict[str, dict[str, int]] = {}
    for label, severity, n in rows:
        table.setdefault(label, {})[severity] = n
    lines = [LabelLine(label, tuple(counts.get(s, 0) for s in severities),
                       sum(counts.values()),
                       url("/alerts", {"status": "open", "label": label}))
             for label, counts in table.items()]
    lines.sort(key=lambda line: (-line.total, line.label))
    return lines


@requires(Role.VIEWER)
def summary_page(request: Request) -> Response:
    days = Query(request).days(DEFAULT_DAYS, MOST_DAYS)
    at = now()
    with transaction(engine_of(request)) as conn:
        found = summary(conn, since=at - days * DAY, now=at)
    severities = tuple(str(s) for s in sorted(Severity, reverse=True))
    labels = _by_label(found.open_by_label, severities)
    top = [(path, n, url("/alerts", {"status": "open", "path": path}))
           for path, n in found.top_paths]
    statuses = [(status, n, url("/alerts", {"status": status}))
                for status, n in found.by_status]
    return render(
        request, "summary.html", days=days, labels=labels, severities=severities,
        per_day=found.per_day, top=top, statuses=statuses,
        label_chart=charts.stacked_chart(
            [(line.label, dict(zip(severities, line.counts, strict=True))) for line in labels],
            severities, title="Open alerts by label and severity", chart_id="by-label"),
        day_chart=charts.day_histogram(
            [(d.day, d.alerts) for d in found.per_day],
            title=f"Alerts raised per day, last {days} days", chart_id="per-day"),
        path_chart=charts.bar_chart([(path, n) for path, n, _ in top],
                                    title="Paths with the most open alerts",
                                    chart_id="top-paths"),
        status_chart=charts.bar_chart([(s, n) for s, n, _ in statuses],
                                      title="Alerts by status", chart_id="by-status"))


routes: list[BaseRoute] = [Route("/summary", summary_page, methods=["GET"])]
