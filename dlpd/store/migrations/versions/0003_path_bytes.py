"""Paths keyed by their exact bytes: ``path_key`` (BLOB) beside the display ``path``.

The display form (``\\xNN`` for bytes that are not UTF-8) cannot be turned back into the
real name, so it can no longer be a key. ``files`` and ``detections`` are a cache: they are
rebuilt (the next scan reads every file once). Alerts and access rows keep their history;
their key is the display form's UTF-8 bytes, exact for every name that was valid UTF-8. An
alert on a name that was not is resolved by the next reconciliation ("no longer present")
and raised again under its real key.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("status != 'resolved'")


def _utf8_bytes(column: str) -> str:
    if op.get_bind().dialect.name == "postgresql":
        return f"convert_to({column}, 'UTF8')"
    return f"CAST({column} AS BLOB)"


def _files_tables() -> None:
    op.create_table(
        "files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("path_key", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("path", sa.Text, nullable=False),
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
        sa.Column("file_id", sa.Integer, sa.ForeignKey("files.id", ondelete="CASCADE"),
                  nullable=False),
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
    op.create_index("ix_files_sha256", "files", ["sha256"])


def _add_key(table: str) -> None:
    op.add_column(table, sa.Column("path_key", sa.LargeBinary, nullable=True))
    op.execute(f"UPDATE {table} SET path_key = {_utf8_bytes('path')}")  # noqa: S608
    with op.batch_alter_table(table) as batch:
        batch.alter_column("path_key", existing_type=sa.LargeBinary, nullable=False)


def upgrade() -> None:
    op.drop_index("ix_files_sha256", "files")
    op.drop_index("ix_detections_category", "detections")
    op.drop_index("ix_detections_file_id", "detections")
    op.drop_table("detections")
    op.drop_table("files")
    _files_tables()

    op.drop_index("ux_alerts_active", "alerts")
    op.drop_index("ix_alerts_path", "alerts")
    op.drop_index("ix_alerts_status_created", "alerts")
    _add_key("alerts")
    op.create_index("ux_alerts_active", "alerts", ["path_key", "sha256", "label"], unique=True,
                    sqlite_where=_ACTIVE, postgresql_where=_ACTIVE)
    op.create_index("ix_alerts_status_created", "alerts", ["status", "created"])
    op.create_index("ix_alerts_path_key", "alerts", ["path_key"])

    op.drop_index("ix_access_path", "access")
    op.drop_index("ix_access_last", "access")
    _add_key("access")
    op.create_index("ix_access_path_key", "access", ["path_key"])
    op.create_index("ix_access_last", "access", ["last"])


def downgrade() -> None:
    raise NotImplementedError("0003 is not reversible: display paths cannot become keys")
