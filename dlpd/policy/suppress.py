"""Suppression rules: an analyst's decision that alerts matching (label, path prefix,
rule) are expected for a while. Pure.

A rule always has an owner, a reason and an expiry: it stops applying by itself when it
expires (no job has to remove it), and a revoked one never applies again. Matching is by
whole path components, as the label policies' approved places are (``/scratch/a``
covers ``/scratch/a/x`` but not ``/scratch/ab``). A rule naming a signature rule applies
only to alerts one of whose rules is that rule; without one, to any alert of the label
under the prefix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dlpd.policy.decide import is_under

# The furthest ahead an expiry may be set: a suppression is a temporary decision, and one
# that outlives the people who made it is a hole nobody remembers.
MAX_DAYS = 365


@dataclass(frozen=True, slots=True)
class Suppression:
    id: int
    label: str
    path_prefix: str
    rule: str | None  # a signature rule id; None = any
    owner: str  # who answers for it (a person or a team)
    reason: str
    created: float
    created_by: str
    expires: float
    revoked: float | None = None
    revoked_by: str | None = None

    def in_force(self, now: float) -> bool:
        return self.revoked is None and now < self.expires

    def state(self, now: float) -> str:
        """"in force", "expired" or "revoked", for people."""
        if self.revoked is not None:
            return "revoked"
        return "in force" if now < self.expires else "expired"

    def covers(self, label: str, path: str, rules: Iterable[str]) -> bool:
        """Does this rule's scope hold an alert on ``path`` for ``label`` whose file fired
        ``rules``? (Not whether it is in force: see ``in_force``.)"""
        return (label == self.label and is_under(path, self.path_prefix)
                and (self.rule is None or self.rule in rules))


def suppressing(rules: Sequence[Suppression], *, label: str, path: str,
                fired: Iterable[str], now: float) -> Suppression | None:
    """The rule in force that suppresses an alert on ``path`` for ``label`` whose file
    fired ``fired``, if any: the narrowest (longest prefix, a named rule before any),
    so that what it suppressed is counted where an analyst would look first."""
    fired = frozenset(fired)
    found = [s for s in rules if s.in_force(now) and s.covers(label, path, fired)]
    if not found:
        return None
    return max(found, key=lambda s: (len(s.path_prefix.rstrip("/")), s.rule is not None, -s.id))


def problems(*, label: str, path_prefix: str, owner: str, reason: str, expires: float,
             now: float, known_labels: Iterable[str] | None = None) -> list[str]:
    """What is wrong with a new rule, each as a sentence naming the field; empty when it
    may be added. ``known_labels``: the configured labels, when the caller has them."""
    found = []
    if not label.strip():
        found.append("label: required")
    elif known_labels is not None and label not in set(known_labels):
        found.append(f"label: {label!r} is not a configured label")
    if not path_prefix.startswith("/"):
        found.append("path prefix: an absolute path is required")
    if not owner.strip():
        found.append("owner: required (who answers for this rule)")
    if not reason.strip():
        found.append("reason: required")
    if expires <= now:
        found.append("expires: must be in the future")
    elif expires > now + MAX_DAYS * 86400:
        found.append(f"expires: at most {MAX_DAYS} days ahead")
    return found
