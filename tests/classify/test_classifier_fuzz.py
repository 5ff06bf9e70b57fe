"""Broken files of every format through the real classifier: each gets an outcome, none
escapes as an exception, and a reason never quotes the file's content."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from dlpd.config import Settings
from dlpd.wiring import build_classifier

from .test_extract_mail import japanese_mail_with_attachment

OFFICE = Path(__file__).resolve().parent.parent / "data" / "office"
SEEDS = ["report.docx", "report.doc", "report.pdf", "patients.xls", "patients.xlsx",
         "briefing.odp", "briefing.pptx"]
OUTCOMES = {"ok", "error", "limit_exceeded"}


def _mutations(data: bytes, rng: random.Random, count: int) -> list[bytes]:
    out = []
    for _ in range(count):
        buf = bytearray(data)
        for _ in range(rng.randint(1, 12)):
            pos = rng.randrange(len(buf))
            buf[pos] = rng.randrange(256)
        if rng.random() < 0.3:
            buf = buf[: rng.randrange(1, len(buf))]
        out.append(bytes(buf))
    return out


@pytest.mark.parametrize("name", [*SEEDS, "mail.eml"])
def test_mutated_documents_get_an_outcome(
    tmp_path: Path, name: str, capfd: pytest.CaptureFixture[str]
) -> None:
    classifier = build_classifier(Settings())
    seed = (japanese_mail_with_attachment() if name == "mail.eml"
            else (OFFICE / name).read_bytes())
    rng = random.Random(name)
    for i, data in enumerate(_mutations(seed, rng, 40)):
        target = tmp_path / f"{i}-{name}"
        target.write_bytes(data)
        result = classifier.classify(str(target))
        assert result.outcome.value in OUTCOMES, (name, i, result.reason)
        assert "internal error" not in (result.reason or ""), (name, i, result.reason)
        assert "4111" not in (result.reason or "") and "社外秘" not in (result.reason or "")
    # Parsers' complaints quote file bytes: nothing may reach stderr (or a log).
    assert capfd.readouterr().err == ""
