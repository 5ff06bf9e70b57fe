"""Elastic Common Schema documents: the fields a SIEM keys on, with ECS names and types."""

from __future__ import annotations

import json
import re

import pytest

from dlpd.sinks.formats import ecs

from .conftest import make_alert

ISO_MS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def test_required_fields() -> None:
    doc = ecs(make_alert().to_json(), "0.1.0")
    assert ISO_MS.fullmatch(doc["@timestamp"])
    assert doc["@timestamp"] == "2024-05-01T12:01:00.750Z"  # the last change
    assert doc["ecs"]["version"].count(".") == 2
    event = doc["event"]
    assert event["kind"] == "alert"
    assert event["category"] == ["file"]
    assert event["type"] == ["info"]
    assert event["id"] == "17"
    assert event["severity"] == 8
    assert event["created"] == "2024-05-01T12:00:00.250Z"
    assert event["reason"] == "export-controlled file outside approved locations (/srv/itar)"
    assert doc["file"] == {
        "path": "/home/alice/cad/x.dwg", "name": "x.dwg", "directory": "/home/alice/cad",
        "hash": {"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
    }
    assert doc["rule"]["id"] == ["ear_eccn", "jp_gokuhi"]
    assert doc["rule"]["name"] == ["ear_eccn", "jp_gokuhi"]
    assert doc["rule"]["ruleset"] == "export-controlled"
    assert doc["host"]["name"] == "ws-17.lab.example"
    assert doc["observer"] == {"vendor": "dlpd", "product": "dlpd", "version": "0.1.0",
                               "hostname": "ws-17.lab.example"}
    assert doc["tags"] == ["export-controlled", "confidential"]
    assert doc["dlpd"]["status"] == "open"
    assert doc["dlpd"]["provenance"] == "copied from /srv/itar/x.dwg"
    assert doc["dlpd"]["notes"][0]["author"] == "bob"


def test_labels_are_flat_keyword_pairs() -> None:
    labels = ecs(make_alert().to_json(), "0.1.0")["labels"]
    assert labels == {"label": "export-controlled", "severity": "high", "status": "open",
                      "kind": "location"}
    assert all(isinstance(v, str) and "." not in k for k, v in labels.items())


@pytest.mark.parametrize(("severity", "number"),
                         [("low", 3), ("medium", 5), ("high", 8), ("critical", 10)])
def test_numeric_severity(severity: str, number: int) -> None:
    assert ecs(make_alert(severity=severity).to_json(), "0.1.0")["event"]["severity"] == number


def test_keeps_the_exact_path_and_serialises() -> None:
    path = "/data/山田/line\nbreak|x=y.txt"
    doc = ecs(make_alert(path=path).to_json(), "0.1.0")
    assert doc["file"]["path"] == path
    assert doc["file"]["directory"] == "/data/山田"
    assert "\n" not in doc["message"]
    assert json.loads(json.dumps(doc)) == doc


def test_root_file() -> None:
    doc = ecs(make_alert(path="/x").to_json(), "0.1.0")
    assert (doc["file"]["directory"], doc["file"]["name"]) == ("/", "x")
