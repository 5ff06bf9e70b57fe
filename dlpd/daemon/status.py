"""The daemon's status file: written atomically every second by `dlpd run`, read by
`dlpd status`. A file, not a socket or a table: it costs the daemon nothing to keep, and
the CLI can tell a dead daemon from a live one by the pid and the file's age.

The file is 0600 (it names the watched roots and the sinks' errors) in a directory that
stays 0755: a user who may not read it is told so, not that the daemon is not running."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from dlpd.config import Settings, database_url, default_state_dir
from dlpd.errors import DlpdError
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
    """Replace the status file atomically; mkstemp creates it 0600 whatever the umask."""
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
