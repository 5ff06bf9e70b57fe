"""Tables. Changes here need a migration in ``migrations/versions`` (alembic)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

files = Table(
    "files",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("path", Text, nullable=False, unique=True),
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
    Column("started", Float, nullable=False),
    Column("finished", Float),
    Column("roots", Text, nullable=False),  # JSON list
    Column("files", Integer, nullable=False, default=0),
    Column("read", Integer, nullable=False, default=0),
    Column("found", Integer, nullable=False, default=0),
    Column("errors", Integer, nullable=False, default=0),
    Column("rules_version", String(32), nullable=False),
)
