"""The console's gate, in front of every route: the Host allowlist, the security headers
and CSP on every response, the session lookup, and for every request that can change
state (anything but GET and HEAD) a same-origin ``Origin`` and the CSRF token.

Pure ASGI, not ``BaseHTTPMiddleware``: that one buffers and breaks streamed exports and
runs the endpoint in another task. The form body is read here once (bounded), parsed,
kept in ``scope["state"]["form"]`` for the endpoint (``pages.form_of``), and replayed to
the app, so a route cannot forget the check: there is no route-level opt-in to forget.
"""

from __future__ import annotations

import hmac
import html
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qsl, urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dlpd.errors import StoreError

SESSION_COOKIE = "__Host-dlpd_session"
LOGIN_COOKIE = "__Host-dlpd_login"
LOGIN_PATH = "/login"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
# A console form is a few fields; a bulk selection of one page's ids stays far below.
MAX_BODY = 256 * 1024

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
)
_SAFE_METHODS = frozenset({"GET", "HEAD"})
_DEFAULT_PORTS = {"http": "80", "https": "443"}


class HasCsrf(Protocol):
    @property
    def csrf(self) -> str: ...


Refusal = tuple[int, str, str]  # status, title, message
# The session behind a cookie value (None: no cookie, unknown, expired).
SessionLoader = Callable[[str | None], Awaitable[HasCsrf | None]]


@dataclass(frozen=True, slots=True)
class Gate:
    """What the gate accepts: Host names (lower case, IPv6 in brackets, no port) and
    whether an ``https`` Origin is ours on a plain-http socket (a Unix socket behind a TLS
    reverse proxy, which terminates TLS and forwards the browser's Origin as it is)."""

    allowed_hosts: frozenset[str]
    behind_proxy: bool = False


def host_name(host: str) -> str | None:
    """The name in a Host header (``[::1]:8765`` -> ``[::1]``), lower case; None when it
    is not a plausible host."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        name, rest = host[:end + 1], host[end + 1:]
        if end < 0 or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        return name
    name, _, port = host.partition(":")
    if not name or (port and not port.isdigit()) or any(
            not (c.isalnum() or c in "-._") for c in name):
        return None
    return name


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an Origin or Referer value, the default port dropped;
    None for ``null`` and anything that is not http(s)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.netloc or "@" in parts.netloc:
        return None
    return _normal(parts.scheme, parts.netloc.lower())


def _normal(scheme: str, netloc: str) -> str:
    default = ":" + _DEFAULT_PORTS[scheme]
    if netloc.endswith(default):
        netloc = netloc[:-len(default)]
    return f"{scheme}://{netloc}"


def own_origins(scheme: str, host_header: str, *, behind_proxy: bool) -> frozenset[str]:
    """The origins a same-site request of ours carries, for a request that arrived with
    ``host_header`` over ``scheme``."""
    host = host_header.strip().lower()
    found = {_normal(scheme, host)} if scheme in _DEFAULT_PORTS else set()
    if behind_proxy:
        found.add(_normal("https", host))
    return frozenset(found)


def tokens_match(given: str | None, expected: str | None) -> bool:
    """Constant time, and never true for a missing or empty token on either side."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"),
                               expected.encode("utf-8", "surrogatepass"))


def page(status: int, title: str, message: str) -> bytes:
    """The gate's own refusals: no template (nothing of the app has run yet)."""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{status} '
            f'{html.escape(title)}</title><link rel="stylesheet" href="/static/console.css">'
            f'</head><body><main><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>'
            '<p><a href="/">Back to the console</a></p></main></body></html>').encode()


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, *, gate: Gate, load_session: SessionLoader) -> None:
        self.app = app
        self.gate = gate
        self.load_session = load_session

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.app(scope, receive, send)
            return  # no websockets here
        send = _with_headers(send, is_page=not str(scope["path"]).startswith("/static/"))
        try:
            refusal, receive = await self._admit(scope, receive)
        except StoreError:
            # The session lookup: answered here, as a page with the security headers (the
            # framework's own 500 would go out from outside this gate, without them).
            refusal = (503, "Store unavailable", "The alert store cannot be read just now; "
                       "try again in a moment.")
        if refusal is not None:
            await _refuse(send, *refusal)
            return
        await self.app(scope, receive, send)

    async def _admit(self, scope: Scope, receive: Receive) -> tuple[Refusal | None, Receive]:
        """Why the request is refused (status, title, message), or None and the
        ``receive`` the app reads the body from."""
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if host_name(host) not in self.gate.allowed_hosts:
            return (400, "Bad request", "This host name is not served here."), receive
        cookies = cookie_parser(headers.get("cookie", ""))
        state = scope.setdefault("state", {})
        session = await self.load_session(cookies.get(SESSION_COOKIE))
        state["session"] = session
        state["form"] = {}
        if scope["method"] in _SAFE_METHODS:
            return None, receive
        claimed = headers.get("origin") or headers.get("referer") or ""
        if origin_of(claimed) not in own_origins(str(scope.get("scheme", "http")), host,
                                                  behind_proxy=self.gate.behind_proxy):
            return (403, "Refused", "This request did not come from this site (its Origin "
                    "is missing or another site's)."), receive
        body = await _read_body(receive)
        if body is None:
            return (413, "Too large", "This form is larger than any of ours."), receive
        form = await _parse_form(scope, body)
        state["form"] = form
        expected = (cookies.get(LOGIN_COOKIE) if scope["path"] == LOGIN_PATH
                    else session.csrf if session is not None else None)
        given = headers.get(CSRF_HEADER) or _last(form.get(CSRF_FIELD))
        if not tokens_match(given, expected):
            return (403, "Refused", "The form's security token is missing or out of date: "
                    "reload the page and try again."), receive
        return None, _replay(body, receive)


def _last(values: list[str] | None) -> str | None:
    return values[-1] if values else None


def _with_headers(send: Send, *, is_page: bool) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            out = MutableHeaders(scope=message)
            for name, value in HEADERS:
                out[name] = value
            if is_page:
                out["cache-control"] = "no-store"
        await send(message)
    return sending


async def _refuse(send: Send, status: int, title: str, message: str) -> None:
    body = page(status, title, message)
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None past ``MAX_BODY`` (checked while it arrives)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _parse_form(scope: Scope, body: bytes) -> dict[str, list[str]]:
    """Field name -> values (in order). URL-encoded forms are parsed here; multipart ones
    (no console form is, but a client may send one) through Starlette's parser; file
    parts are ignored."""
    kind = Headers(scope=scope).get("content-type", "").split(";", 1)[0].strip().lower()
    fields: dict[str, list[str]] = {}
    if kind == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True,
                              max_num_fields=10_000)
        except ValueError:  # too many fields: no token found, so refused
            pairs = []
    elif kind == "multipart/form-data":
        form = await Request(scope, _replay(body, _closed)).form()
        pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        await form.close()
    else:
        pairs = []
    for name, value in pairs:
        fields.setdefault(name, []).append(value)
    return fields


async def _closed() -> Message:
    return {"type": "http.disconnect"}


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` once, then waits on the real one (disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return replay
