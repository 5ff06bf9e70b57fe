"""Write a small research-share-like demo tree with a few planted findings."""

from __future__ import annotations

import gzip
import io
import sys
import zipfile
from pathlib import Path


def luhn_complete(prefix: str) -> str:
    digits = [int(c) for c in prefix]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return prefix + str((10 - total % 10) % 10)


def main(root: Path) -> None:
    (root / "projectX" / "docs").mkdir(parents=True, exist_ok=True)
    (root / "projectX" / "data").mkdir(parents=True, exist_ok=True)
    (root / "projectX" / "code").mkdir(parents=True, exist_ok=True)
    card = luhn_complete("411111111111111")
    (root / "projectX" / "docs" / "notes.md").write_text(
        "# Lab notes\nCalibration of the detector went fine; see the circuit diagram.\n")
    (root / "projectX" / "docs" / "design.txt").write_text(
        "EXPORT CONTROLLED - ITAR\nThis document contains technical data whose export is "
        "restricted by the Arms Export Control Act (22 CFR 120-130).\n")
    (root / "projectX" / "docs" / "handling.txt").write_bytes(
        "【社外秘】本資料は関係者限りとする。\n".encode("cp932"))
    (root / "projectX" / "data" / "payments.csv").write_text(
        f"name,card_number,amount\nA. Researcher,{card},120.00\n")
    (root / "projectX" / "data" / "reads.fastq.gz").write_bytes(gzip.compress(
        b"@SEQ_1\nGATTTGGGGTTCAAAGCAGTATCGATCAAATAGT\n+\n!''*((((***+))%%%++)(%%%%).1***-\n"))
    (root / "projectX" / "data" / "measurements.csv").write_text(
        "t,voltage\n" + "".join(f"{i},{i * 0.37:.3f}\n" for i in range(200)))
    (root / "projectX" / "code" / "settings.py").write_text(
        'import os\nDB_PASSWORD = os.environ["DB_PASSWORD"]\n')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("cui/memo.txt", "CUI//SP-PRVCY\nPersonnel review notes.\n")
    (root / "projectX" / "docs" / "archive.zip").write_bytes(buf.getvalue())


if __name__ == "__main__":
    main(Path(sys.argv[1]))
