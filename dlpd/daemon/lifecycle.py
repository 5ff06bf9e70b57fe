"""One lifecycle for every thread the daemon owns (watchdog's ``BaseThread``).

Each is started by its owner and stopped with one ``deadline`` (``time.monotonic()``)
shared by the whole shutdown, so that the bound is the daemon's, not a sum of each
part's; ``stop`` says whether the part ended in time, and the owner names those that did
not instead of waiting for them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Protocol


class Stoppable(Protocol):
    """A thread (or a pool of them) with one owner."""

    @property
    def name(self) -> str: ...

    def start(self) -> None: ...

    def stop(self, deadline: float) -> bool:
        """Ask the part to end; True when it ended by ``deadline``."""
        ...


def remaining(deadline: float) -> float:
    """Seconds left until ``deadline``; never negative."""
    return max(0.0, deadline - time.monotonic())


def stop_all(parts: Iterable[Stoppable], deadline: float) -> list[str]:
    """Stop each part in turn, all by one ``deadline``; returns the names of those that
    did not end in time."""
    return [part.name for part in parts if not part.stop(deadline)]
