"""What dlpd's two kernel readers (inotify.py, fanotify.py) share: start once, a reader
thread that blocks in poll() on the kernel's descriptor and a wake pipe, and a stop that
wakes it, joins it and closes every descriptor. Standard library only.

A subclass opens its descriptor into ``_fd`` between ``_begin()`` and ``_spawn()``,
implements ``_read_loop(poller)`` (return when ``_woken(ready)``) and ``_release()``
(its own state, after the descriptors are closed).
"""

from __future__ import annotations

import os
import select
import threading


class KernelReader:
    name: str

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = False
        self._stopped = False
        self._fd = self._wake_r = self._wake_w = -1
        self._thread: threading.Thread | None = None

    def _begin(self) -> None:
        """The start of ``start()``: only once, never after ``stop()``."""
        with self._lock:
            if self._started or self._stopped:
                raise RuntimeError(f"{type(self).__name__}.start() may be called once")
            self._started = True

    def _spawn(self) -> None:
        """The end of ``start()``: the wake pipe and the reader thread."""
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._thread = threading.Thread(target=self._run, name=f"dlpd-{self.name}",
                                        daemon=False)
        self._thread.start()

    def stop(self) -> None:
        """Stop reading, join the reader, close the descriptors (the kernel drops the
        watches or marks with them)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            thread = self._thread
            if thread is not None:
                os.write(self._wake_w, b"x")
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._close()

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        self._read_loop(poller)

    def _woken(self, ready: list[tuple[int, int]]) -> bool:
        """Whether the reader must return: stopped, or woken by ``stop()``."""
        return self._stopped or any(f == self._wake_r for f, _ in ready)

    def _read_loop(self, poller: select.poll) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        for attr in ("_fd", "_wake_r", "_wake_w"):
            fd = getattr(self, attr)
            if fd >= 0:
                setattr(self, attr, -1)
                os.close(fd)
        self._release()

    def _release(self) -> None:
        """A subclass's own state, once the descriptors are closed."""
