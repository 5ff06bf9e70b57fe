"""POSTs each alert event to an HTTP(S) endpoint, signed per Standard Webhooks.

The body is the outbox body unchanged. ``webhook-id`` is the outbox message id (the same
on every retry, so receivers dedupe), ``webhook-timestamp`` the time of this attempt, and
``webhook-signature`` the HMAC over both and the body, so a receiver can reject forged and
replayed requests (https://www.standardwebhooks.com/).

Only a 2xx answer counts as delivered. Redirects are not followed (http.client does not):
a 3xx is a failure to fix in the configuration, not a reason to send alerts elsewhere.
One connection per message: alerts are rare, and nothing is left open between them.
"""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from dlpd import __version__
from dlpd.errors import SinkError
from dlpd.model import OutboxMessage
from dlpd.sinks.formats import one_line, webhook_signature
from dlpd.textsafe import redact_url


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """A parsed webhook URL; ``authorization`` comes from ``user:password@`` (Basic)."""

    https: bool
    host: str
    port: int | None
    path: str
    authorization: str | None = None

    def __str__(self) -> str:
        """For messages and logs: without the password, query values masked."""
        scheme = "https" if self.https else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port else ""
        return redact_url(f"{scheme}://{host}{port}{self.path}")


def parse_url(url: str) -> WebhookTarget:
    """``http[s]://[user:password@]host[:port]/path?query``; ``ValueError`` otherwise.
    Messages name the URL redacted: it may carry a password or a token."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unbalanced "[" in the host, say
        raise ValueError(f"not a URL ({exc}): {redact_url(url)!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// URL, got {redact_url(url)!r}")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad port in {redact_url(url)!r}: {exc}") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    authorization = None
    if parts.username is not None:
        userpass = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(userpass.encode()).decode("ascii")
    return WebhookTarget(parts.scheme == "https", parts.hostname, port, path, authorization)


class WebhookSink:
    def __init__(self, name: str, target: WebhookTarget, secret: bytes, timeout: float) -> None:
        self.name = name
        self.target = target
        self.timeout = timeout
        self._secret = secret
        self._tls: ssl.SSLContext | None = None  # loaded on first use: it reads CA files
        self._tls_lock = threading.Lock()

    def deliver(self, message: OutboxMessage) -> None:
        body = message.body.encode("utf-8")
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": f"dlpd/{__version__}",
            "webhook-id": message.msg_id,
            "webhook-timestamp": str(timestamp),
            "connection": "close",
        }
        if self._secret:
            headers["webhook-signature"] = webhook_signature(
                self._secret, message.msg_id, timestamp, body)
        if self.target.authorization:
            headers["authorization"] = self.target.authorization
        status, reason = self._post(body, headers)
        if not 200 <= status < 300:
            raise SinkError(f"HTTP {status} {one_line(reason)[:100]}".rstrip())

    def close(self) -> None:
        """Nothing to release: each delivery opens and closes its own connection."""

    def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        """Send one request; return the status and reason.

        Connecting (with TLS), sending and waiting for the answer share one ``timeout``:
        each step gets what the previous ones left. Name resolution is not bounded.
        """
        deadline = time.monotonic() + self.timeout
        conn = self._connection()
        try:
            conn.connect()
            _sock(conn).settimeout(_remaining(deadline))
            conn.request("POST", self.target.path, body=body, headers=headers)
            _sock(conn).settimeout(_remaining(deadline))
            response = conn.getresponse()
            return response.status, response.reason
        except (OSError, http.client.HTTPException) as exc:
            raise SinkError(f"{self.target}: {_describe(exc)}") from exc
        finally:
            conn.close()

    def _connection(self) -> http.client.HTTPConnection:
        t = self.target
        if not t.https:
            return http.client.HTTPConnection(t.host, t.port, timeout=self.timeout)
        with self._tls_lock:
            if self._tls is None:
                self._tls = ssl.create_default_context()
        return http.client.HTTPSConnection(t.host, t.port, timeout=self.timeout,
                                           context=self._tls)


def _sock(conn: http.client.HTTPConnection) -> socket.socket:
    if conn.sock is None:  # connect() sets it or raises
        raise ConnectionError("not connected")
    sock: socket.socket = conn.sock
    return sock


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


# Checked in order: RemoteDisconnected is also a ConnectionResetError.
_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (http.client.RemoteDisconnected, "connection closed without a response"),
    (ConnectionRefusedError, "connection refused"),
    (TimeoutError, "timed out"),
)


def _describe(exc: OSError | http.client.HTTPException) -> str:
    """A short reason for the outbox and the log: what an operator can act on."""
    for kind, reason in _REASONS:
        if isinstance(exc, kind):
            return reason
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host: {exc.strerror}"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return f"bad HTTP response ({type(exc).__name__})"
