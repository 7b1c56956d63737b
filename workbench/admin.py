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
    path = reg.backup(dest)
    reg.record(actor, "registry.backup", "registry", "-", {"dest": Path(dest).name})
    return path
