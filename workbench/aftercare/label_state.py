"""What a vendor must see about each label of a submission: its true status today
(active, suspended, revoked, expired, superseded, under re-review), with the reason and the
date of the change, read from the labels table and the event log (issue 13)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..registry.db import Registry
from ..registry.models import Actor
from ..public.visitor import LabelView, get_label
from ..intake import submissions as subs

_CHANGES = ("label.suspend", "label.revoke", "label.reinstate", "label.renew", "label.superseded",
            "label.re_review_requested", "label.issued")
#: A re-review ends with a new state of the label; a suspension while it runs does not end it.
_ENDS_RE_REVIEW = ("label.revoke", "label.renew", "label.superseded", "label.issued")
#: ... or with a decision on the linked case.
_DECIDED = ("approved", "approved_with_conditions", "rejected")


@dataclass(frozen=True)
class ReReview:
    """A label under re-review: since when, the complaint and note behind it, the linked case."""

    since: str
    complaint: str
    note: str
    case_id: int | None = None


#: Ids bound in one statement: SQLite allows 32,766 in many builds, and the mirror asks about a whole registry.
_CHUNK = 10_000


def re_reviews(reg: Registry, label_ids: list[str]) -> dict[str, ReReview]:
    """Which of these labels are under re-review today (two queries per 10,000 labels, for a page of cards
    or a whole registry).

    A label is under re-review from a complaint's (or an appeal's) outcome "re-review" until the
    label is revoked, renewed or superseded, or the linked case is decided.
    """
    ids = sorted({str(i) for i in label_ids if i})
    found: dict[str, ReReview] = {}
    for start in range(0, len(ids), _CHUNK):
        found.update(_re_reviews(reg, ids[start:start + _CHUNK]))
    return found


def _re_reviews(reg: Registry, ids: list[str]) -> dict[str, ReReview]:
    marks = ", ".join("?" for _ in ids)
    kinds = ("label.re_review_requested",) + _ENDS_RE_REVIEW
    rows = reg.query(f"SELECT id, ts, action, subject_id, payload FROM events WHERE subject_type = 'label' AND "
                     f"subject_id IN ({marks}) AND action IN ({', '.join('?' for _ in kinds)}) ORDER BY id",
                     (*ids, *kinds))
    open_: dict[str, tuple[int, ReReview]] = {}
    for row in rows:
        if row["action"] == "label.re_review_requested":
            payload = json.loads(row["payload"])
            if row["subject_id"] not in open_:  # the first request of a running re-review gives its date
                open_[row["subject_id"]] = (row["id"], ReReview(since=row["ts"], complaint=payload.get("complaint", ""),
                                                                note=payload.get("note", "")))
        else:
            open_.pop(row["subject_id"], None)
    if not open_:
        return {}
    cases = reg.query(
        f"SELECT e.id, json_extract(e.payload, '$.label_id') AS label_id, s.id AS case_id, s.status FROM events e "
        f"JOIN submissions s ON s.id = CAST(e.subject_id AS INTEGER) WHERE e.action = 'submission.re_review_opened' "
        f"AND json_extract(e.payload, '$.label_id') IN ({', '.join('?' for _ in open_)}) ORDER BY e.id",
        tuple(open_))
    found: dict[str, ReReview] = {}
    for label_id, (event_id, review) in open_.items():
        linked = [c for c in cases if c["label_id"] == label_id and c["id"] >= event_id]
        if linked and all(c["status"] in _DECIDED for c in linked):
            continue
        found[label_id] = ReReview(since=review.since, complaint=review.complaint, note=review.note,
                                   case_id=linked[-1]["case_id"] if linked else None)
    return found


@dataclass(frozen=True)
class LabelState:
    label: LabelView
    status: str           # active | suspended | revoked | expired | superseded
    since: str            # ISO date-time of the change (the expiry date for "expired")
    reason: str
    under_re_review: bool
    superseded_by: str | None = None
    re_review: ReReview | None = None

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
    review = re_reviews(reg, [label.id]).get(label.id)
    under_review = review is not None and label.status in ("active", "suspended")
    if label.status == "expired":
        since, reason = label.valid_until, ""
    elif last_status is not None:
        since = last_status.ts
        reason = last_status.payload.get("reason", "") if last_status.action != "label.issued" else ""
    else:
        since, reason = label.valid_from, ""
    if under_review:
        reason = reason or review.note
    by = last_status.payload.get("by") if last_status is not None and last_status.action == "label.superseded" else None
    return LabelState(label=label, status=label.status, since=since, reason=reason or label.status_reason,
                      under_re_review=under_review, superseded_by=by, re_review=review if under_review else None)
