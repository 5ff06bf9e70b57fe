"""The real daemon and the real CLI: a false positive covers every copy of the content."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .harness import Daemon, config_text, sensitive_text


def test_false_positive_closes_the_other_copy_and_a_new_copy_is_not_raised(
        tmp_path: Path, run_dlpd: Callable[..., Any]) -> None:
    root = tmp_path / "data"
    itar, alice, bob, carol = (root / n for n in ("itar", "alice", "bob", "carol"))
    for d in (itar, alice, bob, carol):
        d.mkdir(parents=True)
    state = tmp_path / "state"
    state.mkdir()
    (itar / "design.txt").write_text(sensitive_text(1))
    cfg = state / "dlpd.toml"
    cfg.write_text(config_text(state, watch=[root], approved=[itar]))
    d = Daemon(cfg, tmp_path, tmp_path / "daemon.log").start()
    try:
        d.wait_for(d.crawls_done, 30, "the first reconciliation")
        first, second = alice / "design.txt", bob / "design-copy.txt"
        shutil.copy(itar / "design.txt", first)
        shutil.copy(itar / "design.txt", second)
        d.wait_for(lambda: d.alerts(str(first)) and d.alerts(str(second)), 10,
                   "alerts on both copies")
        (a1,) = d.alerts(str(first))
        owner = json.loads(a1["details"])
        assert owner["uid"] == os.getuid() and owner["size"] == first.stat().st_size
        assert owner["detections"] and owner["detections"][0]["count"] >= 1

        res = run_dlpd("alerts", "false-positive", str(a1["id"]), "--note", "declassified",
                       "--author", "eve", "--config", cfg)
        assert res.returncode == 0, res.describe()
        assert [r["status"] for r in d.alerts()] == ["false-positive", "false-positive"]

        third = carol / "again.txt"
        shutil.copy(itar / "design.txt", third)
        d.wait_for(lambda: d.query("SELECT 1 FROM files WHERE path = ? AND sha256 IS NOT NULL",
                                   str(third)), 10, "the third copy scanned")
        assert d.alerts(str(third)) == [], "a false positive is not raised again, anywhere"
        (other := carol / "other.txt").write_text(sensitive_text(2))
        d.wait_for(lambda: d.alerts(str(other)), 10, "other content still alerts")
        assert d.stop() == 0
    finally:
        d.close()
