"""The sd_notify(3) protocol, in a few lines of our own: one AF_UNIX datagram per call.

systemd (``Type=notify``) passes the address of its notification socket in
``NOTIFY_SOCKET``: a filesystem path, or an abstract socket when it starts with ``@``.
Each message is newline-separated ``KEY=VALUE`` assignments (``READY=1``, ``STATUS=...``,
``WATCHDOG=1``, ``STOPPING=1``, ``RELOADING=1``, ``EXTEND_TIMEOUT_USEC=...``). Outside
systemd (no ``NOTIFY_SOCKET``) every call is a no-op that returns False.

Notifying never raises and never stops the daemon: the first failure is logged, later
ones are ignored. A message is sent from a fresh socket each time (as libsystemd does),
so the notifier holds no descriptor and may be called from any thread.

A receiver that does not drain its queue (a hung or foreign ``NOTIFY_SOCKET``) must not
cost us a core. The socket is connected before sending: only then does poll(2) report a
full receiver queue as not writable. (An unconnected ``sendto`` with a timeout spins:
poll says writable, the send says EAGAIN, for the whole timeout.) Messages that a later
one replaces (``STATUS=``, ``WATCHDOG=1``) are sent without waiting and dropped when the
queue is full; state changes (``READY=1``, ``STOPPING=1``, ``RELOADING=1``, timeouts)
wait up to a bound for room. A status is sent only when its text changed.

The watchdog: when ``WatchdogSec=`` is set, systemd passes ``WATCHDOG_USEC`` (and
``WATCHDOG_PID``); ``watchdog_interval()`` turns it into seconds. Ping (``watchdog()``)
at half of it, and only while the daemon is making progress: a stuck daemon must be
restarted, not kept alive by a timer thread. systemd arms the watchdog when READY=1
arrives; before that only ``TimeoutStartSec=`` applies (see ``extend_timeout()``).
"""

from __future__ import annotations

import os
import socket
import threading
import time

import structlog

_log = structlog.get_logger("dlpd.notify")

# A state change waits this long for room in a full queue; PID 1 drains its queue quickly,
# so a send that takes longer is a failure rather than a reason to stall the daemon.
_SEND_TIMEOUT_S = 1.0


class Notifier:
    """Sends sd_notify messages to ``address`` (None: notifications are off)."""

    __slots__ = ("_address", "_lock", "_status", "_warned", "_watchdog_usec", "address")

    def __init__(self, address: str | None = None, watchdog_usec: int | None = None) -> None:
        self.address = address or None
        # The kernel's form: a leading NUL byte names an abstract socket.
        self._address = None
        if address:
            self._address = "\0" + address[1:] if address.startswith("@") else address
        self._watchdog_usec = watchdog_usec if watchdog_usec and watchdog_usec > 0 else None
        self._warned = False
        self._status: str | None = None  # the last STATUS= systemd received from us
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls) -> Notifier:
        """The notifier systemd asked for through ``NOTIFY_SOCKET`` and ``WATCHDOG_*``."""
        return cls(os.environ.get("NOTIFY_SOCKET"), _watchdog_usec_from_env())

    @property
    def is_enabled(self) -> bool:
        return self._address is not None

    def notify(self, *lines: str, wait: bool = True) -> bool:
        """Send ``lines`` as one datagram; True if it was sent.

        Each line is one ``KEY=VALUE`` assignment. Newlines and NUL bytes inside a line
        become spaces, so a value (a status naming a file, say) cannot add assignments.
        ``wait=False``: drop the message at once if the receiver's queue is full.
        """
        if self._address is None or not lines:
            return False
        message = "\n".join(_one_line(line) for line in lines).encode("utf-8", "replace")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.settimeout(_SEND_TIMEOUT_S if wait else 0.0)
                sock.connect(self._address)
                sock.send(message)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                _log.warning("sd_notify failed; further failures are not logged",
                             socket=self.address, error=str(exc) or type(exc).__name__)
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        """Start-up (or a reload) is complete: systemd marks the unit active."""
        return self._with_status(("READY=1",), status)

    def status(self, text: str) -> bool:
        """A one-line status, shown by ``systemctl status``; True if systemd has it.

        Sent only when it differs from the last one sent, and dropped (to be sent with the
        next call) when the receiver's queue is full.
        """
        return self._with_status((), text, wait=False)

    def watchdog(self) -> bool:
        """Keep-alive ping; send only while the daemon is making progress. Dropped when
        the queue is full: the next ping replaces it."""
        return self.notify("WATCHDOG=1", wait=False)

    def stopping(self, status: str | None = None) -> bool:
        """Shutdown has begun (draining)."""
        return self._with_status(("STOPPING=1",), status)

    def reloading(self, status: str | None = None) -> bool:
        """A reload has begun; send ``ready()`` when it is done.

        ``MONOTONIC_USEC`` is what sd_notify(3) asks for with ``Type=notify-reload``
        (systemd 253+); plain ``Type=notify`` accepts and ignores it.
        """
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self._with_status(("RELOADING=1", f"MONOTONIC_USEC={usec}"), status)

    def extend_timeout(self, seconds: float) -> bool:
        """Ask for ``seconds`` more before systemd's start or stop timeout fires.

        For a long start-up (one inotify watch per directory) or drain that is still
        making progress; repeat while it goes on.
        """
        return self.notify(f"EXTEND_TIMEOUT_USEC={max(0, round(seconds * 1_000_000))}")

    def _with_status(self, lines: tuple[str, ...], status: str | None,
                     wait: bool = True) -> bool:
        """Send ``lines`` and ``STATUS=status``, leaving out a status systemd already has;
        remember the status once it is sent."""
        with self._lock:
            if status is not None and _one_line(status) == self._status:
                status = None
            if not lines and status is None:
                return self.is_enabled
            sent = self.notify(*lines, *_status(status), wait=wait)
            if sent and status is not None:
                self._status = _one_line(status)
            return sent

    def watchdog_interval(self) -> float | None:
        """systemd's watchdog timeout in seconds, or None when no watchdog is asked of us."""
        return None if self._watchdog_usec is None else self._watchdog_usec / 1_000_000


def _watchdog_usec_from_env() -> int | None:
    """``WATCHDOG_USEC``, if set, valid, and meant for this process (``WATCHDOG_PID``)."""
    pid = os.environ.get("WATCHDOG_PID")
    if pid is not None:
        try:
            if int(pid) != os.getpid():
                return None
        except ValueError:
            return None
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec if usec > 0 else None


def _status(text: str | None) -> tuple[str, ...]:
    return () if text is None else (f"STATUS={text}",)


def _one_line(line: str) -> str:
    return line.replace("\n", " ").replace("\0", " ")
