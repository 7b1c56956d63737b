"""Operator tasks behind the admin role: log verification and backups."""

from __future__ import annotations

from pathlib import Path

from ..registry.db import Registry
from ..errors import NotFound
from ..registry.models import Actor
from ..registry.permissions import require


def verify_log(reg: Registry, actor: Actor, *, keys=None, audits_dir: Path | None = None):
    """The same whole check as ``workbench verify-log`` (chain, seals, anchors, state against
    the events): an ``integrity.IntegrityReport``."""
    require(actor, "log.verify")
    from .integrity import verify_registry

    return verify_registry(reg, keys, audits_dir=audits_dir)


def backup(reg: Registry, actor: Actor, dest: str | Path) -> Path:
    require(actor, "backup.run")
    if reg.path is not None:  # the whole home (database, files, audits, keys), issue 11 item 9
        from .backup import backup_home
        from ..config import Home

        path = Path(backup_home(Home(reg.path.parent), dest).path)
    else:
        path = reg.backup(dest)
    reg.record(actor, "registry.backup", "registry", "-", {"dest": Path(dest).name})
    return path


def key_info(keys, actor: Actor):
    """The committee's signing certificate in use (demo or imported)."""
    require(actor, "keys.manage")
    return keys.describe()


def import_key(reg: Registry, keys, actor: Actor, path: str | Path, password: str):
    """Switch the committee's signing key to a PKCS#12 file (refused unless it can sign)."""
    require(actor, "keys.manage")
    info = keys.import_p12(Path(path), password)
    reg.record(actor, "keys.imported", "keys", info.fingerprint_sha256[:16],
               {"subject": info.subject, "fingerprint_sha256": info.fingerprint_sha256})
    return info


# -- accounts (issue 13): each change is effective at once and logged ------------------------

def deactivate(reg: Registry, actor: Actor, user_id: int):
    """Close an account now: its sessions end and it cannot sign in."""
    from ..registry import auth, sessions

    require(actor, "users.manage")
    with reg.transaction():
        user = auth.set_active(reg, actor, user_id, False)
        sessions.end_all(reg, actor, user_id, reason=sessions.REASON_DEACTIVATED)
    return user


def reactivate(reg: Registry, actor: Actor, user_id: int):
    from ..registry import auth

    return auth.set_active(reg, actor, user_id, True)


def reset_password(reg: Registry, actor: Actor, user_id: int, temporary: str) -> None:
    """Give a temporary password; the person must choose a new one at the next sign-in."""
    from ..registry import auth, sessions

    with reg.transaction():
        auth.reset_password(reg, actor, user_id, temporary)
        sessions.require_new_password(reg, actor, user_id)


def unlock(reg: Registry, actor: Actor, user_id: int) -> None:
    """Clear an account's login throttling from every source (``auth.unlock``; logged)."""
    from ..registry import auth

    require(actor, "users.manage")
    row = reg.one("SELECT username FROM users WHERE id = ?", (user_id,))
    if row is None:
        raise NotFound("auth.no_user")
    auth.unlock(reg, actor, row["username"])


def locked_users(reg: Registry, actor: Actor) -> set[int]:
    """Accounts that a throttling counter holds back now (their own counter, or theirs from one source)."""
    from ..registry.models import now_iso

    require(actor, "users.manage")
    rows = reg.query("SELECT u.id FROM users u JOIN login_throttle t ON t.key = 'a:' || lower(u.username) "
                     "OR t.key LIKE 'as:' || lower(u.username) || '|%' WHERE t.next_at IS NOT NULL AND t.next_at > ?",
                     (now_iso(),))
    return {r["id"] for r in rows}
