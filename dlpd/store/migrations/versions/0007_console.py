"""The review console: accounts and sessions, the audit trail, suppression rules, and the
indexes its alert and access lists page by.

``audit`` is append-only: triggers refuse UPDATE and DELETE (and TRUNCATE on
PostgreSQL), the same ones ``schema.py`` creates in a new store. Their SQL is copied
here, not imported, so that this revision keeps building what it built.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_REFUSAL = "audit is append-only"
_SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
    f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END",
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
    f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END",
)
_POSTGRESQL_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION dlpd_audit_append_only() RETURNS trigger "
    f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{_REFUSAL}'; END $$",
    "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit "
    "FOR EACH ROW EXECUTE FUNCTION dlpd_audit_append_only()",
    "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION dlpd_audit_append_only()",
)

_INDEXES = (
    ("ix_alerts_status_id", "alerts", ["status", "id"]),
    ("ix_alerts_label_id", "alerts", ["label", "id"]),
    ("ix_alerts_severity_id", "alerts", ["severity", "id"]),
    ("ix_alerts_host_id", "alerts", ["host", "id"]),
    ("ix_alerts_kind_id", "alerts", ["kind", "id"]),
    ("ix_alerts_created", "alerts", ["created"]),
    ("ix_alerts_status_label_severity", "alerts", ["status", "label", "severity"]),
    ("ix_alerts_status_path_key", "alerts", ["status", "path_key"]),
    ("ix_alerts_host_status_id", "alerts", ["host", "status", "id"]),
    ("ix_access_user_id", "access", ["user", "id"]),
)


def upgrade() -> None:
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)
    op.create_table(
        "console_users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("disabled", sa.Float),
        sa.Column("password_changed", sa.Float, nullable=False),
    )
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.LargeBinary, primary_key=True),
        sa.Column("user_id", sa.Integer,
                  sa.ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("csrf", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("expires", sa.Float, nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
    )
    op.create_index("ix_console_sessions_user_id", "console_sessions", ["user_id"])
    op.create_index("ix_console_sessions_expires", "console_sessions", ["expires"])
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_actor_id", "audit", ["actor", "id"])
    op.create_index("ix_audit_target_id", "audit", ["target", "id"])
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": _SQLITE_TRIGGERS,
                      "postgresql": _POSTGRESQL_TRIGGERS}.get(dialect, ()):
        op.execute(statement)
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("path_key", sa.LargeBinary, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("rule", sa.Text),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("expires", sa.Float, nullable=False),
        sa.Column("revoked", sa.Float),
        sa.Column("revoked_by", sa.Text),
    )
    op.create_table(
        "suppression_hits",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("suppression_id", sa.Integer,
                  sa.ForeignKey("suppressions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("path_key", sa.LargeBinary, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("first", sa.Float, nullable=False),
        sa.Column("last", sa.Float, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_index("ux_suppression_hits", "suppression_hits",
                    ["suppression_id", "path_key", "sha256", "label", "kind"], unique=True)
    op.create_index("ix_suppression_hits_last", "suppression_hits", ["suppression_id", "last"])


def downgrade() -> None:
    op.drop_table("suppression_hits")
    op.drop_table("suppressions")
    op.drop_table("audit")  # its triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS dlpd_audit_append_only()")
    op.drop_table("console_sessions")
    op.drop_table("console_users")
    for name, table, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
