"""A complaint's "re-review" that is real (issue 13): resolving a complaint with the outcome
``re_review`` opens a linked case in the secretary's queue (a new submission for the same
tool and version, straight into review, with the dossier, the files and the complaint
attached as a note), and the label reads "under re-review" (``label_state``) until a
decision on the case. The complaint's resolution and the case are one transaction."""

from __future__ import annotations

from ..public.complaints import get_complaint, resolve_complaint
from ..registry.db import Registry
from ..errors import WorkbenchError
from ..registry.models import Actor, Status, now_iso
from ..registry.permissions import require
from ..intake import submissions as subs

NO_LABEL = "staff.rereview_no_label"


def case_of(reg: Registry, reference: str) -> int | None:
    """The re-review case opened for a complaint, if any."""
    for event in reg.events("submission"):
        if event.action == "submission.re_review_opened" and event.payload.get("complaint") == reference:
            return int(event.subject_id)
    return None


def resolve_with_re_review(reg: Registry, actor: Actor, reference: str, note: str) -> int:
    """Close the complaint as "re-review" and open the linked case; returns the case's id."""
    require(actor, "complaint.handle")
    complaint = get_complaint(reg, actor, reference)
    row = reg.one("SELECT submission_id FROM labels WHERE id = ?", (complaint.label_id,)) if complaint.label_id else None
    if row is None:
        raise WorkbenchError(NO_LABEL, reference=reference)
    with reg.transaction():
        resolve_complaint(reg, actor, reference, "re_review", note)
        sub = subs.get_submission(reg, actor, row["submission_id"])
        now = now_iso()
        case_id = reg.insert("submissions", {
            "org_id": sub.org_id, "created_by": sub.created_by, "tool_name": sub.tool_name,
            "tool_version": sub.tool_version, "status": Status.IN_REVIEW.value, "tier": sub.tier,
            "dossier": sub.dossier.model_dump_json(), "created_at": now, "updated_at": now, "submitted_at": now,
            "previous_id": sub.id})
        reg.conn.execute(
            "INSERT INTO attachments (submission_id, sha256, original_name, size, kind, media_type, purpose,"
            " uploaded_by, uploaded_at) SELECT ?, sha256, original_name, size, kind, media_type, purpose,"
            " uploaded_by, uploaded_at FROM attachments WHERE submission_id = ?", (case_id, sub.id))
        reg.insert("messages", {"submission_id": case_id, "author_id": actor.user_id, "kind": "note",
                                "body": f"{complaint.reference}: {complaint.body}\n\n— {note.strip()}",
                                "created_at": now})
        reg.record(actor, "submission.re_review_opened", "submission", case_id,
                   {"complaint": complaint.reference, "label_id": complaint.label_id, "of": sub.id})
    return case_id
