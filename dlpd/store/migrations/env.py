"""Alembic environment: runs on the engine dlpd hands over (no alembic.ini, no URL here)."""

from __future__ import annotations

from alembic import context

from dlpd.store.schema import metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies tables
    )
    with context.begin_transaction():
        context.run_migrations()
