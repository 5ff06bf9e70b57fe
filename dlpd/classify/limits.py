"""Scan budgets, ClamAV-style but never silent. Pure: no I/O, standard library only.

A ``Budget`` is the per-file ledger that extractors charge as they open members. A hard
limit raises ``LimitExceeded`` (the scan of that container stops, what was found stays);
a soft limit is noted and the scan goes on with less (e.g. a member read only to its prefix).

Memory: the members of one file held in memory at once (a member, the member of a member
being read from it, ...) total at most ``max_buffer_bytes``, whatever the nesting: each
extractor ``hold``s what it yields and ``release``s it when the caller asks for the next
member. A member bigger than what is left is read to its prefix and the cut noted. So
one scan job holds at most 2 x ``max_buffer_bytes`` + ``max_text_bytes`` of content: the
file itself (read whole up to ``max_buffer_bytes``, else streamed in 8 MiB chunks), its
members held at once, and one document's extracted text (ARCHITECTURE.md, Memory).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from dlpd.errors import LimitExceeded
from dlpd.model import ExtractOptions, GiB, KiB, Limits, MiB

__all__ = ["Budget", "ExtractOptions", "GiB", "KiB", "Limits", "MiB"]


class Budget:
    """The running ledger of one top-level file's scan. Not thread-safe: one per file."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic,
                 options: ExtractOptions | None = None) -> None:
        self.limits = limits
        # What extractors read beyond the budgets (OCR, table rows): same for every file.
        self.options = options if options is not None else ExtractOptions()
        self._clock = clock
        self._deadline = clock() + limits.scan_timeout
        self.members = 0
        self.total_uncompressed = 0
        # Bytes of members yielded and not yet released, over all nesting levels.
        self.held = 0
        self.notes: list[tuple[str, str]] = []
        # What a reader should know about a scan that no limit cut (a DTD ignored).
        self.remarks: list[str] = []

    # -- hard limits -------------------------------------------------------------------
    def check_depth(self, depth: int) -> None:
        if depth > self.limits.max_archive_depth:
            raise LimitExceeded(
                "max_archive_depth", f"nesting deeper than {self.limits.max_archive_depth}"
            )

    def charge_member(self) -> None:
        """Count one more member opened from any container of this file."""
        self.members += 1
        if self.members > self.limits.max_members:
            raise LimitExceeded("max_members", f"more than {self.limits.max_members} members")
        self.check_time()

    def charge_bytes(self, uncompressed: int, compressed: int | None = None) -> None:
        """Charge decompressed bytes; ``compressed`` (when known) enables the ratio check."""
        self.total_uncompressed += uncompressed
        if self.total_uncompressed > self.limits.max_total_uncompressed:
            raise LimitExceeded(
                "max_total_uncompressed",
                f"more than {self.limits.max_total_uncompressed} bytes decompressed",
            )
        if compressed is not None:
            self.check_ratio(uncompressed, compressed)

    def check_ratio(self, uncompressed: int, compressed: int) -> None:
        if uncompressed < self.limits.ratio_floor:
            return
        if uncompressed > self.limits.max_ratio * max(compressed, 1):
            raise LimitExceeded(
                "max_ratio",
                f"compression ratio above {self.limits.max_ratio}",
            )

    def check_time(self) -> None:
        if self._clock() > self._deadline:
            raise LimitExceeded(
                "scan_timeout", f"scan took longer than {self.limits.scan_timeout}s"
            )

    def remaining_seconds(self) -> float:
        return max(0.0, self._deadline - self._clock())

    def remark(self, text: str) -> None:
        if text not in self.remarks:
            self.remarks.append(text)

    # -- soft limits -------------------------------------------------------------------
    def note(self, limit: str, detail: str) -> None:
        """Record a limit that cut the scan short without stopping it."""
        self.notes.append((limit, detail))

    def member_cap(self) -> int:
        """Bytes of one member worth reading: what is left of the scan and total budgets,
        and of the memory this file's members may hold."""
        return max(0, min(self.stream_cap(), self.memory_left()))

    def stream_cap(self) -> int:
        """Bytes of one member worth streaming through a parser that keeps only its
        text: the scan and total budgets (nothing of it is held)."""
        return max(0, min(self.limits.max_scan_bytes, self.total_left()))

    def total_left(self) -> int:
        return self.limits.max_total_uncompressed - self.total_uncompressed

    def memory_left(self) -> int:
        return self.limits.max_buffer_bytes - self.held

    # -- memory held ---------------------------------------------------------------------
    def hold(self, size: int) -> None:
        """Count ``size`` bytes of a yielded member as held until ``release``."""
        self.held += size

    def release(self, size: int) -> None:
        self.held -= size
