"""`dlpd run`: the daemon's lifecycle around its pipeline (dlpd/daemon/pipeline.py).

Threads and who owns what:
- the watch backend's thread turns kernel events into ``FsEvent``s on the inbox;
- the main thread runs this loop: it steps the pipeline (the only writer of alerts and
  the access log), and handles signals, reloads, timers, status and watchdog pings;
- a scan pool classifies settled files and puts results on the inbox;
- the reconciliation thread crawls (cache-answered) and puts its results on the inbox;
- one sender thread per sink drains the outbox.
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import sys
import time
from dataclasses import asdict
from pathlib import Path
from types import FrameType

import structlog

from dlpd import __version__
from dlpd.config import Settings, database_url, load_settings
from dlpd.daemon.notify import Notifier
from dlpd.daemon.pipeline import Pipeline
from dlpd.daemon.runtime import Runtime, build_runtime, build_sinks
from dlpd.daemon.senders import SinkSender
from dlpd.daemon.status import remove_status, runtime_dir, write_status
from dlpd.errors import ConfigError, DlpdError, StoreError
from dlpd.store.db import Engine, sqlite_files, store_directory_problem
from dlpd.watch.events import WatchBackend
from dlpd.watch.factory import build_watcher
from dlpd.wiring import build_engine

_log = structlog.get_logger("dlpd.daemon")

_STATUS_EVERY = 1.0


class Daemon:
    def __init__(self, runtime: Runtime, engine: Engine, notifier: Notifier,
                 runtime_dir: Path, lock_fd: int | None = None) -> None:
        self.rt = runtime
        self._lock_fd = lock_fd  # held (never read) for the process's lifetime
        self._engine = engine
        self._notifier = notifier
        self._runtime_dir = runtime_dir
        self.pipe = Pipeline(runtime, engine, self._wake_senders)
        self._watcher: WatchBackend | None = None
        self._senders: list[SinkSender] = []
        self._stop_requested = False
        self._reload_requested = False
        self._started = time.time()

    # ---- lifecycle -------------------------------------------------------------------

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGHUP, self._on_signal)
        self.pipe.load()
        self._start_senders()
        self._start_watching()
        self.pipe.reconciler.start()
        self.pipe.reconciler.request_full("start")
        self._next_reconcile = time.monotonic() + self.rt.settings.watch.reconcile_interval
        self._write_status()
        self._notifier.ready(self._status_line())
        _log.info("ready", roots=list(self.rt.roots), backend=self._watcher_name(),
                  watched_dirs=self._watched_dirs(), jobs=self.rt.jobs, version=__version__)
        try:
            self._loop()
        finally:
            self._shutdown()
        return 0

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        # Runs between bytecodes of the main thread: only set a flag and wake the loop.
        if signum == signal.SIGHUP:
            self._reload_requested = True
        else:
            self._stop_requested = True
        self.pipe.inbox.put(None)

    def _start_watching(self) -> None:
        watcher = build_watcher(self.rt.settings.watch.backend,
                                access_events=self.rt.settings.watch.access_events,
                                cross_devices=self.rt.settings.scan.cross_devices)
        roots = [r for r in self.rt.roots if os.path.isdir(r)]
        for missing in sorted(set(self.rt.roots) - set(roots)):
            _log.warning("watch path is not a directory; skipped", path=missing)
        watcher.start(roots, self.pipe.inbox.put, self.rt.pathfilter.is_pruned)
        self._watcher = watcher

    def _wake_senders(self) -> None:
        for sender in self._senders:
            sender.wake()

    def _start_senders(self) -> None:
        for sink in build_sinks(self.rt.settings, self.rt.policy.host):
            sender = SinkSender(sink, self._engine)
            sender.start()
            self._senders.append(sender)

    def _stop_senders(self, timeout: float) -> int:
        """Stop every sender within ``timeout`` overall; returns how many are still busy
        with a delivery (a hung receiver)."""
        deadline = time.monotonic() + timeout
        busy = sum(not sender.stop(max(0.0, deadline - time.monotonic()))
                   for sender in self._senders)
        self._senders = []
        return busy

    def _shutdown(self) -> None:
        bound = self.rt.settings.daemon.shutdown_timeout
        deadline = time.monotonic() + bound
        self._notifier.stopping()
        _log.info("stopping", in_flight=self.pipe.in_flight_files, queued=len(self.pipe.settler))
        if self._watcher is not None:
            self._watcher.stop()
        self.pipe.reconciler.stop(max(0.1, deadline - time.monotonic()))
        # Finish what is being scanned; what is only queued is found by the next start's
        # crawl (its stat key no longer matches the store).
        self.pipe.waiting.clear()
        while self.pipe.in_flight and time.monotonic() < deadline:
            self.pipe.step(min(0.1, max(0.0, deadline - time.monotonic())))
        abandoned = self.pipe.in_flight_files
        self.pipe.drain_inbox()
        self.pipe.flush_access()
        busy_senders = self._stop_senders(max(0.1, deadline - time.monotonic()))
        remove_status(self._runtime_dir)
        self.pipe.pool.shutdown(wait=not abandoned, cancel_futures=True)
        if busy_senders:
            _log.warning("deliveries still in progress at shutdown; they will be retried",
                         senders=busy_senders)
        if abandoned or busy_senders:
            if abandoned:
                _log.warning("gave up on in-flight scans at shutdown", count=abandoned)
            # A scan stuck in a native call, or a delivery waiting on a receiver that does not
            # answer, cannot be interrupted: don't let it hold the exit past the bound.
            sys.stderr.flush()
            os._exit(0)
        _log.info("stopped")

    # ---- the loop ----------------------------------------------------------------------

    def _loop(self) -> None:
        last_status = 0.0
        last_ping = 0.0
        ping_every = (self._notifier.watchdog_interval() or 0.0) / 2
        while not self._stop_requested:
            try:
                self.pipe.step(self.pipe.sleep_time())
            except StoreError as exc:
                # The batch is lost (locked or full disk, ...): the crawl finds its files
                # again, and resolves alerts of what disappeared meanwhile.
                _log.error("store write failed; will reconcile", error=str(exc))
                self.pipe.reconciler.request_full("store error")
                time.sleep(1.0)
            now = time.monotonic()
            if self._reload_requested:
                self._reload_requested = False
                self._reload()
            if now >= self._next_reconcile:
                self.pipe.reconciler.request_full("interval")
                self._next_reconcile = now + self.rt.settings.watch.reconcile_interval
            if now - last_status >= _STATUS_EVERY:
                last_status = now
                self.pipe.settle_opens(now)
                self.pipe.flush_access()
                self._write_status()
            if ping_every and now - last_ping >= ping_every and self._is_healthy(now):
                last_ping = now
                self._notifier.watchdog()

    # ---- scanning ------------------------------------------------------------------------

    # ---- reload, health, status --------------------------------------------------------

    def _reload(self) -> None:
        old = self.rt
        source = old.settings.source
        self._notifier.reloading()
        try:
            settings = load_settings(source)
            if settings.database.url != old.settings.database.url:
                raise DlpdError("database.url: cannot change on reload; restart dlpd")
            new = build_runtime(settings, str(self._runtime_dir))
        except DlpdError as exc:
            _log.error("reload failed; keeping the running configuration",
                       config=str(source), error=str(exc))
            self._notifier.ready(f"reload failed: {exc}"[:200])
            return
        self.rt = new
        self.pipe.configure(new)
        if new.settings.sinks != old.settings.sinks:
            self._stop_senders(5.0)
            self._start_senders()
        watch_changed = _watch_set(new) != _watch_set(old)
        if watch_changed and self._watcher is not None:
            self._watcher.stop()
            self._start_watching()
        if new.classifier.version != old.classifier.version or watch_changed \
                or new.policy != old.policy:
            self.pipe.reconciler.request_full("reload")
        _log.info("reloaded", config=str(source), rules_version=new.classifier.version,
                  watch_changed=watch_changed)
        self._notifier.ready(self._status_line())

    def _is_healthy(self, now: float) -> bool:
        """False once a scan or a crawl has been stuck far beyond the scan budget: then the
        watchdog pings stop and systemd restarts us."""
        stuck_after = 2 * self.rt.settings.limits.scan_timeout + 30
        oldest = min((started for _p, started in self.pipe.in_flight.values()), default=None)
        if oldest is not None and now - oldest > stuck_after:
            _log.error("a scan is stuck; withholding the watchdog ping",
                       seconds=round(now - oldest))
            return False
        crawl_since = self.pipe.reconciler.running_since
        if crawl_since is not None and now - self.pipe.last_progress > stuck_after:
            _log.error("the reconciliation crawl is stuck; withholding the watchdog ping")
            return False
        return True

    def _watcher_name(self) -> str:
        return self._watcher.name if self._watcher is not None else "none"

    def _watched_dirs(self) -> int:
        return self._watcher.watched_dirs() if self._watcher is not None else 0

    def _status_line(self) -> str:
        last = self.pipe.reconciler.last_full
        crawl = ("crawling" if self.pipe.reconciler.running_since is not None
                 else f"last crawl {time.strftime('%H:%M:%S', time.localtime(last.finished))}"
                 if last else "no crawl yet")
        return (f"watching {self._watched_dirs()} dirs; queue {self.pipe.queue_depth()}; "
                f"{crawl}; {self.pipe.alerter.raised} alerts raised")

    def _write_status(self) -> None:
        now_m = time.monotonic()
        oldest = self.pipe.oldest_queued()
        last, last_full = self.pipe.reconciler.last, self.pipe.reconciler.last_full
        status = {
            "pid": os.getpid(),
            "version": __version__,
            "started": self._started,
            "updated": time.time(),
            "config": str(self.rt.settings.source) if self.rt.settings.source else None,
            "backend": self._watcher_name(),
            "roots": list(self.rt.roots),
            "watched_dirs": self._watched_dirs(),
            "unwatched": sorted(self.pipe.unwatched),
            "queue_depth": self.pipe.queue_depth(),
            "in_flight": self.pipe.in_flight_files,
            "oldest_queued_age": None if oldest is None else round(now_m - oldest, 3),
            "events": self.pipe.events,
            "events_by_kind": dict(self.pipe.events_by_kind),
            "overflows": self.pipe.overflows,
            "scanned": self.pipe.scanned,
            "alerts_raised": self.pipe.alerter.raised,
            "alerts_resolved": self.pipe.alerter.resolved,
            "crawl_running_since": self.pipe.reconciler.running_since,
            "crawl_pending": self.pipe.reconciler.pending,
            "last_crawl": None if last is None else asdict(last),
            "last_full_crawl": None if last_full is None else asdict(last_full),
            "rules_version": self.rt.classifier.version,
            "sinks": {s.sink.name: {"delivered": s.delivered, "failures": s.failures,
                                    "last_error": s.last_error} for s in self._senders},
        }
        try:
            write_status(self._runtime_dir, status)
        except OSError as exc:
            _log.warning("status file not written", dir=str(self._runtime_dir),
                         error=exc.strerror)
        self._notifier.status(self._status_line())


def _watch_set(rt: Runtime) -> tuple[object, ...]:
    """What the watcher was started with: a change needs a new watcher."""
    w = rt.settings.watch
    return (w.paths, w.backend, w.access_events, w.exclude)


def start_daemon(settings: Settings) -> Daemon:
    """Build everything `dlpd run` needs; ConfigError/SignatureError for a bad
    configuration (exit 78), StoreError when the database cannot be opened or another
    daemon already runs on it."""
    if not settings.watch.paths:
        raise ConfigError("watch.paths", "no directories to watch; list at least one")
    url = database_url(settings)
    if problem := store_directory_problem(url):
        # A daemon running as root must not trust a store that a user can swap.
        raise ConfigError("database.url", problem)
    directory = runtime_dir(settings)
    lock_fd = _lock_store(settings, directory)
    runtime = build_runtime(settings, str(directory))
    engine = build_engine(settings)
    return Daemon(runtime, engine, Notifier.from_env(), directory, lock_fd)


def _lock_store(settings: Settings, directory: Path) -> int:
    """Take the store's lock, ``<database>.lock`` (the runtime directory's ``dlpd.lock``
    for a server database), for as long as this process lives. Two daemons on one store
    would deliver every alert twice and fight over its state. `dlpd scan` does not take
    it: SQLite serialises its writes with the daemon's.
    """
    files = sqlite_files(database_url(settings))
    path = Path(files[0] + ".lock") if files else directory / "dlpd.lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise StoreError(f"cannot open the lock file {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            raise StoreError(f"another dlpd daemon is running on this store (it holds "
                             f"{path}); stop it first") from None
        raise StoreError(f"cannot lock {path}: {exc.strerror}") from None
    return fd
