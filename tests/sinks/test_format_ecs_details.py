"""ECS: every time is an ISO 8601 date; what the scan knew of the file goes to ECS `file`."""

from __future__ import annotations

import json

from dlpd.model import AlertDetails, Confidence, Detection
from dlpd.sinks.formats import ecs

from .conftest import make_alert

DETAILS = AlertDetails(size=2048, mtime=1_714_564_000.5, uid=1001, gid=0, owner="alice",
                       group="root", mime="text/plain", detections=(Detection(
                           "ear_eccn", "export-control", Confidence.HIGH, 3,
                           previews=("ECCN ****",)),))


def test_every_time_is_iso_8601() -> None:
    doc = ecs(make_alert().to_json(), "0.1.0")
    assert doc["dlpd"]["created"] == "2024-05-01T12:00:00.250Z"
    assert doc["dlpd"]["updated"] == "2024-05-01T12:01:00.750Z"
    assert doc["dlpd"]["notes"] == [{"time": "2024-05-01T12:00:30.250Z", "author": "bob",
                                     "text": "looking", "status": None}]


def test_file_details_use_ecs_names_and_types() -> None:
    doc = ecs(make_alert(details=DETAILS).to_json(), "0.1.0")
    assert doc["file"] == {
        "path": "/home/alice/cad/x.dwg", "name": "x.dwg", "directory": "/home/alice/cad",
        "size": 2048, "mtime": "2024-05-01T11:46:40.500Z", "uid": "1001", "gid": "0",
        "owner": "alice", "group": "root", "mime_type": "text/plain",
        "hash": {"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
    }
    assert doc["dlpd"]["detections"][0]["count"] == 3
    assert json.loads(json.dumps(doc)) == doc


def test_an_alert_without_details_has_only_its_path() -> None:
    doc = ecs(make_alert().to_json(), "0.1.0")
    assert set(doc["file"]) == {"path", "name", "directory", "hash"}
    assert doc["dlpd"]["detections"] is None
