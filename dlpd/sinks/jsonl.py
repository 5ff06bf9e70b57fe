"""Appends each alert event, one JSON object per line, to a local file.

The line is the outbox body byte for byte, so a log shipper (Filebeat, Vector, Fluent
Bit) tailing the file sees what a webhook receiver would. Each line is fsynced before
``deliver`` returns: a delivered message survives a crash of the machine.

Rotation-safe: before each write the sink checks that the path still names the file it
holds open (``logrotate`` without ``copytruncate`` renames it away), and reopens it
otherwise. Local file writes cannot be interrupted, so ``timeout`` is not enforced here
(a hung network file system blocks this sink's own sender thread, and no other).
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from dlpd.errors import SinkError
from dlpd.model import OutboxMessage

_FILE_MODE = 0o600  # alert paths and labels are sensitive
_DIR_MODE = 0o700


class JsonlSink:
    def __init__(self, name: str, path: Path, timeout: float) -> None:
        self.name = name
        self.path = path
        self.timeout = timeout
        self._fd: int | None = None
        # close() may come from another thread while a delivery runs; without the lock it
        # could close a descriptor that a new open() reuses before our write.
        self._lock = threading.Lock()

    def deliver(self, message: OutboxMessage) -> None:
        line = (message.body + "\n").encode("utf-8")
        with self._lock:
            try:
                fd = self._current_fd()
                _append(fd, line)
            except OSError as exc:
                self._close_locked()
                raise SinkError(f"{self.path}: {exc.strerror or exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._close_locked()

    def _current_fd(self) -> int:
        """The open descriptor of ``path``, reopened if the file was rotated or removed."""
        if self._fd is not None and not _is_same_file(self._fd, self.path):
            self._close_locked()
        if self._fd is None:
            self.path.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                               _FILE_MODE)
        return self._fd

    def _close_locked(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            # The descriptor is gone either way; the next delivery reopens the path.
            with contextlib.suppress(OSError):
                os.close(fd)


def _is_same_file(fd: int, path: Path) -> bool:
    try:
        at_path = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (at_path.st_dev, at_path.st_ino) == (held.st_dev, held.st_ino)


def _append(fd: int, line: bytes) -> None:
    """Write all of ``line`` and fsync. After a partial write (disk full), cut the file
    back so that the retry does not leave half a JSON object in front of its line."""
    start = os.fstat(fd).st_size
    written = 0
    try:
        while written < len(line):
            written += os.write(fd, line[written:])
        os.fsync(fd)
    except OSError:
        if written:
            # Best effort: the original error is the one to report.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
        raise
