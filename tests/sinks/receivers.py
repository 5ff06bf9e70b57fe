"""Real receivers on loopback for the sink tests: an HTTP(S) server run in a thread."""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import TracebackType

HANG = 0  # a scripted "status" that answers nothing until the receiver stops


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class _State:
    script: list[int]
    received: list[Request] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


class _Server(HTTPServer):
    state: _State


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        state = self.server.state
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        state.received.append(Request(self.path, {k.lower(): v for k, v in self.headers.items()},
                                      body))
        status = state.script.pop(0) if state.script else 200
        if status == HANG:
            state.release.wait(30)
            return
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("location", "http://127.0.0.1:9/elsewhere")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: pytest shows failures, not access logs."""


class WebhookReceiver:
    """``with WebhookReceiver([500, 200]) as r:`` answers POSTs with the scripted statuses
    (then 200), records every request, and stops its thread on exit."""

    def __init__(self, script: list[int] | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = _State(list(script or []))
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, name="test-webhook")

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/hook", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    @property
    def received(self) -> list[Request]:
        return self._server.state.received

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.state.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
