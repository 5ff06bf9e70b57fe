"""What every view uses: rendering a template with the page furniture, the signed-in
user, role checks, the form the gate already read, redirects, the clock.

Views are plain (sync) functions: Starlette runs them in its thread pool, where the
store's blocking calls belong; the form was read and CSRF-checked by the gate
(``security.py``), so nothing here needs to await.
"""

from __future__ import annotations

import base64
import functools
import inspect
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from jinja2 import Environment
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dlpd.config import Settings
from dlpd.model import Role
from dlpd.store.console_users import ConsoleSession, ConsoleUser
from dlpd.store.db import Engine

FLASH_COOKIE = "__Host-dlpd_flash"
_MAX_FLASH = 500


@dataclass(frozen=True, slots=True)
class NavItem:
    href: str
    text: str
    role: Role


NAV: tuple[NavItem, ...] = (
    NavItem("/alerts", "Alerts", Role.VIEWER),
    NavItem("/summary", "Summary", Role.VIEWER),
    NavItem("/labels", "Labels", Role.VIEWER),
    NavItem("/access", "Access log", Role.VIEWER),
    NavItem("/suppressions", "Suppressions", Role.ANALYST),
    NavItem("/admin/users", "Users", Role.ADMIN),
    NavItem("/audit", "Audit", Role.ADMIN),
)


class Form(Mapping[str, str]):
    """A submitted form: ``form["reason"]`` is the field's last value, ``getlist`` all."""

    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        self._fields = {k: list(v) for k, v in fields.items() if v}

    def __getitem__(self, name: str) -> str:
        return self._fields[name][-1]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def getlist(self, name: str) -> list[str]:
        return list(self._fields.get(name, ()))


def now() -> float:
    return time.time()


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def session_of(request: Request) -> ConsoleSession | None:
    session: ConsoleSession | None = request.scope.get("state", {}).get("session")
    return session


def user_of(request: Request) -> ConsoleUser:
    """The signed-in user (views behind ``requires`` always have one)."""
    session = session_of(request)
    if session is None:
        raise LookupError("no session: the view is not behind requires()")
    return session.user


def form_of(request: Request) -> Form:
    """The posted form, read and CSRF-checked by the gate before the view ran."""
    return Form(request.scope.get("state", {}).get("form", {}))


def is_partial(request: Request) -> bool:
    """An htmx request that swaps only the page's main part (boosted links and forms)."""
    return request.headers.get("hx-request") == "true"


def render(request: Request, template: str, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    """``template`` with the furniture every page has: ``user``, ``csrf`` (the session's
    token for forms), ``nav``, ``flash`` (the message a redirect left), ``partial``."""
    env: Environment = request.app.state.templates
    session = session_of(request)
    user = session.user if session is not None else None
    flash = _read_flash(request)
    context.setdefault("csrf", session.csrf if session is not None else "")
    body = env.get_template(template).render(
        request=request, user=user, flash=flash, partial=is_partial(request),
        nav=[(item.href, item.text, request.url.path.startswith(item.href))
             for item in NAV if user is not None and user.role.allows(item.role)],
        **context)
    response = HTMLResponse(body, status_code=status_code, headers={"vary": "HX-Request"})
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/", secure=True, httponly=True,
                               samesite="strict")
    return response


def redirect(url: str, *, flash: str | None = None) -> Response:
    """303 See Other to a path of ours (after a POST: the browser then GETs it)."""
    if not url.startswith("/") or url.startswith("//") or "\\" in url:
        url = "/"
    response = RedirectResponse(url, status_code=303)
    if flash:
        value = base64.urlsafe_b64encode(flash[:_MAX_FLASH].encode()).decode("ascii")
        response.set_cookie(FLASH_COOKIE, value, path="/", secure=True, httponly=True,
                            samesite="strict")
    return response


def _read_flash(request: Request) -> str | None:
    value = request.cookies.get(FLASH_COOKIE)
    if not value:
        return None
    try:
        return base64.urlsafe_b64decode(value.encode("ascii")).decode()[:_MAX_FLASH]
    except (ValueError, UnicodeError):
        return None


def refused(request: Request, message: str, status_code: int = 403) -> HTMLResponse:
    return render(request, "error.html", status_code, title="Not allowed", message=message)


def login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(target, safe="/")


_V = TypeVar("_V", bound=Callable[..., Any])


def requires(role: Role) -> Callable[[_V], _V]:
    """An endpoint for ``role`` and above: no session -> the login page (coming back
    here after); a lesser role -> the 403 page. Sync and async endpoints alike."""
    def decorate(endpoint: _V) -> _V:
        def check(request: Request) -> Response | None:
            session = session_of(request)
            if session is None:
                if is_partial(request):  # htmx: a whole-page visit, not a swap
                    return Response(status_code=200, headers={"hx-redirect": "/login"})
                return redirect(login_url(request))
            if session.user.disabled is not None or not session.user.role.allows(role):
                return refused(request, f"This needs the {role.value} role; your account "
                               f"has {session.user.role.value}.")
            return None

        if inspect.iscoroutinefunction(endpoint):
            @functools.wraps(endpoint)
            async def guarded_async(request: Request) -> Response:
                answer = check(request)
                if answer is not None:
                    return answer
                result: Awaitable[Response] = endpoint(request)
                return await result
            return guarded_async  # type: ignore[return-value]

        @functools.wraps(endpoint)
        def guarded(request: Request) -> Response:
            answer = check(request)
            return answer if answer is not None else endpoint(request)
        return guarded  # type: ignore[return-value]
    return decorate
