"""A watcher in its own process, for what a test cannot do to its own process: be
stopped with SIGSTOP (a reader that is not draining) or run in a user namespace with its
own inotify watch limit.

    python watch_child.py BACKEND ROOT

Prints one JSON object per line on stdout: ``{"ready": N}`` once ``start`` has returned
(N = watched directories), then ``{"kind", "path", "src"}`` per event. Logs go to stderr
as JSON lines. Stops the watcher and exits when stdin closes.
"""

from __future__ import annotations

import json
import logging
import queue
import sys
import threading

import structlog

from dlpd.watch.events import FsEvent
from dlpd.watch.factory import build_watcher


def main() -> None:
    backend, root = sys.argv[1], sys.argv[2]
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    inbox: queue.SimpleQueue[FsEvent | None] = queue.SimpleQueue()
    watcher = build_watcher(backend, access_events=False)
    watcher.start([root], inbox.put, lambda _p: False)
    print(json.dumps({"ready": watcher.watched_dirs()}), flush=True)

    def wait_for_eof() -> None:
        sys.stdin.read()
        inbox.put(None)

    threading.Thread(target=wait_for_eof, daemon=True).start()
    out = sys.stdout
    while (ev := inbox.get()) is not None:
        out.write(json.dumps({"kind": ev.kind.value, "path": ev.path, "src": ev.src_path})
                  + "\n")
        if inbox.empty():
            out.flush()
    watcher.stop()
    print(json.dumps({"stopped": True}), flush=True)


if __name__ == "__main__":
    main()
