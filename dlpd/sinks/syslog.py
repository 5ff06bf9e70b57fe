"""Sends each alert event as one RFC 5424 message to a local or remote syslog daemon.

Transports: ``unix:/dev/log`` (a datagram socket, as journald and rsyslog provide; a
stream socket there is used with octet-counting framing), ``udp://host:port`` (RFC 5426,
one message per datagram) and ``tcp://host:port`` (RFC 6587 octet counting:
``"<length> <message>"``, so a message may hold any byte). The connection is made on the
first delivery and remade after any error. Name resolution (``getaddrinfo``) is not
bounded by ``timeout``: prefer an IP address or a name in /etc/hosts.

UDP gives no delivery guarantee: a message the network drops is counted as delivered.
"""

from __future__ import annotations

import errno
import json
import os
import select
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from dlpd.errors import SinkError
from dlpd.model import OutboxMessage
from dlpd.sinks.formats import facility_code, rfc5424

_DEFAULT_PORTS = {"udp": 514, "tcp": 601}  # IANA "syslog" and "syslog-conn"


@dataclass(frozen=True, slots=True)
class SyslogAddress:
    """Where to send: ``transport`` ``unix`` (``host`` is the socket path), ``udp``, ``tcp``."""

    transport: Literal["unix", "udp", "tcp"]
    host: str
    port: int = 0

    def __str__(self) -> str:
        if self.transport == "unix":
            return f"unix:{self.host}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.transport}://{host}:{self.port}"


def parse_address(text: str) -> SyslogAddress:
    """``unix:/dev/log``, ``udp://host[:port]``, ``tcp://host[:port]``; ``ValueError`` else."""
    if text.startswith("unix:"):
        path = text.removeprefix("unix:")
        if not path:
            raise ValueError("unix: needs a socket path, e.g. unix:/dev/log")
        return SyslogAddress("unix", path)
    parts = urlsplit(text)
    if parts.scheme not in ("udp", "tcp") or not parts.hostname:
        raise ValueError(f"expected unix:/path, udp://host:port or tcp://host:port, "
                         f"got {text!r}")
    if parts.path not in ("", "/") or parts.query or parts.username:
        raise ValueError(f"unexpected path, query or user in {text!r}")
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:  # port out of range or not a number
        raise ValueError(f"bad port in {text!r}: {exc}") from None
    transport: Literal["udp", "tcp"] = "udp" if parts.scheme == "udp" else "tcp"
    return SyslogAddress(transport, parts.hostname, port)


class SyslogSink:
    def __init__(self, name: str, address: SyslogAddress, facility: str, app_name: str,
                 hostname: str, timeout: float) -> None:
        facility_code(facility)  # fail at construction, not on the first alert
        self.name = name
        self.address = address
        self.facility = facility
        self.app_name = app_name
        self.hostname = hostname
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._framed = False  # octet counting (stream sockets)
        self._lock = threading.Lock()

    def deliver(self, message: OutboxMessage) -> None:
        data = self._format(message)
        deadline = time.monotonic() + self.timeout
        with self._lock:
            try:
                sock = self._connected(deadline)
                if self._framed:
                    data = f"{len(data)} ".encode("ascii") + data
                sock.settimeout(_remaining(deadline))
                sock.sendall(data)
            except OSError as exc:
                self._close_locked()
                raise SinkError(f"syslog {self.address}: {_describe(exc)}") from exc

    def close(self) -> None:
        with self._lock:
            self._close_locked()

    def _format(self, message: OutboxMessage) -> bytes:
        try:
            event: dict[str, Any] = json.loads(message.body)
            return rfc5424(alert=event["data"], kind=str(event["type"]), msg_id=message.msg_id,
                           facility=self.facility, app_name=self.app_name,
                           hostname=self.hostname, procid=os.getpid(), now=message.created)
        except (ValueError, KeyError, TypeError) as exc:
            raise SinkError(f"malformed alert event body: {exc}") from exc

    def _connected(self, deadline: float) -> socket.socket:
        """The open socket, or a new one; a stream peer that hung up is reconnected first
        (else the next send would succeed into a dead connection and be lost)."""
        if self._sock is not None and self._framed and _peer_closed(self._sock):
            self._close_locked()
        if self._sock is None:
            self._sock, self._framed = _connect(self.address, deadline)
        return self._sock

    def _close_locked(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


def _connect(address: SyslogAddress, deadline: float) -> tuple[socket.socket, bool]:
    """A connected socket and whether it needs octet-counting framing."""
    if address.transport == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect(address.host)
            return sock, False
        except OSError as exc:
            sock.close()
            if exc.errno != errno.EPROTOTYPE:  # the socket at the path is a stream socket
                raise
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect(address.host)
        except OSError:
            sock.close()
            raise
        return sock, True
    if address.transport == "tcp":
        return socket.create_connection((address.host, address.port),
                                        timeout=_remaining(deadline)), True
    # UDP: connect() picks the route once and makes an ICMP "port unreachable" visible
    # as ECONNREFUSED on a later send.
    infos = socket.getaddrinfo(address.host, address.port, type=socket.SOCK_DGRAM)
    family, kind, proto, _, target = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.connect(target)
    except OSError:
        sock.close()
        raise
    return sock, False


def _peer_closed(sock: socket.socket) -> bool:
    """True if a stream peer has closed (readable with EOF) or reset the connection."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (OSError, ValueError):
        return True


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


def _describe(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host: {exc.strerror}"
    return exc.strerror or str(exc) or type(exc).__name__
