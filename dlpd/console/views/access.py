"""The access log: who created, changed, moved, deleted or opened labelled files, searched
by path prefix, label, user, kind and time, newest first and keyset-paged; exported as
CSV or JSON lines with the same filter, streamed."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from dlpd.console import export
from dlpd.console.pages import engine_of, now, render, requires, settings_of, user_of
from dlpd.console.views.params import Query, day_end, day_start, url
from dlpd.model import AccessKind, Role
from dlpd.store import audit
from dlpd.store.access import AccessFilter, AccessRecord, page
from dlpd.store.db import transaction

KINDS = tuple(str(k) for k in AccessKind)
EXPORT_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class AccessSearch:
    """The search as the form shows it (text as typed) and as the store takes it."""

    path: str
    labels: tuple[str, ...]
    users: tuple[str, ...]
    kinds: tuple[str, ...]
    since: str
    until: str
    errors: tuple[str, ...]

    def params(self) -> dict[str, str | tuple[str, ...]]:
        return {"path": self.path, "label": self.labels, "user": self.users,
                "kind": self.kinds, "since": self.since, "until": self.until}

    def store_filter(self) -> AccessFilter:
        return AccessFilter(path_prefix=self.path or None, labels=self.labels,
                            users=self.users, kinds=self.kinds,
                            since=day_start(self.since) if self.since else None,
                            until=day_end(self.until) if self.until else None)


def search_of(query: Query) -> AccessSearch:
    errors = []
    path = query.get("path")
    if path and not path.startswith("/"):
        errors.append("path prefix: an absolute path (starting with /)")
        path = ""
    kinds = tuple(k for k in query.all("kind") if k in KINDS)
    since, until = query.get("since"), query.get("until")
    for name, value in (("since", since), ("until", until)):
        if value and day_start(value) is None:
            errors.append(f"{name}: a date YYYY-MM-DD")
    return AccessSearch(path=path, labels=query.all("label"), users=query.all("user"),
                        kinds=kinds, since=since if day_start(since) else "",
                        until=until if day_start(until) else "", errors=tuple(errors))


@requires(Role.VIEWER)
def access_list(request: Request) -> Response:
    query = Query(request)
    search = search_of(query)
    before = query.before()
    size = settings_of(request).console.page_size
    with transaction(engine_of(request)) as conn:
        found = page(conn, search.store_filter(), before_id=before, limit=size + 1)
    rows = found[:size]
    older = (url("/access", {**search.params(), "before": str(rows[-1].id)})
             if len(found) > size and rows[-1].id is not None else None)
    return render(request, "access.html", status_code=400 if search.errors else 200,
                  rows=rows, search=search, kinds=KINDS, older=older,
                  newest=url("/access", search.params()) if before is not None else None,
                  csv_url=url("/access.csv", search.params()),
                  json_url=url("/access.json", search.params()))


CSV_HEADER = ("id", "path", "kind", "labels", "first", "last", "count", "src_path",
              "user", "uid", "program", "pid", "ppid", "exe", "cmdline")


def _csv_cells(record: AccessRecord) -> tuple[object, ...]:
    fields = record.to_json()
    return (record.id, fields["path"], fields["kind"], " ".join(record.labels),
            record.first, record.last, record.count, fields["src_path"], fields["user"],
            record.uid, record.process, record.pid, fields["ppid"], fields["exe"],
            fields["cmdline"])


def _export(request: Request, fmt: str) -> Response:
    search = search_of(Query(request))
    if search.errors:
        return render(request, "error.html", 400, title="Bad search",
                      message="; ".join(search.errors))
    engine, flt, who, at = engine_of(request), search.store_filter(), user_of(request), now()
    with transaction(engine) as conn:
        audit.append(conn, actor=who.name, action="export", target=f"access.{fmt}",
                     reason="", details={k: list(v) if isinstance(v, tuple) else v
                                         for k, v in search.params().items() if v},
                     now=at)

    def fetch(before: int | None) -> list[AccessRecord]:
        # A transaction per chunk, not one for the whole download: a slow client must
        # not hold a read snapshot open for minutes.
        with transaction(engine) as conn:
            return page(conn, flt, before_id=before, limit=EXPORT_CHUNK)

    records = export.chunked(fetch, key=lambda r: r.id or 0)
    if fmt == "csv":
        body = export.csv_lines(CSV_HEADER, (_csv_cells(r) for r in records))
        media, name = "text/csv; charset=utf-8", "dlpd-access.csv"
    else:
        body = export.json_lines(r.to_json() for r in records)
        media, name = "application/x-ndjson; charset=utf-8", "dlpd-access.jsonl"
    return StreamingResponse(body, media_type=media, headers={
        "content-disposition": export.content_disposition(name),
        "cache-control": "no-store"})


@requires(Role.VIEWER)
def access_csv(request: Request) -> Response:
    return _export(request, "csv")


@requires(Role.VIEWER)
def access_json(request: Request) -> Response:
    return _export(request, "json")


routes: list[BaseRoute] = [
    Route("/access", access_list, methods=["GET"]),
    Route("/access.csv", access_csv, methods=["GET"]),
    Route("/access.json", access_json, methods=["GET"]),
]
