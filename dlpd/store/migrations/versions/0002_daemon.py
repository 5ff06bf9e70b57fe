"""The daemon's tables: alerts and their notes, the sink outbox, the access log; files by
content hash (provenance: "copy of").

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("status != 'resolved'")


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("categories", sa.Text, nullable=False),
        sa.Column("rules", sa.Text, nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("provenance", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index("ux_alerts_active", "alerts", ["path", "sha256", "label"], unique=True,
                    sqlite_where=_ACTIVE, postgresql_where=_ACTIVE)
    op.create_index("ix_alerts_status_created", "alerts", ["status", "created"])
    op.create_index("ix_alerts_path", "alerts", ["path"])
    op.create_table(
        "alert_notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String(16)),
    )
    op.create_index("ix_alert_notes_alert_id", "alert_notes", ["alert_id"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("msg_id", sa.Text, nullable=False),
        sa.Column("sink", sa.Text, nullable=False),
        sa.Column("alert_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt", sa.Float, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("delivered", sa.Float),
    )
    op.create_index("ux_outbox_msg_sink", "outbox", ["msg_id", "sink"], unique=True)
    op.create_index("ix_outbox_due", "outbox", ["sink", "delivered", "next_attempt"])
    op.create_table(
        "access",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("src_path", sa.Text),
        sa.Column("pid", sa.Integer),
        sa.Column("uid", sa.Integer),
        sa.Column("process", sa.Text),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("first", sa.Float, nullable=False),
        sa.Column("last", sa.Float, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_index("ix_access_path", "access", ["path"])
    op.create_index("ix_access_last", "access", ["last"])
    op.create_index("ix_files_sha256", "files", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_files_sha256", "files")
    for table in ("access", "outbox", "alert_notes", "alerts"):
        op.drop_table(table)
