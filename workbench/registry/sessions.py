"""Staff sessions that survive a reload: a server-side table and a signed cookie.

Signing in (``workbench.web.signin``) creates a row in ``sessions`` and hands the browser a
cookie ``<token>.<hmac>``: the token is 32 random bytes, the row's id is its SHA-256 (a
stolen database copy holds no usable cookie), and the HMAC under the home's session key
lets a forged or truncated cookie be refused before any lookup. The Streamlit script
resolves the cookie on every run, so a session revoked by logout or by an admin, an
account deactivated, an absolute expiry (12 h) or an idle timeout (30 min) takes effect
at the person's next click.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from .db import Registry
from .models import Actor, utcnow
from .permissions import require

COOKIE_NAME = "wb_session"
LIFETIME = dt.timedelta(hours=float(os.environ.get("WORKBENCH_SESSION_HOURS", 12)))
IDLE_TIMEOUT = dt.timedelta(minutes=float(os.environ.get("WORKBENCH_SESSION_IDLE_MINUTES", 30)))
#: ``last_seen`` is written at most this often (one write per click would be wasteful).
TOUCH_EVERY = dt.timedelta(seconds=30)
KEY_FILE = "session-cookie.key"

REASON_LOGOUT = "logout"
REASON_ADMIN = "admin"
REASON_DEACTIVATED = "deactivated"
REASON_PASSWORD = "password_changed"


REVOKED = "daily.sessions.gone"


@dataclass(frozen=True)
class SessionInfo:
    id_prefix: str
    user_id: int
    username: str
    created_at: str
    last_seen: str
    expires_at: str
    id: str = ""            # the row's id (the token's SHA-256: no usable cookie)
    display_name: str = ""
    role: str = ""
    address: str = ""       # the address the person signed in from
    user_agent: str = ""


def session_key(home_root: str | Path) -> bytes:
    """The home's HMAC key for session cookies, created (mode 0600) on first use."""
    path = Path(home_root) / "keys" / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_bytes(32))
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    return path.read_bytes()


def _mac(token: str, key: bytes) -> str:
    return hmac.new(key, token.encode("ascii"), hashlib.sha256).hexdigest()[:32]


def cookie_value(token: str, key: bytes) -> str:
    return f"{token}.{_mac(token, key)}"


def token_from_cookie(value: str | None, key: bytes) -> str | None:
    """The token of a well-signed cookie, else None (no database lookup for a forgery)."""
    if not value or value.count(".") != 1 or len(value) > 200:
        return None
    token, mac = value.split(".")
    if not token or not hmac.compare_digest(mac, _mac(token, key)):
        return None
    return token


def _sid(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def create(reg: Registry, user: Actor, *, now: dt.datetime | None = None, address: str | None = None,
           user_agent: str | None = None) -> str:
    """Start a session for a signed-in person; returns the token (put it in the cookie).
    ``address`` and ``user_agent`` (the sign-in request's) are shown to the admin."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    address, user_agent = (address or "")[:64], (user_agent or "")[:300]
    with reg.transaction():
        reg.insert("sessions", {"id": _sid(token), "user_id": user.user_id, "created_at": now.isoformat(),
                                "last_seen": now.isoformat(), "expires_at": (now + LIFETIME).isoformat(),
                                "address": address, "user_agent": user_agent})
        reg.record(user, "session.started", "user", user.user_id, {"session": _sid(token)[:12], "address": address})
    return token


def resolve(reg: Registry, token: str | None, *, now: dt.datetime | None = None) -> Actor | None:
    """The person a session token belongs to, or None when it is unknown, revoked, expired,
    idle too long or the account is inactive. Refreshes ``last_seen``."""
    if not token:
        return None
    now = now or utcnow()
    row = reg.one("SELECT s.*, u.username, u.display_name, u.role, u.org_id, u.active "
                  "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?", (_sid(token),))
    if row is None or row["revoked_at"] or not row["active"]:
        return None
    last_seen = dt.datetime.fromisoformat(row["last_seen"])
    if dt.datetime.fromisoformat(row["expires_at"]) <= now or now - last_seen > IDLE_TIMEOUT:
        return None
    if now - last_seen >= TOUCH_EVERY:
        reg.execute("UPDATE sessions SET last_seen = ? WHERE id = ?", (now.isoformat(), row["id"]))
    from .models import Role

    return Actor(user_id=row["user_id"], username=row["username"], display_name=row["display_name"],
                 role=Role(row["role"]), org_id=row["org_id"])


def end(reg: Registry, token: str | None, *, reason: str = REASON_LOGOUT) -> bool:
    """Revoke one session (logout). True if a live session was ended."""
    if not token:
        return False
    row = reg.one("SELECT s.id, s.user_id, u.username, u.role FROM sessions s JOIN users u ON u.id = s.user_id "
                  "WHERE s.id = ? AND s.revoked_at IS NULL", (_sid(token),))
    if row is None:
        return False
    with reg.transaction():
        reg.execute("UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ?",
                    (utcnow().isoformat(), reason, row["id"]))
        reg.record(f"{row['role']}:{row['username']}", "session.ended", "user", row["user_id"],
                   {"session": row["id"][:12], "reason": reason})
    return True


def end_all(reg: Registry, actor: Actor, user_id: int, *, reason: str = REASON_ADMIN) -> int:
    """Revoke every live session of an account (an admin's action; logged). Returns how many."""
    require(actor, "users.manage")
    return _end_all(reg, actor, user_id, reason)


def _end_all(reg: Registry, actor: Actor | str, user_id: int, reason: str) -> int:
    with reg.transaction():
        cur = reg.execute("UPDATE sessions SET revoked_at = ?, revoked_reason = ? "
                          "WHERE user_id = ? AND revoked_at IS NULL", (utcnow().isoformat(), reason, user_id))
        count = cur.rowcount
        reg.record(actor, "session.revoked_all", "user", user_id, {"sessions": count, "reason": reason})
    return count


def active(reg: Registry, actor: Actor, *, now: dt.datetime | None = None) -> list[SessionInfo]:
    """Live sessions, newest first (the admin's view): who, role, since when, last seen, from where."""
    require(actor, "users.manage")
    now = now or utcnow()
    rows = reg.query("SELECT s.*, u.username, u.display_name, u.role FROM sessions s JOIN users u ON u.id = s.user_id "
                     "WHERE s.revoked_at IS NULL AND u.active = 1 AND s.expires_at > ? AND s.last_seen > ? "
                     "ORDER BY s.last_seen DESC", (now.isoformat(), (now - IDLE_TIMEOUT).isoformat()))
    return [_info(r) for r in rows]


def _info(r: dict) -> SessionInfo:
    return SessionInfo(id_prefix=r["id"][:12], user_id=r["user_id"], username=r["username"],
                       created_at=r["created_at"], last_seen=r["last_seen"], expires_at=r["expires_at"],
                       id=r["id"], display_name=r["display_name"], role=r["role"], address=r["address"],
                       user_agent=r["user_agent"])


def revoke(reg: Registry, actor: Actor, session_id: str) -> SessionInfo:
    """An admin ends one live session: effective at the person's next click, logged."""
    from ..errors import WorkbenchError

    require(actor, "users.manage")
    with reg.transaction():
        row = reg.one("SELECT s.*, u.username, u.display_name, u.role FROM sessions s JOIN users u "
                      "ON u.id = s.user_id WHERE s.id = ? AND s.revoked_at IS NULL", (str(session_id or ""),))
        if row is None:
            raise WorkbenchError(REVOKED)
        reg.execute("UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ?",
                    (utcnow().isoformat(), REASON_ADMIN, row["id"]))
        reg.record(actor, "session.revoked", "user", row["user_id"],
                   {"session": row["id"][:12], "username": row["username"], "address": row["address"]})
    return _info(row)


def must_change_password(reg: Registry, user_id: int | None) -> bool:
    """True after an admin reset the account's password (the person sets a new one)."""
    row = reg.one("SELECT must_change_password FROM users WHERE id = ?", (user_id,))
    return bool(row and row["must_change_password"])


def require_new_password(reg: Registry, actor: Actor, user_id: int) -> None:
    """After an admin's reset: the person must choose a new password at the next sign-in,
    and every open session of the account ends now."""
    require(actor, "users.manage")
    with reg.transaction():
        reg.update("users", user_id, {"must_change_password": 1})
        _end_all(reg, actor, user_id, REASON_ADMIN)


def change_own_password(reg: Registry, who: Actor, old_password: str, new_password: str) -> None:
    """The person replaces their password (checked again here); other sessions end."""
    from . import auth
    from ..errors import ValidationFailed, WorkbenchError

    row = reg.one("SELECT password_hash FROM users WHERE id = ?", (who.user_id,))
    if row is None or not auth.check_password(row["password_hash"], old_password or ""):
        raise auth.AuthError(auth.BAD_LOGIN)
    if len(new_password or "") < auth.MIN_PASSWORD or new_password == old_password:
        raise ValidationFailed("auth.user_invalid",
                               problems=[WorkbenchError(auth.WEAK_PASSWORD, min=auth.MIN_PASSWORD)])
    with reg.transaction():
        reg.update("users", who.user_id, {"password_hash": auth.hash_password(new_password),
                                          "must_change_password": 0})
        reg.record(who, "user.password_changed", "user", who.user_id)
        _end_all(reg, who, who.user_id, REASON_PASSWORD)
