"""The daemon's status file: written atomically every second by `dlpd run`, read by
`dlpd status`. A file, not a socket or a table: it costs the daemon nothing to keep, and
the CLI can tell a dead daemon from a live one by the pid and the file's age."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from dlpd.config import Settings, database_url, default_state_dir
from dlpd.store.db import sqlite_files

STATUS_FILE = "status.json"
# The CLI calls a daemon whose status is older than this "not responding".
STALE_AFTER = 15.0


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


def write_status(directory: Path, status: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o755)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".status.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(status, out, ensure_ascii=False)
        os.replace(tmp, directory / STATUS_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_status(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


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
