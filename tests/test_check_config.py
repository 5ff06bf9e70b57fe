"""`dlpd check-config` says what `dlpd run` would refuse and what would never alert: the
pure ``config_checks.problems`` as a table, then the real command for each finding."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dlpd.config import settings_from_mapping
from dlpd.config_checks import Finding, Level, PathKind, is_daemon_config, problems
from dlpd.errors import ConfigError

DIRS = {"/data", "/data/itar", "/home", "/srv/secure"}


def _kind(path: str) -> PathKind:
    if path in DIRS:
        return "directory"
    return "other" if path == "/etc/passwd" else "missing"


def _said(mapping: dict[str, Any], daemon: bool = True) -> set[tuple[str, str]]:
    """(level, key) of every finding."""
    found = problems(settings_from_mapping(mapping), daemon=daemon, kind_of=_kind)
    return {(f.level.value, f.key) for f in found}


POLICED = {name: {"approved": "anywhere"} for name in (
    "ai-model", "confidential", "credentials", "cui", "export-controlled", "financial",
    "genomic", "health", "personal-data")}
WATCH = {"paths": ["/data", "/home"]}

CASES: list[tuple[str, dict[str, Any], set[tuple[str, str]]]] = [
    ("every label policed, paths there", {"watch": WATCH, "labels": POLICED}, set()),
    ("no watch paths", {"labels": POLICED}, {("error", "watch.paths")}),
    ("watch path missing", {"watch": {"paths": ["/data", "/gone"]}, "labels": POLICED},
     {("warning", "watch.paths")}),
    ("watch path a file", {"watch": {"paths": ["/etc/passwd"]}, "labels": POLICED},
     {("warning", "watch.paths")}),
    ("watch path inside another", {"watch": {"paths": ["/data", "/data/itar"]},
                                   "labels": POLICED}, {("warning", "watch.paths")}),
    ("typo'd label", {"watch": WATCH, "labels": {
        **POLICED, "export-controled": {"approved": ["/data/itar"]}}},
     {("warning", "labels.export-controled")}),
    ("approved left empty", {"watch": WATCH, "labels": {**POLICED, "cui": {}}},
     {("warning", "labels.cui.approved")}),
    ("approved = [] said outright", {"watch": WATCH, "labels": {
        **POLICED, "cui": {"approved": []}}}, {("warning", "labels.cui.approved")}),
    ("approved nowhere", {"watch": WATCH, "labels": {**POLICED, "cui": {"approved": "nowhere"}}},
     set()),
    ("approved place missing", {"watch": WATCH, "labels": {
        **POLICED, "cui": {"approved": ["/data/itar", "/data/cui"]}}},
     {("warning", "labels.cui.approved")}),
    ("a label no section polices", {"watch": WATCH, "labels": {
        k: v for k, v in POLICED.items() if k != "health"}}, {("warning", "labels")}),
]


@pytest.mark.parametrize(("mapping", "expected"), [(m, e) for _, m, e in CASES],
                         ids=[name for name, _, _ in CASES])
def test_problems_table(mapping: dict[str, Any], expected: set[tuple[str, str]]) -> None:
    assert _said(mapping) == expected


def test_a_scan_configuration_needs_no_watch_paths_and_no_label_policies() -> None:
    settings = settings_from_mapping({})
    assert not is_daemon_config(settings)
    assert _said({}, daemon=False) == {("warning", "watch.paths")}
    assert _said({}) == {("error", "watch.paths"), ("warning", "labels")}


def test_findings_say_what_to_do() -> None:
    settings = settings_from_mapping({"watch": WATCH, "labels": {
        **POLICED, "cui": {}, "export-controled": {"approved": "nowhere"}}})
    by_key = {f.key: f for f in problems(settings, kind_of=_kind)}
    typo = by_key["labels.export-controled"]
    assert "did you mean export-controlled?" in typo.message
    assert "personal-data" in typo.message  # the labels categories do map to
    empty = by_key["labels.cui.approved"]
    assert "label cui may live anywhere" in empty.message
    assert "never raise an alert for their location" in empty.message
    assert 'approved = "nowhere"' in empty.message
    assert str(empty).startswith("labels.cui.approved: ")


def test_errors_come_first() -> None:
    found = problems(settings_from_mapping({"labels": {"cui": {}}}), kind_of=_kind)
    assert found[0] == Finding(Level.ERROR, "watch.paths",
                               "no directories to watch; list at least one")


@pytest.mark.parametrize("value", ["/data/itar", "elsewhere", "Nowhere"])
def test_approved_is_a_list_or_one_of_two_words(value: str) -> None:
    with pytest.raises(ConfigError, match=r"labels\.x\.approved: expected a list"):
        settings_from_mapping({"labels": {"x": {"approved": value}}})


# ---- the real command ------------------------------------------------------------------------


@pytest.fixture
def check(tmp_path: Path, run_dlpd: Callable[..., Any],
          dlpd_config: Callable[..., Path]) -> Callable[..., Any]:
    def run(extra: str, *args: str) -> Any:
        cfg = dlpd_config(tmp_path / "state", extra)
        return run_dlpd("check-config", "--config", cfg, *args)
    return run


def _policed(*but: str) -> str:
    return "".join(f'[labels.{n}]\napproved = "anywhere"\n' for n in POLICED if n not in but)


def test_no_watch_paths_is_an_error_never_ok(check: Callable[..., Any]) -> None:
    res = check(_policed())
    assert res.returncode == 2, res.describe()
    assert "config OK" not in res.stdout
    assert res.stdout.startswith("config has errors: ")
    errors = res.stdout[res.stdout.index("errors:"):]
    assert "  watch.paths: no directories to watch" in errors


def test_a_typo_in_a_label_is_a_named_warning(check: Callable[..., Any],
                                              tmp_path: Path) -> None:
    extra = (f'[watch]\npaths = ["{tmp_path}"]\n' + _policed()
             + f'[labels.export-controled]\napproved = ["{tmp_path}"]\n')
    res = check(extra)
    assert res.returncode == 0, res.describe()
    assert res.stdout.startswith("config OK: ")
    warnings = res.stdout[res.stdout.index("warnings:"):]
    assert "  labels.export-controled: no category maps to this label" in warnings
    assert "did you mean export-controlled?" in warnings
    strict = check(extra, "--strict")
    assert strict.returncode == 1, strict.describe()


def test_an_empty_approved_says_what_it_means(check: Callable[..., Any],
                                              tmp_path: Path) -> None:
    res = check(f'[watch]\npaths = ["{tmp_path}"]\n' + _policed("cui")
                + "[labels.cui]\napproved = []\n")
    assert res.returncode == 0, res.describe()
    assert ("labels.cui.approved: empty: label cui may live anywhere: files with it never "
            "raise an alert for their location") in res.stdout
    assert "  label cui (medium): anywhere" in res.stdout


def test_approved_nowhere_is_said_and_not_warned(check: Callable[..., Any],
                                                 tmp_path: Path) -> None:
    res = check(f'[watch]\npaths = ["{tmp_path}"]\n' + _policed("cui")
                + '[labels.cui]\nseverity = "high"\napproved = "nowhere"\n', "--strict")
    assert res.returncode == 0, res.describe()
    assert "  label cui (high): nowhere" in res.stdout
    assert "warnings:" not in res.stdout


def test_unpoliced_labels_missing_and_nested_paths_are_warned(
        check: Callable[..., Any], tmp_path: Path) -> None:
    inner = tmp_path / "inner"
    inner.mkdir()
    res = check(f'[watch]\npaths = ["{tmp_path}", "{inner}", "{tmp_path}/gone"]\n'
                + _policed("health", "export-controlled")
                + f'[labels.export-controlled]\napproved = ["{tmp_path}/nope"]\n')
    assert res.returncode == 0, res.describe()
    out = res.stdout
    assert f"watch.paths: {inner} is inside {tmp_path}, which is already watched" in out
    assert f"watch.paths: {tmp_path}/gone does not exist: `dlpd run` skips it" in out
    assert f"labels.export-controlled.approved: {tmp_path}/nope does not exist" in out
    assert "labels: no [labels.NAME] section for health (medical-image)" in out


def test_a_plain_scan_config_stays_ok(check: Callable[..., Any]) -> None:
    res = check("")
    assert res.returncode == 0, res.describe()
    assert res.stdout.startswith("config OK: ")
    assert "watch.paths: empty: fine for `dlpd scan`" in res.stdout
    assert check("", "--strict").returncode == 1
