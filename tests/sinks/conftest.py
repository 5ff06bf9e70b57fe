"""Shared fixtures for the sink tests: an alert, its outbox message, short socket paths."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dlpd.model import Alert, AlertNote, AlertStatus, OutboxMessage, Severity, alert_event_body

CREATED = 1_714_564_800.25  # 2024-05-01T12:00:00.250Z


def make_alert(**changes: Any) -> Alert:
    alert = Alert(
        id=17,
        created=CREATED,
        updated=CREATED + 60.5,
        host="ws-17.lab.example",
        path="/home/alice/cad/x.dwg",
        sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        label="export-controlled",
        labels=("export-controlled", "confidential"),
        categories=("export-control", "jp-confidential"),
        rules=("ear_eccn", "jp_gokuhi"),
        severity=Severity.HIGH,
        reason="export-controlled file outside approved locations (/srv/itar)",
        provenance="copied from /srv/itar/x.dwg",
        status=AlertStatus.OPEN,
        notes=(AlertNote(time=CREATED + 30, author="bob", text="looking"),),
    )
    return dataclasses.replace(alert, **changes)


def make_message(alert: Alert | None = None, kind: str = "alert.created",
                 msg_id: str = "msg_dlpd_17_created_1714564800250") -> OutboxMessage:
    alert = alert or make_alert()
    return OutboxMessage(id=1, msg_id=msg_id, sink="test", alert_id=alert.id, kind=kind,
                         created=alert.updated, body=alert_event_body(kind, alert, alert.updated))


@pytest.fixture
def message() -> OutboxMessage:
    return make_message()


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path: AF_UNIX socket paths are limited to 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="dlpd-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


