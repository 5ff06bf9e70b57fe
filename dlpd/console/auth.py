"""Accounts and sessions: argon2id passwords, the login throttle, store-backed sessions.

The only importer of argon2. Passwords are hashed with argon2-cffi's ``PasswordHasher``
defaults (argon2id, RFC 9106's low-memory profile) and re-hashed at the next login when
those defaults change. An unknown name is verified against a dummy hash, so a wrong name
costs what a wrong password does (no account enumeration by timing).

Session cookies hold a random token; the store keeps only its sha256, so a copy of the
database opens no session. A session ends after ``session_idle`` without a request and
after ``session_max`` in all, and at logout (deleted from the store).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import deque
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from dlpd.model import Role
from dlpd.store import audit
from dlpd.store import console_users as users_repo
from dlpd.store.console_users import ConsoleSession, ConsoleUser
from dlpd.store.db import Engine, transaction

MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 reads all of it; a megabyte "password" is a CPU attack
MAX_NAME = 64
# A session's last_seen is written at most this often: not one write per page view.
TOUCH_EVERY = 60.0
# argon2id's defaults take 64 MiB and ~50 ms per check: a flood of logins, each on a
# thread of the pool, would take memory by the gigabyte. Checks wait their turn instead.
_VERIFYING = threading.BoundedSemaphore(2)


def password_problem(password: str) -> str | None:
    """Why ``password`` cannot be an account's password, or None."""
    if len(password) < MIN_PASSWORD:
        return f"a password needs at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"a password has at most {MAX_PASSWORD} characters"
    return None


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an account name (it is shown, logged and audited)."""
    if not name or len(name) > MAX_NAME:
        return f"an account name has 1 to {MAX_NAME} characters"
    if not all(c.isalnum() or c in "._-@" for c in name) or name[0] in ".-":
        return "an account name is letters, digits and . _ - @ (not first: . or -)"
    return None


def hash_password(password: str) -> str:
    return _hasher().hash(password)


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    rehash: str | None = None  # a new hash to store: the parameters have changed


def verify_password(stored: str | None, password: str) -> Verdict:
    """``password`` against ``stored`` (None: no such account, checked against a dummy
    hash all the same)."""
    if len(password) > MAX_PASSWORD:
        return Verdict(ok=False)
    hasher = _hasher()
    try:
        with _VERIFYING:
            hasher.verify(stored or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return Verdict(ok=False)
    if stored is None:
        return Verdict(ok=False)
    return Verdict(ok=True, rehash=(hasher.hash(password)
                                    if hasher.check_needs_rehash(stored) else None))


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_urlsafe(16))


def new_token() -> str:
    """32 random bytes, URL-safe base64: a session cookie or a CSRF token."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class LoginThrottle:
    """Failed logins per account name and per client address, in memory: after
    ``max_failures`` within ``window`` seconds, further attempts for that name or from that
    address are refused (even with the right password) until the oldest failure leaves
    the window. Bounded: at most ``max_keys`` names and addresses are remembered (a
    flood of made-up names forgets the oldest, never grows memory)."""

    def __init__(self, max_failures: int, window: float, *, max_keys: int = 10_000) -> None:
        self.max_failures = max_failures
        self.window = window
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        # Per key, the failure that began its current lock: a flood of refused attempts
        # is one audit row per lock, not one per attempt.
        self._locks_told: dict[str, float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(name: str, address: str) -> tuple[str, ...]:
        # No address on a Unix socket (behind a proxy, every client is the proxy):
        # counting it would let one guesser lock everyone out. The name still counts.
        return ("name:" + name.casefold(),) + (("addr:" + address,) if address else ())

    def retry_after(self, name: str, address: str, now: float) -> float | None:
        """Seconds until an attempt for ``name`` from ``address`` is heard; None: now."""
        waits = []
        with self._lock:
            for key in self._keys(name, address):
                times = self._recent(key, now)
                if len(times) >= self.max_failures:
                    waits.append(times[-self.max_failures] + self.window - now)
        return max(waits) if waits else None

    def is_new_lock(self, name: str, address: str, now: float) -> bool:
        """Whether this refused attempt is the first since its lock began (worth an
        audit row); later ones in the same lock are not."""
        new = False
        with self._lock:
            for key in self._keys(name, address):
                times = self._recent(key, now)
                if len(times) < self.max_failures:
                    continue
                began = times[-self.max_failures]
                if self._locks_told.get(key) != began:
                    self._locks_told[key] = began
                    new = True
            while len(self._locks_told) > self.max_keys:
                del self._locks_told[next(iter(self._locks_told))]
        return new

    def failed(self, name: str, address: str, now: float) -> None:
        with self._lock:
            for key in self._keys(name, address):
                times = self._recent(key, now)
                times.append(now)
                self._failures[key] = times
                while len(times) > self.max_failures:
                    times.popleft()
            while len(self._failures) > self.max_keys:
                del self._failures[next(iter(self._failures))]

    def succeeded(self, name: str) -> None:
        """A right password for ``name``: its failures are forgotten (its address's are
        not: one good account does not clear a guessing address)."""
        with self._lock:
            self._failures.pop(self._keys(name, "")[0], None)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.pop(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if times:
            self._failures[key] = times  # re-inserted: the dict stays oldest-used first
        return times


@dataclass(frozen=True, slots=True)
class LoginResult:
    user: ConsoleUser | None = None
    token: str | None = None  # the new session's cookie value
    retry_after: float | None = None  # throttled: seconds to wait


class Accounts:
    """Logins and sessions over the store, with the settings' limits."""

    def __init__(self, engine: Engine, *, idle: float, max_age: float,
                 throttle: LoginThrottle) -> None:
        self.engine = engine
        self.idle = idle
        self.max_age = max_age
        self.throttle = throttle

    def login(self, name: str, password: str, address: str, now: float) -> LoginResult:
        """Check a login; a success starts a session. Audited either way (the name tried
        is data: kept as typed, escaped where shown)."""
        source = f"from {address or 'the Unix socket'}"
        wait = self.throttle.retry_after(name, address, now)
        if wait is not None:
            if self.throttle.is_new_lock(name, address, now):
                self._audit("login-failed", name,
                            f"throttled ({source}); further attempts in this lock are "
                            "refused without an audit row", now)
            return LoginResult(retry_after=wait)
        with transaction(self.engine) as conn:
            found = users_repo.get_user(conn, name)
        user, stored = found if found is not None else (None, None)
        verdict = verify_password(stored, password)
        if user is None or not verdict.ok or user.disabled is not None:
            self.throttle.failed(name, address, now)
            self._audit("login-failed", name, f"wrong name or password ({source})", now)
            return LoginResult()
        self.throttle.succeeded(name)
        token = new_token()
        with transaction(self.engine) as conn:
            if verdict.rehash is not None:
                users_repo.set_password(conn, user.name, verdict.rehash, now)
            users_repo.create_session(conn, token_hash=token_hash(token), user_id=user.id,
                                      csrf=new_token(), now=now, expires=now + self.max_age)
            audit.append(conn, actor=user.name, action="login", target=user.name,
                         reason="", details={"address": address}, now=now)
        return LoginResult(user=user, token=token)

    def session(self, token: str | None, now: float) -> ConsoleSession | None:
        """The live session behind a cookie value; an idle one is ended here."""
        if not token or len(token) > 100:
            return None
        digest = token_hash(token)
        with transaction(self.engine) as conn:
            found = users_repo.get_session(conn, digest, now)
            if found is None:
                return None
            if now - found.last_seen > self.idle:
                users_repo.delete_session(conn, digest)
                return None
            if now - found.last_seen > TOUCH_EVERY:
                users_repo.touch_session(conn, digest, now)
        return found

    def logout(self, session: ConsoleSession, now: float) -> None:
        with transaction(self.engine) as conn:
            users_repo.delete_session(conn, session.token_hash)
            audit.append(conn, actor=session.user.name, action="logout",
                         target=session.user.name, reason="", details={}, now=now)

    def _audit(self, action: str, target: str, reason: str, now: float) -> None:
        with transaction(self.engine) as conn:
            audit.append(conn, actor="-", action=action, target=target, reason=reason,
                         details={}, now=now)


def role_allows(user: ConsoleUser, needed: Role) -> bool:
    return user.disabled is None and user.role.allows(needed)
