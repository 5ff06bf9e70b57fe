"""Frozen value types that flow through the pipeline. Standard library only."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any

from dlpd.textsafe import json_text

if TYPE_CHECKING:  # every dlpd process imports this module; only a labelled scan needs them
    from dlpd.fingerprint.table import TablePrints
    from dlpd.fingerprint.text import TextPrints

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

CATEGORIES: tuple[str, ...] = (
    "credit-card",
    "us-ssn",
    "jp-my-number",
    "iban",
    "credential",
    "private-key",
    "export-control",
    "cui",
    "jp-confidential",
    "genomic-data",
    "medical-image",
    "ml-model",
)


class Confidence(IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @classmethod
    def parse(cls, text: str) -> Confidence:
        return cls[text.strip().upper()]

    def raised(self) -> Confidence:
        return Confidence(min(self + 1, Confidence.HIGH))

    def __str__(self) -> str:
        return self.name.lower()


class Outcome(StrEnum):
    OK = "ok"
    SKIPPED = "skipped"
    LIMIT_EXCEEDED = "limit_exceeded"
    ERROR = "error"
    UNSTABLE = "unstable"



@dataclass(frozen=True, slots=True)
class Limits:
    """Budgets for one top-level file; the config's ``[limits]`` table."""

    # Bytes of one file (or member) read and matched; the rest is not read and the
    # outcome says so. A 10 GB FASTQ is classified by its header and this prefix.
    max_scan_bytes: int = 256 * MiB
    # Files up to this size are read into memory in one go; larger ones are streamed.
    max_buffer_bytes: int = 32 * MiB
    max_archive_depth: int = 10
    max_members: int = 10_000
    max_total_uncompressed: int = 1 * GiB
    # Ratio uncompressed/compressed of one member, checked once it is past ratio_floor,
    # so that a small well-compressing log is no "bomb".
    max_ratio: int = 250
    ratio_floor: int = 1 * MiB
    # Extracted text of one document (docx/pdf/...): more is cut and noted.
    max_text_bytes: int = 16 * MiB
    scan_timeout: float = 120.0


@dataclass(frozen=True, slots=True)
class OcrOptions:
    """How scanned pages and images are read (the config's ``[extract]`` OCR keys).

    Each page's OCR is a separate process with its own time bound; a file's pages share
    ``file_timeout``. Pages past ``max_pages`` are not read, and the outcome says so.
    """

    languages: tuple[str, ...] = ("jpn", "eng")
    page_timeout: float = 30.0
    file_timeout: float = 120.0
    max_pages: int = 20


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    """What extractors read beyond the budgets of ``Limits``: the config's ``[extract]``.

    ``ocr`` None: images and image-only PDF pages are not read (no OCR engine, or turned
    off). ``max_table_rows``: rows read from one database table (SQLite, Parquet); a
    table with more is cut there and the outcome is ``limit_exceeded``.
    """

    ocr: OcrOptions | None = None
    # Parquet/Arrow can be read (pyarrow, the columnar extra, is installed): part of what
    # a stored result depends on, so a file skipped without it is read once it is there.
    columnar: bool = True
    max_table_rows: int = 10_000
    # Bytes of one database cell matched (a BLOB of a photo is not text to read whole).
    max_cell_bytes: int = 4 * KiB


@dataclass(frozen=True, slots=True)
class RuleMeta:
    """What dlpd reads from a signature's ``meta:`` block."""

    rule: str
    category: str
    confidence: Confidence = Confidence.MEDIUM
    validator: str | None = None
    proximity: int = 300
    require_keyword: bool = False
    description: str = ""
    # A marking rule: where a hit sits in its text decides whether it marks this material
    # or only mentions the subject. "stamp": the marking's own wording (EXPORT
    # CONTROLLED, CUI//..., 社外秘), a marking alone on its line; "reference": a
    # regulation's name or a classification code, a marking only in a field or a
    # statement about the material. None: not a marking rule.
    marking: str | None = None


@dataclass(frozen=True, slots=True)
class StringHit:
    """One YARA string instance. ``data`` is matched content: it never leaves the classifier."""

    identifier: str
    offset: int
    data: bytes


@dataclass(frozen=True, slots=True)
class RuleHit:
    """One rule that matched one buffer, with its raw string instances."""

    meta: RuleMeta
    strings: tuple[StringHit, ...]


@dataclass(frozen=True, slots=True)
class Detection:
    """A confirmed finding: what rule, which category, how sure, and why.

    ``previews`` are redacted (e.g. ``4194 **** **** 6288``); matched text is never kept.
    """

    rule: str
    category: str
    confidence: Confidence
    count: int
    member: str | None = None
    previews: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "category": self.category,
            "confidence": str(self.confidence),
            "count": self.count,
            "member": self.member,
            "previews": list(self.previews),
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True, slots=True)
class FileStat:
    """The incremental-scan key of a file, from ``lstat``/``fstat``."""

    dev: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int
    # The owner, for alerts (not part of the key: a chown changes ctime anyway, and a
    # cached row, which does not hold them, must still compare equal).
    uid: int | None = field(default=None, compare=False)
    gid: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class FileResult:
    """Everything dlpd learned about one file in one scan."""

    path: str
    outcome: Outcome
    size: int = 0
    sha256: str | None = None
    mime: str | None = None
    reason: str | None = None
    detections: tuple[Detection, ...] = ()
    labels: tuple[str, ...] = ()
    stat: FileStat | None = None
    cached: bool = False
    scanned_bytes: int = 0
    # The content's prints, when the classifier computes them (labels are configured):
    # for the fingerprint index, never shown or exported. A cached result has none.
    # Not compared (nor hashed: TablePrints holds a dict) and not in repr (thousands of ints).
    text_prints: TextPrints | None = field(default=None, compare=False, repr=False)
    table_prints: TablePrints | None = field(default=None, compare=False, repr=False)
    # Label names read from the file's ``user.dlpd.labels`` (evidence, not trusted).
    xattr_labels: tuple[str, ...] = ()

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(sorted({d.category for d in self.detections}))

    def to_json(self) -> dict[str, object]:
        return {
            **path_fields(self.path),
            "size": self.size,
            "sha256": self.sha256,
            "mime": self.mime,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "labels": list(self.labels),
            "categories": list(self.categories),
            "detections": [d.to_json() for d in self.detections],
            "cached": self.cached,
            "xattr_labels": list(self.xattr_labels),
        }


def display_path(path: str) -> str:
    """A path as valid Unicode: undecodable bytes of a file name become ``\\xNN``.

    Linux file names are bytes; Python keeps undecodable ones as lone surrogates, which
    neither JSON consumers nor SQLite text accept. This rendering is for people and is
    never turned back into a name (``d\\xff`` may be a real name too): the store keys
    paths by their bytes (store/paths.py) and machine formats carry ``path_b64``.
    """
    if path.isascii():
        return path
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return path


def path_fields(path: str) -> dict[str, str]:
    """A path in a JSON record: ``path`` for people and, when that display form is not the
    name itself (bytes that are not UTF-8), ``path_b64`` with the exact bytes."""
    shown = display_path(path)
    if shown == path:
        return {"path": shown}
    raw = os.fsencode(path)
    return {"path": shown, "path_b64": base64.b64encode(raw).decode("ascii")}


class Severity(IntEnum):
    """How bad a label outside its approved places is; sinks take a severity and above.
    Stored and exported by name (``str``), compared by rank."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        """``KeyError`` for a name that is not a severity."""
        return cls[text.strip().upper()]

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(str(s) for s in cls)

    def __str__(self) -> str:
        return self.name.lower()


class AccessKind(StrEnum):
    """What happened to a labelled file, as the access log records it: a new file is
    ``created`` (not also ``modified`` by the writes that made it); ``moved`` names where
    it came from when it came from a watched tree."""

    CREATED = "created"
    MODIFIED = "modified"
    MOVED = "moved"
    DELETED = "deleted"
    OPENED = "opened"


class Role(StrEnum):
    """A console account's role: viewers read, analysts also triage and suppress, admins
    also manage accounts and read the audit trail. Ordered: each holds the ones before."""

    VIEWER = "viewer"
    ANALYST = "analyst"
    ADMIN = "admin"

    def allows(self, needed: Role) -> bool:
        order = list(Role)
        return order.index(self) >= order.index(needed)


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    FALSE_POSITIVE = "false-positive"


@dataclass(frozen=True, slots=True)
class AlertNote:
    """One entry of an alert's history: who did what, when (unix time), and why."""

    time: float
    author: str
    text: str
    status: AlertStatus | None = None

    def to_json(self) -> dict[str, object]:
        return {"time": self.time, "author": self.author, "text": self.text,
                "status": self.status.value if self.status else None}


@dataclass(frozen=True, slots=True)
class Origin:
    """Why a file carries a label that no marking in it shows, as fields a program reads:
    ``kind`` is ``copy`` (the same bytes as ``source_path``), ``derived`` (``share`` of the
    source's text or ``rows`` of its table), ``inherited`` (from the directory
    ``source_path``), ``explicit``/``marker`` (set on the file itself), ``xattr`` or
    ``moved`` (kept from ``source_path``, a labelled place it left). ``set_by``/``set_at``:
    who labelled the source, and when."""

    kind: str
    source_path: str | None = None
    source_host: str | None = None
    share: float | None = None
    rows: int | None = None
    set_by: str | None = None
    set_at: float | None = None

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "source_path": self.source_path,
                "source_host": self.source_host, "share": self.share, "rows": self.rows,
                "set_by": self.set_by, "set_at": self.set_at}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Origin:
        return cls(kind=str(data.get("kind") or "unknown"),
                   source_path=_opt_str(data, "source_path"),
                   source_host=_opt_str(data, "source_host"),
                   share=_opt_float(data, "share"), rows=_opt_int(data, "rows"),
                   set_by=_opt_str(data, "set_by"), set_at=_opt_float(data, "set_at"))


@dataclass(frozen=True, slots=True)
class Actor:
    """The process behind an event (fanotify), read from /proc when the event was read.

    Every field but ``pid`` is None when the process had exited by then ("unknown"). The
    strings are the kernel's bytes decoded with surrogateescape: data, escaped wherever
    they are shown (``textsafe``)."""

    pid: int
    uid: int | None = None
    user: str | None = None  # the name of ``uid`` in the password database, if any
    gid: int | None = None
    ppid: int | None = None
    exe: str | None = None  # /proc/PID/exe
    cmdline: str | None = None  # arguments joined by spaces, cut to a bounded length

    @property
    def known(self) -> bool:
        return self.uid is not None

    @property
    def program(self) -> str | None:
        """The executable's base name (``cp``), else the first argument's."""
        source = self.exe or (self.cmdline.split(" ", 1)[0] if self.cmdline else None)
        return source.rsplit("/", 1)[-1] if source else None

    def describe(self) -> str:
        """For a reason or a note: ``alice (uid 1001) with cp (pid 4242)``."""
        if not self.known:
            return f"an unknown process (pid {self.pid}, exited before it was looked up)"
        who = f"{self.user} (uid {self.uid})" if self.user else f"uid {self.uid}"
        return f"{who} with {self.program or 'an unknown program'} (pid {self.pid})"

    def to_json(self) -> dict[str, object]:
        return {"pid": self.pid, "uid": self.uid, "user": self.user, "gid": self.gid,
                "ppid": self.ppid, "exe": self.exe, "cmdline": self.cmdline}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Actor:
        return cls(pid=int(data.get("pid") or 0), uid=_opt_int(data, "uid"),
                   user=_opt_str(data, "user"), gid=_opt_int(data, "gid"),
                   ppid=_opt_int(data, "ppid"), exe=_opt_str(data, "exe"),
                   cmdline=_opt_str(data, "cmdline"))


def _opt_int(data: Mapping[str, Any], key: str) -> int | None:
    return None if data.get(key) is None else int(data[key])


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    return None if data.get(key) is None else str(data[key])


def _opt_float(data: Mapping[str, Any], key: str) -> float | None:
    return None if data.get(key) is None else float(data[key])


@dataclass(frozen=True, slots=True)
class AlertDetails:
    """What the scan knew of the file when the alert was raised, kept with the alert: the
    file may change or go before anyone looks. ``owner``/``group`` are the names of
    ``uid``/``gid`` at that time (a name can be reused later; the ids are the facts).
    ``detections`` are those behind the alert's label, previews redacted as ever."""

    size: int
    mtime: float | None = None
    uid: int | None = None
    gid: int | None = None
    owner: str | None = None
    group: str | None = None
    mime: str | None = None
    detections: tuple[Detection, ...] = ()
    # Why the file carries the alert's label when no detection says it (a copy, an
    # extract, a labelled directory): None for a label the scan detected.
    origin: Origin | None = None
    # Who did what the alert is about, where the watch backend knows (fanotify): the
    # process that wrote the file (closed it after writing, created or moved it), or the
    # one that opened it (unauthorized access).
    actor: Actor | None = None

    def to_json(self) -> dict[str, object]:
        return {"size": self.size, "mtime": self.mtime, "uid": self.uid, "gid": self.gid,
                "owner": self.owner, "group": self.group, "mime": self.mime,
                "detections": [d.to_json() for d in self.detections],
                "origin": self.origin.to_json() if self.origin else None,
                "actor": self.actor.to_json() if self.actor else None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AlertDetails:
        """The inverse of ``to_json`` (what the store keeps)."""
        return cls(
            size=int(data.get("size") or 0),
            mtime=_opt_float(data, "mtime"),
            uid=_opt_int(data, "uid"), gid=_opt_int(data, "gid"),
            owner=_opt_str(data, "owner"), group=_opt_str(data, "group"),
            mime=_opt_str(data, "mime"),
            detections=tuple(Detection(
                rule=str(d["rule"]), category=str(d["category"]),
                confidence=Confidence.parse(str(d["confidence"])), count=int(d["count"]),
                member=_opt_str(d, "member"),
                previews=tuple(str(p) for p in d.get("previews", ())),
                reasons=tuple(str(r) for r in d.get("reasons", ())))
                for d in data.get("detections", ())),
            origin=Origin.from_json(data["origin"]) if data.get("origin") else None,
            actor=Actor.from_json(data["actor"]) if data.get("actor") else None,
        )


class AlertKind(StrEnum):
    """What an alert is about. ``location`` and ``exposed`` are states (resolved by
    themselves when they stop being true); ``unauthorized-access`` is an event (it
    happened; only a person closes it)."""

    LOCATION = "location"  # labelled data outside its approved places
    UNAUTHORIZED_ACCESS = "unauthorized-access"  # opened by someone not among its readers
    EXPOSED = "exposed"  # readable by someone not among its readers


@dataclass(frozen=True, slots=True)
class Alert:
    """A policy violation: a file carrying ``label`` outside the label's approved places,
    opened by someone outside its readers, or readable by them (``kind``).

    One active alert per (path, sha256, label, kind, subject): ``subject`` tells event
    alerts apart (``uid:1001 2026-12-07``: one per user, file and day) and is empty for
    the states. Holds no matched content: paths, hashes, rule ids, categories and the
    policy's reasons only.
    """

    id: int
    created: float
    updated: float
    host: str
    path: str
    sha256: str
    label: str
    labels: tuple[str, ...]
    categories: tuple[str, ...]
    rules: tuple[str, ...]
    severity: Severity
    reason: str
    provenance: str | None
    status: AlertStatus
    notes: tuple[AlertNote, ...] = ()
    details: AlertDetails | None = None  # None: raised before dlpd kept them
    kind: AlertKind = AlertKind.LOCATION
    subject: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "created": self.created,
            "updated": self.updated,
            "host": self.host,
            **path_fields(self.path),
            "sha256": self.sha256,
            "label": self.label,
            "labels": list(self.labels),
            "categories": list(self.categories),
            "rules": list(self.rules),
            "severity": str(self.severity),
            "reason": self.reason,
            "provenance": self.provenance,
            "status": self.status.value,
            "kind": self.kind.value,
            "subject": self.subject,
            "notes": [n.to_json() for n in self.notes],
            "details": self.details.to_json() if self.details else None,
        }


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One delivery of one alert event to one sink.

    ``body`` is the exact JSON text every attempt sends (Standard Webhooks shape:
    ``{"type": ..., "timestamp": ..., "data": <alert>}``); ``msg_id`` stays the same across
    retries so receivers can dedupe.
    """

    id: int
    msg_id: str
    sink: str
    alert_id: int
    kind: str  # "alert.created" | "alert.updated"
    created: float
    body: str
    attempts: int = 0


def alert_event_body(kind: str, alert: Alert, now: float) -> str:
    """The JSON text delivered to every sink for one alert event (Standard Webhooks shape).

    Built once, when the event is queued, and sent byte for byte on every attempt.
    """
    stamp = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
    # json_text: a note or a reason holding U+2028 or NEL must not split a JSONL record.
    return json_text({"type": kind, "timestamp": stamp.replace("+00:00", "Z"),
                      "data": alert.to_json()})
