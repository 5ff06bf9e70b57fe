"""The real daemon: a suppression rule in force stops new alerts in its scope (and counts
them), leaves alerts raised before it alone, and stops applying once it expires."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from dlpd.store import suppressions
from dlpd.store.db import open_engine, transaction

from .harness import Daemon, config_text, sensitive_text


def test_a_rule_in_force_stops_alerts_in_its_scope_only(tmp_path: Path) -> None:
    root = tmp_path / "data"
    itar, staging, other = (root / n for n in ("itar", "staging", "other"))
    for d in (itar, staging, other):
        d.mkdir(parents=True)
    state = tmp_path / "state"
    state.mkdir()
    (itar / "design.txt").write_text(sensitive_text(1))
    (staging / "before.txt").write_text(sensitive_text(1))  # raised before the rule
    cfg = state / "dlpd.toml"
    cfg.write_text(config_text(state, watch=[root], approved=[itar]))
    d = Daemon(cfg, tmp_path, tmp_path / "daemon.log").start()
    try:
        d.wait_for(d.crawls_done, 30, "the first reconciliation")
        d.wait_for(lambda: d.alerts(str(staging / "before.txt")), 10, "the earlier alert")
        (label,) = {a["label"] for a in d.alerts()}
        engine = open_engine(f"sqlite:///{state / 'dlpd.db'}")
        now = time.time()
        with transaction(engine) as conn:
            rule = suppressions.add(conn, label=label, path_prefix=str(staging), rule=None,
                                    owner="lab-it", reason="transfer staging, ticket 4411",
                                    created_by="ana", now=now, expires=now + 8)
        shutil.copy(itar / "design.txt", staging / "copy.txt")
        shutil.copy(itar / "design.txt", other / "copy.txt")
        d.wait_for(lambda: d.alerts(str(other / "copy.txt")), 10, "the copy out of scope")
        d.wait_for(lambda: d.query("SELECT 1 FROM files WHERE path = ? AND sha256 IS NOT NULL",
                                   str(staging / "copy.txt")), 10, "the copy in scope read")
        assert d.alerts(str(staging / "copy.txt")) == [], "suppressed"
        with transaction(engine) as conn:
            assert [h.path for h in suppressions.hits(conn, rule.id)] == [
                str(staging / "copy.txt")]
            (listed, stopped, _last), = suppressions.list_all(conn)
        assert listed.id == rule.id and stopped == 1
        assert [a["status"] for a in d.alerts(str(staging / "before.txt"))] == ["open"]

        time.sleep(max(0.0, now + 8.5 - time.time()))  # the rule expires by itself
        shutil.copy(itar / "design.txt", staging / "later.txt")
        d.wait_for(lambda: d.alerts(str(staging / "later.txt")), 10, "alert after expiry")
        assert d.stop() == 0
    finally:
        d.close()
