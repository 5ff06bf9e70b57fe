"""The console's application: its routes, its templates, its gate.

``build_app(settings, engine)`` is the whole wiring: the route table (each view module
exports ``routes``), the static files shipped in the package (htmx vendored: no request
leaves the page), one Jinja2 environment with autoescape on for every template, and the
security middleware in front of it all.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from dlpd.config import Settings
from dlpd.console import filters
from dlpd.console.auth import Accounts, LoginThrottle
from dlpd.console.pages import now, render
from dlpd.console.security import Gate, HasCsrf, SecurityMiddleware
from dlpd.console.views import access, admin, alert_export, alerts, labels, login, summary
from dlpd.errors import StoreError
from dlpd.store.db import Engine
from dlpd.textsafe import visible

_STATIC = Path(__file__).parent / "static"
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def allowed_hosts(settings: Settings) -> frozenset[str]:
    """``console.allowed_hosts``, or by default the listen host and the loopback names."""
    if settings.console.allowed_hosts:
        return frozenset(h.strip().lower() for h in settings.console.allowed_hosts)
    host = settings.console.listen.rpartition(":")[0].lower()
    return frozenset({host, *_LOOPBACK_NAMES})


def is_loopback(host: str) -> bool:
    """Whether a listen host is reachable only from this machine."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere


def templates() -> Environment:
    env = Environment(
        loader=PackageLoader("dlpd.console", "templates"),
        # Every template, whatever its name: data is escaped unless a template says not.
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["shown"] = visible
    env.filters["when"] = filters.when
    env.filters["day"] = filters.day
    return env


def _routes() -> list[BaseRoute]:
    found: list[BaseRoute] = []
    for module in (login, alerts, alert_export, summary, labels, access, admin):
        found.extend(module.routes)
    found.append(Mount("/static", app=StaticFiles(directory=_STATIC), name="static"))
    return found


def _not_found(request: Request, _exc: Exception) -> Response:
    return render(request, "error.html", 404, title="Not found",
                  message="There is no such page or record.")


def _store_error(request: Request, exc: Exception) -> Response:
    # "database is locked" while the daemon writes a big batch: say so, not a bare 500.
    return render(request, "error.html", 503, title="The store is unavailable",
                  message=f"Nothing was changed; try again in a moment ({exc}).")


def build_app(settings: Settings, engine: Engine, *,
              extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    console = settings.console
    accounts = Accounts(engine, idle=console.session_idle, max_age=console.session_max,
                        throttle=LoginThrottle(console.login_max_failures,
                                               console.login_window))

    async def load_session(token: str | None) -> HasCsrf | None:
        if not token:
            return None
        return await run_in_threadpool(accounts.session, token, now())

    gate = Gate(allowed_hosts=allowed_hosts(settings), behind_proxy=console.uds is not None)
    app = Starlette(
        routes=[*_routes(), *extra_routes],
        middleware=[Middleware(SecurityMiddleware, gate=gate, load_session=load_session)],
        exception_handlers={404: _not_found, StoreError: _store_error},
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.accounts = accounts
    app.state.templates = templates()
    return app
