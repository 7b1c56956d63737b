"""Accounts: password hashing, login with lock-out, and user management.

Passwords are hashed with Argon2id (memory-hard); the clear text is never stored or
logged. Five wrong passwords in a row lock an account for fifteen minutes.
"""

from __future__ import annotations

import datetime as dt

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .db import Registry
from .errors import NotFound, ValidationFailed, WorkbenchError
from .models import Actor, Role, User, now_iso, utcnow
from .permissions import require

MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)
MIN_PASSWORD = 8

BAD_LOGIN = "auth.bad_login"
LOCKED = "auth.locked"
WEAK_PASSWORD = "auth.weak_password"
USER_EXISTS = "auth.user_exists"
BAD_USERNAME = "auth.bad_username"
VENDOR_NEEDS_ORG = "auth.vendor_needs_org"

# Modest parameters keep a login under ~50 ms on the 2-core machine while staying memory-hard.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


class AuthError(WorkbenchError):
    """Login refused."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _user(row: dict) -> User:
    return User(id=row["id"], username=row["username"], display_name=row["display_name"],
                role=Role(row["role"]), org_id=row["org_id"], active=bool(row["active"]),
                created_at=row["created_at"])


def create_user(reg: Registry, actor: Actor, *, username: str, password: str, role: Role | str,
                display_name: str = "", org_id: int | None = None) -> User:
    """Add an account. Only an admin may (``actor=SYSTEM`` for ``init`` and the CLI)."""
    require(actor, "users.manage")
    role = Role(role)
    problems = []
    username = (username or "").strip()
    if not (3 <= len(username) <= 64) or not all(c.isalnum() or c in "._-@" for c in username):
        problems.append(WorkbenchError(BAD_USERNAME))
    if len(password or "") < MIN_PASSWORD:
        problems.append(WorkbenchError(WEAK_PASSWORD, min=MIN_PASSWORD))
    if role is Role.PUBLIC:
        problems.append(WorkbenchError(BAD_USERNAME))
    if role is Role.VENDOR and org_id is None:
        problems.append(WorkbenchError(VENDOR_NEEDS_ORG))
    if reg.one("SELECT id FROM users WHERE username = ?", (username,)):
        problems.append(WorkbenchError(USER_EXISTS, username=username))
    if problems:
        raise ValidationFailed("auth.user_invalid", problems=problems)
    with reg.transaction():
        user_id = reg.insert("users", {
            "username": username, "display_name": display_name or username, "role": role.value,
            "org_id": org_id, "password_hash": hash_password(password), "created_at": now_iso(),
        })
        reg.record(actor, "user.created", "user", user_id, {"username": username, "role": role.value})
    return get_user(reg, user_id)


def get_user(reg: Registry, user_id: int) -> User:
    row = reg.one("SELECT * FROM users WHERE id = ?", (user_id,))
    if row is None:
        raise NotFound("auth.no_user")
    return _user(row)


def list_users(reg: Registry, actor: Actor) -> list[User]:
    require(actor, "users.manage")
    return [_user(r) for r in reg.query("SELECT * FROM users ORDER BY role, username")]


def set_active(reg: Registry, actor: Actor, user_id: int, active: bool) -> User:
    require(actor, "users.manage")
    with reg.transaction():
        reg.update("users", user_id, {"active": int(active), "failed_logins": 0, "locked_until": None})
        reg.record(actor, "user.activated" if active else "user.deactivated", "user", user_id)
    return get_user(reg, user_id)


def reset_password(reg: Registry, actor: Actor, user_id: int, password: str) -> None:
    require(actor, "users.manage")
    if len(password or "") < MIN_PASSWORD:
        raise ValidationFailed("auth.user_invalid", problems=[WorkbenchError(WEAK_PASSWORD, min=MIN_PASSWORD)])
    with reg.transaction():
        reg.update("users", user_id, {"password_hash": hash_password(password), "failed_logins": 0,
                                      "locked_until": None})
        reg.record(actor, "user.password_reset", "user", user_id)


def login(reg: Registry, username: str, password: str, *, now: dt.datetime | None = None) -> Actor:
    """Check a password and return the acting user.

    Raises ``AuthError(LOCKED, until=...)`` while an account is locked, even for the right
    password, and ``AuthError(BAD_LOGIN)`` for an unknown user or a wrong password (the
    same message, so the form does not reveal which accounts exist).
    """
    now = now or utcnow()
    row = reg.one("SELECT * FROM users WHERE username = ? AND active = 1", ((username or "").strip(),))
    if row is None:
        check_password(_DUMMY_HASH, password or "")  # same time as a real check
        raise AuthError(BAD_LOGIN)
    if row["locked_until"] and dt.datetime.fromisoformat(row["locked_until"]) > now:
        until = dt.datetime.fromisoformat(row["locked_until"])
        raise AuthError(LOCKED, until=until.strftime("%H:%M"), minutes=_minutes_left(until, now))
    if not check_password(row["password_hash"], password or ""):
        failures = row["failed_logins"] + 1
        with reg.transaction():
            if failures >= MAX_FAILURES:
                until = now + LOCKOUT
                reg.update("users", row["id"], {"failed_logins": 0, "locked_until": until.isoformat()})
                reg.record(f"user:{row['username']}", "auth.locked", "user", row["id"], {"until": until.isoformat()})
            else:
                reg.update("users", row["id"], {"failed_logins": failures})
        if failures >= MAX_FAILURES:
            raise AuthError(LOCKED, until=(now + LOCKOUT).strftime("%H:%M"), minutes=_minutes_left(now + LOCKOUT, now))
        raise AuthError(BAD_LOGIN)
    if row["failed_logins"] or row["locked_until"]:
        reg.update("users", row["id"], {"failed_logins": 0, "locked_until": None})
    return _user(row).as_actor()


def _minutes_left(until: dt.datetime, now: dt.datetime) -> int:
    return max(1, int((until - now).total_seconds() // 60) + (1 if (until - now).total_seconds() % 60 else 0))


_DUMMY_HASH = hash_password("not-a-real-password-used-for-timing")
