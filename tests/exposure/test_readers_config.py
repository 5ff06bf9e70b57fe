"""``[labels.NAME] readers``: entries checked at load, unknown accounts a warning."""

from __future__ import annotations

import pytest

from dlpd.config import settings_from_mapping
from dlpd.config_checks import Level, problems
from dlpd.errors import ConfigError


def _readers(*entries: str) -> dict[str, object]:
    return {"labels": {"export-controlled": {"approved": "anywhere",
                                             "readers": list(entries)}}}


def test_readers_parse() -> None:
    settings = settings_from_mapping(_readers("user:alice", "group:k17-team", "uid:1001",
                                              "gid:2000"))
    assert settings.labels["export-controlled"].readers == (
        "user:alice", "group:k17-team", "uid:1001", "gid:2000")
    assert settings_from_mapping({"labels": {"x": {}}}).labels["x"].readers == ()


@pytest.mark.parametrize("entry", ["alice", "user:", "host:alice", "uid:-1", "uid:x",
                                   "group:a b", "uid:99999999999", "user:al\nice"])
def test_a_bad_reader_names_its_key(entry: str) -> None:
    with pytest.raises(ConfigError, match=r"labels\.export-controlled\.readers"):
        settings_from_mapping(_readers(entry))


def test_check_config_warns_of_a_reader_with_no_account() -> None:
    settings = settings_from_mapping(_readers("user:root", "group:root", "uid:4242",
                                              "user:dlpd-no-such-user"))
    found = [f for f in problems(settings, daemon=False) if f.key.endswith(".readers")]
    assert [(f.level, f.key) for f in found] == [
        (Level.WARNING, "labels.export-controlled.readers")]
    assert "user:dlpd-no-such-user names no account" in found[0].message


@pytest.mark.parametrize(("watch", "keys"), [
    ({"paths": ["/srv"]}, ["watch.access_events"]),
    ({"paths": ["/srv"], "access_events": True}, []),
    ({"paths": ["/srv"], "access_events": True, "backend": "inotify"}, ["watch.backend"]),
    ({"paths": ["/srv"], "access_events": True, "backend": "fanotify"}, []),
])
def test_readers_without_a_way_to_see_opens_are_warned(watch: dict[str, object],
                                                       keys: list[str]) -> None:
    settings = settings_from_mapping({**_readers("user:root"), "watch": watch})
    found = [f.key for f in problems(settings, daemon=False)
             if f.key in ("watch.access_events", "watch.backend")]
    assert found == keys
