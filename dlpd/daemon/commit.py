"""One step's transaction: results, alerts, forgets and access rows, all or nothing.

What the daemon keeps in memory that mirrors the store (the alert index, the labelled
paths, the access rows a write records) changes only once the transaction committed. A
failed write changes nothing: every file of the batch is read and decided again, and
every forget retried, after a back-off that grows while the store keeps failing (a full
disk must not keep a core busy) and resets with a write that succeeds.

Main thread only; the clock is an argument.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from dlpd.daemon.access_log import AccessAggregator
from dlpd.daemon.alerting import Alerter
from dlpd.daemon.attribution import ExposureCheck
from dlpd.dirfd import open_below, root_of
from dlpd.errors import DlpdError, LabelError, os_reason
from dlpd.labelling.marker import MARKER_NAME
from dlpd.labelling.markers import apply_marker, marker_deleted, read_marker
from dlpd.labelling.resolve import Resolver
from dlpd.labelling.service import LabelContext
from dlpd.model import AccessKind, Actor, FileResult, Severity, display_path
from dlpd.store import files as files_repo
from dlpd.store.db import Connection, Engine, transaction
from dlpd.watch.settle import Pending

_log = structlog.get_logger("dlpd.daemon")

RETRY_FIRST = 1.0
RETRY_MAX = 30.0


@dataclass(slots=True)
class Scanned:
    result: FileResult
    pending: Pending | None  # None: from a crawl (already stored by the crawl)


@dataclass(frozen=True, slots=True)
class Unauthorized:
    """``actor`` opened ``path`` (labelled ``labels``) without being among the readers of
    ``denied``."""

    path: str
    labels: tuple[str, ...]
    denied: tuple[str, ...]
    actor: Actor
    wall: float


@dataclass(slots=True)
class Batch:
    """What one step writes in one transaction."""

    results: list[Scanned] = field(default_factory=list)
    gone: list[tuple[str, str, bool]] = field(default_factory=list)  # path, why, is_dir
    opened: list[Unauthorized] = field(default_factory=list)
    # Labelled files whose mode, owner or ACL may have changed: exposure is judged again.
    attributes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Effects:
    """What a transaction changes outside the store, applied once it committed."""

    labelled: dict[str, tuple[str, ...] | None] = field(default_factory=dict)  # None: drop
    access: list[tuple[str, AccessKind, tuple[str, ...], str | None, Actor | None]] = field(
        default_factory=list)  # path, kind, labels, src_path, actor
    relabelled: list[str] = field(default_factory=list)  # directories a marker labelled


@dataclass(slots=True)
class _Retry:
    """What a failed store write left to do again once ``due``."""

    due: float = 0.0
    wait: float = 0.0  # the current back-off; 0 while the store works
    # kind, move source, actor
    files: dict[str, tuple[AccessKind, str | None, Actor | None]] = field(default_factory=dict)
    gone: list[tuple[str, str, bool]] = field(default_factory=list)


class StepWriter:
    """Writes batches; owns the labelled-paths index and the retry of failed writes.

    ``forget_read(path)`` is told of every path whose read no longer counts: forgotten by
    the transaction, or part of a batch whose write failed.
    """

    def __init__(self, engine: Engine, alerter: Alerter, access: AccessAggregator,
                 forget_read: Callable[[str], None], resolver: Resolver | None = None
                 ) -> None:
        self._engine = engine
        self._alerter = alerter
        # Labels set by people, copies and extracts (labelling.resolve); None: detected
        # labels only.
        self.resolver = resolver
        # For marker files (.dlpd-label): applied as `label set` by their owner. Set by the
        # pipeline; ``relabel`` asks for the labelled directory to be read again.
        self.label_ctx: LabelContext | None = None
        # Who outside a label's readers can read a file (set by the pipeline); None: not
        # judged.
        self.exposure: ExposureCheck | None = None
        self.relabel: Callable[[list[str]], None] = lambda _paths: None
        self._access = access
        self._forget_read = forget_read
        self._labelled: dict[str, tuple[str, ...]] = {}
        self._retry = _Retry()
        # The main loop knows the store is unreachable (and has said so once): a failed
        # write is then kept for its retry without a log line or a reload of the index.
        self.quiet = False

    @property
    def _host(self) -> str:
        # The cache rows this daemon reads and writes are its host's ([daemon] host).
        return self._alerter.policy.host

    def load(self) -> None:
        """What the store knows that is kept in memory: active alerts, labels."""
        with transaction(self._engine) as conn:
            self._alerter.load(conn)
            self._labelled = files_repo.labelled_paths(conn, host=self._host)
            if self.resolver is not None:
                self.resolver.refresh(conn)

    def labels(self, path: str) -> tuple[str, ...] | None:
        """``path``'s labels as the store has them (committed)."""
        return self._labelled.get(path)

    # ---- the retry of failed writes ----------------------------------------------------

    def due_files(self, now: float) -> dict[str, tuple[AccessKind, str | None, Actor | None]]:
        """Files of failed writes to read again, once their back-off has passed: path ->
        (event kind, move source, actor)."""
        retry = self._retry
        if not retry.files or retry.due > now:
            return {}
        files, retry.files = retry.files, {}
        return files

    def due_forgets(self, now: float) -> list[tuple[str, str, bool]]:
        """Forgets of failed writes to try again, once their back-off has passed."""
        retry = self._retry
        if not retry.gone or retry.due > now:
            return []
        gone, retry.gone = retry.gone, []
        return gone

    def next_retry(self) -> float | None:
        """When the retry of a failed write is due (None: nothing to retry)."""
        return self._retry.due if self._retry.files or self._retry.gone else None

    # ---- the transaction ---------------------------------------------------------------

    def write(self, batch: Batch, rules_version: str, now: float, wall: float,
              scan_started_ns: int) -> bool:
        """Write ``batch`` in one transaction; True when something was committed. A
        failure is logged and the batch kept for a retry (nothing of it happened)."""
        if not (batch.results or batch.gone or batch.opened or batch.attributes):
            return False
        effects = _Effects()
        try:
            with transaction(self._engine) as conn:
                if self.resolver is not None:
                    self.resolver.refresh(conn)
                for path, why, is_dir in batch.gone:
                    self._forget(conn, path, why, is_dir, wall, effects)
                fresh = [s.result for s in batch.results if s.pending is not None]
                if fresh:
                    files_repo.save_results(conn, fresh, host=self._host,
                                            rules_version=rules_version,
                                            scan_started_ns=scan_started_ns, now=wall)
                for scanned in batch.results:
                    self._decide(conn, scanned, wall, effects)
                self._access_alerts(conn, batch, wall)
        except DlpdError as exc:
            self._alerter.rollback()
            self._failed(batch, exc, now)
            return False
        self._alerter.commit()
        for path, labels in effects.labelled.items():
            if labels:
                self._labelled[path] = labels
            else:
                self._labelled.pop(path, None)
        for path, kind, labels, src, actor in effects.access:
            self._access.record(path, kind, labels, wall, src_path=src, actor=actor)
        if effects.relabelled:
            self.relabel(effects.relabelled)
        self._retry.wait = 0.0
        return True

    def _failed(self, batch: Batch, exc: DlpdError, now: float) -> None:
        """Nothing of ``batch`` happened: read its files again (their results may be
        stale by then) and retry its forgets, after a back-off."""
        retry = self._retry
        # Said for the first failure of a run (and each time the back-off is at its cap):
        # a burst of batches failing together is one line, not one per batch.
        should_say = retry.wait in (0.0, RETRY_MAX)
        retry.wait = min(RETRY_MAX, max(RETRY_FIRST, 2 * retry.wait))
        retry.due = now + retry.wait
        for scanned in batch.results:
            path, pending = scanned.result.path, scanned.pending
            retry.files.setdefault(path, (pending.kind, pending.src_path, pending.actor)
                                   if pending else (AccessKind.MODIFIED, None, None))
            self._forget_read(path)
        retry.gone += batch.gone
        if self.quiet or not should_say:
            return
        _log.error("store write failed; the batch will be evaluated again", error=str(exc),
                   files=len(batch.results), forgets=len(batch.gone), retry_in=retry.wait)
        try:
            self.load()  # the store is the authority: take its view again if it answers
        except DlpdError as reload_exc:
            _log.warning("alert index not reloaded; keeping the committed one",
                         error=str(reload_exc))

    def _access_alerts(self, conn: Connection, batch: Batch, wall: float) -> None:
        """Opens by outsiders, and exposure after attribute changes."""
        for opened in batch.opened:
            self._unauthorized(conn, opened)
        for path in dict.fromkeys(batch.attributes):
            stored = files_repo.cached_file(conn, path, host=self._host)
            labels = self._labelled.get(path)
            if stored is not None and stored.sha256 is not None and labels:
                self._exposure(conn, path, stored.sha256, labels, wall)

    def _exposure(self, conn: Connection, path: str, sha256: str, labels: tuple[str, ...],
                  wall: float) -> None:
        if self.exposure is None:
            return
        for label, reasons in self.exposure.reasons(path, labels).items():
            self._alerter.exposure(conn, path, sha256, labels, label, self._severity(label),
                                   reasons, wall)

    def _severity(self, label: str) -> Severity:
        policy = self._alerter.policy.labels.get(label)
        return policy.severity if policy is not None else Severity.MEDIUM

    def _unauthorized(self, conn: Connection, opened: Unauthorized) -> None:
        stored = files_repo.cached_file(conn, opened.path, host=self._host)
        if stored is None or stored.sha256 is None:
            return  # not read yet: its labels came from a person; the read will come
        for label in opened.denied:
            self._alerter.unauthorized(conn, opened.path, stored.sha256, opened.labels, label,
                                       self._severity(label), opened.actor, opened.wall)

    def _decide(self, conn: Connection, scanned: Scanned, wall: float,
                effects: _Effects) -> None:
        result, pending = scanned.result, scanned.pending
        path = result.path
        moved_from = pending.src_path if pending and pending.src_path else None
        origins = None
        if os.path.basename(path) == MARKER_NAME and not result.cached:
            self._marker(conn, os.path.dirname(path), effects)
        if self.resolver is not None and not result.cached:
            resolution = self.resolver.resolve(conn, result, moved_from=moved_from, now=wall)
            result, origins = resolution.applied(result), resolution.origins
        if result.labels:
            effects.labelled[path] = result.labels
        elif not result.cached:
            effects.labelled[path] = None
        if not result.labels and not self._alerter.has_alerts(path):
            return
        actor = pending.actor if pending is not None else None
        self._alerter.evaluate(conn, result, wall, moved_from=moved_from, origins=origins,
                               actor=actor)
        if result.labels and result.sha256 is not None and not result.cached:
            self._exposure(conn, path, result.sha256, result.labels, wall)
        if pending is not None and result.labels:
            # One row for what happened since the last scan.
            kind = pending.kind
            effects.access.append((path, kind, result.labels,
                                   moved_from if kind is AccessKind.MOVED else None, actor))

    def _marker(self, conn: Connection, directory: str, effects: _Effects) -> None:
        """A marker file was written in ``directory``: apply it as its owner's `label set`
        (the owner of the marker must own the directory). A bad one is a log line."""
        ctx = self.label_ctx
        if ctx is None:
            return
        root = root_of(directory, ctx.roots)
        try:
            if root is None:
                raise LabelError("not under a watched tree")
            fd = open_below(root, directory, cross_devices=ctx.cross_devices)
            try:
                found = read_marker(fd)
                dir_uid = os.fstat(fd).st_uid
            finally:
                os.close(fd)
        except (LabelError, OSError) as exc:
            _log.warning("label marker not applied", directory=display_path(directory),
                         error=str(exc) if isinstance(exc, LabelError) else os_reason(exc))
            return
        if found is None:
            return
        marker, marker_uid = found
        results = apply_marker(conn, ctx, directory, dir_uid, marker, marker_uid)
        for r in results:
            if not r.allowed:
                _log.warning("label marker refused", directory=display_path(directory),
                             reason=r.message)
        if any(r.allowed and r.changed for r in results):
            effects.relabelled.append(directory)

    def _labels(self, path: str, effects: _Effects) -> tuple[str, ...] | None:
        """``path``'s labels as this transaction leaves them."""
        if path in effects.labelled:
            return effects.labelled[path]
        return self._labelled.get(path)

    def _forget(self, conn: Connection, path: str, why: str, is_dir: bool, wall: float,
                effects: _Effects) -> None:
        kind = AccessKind.DELETED if why == "deleted" else AccessKind.MOVED
        gone = files_repo.paths_under(conn, path, host=self._host) if is_dir else [path]
        files_repo.delete_paths(conn, gone, host=self._host)
        if is_dir:
            self._alerter.gone_under(conn, path, why, wall)
        else:
            self._alerter.gone(conn, path, why, wall)
        if not is_dir and os.path.basename(path) == MARKER_NAME and self.label_ctx:
            # The labels stay (`dlpd label remove` takes them off); the history says so.
            marker_deleted(conn, self.label_ctx, os.path.dirname(path), None)
        for p in gone:
            if self.resolver is not None and not why.startswith("moved to"):
                # A move keeps what the file carried: the new path's read takes it over.
                self.resolver.forget(conn, p)
            self._forget_read(p)
            labels = self._labels(p, effects)
            effects.labelled[p] = None
            if labels:
                effects.access.append((p, kind, labels, None, None))
