"""A sink host name the resolver can never be asked about (IDNA refuses a label over 63
characters or an empty one) is a ConfigError at start naming its key, not an unexpected
exception at every delivery."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dlpd.config import settings_from_mapping
from dlpd.daemon.runtime import check_sinks
from dlpd.errors import ConfigError

LONG = "a" * 64 + ".example"


@pytest.mark.parametrize(("sink", "key"), [
    ({"type": "syslog", "address": f"tcp://{LONG}:514"}, "sinks.0.address"),
    ({"type": "syslog", "address": "udp://a..example"}, "sinks.0.address"),
    ({"type": "webhook", "url": f"https://{LONG}/hook"}, "sinks.0.url"),
])
def test_a_host_name_idna_refuses_fails_at_start(sink: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_sinks(settings_from_mapping({"sinks": [sink]}))
    assert caught.value.key == key
    assert "label empty or too long" in caught.value.problem


@pytest.mark.parametrize("sink", [
    {"type": "syslog", "address": "udp://127.0.0.1:514"},
    {"type": "syslog", "address": "udp://[::1]:514"},
    {"type": "syslog", "address": f"tcp://{'a' * 63}.example:601"},
    {"type": "webhook", "url": "https://例え.jp/hook"},
])
def test_good_host_names_pass(sink: dict[str, str]) -> None:
    check_sinks(settings_from_mapping({"sinks": [sink]}))


def test_check_config_names_the_key(tmp_path: Path, run_dlpd: Callable[..., Any],
                                    dlpd_config: Callable[..., Path]) -> None:
    cfg = dlpd_config(tmp_path, f'[[sinks]]\ntype = "syslog"\naddress = "tcp://{LONG}:514"\n')
    res = run_dlpd("check-config", "--config", cfg)
    assert res.returncode == 2, res.describe()
    assert "sinks.0.address: host name" in res.stderr and res.stdout == ""
