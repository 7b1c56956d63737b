"""Renewal that is real (issue 13): a label is renewed only within 90 days of its expiry,
after (for tiers that need tests) a fresh fairness run on *new* model outputs that the
vendor sent for the renewal, and after one assigned reviewer confirmed it. Each step is an
event; the renewal itself is ``labels.change_label(..., "renew", ...)``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..intake import submissions as subs
from ..config import max_upload_bytes
from ..registry.db import Registry
from ..decision.decisions import tests_required
from ..errors import PermissionDenied, WorkbenchError
from ..registry.models import Actor, Role, now_iso, utcnow
from ..registry.permissions import require
from ..public.visitor import get_label

WINDOW_DAYS = 90
NOT_YET = "staff.renew_not_yet"
NOT_READY = "staff.renew_not_ready"
NOT_ACTIVE = "staff.renew_not_active"


@dataclass(frozen=True)
class Readiness:
    label_id: str
    days_left: int
    window_open: bool
    tests_needed: bool
    new_outputs: bool
    fresh_run: bool
    confirmed_by: str | None

    @property
    def ready(self) -> bool:
        return self.window_open and (not self.tests_needed or self.fresh_run) and self.confirmed_by is not None

    def missing(self) -> list[str]:
        """Catalogue keys of what still stands in the way."""
        out = []
        if not self.window_open:
            out.append("staff.renew_need_window")
        if self.tests_needed and not self.new_outputs:
            out.append("staff.renew_need_outputs")
        if self.tests_needed and self.new_outputs and not self.fresh_run:
            out.append("staff.renew_need_run")
        if self.confirmed_by is None:
            out.append("staff.renew_need_confirmation")
        return out


def _label_row(reg: Registry, label_id: str) -> dict:
    row = reg.one("SELECT * FROM labels WHERE id = ?", (label_id,))
    if row is None:
        get_label(reg, Actor(role=Role.SECRETARY), label_id)  # raises the catalogue's NotFound
    return row


def _since_issue(reg: Registry, label_id: str) -> int:
    """The log position (event id) where the current validity starts: the issue, or the last renewal.

    The log's order, not its timestamps: those have whole seconds, and outputs sent, a run made or a
    confirmation given in the same second as the issue still come after it.
    """
    starts = [e.id for e in reg.events("label", label_id) if e.action in ("label.issued", "label.renew")]
    return starts[-1] if starts else reg.head()[0]  # every label has its issue event; else nothing is new


def readiness(reg: Registry, actor: Actor, label_id: str, *, today: dt.date | None = None) -> Readiness:
    row = _label_row(reg, label_id)
    sub = subs.get_submission(reg, actor, row["submission_id"])
    today = today or utcnow().date()
    days_left = (dt.date.fromisoformat(row["valid_until"][:10]) - today).days
    since = _since_issue(reg, label_id)
    history = reg.events("submission", sub.id)
    added_at = {e.payload.get("attachment_id"): e.id for e in history if e.action == "attachment.added"}
    outputs = reg.query("SELECT id, sha256 FROM attachments WHERE submission_id = ? AND purpose = 'outputs'",
                        (sub.id,))
    # an attachment without its event (none is made so) counts as old: never new by default
    old = {r["sha256"] for r in outputs if added_at.get(r["id"], 0) <= since}
    new = {r["sha256"] for r in outputs if added_at.get(r["id"], 0) > since} - old
    fresh = any(e.action == "fairness.run_saved" and e.id > since and e.payload.get("input_sha256") in new
                for e in history)
    confirmations = [e for e in reg.events("label", label_id)
                     if e.action == "label.renewal_confirmed" and e.id > since]
    return Readiness(label_id=label_id, days_left=days_left, window_open=0 <= days_left <= WINDOW_DAYS,
                     tests_needed=tests_required(sub), new_outputs=bool(new), fresh_run=fresh,
                     confirmed_by=confirmations[-1].actor.split(":", 1)[-1] if confirmations else None)


def _check_window(reg: Registry, actor: Actor, label_id: str, today: dt.date | None) -> Readiness:
    row = _label_row(reg, label_id)
    if row["status"] != "active":
        raise WorkbenchError(NOT_ACTIVE, id=label_id)
    state = readiness(reg, actor, label_id, today=today)
    if not state.window_open:
        raise WorkbenchError(NOT_YET, id=label_id, days=WINDOW_DAYS)
    return state


def add_outputs(reg: Registry, actor: Actor, label_id: str, data: bytes, original_name: str, *, store,
                today: dt.date | None = None):
    """The vendor sends new model outputs for a renewal (the submission itself is decided)."""
    require(actor, "attachment.upload")
    row = _label_row(reg, label_id)
    sub = subs.get_submission(reg, actor, row["submission_id"])  # the vendor's own only
    _check_window(reg, actor, label_id, today)
    stored = store.put(data, original_name=original_name, max_bytes=max_upload_bytes(),
                       allowed_kinds=subs.KINDS_BY_PURPOSE["outputs"])
    with reg.transaction():
        att_id = reg.insert("attachments", {
            "submission_id": sub.id, "sha256": stored.sha256, "original_name": stored.original_name,
            "size": stored.size, "kind": stored.kind, "media_type": stored.media_type, "purpose": "outputs",
            "uploaded_by": actor.user_id, "uploaded_at": now_iso()})
        reg.record(actor, "attachment.added", "submission", sub.id,
                   {"attachment_id": att_id, "sha256": stored.sha256, "name": stored.original_name,
                    "purpose": "outputs", "size": stored.size, "renewal_of": label_id})
    return subs.get_attachment(reg, actor, att_id)


def confirm(reg: Registry, actor: Actor, label_id: str, note: str, *, today: dt.date | None = None) -> None:
    """An assigned reviewer confirms the tool still meets the checklist (logged)."""
    require(actor, "review.sign_off")
    row = _label_row(reg, label_id)
    if not subs.is_assigned(reg, actor.user_id, row["submission_id"]):
        raise PermissionDenied("perm.not_assigned")
    state = _check_window(reg, actor, label_id, today)
    if state.tests_needed and not state.fresh_run:
        raise WorkbenchError(NOT_READY, id=label_id)
    reg.record(actor, "label.renewal_confirmed", "label", label_id, {"note": (note or "").strip()})


def renew(reg: Registry, actor: Actor, label_id: str, reason: str, *, today: dt.date | None = None):
    """The secretary renews once everything is in place."""
    from ..decision.labels import change_label

    require(actor, "label.manage")
    state = _check_window(reg, actor, label_id, today)
    if not state.ready:
        raise WorkbenchError(NOT_READY, id=label_id)
    return change_label(reg, actor, label_id, "renew", reason, today=today)
