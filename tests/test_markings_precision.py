"""Markings against mentions through the real CLI (issue 10, "Mentions are not markings").

One ``dlpd scan --format jsonl`` of the generated corpus (tests/markings_corpus.py) with the
default configuration (min_confidence medium), then:
- a table of the exact export-control / cui / jp-confidential categories per file, one test
  id per file, naming the rules and confidences that fired when it fails;
- precision and recall over (file, category) pairs, printed with every miss and false alarm,
  and required to be perfect: each document is unambiguous to a security officer.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import markings_corpus
import pytest

EXPECTED = markings_corpus.expected()
WATCHED = markings_corpus.CATEGORIES


class Scan:
    def __init__(self, root: Path, run: Any) -> None:
        self.root = root
        self.run = run
        self.records: dict[str, dict[str, Any]] = {}
        for path, rec in run.by_path().items():
            self.records[os.path.relpath(path, root)] = rec

    def record(self, rel: str) -> dict[str, Any]:
        if rel not in self.records:
            pytest.fail(f"{rel}: no record in dlpd's output ({self.run.describe(800)})")
        return self.records[rel]

    def found(self, rel: str) -> set[str]:
        return set(self.record(rel).get("categories") or ()) & WATCHED


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory, dlpd_config: Any, scan_jsonl: Any) -> Scan:
    tmp = tmp_path_factory.mktemp("markings").resolve()
    root = tmp / "corpus"
    markings_corpus.build(root)
    run = scan_jsonl(root, config=dlpd_config(tmp), args=("--no-cache",))
    run.assert_finished_cleanly()
    return Scan(root, run)


def test_every_document_is_read(scan: Scan) -> None:
    assert set(scan.records) == set(EXPECTED), (
        f"missing {sorted(set(EXPECTED) - set(scan.records))}, "
        f"unexpected {sorted(set(scan.records) - set(EXPECTED))}"
    )
    unread = {rel: (rec.get("outcome"), rec.get("reason")) for rel, rec in scan.records.items()
              if rec.get("outcome") != "ok"}
    assert not unread, f"documents not read whole: {unread}"


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_marking_table(scan: Scan, rel: str) -> None:
    rec = scan.record(rel)
    want = sorted(EXPECTED[rel])
    got = sorted(scan.found(rel))
    fired = [(d.get("rule"), d.get("confidence"), d.get("member"), d.get("reasons"))
             for d in rec.get("detections") or [] if d.get("category") in WATCHED]
    assert got == want, (
        f"{rel} ({markings_corpus.DOCS[rel].why})\n  expected {want or 'no category'}, "
        f"got {got or 'no category'}\n  detections {fired}"
    )


def test_precision_and_recall(scan: Scan) -> None:
    truth = {(rel, c) for rel, cats in EXPECTED.items() for c in cats}
    found = {(rel, c) for rel in scan.records for c in scan.found(rel)}
    hits = truth & found
    precision = len(hits) / len(found) if found else 1.0
    recall = len(hits) / len(truth)
    mentions = [rel for rel, cats in EXPECTED.items() if not cats]
    flagged = sorted(rel for rel in mentions if scan.found(rel))
    report = (
        f"precision {precision:.3f} ({len(hits)}/{len(found)}), "
        f"recall {recall:.3f} ({len(hits)}/{len(truth)}), "
        f"mentions flagged {len(flagged)}/{len(mentions)}\n"
        + "".join(f"  MISS         {f}: {c}\n" for f, c in sorted(truth - found))
        + "".join(f"  FALSE ALARM  {f}: {c}\n" for f, c in sorted(found - truth))
    )
    print(report)
    assert precision == 1.0 and recall == 1.0, report
