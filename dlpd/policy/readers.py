"""May this process read labelled data? The verdict on one open. Pure.

A label's ``readers`` (``user:alice``, ``group:k17-team``, ``uid:N``, ``gid:N``) are
resolved against an accounts snapshot into ``exposure.model.Readers`` (the same readers
exposure is judged against); a label without readers is not judged. Root and the
configured service accounts (by user, or by the executable that opened the file: a
backup agent, an indexer) are never unauthorized. A process whose credentials could not
be read (it had exited) is not judged either: an alert must name someone.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from dlpd.exposure.model import Readers
from dlpd.model import Actor


@dataclass(frozen=True, slots=True)
class Exemptions:
    """Accounts and programs whose reads are never unauthorized (root always is)."""

    users: frozenset[str] = frozenset()
    executables: frozenset[str] = frozenset()

    def covers(self, actor: Actor) -> bool:
        return (actor.uid == 0 or (actor.user is not None and actor.user in self.users)
                or (actor.exe is not None and actor.exe in self.executables))


def unauthorized(actor: Actor, labels: Iterable[str], readers: Mapping[str, Readers],
                 exemptions: Exemptions, groups: Collection[int]) -> tuple[str, ...]:
    """The labels of an opened file that ``actor`` (a member of ``groups``, its primary
    group included) is not among the readers of."""
    if actor.uid is None or exemptions.covers(actor):
        return ()
    return tuple(label for label in sorted(set(labels))
                 if (r := readers.get(label)) is not None
                 and not r.includes(actor.uid, groups))
