"""Initial schema: files, detections, scans.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("path", sa.Text, nullable=False, unique=True),
        sa.Column("dev", sa.BigInteger, nullable=False),
        sa.Column("inode", sa.BigInteger, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("mtime_ns", sa.BigInteger, nullable=False),
        sa.Column("ctime_ns", sa.BigInteger, nullable=False),
        sa.Column("racy", sa.Boolean, nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("mime", sa.Text),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("categories", sa.Text, nullable=False),
        sa.Column("last_scan", sa.Float, nullable=False),
        sa.Column("rules_version", sa.String(32), nullable=False),
    )
    op.create_table(
        "detections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "file_id",
            sa.Integer,
            sa.ForeignKey("files.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("confidence", sa.String(8), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("member", sa.Text),
        sa.Column("previews", sa.Text, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
    )
    op.create_index("ix_detections_file_id", "detections", ["file_id"])
    op.create_index("ix_detections_category", "detections", ["category"])
    op.create_table(
        "scans",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("started", sa.Float, nullable=False),
        sa.Column("finished", sa.Float),
        sa.Column("roots", sa.Text, nullable=False),
        sa.Column("files", sa.Integer, nullable=False),
        sa.Column("read", sa.Integer, nullable=False),
        sa.Column("found", sa.Integer, nullable=False),
        sa.Column("errors", sa.Integer, nullable=False),
        sa.Column("rules_version", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("scans")
    op.drop_index("ix_detections_category", "detections")
    op.drop_index("ix_detections_file_id", "detections")
    op.drop_table("detections")
    op.drop_table("files")
