"""Alert details and false-positive decisions.

``alerts.details``: what the scan knew of the file when the alert was raised (size, mtime,
owner, the detections behind the label with their redacted previews), JSON; older alerts
keep NULL and say so. ``false_positives``: one row per decision that some content with some
label is fine everywhere, with who, why and the alert it began from.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_UNLIFTED = sa.text("lifted IS NULL")


def upgrade() -> None:
    op.add_column("alerts", sa.Column("details", sa.Text, nullable=True))
    op.create_table(
        "false_positives",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id"), nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("lifted", sa.Float),
        sa.Column("lifted_by", sa.Text),
    )
    op.create_index("ux_false_positives_standing", "false_positives", ["sha256", "label"],
                    unique=True, sqlite_where=_UNLIFTED, postgresql_where=_UNLIFTED)


def downgrade() -> None:
    op.drop_index("ux_false_positives_standing", "false_positives")
    op.drop_table("false_positives")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("details")
