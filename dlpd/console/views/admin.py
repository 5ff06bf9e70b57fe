"""Suppression rules, console accounts and the audit trail.

Every change here is one transaction holding the change and its audit row, so that the
trail never misses a change nor records one that was rolled back. A form with a mistake
is shown again with what was typed and the problems named (400), nothing changed; a
change that worked redirects (303) so that reloading the page does not repeat it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from dlpd.console import auth
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
from dlpd.console.views.params import Query
from dlpd.model import Role
from dlpd.policy.suppress import MAX_DAYS, problems
from dlpd.store import audit, console_users, suppressions
from dlpd.store.db import transaction

AUDIT_PAGE = 100
DAY = 86400.0


def _expiry(text: str) -> float | None:
    """A date ``YYYY-MM-DD`` as the end of that local day (a rule set to expire on the
    7th still applies on the 7th); None if it is not a date."""
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        return None
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    return end.timestamp()


def _suppressions_page(request: Request, *, errors: list[str] | None = None,
                       values: dict[str, str] | None = None,
                       status_code: int = 200) -> Response:
    at = now()
    with transaction(engine_of(request)) as conn:
        rules = suppressions.list_all(conn)
    rows = [(rule, count, last, rule.state(at)) for rule, count, last in rules]
    rows.sort(key=lambda r: (r[3] != "in force", -r[0].id))
    today = dt.date.fromtimestamp(at)
    return render(request, "suppressions.html", status_code=status_code, rows=rows,
                  errors=errors or [], values=values or {},
                  min_date=(today + dt.timedelta(days=1)).isoformat(),
                  max_date=(today + dt.timedelta(days=MAX_DAYS - 1)).isoformat(),
                  max_days=MAX_DAYS,
                  can_edit=user_of(request).role.allows(Role.ANALYST))


@requires(Role.VIEWER)
def suppression_list(request: Request) -> Response:
    # "Suppress alerts like this" on an alert's page links here with the form prefilled.
    query = Query(request)
    return _suppressions_page(request, values={
        k: query.get(k) for k in ("label", "path_prefix", "rule") if query.get(k)})


@requires(Role.VIEWER)
def suppression_detail(request: Request) -> Response:
    sid = int(request.path_params["sid"])
    at = now()
    with transaction(engine_of(request)) as conn:
        found = next(((r, n, last) for r, n, last in suppressions.list_all(conn)
                      if r.id == sid), None)
        hits = suppressions.hits(conn, sid, limit=500) if found else []
    if found is None:
        return render(request, "error.html", status_code=404, title="Not found",
                      message=f"No suppression rule {sid}.")
    rule, count, last = found
    return render(request, "suppression.html", rule=rule, count=count, last=last,
                  state=rule.state(at), hits=hits,
                  can_edit=user_of(request).role.allows(Role.ANALYST))


@requires(Role.ANALYST)
def suppression_add(request: Request) -> Response:
    form = form_of(request)
    values = {k: str(form.get(k, "")).strip()
              for k in ("label", "path_prefix", "rule", "owner", "reason", "expires")}
    at = now()
    expires = _expiry(values["expires"])
    errors = ["expires: a date (YYYY-MM-DD) is required"] if expires is None else []
    known = list(settings_of(request).labels) or None
    errors += problems(label=values["label"], path_prefix=values["path_prefix"],
                       owner=values["owner"], reason=values["reason"],
                       expires=expires if expires is not None else at + DAY, now=at,
                       known_labels=known)
    if errors:
        return _suppressions_page(request, errors=errors, values=values, status_code=400)
    assert expires is not None
    who = user_of(request).name
    with transaction(engine_of(request)) as conn:
        rule = suppressions.add(conn, label=values["label"], path_prefix=values["path_prefix"],
                                rule=values["rule"] or None, owner=values["owner"],
                                reason=values["reason"], created_by=who, now=at,
                                expires=expires)
        audit.append(conn, actor=who, action="suppress-add", target=f"suppression:{rule.id}",
                     reason=rule.reason, now=at,
                     details={"label": rule.label, "path_prefix": rule.path_prefix,
                              "rule": rule.rule, "owner": rule.owner,
                              "expires": rule.expires})
    return redirect(f"/suppressions/{rule.id}")


@requires(Role.ANALYST)
def suppression_revoke(request: Request) -> Response:
    sid = int(request.path_params["sid"])
    form = form_of(request)
    reason = str(form.get("reason", "")).strip()
    if not reason:
        return _suppressions_page(request, status_code=400,
                                  errors=[f"revoke {sid}: a reason is required"])
    who, at = user_of(request).name, now()
    with transaction(engine_of(request)) as conn:
        revoked = suppressions.revoke(conn, sid, by=who, now=at)
        if revoked:
            audit.append(conn, actor=who, action="suppress-revoke",
                         target=f"suppression:{sid}", reason=reason, details={}, now=at)
    if not revoked:
        return _suppressions_page(request, status_code=400,
                                  errors=[f"revoke {sid}: no such rule in force"])
    return redirect(f"/suppressions/{sid}")


def _users_page(request: Request, *, errors: list[str] | None = None,
                values: dict[str, str] | None = None, status_code: int = 200) -> Response:
    with transaction(engine_of(request)) as conn:
        users = console_users.list_users(conn)
    return render(request, "admin_users.html", status_code=status_code, users=users,
                  roles=[str(r) for r in Role], errors=errors or [], values=values or {},
                  me=user_of(request).name, min_password=auth.MIN_PASSWORD)


@requires(Role.ADMIN)
def user_list(request: Request) -> Response:
    return _users_page(request)


def _role(text: str) -> Role | None:
    try:
        return Role(text)
    except ValueError:
        return None


@requires(Role.ADMIN)
def user_add(request: Request) -> Response:
    form = form_of(request)
    name = str(form.get("name", "")).strip()
    role = _role(str(form.get("role", "")))
    password = str(form.get("password", ""))
    errors = [f"name: {problem}" for problem in [auth.name_problem(name)] if problem]
    if role is None:
        errors.append("role: one of " + ", ".join(str(r) for r in Role))
    problem = auth.password_problem(password)
    if problem:
        errors.append(f"password: {problem}")
    elif password != str(form.get("confirm", "")):
        errors.append("password: the two entries differ")
    values = {"name": name, "role": str(role or "")}  # never the password
    if errors:
        return _users_page(request, errors=errors, values=values, status_code=400)
    assert role is not None
    who, at = user_of(request).name, now()
    hashed = auth.hash_password(password)
    try:
        with transaction(engine_of(request)) as conn:
            console_users.add_user(conn, name=name, role=role, password_hash=hashed,
                                   created_by=who, now=at)
            audit.append(conn, actor=who, action="user-add", target=name, reason="",
                         details={"role": str(role)}, now=at)
    except console_users.DuplicateUser:
        return _users_page(request, errors=[f"name: {name!r} exists already"],
                           values=values, status_code=400)
    return redirect("/admin/users")


def _user_change(request: Request, action: str, details: dict[str, Any],
                       change: Any) -> Response:
    """Apply ``change(conn, name)`` to the account in the path with its audit row."""
    name = request.path_params["name"]
    who, at = user_of(request).name, now()
    if name == who:
        return _users_page(request, status_code=400,
                           errors=[f"{action}: an administrator cannot change their own "
                                   "account here (another administrator can)"])
    with transaction(engine_of(request)) as conn:
        changed = bool(change(conn, name))
        if changed:
            audit.append(conn, actor=who, action=action, target=name, reason="",
                         details=details, now=at)
    if not changed:
        return _users_page(request, status_code=400,
                           errors=[f"{action}: no account {name!r}"])
    return redirect("/admin/users")


@requires(Role.ADMIN)
def user_disable(request: Request) -> Response:
    form_of(request)
    at = now()
    return _user_change(request, "user-disable", {},
                              lambda conn, name: console_users.disable_user(conn, name, at))


@requires(Role.ADMIN)
def user_role(request: Request) -> Response:
    form = form_of(request)
    role = _role(str(form.get("role", "")))
    if role is None:
        return _users_page(request, status_code=400,
                           errors=["role: one of " + ", ".join(str(r) for r in Role)])
    return _user_change(request, "user-role", {"role": str(role)},
                              lambda conn, name: console_users.set_role(conn, name, role))


@requires(Role.ADMIN)
def audit_list(request: Request) -> Response:
    query = Query(request)
    before = query.before()
    actor, target = query.get("actor") or None, query.get("target") or None
    # Verifying reads the whole chain (about 18 µs an entry here: 18 s at a million), so
    # it runs when asked, not on every visit.
    verify = query.get("verify") == "1"
    with transaction(engine_of(request)) as conn:
        check = audit.verify(conn) if verify else None
        rows = audit.entries(conn, before_id=before, limit=AUDIT_PAGE + 1, actor=actor,
                             target=target)
    older = rows[AUDIT_PAGE - 1].id if len(rows) > AUDIT_PAGE else None
    return render(request, "audit.html", check=check, rows=rows[:AUDIT_PAGE], older=older,
                  before=before, actor=actor or "", target=target or "")


routes: list[BaseRoute] = [
    Route("/suppressions", suppression_list, methods=["GET"]),
    Route("/suppressions", suppression_add, methods=["POST"]),
    Route("/suppressions/{sid:int}", suppression_detail, methods=["GET"]),
    Route("/suppressions/{sid:int}/revoke", suppression_revoke, methods=["POST"]),
    Route("/admin/users", user_list, methods=["GET"]),
    Route("/admin/users", user_add, methods=["POST"]),
    Route("/admin/users/{name}/disable", user_disable, methods=["POST"]),
    Route("/admin/users/{name}/role", user_role, methods=["POST"]),
    Route("/audit", audit_list, methods=["GET"]),
]
