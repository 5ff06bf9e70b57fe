"""What each tool of bench/real_trees.py reported: files with findings and their labels.

- ``yara`` prints ``RULE PATH`` per match; the label is the rule.
- ``clamscan -i`` prints ``PATH: SIGNATURE FOUND`` per infected file (first match only,
  clamscan's default); ``YARA.<rule>.UNOFFICIAL`` is reduced to the rule.
- ``dlpd scan --format jsonl`` prints one object per file; the labels are its categories,
  and the outcomes are counted too.

Only counts and rule/category names leave this module: never a matched string.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_FOUND = " FOUND"


@dataclass(slots=True)
class Findings:
    files: set[str] = field(default_factory=set)  # paths with at least one finding
    labels: Counter[str] = field(default_factory=Counter)  # label -> files carrying it
    outcomes: Counter[str] = field(default_factory=Counter)  # dlpd only

    def to_json(self) -> dict[str, Any]:
        return {
            "files_with_findings": len(self.files),
            "labels": dict(sorted(self.labels.items())),
            "outcomes": dict(sorted(self.outcomes.items())),
        }


def parse(kind: str, stdout: Path) -> Findings:
    if kind == "yara":
        return _parse_yara(stdout)
    if kind == "clamscan":
        return _parse_clamscan(stdout)
    return _parse_dlpd(stdout)


def _parse_yara(stdout: Path) -> Findings:
    found = Findings()
    pairs: set[tuple[str, str]] = set()
    with stdout.open(encoding="utf-8", errors="surrogateescape") as handle:
        for line in handle:
            rule, _, path = line.rstrip("\n").partition(" ")
            if path:
                found.files.add(path)
                pairs.add((rule.rsplit(":", 1)[-1], path))
    found.labels.update(rule for rule, _ in pairs)
    return found


def clamscan_rule(signature: str) -> str:
    """``YARA.credential_aws_access_key.UNOFFICIAL`` -> ``credential_aws_access_key``."""
    parts = signature.split(".")
    if len(parts) >= 3 and parts[0] == "YARA" and parts[-1] == "UNOFFICIAL":
        return ".".join(parts[1:-1])
    return signature


def _parse_clamscan(stdout: Path) -> Findings:
    found = Findings()
    with stdout.open(encoding="utf-8", errors="surrogateescape") as handle:
        for raw in handle:
            line = raw.rstrip("\n")
            if not line.endswith(_FOUND):
                continue
            path, _, signature = line[: -len(_FOUND)].rpartition(": ")
            if path:
                found.files.add(path)
                found.labels[clamscan_rule(signature)] += 1
    return found


def _parse_dlpd(stdout: Path) -> Findings:
    found = Findings()
    with stdout.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            record = json.loads(line)
            found.outcomes[str(record.get("outcome"))] += 1
            if record.get("detections"):
                found.files.add(str(record["path"]))
                found.labels.update(set(record.get("categories") or ()))
    return found
