"""The secretary's complaint queue: read the complaints, resolve each with an outcome.

Outcomes are a table (``OUTCOMES``): dismissing closes the complaint; a re-review closes it
and records on the label that the committee will look again; a suspension closes it and
suspends the label through ``labels.change_label`` in the same transaction, so a
complaint is never marked "suspension" while its label stays active. Every resolution is
an event in the hash-chained log. The secretary acts under ``complaint.handle``
permission (the same person issues, suspends and revokes labels).
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from .db import Registry
from .errors import NotFound, WorkbenchError
from .models import Actor, now_iso
from .permissions import require
from .public import NO_COMPLAINT, get_label

NEED_NOTE = "pub.complaint.need_note"
BAD_OUTCOME = "pub.complaint.bad_outcome"
ALREADY_RESOLVED = "pub.complaint.already_resolved"
NEED_LABEL = "pub.complaint.need_label"

#: The permission under which the secretary handles complaints.
ACTION = "complaint.handle"

#: outcome -> (needs a label, label action or None). Adding an outcome is a row here.
OUTCOMES: dict[str, tuple[bool, str | None]] = {
    "dismissed": (False, None),
    "re_review": (True, None),
    "suspension": (True, "suspend"),
}
COMPLAINT_STATUSES = ("open", "closed")


class Complaint(BaseModel):
    """A complaint as the secretary sees it, contact included (never shown publicly)."""

    reference: str
    label_id: str | None
    tool_name: str
    body: str
    contact: str
    status: str
    outcome: str | None
    outcome_note: str
    created_at: str
    label_status: str | None = None


def list_complaints(reg: Registry, actor: Actor, status: str | None = None,
                    *, today: dt.date | None = None) -> list[Complaint]:
    """Complaints, open ones first and oldest first within each status.

    Parameters
    ----------
    status:
        ``open`` or ``closed``; ``None`` for all.
    """
    require(actor, ACTION)
    sql, params = "SELECT * FROM complaints", []
    if status:
        sql += " WHERE status = ?"
        params.append(status)
    rows = reg.query(sql + " ORDER BY status = 'closed', created_at, id", tuple(params))
    return [_complaint(reg, actor, row, today) for row in rows]


def _complaint(reg: Registry, actor: Actor, row: dict, today: dt.date | None) -> Complaint:
    label_status = None
    if row["label_id"]:
        try:
            label_status = get_label(reg, actor, row["label_id"], today).status
        except NotFound:  # a complaint may name a label that was never issued
            label_status = None
    return Complaint(**{k: row[k] for k in Complaint.model_fields if k != "label_status"}, label_status=label_status)


def get_complaint(reg: Registry, actor: Actor, reference: str, *, today: dt.date | None = None) -> Complaint:
    require(actor, ACTION)
    row = reg.one("SELECT * FROM complaints WHERE reference = ?", ((reference or "").strip().upper(),))
    if row is None:
        raise NotFound(NO_COMPLAINT, reference=(reference or "").strip())
    return _complaint(reg, actor, row, today)


def resolve_complaint(reg: Registry, actor: Actor, reference: str, outcome: str, note: str,
                      *, today: dt.date | None = None) -> Complaint:
    """Close a complaint with an outcome and a note the complainant will read.

    Parameters
    ----------
    outcome:
        ``dismissed``, ``re_review`` or ``suspension`` (the last two need the complaint
        to name a label; a suspension suspends it).
    note:
        The reason, shown to the complainant with the outcome; required.

    Raises
    ------
    WorkbenchError
        Unknown outcome, empty note, already resolved, no label for an outcome that
        needs one, or a label that cannot be suspended (``label.bad_change``).
    """
    require(actor, ACTION)
    if outcome not in OUTCOMES:
        raise WorkbenchError(BAD_OUTCOME, outcome=outcome, allowed=", ".join(OUTCOMES))
    complaint = get_complaint(reg, actor, reference, today=today)
    if complaint.status != "open":
        raise WorkbenchError(ALREADY_RESOLVED, reference=complaint.reference)
    if not (note or "").strip():
        raise WorkbenchError(NEED_NOTE)
    needs_label, label_action = OUTCOMES[outcome]
    if needs_label and not complaint.label_id:
        raise WorkbenchError(NEED_LABEL, outcome=outcome)
    from .labels import change_label  # labels imports public; keep the import graph flat

    with reg.transaction():
        if label_action:
            change_label(reg, actor, complaint.label_id, label_action,
                         f"{complaint.reference}: {note.strip()}", today=today)
        elif outcome == "re_review":
            reg.record(actor, "label.re_review_requested", "label", complaint.label_id,
                       {"complaint": complaint.reference, "note": note.strip()})
        reg.update("complaints", complaint.reference,
                   {"status": "closed", "outcome": outcome, "outcome_note": note.strip()}, key="reference")
        reg.record(actor, "complaint.resolved", "complaint", complaint.reference,
                   {"outcome": outcome, "label_id": complaint.label_id, "at": now_iso()})
    return get_complaint(reg, actor, complaint.reference, today=today)


def complaint_events(reg: Registry, actor: Actor, reference: str) -> list:
    """The complaint's events (filed, resolved), oldest first, for the queue's detail view."""
    require(actor, ACTION)
    return reg.events("complaint", (reference or "").strip().upper())


__all__ = ["Complaint", "OUTCOMES", "COMPLAINT_STATUSES", "list_complaints", "get_complaint", "resolve_complaint",
           "complaint_events"]
