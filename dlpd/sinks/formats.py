"""Alert wire formats: RFC 5424 syslog, ArcSight CEF, Elastic Common Schema, and the
Standard Webhooks signature. Pure: standard library only, no I/O.

Every function takes the alert as the JSON object of ``Alert.to_json()`` (what an outbox
body carries), so a format can be rebuilt from the outbox alone, byte for byte.

Paths are attacker-chosen text: a Linux file name may hold a newline, a ``|`` or a ``]``.
Line-oriented formats (syslog, CEF) therefore never emit a raw character that any reader
could take for the end of a line (CR, LF, VT, FF, the file/group/record separators, NEL,
U+2028, U+2029), nor ESC or any other control: each format escapes what its own grammar
reserves, and the characters its grammar has no escape for are written as the visible
escapes of ``dlpd.textsafe`` (``\\x1b``, ``\\u2028``, ``\\xff`` for an undecodable name
byte). Those are for reading, not for recovering the name: the exact path is always in the
JSON body (and in ECS).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import posixpath
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from dlpd.textsafe import visible

# RFC 5424 section 6.2.1, table 1 (names as syslog.conf spells them).
FACILITIES: dict[str, int] = {
    "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
    "news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
    **{f"local{n}": 16 + n for n in range(8)},
}

# Alert severity -> RFC 5424 severity (table 2): crit, err, warning, notice.
_SYSLOG_SEVERITY = {"critical": 2, "high": 3, "medium": 4, "low": 5}
# Alert severity -> CEF severity (0-10); ECS ``event.severity`` uses the same scale.
_CEF_SEVERITY = {"low": 3, "medium": 5, "high": 8, "critical": 10}

# The structured-data ID. 32473 is the Private Enterprise Number RFC 5612 reserves for
# documentation; a site that registers its own PEN would put it here.
SD_ID = "dlpd@32473"
_BOM = b"\xef\xbb\xbf"


def severity_code(severity: str) -> int:
    """The RFC 5424 severity of an alert severity; ``ValueError`` for an unknown one."""
    try:
        return _SYSLOG_SEVERITY[severity]
    except KeyError:
        raise ValueError(f"unknown alert severity {severity!r}") from None


def cef_severity(severity: str) -> int:
    """The CEF (and ECS ``event.severity``) number of an alert severity, 0-10."""
    try:
        return _CEF_SEVERITY[severity]
    except KeyError:
        raise ValueError(f"unknown alert severity {severity!r}") from None


def facility_code(facility: str) -> int:
    """The RFC 5424 facility number of a name such as ``auth`` or ``local3``."""
    try:
        return FACILITIES[facility]
    except KeyError:
        raise ValueError(
            f"unknown syslog facility {facility!r}; known: {', '.join(FACILITIES)}"
        ) from None


def rfc3339_ms(when: float) -> str:
    """``2024-05-01T12:00:00.123Z``: RFC 3339 in UTC with milliseconds."""
    stamp = datetime.fromtimestamp(when, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def one_line(text: str) -> str:
    """``text`` as valid UTF-8 on one line: control characters become ``\\n``/``\\x1b``...,
    undecodable name bytes ``\\xNN``. A backslash stays one: the format escapes it."""
    return visible(text, keep_backslash=True)


def summary(alert: Mapping[str, Any]) -> str:
    """The one-line human summary every format carries as its message."""
    return one_line(f"alert {alert['id']} {alert['severity']} {alert['label']} "
                    f"{alert['path']}: {alert['reason']}")


# -- RFC 5424 ---------------------------------------------------------------------------

def _header_field(value: str, limit: int) -> str:
    """An RFC 5424 header field: PRINTUSASCII (33-126) only, at most ``limit`` octets,
    ``-`` (NILVALUE) when empty. Other characters become ``_`` rather than being dropped,
    so that two different names cannot collapse into one."""
    printable = "".join(c if "!" <= c <= "~" else "_" for c in value)[:limit]
    return printable or "-"


def _sd_value(value: object) -> str:
    """A PARAM-VALUE: one line, with ``"``, ``\\`` and ``]`` escaped (RFC 5424 6.3.3)."""
    text = one_line("" if value is None else str(value))
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def rfc5424(*, alert: Mapping[str, Any], kind: str, msg_id: str, facility: str,
            app_name: str, hostname: str, procid: int, now: float) -> bytes:
    """One RFC 5424 message for one alert event (``kind``: ``alert.created`` ...).

    ``now`` is the event's time, not the send time, so a retried message is identical.
    ``msg_id`` (the outbox message id, what receivers dedupe on) goes into the structured
    data as ``event``; MSGID is the event kind. ``ValueError`` for an unknown facility or
    severity.
    """
    pri = facility_code(facility) * 8 + severity_code(str(alert["severity"]))
    params = {
        "id": alert["id"],
        "severity": alert["severity"],
        "label": alert["label"],
        "path": alert["path"],
        "sha256": alert["sha256"],
        "status": alert["status"],
        "event": msg_id,
    }
    sd = "[" + SD_ID + "".join(f' {k}="{_sd_value(v)}"' for k, v in params.items()) + "]"
    header = " ".join((
        f"<{pri}>1",
        rfc3339_ms(now),
        _header_field(hostname, 255),
        _header_field(app_name, 48),
        _header_field(str(procid), 128),
        _header_field(kind, 32),
    ))
    return f"{header} {sd} ".encode() + _BOM + summary(alert).encode()


# -- CEF --------------------------------------------------------------------------------

_CR_LF = re.compile(r"(\r|\n)")


def _cef_header(value: object) -> str:
    """A CEF header field: ``\\`` and ``|`` escaped; a header cannot span lines, so CR and
    LF become spaces, and other controls visible escapes (the spec has no escape for them)."""
    text = visible(_CR_LF.sub(" ", str(value).replace("\r\n", " ")), keep_backslash=True)
    return text.replace("\\", "\\\\").replace("|", "\\|")


def _cef_value(value: object) -> str:
    """A CEF extension value: ``\\``, ``=`` escaped, CR and LF written as ``\\r``/``\\n``
    (the spec's escapes), every other control as a visible escape, itself escaped: a CEF
    parser reads ESC as the four characters ``\\x1b``."""
    return "".join(
        "\\r" if part == "\r" else "\\n" if part == "\n"
        else visible(part, keep_backslash=True).replace("\\", "\\\\").replace("=", "\\=")
        for part in _CR_LF.split(str(value)))


_CEF_KINDS = {
    "location": ("dlpd:label:{label}", "{label} file outside its approved locations"),
    "unauthorized-access": ("dlpd:{kind}:{label}",
                            "{label} file opened by someone outside its readers"),
    "exposed": ("dlpd:{kind}:{label}", "{label} file readable outside its readers"),
}


def cef(alert: Mapping[str, Any], version: str) -> str:
    """One ArcSight CEF:0 line (no syslog prefix, no trailing newline).

    ``version`` is dlpd's version (the Device Version field). The signature id is
    ``dlpd:label:<label>`` for a file outside its approved places and
    ``dlpd:<kind>:<label>`` for the other kinds, so a SIEM can group alerts by the policy
    that raised them.
    """
    label = str(alert["label"])
    severity = cef_severity(str(alert["severity"]))
    kind = str(alert.get("kind") or "location")
    signature, name = _CEF_KINDS.get(kind, _CEF_KINDS["location"])
    header = "|".join(_cef_header(v) for v in (
        "dlpd", "dlpd", version, signature.format(label=label, kind=kind),
        name.format(label=label), severity,
    ))
    path = str(alert["path"])
    extension: list[tuple[str, object]] = [
        ("rt", int(float(alert["updated"]) * 1000)),
        ("externalId", alert["id"]),
        ("dvchost", alert["host"]),
        ("fname", posixpath.basename(path)),
        ("filePath", path),
        ("fileHash", alert["sha256"]),
        ("msg", alert["reason"]),
        ("cs1Label", "labels"), ("cs1", ",".join(alert["labels"])),
        ("cs2Label", "categories"), ("cs2", ",".join(alert["categories"])),
        ("cs3Label", "rules"), ("cs3", ",".join(alert["rules"])),
    ]
    if alert.get("provenance") is not None:
        extension += [("cs4Label", "provenance"), ("cs4", alert["provenance"])]
    extension += [("cs5Label", "status"), ("cs5", alert["status"])]
    origin = _origin(alert)
    if origin is not None:
        # Where the label came from, as fields: the source file, and how much of it.
        extension += [("cs6Label", "origin"), ("cs6", origin.get("kind"))]
        if origin.get("source_path") is not None:
            extension += [("oldFilePath", origin["source_path"])]
        if origin.get("share") is not None:
            extension += [("cfp1Label", "share"), ("cfp1", origin["share"])]
        if origin.get("rows") is not None:
            extension += [("cn1Label", "rows"), ("cn1", origin["rows"])]
        if origin.get("set_by") is not None:
            extension += [("flexString1Label", "label set by"),
                          ("flexString1", origin["set_by"])]
    actor = _actor(alert)
    if actor is not None:
        # The process behind the event (fanotify): CEF's source user and process.
        extension += [(key, actor.get(field)) for key, field in (
            ("suser", "user"), ("suid", "uid"), ("spid", "pid"), ("sproc", "exe"))
            if actor.get(field) is not None]
    ext = " ".join(f"{key}={_cef_value(value)}" for key, value in extension)
    return f"CEF:0|{header}|{ext}"


def _origin(alert: Mapping[str, Any]) -> Mapping[str, Any] | None:
    details = alert.get("details")
    origin = details.get("origin") if isinstance(details, Mapping) else None
    return origin if isinstance(origin, Mapping) else None


def _actor(alert: Mapping[str, Any]) -> Mapping[str, Any] | None:
    details = alert.get("details")
    actor = details.get("actor") if isinstance(details, Mapping) else None
    return actor if isinstance(actor, Mapping) else None


def _ecs_actor(actor: Mapping[str, Any] | None) -> dict[str, Any]:
    """ECS ``user`` and ``process`` of the process behind the event (fanotify)."""
    if actor is None:
        return {}
    user = {k: v for k, v in (("name", actor.get("user")),
                              ("id", None if actor.get("uid") is None else str(actor["uid"])))
            if v is not None}
    process = {k: v for k, v in (
        ("pid", actor.get("pid")), ("executable", actor.get("exe")),
        ("name", posixpath.basename(actor["exe"]) if actor.get("exe") else None),
        ("command_line", actor.get("cmdline")),
        ("parent", {"pid": actor["ppid"]} if actor.get("ppid") is not None else None))
        if v is not None}
    return {**({"user": user} if user else {}), **({"process": process} if process else {})}


def _ecs_origin(origin: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The label's origin under ``dlpd.origin``, its time ISO 8601 like every other."""
    if origin is None:
        return None
    at = origin.get("set_at")
    return {**origin, "set_at": None if at is None else rfc3339_ms(float(at))}


# -- ECS --------------------------------------------------------------------------------

ECS_VERSION = "8.11.0"


def _ecs_file(path: str, details: Mapping[str, Any] | None) -> dict[str, Any]:
    """ECS ``file``: the path, and what the scan knew of the file when it was raised (ECS
    types: ``uid``/``gid`` are keywords, ``mtime`` a date)."""
    directory, name = posixpath.split(path)
    fields: dict[str, Any] = {"path": path, "name": name, "directory": directory}
    if details:
        known = {
            "size": details.get("size"),
            "mtime": None if details.get("mtime") is None else rfc3339_ms(details["mtime"]),
            "uid": None if details.get("uid") is None else str(details["uid"]),
            "gid": None if details.get("gid") is None else str(details["gid"]),
            "owner": details.get("owner"),
            "group": details.get("group"),
            "mime_type": details.get("mime"),
        }
        fields.update({k: v for k, v in known.items() if v is not None})
    return fields


def _ecs_note(note: Mapping[str, Any]) -> dict[str, Any]:
    return {**note, "time": rfc3339_ms(float(note["time"]))}


def ecs(alert: Mapping[str, Any], version: str) -> dict[str, Any]:
    """One Elastic Common Schema document (nested objects, JSON-serialisable).

    ``@timestamp`` is the alert's last change, ``event.created`` when it was raised; every
    time is ISO 8601 (RFC 3339, UTC), as ECS's ``date`` fields want, including those under
    ``dlpd``. ``event.severity`` uses the CEF scale (low 3 ... critical 10); the name is in
    ``labels.severity``. dlpd's own fields (status, provenance, notes, the detections
    behind the alert) live under ``dlpd``.
    """
    path = str(alert["path"])
    details = alert.get("details")
    return {
        "@timestamp": rfc3339_ms(float(alert["updated"])),
        "ecs": {"version": ECS_VERSION},
        "message": summary(alert),
        "event": {
            "kind": "alert",
            "category": ["file"],
            "type": ["info"],
            "id": str(alert["id"]),
            "severity": cef_severity(str(alert["severity"])),
            "created": rfc3339_ms(float(alert["created"])),
            "reason": alert["reason"],
            "module": "dlpd",
            "dataset": "dlpd.alert",
        },
        "file": {
            **_ecs_file(path, details),
            "hash": {"sha256": alert["sha256"]},
        },
        "rule": {
            "id": list(alert["rules"]),
            "name": list(alert["rules"]),
            "category": list(alert["categories"]),
            "ruleset": alert["label"],
        },
        "host": {"name": alert["host"]},
        **_ecs_actor(_actor(alert)),
        "labels": {"label": alert["label"], "severity": alert["severity"],
                   "status": alert["status"], "kind": alert.get("kind", "location")},
        "tags": list(alert["labels"]),
        "observer": {"vendor": "dlpd", "product": "dlpd", "version": version,
                     "hostname": alert["host"]},
        "dlpd": {
            "alert_id": alert["id"],
            "status": alert["status"],
            "provenance": alert.get("provenance"),
            "categories": list(alert["categories"]),
            "created": rfc3339_ms(float(alert["created"])),
            "updated": rfc3339_ms(float(alert["updated"])),
            "notes": [_ecs_note(n) for n in alert.get("notes", ())],
            "detections": list(details["detections"]) if details else None,
            "origin": _ecs_origin(_origin(alert)),
        },
    }


# -- Standard Webhooks ------------------------------------------------------------------

_SECRET_PREFIX = "whsec_"  # noqa: S105 -- the format's prefix, not a secret


def parse_webhook_secret(text: str) -> bytes:
    """The HMAC key of a configured secret.

    ``whsec_<base64>`` (the Standard Webhooks form, as Svix and most receivers issue it)
    is the base64-decoded bytes; any other string is used as its UTF-8 bytes, so a plain
    shared password also works. ``ValueError`` if a ``whsec_`` secret is not base64.
    """
    if not text.startswith(_SECRET_PREFIX):
        return text.encode("utf-8")
    try:
        key = base64.b64decode(text.removeprefix(_SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("a whsec_ secret must be followed by base64") from None
    if not key:
        raise ValueError("the whsec_ secret is empty")
    return key


def webhook_signature(secret: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: ``v1,`` + base64 HMAC-SHA256 of
    ``{msg_id}.{timestamp}.{body}`` (Standard Webhooks, symmetric scheme)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")
