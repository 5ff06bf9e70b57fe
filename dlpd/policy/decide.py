"""Where may labelled data live? Label policies and the violations of one file. Pure.

A label with ``approved`` prefixes may live only under them; a label approved ``nowhere``
may not live on this host at all (every copy is a violation); a label with neither may
live anywhere. Prefixes match whole path components: ``/data/itar`` approves
``/data/itar/x.dwg`` but not ``/data/itar-old/x.dwg``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dlpd.model import Severity


@dataclass(frozen=True, slots=True)
class LabelPolicy:
    severity: Severity
    approved: tuple[str, ...] = ()
    # No place on this host is approved: wherever the label is found, it violates.
    nowhere: bool = False


@dataclass(frozen=True, slots=True)
class Violation:
    """Label ``label`` sits outside its approved places; ``reason`` says which clause."""

    label: str
    severity: Severity
    reason: str


def is_under(path: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/") or "/"
    if prefix == "/":
        return path.startswith("/")
    return path == prefix or path.startswith(prefix + "/")


def approved_for(path: str, policy: LabelPolicy) -> str | None:
    """The approved prefix that holds ``path``, or None."""
    return next((p for p in policy.approved if is_under(path, p)), None)


def violations(path: str, labels: Iterable[str],
               policies: Mapping[str, LabelPolicy]) -> tuple[Violation, ...]:
    found = []
    for label in sorted(set(labels)):
        policy = policies.get(label)
        if policy is not None and policy.nowhere:
            found.append(Violation(label, policy.severity,
                                   f"label {label} may not be stored on this host"))
            continue
        if policy is None or not policy.approved or approved_for(path, policy):
            continue
        places = ", ".join(policy.approved)
        found.append(Violation(label, policy.severity,
                               f"label {label} may only live under {places}"))
    return tuple(found)

