"""Real office-suite output (tests/data/office, made by LibreOffice; see its README) through
the whole scanner: every format of the same content gives the same categories."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

OFFICE = Path(__file__).resolve().parent / "data" / "office"
REPORT = {"credit-card", "cui", "export-control", "iban", "jp-confidential", "jp-my-number"}
PATIENTS = {"credit-card", "cui", "export-control", "jp-confidential", "jp-my-number"}
BRIEFING = {"credit-card", "cui", "export-control", "jp-confidential", "jp-my-number"}
# The PDF has neither the comment "ITAR controlled" nor the custom property CUI//SP-EXPT:
# what is left of export control in it are mentions (EAR99, which means not controlled,
# and "外為法に基づく該非判定を実施済み" in running text), which are not markings (issue 10).
REPORT_PDF = REPORT - {"export-control"}
EXPECTED = {
    "report.docx": REPORT, "report.odt": REPORT, "report.pdf": REPORT_PDF, "report.doc": REPORT,
    "patients.xlsx": PATIENTS, "patients.ods": PATIENTS,
    "patients.xls": PATIENTS,
    "briefing.pptx": BRIEFING, "briefing.odp": BRIEFING, "briefing.ppt": BRIEFING,
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory, run_dlpd: Any) -> dict[str, Any]:
    tree = tmp_path_factory.mktemp("office")
    for name in EXPECTED:
        shutil.copy(OFFICE / name, tree / name)
    cfg = tree.parent / "office.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tree.parent}/office.db"\n')
    run = run_dlpd("scan", tree, "--format", "jsonl", "--config", cfg)
    run.assert_finished_cleanly()
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    return {Path(r["path"]).name: r for r in rows}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_office_document_categories(results: dict[str, Any], name: str) -> None:
    row = results[name]
    assert row["outcome"] == "ok", row["reason"]
    assert set(row["categories"]) == EXPECTED[name]
