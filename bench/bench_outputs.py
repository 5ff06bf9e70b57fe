"""What each tool reported, and how the planted positives fared.

The yara CLI prints ``RULE PATH`` per match; ``dlpd scan --format jsonl`` one JSON object
per file. Both are keyed by path relative to the corpus root so they can be compared.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(slots=True)
class Outputs:
    """What one run reported, keyed by path relative to the corpus root."""

    flagged: dict[str, set[str]] = field(default_factory=dict)  # path -> rules/categories
    files: int = 0
    cached: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


def parse_yara(stdout: Path, root: Path) -> Outputs:
    """yara prints ``RULE PATH`` per match (no -s/-m/-g), so split once on the first space."""
    outputs = Outputs()
    with stdout.open(errors="surrogateescape") as handle:
        for line in handle:
            rule, _, path = line.rstrip("\n").partition(" ")
            if path:
                outputs.flagged.setdefault(os.path.relpath(path, root), set()).add(rule)
    return outputs


def parse_dlpd(stdout: Path, root: Path) -> Outputs:
    """One JSON object per file (``dlpd scan --format jsonl``)."""
    outputs = Outputs()
    with stdout.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            record = json.loads(line)
            outputs.files += 1
            outputs.cached += bool(record.get("cached"))
            outputs.outcomes[str(record.get("outcome"))] += 1
            if record.get("detections"):
                path = os.path.relpath(record["path"], root)
                outputs.flagged[path] = set(record.get("categories") or ())
    return outputs


# Files whose format is itself sensitive (genomic-data): flagging them is right, not noise.
_FORMAT_SUFFIXES = (".fastq", ".vcf")
_FORMAT_KINDS = ("fastq", "vcf")


def _split(flagged: dict[str, set[str]], planted: set[str]) -> tuple[int, int]:
    """(flagged files of a sensitive format, other flagged files) outside the plants."""
    rest = flagged.keys() - planted
    formats = sum(1 for path in rest if path.endswith(_FORMAT_SUFFIXES))
    return formats, len(rest) - formats


def detection_summary(
    manifest: dict[str, Any], yara: Outputs, cold: Outputs, warm: Outputs
) -> dict[str, Any]:
    """Planted positives each tool flagged (dlpd: the cold run; the warm one answers from
    the cache), FASTQ/VCF files each flagged, other files each flagged (false-positive
    pressure), and dlpd's outcome counts."""
    planted = {p["path"]: p for p in manifest["positives"]["list"]}
    in_containers = {path for path, p in planted.items() if p["container"]}
    yara_formats, yara_other = _split(yara.flagged, set(planted))
    dlpd_formats, dlpd_other = _split(cold.flagged, set(planted))
    return {
        "planted": len(planted),
        "planted_in_containers": len(in_containers),
        "format_files": sum(manifest["by_kind"].get(k, {}).get("files", 0) for k in _FORMAT_KINDS),
        "yara_files": len(yara.flagged),
        "yara_planted": len(planted.keys() & yara.flagged.keys()),
        "yara_planted_in_containers": len(in_containers & yara.flagged.keys()),
        "yara_formats": yara_formats,
        "yara_other": yara_other,
        "dlpd_files": len(cold.flagged),
        "dlpd_planted": len(planted.keys() & cold.flagged.keys()),
        "dlpd_planted_in_containers": len(in_containers & cold.flagged.keys()),
        "dlpd_planted_right_category": sum(
            1 for path, p in planted.items() if p["category"] in cold.flagged.get(path, ())
        ),
        "dlpd_formats": dlpd_formats,
        "dlpd_other": dlpd_other,
        "dlpd_missed": sorted(planted.keys() - cold.flagged.keys()),
        "dlpd_outcomes": dict(sorted(cold.outcomes.items())),
        "warm_files": warm.files,
        "warm_cached": warm.cached,
    }
