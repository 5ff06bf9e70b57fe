"""Config parsing: defaults, the shipped example, and bad values naming their key."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel

from dlpd.config import (
    DEFAULT_CATEGORY_LABELS,
    Settings,
    load_settings,
    parse_duration,
    parse_size,
)
from dlpd.errors import ConfigError
from dlpd.model import CATEGORIES
from tests.conftest import DlpdRun

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


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every key a site may write, dotted (a nested section's keys under its name)."""
    found: list[str] = []
    for name, info in model.model_fields.items():
        if name == "source":
            continue
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found += _keys(annotation, f"{prefix}{name}.")
        else:
            found.append(f"{prefix}{name}")
    return found


def test_example_config_documents_every_key() -> None:
    """Each key of each section appears in the shipped example (set or commented out),
    inside its own section."""
    text = (REPO / "config" / "dlpd.toml").read_text(encoding="utf-8")
    sections: dict[str, str] = {}
    current = ""
    for line in text.splitlines():
        header = re.fullmatch(r"#?\s*\[([a-z_.-]+)\]\s*", line)
        if header:
            current = header.group(1)
        sections[current] = sections.get(current, "") + line + "\n"
    missing = []
    for dotted in _keys(Settings):
        section, _, name = dotted.rpartition(".")
        if section in ("", "categories", "labels", "sinks"):
            continue  # maps and lists of tables: documented by example
        if not re.search(rf"^#?\s*{re.escape(name)}\s*=", sections.get(section, ""),
                         re.MULTILINE):
            missing.append(dotted)
    assert missing == []


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[fingerprints]\nmin_share = 0\n", "fingerprints.min_share"),
        ("[fingerprints]\nmin_share = 1.5\n", "fingerprints.min_share"),
        ("[fingerprints]\nmax_df = 0\n", "fingerprints.max_df"),
        ("[fingerprints]\nenabled = 'yes please'\n", "fingerprints.enabled"),
        ("[fingerprints]\nk = 40\n", "fingerprints.k"),
        ("[daemon]\ncontrol_socket = 'run/dlpd.sock'\n", "daemon.control_socket"),
        ("[daemon]\nlabel_admin_group = 7\n", "daemon.label_admin_group"),
    ],
)
def test_label_and_fingerprint_keys_name_themselves(tmp_path: Path, text: str,
                                                    key: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert info.value.key == key
    if not key.endswith(".k"):
        assert info.value.problem != "unknown key"  # a known key with a bad value


def test_label_and_fingerprint_defaults() -> None:
    s = Settings()
    assert str(s.daemon.control_socket) == "/run/dlpd/control.sock"
    assert s.daemon.label_admin_group == ""
    assert (s.fingerprints.enabled, s.fingerprints.min_share, s.fingerprints.max_df) == (
        True, 0.2, 20)


def test_no_pydantic_plugin_is_loaded_from_installed_packages(
    tmp_path: Path, run_dlpd: Callable[..., DlpdRun], dlpd_config: Callable[..., Path],
) -> None:
    """pydantic runs any installed distribution's ``pydantic`` entry point when a model is
    first built; dlpd validates its config (as root) without them."""
    site = tmp_path / "site"
    (site / "planted_plugin").mkdir(parents=True)
    marker = tmp_path / "plugin-ran"
    (site / "planted_plugin" / "__init__.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "class Plugin:\n"
        "    def new_schema_validator(self, *args, **kwargs):\n"
        "        return None, None, None\n"
        "plugin = Plugin()\n")
    dist = site / "planted_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: planted-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[pydantic]\nplanted = planted_plugin:plugin\n")
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    # The plant works: a plain pydantic model loads it (this process imported dlpd.config,
    # whose switch its children would inherit).
    plain = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    subprocess.run([sys.executable, "-W", "ignore", "-c",
                    "import pydantic\nclass M(pydantic.BaseModel):\n    x: int = 0\n"],
                   env={**plain, **env}, check=True, timeout=60)
    assert marker.exists()
    marker.unlink()
    run = run_dlpd("check-config", "--config", dlpd_config(tmp_path / "cfg"), env=env)
    assert run.returncode in (0, 1), run.stderr[-2000:]
    assert not marker.exists()
