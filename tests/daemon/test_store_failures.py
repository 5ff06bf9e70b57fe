"""A store that cannot be written: nothing the daemon decided in a failed transaction
survives in memory, and every file of it is evaluated again once the store works.

The store lives on a real, small tmpfs that a filler file fills up (tests run as root;
without the right to mount, they skip).
"""

from __future__ import annotations

import errno
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import Daemon, approved_tree, config_text, jsonl_records, sensitive_text


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "store"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs",
                           str(mount)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


def _fill(directory: Path) -> Path:
    """Write a filler file until the file system is full."""
    filler = directory / "filler"
    chunk = b"\0" * 4096
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            try:
                os.write(fd, chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                break
    finally:
        os.close(fd)
    return filler


def _logged_alerts(d: Daemon) -> int:
    return len(d.logged("alert"))


def test_alerts_of_a_failed_write_are_raised_once_the_store_has_room(
        tmp_path: Path, small_fs: Path) -> None:
    data, itar, alice, state, sink = approved_tree(tmp_path)
    cfg = state / "dlpd.toml"
    text = config_text(state, watch=[data], approved=[itar],
                       extra=f'[[sinks]]\ntype = "jsonl"\npath = "{sink}"\n')
    cfg.write_text(text.replace(f"sqlite:///{state / 'dlpd.db'}",
                                f"sqlite:///{small_fs / 'dlpd.db'}"))
    d = Daemon(cfg, tmp_path, tmp_path / "daemon.log").start()
    try:
        d.wait_for(d.crawls_done, 30, "the first reconciliation")
        filler = _fill(small_fs)
        files = [alice / f"design-{i}.txt" for i in range(10)]
        for i, f in enumerate(files):
            f.write_text(sensitive_text(100 + i))
        d.wait_for(lambda: "store write failed" in d.log_tail(200000), 15,
                   "a store write to fail on the full file system")
        time.sleep(1.0)  # more attempts while full, and the back-off growing
        stored_while_full = len(d.alerts())
        filler.unlink()

        def all_raised() -> bool:
            return all(len(d.alerts(str(f))) == 1 for f in files)

        took = d.wait_for(all_raised, 40, "an alert for each of the 10 files, no restart")
        print(f"{stored_while_full} alerts stored while full; all 10 within {took:.1f}s "
              "of space coming back")
        assert all(a["status"] == "open" for a in d.alerts())
        d.wait_for(lambda: len(jsonl_records(sink)) >= 10, 10, "10 events in the JSONL sink")
        delivered = sorted(str(e["data"]["path"]) for e in jsonl_records(sink)
                           if e["type"] == "alert.created")
        assert delivered == sorted(str(f) for f in files), "each alert delivered once"
        assert _logged_alerts(d) == 10, "an alert is logged once it is stored, not before"

        # The store works again: a file rewritten now is evaluated as usual.
        files[0].write_text(sensitive_text(200))
        d.wait_for(lambda: len(d.alerts(str(files[0]))) == 2, 5,
                   "a new alert for the rewritten file")
        first, second = d.alerts(str(files[0]))
        assert first["status"] == "resolved" and second["status"] == "open"
        assert d.stop() == 0
    finally:
        d.close()
