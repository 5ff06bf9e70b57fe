"""The alert list's filters as they live in a URL, and back: a filtered view is a link a
person can bookmark, share, reload, and that a bulk form carries as hidden fields.

Pure but for the request's query string (``params.Query`` decodes it byte-exactly, so a
path prefix that is not UTF-8 survives the round trip). Unknown values are dropped,
never passed on: a status or severity outside the enums matches nothing useful, and a
date that does not parse is reported back to the person instead of ignored silently.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

from starlette.requests import Request

from dlpd.console.views.params import Query, day_end, day_start, url
from dlpd.model import AlertKind, AlertStatus, Severity
from dlpd.store.alert_pages import AlertFilter

STATUSES: tuple[str, ...] = tuple(s.value for s in AlertStatus)
SEVERITIES: tuple[str, ...] = Severity.names()
KINDS: tuple[str, ...] = tuple(k.value for k in AlertKind)
# A tab: "active" is open and acknowledged, what a morning's review starts from.
TABS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("active", ("open", "acknowledged")),
    *((s, (s,)) for s in STATUSES),
    ("all", ()),
)
_MAX_VALUES = 50  # labels, hosts: more in one filter is not a person's filter


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """What the list page was asked: the filter, the tab, the page cursor, and the text
    of fields as typed (shown back in the form, with a problem when one did not parse)."""

    filter: AlertFilter
    tab: str
    before: int | None
    since_text: str = ""
    until_text: str = ""
    problems: tuple[str, ...] = ()


def alert_query(query: Query) -> AlertQuery:
    tab = query.get("status") or "active"
    statuses = dict(TABS).get(tab)
    if statuses is None:  # a single status or several, as the CLI spells them
        wanted = tuple(s for s in query.all("status") if s in STATUSES)
        statuses, tab = wanted, wanted[0] if len(wanted) == 1 else "all"
    problems = []
    since_text, until_text = query.get("since"), query.get("until")
    since = day_start(since_text) if since_text else None
    until = day_end(until_text) if until_text else None
    if since_text and since is None:
        problems.append(f"since: {since_text!r} is not a date (YYYY-MM-DD)")
    if until_text and until is None:
        problems.append(f"until: {until_text!r} is not a date (YYYY-MM-DD)")
    max_id = query.get("max_id")
    return AlertQuery(
        filter=AlertFilter(
            statuses=statuses,
            severities=tuple(s for s in query.all("severity") if s in SEVERITIES),
            labels=query.all("label")[:_MAX_VALUES],
            kinds=tuple(k for k in query.all("kind") if k in KINDS),
            hosts=query.all("host")[:_MAX_VALUES],
            path_prefix=_prefix(query.get("path")),
            since=since, until=until,
            max_id=int(max_id) if max_id.isdigit() and len(max_id) < 19 else None),
        tab=tab, before=query.before(), since_text=since_text, until_text=until_text,
        problems=tuple(problems))


def _prefix(text: str) -> str | None:
    """A path prefix is absolute; anything else is taken as under the root (a person
    typing ``data/x`` means ``/data/x``)."""
    if not text:
        return None
    return text if text.startswith("/") else "/" + text


def params(q: AlertQuery, *, tab: str | None = None, before: int | None = None,
           keep_max_id: bool = False) -> dict[str, str | Sequence[str] | None]:
    """The query parameters that give ``q`` back (``tab``: another status tab of it)."""
    f = q.filter
    return {
        "status": tab or q.tab,
        "severity": f.severities, "label": f.labels, "kind": f.kinds, "host": f.hosts,
        "path": f.path_prefix, "since": q.since_text, "until": q.until_text,
        "max_id": str(f.max_id) if keep_max_id and f.max_id is not None else None,
        "before": str(before) if before is not None else None,
    }


def link(path: str, q: AlertQuery, **how: str | int | bool | None) -> str:
    """A URL of the list (or an export) with ``q``'s filters (``tab=``, ``before=``)."""
    tab = how.get("tab")
    before = how.get("before")
    return url(path, params(q, tab=str(tab) if tab else None,
                            before=int(before) if isinstance(before, int) else None))


def bulk_filter(q: AlertQuery, max_id: int | None) -> str:
    """The filter as one query string for a bulk form's hidden field, bounded by
    ``max_id``: the newest alert the page showed (alerts raised later are not in the
    person's choice). Percent-encoded bytes: a path that is not UTF-8 survives the form."""
    bounded = replace(q, filter=replace(q.filter, max_id=max_id))
    return url("", params(bounded, keep_max_id=True)).removeprefix("?")


def from_bulk(text: str) -> AlertQuery:
    """``bulk_filter``'s text, read as the list reads its own query string."""
    raw = text.encode("ascii", "replace")
    return alert_query(Query(Request({"type": "http", "query_string": raw})))


def when(ts: float | None) -> str:
    """A Jinja2 filter: unix time as local ``YYYY-MM-DD HH:MM:SS`` (the server's zone)."""
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def day(ts: float | None) -> str:
    return "-" if ts is None else dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d")
