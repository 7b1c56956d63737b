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
import hashlib
import secrets

from pydantic import BaseModel

from ..registry.auth import check_active
from ..registry.db import Registry
from ..errors import NotFound, WorkbenchError
from ..registry.models import Actor, now_iso, utcnow
from ..registry.permissions import require
from .visitor import NO_COMPLAINT, get_label
from ..textsafe import limit_text

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
    check_active(reg, actor)
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
    check_active(reg, actor)
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
        raise WorkbenchError(BAD_OUTCOME, outcome=str(outcome)[:40], allowed=", ".join(OUTCOMES))
    note = limit_text(note, "note", field="note")
    if not note:
        raise WorkbenchError(NEED_NOTE)
    from ..decision.labels import change_label  # labels imports public; keep the import graph flat

    with reg.transaction():  # the complaint's status is re-read under the write lock
        complaint = get_complaint(reg, actor, reference, today=today)
        if complaint.status != "open":
            raise WorkbenchError(ALREADY_RESOLVED, reference=complaint.reference)
        needs_label, label_action = OUTCOMES[outcome]
        if needs_label and not complaint.label_id:
            raise WorkbenchError(NEED_LABEL, outcome=outcome)
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


# -- the flood guard of the public complaint form ---------------------------------------------

CHALLENGE_USED = "hardening.challenge.used"
CHALLENGE_FLOOD = "hardening.challenge.too_many"
#: How long a challenge may be answered, and how many one source may fetch per hour.
CHALLENGE_TTL = dt.timedelta(minutes=30)
CHALLENGES_PER_HOUR = 30


def source_hash(source: str | None) -> str:
    """The stored form of a sender's address (never the address itself)."""
    return hashlib.sha256(str(source or "-").encode("utf-8")).hexdigest()


def issue_challenge(reg: Registry, source: str | None = None, *, now: dt.datetime | None = None
                    ) -> tuple[int, int, str]:
    """A small sum for the complaint form: ``(a, b, token)``. The answer is kept in the
    database under the token's hash, so the token can be redeemed once only, whatever
    session presents it. A source (the client's address) may fetch
    ``CHALLENGES_PER_HOUR`` an hour; ``None`` (no address known) is not counted."""
    now = now or utcnow()
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    token = secrets.token_urlsafe(18)
    src = source_hash(source)
    with reg.transaction():  # count and insert as one step
        if source is not None:
            recent = reg.one("SELECT count(*) AS n FROM challenges WHERE source_hash = ? AND issued_at > ?",
                             (src, (now - dt.timedelta(hours=1)).isoformat()))["n"]
            if recent >= CHALLENGES_PER_HOUR:
                raise WorkbenchError(CHALLENGE_FLOOD)
        reg.conn.execute("DELETE FROM challenges WHERE issued_at < ?", ((now - dt.timedelta(days=1)).isoformat(),))
        reg.conn.execute("INSERT INTO challenges (token_hash, answer, source_hash, issued_at) VALUES (?, ?, ?, ?)",
                         (hashlib.sha256(token.encode()).hexdigest(), a + b, src, now.isoformat()))
    return a, b, token


def redeem_challenge(reg: Registry, token: str, answer: str, *, now: dt.datetime | None = None) -> bool:
    """Use a challenge: True if the token is unused, not expired and the answer is right.
    The token is spent by this call whatever the answer (one try per challenge)."""
    now = now or utcnow()
    try:
        value = int(str(answer).strip())
    except (TypeError, ValueError):
        value = None
    digest = hashlib.sha256(str(token or "").encode()).hexdigest()
    with reg.transaction():
        row = reg.conn.execute(
            "UPDATE challenges SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND issued_at > ? "
            "RETURNING answer", (now.isoformat(), digest, (now - CHALLENGE_TTL).isoformat())).fetchone()
    return row is not None and value is not None and row["answer"] == value


def complaint_events(reg: Registry, actor: Actor, reference: str) -> list:
    """The complaint's events (filed, resolved), oldest first, for the queue's detail view."""
    require(actor, ACTION)
    return reg.events("complaint", (reference or "").strip().upper())


__all__ = ["Complaint", "OUTCOMES", "COMPLAINT_STATUSES", "list_complaints", "get_complaint", "resolve_complaint",
           "complaint_events", "issue_challenge", "redeem_challenge", "source_hash", "CHALLENGES_PER_HOUR"]
