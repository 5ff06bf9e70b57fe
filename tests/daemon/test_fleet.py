"""Two daemons, fs-a and fs-b, each with its own tree and runtime directory, sharing one
PostgreSQL database (the real daemon, the real CLI, ``tests/pg.py``'s server): each raises
its own alerts under its host; the CLI filters by host; a file labelled on fs-a and
copied into fs-b's tree alerts on fs-b naming fs-a; kill -9 of one daemon during a storm
of 200 files loses no alert and raises none twice."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.pg import PgServer, pg_server, pg_url  # noqa: F401 - fixtures, found by name

from .harness import Daemon, config_text, sensitive_text

WAIT = 90.0
STORM = 200


@dataclass
class Host:
    name: str
    itar: Path  # approved
    alice: Path  # not
    config: Path
    daemon: Daemon

    def restart(self) -> None:
        self.daemon = Daemon(self.config, self.daemon.home, self.daemon.log).start()


@pytest.fixture
def fleet(tmp_path: Path, pg_url: str,  # noqa: F811
          run_dlpd: Callable[..., Any]) -> Iterator[tuple[Host, Host]]:
    hosts = []
    try:
        for name in ("fs-a", "fs-b"):
            base = tmp_path / name
            itar, alice, state = base / "data" / "itar", base / "data" / "alice", base / "state"
            for d in (itar, alice, state):
                d.mkdir(parents=True)
            cfg = state / "dlpd.toml"
            cfg.write_text(config_text(state, watch=[base / "data"], approved=[itar],
                                       database_url=pg_url, host=name,
                                       control_socket=state / "control.sock"))
            if not hosts:  # the operator's step, once for the shared database
                done = run_dlpd("db", "upgrade", "--config", cfg)
                assert done.returncode == 0, done.describe()
            daemon = Daemon(cfg, base, base / "daemon.log").start()
            hosts.append(Host(name, itar, alice, cfg, daemon))
        for h in hosts:
            h.daemon.wait_for(h.daemon.crawls_done, WAIT, f"{h.name}'s first crawl")
        yield hosts[0], hosts[1]
    finally:
        for h in hosts:
            h.daemon.close()


def _alerts(d: Daemon, host: str) -> list[Any]:
    return d.query("SELECT * FROM alerts WHERE host = ? ORDER BY id", host)


def test_each_daemon_raises_its_own_alerts_and_the_cli_filters_by_host(
        fleet: tuple[Host, Host], run_dlpd: Callable[..., Any]) -> None:
    a, b = fleet
    (a.alice / "a.txt").write_text(sensitive_text(1))
    (b.alice / "b.txt").write_text(sensitive_text(2))
    (b.alice / "b2.txt").write_text(sensitive_text(3))
    a.daemon.wait_for(lambda: len(_alerts(a.daemon, "fs-a")) == 1, WAIT, "fs-a's alert")
    b.daemon.wait_for(lambda: len(_alerts(b.daemon, "fs-b")) == 2, WAIT, "fs-b's alerts")
    assert [r["path"] for r in _alerts(a.daemon, "fs-a")] == [str(a.alice / "a.txt")]
    assert sorted(r["path"] for r in _alerts(a.daemon, "fs-b")) == \
        [str(b.alice / "b.txt"), str(b.alice / "b2.txt")]

    done = run_dlpd("alerts", "list", "--host", "fs-a", "--format", "json",
                    "--config", a.config)
    assert done.returncode == 0, done.describe()
    listed = json.loads(done.stdout)
    assert [(x["host"], x["path"]) for x in listed] == [("fs-a", str(a.alice / "a.txt"))]
    both = run_dlpd("alerts", "list", "--format", "json", "--config", b.config)
    assert {x["host"] for x in json.loads(both.stdout)} == {"fs-a", "fs-b"}
    table = run_dlpd("alerts", "list", "--config", b.config)
    header, *rows = table.stdout.splitlines()
    column = header.split("\t").index("host")
    assert sorted(r.split("\t")[column] for r in rows) == ["fs-a", "fs-b", "fs-b"], \
        table.describe()


def test_a_file_labelled_on_fs_a_and_copied_to_fs_b_alerts_there_naming_fs_a(
        fleet: tuple[Host, Host], run_dlpd: Callable[..., Any]) -> None:
    a, b = fleet
    project = a.itar / "k17"
    project.mkdir()
    spec = project / "spec.txt"
    # No marking in it: only the label a person set on fs-a makes it sensitive.
    spec.write_text("".join(f"K-17 wing load case {i}: {i * 37 % 101} kN at station "
                            f"{i * 13 % 29}\n" for i in range(400)))
    done = run_dlpd("label", "set", project, "--label", "export-controlled",
                    "--config", a.config)
    assert done.returncode == 0, done.describe()
    a.daemon.wait_for(lambda: a.daemon.query(
        "SELECT 1 FROM fp_sources WHERE path = ?", str(spec)), WAIT,
        "fs-a registering the labelled file as a source")
    copy = b.alice / "background.txt"
    shutil.copy(spec, copy)
    b.daemon.wait_for(lambda: b.daemon.alerts(str(copy)), WAIT, "fs-b's alert on the copy")
    (alert,) = b.daemon.alerts(str(copy))
    assert alert["host"] == "fs-b" and alert["label"] == "export-controlled"
    assert f"copy of fs-a:{spec}" in (alert["provenance"] or ""), alert["provenance"]


def test_kill_9_during_a_storm_loses_no_alert_and_raises_none_twice(
        fleet: tuple[Host, Host]) -> None:
    a, b = fleet
    files = [a.alice / f"storm-{i:03}.txt" for i in range(STORM)]
    (b.alice / "steady.txt").write_text(sensitive_text(10_000))
    for f in files[:STORM // 2]:
        f.write_text(sensitive_text(1000 + int(f.stem[-3:])))
    a.daemon.wait_for(lambda: len(_alerts(a.daemon, "fs-a")) >= 10, WAIT,
                      "the storm's first alerts")
    a.daemon.kill()  # SIGKILL, mid-storm
    for f in files[STORM // 2:]:
        f.write_text(sensitive_text(1000 + int(f.stem[-3:])))
    a.restart()

    def all_once() -> bool:
        return len(_alerts(a.daemon, "fs-a")) >= STORM

    took = a.daemon.wait_for(all_once, 180, f"{STORM} alerts on fs-a")
    print(f"all {STORM} alerts {took:.1f} s after the restart")
    a.daemon.wait_for(a.daemon.crawls_done, WAIT, "the restart's crawl")
    rows = _alerts(a.daemon, "fs-a")
    assert sorted(r["path"] for r in rows) == sorted(map(str, files)), "each exactly once"
    assert {r["status"] for r in rows} == {"open"}
    b.daemon.wait_for(lambda: len(_alerts(b.daemon, "fs-b")) == 1, WAIT, "fs-b's alert")
    assert b.daemon.proc is not None and b.daemon.proc.poll() is None
    assert os.path.exists(a.daemon.log)
