"""Whether anything is labelled or registered: asked before every scan and by the daemon
once a batch, in plain SQL (``store.sql``), so that a scan of a store where nothing is
labelled needs nothing of SQLAlchemy (``wiring.open_scan_store``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dlpd.store.sql import Sql, as_sql

if TYPE_CHECKING:
    from sqlalchemy import Connection


def any_label(conn: Connection | Sql, host: str) -> bool:
    """Whether anything on ``host`` carries a label a person set (an active assignment)."""
    return as_sql(conn).rows("SELECT 1 FROM label_assignments WHERE host = ? AND removed "
                             "IS NULL LIMIT 1", (host,)).fetchone() is not None


def source_kinds(conn: Connection | Sql) -> set[str]:
    """The kinds of the registered fingerprint sources (text, table, binary), any host's:
    what is worth printing."""
    return {str(kind) for (kind,) in as_sql(conn).rows("SELECT DISTINCT kind FROM fp_sources")}


@dataclass(frozen=True, slots=True)
class Presence:
    """What there is to resolve labels against on a host."""

    labelled: bool  # a person's label on something of this host's
    kinds: frozenset[str]  # the kinds of the registered sources (any host's)

    @property
    def idle(self) -> bool:
        """Nothing labelled, nothing registered: no label to resolve, no print to make."""
        return not (self.labelled or self.kinds)


def presence(conn: Connection | Sql, host: str) -> Presence:
    return Presence(any_label(conn, host), frozenset(source_kinds(conn)))
