"""The ledger of one file's scan: detections merged per (rule, member), the problems
met (errors, limits, formats not read), the budget's notes and remarks, and (with content
prints on) the text met on the way. Its outcome is the file's outcome and reason."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from dlpd.classify.confirm import MAX_PREVIEWS
from dlpd.classify.limits import Budget
from dlpd.classify.prints import PrintText
from dlpd.errors import LimitExceeded
from dlpd.model import Detection, Outcome


@dataclass(slots=True)
class Findings:
    """The ledger of one file's scan: detections merged per (rule, member), problems,
    and (with content prints on) the text met on the way."""

    budget: Budget
    prints: PrintText | None = None
    detections: dict[tuple[str, str | None], Detection] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)
    # Formats this installation does not read (an extra missing): the file is skipped.
    unsupported: list[str] = field(default_factory=list)

    def add(self, found: Detection, via: str | None = None) -> None:
        """Merge ``found`` into the file's detections; ``via`` (``"ocr"``: how the text
        was obtained) is added to its reasons."""
        if via is not None:
            found = replace(found, reasons=(*found.reasons, via))
        key = (found.rule, found.member)
        seen = self.detections.get(key)
        if seen is None:
            self.detections[key] = found
            return
        previews = tuple(dict.fromkeys(seen.previews + found.previews))[:MAX_PREVIEWS]
        # The surer find says why: its reasons (a banner) explain the confidence kept.
        surer = found if found.confidence > seen.confidence else seen
        self.detections[key] = replace(
            surer,
            count=seen.count + found.count,
            previews=previews,
        )

    def limit(self, exc: LimitExceeded, where: str | None) -> None:
        self.limits.append(f"{exc.limit}: {exc.detail}" + (f" (in {where})" if where else ""))

    def outcome(self) -> tuple[Outcome, str | None]:
        notes = [f"{limit}: {detail}" for limit, detail in self.budget.notes]
        # Remarks (a DTD ignored) say how the file was read; they do not cut a result.
        remarks = list(self.budget.remarks)
        if self.errors:
            return Outcome.ERROR, "; ".join(self.errors + self.limits + notes + remarks)
        if self.limits or notes:
            return Outcome.LIMIT_EXCEEDED, "; ".join(self.limits + notes + remarks)
        if self.unsupported:
            return Outcome.SKIPPED, "; ".join(self.unsupported + remarks)
        return Outcome.OK, "; ".join(remarks) or None

    @property
    def wants_text(self) -> bool:
        """Content prints are on and still take text (worth telling text from binary)."""
        return self.prints is not None and not self.prints.full

    def keep_text(self, text: bytes, *, cells: bool = False, continued: bool = False) -> None:
        """Text (UTF-8) for the file's content prints, when they are on."""
        if self.prints is not None:
            self.prints.add(text, cells=cells, continued=continued)
