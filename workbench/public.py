"""What anyone may do without an account: search labels, check one, file a complaint.

Complaints are protected against floods by a per-source rate limit and a small arithmetic
challenge whose answer is checked here, below the UI.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from typing import Any

from pydantic import BaseModel

from .db import Registry
from .errors import NotFound, ValidationFailed, WorkbenchError
from .models import Actor, utcnow
from .permissions import require

NO_LABEL = "public.no_label"
EMPTY_COMPLAINT = "public.empty_complaint"
COMPLAINT_TOO_LONG = "public.complaint_too_long"
BAD_CHALLENGE = "public.bad_challenge"
TOO_MANY = "public.too_many_complaints"
NO_COMPLAINT = "public.no_complaint"
COMPLAINT_INVALID = "public.complaint_invalid"

MAX_COMPLAINT_CHARS = 5000
COMPLAINTS_PER_HOUR = 3

#: Label statuses a school may meet; "expired" is derived from the validity date.
LABEL_STATUSES = ("active", "suspended", "revoked", "expired", "superseded")


class LabelView(BaseModel):
    id: str
    tool_name: str
    tool_version: str
    vendor: str
    tier: str
    scope: dict[str, Any]
    conditions: list[str]
    valid_from: str
    valid_until: str
    status: str
    status_reason: str = ""
    submission_id: int
    pdf_sha256: str | None = None


def effective_status(stored: str, valid_until: str, today: dt.date | None = None) -> str:
    """Expiry is derived when read, so no scheduler is needed."""
    today = today or utcnow().date()
    if stored == "active" and dt.date.fromisoformat(valid_until[:10]) < today:
        return "expired"
    return stored


def _label(row: dict, today: dt.date | None = None) -> LabelView:
    return LabelView(
        id=row["id"], tool_name=row["tool_name"], tool_version=row["tool_version"], vendor=row["vendor"],
        tier=row["tier"], scope=json.loads(row["scope"]), conditions=json.loads(row["conditions"]),
        valid_from=row["valid_from"], valid_until=row["valid_until"],
        status=effective_status(row["status"], row["valid_until"], today), status_reason=row["status_reason"],
        submission_id=row["submission_id"], pdf_sha256=row["pdf_sha256"],
    )


def search_labels(reg: Registry, actor: Actor, *, text: str = "", tier: str | None = None,
                  status: str | None = None, language: str | None = None, subject: str = "",
                  grade: int | None = None, sort: str = "tool", limit: int = 200,
                  today: dt.date | None = None) -> list[LabelView]:
    """Labels matching every given filter. Text matches tool, vendor or label ID."""
    require(actor, "registry.search")
    where, params = [], []
    if text.strip():
        like = f"%{text.strip().lower()}%"
        where.append("(lower(tool_name) LIKE ? OR lower(vendor) LIKE ? OR lower(id) LIKE ?)")
        params += [like, like, like]
    if tier:
        where.append("tier = ?")
        params.append(tier)
    if language:
        where.append("EXISTS (SELECT 1 FROM json_each(scope, '$.languages') WHERE value = ?)")
        params.append(language)
    if subject.strip():
        where.append("EXISTS (SELECT 1 FROM json_each(scope, '$.subjects') WHERE lower(value) LIKE ?)")
        params.append(f"%{subject.strip().lower()}%")
    if grade is not None:
        where.append("EXISTS (SELECT 1 FROM json_each(scope, '$.grades') WHERE value = ?)")
        params.append(int(grade))
    order = {"tool": "tool_name COLLATE NOCASE", "newest": "valid_from DESC", "expiry": "valid_until"}.get(sort, "tool_name")
    rows = reg.query("SELECT * FROM labels" + (" WHERE " + " AND ".join(where) if where else "") +
                     f" ORDER BY {order}, id", tuple(params))
    labels = [_label(r, today) for r in rows]
    if status:
        labels = [label for label in labels if label.status == status]
    return labels[:limit]


def get_label(reg: Registry, actor: Actor, label_id: str, today: dt.date | None = None) -> LabelView:
    require(actor, "label.view")
    row = reg.one("SELECT * FROM labels WHERE id = ?", ((label_id or "").strip().upper(),))
    if row is None:
        raise NotFound(NO_LABEL, id=(label_id or "").strip())
    return _label(row, today)


# -- complaints -------------------------------------------------------------------------

class Challenge(BaseModel):
    a: int
    b: int
    token: str


def _challenge_key(reg: Registry) -> bytes:
    key = reg.get_meta("challenge_key")
    if key is None:
        key = secrets.token_hex(32)
        reg.set_meta("challenge_key", key)
    return bytes.fromhex(key)


def new_challenge(reg: Registry) -> Challenge:
    """A small sum for the complaint form; the token lets the service check the answer."""
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    nonce = secrets.token_hex(8)
    mac = hmac.new(_challenge_key(reg), f"{nonce}:{a + b}".encode(), hashlib.sha256).hexdigest()
    return Challenge(a=a, b=b, token=f"{nonce}:{mac}")


def _challenge_ok(reg: Registry, token: str, answer: str) -> bool:
    try:
        nonce, mac = token.split(":", 1)
        value = int(str(answer).strip())
    except (ValueError, AttributeError):
        return False
    expected = hmac.new(_challenge_key(reg), f"{nonce}:{value}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, expected)


class ComplaintView(BaseModel):
    reference: str
    label_id: str | None
    tool_name: str
    status: str
    outcome: str | None
    outcome_note: str
    created_at: str


def file_complaint(reg: Registry, actor: Actor, *, body: str, challenge_token: str, challenge_answer: str,
                   source: str, label_id: str | None = None, tool_name: str = "", contact: str = "",
                   now: dt.datetime | None = None) -> ComplaintView:
    """Record a complaint and return its reference number. ``source`` identifies the
    sender for the rate limit (a browser session); only its hash is stored."""
    require(actor, "complaint.file")
    now = now or utcnow()
    body = (body or "").strip()
    problems = []
    if not body:
        problems.append(WorkbenchError(EMPTY_COMPLAINT))
    if len(body) > MAX_COMPLAINT_CHARS:
        problems.append(WorkbenchError(COMPLAINT_TOO_LONG, max=MAX_COMPLAINT_CHARS))
    if not _challenge_ok(reg, challenge_token, challenge_answer):
        problems.append(WorkbenchError(BAD_CHALLENGE))
    if label_id:
        label_id = label_id.strip().upper()
        if reg.one("SELECT id FROM labels WHERE id = ?", (label_id,)) is None:
            problems.append(WorkbenchError(NO_LABEL, id=label_id))
    if problems:
        raise ValidationFailed(COMPLAINT_INVALID, problems=problems)
    source_hash = hashlib.sha256(source.encode()).hexdigest()
    since = (now - dt.timedelta(hours=1)).isoformat()
    recent = reg.one("SELECT count(*) AS n FROM complaints WHERE source_hash = ? AND created_at > ?",
                     (source_hash, since))["n"]
    if recent >= COMPLAINTS_PER_HOUR:
        raise WorkbenchError(TOO_MANY, limit=COMPLAINTS_PER_HOUR)
    reference = f"C-{now.year}-{secrets.token_hex(3).upper()}"
    with reg.transaction():
        reg.insert("complaints", {"reference": reference, "label_id": label_id or None,
                                  "tool_name": tool_name.strip()[:200], "body": body, "contact": contact.strip()[:200],
                                  "created_at": now.isoformat(), "source_hash": source_hash})
        reg.record(actor, "complaint.filed", "complaint", reference,
                   {"label_id": label_id, "body_sha256": hashlib.sha256(body.encode()).hexdigest()})
    return complaint_status(reg, actor, reference)


def complaint_status(reg: Registry, actor: Actor, reference: str) -> ComplaintView:
    require(actor, "complaint.track")
    row = reg.one("SELECT * FROM complaints WHERE reference = ?", ((reference or "").strip().upper(),))
    if row is None:
        raise NotFound(NO_COMPLAINT, reference=(reference or "").strip())
    return ComplaintView(**{k: row[k] for k in ComplaintView.model_fields})


__all__ = ["LabelView", "ComplaintView", "Challenge", "search_labels", "get_label", "effective_status",
           "new_challenge", "file_complaint", "complaint_status", "LABEL_STATUSES"]
