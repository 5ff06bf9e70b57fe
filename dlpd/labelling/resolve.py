"""The labels a file carries when it is read, and what each rests on: one step shared by
the daemon and `dlpd scan`, run in the caller's transaction.

For one freshly read ``FileResult`` (its prints and xattr labels come from the classifier):

1. assignments on the path or a directory above it (``explicit``, ``marker``,
   ``inherited``);
2. ``user.dlpd.labels`` on the file (``xattr``; configured names only: a user cannot
   invent labels, and dropping the attribute never removes one);
3. ``moved``: what the file carried where it was moved from (its assignments there, and
   the content labels it had there);
4. ``copy`` (a registered source with the same sha256) and ``derived`` (a share of a
   source's text prints, or rows of its table);
5. ``detected``: the categories the scan found (``result.labels`` already).

A file that carries a label set by a person (1) is registered as a fingerprint source, so
that copies and extracts of it are recognised; one that no longer does is unregistered.
The content labels (2-4) are written to ``label_matches``: `dlpd label show` reads them.

When nothing is labelled and nothing is registered (``Resolver.idle``), a file costs two
cached booleans: the cold scan of a tree without labels pays nothing measurable.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from dlpd.fingerprint.match import Match, copy_of, text_matches
from dlpd.fingerprint.table import MIN_ROWS
from dlpd.labelling.effective import LabelSource, from_assignment
from dlpd.labelling.model import Assignment, LabelMatch, setter_of
from dlpd.model import FileResult, Origin, Outcome
from dlpd.store import fingerprint_tables as tables_repo
from dlpd.store import fingerprints as fp_repo
from dlpd.store import labels as labels_repo
from dlpd.store import presence
from dlpd.store.db import Connection

# A person's labels: a file carrying one of these is a source of the fingerprint index.
_SET_BY_PEOPLE = ("explicit", "marker", "inherited")
# When a label has several reasons, the alert names the strongest.
_STRENGTH = ("explicit", "marker", "inherited", "moved", "copy", "derived", "xattr")


@dataclass(frozen=True, slots=True)
class Resolution:
    """Every label of the file (sorted names) and, per label that no detection gave, the
    reason an alert names (``Origin``)."""

    labels: tuple[str, ...]
    origins: Mapping[str, Origin]
    sources: tuple[LabelSource, ...] = ()

    def applied(self, result: FileResult) -> FileResult:
        return dataclasses.replace(result, labels=self.labels)


class PrintPlan:
    """Which content prints reading a file should make, as the resolver last saw the
    store: none while nothing is labelled or registered; for a file under a person's
    label both (it is registered); for any other file only the kinds some source holds
    (text prints are no use against an index of tables, nor cells against one of text).
    Updated by the main thread, read by the scan threads: one tuple, swapped whole."""

    def __init__(self) -> None:
        self._state: tuple[bool, bool, frozenset[str], tuple[str, ...]] = (
            False, False, frozenset(), ())

    def update(self, *, text: bool, table: bool, exact: frozenset[str],
               prefixes: tuple[str, ...]) -> None:
        self._state = (text, table, exact, prefixes)

    def registered(self, *, text: bool, table: bool) -> None:
        """A source of these kinds was just registered: files read from now on are
        printed for them (not only after the next look at the store)."""
        old_text, old_table, exact, prefixes = self._state
        self._state = (old_text or text or table, old_table or table, exact, prefixes)

    def everything(self) -> None:
        """Labels were just set: every kind, for every file, until the next look."""
        self._state = (True, True, frozenset(), ())

    def snapshot(self) -> object:
        """The state as it is (a new object after every change), for worker processes."""
        return self._state

    def restore(self, state: object) -> None:
        """In a worker process: the parent's state, as ``snapshot`` gave it."""
        self._state = state  # type: ignore[assignment]  # only ever a snapshot

    def active(self) -> bool:
        text, table, exact, prefixes = self._state
        return text or table or bool(exact) or bool(prefixes)

    def kinds(self, path: str) -> tuple[bool, bool]:
        """(text prints, table prints) for the file at ``path``."""
        text, table, exact, prefixes = self._state
        if path in exact or (prefixes and path.startswith(prefixes)):
            return True, True
        return text, table


@dataclass(frozen=True, slots=True)
class ResolverSettings:
    host: str
    label_names: frozenset[str]
    min_share: float
    max_df: int
    enabled: bool = True


class Resolver:
    """Resolves labels for one store. Not thread-safe: the daemon's main thread, or the
    scan's writer."""

    def __init__(self, settings: ResolverSettings, plan: PrintPlan | None = None) -> None:
        self.settings = settings
        self._any_assignment = False
        self._any_source = False
        # What the classifier prints (a tree without labels pays nothing for the feature).
        self._plan = plan

    # -- when is there anything to do -------------------------------------------------
    def refresh(self, conn: Connection) -> None:
        """Look again whether anything is labelled or registered (once per batch)."""
        if not self.settings.enabled:
            self._any_assignment = self._any_source = False
            return
        found = presence.presence(conn, self.settings.host)
        self._any_assignment, kinds = found.labelled, found.kinds
        self._any_source = bool(kinds)
        if self._plan is not None:
            exact, prefixes = _coverage(labels_repo.list_active(conn, self.settings.host)
                                        if self._any_assignment else ())
            self._plan.update(
                text="text" in kinds or "table" in kinds,  # a table's source is text too
                table="table" in kinds, exact=exact, prefixes=prefixes)

    def expect(self) -> None:
        """Labels were just set (another thread: the control socket): act as if the next
        refresh had seen them, so that the re-read they ask for is resolved."""
        self._any_assignment = True
        if self._plan is not None:
            self._plan.everything()

    @property
    def idle(self) -> bool:
        return not (self._any_assignment or self._any_source)

    @property
    def wants_prints(self) -> bool:
        """Whether reading a file should compute its prints (something to match or to
        register)."""
        return not self.idle

    # -- one file -----------------------------------------------------------------------
    def resolve(self, conn: Connection, result: FileResult, *, moved_from: str | None = None,
                now: float | None = None) -> Resolution:
        detected = tuple(result.labels)
        if result.sha256 is None or result.outcome is Outcome.SKIPPED:
            return Resolution(detected, {})
        xattrs = tuple(x for x in result.xattr_labels if x in self.settings.label_names)
        if self.idle and not xattrs and moved_from is None:
            return Resolution(detected, {})
        now = time.time() if now is None else now
        host, path = self.settings.host, result.path
        assigned = [a for a in labels_repo.active_for(conn, host, path)
                    if a.label in self.settings.label_names]
        people = _people_sources(path, assigned)
        if result.cached:
            # Unchanged since it was read: what that read found still holds (no lookup,
            # nothing rewritten; a new source finds old copies when they are read again).
            kept = [m for m in labels_repo.matches_for(conn, host, path)
                    if m.label in self.settings.label_names]
            return self._resolution(detected, people, kept, host)
        matches: list[LabelMatch] = [LabelMatch(path, x, "xattr", result.sha256, found=now)
                                     for x in xattrs]
        if moved_from is not None:
            matches += self._moved(conn, path, moved_from, result.sha256, now,
                                   {s.label for s in people})
        matches += self._content(conn, result, now)
        # A file that keeps a person's label where it went is a source as well.
        keepers = people + [LabelSource(m.label, "moved", m.source_path, m.set_by, m.set_at)
                            for m in matches if m.kind == "moved"]
        if keepers:
            self._register(conn, result, keepers, now)
        else:
            fp_repo.unregister(conn, host, path)
        # A source is not derived from itself (its own registration answers the lookup).
        matches = [m for m in matches if not (m.kind in ("copy", "derived")
                                              and m.source_host in (None, host)
                                              and m.source_path == path)]
        labels_repo.replace_matches(conn, host, path, result.sha256, matches, now)
        return self._resolution(detected, people, matches, host)

    @staticmethod
    def _resolution(detected: tuple[str, ...], people: list[LabelSource],
                    matches: list[LabelMatch], host: str) -> Resolution:
        mine = {s.label for s in people}
        origins: dict[str, Origin] = {}
        for src in sorted(people, key=lambda s: _STRENGTH.index(s.source)):
            origins.setdefault(src.label, Origin(
                kind=src.source, source_path=src.via, source_host=host if src.via else None,
                set_by=src.set_by, set_at=src.set_at))
        for m in sorted(matches, key=lambda m: (_STRENGTH.index(m.kind), -(m.share or 0))):
            origins.setdefault(m.label, Origin(
                kind=m.kind, source_path=m.source_path,
                source_host=(m.source_host or host) if m.source_path else None,
                share=m.share, rows=m.rows,
                set_by=m.set_by, set_at=m.set_at))
        labels = tuple(sorted(set(detected) | mine | {m.label for m in matches}))
        # A label the scan detected needs no origin: its detections are the reason.
        return Resolution(labels, {k: v for k, v in origins.items() if k not in detected},
                          tuple(people))

    def forget(self, conn: Connection, path: str) -> None:
        """``path`` is gone: it is no source, and carries nothing."""
        if self.idle:
            return
        fp_repo.unregister(conn, self.settings.host, path)
        labels_repo.replace_matches(conn, self.settings.host, path, None, ())

    # -- parts --------------------------------------------------------------------------
    def _register(self, conn: Connection, result: FileResult,
                  people: Iterable[LabelSource], now: float) -> None:
        assert result.sha256 is not None
        origin = {s.label: {"set_by": s.set_by, "set_at": s.set_at, "source": s.source,
                            "via": s.via} for s in people}
        source_id = fp_repo.register(
            conn, host=self.settings.host, path=result.path, sha256=result.sha256,
            labels=sorted(origin), origin=origin, text=result.text_prints,
            table=result.table_prints, now=now)
        if result.table_prints is not None:
            tables_repo.register_table(conn, source_id, result.table_prints)
        self._any_source = True
        if self._plan is not None:
            self._plan.registered(text=bool(result.text_prints and result.text_prints.prints),
                                  table=result.table_prints is not None)

    def _moved(self, conn: Connection, path: str, moved_from: str, sha256: str | None,
               now: float, here: set[str]) -> list[LabelMatch]:
        """What the file carried where it was: a person's labels there (not those it still
        has here), and the content labels it had (their rows move with it)."""
        host = self.settings.host
        kept: dict[str, LabelMatch] = {}
        for a in labels_repo.active_for(conn, host, moved_from):
            if a.label in self.settings.label_names and a.label not in here:
                kept.setdefault(a.label, LabelMatch(
                    path, a.label, "moved", sha256, source_path=moved_from, found=now,
                    set_by=a.set_by, set_at=a.set_at))
        for m in labels_repo.matches_for(conn, host, moved_from):
            if m.label not in here and m.label not in kept:
                kept[m.label] = LabelMatch(path, m.label, "moved", sha256,
                                           source_path=moved_from, found=now,
                                           set_by=m.set_by, set_at=m.set_at)
        labels_repo.replace_matches(conn, host, moved_from, None, ())
        return list(kept.values())

    def _content(self, conn: Connection, result: FileResult, now: float) -> list[LabelMatch]:
        if not self._any_source or result.sha256 is None:
            return []
        found: list[Match] = list(copy_of(
            s.id for s in fp_repo.by_sha256(conn, result.sha256)))
        copies = {m.source_id for m in found}
        sources: dict[int, fp_repo.Source] = {}  # fetched once per lookup
        if result.text_prints is not None and result.text_prints.prints:
            shared = fp_repo.text_candidates(conn, result.text_prints.prints,
                                             max_df=self.settings.max_df)
            if shared:
                sources.update(fp_repo.sources(conn, (sid for sid, _n in shared)))
                totals = {sid: src.prints for sid, src in sources.items()}
                found += text_matches(shared, totals, min_share=self.settings.min_share,
                                      exclude=copies)
        if result.table_prints is not None:
            for cand in tables_repo.table_candidates(conn, result.table_prints):
                if cand.source_id not in copies and cand.rows >= MIN_ROWS:
                    found.append(Match(cand.source_id, "derived", rows=cand.rows,
                                       score=round(cand.score, 1)))
        if not found:
            return []
        sources.update(fp_repo.sources(
            conn, {m.source_id for m in found} - sources.keys()))
        rows: dict[tuple[str, int], LabelMatch] = {}
        for m in found:
            src = sources.get(m.source_id)
            if src is None or (src.host, src.path) == (self.settings.host, result.path):
                continue
            for label in src.labels:
                if label not in self.settings.label_names:
                    continue
                by, at = setter_of(src.origin, label)
                rows.setdefault((label, src.id), LabelMatch(
                    result.path, label, m.kind, result.sha256, source_id=src.id,
                    source_path=src.path, share=m.share, rows=m.rows, score=m.score,
                    found=now, set_by=by, set_at=at, source_host=src.host))
        return list(rows.values())


def must_read(conn: Connection, host: str) -> Callable[[str], bool] | None:
    """For a crawl: which files to read even when the cache knows them unchanged — those
    under a person's label that are not registered yet (a cached answer has no prints, so
    a dataset labelled after its files were scanned is registered by its next crawl).
    None when nothing is labelled."""
    assigned = labels_repo.list_active(conn, host)
    if not assigned:
        return None
    exact, prefixes = _coverage(assigned)
    registered = fp_repo.registered_paths(conn, host)

    def check(path: str) -> bool:
        return path not in registered and (path in exact or path.startswith(prefixes))

    return check


def _people_sources(path: str, assigned: Iterable[Assignment]) -> list[LabelSource]:
    found: dict[str, LabelSource] = {}
    # Nearest first: an assignment on the file beats one on its directory.
    for a in sorted(assigned, key=lambda a: -len(a.path)):
        src = from_assignment(path, a)
        if src is not None:
            found.setdefault(a.label, src)
    return [s for s in found.values() if s.source in _SET_BY_PEOPLE]


def _coverage(assigned: Iterable[Assignment]) -> tuple[frozenset[str], tuple[str, ...]]:
    """The paths assignments cover: (labelled paths, prefixes of labelled directories)."""
    assigned = list(assigned)
    return (frozenset(a.path for a in assigned),
            tuple({a.path.rstrip("/") + "/" for a in assigned if a.is_dir}))
