"""One labelled path's exposure, from the file system: what the daemon asks on an
attribute event (chmod, chown, setfacl) and `dlpd exposure` asks of every labelled path.
"""

from __future__ import annotations

from collections.abc import Sequence

from dlpd.exposure.accounts import AccountsCache
from dlpd.exposure.evaluate import evaluate
from dlpd.exposure.model import Accounts, Exposure, Readers
from dlpd.exposure.reading import Examined, examine


def judge(examined: Examined, readers: Sequence[str], accounts: Accounts) -> Exposure:
    """The exposure of what ``examine`` read, for a label with these ``readers``."""
    found = evaluate(examined.target, examined.chain, accounts,
                     Readers.resolve(readers, accounts))
    if not examined.problems:
        return found
    return Exposure(found.reasons, found.outsiders, (*examined.problems, *found.problems))


def exposure_of(root: str, path: str, readers: Sequence[str],
                accounts: AccountsCache | Accounts, *,
                cross_devices: bool = False) -> Exposure | None:
    """Who outside ``readers`` (a label's ``readers`` entries) can read ``path`` below the
    watched ``root``, and why; None when the path cannot be examined (gone, replaced by
    a symlink, not permitted) or the label has no readers (nothing is judged then).

    Cheap enough per event: a few ``openat``/``fstat``/``getxattr`` calls per directory
    level, and the accounts snapshot from an ``AccountsCache`` (read again after its
    refresh interval, not per call).
    """
    if not readers:
        return None
    try:
        examined = examine(root, path, cross_devices=cross_devices)
    except OSError:
        return None
    snapshot = accounts.get(readers) if isinstance(accounts, AccountsCache) else accounts
    return judge(examined, readers, snapshot)
