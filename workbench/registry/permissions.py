"""Who may do what: one table of actions and the roles allowed to do them.

Object-level rules (a vendor's own organisation, a reviewer's own assignments) are checked
by the services with ``require_*`` helpers below; this table is the first gate, and the
UI hides what it would refuse anyway.
"""

from __future__ import annotations

from ..errors import PermissionDenied
from .models import Actor, Role

P, V, R, S, A = Role.PUBLIC, Role.VENDOR, Role.REVIEWER, Role.SECRETARY, Role.ADMIN
EVERYONE = frozenset(Role)

#: action -> roles allowed. Adding an action is a row here and a row in the test table.
PERMISSIONS: dict[str, frozenset[Role]] = {
    # public side
    "registry.search": EVERYONE,
    "label.view": EVERYONE,
    "label.verify": EVERYONE,
    "complaint.file": EVERYONE,
    "complaint.track": EVERYONE,
    # vendor (a visitor registers an organisation and becomes its vendor)
    "org.register": frozenset({P}),
    "submission.create": frozenset({V}),
    "submission.edit": frozenset({V}),
    "submission.submit": frozenset({V}),
    "submission.new_version": frozenset({V}),
    "attachment.upload": frozenset({V}),
    "clarification.answer": frozenset({V}),
    "submission.appeal": frozenset({V}),
    # reading submissions (narrowed per object below)
    "submission.list": frozenset({V, R, S}),
    "submission.view": frozenset({V, R, S}),
    "attachment.read": frozenset({V, R, S}),
    # reviewer
    "conflict.declare": frozenset({R}),
    "review.edit": frozenset({R}),
    "review.sign_off": frozenset({R}),
    "clarification.request": frozenset({R, S}),
    "fairness.run": frozenset({R, S}),
    "genai.run": frozenset({R, S}),
    "genai.rate": frozenset({R, S}),
    "genai.view": frozenset({V, R, S}),
    "genai.endpoint": frozenset({V, R, S}),
    # secretary
    "submission.screen": frozenset({S}),
    "reviewer.assign": frozenset({S}),
    "committee.open": frozenset({S}),
    "decision.record": frozenset({S}),
    "label.manage": frozenset({S}),
    "complaint.handle": frozenset({S}),
    "appeal.decide": frozenset({S}),
    "keys.manage": frozenset({S, A}),
    "log.verify": frozenset({S, A}),
    # admin
    "users.manage": frozenset({A}),
    "settings.manage": frozenset({A}),
    "backup.run": frozenset({A}),
}

_DENIED = "perm.denied"
_NOT_YOURS = "perm.not_yours"
_NOT_ASSIGNED = "perm.not_assigned"


def can(actor: Actor, action: str) -> bool:
    """True if the actor's role may do ``action`` at all. Unknown actions are refused."""
    return actor.role in PERMISSIONS.get(action, frozenset())


def require(actor: Actor, action: str) -> None:
    if not can(actor, action):
        raise PermissionDenied(_DENIED, action=action, role=actor.role.value)
