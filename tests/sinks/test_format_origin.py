"""A label's origin (a copy, an extract, a labelled directory) as fields a SIEM reads: ECS
``dlpd.origin`` and CEF extension keys, next to the provenance sentence."""

from __future__ import annotations

import json

from dlpd.model import AlertDetails, Origin
from dlpd.sinks.formats import cef, ecs

from .conftest import make_alert
from .grammar import parse_cef

DERIVED = Origin(kind="derived", source_path="/data/itar/k17/spec.docx", source_host="fs-a",
                 share=0.31, set_by="prof_k", set_at=1_793_577_600.0)


def _alert(origin: Origin | None) -> dict[str, object]:
    return make_alert(details=AlertDetails(size=4096, origin=origin),
                      provenance="contains 31% of fs-a:/data/itar/k17/spec.docx "
                                 "(export-controlled, set by prof_k on 2026-11-02)").to_json()


def test_ecs_carries_the_origin_with_an_iso_time() -> None:
    doc = ecs(_alert(DERIVED), "0.1.0")
    origin = doc["dlpd"]["origin"]
    assert origin["kind"] == "derived" and origin["share"] == 0.31
    assert origin["source_path"] == "/data/itar/k17/spec.docx" and origin["source_host"] == "fs-a"
    assert origin["set_by"] == "prof_k" and origin["set_at"].startswith("2026-11-02T")
    json.dumps(doc)  # still one JSON document


def test_cef_carries_the_origin_as_extension_fields() -> None:
    parsed = parse_cef(cef(_alert(DERIVED), "0.1.0"))
    ext = parsed.extension
    assert ext["cs6Label"] == "origin" and ext["cs6"] == "derived"
    assert ext["oldFilePath"] == "/data/itar/k17/spec.docx"
    assert ext["cfp1Label"] == "share" and float(ext["cfp1"]) == 0.31
    # Who set the label; suser is the process's user when one is known (fanotify).
    assert ext["flexString1Label"] == "label set by" and ext["flexString1"] == "prof_k"
    assert "suser" not in ext


def test_no_origin_no_fields() -> None:
    assert ecs(_alert(None), "0.1.0")["dlpd"]["origin"] is None
    ext = parse_cef(cef(_alert(None), "0.1.0")).extension
    assert "cs6" not in ext and "oldFilePath" not in ext


def test_a_table_origin_counts_rows() -> None:
    rows = Origin(kind="derived", source_path="/data/pii/run.csv", rows=200)
    ext = parse_cef(cef(_alert(rows), "0.1.0")).extension
    assert ext["cn1Label"] == "rows" and ext["cn1"] == "200" and "cfp1" not in ext
    assert Origin.from_json(rows.to_json()) == rows
