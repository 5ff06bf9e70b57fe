"""Config parsing: defaults, the shipped example, and bad values naming their key."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlpd.config import (
    DEFAULT_CATEGORY_LABELS,
    Settings,
    load_settings,
    parse_duration,
    parse_size,
)
from dlpd.errors import ConfigError
from dlpd.model import CATEGORIES

REPO = Path(__file__).resolve().parents[1]


def test_example_config_documents_the_defaults() -> None:
    example = load_settings(REPO / "config" / "dlpd.toml")
    assert example.model_dump(exclude={"source"}) == Settings().model_dump(exclude={"source"})


def test_every_category_has_a_default_label() -> None:
    assert set(DEFAULT_CATEGORY_LABELS) == set(CATEGORIES)


def test_site_overrides_one_label_and_keeps_the_rest(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[categories]\ncui = "restricted"\n')
    s = load_settings(cfg)
    assert s.categories["cui"] == "restricted"
    assert s.categories["export-control"] == "export-controlled"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[limits]\nmax_ratio = 'lots'\n", "limits.max_ratio"),
        ("[limits]\nmax_scan_bytes = '12 parsecs'\n", "limits.max_scan_bytes"),
        ("[limits]\nscan_timeout = -3\n", "limits.scan_timeout"),
        ("[scan]\nmin_confidence = 'certain'\n", "scan.min_confidence"),
        ("[scan]\njobs = -1\n", "scan.jobs"),
        ("[scna]\njobs = 1\n", "scna"),
        ("[categories]\nsecret-sauce = 'x'\n", "categories"),
        ("[labels.cui]\nseverity = 'apocalyptic'\n", "labels.cui.severity"),
    ],
)
def test_bad_values_name_their_key(tmp_path: Path, text: str, key: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert info.value.key == key
    assert str(info.value).startswith(key + ":")


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[scan\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(cfg)
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("text", "value"),
    [("256MiB", 256 * 2**20), ("1GB", 10**9), ("10 KiB", 10240), (4096, 4096), ("0", 0)],
)
def test_sizes(text: str | int, value: int) -> None:
    assert parse_size(text) == value


@pytest.mark.parametrize(("text", "value"), [("120s", 120.0), ("2m", 120.0), ("1h", 3600.0),
                                             ("500ms", 0.5), (30, 30.0)])
def test_durations(text: str | int, value: float) -> None:
    assert parse_duration(text) == value
