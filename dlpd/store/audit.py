"""The audit trail: who did what to which alert, account or rule, when and why.

Append-only twice over: the database refuses UPDATE and DELETE on ``audit`` (triggers,
schema.py and migration 0007), and each row carries a hash over its own contents and the
row before's hash, so ``verify`` finds a row changed or removed by someone who first
dropped the triggers. ``prev_hash`` is UNIQUE: two writers that both read the same last
row cannot both append after it (the second fails and its transaction rolls back).
What the chain cannot show is the newest rows cut off the end; an export of the head
hash kept elsewhere (a SIEM) anchors it.

hash = sha256 hex of ``prev_hash + "\\n" + canonical JSON`` of (id, time as repr, actor,
action, target, reason, details), keys sorted, ASCII; the first row's prev_hash is 64
zeros.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select

from dlpd.store.schema import audit

GENESIS = "0" * 64
_CHUNK = 1000  # rows per query while verifying: memory stays bounded on any trail

# What the console and the CLI record (the column is free text; these are the names used).
ACTIONS = ("login", "login-failed", "logout", "ack", "resolve", "false-positive", "reopen",
           "suppress-add", "suppress-revoke", "user-add", "user-disable", "user-role",
           "user-password", "export")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    time: float
    actor: str
    action: str
    target: str
    reason: str
    details: dict[str, object]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainCheck:
    ok: bool
    entries: int  # rows read (up to and including the first bad one)
    first_bad: int | None  # its id
    problem: str | None  # what is wrong with it, for people


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)


def _digest(prev_hash: str, *, id: int, time: float, actor: str, action: str,
            target: str, reason: str, details: Mapping[str, object]) -> str:
    body = _canonical({"id": id, "time": repr(float(time)), "actor": actor, "action": action,
                       "target": target, "reason": reason, "details": details})
    return hashlib.sha256(f"{prev_hash}\n{body}".encode("ascii")).hexdigest()


def _entry(r: RowMapping) -> AuditEntry:
    return AuditEntry(id=int(r["id"]), time=float(r["time"]), actor=str(r["actor"]),
                      action=str(r["action"]), target=str(r["target"]),
                      reason=str(r["reason"]), details=json.loads(str(r["details"])),
                      prev_hash=str(r["prev_hash"]), hash=str(r["hash"]))


def append(conn: Connection, *, actor: str, action: str, target: str, reason: str,
           details: Mapping[str, object], now: float) -> AuditEntry:
    """Add a row after the newest one. ``details`` must be JSON (``TypeError``/
    ``ValueError`` otherwise), and is stored and hashed as it reads back."""
    stored = _canonical(dict(details))
    decoded: dict[str, Any] = json.loads(stored)
    last = conn.execute(select(audit.c.id, audit.c.hash).order_by(audit.c.id.desc())
                        .limit(1)).first()
    new_id, prev = (1, GENESIS) if last is None else (int(last.id) + 1, str(last.hash))
    digest = _digest(prev, id=new_id, time=now, actor=actor, action=action, target=target,
                     reason=reason, details=decoded)
    # The id is set here, not by the database: it is part of what the hash covers.
    conn.execute(insert(audit).values(id=new_id, time=now, actor=actor, action=action,
                                      target=target, reason=reason, details=stored,
                                      prev_hash=prev, hash=digest))
    return AuditEntry(id=new_id, time=float(now), actor=actor, action=action, target=target,
                      reason=reason, details=decoded, prev_hash=prev, hash=digest)


def entries(conn: Connection, *, before_id: int | None = None, limit: int = 100,
            actor: str | None = None, target: str | None = None) -> list[AuditEntry]:
    """Newest first, below ``before_id`` (keyset paging)."""
    stmt = select(audit).order_by(audit.c.id.desc()).limit(limit)
    if before_id is not None:
        stmt = stmt.where(audit.c.id < before_id)
    if actor is not None:
        stmt = stmt.where(audit.c.actor == actor)
    if target is not None:
        stmt = stmt.where(audit.c.target == target)
    return [_entry(r) for r in conn.execute(stmt).mappings()]


def verify(conn: Connection) -> ChainCheck:
    """Walk the chain from its first row: each row must follow the one before (its id,
    its prev_hash) and hash to what it says."""
    prev_hash, prev_id, seen = GENESIS, 0, 0
    while rows := conn.execute(select(audit).where(audit.c.id > prev_id)
                               .order_by(audit.c.id).limit(_CHUNK)).mappings().all():
        for r in rows:
            seen += 1
            entry = _entry(r)
            problem = None
            if entry.id != prev_id + 1:
                problem = (f"row {entry.id} follows row {prev_id}: "
                           f"{entry.id - prev_id - 1} row(s) missing")
            elif entry.prev_hash != prev_hash:
                problem = f"row {entry.id} does not continue the chain from row {prev_id}"
            elif entry.hash != _digest(entry.prev_hash, id=entry.id, time=entry.time,
                                       actor=entry.actor, action=entry.action,
                                       target=entry.target, reason=entry.reason,
                                       details=entry.details):
                problem = f"row {entry.id} was changed after it was written"
            if problem is not None:
                return ChainCheck(ok=False, entries=seen, first_bad=entry.id, problem=problem)
            prev_hash, prev_id = entry.hash, entry.id
    return ChainCheck(ok=True, entries=seen, first_bad=None, problem=None)
