"""Which schema revision this dlpd needs, and where a database's stands against it.

Without SQLAlchemy or alembic: a database at head opens without either (``store.direct``
reads the revision through the stdlib's sqlite3)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest revision in migrations/versions; a test keeps it equal to alembic's head.
# Knowing it here lets an up-to-date database open without importing alembic (~50 ms).
HEAD_REVISION = "0008"


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where a database's schema is: its revision (None: no dlpd schema) and the head
    this dlpd needs."""

    revision: str | None
    head: str = HEAD_REVISION

    @property
    def is_current(self) -> bool:
        return self.revision == self.head

    @property
    def is_behind(self) -> bool:
        """Older than head, or empty: ``dlpd db upgrade`` brings it there."""
        return self.revision is None or self.revision in _older_revisions()


def _older_revisions() -> frozenset[str]:
    """The revisions before head, from the migration files' names ("0003_path_bytes.py"),
    so that this check needs no alembic."""
    names = (p.name.partition("_")[0] for p in (MIGRATIONS / "versions").glob("*.py"))
    return frozenset(n for n in names if n.isdigit() and n != HEAD_REVISION)
