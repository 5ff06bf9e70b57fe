"""The control socket: researchers, who are not root, label their data through the daemon.

A Unix stream socket at ``[daemon] control_socket``. Any local user may connect (mode
0666): the kernel tells us who they are (SO_PEERCRED), and ``labelling.service`` decides
what they may do. The socket is an attack surface reached by every local account, so:
- its directory must be owned by root or by us and writable by nobody else (else a user
  could put their own socket, or a link, in its place); a stale socket is removed only
  when it is a socket we own and no daemon answers on it;
- one request per connection: one JSON object on one line of at most ``MAX_REQUEST``
  bytes, read by ``READ_TIMEOUT`` seconds from the connection's start (a slow writer
  cannot hold a handler longer); anything else gets a JSON error and the connection is
  closed;
- at most ``MAX_CONNECTIONS`` are served at once; the next is told "busy" and closed, so a
  flood costs a few threads, never the daemon's loop (which this never touches: decisions
  are made in the handler's own store transaction);
- every failure is a JSON error response and a log line; never a traceback to the peer,
  never a dead thread.

Wire format (``labelling.service``): request ``{"op": "set", "paths": [...], ...}`` and a
newline; response one line, ``{"status": "ok"|"refused"|"error", "error": ..., ...}``.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import selectors
import socket
import stat
import struct
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import structlog

from dlpd.daemon.lifecycle import remaining
from dlpd.errors import DlpdError
from dlpd.labelling.model import Caller

_log = structlog.get_logger("dlpd.daemon.control")

MAX_REQUEST = 64 * 1024
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
MAX_CONNECTIONS = 4
_POLL = 0.2  # how often the accept loop looks at its stop flag
_LINGER = 1.0  # after the answer, drop what the peer still sends for this long ...
_LINGER_BYTES = 1 << 20  # ... or this much
_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


# The decoded request and the caller in, the response (``status`` and more) out. The daemon
# wires it to ``labelling.service.handle``; it may raise DlpdError for a refusal it
# cannot express otherwise (answered as an error).
Responder = Callable[[object, Caller], Mapping[str, object]]


class ControlSocketError(DlpdError):
    """The control socket cannot be opened safely (says why)."""


def caller_of(conn: socket.socket) -> Caller:
    """SO_PEERCRED (the credentials at connect time) and the uid's groups.

    The groups come from the user database (the uid's primary and supplementary groups),
    plus the gid the process had, not from /proc/<pid>/status: under the unit's
    ProtectProc=invisible the daemon cannot read other users' /proc entries, the pid may
    be gone or reused by the time we look, and the database is what lab IT administers
    (membership of ``label_admin_group`` is theirs to give).
    """
    pid, uid, gid = _UCRED.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                  _UCRED.size))
    gids = [gid]
    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        name = str(uid)
    else:
        name = entry.pw_name
        with contextlib.suppress(OSError, KeyError):
            gids += os.getgrouplist(name, entry.pw_gid)
    return Caller(uid=uid, gids=tuple(dict.fromkeys(gids)), name=name, pid=pid)


def _directory_problem(directory: Path) -> str | None:
    """Why ``directory`` may not hold our socket, or None. It must be a real directory
    owned by root or us, writable by no one else."""
    try:
        st = os.lstat(directory)
    except OSError as exc:
        return f"its directory {directory} cannot be used: {exc.strerror}"
    if not stat.S_ISDIR(st.st_mode):
        return f"{directory} is not a directory (a symbolic link is not accepted)"
    if st.st_uid not in (0, os.geteuid()):
        return f"{directory} is owned by uid {st.st_uid}, not by root or this daemon's user"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return (f"{directory} is writable by group or others (mode "
                f"{stat.S_IMODE(st.st_mode):04o}); another user could replace the socket")
    return None


def _remove_stale(path: Path) -> None:
    """Remove a socket left by an earlier daemon; refuse anything else at ``path``."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.geteuid():
        raise ControlSocketError(f"{path} exists and is not a socket of ours; not "
                                 "replacing it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(os.fspath(path))
    except OSError:
        os.unlink(path)  # no one answers: stale
        return
    finally:
        probe.close()
    raise ControlSocketError(f"another daemon is listening on {path}")


def listen(path: Path) -> socket.socket:
    """The listening socket at ``path`` (mode 0666), or ControlSocketError."""
    if problem := _directory_problem(path.parent):
        raise ControlSocketError(problem)
    _remove_stale(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(os.fspath(path))
        # Every local user may connect: SO_PEERCRED, not the mode, says who they are.
        # The directory is ours alone, so the name cannot be swapped before the chmod.
        os.chmod(path, 0o666)  # noqa: S103 - a socket: any user may connect, by design
        sock.listen(16)
    except OSError as exc:
        sock.close()
        raise ControlSocketError(f"cannot listen on {path}: {exc.strerror}") from None
    sock.setblocking(False)
    return sock


def _error(message: str) -> dict[str, object]:
    # The label service's response form (``LabelResponse.to_json``): one parser for both.
    return {"status": "error", "error": message}


class ControlServer:
    """The accept thread and up to ``MAX_CONNECTIONS`` handler threads (a ``Stoppable``).

    Built with an already listening socket (``listen``): a socket that cannot be opened
    safely is the daemon's to report before this starts.
    """

    name = "dlpd-control"

    def __init__(self, sock: socket.socket, path: Path, respond: Responder) -> None:
        self._sock = sock
        self._path = path
        self._respond = respond
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name=self.name,
                                        daemon=True)
        self._lock = threading.Lock()
        self._handlers: set[threading.Thread] = set()
        self._served = 0

    @property
    def path(self) -> Path:
        return self._path

    def start(self) -> None:
        self._thread.start()

    def stop(self, deadline: float) -> bool:
        self._stopping.set()
        self._thread.join(remaining(deadline))
        with self._lock:
            handlers = list(self._handlers)
        for handler in handlers:
            handler.join(remaining(deadline))
        done = not self._thread.is_alive() and not any(h.is_alive() for h in handlers)
        self._sock.close()
        with contextlib.suppress(OSError):
            # Only our own socket: the directory is ours, and the inode is the one we bound.
            os.unlink(self._path)
        return done

    # ---- accepting ---------------------------------------------------------------------

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._sock, selectors.EVENT_READ)
            while not self._stopping.is_set():
                if not selector.select(_POLL):
                    continue
                try:
                    conn, _ = self._sock.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as exc:
                    # EMFILE and friends: wait a little rather than spin.
                    _log.warning("control socket accept failed", error=exc.strerror)
                    time.sleep(_POLL)
                    continue
                self._dispatch(conn)

    def _dispatch(self, conn: socket.socket) -> None:
        conn.setblocking(True)
        with self._lock:
            self._handlers = {t for t in self._handlers if t.is_alive()}
            busy = len(self._handlers) >= MAX_CONNECTIONS
            if not busy:
                self._served += 1
                handler = threading.Thread(target=self._serve, args=(conn,),
                                           name=f"{self.name}-{self._served}", daemon=True)
                self._handlers.add(handler)
        if busy:
            _log.warning("control socket busy; connection refused",
                         limit=MAX_CONNECTIONS)
            self._reply(conn, _error(f"busy: {MAX_CONNECTIONS} requests are being "
                                     "served; try again"))
            _drop_buffered(conn)
            conn.close()
            return
        handler.start()

    # ---- one connection ----------------------------------------------------------------

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn:
                self._reply(conn, self._answer(conn))
                _linger(conn)
        except Exception:  # a handler never dies with an exception of its own
            _log.exception("control request failed")

    def _answer(self, conn: socket.socket) -> Mapping[str, object]:
        try:
            caller = caller_of(conn)
        except OSError as exc:
            return _error(f"cannot identify the caller: {exc.strerror}")
        request = _decode(_read_line(conn, time.monotonic() + READ_TIMEOUT))
        if isinstance(request, str):  # what is wrong with it
            _log.warning("control request refused", uid=caller.uid, pid=caller.pid,
                         error=request)
            return _error(request)
        try:
            return self._respond(request, caller)
        except DlpdError as exc:
            return _error(str(exc))
        except Exception as exc:
            _log.exception("control request failed", uid=caller.uid, pid=caller.pid)
            return _error(f"internal error: {type(exc).__name__}")

    def _reply(self, conn: socket.socket, response: Mapping[str, object]) -> None:
        data = (json.dumps(response, ensure_ascii=True) + "\n").encode("ascii")
        try:
            conn.settimeout(WRITE_TIMEOUT)
            conn.sendall(data)
        except OSError as exc:
            # The caller left or does not read: its loss, not ours.
            _log.info("control reply not delivered", error=exc.strerror or str(exc))


def _drop_buffered(conn: socket.socket) -> None:
    """Without waiting (the accept loop calls this): drop what the peer has already sent,
    so that closing does not reset the connection before it reads our answer."""
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_WR)
        conn.setblocking(False)
        dropped = 0
        while dropped < _LINGER_BYTES:
            chunk = conn.recv(65536)
            if not chunk:
                return
            dropped += len(chunk)


def _linger(conn: socket.socket) -> None:
    """Read and drop what the peer still sends (a request we refused half-way), for a
    bounded time and size: closing with unread data would reset the connection, and the
    peer could lose our answer before reading it."""
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + _LINGER
        dropped = 0
        while dropped < _LINGER_BYTES and (left := deadline - time.monotonic()) > 0:
            conn.settimeout(left)
            chunk = conn.recv(65536)
            if not chunk:
                return
            dropped += len(chunk)


def _decode(line: bytes | str) -> dict[str, object] | str:
    """The request object of ``line``, or what is wrong with it (``line`` already is)."""
    if isinstance(line, str):
        return line
    try:
        request = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return "malformed request: not one JSON object on one line"
    if not isinstance(request, dict):
        return "malformed request: not a JSON object"
    return request


def _read_line(conn: socket.socket, deadline: float) -> bytes | str:
    """The request line (without its newline), or what is wrong with it. The buffer is
    checked while it fills: a peer never makes us hold more than ``MAX_REQUEST``."""
    buffer = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return f"timeout: no complete request line within {READ_TIMEOUT:g} s"
        conn.settimeout(left)
        try:
            chunk = conn.recv(min(65536, MAX_REQUEST + 1 - len(buffer)))
        except TimeoutError:
            continue
        except OSError as exc:
            return f"cannot read the request: {exc.strerror or exc}"
        newline = chunk.find(b"\n")
        if newline >= 0:
            buffer += chunk[:newline]
            if len(buffer) > MAX_REQUEST:
                break
            return bytes(buffer)
        buffer += chunk
        if len(buffer) > MAX_REQUEST:
            break
        if not chunk:
            if buffer:
                return bytes(buffer)  # a last line without its newline is still a line
            return "empty request"
    return f"request too large: more than {MAX_REQUEST} bytes on one line"

