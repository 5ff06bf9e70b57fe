"""path -> FileResult: read once, hash, type, extract, match, confirm. Per-file isolation.

Nothing here raises for a bad file: every failure becomes the file's outcome and reason,
and whatever was found before a limit or an error still counts.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import BinaryIO

from dlpd.classify.confirm import confirm
from dlpd.classify.extract import extract
from dlpd.classify.extract.text import decode_text, is_plain_text
from dlpd.classify.filetype import HEAD_BYTES, MimeTyper
from dlpd.classify.findings import Findings
from dlpd.classify.limits import Budget, Limits
from dlpd.classify.prints import PrintOptions, PrintText
from dlpd.classify.reading import (
    NotRegular,
    file_stat,
    is_same_content,
    kind_of,
    open_beneath,
    open_regular,
    read_upto,
)
from dlpd.classify.signatures import Ruleset
from dlpd.classify.sniff import sniff_kind
from dlpd.classify.validators import Validator
from dlpd.dirfd import OutsideRoot, stat_below
from dlpd.errors import ExtractionError, LimitExceeded, NotSupported, os_reason
from dlpd.labelling.xattrs import read_labels
from dlpd.model import (
    Confidence,
    ExtractOptions,
    FileResult,
    Outcome,
    RuleHit,
    RuleMeta,
)

# Bytes carried from one chunk into the next when a big file is matched in pieces, so that
# a marking or key straddling the cut is still seen whole.
CHUNK_OVERLAP = 64 * 1024
# A big file is hashed and matched this much at a time: what a job holds while streaming
# is about two of these (the chunk, and the chunk with the previous one's tail).
STREAM_CHUNK = 8 * 1024 * 1024
# Kinds whose members are extracted and matched on their own (PDF is not here: its raw
# bytes may hold text that a damaged text layer would lose).
_ARCHIVES = frozenset({"zip", "tar", "gzip", "bzip2", "xz"})
# Kinds whose raw bytes are not matched at all: their extractor yields every string they
# hold, decoded (a notebook's cells), and the raw JSON would report each finding twice,
# once escaped and unnamed. An extractor of such a kind that fails yields the raw text.
_DECODED_ONLY = frozenset({"notebook"})
# Text kinds whose extractor adds a decoded view (JSON strings behind escapes): the text
# itself is matched and printed as any text file's is, then the view.
_TEXT_VIEWS = frozenset({"json"})
CONTAINER_VIEW = 64 * 1024
_COMPRESSOR_SUFFIXES = {".gz": "", ".tgz": ".tar", ".bgz": "", ".bz2": "", ".tbz2": ".tar",
                        ".xz": "", ".txz": ".tar"}


def member_name(parent: str, name: str) -> str:
    """The name of a single-stream compressor's content: ``data.csv.gz`` -> ``data.csv``."""
    if name:
        return name
    base = parent.rsplit("/", 1)[-1]
    root, dot, suffix = base.rpartition(".")
    if dot and f".{suffix.lower()}" in _COMPRESSOR_SUFFIXES:
        return root + _COMPRESSOR_SUFFIXES[f".{suffix.lower()}"]
    return base + ".out"


class Classifier:
    """Classifies files. Thread-safe: all per-file state lives in a ``Findings``."""

    def __init__(
        self,
        ruleset: Ruleset,
        typer: MimeTyper,
        validators: Mapping[str, Validator],
        limits: Limits,
        min_confidence: Confidence,
        labels_for: Callable[[Iterable[str]], tuple[str, ...]],
        version: str = "",
        cross_devices: bool = False,
        prints: PrintOptions | None = None,
        options: ExtractOptions | None = None,
    ) -> None:
        self.ruleset = ruleset
        # What extractors read beyond the budgets (OCR, database rows).
        self._options = options if options is not None else ExtractOptions()
        self._cross_devices = cross_devices
        # Content prints and the label xattr (labels are configured); None: neither is
        # computed nor read, and a file costs what it did before labels existed.
        self._prints = prints
        # What a stored result was computed with (rules, limits, confidence floor, label
        # map): a stored result of another version is not reused.
        self.version = version or ruleset.version
        self._typer = typer
        self._validators = validators
        self._limits = limits
        self._min_confidence = min_confidence
        self._labels_for = labels_for
        # Keyword-gated rules whose validator can find its own candidates.
        self._sweep: tuple[RuleMeta, ...] = ()
        if min_confidence is Confidence.LOW:
            self._sweep = tuple(
                meta for meta in ruleset.metas.values()
                if meta.validator is not None and not meta.require_keyword
                and validators[meta.validator].finder is not None
            )

    @property
    def limits(self) -> Limits:
        return self._limits

    # -- entry points ----------------------------------------------------------------
    def classify(self, path: str, lst: os.stat_result | None = None, *,
                 root: str | None = None, accept_unstable: bool = False) -> FileResult:
        """Classify the file at ``path``; ``lst`` is its ``lstat`` if the caller has it.

        With ``root`` (a scanned or watched root that ``path`` lies below), the file is
        opened from the root down and never through a symlink or another file system
        (``open_beneath``); without it, ``path`` is one a person named and is opened as
        given (only its last component must not be a symlink).

        ``accept_unstable`` (the daemon): an ``unstable`` result still carries what was
        read (hash, detections, labels) and says so in its reason; the caller decides
        whether to keep it or to read the file again."""
        opened = self._open(path, lst, root)
        if isinstance(opened, FileResult):
            return opened
        fd, before = opened
        try:
            return self._classify_open(path, fd, before, accept_unstable)
        except OSError as exc:
            return FileResult(path, Outcome.ERROR, size=before.st_size, reason=os_reason(exc),
                              stat=file_stat(before))
        except Exception as exc:  # one file's failure stays with that file
            return FileResult(path, Outcome.ERROR, size=before.st_size,
                              reason=f"internal error ({type(exc).__name__})",
                              stat=file_stat(before))
        finally:
            os.close(fd)

    def _open(self, path: str, lst: os.stat_result | None,
              root: str | None) -> tuple[int, os.stat_result] | FileResult:
        """The open file and its fstat, or the result of a file that is not read."""
        try:
            if lst is None and root is None:
                lst = os.lstat(path)
            if lst is not None and not stat.S_ISREG(lst.st_mode):
                return FileResult(path, Outcome.SKIPPED, size=lst.st_size,
                                  reason=kind_of(lst.st_mode), stat=file_stat(lst))
            if root is not None:
                return open_beneath(root, path, cross_devices=self._cross_devices)
            return open_regular(path)
        except NotRegular as exc:
            return FileResult(path, Outcome.SKIPPED, reason=exc.kind)
        except OutsideRoot as exc:
            return FileResult(path, Outcome.SKIPPED, reason=f"not opened: {exc.strerror}")
        except OSError as exc:
            # A file that is listed but cannot be opened (permission denied) is still
            # recorded, with what its directory says of it.
            listed = lst if lst is not None else _listed(root, path, self._cross_devices)
            return FileResult(path, Outcome.ERROR, reason=os_reason(exc),
                              size=listed.st_size if listed is not None else 0,
                              stat=file_stat(listed) if listed is not None else None)

    # -- one open file ---------------------------------------------------------------
    def _classify_open(self, path: str, fd: int, before: os.stat_result,
                       accept_unstable: bool = False) -> FileResult:
        findings = Findings(Budget(self._limits, options=self._options))
        xattr_labels: tuple[str, ...] = ()
        if self._prints is not None and self._prints.active():
            want_text, want_table = (self._prints.kinds(path) if self._prints.kinds
                                     is not None else (True, True))
            if want_text or want_table:
                findings.prints = PrintText(self._prints, text=want_text, table=want_table)
            xattr_labels = read_labels(fd)
        name = os.path.basename(path)
        limits = self._limits
        if before.st_size <= limits.max_buffer_bytes:
            data = read_upto(fd, limits.max_buffer_bytes + 1, expect=before.st_size)
            grew = len(data) > limits.max_buffer_bytes
            if grew and not accept_unstable:
                # It grew since fstat: treat it as changing, the caller re-queues once.
                return self._unstable(path, before)
            data = data[:limits.max_buffer_bytes] if grew else data
            mime = self._typer.mime(data[:HEAD_BYTES])
            digest: str | None = hashlib.sha256(data).hexdigest()
            scanned = len(data)
            self._scan_buffer(findings, data, [name], depth=0)
            del data
        else:
            digest, mime, scanned = self._scan_stream(findings, fd, name)
        after = os.fstat(fd)
        result = self._result(path, findings, before.st_size, digest, mime, before, scanned)
        if findings.prints is not None:
            text, table = findings.prints.finish()
            result = replace(result, text_prints=text, table_prints=table,
                             xattr_labels=xattr_labels)
        if is_same_content(before, after):
            return result
        if not accept_unstable:
            return self._unstable(path, before)
        changing = f"file was still changing: classified as read at {scanned} bytes"
        return replace(result, outcome=Outcome.UNSTABLE,
                       reason=changing + (f"; {result.reason}" if result.reason else ""))

    def _scan_stream(self, findings: Findings, fd: int, name: str) -> tuple[str | None, str, int]:
        """Hash and match a big file in chunks; open it as a container if it is one."""
        limits = self._limits
        hasher = hashlib.sha256()
        offset = 0
        tail = b""
        kind: str | None = None
        mime = "application/octet-stream"
        step = min(STREAM_CHUNK, limits.max_buffer_bytes)
        while offset < limits.max_scan_bytes:
            chunk = read_upto(fd, min(step, limits.max_scan_bytes - offset), expect=step)
            if not chunk:
                break
            if offset == 0:
                mime = self._typer.mime(chunk[:HEAD_BYTES])
                kind = sniff_kind(chunk[:HEAD_BYTES])
            hasher.update(chunk)
            if kind in _ARCHIVES:
                if offset == 0:
                    self._match(findings, chunk[:CONTAINER_VIEW], [name])
            elif kind not in _DECODED_ONLY:
                self._match(findings, tail + chunk if tail else chunk, [name])
            if kind is None or kind in _TEXT_VIEWS:
                decoded = decode_text(chunk)
                if decoded is not None:
                    text = decoded[0].encode("utf-8")
                    self._match(findings, text, [name])
                    findings.keep_text(text, continued=True)
                elif findings.wants_text and is_plain_text(chunk):
                    findings.keep_text(chunk, continued=True)
            tail = chunk[-CHUNK_OVERLAP:]
            offset += len(chunk)
            del chunk  # not alive while the next one is read
        complete = not os.read(fd, 1)
        if not complete:
            findings.budget.note("max_scan_bytes", f"read the first {offset} bytes only")
        if kind is not None:
            os.lseek(fd, 0, os.SEEK_SET)
            with os.fdopen(os.dup(fd), "rb") as stream:
                self._extract(findings, kind, stream, [name], depth=1)
        return (hasher.hexdigest() if complete else None), mime, offset

    # -- buffers, containers, matching ------------------------------------------------
    def _scan_buffer(self, findings: Findings, data: bytes, chain: list[str], depth: int) -> None:
        kind = sniff_kind(data[:HEAD_BYTES])
        self._match(findings, _raw_view(data, kind), chain)
        if kind is not None:
            self._extract(findings, kind, io.BytesIO(data), chain, depth + 1)
            if kind not in _TEXT_VIEWS:
                return
        decoded = decode_text(data)
        if decoded is not None:
            text = decoded[0].encode("utf-8")
            self._match(findings, text, chain)
            findings.keep_text(text)
        elif findings.wants_text and is_plain_text(data):
            findings.keep_text(data)

    def _extract(
        self, findings: Findings, kind: str, stream: BinaryIO, chain: list[str], depth: int
    ) -> None:
        where = _member(chain) if len(chain) > 1 else None
        try:
            findings.budget.check_depth(depth)
            for member in extract(kind, stream, findings.budget):
                if member.is_text:
                    where_text = [*chain, member.name] if member.part else chain
                    self._match(findings, member.data, where_text, via=member.via)
                    findings.keep_text(member.data, cells=True)
                elif not member.name and sniff_kind(member.data[:HEAD_BYTES]) == "tar":
                    # A compressed tarball is one thing to people: name its members
                    # `x.tar.gz!a/b`, not `x.tar.gz!x.tar!a/b`.
                    self._scan_buffer(findings, member.data, chain, depth)
                else:
                    child = [*chain, member_name(chain[-1], member.name)]
                    self._scan_buffer(findings, member.data, child, depth)
                # The extractor reads the next member within the memory this one held.
                del member
        except LimitExceeded as exc:
            findings.limit(exc, where or chain[0])
        except NotSupported as exc:
            findings.unsupported.append(f"{where}: {exc}" if where else str(exc))
        except ExtractionError as exc:
            label = where or chain[0]
            findings.errors.append(f"{label}: {exc}")
        except Exception as exc:  # a parser's bug must not end the scan
            # Only the type: a library's message may quote the bytes it choked on.
            label = where or chain[0]
            findings.errors.append(f"{label}: {kind} extractor failed ({type(exc).__name__})")

    def _match(self, findings: Findings, data: bytes, chain: list[str],
               via: str | None = None) -> None:
        """Match ``data`` and confirm; ``via`` (``"ocr"``) is added to the reasons of
        what is found in it."""
        if not data:
            return
        member = _member(chain) if len(chain) > 1 else None
        try:
            hits = self.ruleset.match(data, findings.budget.remaining_seconds())
        except LimitExceeded as exc:
            findings.limit(exc, member)
            return
        for hit in hits:
            found = confirm(hit, data, member, self._validators)
            if found is not None and found.confidence >= self._min_confidence:
                findings.add(found, via)
        if self._sweep:
            self._sweep_without_keywords(findings, data, member, {h.meta.rule for h in hits},
                                         via)

    def _sweep_without_keywords(
        self, findings: Findings, data: bytes, member: str | None, fired: set[str],
        via: str | None = None,
    ) -> None:
        """At ``min_confidence = "low"``, look for validated numbers (cards, IBANs, SSNs)
        even where no keyword made their rule fire: such finds are low confidence, and the
        search costs a Python regex pass over every buffer, so it is opt-in."""
        for meta in self._sweep:
            if meta.rule in fired:
                continue
            found = confirm(RuleHit(meta, ()), data, member, self._validators)
            if found is not None:
                findings.add(replace(found, confidence=Confidence.LOW,
                                     reasons=(*found.reasons, "no keyword in the text")), via)

    # -- results ---------------------------------------------------------------------
    def _result(
        self,
        path: str,
        findings: Findings,
        size: int,
        digest: str | None,
        mime: str | None,
        st: os.stat_result | None,
        scanned: int,
    ) -> FileResult:
        outcome, reason = findings.outcome()
        detections = tuple(sorted(findings.detections.values(),
                                  key=lambda d: (d.category, d.rule, d.member or "")))
        return FileResult(
            path=path,
            outcome=outcome,
            size=size,
            sha256=digest,
            mime=mime,
            reason=reason,
            detections=detections,
            labels=self._labels_for(d.category for d in detections),
            stat=file_stat(st) if st is not None else None,
            scanned_bytes=scanned,
        )

    def _unstable(self, path: str, before: os.stat_result) -> FileResult:
        return FileResult(path, Outcome.UNSTABLE, size=before.st_size,
                          reason="changed while being read", stat=file_stat(before))


def _listed(root: str | None, path: str, cross_devices: bool) -> os.stat_result | None:
    """The lstat of a regular file that could not be opened, asked of its directory (no
    symlinked parent), or None."""
    if root is None:
        return None
    try:
        listed = stat_below(root.rstrip("/") or "/", path, cross_devices=cross_devices)
    except OSError:  # OutsideRoot included
        return None
    return listed if stat.S_ISREG(listed.st_mode) else None


def _raw_view(data: bytes, kind: str | None) -> bytes:
    """What of a buffer's raw bytes is worth matching.

    An archive's members are matched one by one after extraction, so its raw bytes (mostly
    compressed noise, or for tar the members again) are matched only where format
    signatures look: the start, and the end where a zip's central directory names its
    members (a PyTorch checkpoint's ``data.pkl``/``version``).
    """
    if kind in _DECODED_ONLY:
        return b""
    if kind not in _ARCHIVES or len(data) <= 2 * CONTAINER_VIEW:
        return data
    return data[:CONTAINER_VIEW] + data[-CONTAINER_VIEW:]


def _member(chain: list[str]) -> str:
    return "!".join(chain)
