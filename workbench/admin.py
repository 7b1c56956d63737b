"""Operator tasks behind the admin role: log verification and backups."""

from __future__ import annotations

from pathlib import Path

from .db import Registry
from .models import Actor, LogCheck
from .permissions import require


def verify_log(reg: Registry, actor: Actor) -> LogCheck:
    require(actor, "log.verify")
    return reg.verify_log()


def backup(reg: Registry, actor: Actor, dest: str | Path) -> Path:
    require(actor, "backup.run")
    if reg.path is not None:  # the whole home (database, files, audits, keys), issue 11 item 9
        from .backup import backup_home
        from .config import Home

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
