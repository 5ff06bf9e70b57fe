"""Many hosts, one store: ``host`` on the rows that belong to one host.

``files`` (the incremental cache: its key becomes (host, path_key)), ``scans``,
``outbox`` (each host's daemon delivers its own) and ``access`` gain ``host``; the
unique index of active alerts starts with it; the outbox gains a claim (``claimed_by``,
``claim_until``) so that two senders never deliver one message.

Existing rows get the name of the machine running this migration
(``socket.gethostname()``, the default of ``[daemon] host``): a store upgraded here is
a single host's SQLite store, on the machine that wrote it. A store whose daemon was
configured with another ``[daemon] host`` needs ``UPDATE ... SET host = ...`` by hand
(its cache otherwise reads every file once more; alerts and labels are not affected).

SQLite: ``files`` loses its unnamed UNIQUE(path_key) by a table copy (batch mode), and
the copy's DROP TABLE would cascade to ``detections`` (foreign keys are on in dlpd's
connections), so the detections are kept aside and put back.

Revision ID: 0008
Revises: 0007
"""

import socket

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("status != 'resolved'")
# Names for SQLite's unnamed constraints when batch mode reflects the table.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _add_host(table: str, host: str) -> None:
    # Filled through a server default, which is then dropped: a writer that forgets the
    # host must fail, not write this machine's name.
    with op.batch_alter_table(table) as batch:
        batch.add_column(sa.Column("host", sa.Text, nullable=False, server_default=host))
    with op.batch_alter_table(table) as batch:
        batch.alter_column("host", server_default=None, existing_type=sa.Text,
                           existing_nullable=False)


def _files(host: str) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("CREATE TEMPORARY TABLE _detections_0008 AS SELECT * FROM detections")
    _add_host("files", host)
    if sqlite:
        with op.batch_alter_table("files", naming_convention=_NAMING,
                                  recreate="always") as batch:
            batch.drop_constraint("uq_files_path_key", type_="unique")
        op.execute("DELETE FROM detections")
        op.execute("INSERT INTO detections SELECT * FROM _detections_0008")
        op.execute("DROP TABLE _detections_0008")
    else:
        op.drop_constraint("files_path_key_key", "files", type_="unique")
    op.create_index("ux_files_host_path", "files", ["host", "path_key"], unique=True)


def upgrade() -> None:
    host = socket.gethostname()
    _files(host)
    _add_host("scans", host)
    _add_host("access", host)
    _add_host("outbox", host)
    op.add_column("outbox", sa.Column("claimed_by", sa.Text))
    op.add_column("outbox", sa.Column("claim_until", sa.Float))
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.create_index("ix_outbox_due", "outbox", ["host", "sink", "delivered", "next_attempt"])
    op.drop_index("ux_alerts_active", table_name="alerts")
    op.create_index("ux_alerts_active", "alerts",
                    ["host", "path_key", "sha256", "label", "kind", "subject"], unique=True,
                    sqlite_where=_ACTIVE, postgresql_where=_ACTIVE)


def downgrade() -> None:
    op.drop_index("ux_alerts_active", table_name="alerts")
    op.create_index("ux_alerts_active", "alerts",
                    ["path_key", "sha256", "label", "kind", "subject"], unique=True,
                    sqlite_where=_ACTIVE, postgresql_where=_ACTIVE)
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.create_index("ix_outbox_due", "outbox", ["sink", "delivered", "next_attempt"])
    with op.batch_alter_table("outbox") as batch:
        for name in ("claim_until", "claimed_by", "host"):
            batch.drop_column(name)
    for table in ("access", "scans"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("host")
    # Two hosts' rows for one path cannot share a unique path_key: the cache is a cache.
    op.drop_index("ux_files_host_path", table_name="files")
    op.execute("DELETE FROM files")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("host")
        batch.create_unique_constraint("uq_files_path_key", ["path_key"])
