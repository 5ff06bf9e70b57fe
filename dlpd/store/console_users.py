"""Console accounts and their sessions.

A password arrives here already hashed (argon2id, ``console/auth.py``): the store never
sees one. A session is found by the sha256 of the cookie's random token, so the table
alone (a backup, a copy) opens no session.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, RowMapping, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from dlpd.errors import StoreError
from dlpd.model import Role
from dlpd.store.schema import console_sessions, console_users


class DuplicateUser(StoreError):
    """An account with that name exists already (disabled ones too: a name is never
    reused, so the audit trail's actors stay unambiguous)."""


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    id: int
    name: str
    role: Role
    created: float
    created_by: str
    disabled: float | None
    password_changed: float


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    token_hash: bytes
    user: ConsoleUser
    csrf: str
    created: float
    expires: float
    last_seen: float


_USER_COLUMNS = (console_users.c.id, console_users.c.name, console_users.c.role,
                 console_users.c.created, console_users.c.created_by,
                 console_users.c.disabled, console_users.c.password_changed)


def _user(r: RowMapping) -> ConsoleUser:
    return ConsoleUser(id=int(r["id"]), name=str(r["name"]), role=Role(str(r["role"])),
                       created=float(r["created"]), created_by=str(r["created_by"]),
                       disabled=None if r["disabled"] is None else float(r["disabled"]),
                       password_changed=float(r["password_changed"]))


def add_user(conn: Connection, *, name: str, role: Role, password_hash: str, created_by: str,
             now: float) -> ConsoleUser:
    """A new account; ``DuplicateUser`` if the name is taken."""
    if conn.execute(select(console_users.c.id).where(console_users.c.name == name)).first():
        raise DuplicateUser(f"a console user named {name!r} exists already")
    try:
        new_id = conn.execute(insert(console_users).values(
            name=name, role=role.value, password_hash=password_hash, created=now,
            created_by=created_by, disabled=None, password_changed=now)
            .returning(console_users.c.id)).scalar_one()
    except IntegrityError:  # added by someone else since the check above
        raise DuplicateUser(f"a console user named {name!r} exists already") from None
    return ConsoleUser(id=int(new_id), name=name, role=role, created=now,
                       created_by=created_by, disabled=None, password_changed=now)


def get_user(conn: Connection, name: str) -> tuple[ConsoleUser, str] | None:
    """The account and its stored password hash; disabled accounts too (the caller
    refuses them, and says nothing different to the person logging in)."""
    row = conn.execute(select(*_USER_COLUMNS, console_users.c.password_hash)
                       .where(console_users.c.name == name)).mappings().first()
    return None if row is None else (_user(row), str(row["password_hash"]))


def set_password(conn: Connection, name: str, password_hash: str, now: float) -> bool:
    """New hash; the account's other sessions end (a changed password is often a
    suspected one). False when there is no such account."""
    found = conn.execute(update(console_users).where(console_users.c.name == name)
                         .values(password_hash=password_hash, password_changed=now)
                         .returning(console_users.c.id)).scalar()
    if found is None:
        return False
    conn.execute(delete(console_sessions).where(console_sessions.c.user_id == found))
    return True


def set_role(conn: Connection, name: str, role: Role) -> bool:
    found = conn.execute(update(console_users).where(console_users.c.name == name)
                         .values(role=role.value).returning(console_users.c.id)).scalar()
    return found is not None


def disable_user(conn: Connection, name: str, now: float) -> bool:
    """Disable the account and end its sessions; False when there is no such account or
    it is disabled already (the first time stays the one recorded)."""
    found = conn.execute(update(console_users).where(
        console_users.c.name == name, console_users.c.disabled.is_(None))
        .values(disabled=now).returning(console_users.c.id)).scalar()
    if found is None:
        return False
    conn.execute(delete(console_sessions).where(console_sessions.c.user_id == found))
    return True


def list_users(conn: Connection) -> list[ConsoleUser]:
    return [_user(r) for r in conn.execute(select(*_USER_COLUMNS)
                                           .order_by(console_users.c.name)).mappings()]


def create_session(conn: Connection, *, token_hash: bytes, user_id: int, csrf: str,
                   now: float, expires: float) -> None:
    """``expires``: the session's hard end (session_max); idleness is the caller's
    check against ``last_seen``."""
    conn.execute(insert(console_sessions).values(
        token_hash=token_hash, user_id=user_id, csrf=csrf, created=now, expires=expires,
        last_seen=now))


def get_session(conn: Connection, token_hash: bytes, now: float) -> ConsoleSession | None:
    """The live session, with its account as it is now (a role changed since login
    applies at once); None when unknown, expired or its account disabled."""
    s = console_sessions.c
    row = conn.execute(
        select(s.token_hash, s.csrf, s.created.label("s_created"), s.expires, s.last_seen,
               *_USER_COLUMNS)
        .join(console_users, console_users.c.id == console_sessions.c.user_id)
        .where(console_sessions.c.token_hash == token_hash,
               console_sessions.c.expires > now, console_users.c.disabled.is_(None))
    ).mappings().first()
    if row is None:
        return None
    return ConsoleSession(token_hash=bytes(row["token_hash"]), user=_user(row),
                          csrf=str(row["csrf"]), created=float(row["s_created"]),
                          expires=float(row["expires"]), last_seen=float(row["last_seen"]))


def touch_session(conn: Connection, token_hash: bytes, now: float) -> None:
    conn.execute(update(console_sessions).where(console_sessions.c.token_hash == token_hash)
                 .values(last_seen=now))


def delete_session(conn: Connection, token_hash: bytes) -> None:
    conn.execute(delete(console_sessions).where(console_sessions.c.token_hash == token_hash))


def purge_sessions(conn: Connection, now: float) -> int:
    """Remove sessions past their hard end; how many."""
    return conn.execute(delete(console_sessions)
                        .where(console_sessions.c.expires <= now)).rowcount
