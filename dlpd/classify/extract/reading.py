"""Bounded reads of one member, charged to the budget as the bytes come, and the
hand-over of what was read to the caller within the budget's memory bound."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dlpd.classify.extract.base import Member
from dlpd.classify.limits import Budget, MiB
from dlpd.errors import LimitExceeded

CHUNK = 1 * MiB


@dataclass(frozen=True, slots=True)
class Read:
    data: bytes
    cut: bool  # the member has more than the budget let us read
    error: str | None = None  # reading failed after ``data``


def read_bounded(
    read: Callable[[int], bytes],
    budget: Budget,
    *,
    compressed: int | None = None,
    charge: bool = True,
    errors: tuple[type[Exception], ...] = (),
    describe: Callable[[Exception], str] = lambda exc: "unreadable",
) -> Read:
    """Read through ``read`` up to ``budget.member_cap()`` bytes, charging as it goes.

    ``compressed`` is the member's compressed size: the ratio check runs on the bytes
    actually produced, because declared sizes lie. ``charge=False`` when ``read`` charges
    the budget itself (a ``DecompressingReader``). Exceptions of the types in ``errors``
    end the read and keep what came before, with ``describe(exc)`` as the reason.
    """
    cap = budget.member_cap()
    # BytesIO hands its buffer over without a copy: a member costs its size once, where
    # a list of chunks joined at the end cost it twice.
    chunks = io.BytesIO()
    got = 0
    try:
        while got < cap:
            chunk = read(min(CHUNK, cap - got))
            if not chunk:
                return Read(chunks.getvalue(), cut=False)
            got += len(chunk)
            chunks.write(chunk)
            if charge:
                budget.charge_bytes(len(chunk))
            if compressed is not None:
                budget.check_ratio(got, compressed)
            budget.check_time()
        try:
            more = bool(read(1))
        except LimitExceeded:  # the probe byte itself was one too many: there is more
            more = True
    except errors as exc:
        return Read(chunks.getvalue(), cut=False, error=describe(exc))
    return Read(chunks.getvalue(), cut=more)


def note_cut(budget: Budget, name: str, size: int) -> LimitExceeded | None:
    """Record that ``name`` was read only to its first ``size`` bytes (the member cap).

    When the per-member ``max_scan_bytes`` or the memory bound (``max_buffer_bytes``,
    less what enclosing members hold) cut it, that is a soft limit: noted, scan on. When
    the file's whole ``max_total_uncompressed`` is spent, the caller yields the prefix and
    then raises the returned hard limit.
    """
    label = name or "stream"
    if budget.total_left() <= 0:
        return LimitExceeded(
            "max_total_uncompressed",
            f"more than {budget.limits.max_total_uncompressed} bytes decompressed",
        )
    if size >= budget.limits.max_scan_bytes:
        budget.note("max_scan_bytes", f"{label}: read the first bytes only")
    else:
        budget.note("max_buffer_bytes",
                    f"{label}: read the first {size} bytes only (held in memory)")
    return None


def hand_over(budget: Budget, member: Member) -> Iterator[Member]:
    """Yield ``member``, counted as held until the caller asks for the next one."""
    budget.hold(len(member.data))
    try:
        yield member
    finally:
        budget.release(len(member.data))


def yield_member(name: str, got: Read, budget: Budget) -> Iterator[Member]:
    """Yield a raw member as read; if the file's total budget cut it, raise that after."""
    over = note_cut(budget, name, len(got.data)) if got.cut else None
    truncated = got.cut or got.error is not None
    yield from hand_over(budget, Member(name, got.data, is_text=False, truncated=truncated))
    if over is not None:
        raise over
