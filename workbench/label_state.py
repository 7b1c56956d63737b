"""What a vendor must see about each label of a submission: its true status today
(active, suspended, revoked, expired, superseded, under re-review), with the reason and the
date of the change, read from the labels table and the event log (issue 13)."""

from __future__ import annotations

from dataclasses import dataclass

from .db import Registry
from .models import Actor
from .public import LabelView, get_label
from . import submissions as subs

_CHANGES = ("label.suspend", "label.revoke", "label.reinstate", "label.renew", "label.superseded",
            "label.re_review_requested", "label.issued")


@dataclass(frozen=True)
class LabelState:
    label: LabelView
    status: str           # active | suspended | revoked | expired | superseded
    since: str            # ISO date-time of the change (the expiry date for "expired")
    reason: str
    under_re_review: bool
    superseded_by: str | None = None

    @property
    def good(self) -> bool:
        return self.status == "active" and not self.under_re_review


def labels_of(reg: Registry, actor: Actor, submission_id: int) -> list[LabelState]:
    """Every label issued on this submission, newest first, as it stands today."""
    subs.get_submission(reg, actor, submission_id)  # the vendor's own, the secretary, assigned reviewers
    ids = [r["id"] for r in reg.query("SELECT id FROM labels WHERE submission_id = ? ORDER BY created_at DESC, id DESC",
                                      (submission_id,))]
    return [state_of(reg, actor, label_id) for label_id in ids]


def state_of(reg: Registry, actor: Actor, label_id: str) -> LabelState:
    label = get_label(reg, actor, label_id)
    events = [e for e in reg.events("label", label_id) if e.action in _CHANGES]
    last_status = next((e for e in reversed(events) if e.action != "label.re_review_requested"), None)
    last_review = next((e for e in reversed(events) if e.action == "label.re_review_requested"), None)
    under_review = bool(last_review and (last_status is None or last_review.id > last_status.id)
                        and label.status in ("active", "suspended"))
    if label.status == "expired":
        since, reason = label.valid_until, ""
    elif last_status is not None:
        since = last_status.ts
        reason = last_status.payload.get("reason", "") if last_status.action != "label.issued" else ""
    else:
        since, reason = label.valid_from, ""
    if under_review and last_review is not None:
        reason = reason or last_review.payload.get("note", "")
    by = last_status.payload.get("by") if last_status is not None and last_status.action == "label.superseded" else None
    return LabelState(label=label, status=label.status, since=since, reason=reason or label.status_reason,
                      under_re_review=under_review, superseded_by=by)
