"""Attribution: who did it (the access log's actor) and alerts of more than one kind.

``access``: the user name, gid, parent pid, executable and command line of the process
behind an event (fanotify); ``pid``/``uid``/``process`` were there already. ``alerts``:
``kind`` (location, unauthorized-access, exposed) and ``subject`` (what tells event
alerts apart: one per user, file and day), both in the unique index of active alerts.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("status != 'resolved'")


def upgrade() -> None:
    with op.batch_alter_table("access") as batch:
        batch.add_column(sa.Column("user", sa.Text))
        batch.add_column(sa.Column("gid", sa.Integer))
        batch.add_column(sa.Column("ppid", sa.Integer))
        batch.add_column(sa.Column("exe", sa.Text))
        batch.add_column(sa.Column("cmdline", sa.Text))
    op.add_column("alerts", sa.Column("kind", sa.String(24), nullable=False,
                                      server_default="location"))
    op.add_column("alerts", sa.Column("subject", sa.Text, nullable=False, server_default=""))
    op.drop_index("ux_alerts_active", table_name="alerts")
    op.create_index("ux_alerts_active", "alerts",
                    ["path_key", "sha256", "label", "kind", "subject"], unique=True,
                    sqlite_where=_ACTIVE, postgresql_where=_ACTIVE)
    op.create_index("ix_access_uid_last", "access", ["uid", "last"])


def downgrade() -> None:
    op.drop_index("ix_access_uid_last", table_name="access")
    op.drop_index("ux_alerts_active", table_name="alerts")
    op.create_index("ux_alerts_active", "alerts", ["path_key", "sha256", "label"],
                    unique=True, sqlite_where=_ACTIVE, postgresql_where=_ACTIVE)
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("subject")
        batch.drop_column("kind")
    with op.batch_alter_table("access") as batch:
        for name in ("cmdline", "exe", "ppid", "gid", "user"):
            batch.drop_column(name)
