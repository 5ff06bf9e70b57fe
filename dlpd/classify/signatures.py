"""The YARA adapter: compile signatures once, match buffers. The only module importing yara.

Rules live in ``*.yar`` files: the shipped set in ``dlpd/data/signatures`` plus site
directories from the config. Each rule's ``meta:`` is parsed into a ``RuleMeta`` at compile
time, so a bad category or validator name is a compile problem, not a scan-time surprise.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import yara

from dlpd.errors import LimitExceeded, SignatureError
from dlpd.model import CATEGORIES, Confidence, RuleHit, RuleMeta, StringHit

_LOCATION = re.compile(r"^(?P<file>.*?)\((?P<line>\d+)\): (?P<message>.*)$")
_SLOW_WARNING = "may slow down scanning"


def shipped_dir() -> Path:
    return Path(str(files("dlpd") / "data" / "signatures"))


def rule_files(dirs: Iterable[Path]) -> list[Path]:
    """Every ``*.yar``/``*.yara`` under the given directories (or files), sorted."""
    found: list[Path] = []
    for d in dirs:
        if d.is_file():
            found.append(d)
            continue
        if not d.is_dir():
            raise SignatureError([f"{d}: not a directory of rules"])
        found.extend(sorted(p for p in d.rglob("*") if p.suffix in (".yar", ".yara")))
    return found


def _problem(text: str) -> str:
    """``file(12): msg`` (yara's form) -> ``file:12: msg`` (the form editors jump to)."""
    m = _LOCATION.match(text)
    return f"{m['file']}:{m['line']}: {m['message']}" if m else text


def rule_meta(rule: str, namespace: str, raw: dict[str, Any]) -> RuleMeta:
    """A rule's ``meta:`` block as dlpd reads it; SignatureError naming the rule."""
    where = f"{namespace}: rule {rule}"
    category = raw.get("category")
    if category not in CATEGORIES:
        raise SignatureError([f"{where}: meta category {category!r} is not one of {CATEGORIES}"])
    try:
        confidence = Confidence.parse(str(raw.get("confidence", "medium")))
    except KeyError:
        raise SignatureError([f"{where}: meta confidence must be low, medium or high"]) from None
    proximity = raw.get("proximity", 300)
    if not isinstance(proximity, int) or isinstance(proximity, bool) or proximity < 0:
        raise SignatureError([f"{where}: meta proximity must be a non-negative integer"])
    marking = raw.get("marking")
    if marking not in (None, "stamp", "reference"):
        raise SignatureError([f"{where}: meta marking must be \"stamp\" or \"reference\""])
    validator = raw.get("validator")
    if validator is not None and not isinstance(validator, str):
        raise SignatureError([f"{where}: meta validator must be a string"])
    return RuleMeta(
        rule=rule,
        category=category,
        confidence=confidence,
        validator=validator,
        proximity=proximity,
        require_keyword=bool(raw.get("require_keyword", False)),
        description=str(raw.get("description", "")),
        marking=marking,
    )


@dataclass(frozen=True, slots=True)
class Ruleset:
    """Compiled rules plus what dlpd knows about each. Thread-safe to match from many threads."""

    rules: Any  # yara.Rules
    metas: dict[str, RuleMeta]
    version: str
    files: tuple[Path, ...]
    warnings: tuple[str, ...]

    def match(self, data: bytes, timeout: float) -> list[RuleHit]:
        """Match one buffer. A YARA timeout becomes ``LimitExceeded("scan_timeout")``."""
        try:
            matches = self.rules.match(data=data, timeout=max(1, int(timeout + 0.999)))
        except yara.TimeoutError:
            raise LimitExceeded("scan_timeout", "signature matching timed out") from None
        except yara.Error as exc:
            # e.g. "internal error: 30" (too many matches): contain it to this buffer.
            raise LimitExceeded("scan_timeout", f"signature matching failed: {exc}") from None
        hits = []
        for m in matches:
            strings = tuple(
                StringHit(s.identifier, i.offset, i.matched_data)
                for s in m.strings
                for i in s.instances
            )
            hits.append(RuleHit(self.metas[f"{m.namespace}:{m.rule}"], strings))
        return hits


def compile_rules(
    dirs: Sequence[Path],
    *,
    known_validators: Collection[str],
    shipped: bool = True,
    strict: bool = False,
) -> Ruleset:
    """Compile the shipped rules (unless ``shipped`` is false) with the site ``dirs``.

    ``strict`` turns YARA warnings (``may slow down scanning``) into problems: that is what
    ``dlpd rules check`` uses. Raises ``SignatureError`` listing ``file:line: message``.
    """
    paths = rule_files(([shipped_dir()] if shipped else []) + list(dirs))
    if not paths:
        raise SignatureError(["no rule files found"])
    # One namespace per file so that two files may each have a rule called `marking`.
    namespaces = {f"f{i}_{p.stem}": str(p) for i, p in enumerate(paths)}
    problems: list[str] = []
    metas: dict[str, RuleMeta] = {}
    for ns, path in namespaces.items():
        # Compile per file first: a syntax error then names its own file, one bad site
        # file does not hide the problems of another, and each rule's namespace is known
        # (yara-python's rule iterator does not report it).
        try:
            single = yara.compile(filepaths={ns: path}, error_on_warning=strict)
        except yara.WarningError as exc:
            problems.extend(_problem(str(w)) for w in exc.warnings)
            continue
        except yara.SyntaxError as exc:
            problems.append(_problem(str(exc)))
            continue
        except yara.Error as exc:
            problems.append(f"{path}: {exc}")
            continue
        for rule in single:
            try:
                meta = rule_meta(rule.identifier, path, dict(rule.meta))
            except SignatureError as exc:
                problems.extend(exc.problems)
                continue
            if meta.validator is not None and meta.validator not in known_validators:
                problems.append(f"{path}: rule {rule.identifier}: unknown validator "
                                f"{meta.validator!r}")
            metas[f"{ns}:{rule.identifier}"] = meta
    if problems:
        raise SignatureError(problems)
    rules = yara.compile(filepaths=namespaces)
    digest = hashlib.sha256()
    for rule_file in paths:
        digest.update(rule_file.name.encode())
        digest.update(rule_file.read_bytes())
    return Ruleset(
        rules=rules,
        metas=metas,
        version=digest.hexdigest()[:16],
        files=tuple(paths),
        warnings=tuple(_problem(str(w)) for w in rules.warnings if _SLOW_WARNING in str(w)),
    )
