"""What extractors gather along the way: member problems, and document text within its cap."""

from __future__ import annotations

from collections import Counter

from dlpd.classify.limits import Budget
from dlpd.errors import ExtractionError


class Problems:
    """Member failures of one container, raised together after its last member."""

    def __init__(self, container: str) -> None:
        self._container = container
        self._reasons: Counter[str] = Counter()
        self._names: list[str] = []

    def __bool__(self) -> bool:
        return bool(self._reasons)

    def add(self, name: str, reason: str) -> None:
        self._reasons[reason] += 1
        if len(self._names) < 3:
            self._names.append(name)

    def raise_if_any(self) -> None:
        if not self._reasons:
            return
        total = sum(self._reasons.values())
        reasons = ", ".join(f"{reason} x{n}" for reason, n in self._reasons.most_common())
        names = ", ".join(repr(name[:80]) for name in self._names)
        more = ", ..." if total > len(self._names) else ""
        raise ExtractionError(f"{total} unreadable in {self._container}: {reasons} ({names}{more})")


class DocumentText:
    """Lines of one document's text, at most ``max_text_bytes`` of UTF-8 in the end.

    ``left`` counts characters, which is never more than the bytes they encode to, so a
    part parsed with ``left`` as its budget cannot overshoot; ``to_bytes`` makes the
    exact cut.
    """

    def __init__(self, budget: Budget) -> None:
        self._budget = budget
        self._lines: list[str] = []
        self.left = budget.limits.max_text_bytes
        self.cut = False

    @property
    def full(self) -> bool:
        return self.cut or self.left <= 0

    def extend(self, lines: list[str]) -> None:
        self._lines.extend(lines)
        self.left -= sum(map(len, lines)) + len(lines)

    def add(self, line: str) -> None:
        if line:
            self.extend([line])

    def mark_cut(self, name: str) -> None:
        if not self.cut:
            self.cut = True
            self._budget.note("max_text_bytes", f"{name}: text cut")

    def to_bytes(self, name: str) -> bytes:
        data = "\n".join(self._lines).encode("utf-8", "replace")
        cap = self._budget.limits.max_text_bytes
        if len(data) <= cap:
            return data
        self.mark_cut(name)
        while cap > 0 and (data[cap] & 0xC0) == 0x80:  # do not split a character
            cap -= 1
        return data[:cap]
