"""`dlpd run`: the daemon's main loop is here (``Daemon._loop``), with its lifecycle.

Threads and who owns what (each started by its owner and stopped with one deadline,
``lifecycle.py``):
- the watch backend's thread (``watching.py``) turns kernel events into ``FsEvent``s on
  the pipeline's inbox;
- the main thread runs this loop: it steps the pipeline (``pipeline.py``, the only
  writer of alerts and the access log), and handles signals, reloads, timers, status and
  watchdog pings;
- the pipeline owns the scan pool (``scheduling.py``), which classifies settled files,
  and the reconciliation thread (``reconcile.py``), which crawls; both put their results
  on the inbox;
- one sender thread per sink (``senders.py``) drains the outbox;
- the control socket's thread (``control.py``) answers `dlpd label` through
  ``labelling.service``, each request in its own store transaction.

An unreachable store (a PostgreSQL restarting, a network gone) is an outage the loop
rides out (``outage.py``): it goes on watching, settling and reading, its writes wait for
the store (``commit.py`` keeps what failed and reads it again), no crawl starts and the
senders are stopped (each would fail at once), and probes back off. When the store
answers again, the loop takes the store's view again (alerts, labels, the cell key) and
asks for one full reconciliation: what changed meanwhile is found, no alert lost. A
daemon on a server database that cannot reach it at start starts like this.
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

import structlog

from dlpd import __version__
from dlpd.config import Settings, database_url, load_settings
from dlpd.daemon.control import ControlServer, ControlSocketError, listen
from dlpd.daemon.lifecycle import stop_all
from dlpd.daemon.notify import Notifier
from dlpd.daemon.outage import StoreHealth, check_schema, open_or_later, probe
from dlpd.daemon.pipeline import Pipeline
from dlpd.daemon.runtime import Runtime, build_runtime, build_sinks
from dlpd.daemon.senders import SinkSender
from dlpd.daemon.status import DaemonStatus, remove_status, runtime_dir, write_status
from dlpd.daemon.watching import Watching
from dlpd.errors import ConfigError, DlpdError, StoreError
from dlpd.labelling.model import Caller
from dlpd.labelling.resolve import PrintPlan
from dlpd.labelling.service import LabelContext, LabelRequest, handle
from dlpd.store.db import Engine, sqlite_files, store_directory_problem
from dlpd.wiring import cell_key_of, prints_wanted

_log = structlog.get_logger("dlpd.daemon")

_STATUS_EVERY = 1.0
_RESTART_BOUND = 5.0  # seconds for the senders or the watcher a reload replaces


class Daemon:
    def __init__(self, runtime: Runtime, engine: Engine, notifier: Notifier,
                 runtime_dir: Path, lock_fd: int | None = None,
                 unreachable: StoreError | None = None) -> None:
        self.rt = runtime
        self._lock_fd = lock_fd  # held (never read) for the process's lifetime
        self._engine = engine
        self._notifier = notifier
        self._runtime_dir = runtime_dir
        self.pipe = Pipeline(runtime, engine, self._wake_senders)
        self._watcher = Watching(runtime, self.pipe.put)
        self._senders: list[SinkSender] = []
        self._control: ControlServer | None = None
        self._label_ctx: LabelContext | None = None
        self._stop_requested = False
        self._reload_requested = False
        self._started = time.time()
        self._health = StoreHealth()
        # Started without the store (``unreachable``): what it knows is loaded when it
        # answers, before the reconciliation.
        self._loaded = unreachable is None
        if unreachable is not None:
            self._health.failed(str(unreachable))

    # ---- lifecycle -------------------------------------------------------------------

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGHUP, self._on_signal)
        if self._loaded:
            self.pipe.load()
            self._start_senders()
        else:
            self.pipe.hold_crawls(True)
        self._watcher.start()
        self.pipe.start()
        self._next_reconcile = time.monotonic() + self.rt.settings.watch.reconcile_interval
        self._write_status()
        self._start_control()
        self._notifier.ready(self._status_line())
        _log.info("ready", roots=list(self.rt.roots), backend=self._watcher.backend_name(),
                  watched_dirs=self._watcher.watched_dirs(), jobs=self.rt.jobs,
                  version=__version__)
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
        self.pipe.put(None)

    def _wake_senders(self) -> None:
        for sender in self._senders:
            sender.wake()

    def _start_senders(self) -> None:
        for sink in build_sinks(self.rt.settings, self.rt.policy.host):
            sender = SinkSender(sink, self._engine, host=self.rt.policy.host)
            sender.start()
            self._senders.append(sender)

    def _start_control(self) -> None:
        """Open the control socket (after the first status, so that the runtime directory
        exists). One that cannot be opened safely is logged, and the daemon watches on
        without it: labels are then set by root on the store."""
        path = self.rt.settings.daemon.control_socket
        try:
            self._label_ctx = self._label_context(self.rt)
            sock = listen(path)
        except (ControlSocketError, ConfigError) as exc:
            _log.error("control socket not opened; `dlpd label` cannot reach the daemon",
                       socket=str(path), error=str(exc))
            return
        self._control = ControlServer(sock, path, self._label_request)
        self._control.start()
        _log.info("control socket open", socket=str(path))

    def _label_context(self, rt: Runtime) -> LabelContext:
        return LabelContext.from_settings(rt.settings, self._engine, roots=rt.roots)

    def _label_request(self, request: object, caller: Caller) -> Mapping[str, object]:
        """One request from the control socket (a handler thread): LabelError for a
        malformed one, answered as an error by the server."""
        ctx = self._label_ctx
        assert ctx is not None  # set before the server starts
        parsed = LabelRequest.from_json(request)
        response = handle(parsed, caller, ctx)
        changed = [r.path for r in response.results if r.allowed and r.changed]
        if changed and parsed.op in ("set", "remove"):
            # Read the labelled files again (another thread: the crawl request is locked):
            # registered, or forgotten, as sources now, not when they next change.
            self.pipe.relabelled(changed)
        _log.info("label request", op=parsed.op, paths=len(parsed.paths), uid=caller.uid,
                  pid=caller.pid, status=response.status)
        return response.to_json()

    def _stop_senders(self, deadline: float) -> list[str]:
        """Stop every sender by ``deadline``; returns the names of those still busy with
        a delivery (a hung receiver)."""
        late = stop_all(self._senders, deadline)
        self._senders = []
        return late

    def _shutdown(self) -> None:
        """Every thread the daemon owns stops by one deadline: the watcher, the pipeline's
        crawl and scan pool (what is being scanned is written first), the senders."""
        deadline = time.monotonic() + self.rt.settings.daemon.shutdown_timeout
        self._notifier.stopping()
        # No label request is taken once stopping: the control socket goes first.
        late = stop_all([self._control] if self._control else [], deadline)
        late += stop_all([self._watcher], deadline)
        late += self.pipe.stop(deadline)
        late += self._stop_senders(deadline)
        remove_status(self._runtime_dir)
        if late:
            # A scan stuck in a native call, or a delivery waiting on a receiver that does
            # not answer, cannot be interrupted: don't let it hold the exit past the bound.
            # Deliveries stay in the outbox; files are found by the next start's crawl.
            _log.warning("threads still running at the shutdown bound; exiting without "
                         "them", threads=late)
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
                # Not the step's writes (``commit.py`` keeps and retries those): the
                # store failing under something else is an outage too, ended by a probe.
                self._store_failed(exc)
                time.sleep(0.1)
            now = time.monotonic()
            if self._reload_requested:
                self._reload_requested = False
                self._reload()
            if now >= self._next_reconcile:
                if self._health.down is None:  # else the store's return asks for one
                    self.pipe.reconcile("interval")
                self._next_reconcile = now + self.rt.settings.watch.reconcile_interval
            if now - last_status >= _STATUS_EVERY:
                last_status = now
                self._check_store()
                self.pipe.settle_opens(now)
                if self._health.down is None:  # kept in memory until the store is back
                    self.pipe.flush_access()
                self._write_status()
            if ping_every and now - last_ping >= ping_every and self._is_healthy(now):
                last_ping = now
                self._notifier.watchdog()

    # ---- the store's outages ------------------------------------------------------------

    def _check_store(self) -> None:
        """Probe the store (every second while it answers, with back-off while not); on
        its return, take its view and reconcile once."""
        if not self._health.is_probe_due():
            return
        try:
            probe(self._engine)
            if self._health.down is not None:
                self._store_back()
        except StoreError as exc:
            self._store_failed(exc)
            return
        self._health.succeeded()

    def _store_failed(self, exc: StoreError) -> None:
        if self._health.failed(str(exc)):
            # Each would fail at once: no crawl, no delivery until the store answers.
            self.pipe.hold_crawls(True)
            if late := self._stop_senders(time.monotonic() + _RESTART_BOUND):
                _log.warning("senders still delivering as the store went away",
                             threads=late)

    def _store_back(self) -> None:
        """What the daemon keeps of the store is taken again (another daemon, or a
        rollback, may have changed it; at a start without the store it was never read),
        then one full crawl finds what changed while nothing could be written.
        StoreError if the store fails again meanwhile (the outage goes on)."""
        if not self._loaded:
            self._load_first()
        self.pipe.load()
        self._loaded = True
        self._start_senders()
        self.pipe.hold_crawls(False)
        self.pipe.reconcile("store back")

    def _load_first(self) -> None:
        """Started without the store: its schema checked, its cell key for the content
        prints (a runtime built again with it, as a reload would)."""
        check_schema(self.rt.settings)
        old = self.rt
        if old.cell_key is None and prints_wanted(old.settings):
            key = cell_key_of(self._engine)
            try:
                self.rt = build_runtime(old.settings, str(self._runtime_dir), cell_key=key,
                                        plan=old.plan or PrintPlan())
            except DlpdError as exc:  # built once already: only a changed rule file
                _log.error("content prints stay off until a reload", error=str(exc))
                return
            self.pipe.configure(self.rt)

    # ---- reload, health, status --------------------------------------------------------

    def _reload(self) -> None:
        old = self.rt
        source = old.settings.source
        self._notifier.reloading()
        try:
            settings = load_settings(source)
            if settings.database.url != old.settings.database.url:
                raise DlpdError("database.url: cannot change on reload; restart dlpd")
            key = old.cell_key
            if key is None and prints_wanted(settings) and self._loaded:
                key = cell_key_of(self._engine)
            new = build_runtime(settings, str(self._runtime_dir), cell_key=key,
                                plan=old.plan or PrintPlan())
        except DlpdError as exc:
            _log.error("reload failed; keeping the running configuration",
                       config=str(source), error=str(exc))
            self._notifier.ready(f"reload failed: {exc}"[:200])
            return
        self.rt = new
        self.pipe.configure(new)
        self._reload_labels(old, new)
        if new.settings.sinks != old.settings.sinks:
            if late := self._stop_senders(time.monotonic() + _RESTART_BOUND):
                _log.warning("senders still delivering at reload", threads=late)
            if self._health.down is None:  # else the store's return starts them
                self._start_senders()
        watch_changed = _watch_set(new) != _watch_set(old)
        if watch_changed:
            self._watcher.stop(time.monotonic() + _RESTART_BOUND)
            self._watcher = Watching(new, self.pipe.put)
            self._watcher.start()
        if new.classifier.version != old.classifier.version or watch_changed \
                or new.policy != old.policy:
            self.pipe.reconcile("reload")
        _log.info("reloaded", config=str(source), rules_version=new.classifier.version,
                  watch_changed=watch_changed)
        self._notifier.ready(self._status_line())

    def _reload_labels(self, old: Runtime, new: Runtime) -> None:
        """New label names, roots and admin group for the control socket's requests; its
        path changes only with a restart (researchers' commands know it)."""
        if new.settings.daemon.control_socket != old.settings.daemon.control_socket:
            _log.warning("daemon.control_socket changes only on restart",
                         socket=str(old.settings.daemon.control_socket))
        if self._control is None:
            return
        try:
            self._label_ctx = self._label_context(new)
        except ConfigError as exc:
            _log.error("label settings not reloaded; keeping the running ones",
                       error=str(exc))

    def _is_healthy(self, now: float) -> bool:
        """False once a scan or a crawl has been stuck far beyond the scan budget: then the
        watchdog pings stop and systemd restarts us."""
        stuck = self.pipe.stuck(now, after=2 * self.rt.settings.limits.scan_timeout + 30)
        if stuck is not None:
            _log.error("withholding the watchdog ping", why=stuck)
            return False
        return True

    def _status_line(self) -> str:
        stats = self.pipe.stats(time.monotonic())
        last = stats.last_full_crawl
        crawl = ("crawling" if stats.crawl_running_since is not None
                 else f"last crawl {time.strftime('%H:%M:%S', time.localtime(last.finished))}"
                 if last else "no crawl yet")
        down = self._health.down
        return ((f"{down.line()}; " if down is not None else "")
                + f"watching {self._watcher.watched_dirs()} dirs; queue {stats.queue_depth}; "
                f"{crawl}; {stats.alerts_raised} alerts raised")

    def status(self) -> DaemonStatus:
        stats = self.pipe.stats(time.monotonic())
        return DaemonStatus(
            pid=os.getpid(), version=__version__, started=self._started, updated=time.time(),
            config=str(self.rt.settings.source) if self.rt.settings.source else None,
            host=self.rt.policy.host, backend=self._watcher.backend_name(),
            roots=tuple(self.rt.roots),
            watched_dirs=self._watcher.watched_dirs(), unwatched=stats.unwatched,
            queue_depth=stats.queue_depth, in_flight=stats.in_flight,
            oldest_queued_age=stats.oldest_queued_age, events=stats.events,
            events_by_kind=stats.events_by_kind, overflows=stats.overflows,
            scanned=stats.scanned, alerts_raised=stats.alerts_raised,
            alerts_resolved=stats.alerts_resolved,
            crawl_running_since=stats.crawl_running_since,
            crawl_pending=stats.crawl_pending, last_crawl=stats.last_crawl,
            last_full_crawl=stats.last_full_crawl, rules_version=self.rt.classifier.version,
            sinks={s.sink.name: s.status() for s in self._senders},
            store_unreachable=self._health.down)

    def _write_status(self) -> None:
        try:
            write_status(self._runtime_dir, self.status())
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
    url = database_url(settings)
    if problem := store_directory_problem(url):
        # A daemon running as root must not trust a store that a user can swap.
        raise ConfigError("database.url", problem)
    directory = runtime_dir(settings)
    lock_fd = _lock_store(settings, directory)
    engine, unreachable = open_or_later(settings)
    key = cell_key_of(engine) if unreachable is None and prints_wanted(settings) else None
    runtime = build_runtime(settings, str(directory), cell_key=key,
                            plan=PrintPlan())
    return Daemon(runtime, engine, Notifier.from_env(), directory, lock_fd, unreachable)


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
