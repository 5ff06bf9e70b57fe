"""What a valid configuration still gets wrong: ``problems(settings)``.

Parsing (``config.py``) rejects values that cannot mean anything. This module finds
settings that parse but that `dlpd run` refuses (an error) or that run and silently never
alert (a warning): a label no category maps to, a category whose label has no policy, a
label approved anywhere by omission, watch paths and approved places that are not there.
`dlpd check-config` prints these and `dlpd run` acts on the same tuple at start (refusing
on an error, logging each warning), so the two cannot disagree.

Pure but for three questions to the host, passed in: ``kind_of(path)`` (the file system),
``ocr_missing(languages)`` (is the OCR engine installed, ``classify/ocr.py``) and
``account_exists(reader)`` (the user and group databases).
"""

from __future__ import annotations

import difflib
import grp
import os
import pwd
import stat
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from dlpd.classify.ocr import missing
from dlpd.config import ANYWHERE, NOWHERE, Settings
from dlpd.errors import ConfigError
from dlpd.policy.decide import is_under

PathKind = Literal["directory", "other", "missing"]


class Level(StrEnum):
    ERROR = "error"      # `dlpd run` refuses to start
    WARNING = "warning"  # runs, but something in it never alerts


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem, at ``key`` (``labels.export-controled``), said for an operator."""

    level: Level
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


def kind_of(path: str) -> PathKind:
    """What is at ``path`` (following symlinks, as an operator means a configured path)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "missing"
    return "directory" if stat.S_ISDIR(mode) else "other"


def account_exists(reader: str) -> bool:
    """Whether a ``readers`` entry names an account here (``uid:N``/``gid:N`` always do:
    an id needs no entry in the databases)."""
    kind, _, name = reader.partition(":")
    try:
        if kind == "user":
            pwd.getpwnam(name)
        elif kind == "group":
            grp.getgrnam(name)
    except KeyError:
        return False
    return True


def is_daemon_config(settings: Settings) -> bool:
    """Does this configuration set up `dlpd run` (watch paths, labels or sinks)? One that
    sets none of them is a `dlpd scan` configuration, which needs no watch paths."""
    return bool(settings.watch.paths or settings.labels or settings.sinks)


def problems(settings: Settings, *, daemon: bool = True,
             kind_of: Callable[[str], PathKind] = kind_of,
             ocr_missing: Callable[[tuple[str, ...]], str | None] = missing,
             account_exists: Callable[[str], bool] = account_exists,
             ) -> tuple[Finding, ...]:
    """Every finding, errors first. ``daemon``: judge it as `dlpd run` would (an empty
    ``watch.paths`` is an error, labels without a policy are worth a warning); else it is
    a `dlpd scan` configuration, for which an empty ``watch.paths`` is only a warning."""
    found = [*_watch(settings, daemon, kind_of), *_labels(settings, daemon, kind_of),
             *_readers(settings, account_exists),
             *_ocr(settings, ocr_missing)]
    return tuple(sorted(found, key=lambda f: f.level != Level.ERROR))


def raise_errors(findings: tuple[Finding, ...]) -> None:
    """`dlpd run`'s start: the first error as the ConfigError that makes it exit 78."""
    for finding in findings:
        if finding.level == Level.ERROR:
            raise ConfigError(finding.key, finding.message)


def _watch(settings: Settings, daemon: bool,
           kind_of: Callable[[str], PathKind]) -> list[Finding]:
    paths = settings.watch.paths
    if not paths:
        if daemon:
            return [Finding(Level.ERROR, "watch.paths",
                            "no directories to watch; list at least one")]
        return [Finding(Level.WARNING, "watch.paths",
                        "empty: fine for `dlpd scan`, but `dlpd run` refuses to start "
                        "without a directory to watch")]
    found = []
    for path in paths:
        kind = kind_of(path)
        # `dlpd run` warns and skips such a root (daemon/watching.py): said here first.
        if kind == "missing":
            found.append(Finding(Level.WARNING, "watch.paths",
                                 f"{path} does not exist: `dlpd run` skips it"))
        elif kind == "other":
            found.append(Finding(Level.WARNING, "watch.paths",
                                 f"{path} is not a directory: `dlpd run` skips it"))
        outer = next((p for p in paths if p != path and is_under(path, p)), None)
        if outer is not None:
            found.append(Finding(Level.WARNING, "watch.paths",
                                 f"{path} is inside {outer}, which is already watched"))
    return found


def _ocr(settings: Settings,
         ocr_missing: Callable[[tuple[str, ...]], str | None]) -> list[Finding]:
    """``ocr = "on"`` where it cannot run is refused (``wiring.extract_options`` says the
    same at every start); ``"auto"`` goes without: scanned documents are then never
    read, and only the remark in each such file's result says so."""
    wanted = settings.extract.ocr_wanted
    if wanted is False:
        return []
    why = ocr_missing(settings.extract.ocr_languages)
    if why is None:
        return []
    if wanted:
        return [Finding(Level.ERROR, "extract.ocr", f"OCR is on but cannot run: {why}")]
    return [Finding(Level.WARNING, "extract.ocr",
                    f'"auto", but OCR cannot run here: {why}; scanned documents '
                    f"(image-only PDF pages, TIFF/PNG/JPEG scans) are not read")]


def _readers(settings: Settings, account_exists: Callable[[str], bool]) -> list[Finding]:
    """A reader naming no account is a warning, not an error: the account may be created
    later (or come from a directory not reachable now). Until then it grants nobody."""
    found = [Finding(Level.WARNING, f"labels.{name}.readers",
                     f"{reader} names no account on this host: it admits nobody until "
                     f"the account exists")
             for name, policy in sorted(settings.labels.items())
             for reader in policy.readers if not account_exists(reader)]
    judged = sorted(name for name, policy in settings.labels.items() if policy.readers)
    if judged and settings.watch.paths and not settings.watch.access_events:
        found.append(Finding(
            Level.WARNING, "watch.access_events",
            f"off, so opens of files labelled {', '.join(judged)} are never seen: no "
            f"unauthorized-access alert (exposure is still judged); set it to true and "
            f"run the fanotify backend (systemd/dlpd-fanotify.conf) to know who opened"))
    if judged and settings.watch.paths and settings.watch.backend in ("inotify", "watchdog"):
        found.append(Finding(
            Level.WARNING, "watch.backend",
            f'"{settings.watch.backend}" cannot tell who opened a file: labels with readers '
            f"({', '.join(judged)}) raise no unauthorized-access alert; use \"auto\" or "
            f'"fanotify"'))
    return found


def _labels(settings: Settings, daemon: bool,
            kind_of: Callable[[str], PathKind]) -> list[Finding]:
    mapped: dict[str, list[str]] = {}
    for category, label in sorted(settings.categories.items()):
        mapped.setdefault(label, []).append(category)
    found = []
    for name, policy in sorted(settings.labels.items()):
        key = f"labels.{name}"
        if name not in mapped:
            guess = difflib.get_close_matches(name, list(mapped), n=1, cutoff=0.8)
            hint = f"; did you mean {guess[0]}?" if guess else ""
            found.append(Finding(
                Level.WARNING, key,
                f"no category maps to this label, so no file ever carries it{hint} "
                f"(labels that [categories] map to: {', '.join(sorted(mapped))})"))
        if policy.approved == ():
            found.append(Finding(
                Level.WARNING, f"{key}.approved",
                f"empty: label {name} may live anywhere: files with it never raise an "
                f'alert for their location (say approved = "{ANYWHERE}" if that is meant, '
                f'or approved = "{NOWHERE}" to alert on it wherever it is found)'))
        for prefix in policy.prefixes:
            if kind_of(prefix) == "missing":
                found.append(Finding(Level.WARNING, f"{key}.approved",
                                     f"{prefix} does not exist on this host"))
    # Said only of a configuration for `dlpd run`: a scan reports labels, it never alerts.
    unpoliced = [label for label in sorted(mapped) if label not in settings.labels]
    if unpoliced and daemon:
        listed = ", ".join(f"{label} ({', '.join(mapped[label])})" for label in unpoliced)
        found.append(Finding(
            Level.WARNING, "labels",
            f"no [labels.NAME] section for {listed}: files with these labels never raise "
            f"an alert for their location"))
    return found
