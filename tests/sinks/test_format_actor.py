"""Who did it (fanotify's actor) and what kind of alert, as fields a SIEM reads: ECS
``user``/``process`` and CEF ``suser``/``suid``/``spid``/``sproc``, escaped like every
other field; the CEF signature and name follow the alert's kind."""

from __future__ import annotations

import json

from dlpd.model import Actor, AlertDetails, AlertKind
from dlpd.sinks.formats import cef, ecs

from .conftest import make_alert
from .grammar import parse_cef

# /proc data the process chose: its command line may carry anything.
MALLORY = Actor(pid=4242, uid=1006, user="mallory", gid=1006, ppid=77, exe="/usr/bin/cp",
                cmdline="cp x.dwg /tmp/out|CEF:0|forged\nmsg=evil \\ =")


def _alert(kind: AlertKind = AlertKind.LOCATION) -> dict[str, object]:
    return make_alert(details=AlertDetails(size=4096, actor=MALLORY), kind=kind,
                      subject="uid:1006 2026-12-07" if kind is not AlertKind.LOCATION
                      else "").to_json()


def test_ecs_user_and_process() -> None:
    doc = ecs(_alert(), "0.1.0")
    assert doc["user"] == {"name": "mallory", "id": "1006"}
    assert doc["process"] == {"pid": 4242, "executable": "/usr/bin/cp", "name": "cp",
                              "command_line": MALLORY.cmdline, "parent": {"pid": 77}}
    assert json.loads(json.dumps(doc))["process"]["command_line"] == MALLORY.cmdline


def test_cef_source_user_and_process_on_one_line() -> None:
    line = cef(_alert(AlertKind.UNAUTHORIZED_ACCESS), "0.1.0")
    assert "\n" not in line
    parsed = parse_cef(line)
    ext = parsed.extension
    assert (ext["suser"], ext["suid"], ext["spid"], ext["sproc"]) == (
        "mallory", "1006", "4242", "/usr/bin/cp")
    assert parsed.header[4] == "dlpd:unauthorized-access:export-controlled"
    assert "opened by someone outside its readers" in parsed.header[5]


def test_no_actor_no_fields_and_the_location_signature_stays() -> None:
    plain = make_alert().to_json()
    assert "user" not in ecs(plain, "0.1.0") and "process" not in ecs(plain, "0.1.0")
    parsed = parse_cef(cef(plain, "0.1.0"))
    assert "suser" not in parsed.extension
    assert parsed.header[4] == "dlpd:label:export-controlled"
