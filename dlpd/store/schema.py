"""Tables. Changes here need a migration in ``migrations/versions`` (alembic)."""

from __future__ import annotations

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    event,
    text,
)

metadata = MetaData()

files = Table(
    "files",
    metadata,
    Column("id", Integer, primary_key=True),
    # The host whose tree holds the file ([daemon] host, 0008): the cache is per host, so
    # two servers' /data/x are two rows, and one host's crawl never forgets another's.
    Column("host", Text, nullable=False),
    # The exact bytes of the path (store/paths.py): the key. `path` is its display form.
    Column("path_key", LargeBinary, nullable=False),
    Column("path", Text, nullable=False),
    Column("dev", BigInteger, nullable=False),
    Column("inode", BigInteger, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("mtime_ns", BigInteger, nullable=False),
    Column("ctime_ns", BigInteger, nullable=False),
    # True when mtime was within the clock granularity of the scan start: the next scan
    # must re-read it even if the stat key matches (git's "racy" entries).
    Column("racy", Boolean, nullable=False, default=False),
    Column("sha256", String(64)),
    Column("mime", Text),
    Column("outcome", String(16), nullable=False),
    Column("reason", Text),
    Column("labels", Text, nullable=False, default="[]"),  # JSON list
    Column("categories", Text, nullable=False, default="[]"),  # JSON list
    Column("last_scan", Float, nullable=False),  # unix time
    # Classifier.version: the rules plus limits, confidence floor and label map.
    Column("rules_version", String(32), nullable=False),
    # The cache's key, and its per-directory range queries (host = ? AND path_key in [a, b)).
    Index("ux_files_host_path", "host", "path_key", unique=True),
)

detections = Table(
    "detections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("file_id", Integer, ForeignKey("files.id", ondelete="CASCADE"), nullable=False),
    Column("rule", Text, nullable=False),
    Column("category", String(32), nullable=False),
    Column("confidence", String(8), nullable=False),
    Column("count", Integer, nullable=False),
    Column("member", Text),
    Column("previews", Text, nullable=False, default="[]"),  # JSON list, redacted only
    Column("reasons", Text, nullable=False, default="[]"),  # JSON list
    Index("ix_detections_file_id", "file_id"),
    Index("ix_detections_category", "category"),
)

scans = Table(
    "scans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("host", Text, nullable=False),  # who scanned (0008)
    Column("started", Float, nullable=False),
    Column("finished", Float),
    Column("roots", Text, nullable=False),  # JSON list
    Column("files", Integer, nullable=False, default=0),
    Column("read", Integer, nullable=False, default=0),
    Column("found", Integer, nullable=False, default=0),
    Column("errors", Integer, nullable=False, default=0),
    Column("rules_version", String(32), nullable=False),
)

# Partial unique index below: one active alert per (host, path bytes, sha256, label), held
# by the database so that daemons writing at once cannot raise the same one twice. A resolved alert
# leaves it, so the same content back in the wrong place later is a new alert; a
# false-positive stays in it, so the same content is not raised again.
ACTIVE_ALERT = "status != 'resolved'"

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created", Float, nullable=False),
    Column("updated", Float, nullable=False),
    Column("host", Text, nullable=False),
    Column("path_key", LargeBinary, nullable=False),
    Column("path", Text, nullable=False),  # display form of path_key
    Column("sha256", String(64), nullable=False),
    Column("label", Text, nullable=False),
    Column("labels", Text, nullable=False),  # JSON list
    Column("categories", Text, nullable=False),  # JSON list
    Column("rules", Text, nullable=False),  # JSON list
    Column("severity", String(8), nullable=False),
    Column("reason", Text, nullable=False),
    Column("provenance", Text),
    Column("status", String(16), nullable=False),
    Column("details", Text),  # JSON of AlertDetails; NULL for alerts older than 0004
    Column("kind", String(24), nullable=False, server_default="location"),  # AlertKind
    # Tells event alerts apart ("uid:1001 2026-12-07"); "" for the states.
    Column("subject", Text, nullable=False, server_default=""),
    Index("ux_alerts_active", "host", "path_key", "sha256", "label", "kind", "subject",
          unique=True,
          sqlite_where=text(ACTIVE_ALERT), postgresql_where=text(ACTIVE_ALERT)),
    Index("ix_alerts_status_created", "status", "created"),
    Index("ix_alerts_path_key", "path_key"),
)

alert_notes = Table(
    "alert_notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("alert_id", Integer, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("time", Float, nullable=False),
    Column("author", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("status", String(16)),  # the status this note set, if it changed it
    Index("ix_alert_notes_alert_id", "alert_id"),
)

# A false-positive decision: content (sha256) with a label is fine wherever it is. Taken
# once, from one alert, by one person with a reason; every active alert on that content
# and label is marked with it, and no new one is raised while it stands. Reopening lifts
# it (the row stays, as history).
UNLIFTED = "lifted IS NULL"

false_positives = Table(
    "false_positives",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("label", Text, nullable=False),
    Column("alert_id", Integer, ForeignKey("alerts.id"), nullable=False),  # where it began
    Column("created", Float, nullable=False),
    Column("author", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("lifted", Float),
    Column("lifted_by", Text),
    Index("ux_false_positives_standing", "sha256", "label", unique=True,
          sqlite_where=text(UNLIFTED), postgresql_where=text(UNLIFTED)),
)

# Transactional outbox: written with the alert, drained by one sender per sink on the
# alert's host. A sender claims rows (claimed_by, claim_until: a lease) before delivering
# them, so that two daemons of one host never send the same message, and a daemon killed
# mid-delivery leaves rows another claims once the lease runs out.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("host", Text, nullable=False),  # whose daemon delivers it (0008)
    Column("msg_id", Text, nullable=False),
    Column("sink", Text, nullable=False),
    Column("alert_id", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("created", Float, nullable=False),
    Column("body", Text, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt", Float, nullable=False),
    Column("last_error", Text),
    Column("delivered", Float),
    Column("claimed_by", Text),  # the claiming sender ("host pid thread"), until delivered
    Column("claim_until", Float),
    Index("ux_outbox_msg_sink", "msg_id", "sink", unique=True),
    Index("ix_outbox_due", "host", "sink", "delivered", "next_attempt"),
)

# Access log: repeats of (path, kind, actor) within the aggregation window are one row.
access = Table(
    "access",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("host", Text, nullable=False),  # where the access happened (0008)
    Column("path_key", LargeBinary, nullable=False),
    Column("path", Text, nullable=False),  # display form of path_key
    Column("kind", String(16), nullable=False),
    Column("src_path", Text),  # display form (a label of the event, not a key)
    Column("pid", Integer),
    Column("uid", Integer),
    Column("process", Text),  # the program's base name
    Column("labels", Text, nullable=False),  # JSON list
    Column("first", Float, nullable=False),
    Column("last", Float, nullable=False),
    Column("count", Integer, nullable=False),
    # The rest of the actor (fanotify; 0006): data from /proc, shown escaped.
    Column("user", Text),
    Column("gid", Integer),
    Column("ppid", Integer),
    Column("exe", Text),
    Column("cmdline", Text),
    Index("ix_access_path_key", "path_key"),
    Index("ix_access_last", "last"),
    Index("ix_access_uid_last", "uid", "last"),
)

Index("ix_files_sha256", files.c.sha256)

# -- Labels set by people (migration 0005) ------------------------------------------------
# A label put on a path (a file, or a directory: everything beneath it, present and
# future) by a person (`dlpd label set`, source "explicit") or a marker file (".dlpd-label",
# source "marker"). The system of record: one active row per (host, path, label); removal
# keeps the row (removed/removed_by) and the history says who and why.
LABEL_ACTIVE = "removed IS NULL"

label_assignments = Table(
    "label_assignments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("host", Text, nullable=False),
    Column("path_key", LargeBinary, nullable=False),
    Column("path", Text, nullable=False),  # display form of path_key
    Column("is_dir", Boolean, nullable=False),
    Column("label", Text, nullable=False),
    Column("source", String(16), nullable=False),  # explicit | marker
    Column("set_by", Text, nullable=False),  # user name at the time
    Column("set_uid", Integer, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("set_at", Float, nullable=False),
    Column("removed", Float),
    Column("removed_by", Text),
    Index("ux_label_assignments_active", "host", "path_key", "label", unique=True,
          sqlite_where=text(LABEL_ACTIVE), postgresql_where=text(LABEL_ACTIVE)),
    Index("ix_label_assignments_path_key", "path_key"),
)

# Every decision on a label, allowed or refused, in order; never updated or deleted.
label_history = Table(
    "label_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("time", Float, nullable=False),
    Column("host", Text, nullable=False),
    Column("path_key", LargeBinary, nullable=False),
    Column("path", Text, nullable=False),
    Column("label", Text, nullable=False),
    # set | remove | marker-set | marker-deleted | xattr | moved | refused
    Column("action", String(16), nullable=False),
    Column("allowed", Boolean, nullable=False),
    Column("actor", Text, nullable=False),
    Column("actor_uid", Integer),
    Column("note", Text, nullable=False, default=""),
    Column("reason", Text),  # why refused, or what else the decision rests on
    Index("ix_label_history_path_key", "path_key"),
    Index("ix_label_history_time", "time"),
)

# A label a file carries because of what it is, not where it is: a "copy" (same sha256 as
# a fingerprinted source), "derived" (shares text or table rows with one), or "xattr"
# (user.dlpd.labels on the file) or "moved" (kept from a labelled directory it left). One
# row per (host, path, label, source file); replaced when the file is read again.
label_matches = Table(
    "label_matches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("host", Text, nullable=False),
    Column("path_key", LargeBinary, nullable=False),
    Column("path", Text, nullable=False),
    Column("sha256", String(64)),
    Column("label", Text, nullable=False),
    Column("kind", String(16), nullable=False),  # copy | derived | xattr | moved
    Column("source_id", Integer),  # fp_sources.id for copy/derived
    Column("source_path", Text),  # display form, for people
    Column("share", Float),  # derived text: share of the source's prints found
    Column("rows", Integer),  # derived table: source rows found
    Column("score", Float),  # derived table: evidence (sum of log2(rows/df) of cells)
    Column("found", Float, nullable=False),
    Index("ux_label_matches", "host", "path_key", "label", "kind", "source_id", unique=True),
)

# -- Fingerprint index (migration 0005) ---------------------------------------------------
# A labelled file whose content is registered: its sha256 (exact copies), its text prints
# (winnowed hashes of normalised text) and its table cells (keyed hashes of canonical
# cells). Prints are integers in [0, 2**63): SQLite's INTEGER is signed 64-bit.
fp_sources = Table(
    "fp_sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("host", Text, nullable=False),
    Column("path_key", LargeBinary, nullable=False),
    Column("path", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("labels", Text, nullable=False),  # JSON list: the labels the source carries
    Column("origin", Text, nullable=False),  # JSON: per label, how it was set (who, when)
    Column("kind", String(8), nullable=False),  # text | table | binary
    Column("prints", Integer, nullable=False, default=0),  # text prints registered
    Column("rows", Integer, nullable=False, default=0),  # table rows registered
    Column("registered", Float, nullable=False),
    Index("ux_fp_sources_path", "host", "path_key", unique=True),
    Index("ix_fp_sources_sha256", "sha256"),
)

fp_text = Table(
    "fp_text",
    metadata,
    Column("print", BigInteger, primary_key=True),
    Column("source_id", Integer, ForeignKey("fp_sources.id", ondelete="CASCADE"),
           primary_key=True),
    Index("ix_fp_text_source", "source_id"),
    sqlite_with_rowid=False,
)

fp_cells = Table(
    "fp_cells",
    metadata,
    Column("print", BigInteger, primary_key=True),
    Column("source_id", Integer, ForeignKey("fp_sources.id", ondelete="CASCADE"),
           primary_key=True),
    Column("rows", Integer, nullable=False),  # rows of the source holding this cell
    Index("ix_fp_cells_source", "source_id"),
    sqlite_with_rowid=False,
)

# Prints that must not match: a known template's (a licence text, a lab's report form)
# or those common to many unrelated sources.
fp_stop = Table(
    "fp_stop",
    metadata,
    Column("print", BigInteger, primary_key=True),
    Column("kind", String(8), primary_key=True),  # text | cell
    Column("reason", Text, nullable=False),
    sqlite_with_rowid=False,
)

# Small values of this installation: the key of the keyed cell hashes (random, created
# on first use; a table, not a file, so every daemon of a fleet shares it).
dlpd_meta = Table(
    "dlpd_meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", LargeBinary, nullable=False),
)

# -- The review console (migration 0007) --------------------------------------------------
# The console's alert list pages newest first (id DESC) by keyset under any one filter:
# each (column, id) index serves "WHERE column = ? AND id < ? ORDER BY id DESC LIMIT n"
# without a sort. SQLite appends the rowid to every index already; PostgreSQL needs it
# named.
Index("ix_alerts_status_id", alerts.c.status, alerts.c.id)
Index("ix_alerts_label_id", alerts.c.label, alerts.c.id)
Index("ix_alerts_severity_id", alerts.c.severity, alerts.c.id)
Index("ix_alerts_host_id", alerts.c.host, alerts.c.id)
Index("ix_alerts_kind_id", alerts.c.kind, alerts.c.id)
Index("ix_alerts_created", alerts.c.created)
# The tab counts under a label (and severity) filter and the summary's open alerts by
# label and severity, from the index alone; a page filtered on all three, in id order.
Index("ix_alerts_status_label_severity", alerts.c.status, alerts.c.label, alerts.c.severity)
# A host's tab counts and its pages under a status (one host of a fleet may hold few of
# the alerts: walking the status index for them reads everyone else's).
Index("ix_alerts_host_status_id", alerts.c.host, alerts.c.status, alerts.c.id)
# The summary's top paths by open alerts: grouped in index order, no table reads.
Index("ix_alerts_status_path_key", alerts.c.status, alerts.c.path_key)
# The access log's user filter, in id order. Not one per kind: four kinds, each a large
# share of the rows, are found as fast walking the id order, and every index on this
# table costs the daemon's busiest insert.
Index("ix_access_user_id", access.c.user, access.c.id)

# Console accounts; the password is an argon2id hash (console/auth.py makes it).
console_users = Table(
    "console_users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # model.Role
    Column("password_hash", Text, nullable=False),
    Column("created", Float, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("disabled", Float),
    Column("password_changed", Float, nullable=False),
)

# The cookie holds a random token; only its sha256 is stored, so that a copy of the
# store (a backup) logs nobody in.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", LargeBinary, primary_key=True),
    Column("user_id", Integer, ForeignKey("console_users.id", ondelete="CASCADE"),
           nullable=False),
    Column("csrf", Text, nullable=False),
    Column("created", Float, nullable=False),
    Column("expires", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Index("ix_console_sessions_user_id", "user_id"),
    Index("ix_console_sessions_expires", "expires"),
)

# Who did what, when and why: append-only and hash-chained (store/audit.py). A row's
# prev_hash is the row before's hash; UNIQUE, so two rows can never follow the same one.
audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("time", Float, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(32), nullable=False),
    Column("target", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("details", Text, nullable=False),  # JSON object
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_actor_id", "actor", "id"),
    Index("ix_audit_target_id", "target", "id"),
)

# The database refuses to change or remove an audit row, whoever asks (a bug, or SQL by
# hand); migration 0007 creates the same triggers in a store it upgrades.
AUDIT_APPEND_ONLY = "audit is append-only"
AUDIT_TRIGGERS_SQLITE = (
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
    f"BEGIN SELECT RAISE(ABORT, '{AUDIT_APPEND_ONLY}'); END",
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
    f"BEGIN SELECT RAISE(ABORT, '{AUDIT_APPEND_ONLY}'); END",
)
AUDIT_TRIGGERS_POSTGRESQL = (
    "CREATE OR REPLACE FUNCTION dlpd_audit_append_only() RETURNS trigger "
    f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{AUDIT_APPEND_ONLY}'; END $$",
    "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit "
    "FOR EACH ROW EXECUTE FUNCTION dlpd_audit_append_only()",
    "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION dlpd_audit_append_only()",
)
# (SQLAlchemy's DDL() carries no type annotations.)
for _statement in AUDIT_TRIGGERS_SQLITE:
    event.listen(audit, "after_create",
                 DDL(_statement).execute_if(dialect="sqlite"))  # type: ignore[no-untyped-call]
for _statement in AUDIT_TRIGGERS_POSTGRESQL:
    event.listen(audit, "after_create",
                 DDL(_statement).execute_if(dialect="postgresql"))  # type: ignore[no-untyped-call]

# Suppression rules (policy/suppress.py): alerts matching (label, path prefix, rule) are
# not raised until the rule expires or is revoked; what each one held back is counted
# in suppression_hits, one row per alert it would have raised.
suppressions = Table(
    "suppressions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("label", Text, nullable=False),
    Column("path_key", LargeBinary, nullable=False),  # the prefix's bytes
    Column("path", Text, nullable=False),  # its display form
    Column("rule", Text),  # a signature rule id; NULL = any
    Column("owner", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created", Float, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("expires", Float, nullable=False),
    Column("revoked", Float),
    Column("revoked_by", Text),
)

suppression_hits = Table(
    "suppression_hits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("suppression_id", Integer, ForeignKey("suppressions.id", ondelete="CASCADE"),
           nullable=False),
    Column("path_key", LargeBinary, nullable=False),
    Column("path", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("label", Text, nullable=False),
    Column("kind", String(24), nullable=False),  # AlertKind
    Column("first", Float, nullable=False),
    Column("last", Float, nullable=False),
    Column("count", Integer, nullable=False),
    Index("ux_suppression_hits", "suppression_id", "path_key", "sha256", "label", "kind",
          unique=True),
    Index("ix_suppression_hits_last", "suppression_id", "last"),
)
