"""Bounded reads of one member, charged to the budget as the bytes come."""

from __future__ import annotations

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
    chunks: list[bytes] = []
    got = 0
    try:
        while got < cap:
            chunk = read(min(CHUNK, cap - got))
            if not chunk:
                return Read(b"".join(chunks), cut=False)
            got += len(chunk)
            chunks.append(chunk)
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
        return Read(b"".join(chunks), cut=False, error=describe(exc))
    return Read(b"".join(chunks), cut=more)


def note_cut(budget: Budget, name: str) -> LimitExceeded | None:
    """Record that ``name`` was read only to the member cap.

    When the per-member ``max_scan_bytes`` cut it, that is a soft limit: noted, scan on.
    When the file's whole ``max_total_uncompressed`` is spent, the caller yields the
    prefix and then raises the returned hard limit.
    """
    if budget.member_cap() > 0:
        budget.note("max_scan_bytes", f"{name or 'stream'}: read the first bytes only")
        return None
    return LimitExceeded(
        "max_total_uncompressed",
        f"more than {budget.limits.max_total_uncompressed} bytes decompressed",
    )


def yield_member(name: str, got: Read, budget: Budget) -> Iterator[Member]:
    """Yield a raw member as read; if the file's total budget cut it, raise that after."""
    over = note_cut(budget, name) if got.cut else None
    yield Member(name, got.data, is_text=False, truncated=got.cut or got.error is not None)
    if over is not None:
        raise over
