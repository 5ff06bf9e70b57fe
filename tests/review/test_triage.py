"""Triage shared by the CLI and the console: closing needs a reason, every change (the
ones a false-positive decision carries too) is a row in the audit chain, and a bulk
action takes every matching alert but the excluded ones and none raised since."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dlpd.model import Alert, AlertStatus, Severity
from dlpd.review import triage
from dlpd.review.triage import Action, ReasonRequired
from dlpd.store import alerts as repo
from dlpd.store import audit
from dlpd.store.alert_pages import AlertFilter
from dlpd.store.db import Engine, open_engine, transaction

SINKS = (repo.SinkRoute("hook"),)
T0 = 1_700_000_000.0


def _alert(n: int, *, label: str = "itar", sha256: str | None = None) -> Alert:
    return Alert(id=0, created=T0 + n, updated=T0 + n, host="fs-a", path=f"/scratch/f{n}",
                 sha256=sha256 or f"{n:064x}", label=label, labels=(label,),
                 categories=("export-control",), rules=("itar_marking",),
                 severity=Severity.HIGH, reason="outside /data/itar", provenance=None,
                 status=AlertStatus.OPEN)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    eng = open_engine(f"sqlite:///{tmp_path / 'dlpd.db'}")
    with transaction(eng) as conn:
        for n in range(1, 31):
            repo.raise_alert(conn, _alert(n, label="itar" if n <= 25 else "pii"), SINKS)
        # 31 and 32: one content at two paths (a false positive closes both)
        repo.raise_alert(conn, _alert(31, sha256="ab" * 32), SINKS)
        repo.raise_alert(conn, _alert(32, sha256="ab" * 32), SINKS)
    return eng


def _statuses(engine: Engine) -> dict[int, str]:
    with transaction(engine) as conn:
        return {a.id: a.status.value for a in repo.query(conn)}


@pytest.mark.parametrize("action", [Action.RESOLVE, Action.FALSE_POSITIVE])
def test_closing_without_a_reason_is_refused_and_changes_nothing(
        engine: Engine, action: Action) -> None:
    before = _statuses(engine)
    with pytest.raises(ReasonRequired), transaction(engine) as conn:
        triage.apply(conn, action, [1], author="ana", reason="  ", now=T0 + 100, sinks=SINKS)
    assert _statuses(engine) == before
    with transaction(engine) as conn:
        assert audit.entries(conn) == []


def test_every_change_is_audited_with_who_and_why(engine: Engine) -> None:
    with transaction(engine) as conn:
        done = triage.apply(conn, Action.FALSE_POSITIVE, [31, 999], author="ana",
                            reason="public brochure", now=T0 + 100, sinks=SINKS)
    assert [a.id for a in done.changed] == [31, 32] and done.missing == (999,)
    with transaction(engine) as conn:
        rows = audit.entries(conn)
        check = audit.verify(conn)
    assert {(r.actor, r.action, r.target, r.reason) for r in rows} == {
        ("ana", "false-positive", "alert:31", "public brochure"),
        ("ana", "false-positive", "alert:32", "public brochure")}
    assert check.ok and check.entries == 2
    acked = _statuses(engine)
    assert acked[31] == acked[32] == "false-positive"


def test_bulk_takes_all_matching_but_the_excluded_and_none_raised_since(engine: Engine) -> None:
    wanted = AlertFilter(statuses=("open",), labels=("itar",), max_id=25)
    with transaction(engine) as conn:  # raised after the page was shown: not decided unseen
        late = repo.raise_alert(conn, _alert(40), SINKS)
    assert late is not None
    n = triage.apply_matching(engine, Action.ACK, wanted, exclude=frozenset({2, 5, 7}),
                              author="ana", reason="", now=T0 + 100, sinks=SINKS)
    assert n == 22
    after = _statuses(engine)
    assert [i for i, s in after.items() if s == "acknowledged"] == [
        i for i in range(1, 26) if i not in (2, 5, 7)]
    assert after[late.id] == after[26] == after[2] == "open"


def test_cli_resolve_needs_a_note(tmp_path: Path, engine: Engine,
                                  run_dlpd: Callable[..., Any]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "dlpd.db"}"\n')
    refused = run_dlpd("alerts", "resolve", "3", "--config", cfg)
    assert refused.returncode == 2 and "a reason is required" in refused.stderr
    assert _statuses(engine)[3] == "open"
    done = run_dlpd("alerts", "resolve", "3", "--note", "moved back", "--author", "bo",
                    "--config", cfg)
    assert done.returncode == 0, done.describe()
    with transaction(engine) as conn:
        (row,) = audit.entries(conn)
    assert (row.actor, row.action, row.target, row.reason) == (
        "bo", "resolve", "alert:3", "moved back")
    assert str(row.details["via"]).startswith("cli (unix user ")
