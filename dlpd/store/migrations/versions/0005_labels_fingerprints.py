"""Labels set by people, the labels files carry by content, and the fingerprint index.

``label_assignments``: a label on a path (file or directory), by a person or a marker
file; ``label_history``: every decision, allowed or refused, append-only;
``label_matches``: labels a file carries because of what it is (copy, derived, xattr,
moved); ``fp_sources``/``fp_text``/``fp_cells``/``fp_stop``: the fingerprint index;
``dlpd_meta``: small values of this installation (the cell-hash key).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("removed IS NULL")


def upgrade() -> None:
    op.create_table(
        "label_assignments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("path_key", sa.LargeBinary, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("is_dir", sa.Boolean, nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("set_by", sa.Text, nullable=False),
        sa.Column("set_uid", sa.Integer, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("set_at", sa.Float, nullable=False),
        sa.Column("removed", sa.Float),
        sa.Column("removed_by", sa.Text),
    )
    op.create_index("ux_label_assignments_active", "label_assignments",
                    ["host", "path_key", "label"], unique=True,
                    sqlite_where=_ACTIVE, postgresql_where=_ACTIVE)
    op.create_index("ix_label_assignments_path_key", "label_assignments", ["path_key"])
    op.create_table(
        "label_history",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("path_key", sa.LargeBinary, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("allowed", sa.Boolean, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("actor_uid", sa.Integer),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
    )
    op.create_index("ix_label_history_path_key", "label_history", ["path_key"])
    op.create_index("ix_label_history_time", "label_history", ["time"])
    op.create_table(
        "label_matches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("path_key", sa.LargeBinary, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source_id", sa.Integer),
        sa.Column("source_path", sa.Text),
        sa.Column("share", sa.Float),
        sa.Column("rows", sa.Integer),
        sa.Column("score", sa.Float),
        sa.Column("found", sa.Float, nullable=False),
    )
    op.create_index("ux_label_matches", "label_matches",
                    ["host", "path_key", "label", "kind", "source_id"], unique=True)
    op.create_table(
        "fp_sources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("path_key", sa.LargeBinary, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("prints", sa.Integer, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("registered", sa.Float, nullable=False),
    )
    op.create_index("ux_fp_sources_path", "fp_sources", ["host", "path_key"], unique=True)
    op.create_index("ix_fp_sources_sha256", "fp_sources", ["sha256"])
    for name in ("fp_text", "fp_cells"):
        extra = [sa.Column("rows", sa.Integer, nullable=False)] if name == "fp_cells" else []
        op.create_table(
            name,
            sa.Column("print", sa.BigInteger, primary_key=True),
            sa.Column("source_id", sa.Integer,
                      sa.ForeignKey("fp_sources.id", ondelete="CASCADE"), primary_key=True),
            *extra,
            sqlite_with_rowid=False,
        )
        op.create_index(f"ix_{name}_source", name, ["source_id"])
    op.create_table(
        "fp_stop",
        sa.Column("print", sa.BigInteger, primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "dlpd_meta",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    for name in ("dlpd_meta", "fp_stop", "fp_cells", "fp_text", "fp_sources",
                 "label_matches", "label_history", "label_assignments"):
        op.drop_table(name)
