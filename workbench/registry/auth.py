"""Accounts: password hashing, login with throttling, password policy and user management.

Passwords are hashed with Argon2id (memory-hard); the clear text is never stored or
logged. A password has at least ``MIN_PASSWORD`` characters and is not one of the
30,000 common passwords shipped in ``policies/common-passwords.txt`` (nor one of them with
digits or punctuation added at the ends).

Guessing is throttled, not locked out: every attempt is charged *before* its password is
checked, in one ``BEGIN IMMEDIATE`` transaction, so parallel guesses cannot overtake the
counter. Three counters are kept (``login_throttle``): the account from one source, the
source across accounts, and the account from every source; past each counter's free
attempts the next attempt must wait a delay that doubles with every further failure.
An anonymous attacker can therefore slow an account down only for a short, capped delay
(``ACCOUNT_MAX_DELAY``), and not at all from a source that has logged in to it before;
an admin can clear the counters with ``unlock`` (``workbench users unlock NAME``).
Unknown usernames are throttled exactly like real ones, and get the same message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .db import Registry
from ..errors import NotFound, PermissionDenied, ValidationFailed, WorkbenchError
from .models import Actor, Role, User, now_iso, utcnow
from .permissions import require

MIN_PASSWORD = 10
COMMON_PASSWORDS = Path(__file__).parent.parent / "policies" / "common-passwords.txt"

#: counter -> (free failed attempts, first delay, longest delay). "as": this account from
#: this source; "s": this source, any account; "a": this account, any source (capped low,
#: so that nobody can keep its owner out).
THROTTLE: dict[str, tuple[int, dt.timedelta, dt.timedelta]] = {
    "as": (5, dt.timedelta(seconds=30), dt.timedelta(hours=1)),
    "s": (20, dt.timedelta(seconds=30), dt.timedelta(hours=1)),
    "a": (10, dt.timedelta(seconds=15), dt.timedelta(seconds=60)),
}
#: Failures older than this are forgotten.
THROTTLE_WINDOW = dt.timedelta(hours=24)
MAX_FAILURES = THROTTLE["as"][0]
ACCOUNT_MAX_DELAY = THROTTLE["a"][2]

BAD_LOGIN = "auth.bad_login"
LOCKED = "auth.locked"
THROTTLED = "hardening.auth.throttled"
WEAK_PASSWORD = "auth.weak_password"
COMMON_PASSWORD = "hardening.auth.common_password"
USER_EXISTS = "auth.user_exists"
BAD_USERNAME = "auth.bad_username"
VENDOR_NEEDS_ORG = "auth.vendor_needs_org"
INACTIVE = "hardening.auth.inactive"
SELF_DEACTIVATE = "hardening.auth.self_deactivate"

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


# -- password policy -----------------------------------------------------------------------

@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


_ENDS = re.compile(r"^[\W\d_]+|[\W\d_]+$")


def password_problems(password: str, username: str = "") -> list[WorkbenchError]:
    """Why a password is refused: too short, or a common password (also with digits or
    punctuation added at either end, or equal to the username)."""
    password = password or ""
    problems: list[WorkbenchError] = []
    if len(password) < MIN_PASSWORD:
        problems.append(WorkbenchError(WEAK_PASSWORD, min=MIN_PASSWORD))
    folded = password.strip().lower()
    core = _ENDS.sub("", folded)
    common = common_passwords()
    if folded in common or (len(core) >= 4 and core in common) or (username and folded == username.strip().lower()):
        problems.append(WorkbenchError(COMMON_PASSWORD))
    return problems


def _user(row: dict) -> User:
    return User(id=row["id"], username=row["username"], display_name=row["display_name"],
                role=Role(row["role"]), org_id=row["org_id"], active=bool(row["active"]),
                created_at=row["created_at"])


def _username_problems(username: str) -> list[WorkbenchError]:
    if not (3 <= len(username) <= 64) or not all(c.isalnum() or c in "._-@" for c in username):
        return [WorkbenchError(BAD_USERNAME)]
    return []


def create_user(reg: Registry, actor: Actor, *, username: str, password: str, role: Role | str,
                display_name: str = "", org_id: int | None = None) -> User:
    """Add an account. Only an admin may (``actor=SYSTEM`` for ``init`` and the CLI).

    The name check and the insert are one transaction, so two admins adding the same
    name at once get one account and one clear "taken" message.
    """
    from ..textsafe import clean_name

    require(actor, "users.manage")
    role = Role(role)
    username = (username or "").strip()
    display_name = clean_name(display_name or username)
    problems = _username_problems(username) + password_problems(password, username)
    if role is Role.PUBLIC:
        problems.append(WorkbenchError(BAD_USERNAME))
    if role is Role.VENDOR and org_id is None:
        problems.append(WorkbenchError(VENDOR_NEEDS_ORG))
    with reg.transaction():
        if reg.one("SELECT id FROM users WHERE username = ?", (username,)):
            problems.append(WorkbenchError(USER_EXISTS, username=username))
        if problems:
            raise ValidationFailed("auth.user_invalid", problems=problems)
        user_id = reg.insert("users", {
            "username": username, "display_name": display_name or username, "role": role.value,
            "org_id": org_id, "password_hash": hash_password(password), "created_at": now_iso(),
        })
        reg.record(actor, "user.created", "user", user_id, {"username": username, "role": role.value})
    return get_user(reg, user_id)


def new_vendor_username(reg: Registry, wanted: str) -> str:
    """A free login name for a self-registered vendor: the wanted name plus a random
    number. The registering visitor never chooses a whole name, so registration cannot
    tell them whether some account exists. Call inside the registration's transaction."""
    base = re.sub(r"[^\w.@-]", "", (wanted or "").strip())[:48] or "vendor"
    if len(base) < 2:
        base = "vendor"
    for _ in range(50):
        candidate = f"{base}-{secrets.randbelow(9000) + 1000}"
        if reg.one("SELECT id FROM users WHERE username = ?", (candidate,)) is None:
            return candidate
    return f"{base}-{secrets.token_hex(4)}"


def get_user(reg: Registry, user_id: int) -> User:
    row = reg.one("SELECT * FROM users WHERE id = ?", (user_id,))
    if row is None:
        raise NotFound("auth.no_user")
    return _user(row)


def list_users(reg: Registry, actor: Actor) -> list[User]:
    require(actor, "users.manage")
    check_active(reg, actor)
    return [_user(r) for r in reg.query("SELECT * FROM users ORDER BY role, username")]


def set_active(reg: Registry, actor: Actor, user_id: int, active: bool) -> User:
    require(actor, "users.manage")
    if not active and actor.user_id is not None and actor.user_id == user_id:
        raise WorkbenchError(SELF_DEACTIVATE)
    with reg.transaction():
        get_user(reg, user_id)
        reg.record(actor, "user.activated" if active else "user.deactivated", "user", user_id)
        reg.update("users", user_id, {"active": int(active), "failed_logins": 0, "locked_until": None})
    return get_user(reg, user_id)


def reset_password(reg: Registry, actor: Actor, user_id: int, password: str) -> None:
    require(actor, "users.manage")
    user = get_user(reg, user_id)
    problems = password_problems(password, user.username)
    if problems:
        raise ValidationFailed("auth.user_invalid", problems=problems)
    with reg.transaction():
        reg.update("users", user_id, {"password_hash": hash_password(password), "failed_logins": 0,
                                      "locked_until": None})
        _clear_throttle(reg, user.username)
        reg.record(actor, "user.password_reset", "user", user_id)


def check_active(reg: Registry, actor: Actor) -> None:
    """Refuse an actor whose account was deactivated (or deleted) since they logged in.

    Called by ``Registry.record`` for every state change (inside its write transaction)
    and by the submission readers, so a deactivated user can neither write nor read."""
    if actor.user_id is None:  # the public, and SYSTEM (the operator's command line)
        return
    row = reg.one("SELECT active FROM users WHERE id = ?", (actor.user_id,))
    if row is None or not row["active"]:
        raise PermissionDenied(INACTIVE)


# -- login and throttling ------------------------------------------------------------------

def _h(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _keys(username: str, source: str | None) -> dict[str, str]:
    name = username.strip().lower()
    src = _h(str(source or "-"))
    return {"as": f"as:{name}|{src}", "s": f"s:{src}", "a": f"a:{name}"}


def _delay(kind: str, failures: int) -> dt.timedelta | None:
    free, first, longest = THROTTLE[kind]
    if failures < free:
        return None
    return min(longest, first * (2 ** min(failures - free, 20)))


def _wait_error(until: dt.datetime, now: dt.datetime) -> AuthError:
    seconds = max(1, int((until - now).total_seconds() + 0.999))
    return AuthError(THROTTLED, until=until.strftime("%H:%M:%S"), seconds=seconds)


def login(reg: Registry, username: str, password: str, *, source: str | None = None,
          now: dt.datetime | None = None) -> Actor:
    """Check a password and return the acting user.

    Parameters
    ----------
    source:
        Where the attempt comes from (the client's address; ``None`` for the command
        line). Only its hash is stored.

    Raises ``AuthError(THROTTLED, until=..., seconds=...)`` while a counter makes the caller
    wait (the password is then not even checked), and ``AuthError(BAD_LOGIN)`` for an
    unknown user, a deactivated one or a wrong password: the same message, so the form
    does not reveal which accounts exist.
    """
    now = now or utcnow()
    name = (username or "").strip()
    keys = _keys(name, source)
    with reg.transaction():  # BEGIN IMMEDIATE: check and charge the counters as one step
        if secrets.randbelow(100) == 0:  # now and then, forget counters past the window (spraying leaves many)
            reg.conn.execute("DELETE FROM login_throttle WHERE updated_at < ? AND key NOT LIKE 'ok:%'",
                             ((now - THROTTLE_WINDOW).isoformat(),))
        known = reg.one("SELECT 1 AS x FROM login_throttle WHERE key = ?", (_known_key(keys),)) is not None
        kinds = ("as", "s") if known else ("as", "s", "a")
        states = {kind: _state(reg, keys[kind], now) for kind in kinds}
        waits = [nxt for _, nxt in states.values() if nxt is not None and nxt > now]
        refused = _wait_error(max(waits), now) if waits else None
        if refused is None:
            for kind, (failures, _) in states.items():
                failures += 1
                delay = _delay(kind, failures)
                nxt = (now + delay).isoformat() if delay else None
                reg.conn.execute(
                    "INSERT INTO login_throttle (key, failures, next_at, updated_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET failures = excluded.failures, next_at = excluded.next_at, "
                    "updated_at = excluded.updated_at", (keys[kind], failures, nxt, now.isoformat()))
            row = reg.one("SELECT * FROM users WHERE username = ? AND active = 1", (name,))
            for kind, (failures, _) in states.items():
                if row is not None and failures + 1 == THROTTLE[kind][0]:  # a counter starts to hold back
                    reg.record(f"login:{row['username']}", "auth.throttled", "user", row["id"],
                               {"counter": kind, "until": (now + _delay(kind, failures + 1)).isoformat()})
    if refused is not None:
        raise refused
    if row is None:
        check_password(_DUMMY_HASH, password or "")  # same time as a real check
        raise AuthError(BAD_LOGIN)
    if not check_password(row["password_hash"], password or ""):
        raise AuthError(BAD_LOGIN)
    with reg.transaction():
        # The attempt was charged in advance; a success takes it back, clears this source's
        # counter for the account, and remembers the source as one its owner uses.
        reg.conn.execute("DELETE FROM login_throttle WHERE key = ?", (keys["as"],))
        for kind in set(kinds) - {"as"}:  # the shared counters only lose this attempt: others' failures count
            reg.conn.execute("UPDATE login_throttle SET failures = max(0, failures - 1), next_at = CASE WHEN "
                             "failures - 1 < ? THEN NULL ELSE next_at END WHERE key = ?",
                             (THROTTLE[kind][0], keys[kind]))
        reg.conn.execute("INSERT OR REPLACE INTO login_throttle (key, failures, next_at, updated_at) "
                         "VALUES (?, 0, NULL, ?)", (_known_key(keys), now.isoformat()))
        current = reg.one("SELECT * FROM users WHERE id = ? AND active = 1", (row["id"],))
    if current is None:  # deactivated while the password was being checked
        raise AuthError(BAD_LOGIN)
    return _user(current).as_actor()


def _known_key(keys: dict[str, str]) -> str:
    return "ok:" + keys["as"][3:]


def _state(reg: Registry, key: str, now: dt.datetime) -> tuple[int, dt.datetime | None]:
    row = reg.one("SELECT failures, next_at, updated_at FROM login_throttle WHERE key = ?", (key,))
    if row is None or dt.datetime.fromisoformat(row["updated_at"]) < now - THROTTLE_WINDOW:
        return 0, None
    return row["failures"], dt.datetime.fromisoformat(row["next_at"]) if row["next_at"] else None


def _clear_throttle(reg: Registry, username: str) -> int:
    name = username.strip().lower()
    cur = reg.conn.execute("DELETE FROM login_throttle WHERE key = ? OR key LIKE ? ESCAPE '\\'",
                           (f"a:{name}", "as:" + name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                            + "|%"))
    return cur.rowcount


def unlock(reg: Registry, actor: Actor, username: str) -> int:
    """Clear an account's login counters (from every source); returns how many were set."""
    require(actor, "users.manage")
    row = reg.one("SELECT id, username FROM users WHERE username = ?", ((username or "").strip(),))
    if row is None:
        raise NotFound("auth.no_user")
    with reg.transaction():
        cleared = _clear_throttle(reg, row["username"])
        reg.update("users", row["id"], {"failed_logins": 0, "locked_until": None})
        reg.record(actor, "user.unlocked", "user", row["id"], {"counters": cleared})
    return cleared


_DUMMY_HASH = hash_password("not-a-real-password-used-for-timing")
