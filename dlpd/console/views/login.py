"""Signing in and out.

The login form has no session yet, so its CSRF token is a double-submit one: a random
value in the ``__Host-dlpd_login`` cookie and the same value in the form; the gate
compares them (an attacker's page can make the browser post, but cannot read or set a
``__Host-`` cookie of ours). A successful login replaces it with the session cookie.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from dlpd.console.auth import Accounts, new_token
from dlpd.console.pages import form_of, now, redirect, render, session_of, settings_of
from dlpd.console.security import LOGIN_COOKIE, SESSION_COOKIE


def _set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
    # __Host-: Secure, Path=/ and no Domain, or the browser refuses it (so a sibling
    # subdomain cannot plant one).
    response.set_cookie(name, value, max_age=max_age, path="/", secure=True, httponly=True,
                        samesite="strict")


def _clear_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", secure=True, httponly=True, samesite="strict")


def _next(target: str) -> str:
    """Where to go after login: a path of ours only (never ``//evil`` or a URL)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target \
            and not target.startswith("/login"):
        return target
    return "/alerts"


def _address(request: Request) -> str:
    """The client's address; "" on a Unix socket (the proxy's, the same for everyone)."""
    return request.client.host if request.client and request.client.host else ""


def login_page(request: Request) -> Response:
    if session_of(request) is not None:
        return redirect(_next(request.query_params.get("next", "")))
    token = request.cookies.get(LOGIN_COOKIE) or new_token()
    response = render(request, "login.html", csrf=token, error=None, name="",
                      next=_next(request.query_params.get("next", "")))
    _set_cookie(response, LOGIN_COOKIE, token, 3600)
    return response


def login(request: Request) -> Response:
    form = form_of(request)
    accounts: Accounts = request.app.state.accounts
    name = form.get("name", "").strip()
    target = _next(form.get("next", ""))
    result = accounts.login(name, form.get("password", ""), _address(request), now())
    token = request.cookies.get(LOGIN_COOKIE, "")
    if result.retry_after is not None:
        wait = max(1, int(result.retry_after + 0.999))
        throttled = render(request, "login.html", 429, csrf=token, next=target, name=name,
                           error=f"Too many failed attempts. Try again in {wait} seconds.")
        throttled.headers["retry-after"] = str(wait)
        return throttled
    if result.token is None:
        return render(request, "login.html", 401, csrf=token, next=target, name=name,
                      error="Wrong name or password.")
    response = redirect(target)
    _set_cookie(response, SESSION_COOKIE, result.token,
                int(settings_of(request).console.session_max))
    _clear_cookie(response, LOGIN_COOKIE)
    return response


def logout(request: Request) -> Response:
    session = session_of(request)
    if session is not None:
        accounts: Accounts = request.app.state.accounts
        accounts.logout(session, now())
    response = redirect("/login", flash="Signed out.")
    _clear_cookie(response, SESSION_COOKIE)
    return response


routes: list[BaseRoute] = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
