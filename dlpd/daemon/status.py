"""The daemon's status file: written atomically every second by `dlpd run`, read by
`dlpd status`. A file, not a socket or a table: it costs the daemon nothing to keep, and
the CLI can tell a dead daemon from a live one by the pid and the file's age.

What it holds is one typed ``DaemonStatus``; its JSON keys are what `dlpd status --format
json` prints under ``daemon``. ``from_json`` reads a file of an older or newer daemon: a
missing key (or one of the wrong type) takes its default, an unknown key is ignored.

The file is 0600 (it names the watched roots and the sinks' errors) in a directory that
stays 0755: a user who may not read it is told so, not that the daemon is not running."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dlpd.config import Settings, database_url, default_state_dir
from dlpd.errors import DlpdError
from dlpd.store.db import sqlite_files

STATUS_FILE = "status.json"
# The CLI calls a daemon whose status is older than this "not responding".
STALE_AFTER = 15.0


@dataclass(frozen=True, slots=True)
class CrawlRecord:
    """One finished crawl of the reconciliation thread."""

    reason: str
    full: bool
    started: float
    finished: float
    files: int
    read: int
    found: int
    errors: int
    cancelled: bool

    @classmethod
    def from_json(cls, data: object) -> CrawlRecord | None:
        if not isinstance(data, Mapping):
            return None
        return cls(reason=_str(data, "reason"), full=_bool(data, "full"),
                   started=_float(data, "started"), finished=_float(data, "finished"),
                   files=_int(data, "files"), read=_int(data, "read"),
                   found=_int(data, "found"), errors=_int(data, "errors"),
                   cancelled=_bool(data, "cancelled"))


@dataclass(frozen=True, slots=True)
class SinkStatus:
    """One sender's counters since the daemon started."""

    delivered: int = 0
    failures: int = 0
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class Unreachable:
    """A store outage (``outage.py``), as the status file and systemd's line carry it."""

    since: float  # time.time() of the first failure
    retries: int  # failed probes since
    error: str  # the latest, one line, the password already cut out by the store

    def line(self) -> str:
        at = time.strftime("%H:%M:%S", time.localtime(self.since))
        return f"store unreachable since {at} ({self.retries} retries): {self.error}"

    @classmethod
    def from_json(cls, data: object) -> Unreachable | None:
        if not isinstance(data, Mapping):
            return None
        return cls(since=_float(data, "since"), retries=_int(data, "retries"),
                   error=_str(data, "error"))


@dataclass(frozen=True, slots=True)
class DaemonStatus:
    pid: int = 0
    version: str = ""
    started: float = 0.0  # time.time()
    updated: float = 0.0
    config: str | None = None
    host: str = ""  # the name this daemon's rows carry ([daemon] host)
    backend: str = "none"
    roots: tuple[str, ...] = ()
    watched_dirs: int = 0
    unwatched: tuple[str, ...] = ()
    queue_depth: int = 0
    in_flight: int = 0
    oldest_queued_age: float | None = None
    events: int = 0
    events_by_kind: Mapping[str, int] = field(default_factory=dict)
    overflows: int = 0
    scanned: int = 0
    alerts_raised: int = 0
    alerts_resolved: int = 0
    crawl_running_since: float | None = None
    crawl_pending: int = 0
    last_crawl: CrawlRecord | None = None
    last_full_crawl: CrawlRecord | None = None
    rules_version: str = ""
    sinks: Mapping[str, SinkStatus] = field(default_factory=dict)
    store_unreachable: Unreachable | None = None  # None: the store answers

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["roots"], data["unwatched"] = list(self.roots), list(self.unwatched)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DaemonStatus:
        """Typed from what a daemon of any version wrote: a missing or mistyped key takes
        its default, an unknown one is ignored."""
        defaults = cls()
        kinds = data.get("events_by_kind")
        sinks = data.get("sinks")
        return cls(
            pid=_int(data, "pid"), version=_str(data, "version"),
            started=_float(data, "started"), updated=_float(data, "updated"),
            config=_opt_str(data, "config"), backend=_str(data, "backend", defaults.backend),
            roots=_strs(data, "roots"), watched_dirs=_int(data, "watched_dirs"),
            unwatched=_strs(data, "unwatched"), queue_depth=_int(data, "queue_depth"),
            in_flight=_int(data, "in_flight"),
            oldest_queued_age=_opt_float(data, "oldest_queued_age"),
            events=_int(data, "events"),
            events_by_kind=({k: v for k, v in kinds.items()
                             if isinstance(k, str) and _is_int(v)}
                            if isinstance(kinds, Mapping) else {}),
            overflows=_int(data, "overflows"), scanned=_int(data, "scanned"),
            alerts_raised=_int(data, "alerts_raised"),
            alerts_resolved=_int(data, "alerts_resolved"),
            crawl_running_since=_opt_float(data, "crawl_running_since"),
            crawl_pending=_int(data, "crawl_pending"),
            last_crawl=CrawlRecord.from_json(data.get("last_crawl")),
            last_full_crawl=CrawlRecord.from_json(data.get("last_full_crawl")),
            rules_version=_str(data, "rules_version"), host=_str(data, "host"),
            sinks=({name: SinkStatus(_int(s, "delivered"), _int(s, "failures"),
                                     _opt_str(s, "last_error"))
                    for name, s in sinks.items()
                    if isinstance(name, str) and isinstance(s, Mapping)}
                   if isinstance(sinks, Mapping) else {}),
            store_unreachable=Unreachable.from_json(data.get("store_unreachable")),
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _float(data: Mapping[str, Any], key: str) -> float:
    value = _opt_float(data, key)
    return 0.0 if value is None else value


def _opt_float(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _bool(data: Mapping[str, Any], key: str) -> bool:
    return data.get(key) is True


def _str(data: Mapping[str, Any], key: str, default: str = "") -> str:
    value = data.get(key)
    return value if isinstance(value, str) else default


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def _strs(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key)
    if not isinstance(value, list | tuple):
        return ()
    return tuple(v for v in value if isinstance(v, str))


def runtime_dir(settings: Settings) -> Path:
    """``daemon.runtime_dir``; else systemd's $RUNTIME_DIRECTORY, /run/dlpd for root, or
    the directory of the SQLite database."""
    if settings.daemon.runtime_dir is not None:
        return settings.daemon.runtime_dir
    if os.environ.get("RUNTIME_DIRECTORY"):
        return Path(os.environ["RUNTIME_DIRECTORY"].split(":")[0])
    if os.geteuid() == 0:
        return Path("/run/dlpd")
    db_files = sqlite_files(database_url(settings))
    return Path(db_files[0]).parent if db_files else default_state_dir()


def write_status(directory: Path, status: DaemonStatus) -> None:
    """Replace the status file atomically; mkstemp creates it 0600 whatever the umask."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o755)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".status.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(status.to_json(), out, ensure_ascii=False)
        os.replace(tmp, directory / STATUS_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_status(directory: Path) -> DaemonStatus | None:
    """The daemon's last status; None when there is none (not running). DlpdError when it
    exists but we may not read it: that says nothing about whether the daemon runs."""
    path = directory / STATUS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except PermissionError:
        raise DlpdError(f"cannot read {path}: permission denied (run as root or as the "
                        "daemon's user)") from None
    except (OSError, ValueError):
        return None
    return DaemonStatus.from_json(data) if isinstance(data, dict) else None


def remove_status(directory: Path) -> None:
    (directory / STATUS_FILE).unlink(missing_ok=True)


def is_alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
