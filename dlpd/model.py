"""Frozen value types that flow through the pipeline. Standard library only."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

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
    max_text_bytes: int = 64 * MiB
    scan_timeout: float = 120.0


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

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(sorted({d.category for d in self.detections}))

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "size": self.size,
            "sha256": self.sha256,
            "mime": self.mime,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "labels": list(self.labels),
            "categories": list(self.categories),
            "detections": [d.to_json() for d in self.detections],
            "cached": self.cached,
        }


def display_path(path: str) -> str:
    """A path as valid Unicode: undecodable bytes of a file name become ``\\xNN``.

    Linux file names are bytes; Python keeps undecodable ones as lone surrogates, which
    neither JSON consumers nor SQLite accept. This rendering is what dlpd stores and prints.
    """
    if path.isascii():
        return path
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return path
