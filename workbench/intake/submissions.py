"""Vendor intake and the submission lifecycle, enforced for the acting user.

Every function takes the acting user first; reads are narrowed to what that user may see
(a vendor: its organisation; a reviewer: its assignments; the secretary: everything), and
every state change writes a chained event in the same transaction.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError

from ..registry.db import Registry
from ..errors import NotFound, ValidationFailed, WorkbenchError
from ..registry.models import (
    SYSTEM,
    Actor,
    Attachment,
    Dossier,
    Message,
    Organisation,
    Role,
    Status,
    Submission,
    bin_is_valid,
    missing_fields,
    now_iso,
)
from ..registry.permissions import require
from ..registry.auth import check_active
from ..textsafe import clean_name, clean_text, limit_text

NO_SUBMISSION = "sub.not_found"
BAD_BIN = "sub.bad_bin"
BIN_TAKEN = "sub.bin_taken"
BAD_ORG_NAME = "sub.bad_org_name"
BAD_EMAIL = "sub.bad_email"
NO_ORG = "sub.no_org"
NOT_EDITABLE = "sub.not_editable"
INCOMPLETE = "sub.incomplete"
MISSING_FIELD = "sub.missing_field"
BAD_FIELD = "sub.bad_field"
BAD_TRANSITION = "sub.bad_transition"
EMPTY_MESSAGE = "sub.empty_message"
NEED_REASON = "sub.need_reason"
NOT_LABELLED = "sub.not_labelled"
CONFLICT_BLOCKS = "sub.conflict_blocks"
NOT_A_REVIEWER = "sub.not_a_reviewer"
BAD_PURPOSE = "sub.bad_purpose"
REF_NOT_YOURS = "hardening.ref.not_yours"
NEED_APPEAL_REASON = "sub.need_appeal_reason"

#: What may be uploaded as what: documents for the dossier, model outputs for the tests.
KINDS_BY_PURPOSE: dict[str, tuple[str, ...]] = {
    "document": ("pdf", "docx", "png", "jpeg"),
    "outputs": ("csv", "tsv", "xlsx", "parquet", "jsonl"),
}

EDITABLE = (Status.DRAFT, Status.RETURNED)
DECIDED = (Status.APPROVED, Status.APPROVED_WITH_CONDITIONS, Status.REJECTED)

#: (from status, action) -> to status. The lifecycle of SPEC section 3 as data.
TRANSITIONS: dict[tuple[Status, str], Status] = {
    (Status.DRAFT, "submit"): Status.SUBMITTED,
    (Status.RETURNED, "submit"): Status.SUBMITTED,
    (Status.SUBMITTED, "start_screening"): Status.SCREENING,
    (Status.SCREENING, "screen_complete"): Status.IN_REVIEW,
    (Status.SCREENING, "screen_return"): Status.RETURNED,
    (Status.SUBMITTED, "screen_complete"): Status.IN_REVIEW,
    (Status.SUBMITTED, "screen_return"): Status.RETURNED,
    (Status.IN_REVIEW, "ask"): Status.CLARIFICATION,
    (Status.CLARIFICATION, "ask"): Status.CLARIFICATION,
    (Status.CLARIFICATION, "answer"): Status.IN_REVIEW,
    (Status.IN_REVIEW, "to_committee"): Status.COMMITTEE,
    (Status.COMMITTEE, "back_to_review"): Status.IN_REVIEW,
    (Status.COMMITTEE, "approve"): Status.APPROVED,
    (Status.COMMITTEE, "approve_with_conditions"): Status.APPROVED_WITH_CONDITIONS,
    (Status.COMMITTEE, "reject"): Status.REJECTED,
    (Status.COMMITTEE, "return"): Status.RETURNED,
    (Status.APPROVED, "appeal"): Status.APPEAL,
    (Status.APPROVED_WITH_CONDITIONS, "appeal"): Status.APPEAL,
    (Status.REJECTED, "appeal"): Status.APPEAL,
    (Status.APPEAL, "re_review"): Status.IN_REVIEW,
}


def next_status(current: Status, action: str) -> Status:
    try:
        return TRANSITIONS[(current, action)]
    except KeyError:
        raise WorkbenchError(BAD_TRANSITION, status=current.value, action=action) from None


# -- organisations -----------------------------------------------------------------------

def _org(row: dict) -> Organisation:
    return Organisation(**{k: row[k] for k in Organisation.model_fields})


class Registration(Organisation):
    """A new organisation and the login name its first vendor account was given."""

    username: str


def register_vendor(reg: Registry, actor: Actor, *, org_name: str, bin: str, contact_email: str,
                    username: str, password: str, display_name: str = "", contact_phone: str = "") -> Registration:
    """A visitor registers an organisation and its first vendor account, together or not at all.

    The account's login name is the wanted ``username`` with a random number added
    (``jana-4821``), returned in ``Registration.username``: a visitor never picks a whole
    name, so registering cannot reveal whether an account exists.
    """
    from ..registry import auth

    require(actor, "org.register")
    email = (contact_email or "").strip()
    if "@" not in email or len(email) > 200:
        raise ValidationFailed("sub.org_invalid", problems=[WorkbenchError(BAD_EMAIL)])
    problems = auth.password_problems(password, username) + (
        [WorkbenchError(auth.BAD_USERNAME)] if not (username or "").strip() else [])
    if problems:
        raise ValidationFailed("auth.user_invalid", problems=problems)
    with reg.transaction():
        org = _create_org(reg, actor, name=org_name, bin=bin, contact_email=email, contact_phone=contact_phone,
                          bind_user=None)
        login_name = auth.new_vendor_username(reg, username)
        auth.create_user(reg, SYSTEM, username=login_name, password=password, role=Role.VENDOR,
                         display_name=display_name or (username or "").strip(), org_id=org.id)
    return Registration(**org.model_dump(), username=login_name)


def create_organisation(reg: Registry, actor: Actor, *, name: str, bin: str, contact_email: str = "",
                        contact_phone: str = "") -> Organisation:
    """An admin creates an organisation before adding its vendor accounts."""
    require(actor, "users.manage")
    return _create_org(reg, actor, name=name, bin=bin, contact_email=contact_email,
                       contact_phone=contact_phone, bind_user=None)


def _create_org(reg: Registry, actor: Actor, *, name: str, bin: str, contact_email: str, contact_phone: str,
                bind_user: int | None) -> Organisation:
    name, bin = clean_name(name, max_chars=10_000), (bin or "").strip()
    problems = []
    if not (2 <= len(name) <= 200):
        problems.append(WorkbenchError(BAD_ORG_NAME))
    with reg.transaction():  # the BIN check and the insert are one step
        if not bin_is_valid(bin):
            problems.append(WorkbenchError(BAD_BIN, bin=bin))
        elif reg.one("SELECT id FROM organisations WHERE bin = ?", (bin,)):
            problems.append(WorkbenchError(BIN_TAKEN, bin=bin))
        if problems:
            raise ValidationFailed("sub.org_invalid", problems=problems)
        org_id = reg.insert("organisations", {"name": name, "bin": bin, "contact_email": clean_name(contact_email),
                                              "contact_phone": clean_name(contact_phone, max_chars=50),
                                              "created_at": now_iso()})
        if bind_user is not None:
            reg.update("users", bind_user, {"org_id": org_id})
        reg.record(actor, "org.registered", "organisation", org_id, {"name": name, "bin": bin})
    return get_organisation(reg, org_id)


def get_organisation(reg: Registry, org_id: int) -> Organisation:
    row = reg.one("SELECT * FROM organisations WHERE id = ?", (org_id,))
    if row is None:
        raise NotFound(NO_ORG)
    return _org(row)


def list_organisations(reg: Registry, actor: Actor) -> list[Organisation]:
    require(actor, "users.manage")
    return [_org(r) for r in reg.query("SELECT * FROM organisations ORDER BY name")]


# -- reading, narrowed to the actor ------------------------------------------------------------

def _row_to_submission(row: dict) -> Submission:
    return Submission(
        id=row["id"], org_id=row["org_id"], org_name=row.get("org_name") or "", created_by=row["created_by"],
        tool_name=row["tool_name"], tool_version=row["tool_version"], status=Status(row["status"]),
        dossier=Dossier(**json.loads(row["dossier"])), tier=row.get("tier"), previous_id=row.get("previous_id"),
        created_at=row["created_at"], updated_at=row["updated_at"], submitted_at=row.get("submitted_at"),
    )


_SELECT = ("SELECT s.*, o.name AS org_name FROM submissions s "
           "JOIN organisations o ON o.id = s.org_id")


def is_assigned(reg: Registry, reviewer_id: int | None, submission_id: int) -> bool:
    return reg.one("SELECT 1 AS x FROM assignments WHERE submission_id = ? AND reviewer_id = ?",
                   (submission_id, reviewer_id)) is not None


def _visible(reg: Registry, actor: Actor, row: dict) -> bool:
    if actor.role is Role.SECRETARY:
        return True
    if actor.role is Role.VENDOR:
        return actor.org_id is not None and row["org_id"] == actor.org_id
    if actor.role is Role.REVIEWER:
        return row["status"] not in (Status.DRAFT.value,) and is_assigned(reg, actor.user_id, row["id"])
    return False


def get_submission(reg: Registry, actor: Actor, submission_id: int) -> Submission:
    """One submission, if the actor may see it. Otherwise ``NotFound``: a vendor cannot even
    learn that another vendor's submission exists."""
    require(actor, "submission.view")
    check_active(reg, actor)
    row = reg.one(_SELECT + " WHERE s.id = ?", (submission_id,))
    if row is None or not _visible(reg, actor, row):
        raise NotFound(NO_SUBMISSION, id=submission_id)
    return _row_to_submission(row)


def list_submissions(reg: Registry, actor: Actor, *, status: Status | str | None = None) -> list[Submission]:
    require(actor, "submission.list")
    check_active(reg, actor)
    where, params = [], []
    if actor.role is Role.VENDOR:
        where.append("s.org_id = ?")
        params.append(actor.org_id if actor.org_id is not None else -1)
    elif actor.role is Role.REVIEWER:
        where.append("s.id IN (SELECT submission_id FROM assignments WHERE reviewer_id = ?)")
        where.append("s.status != 'draft'")
        params.append(actor.user_id)
    if status is not None:
        where.append("s.status = ?")
        params.append(Status(status).value)
    sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY s.updated_at DESC, s.id DESC"
    return [_row_to_submission(r) for r in reg.query(sql, tuple(params))]


# -- vendor: dossier, drafts, submission -----------------------------------------------------

_NAME_FIELDS = ("tool_name", "tool_version", "contact_person", "data_storage_location", "data_processing_location")


def _validated_dossier(data: dict[str, Any] | Dossier) -> Dossier:
    if isinstance(data, Dossier):
        data = data.model_dump()
    # Names lose NUL, control and bidi-override characters; longer text keeps its line breaks.
    data = {k: (clean_name(v, max_chars=10_000) if k in _NAME_FIELDS else clean_text(v)) if isinstance(v, str) else v
            for k, v in data.items()}
    try:
        return Dossier(**data)
    except ValidationError as exc:
        problems = [WorkbenchError(BAD_FIELD, field=".".join(str(p) for p in e["loc"]) or "-", problem=e["msg"])
                    for e in exc.errors()]
        raise ValidationFailed("sub.dossier_invalid", problems=problems) from None


def create_submission(reg: Registry, actor: Actor, dossier: dict[str, Any] | Dossier | None = None,
                      *, previous_id: int | None = None) -> Submission:
    """Start a draft for the actor's organisation."""
    require(actor, "submission.create")
    if actor.org_id is None:
        raise WorkbenchError(NO_ORG)
    d = _validated_dossier(dossier or {})
    now = now_iso()
    with reg.transaction():
        if previous_id is not None:  # only the vendor's own decided submission can be superseded
            try:
                prev = _own_for_vendor(reg, actor, previous_id)
            except NotFound:
                raise NotFound(REF_NOT_YOURS, id=previous_id) from None
            if prev.status not in DECIDED:
                raise WorkbenchError(NOT_LABELLED)
        sub_id = reg.insert("submissions", {
            "org_id": actor.org_id, "created_by": actor.user_id, "tool_name": d.tool_name,
            "tool_version": d.tool_version, "status": Status.DRAFT.value, "dossier": d.model_dump_json(),
            "created_at": now, "updated_at": now, "previous_id": previous_id,
        })
        reg.record(actor, "submission.created", "submission", sub_id,
                   {"tool_name": d.tool_name, "previous_id": previous_id})
    return get_submission(reg, actor, sub_id)


def _own_for_vendor(reg: Registry, actor: Actor, submission_id: int) -> Submission:
    sub = get_submission(reg, actor, submission_id)
    if actor.role is not Role.VENDOR or sub.org_id != actor.org_id:
        raise NotFound(NO_SUBMISSION, id=submission_id)
    return sub


def save_draft(reg: Registry, actor: Actor, submission_id: int, changes: dict[str, Any]) -> Submission:
    """Merge ``changes`` into the dossier and save; nothing is saved if any field is invalid."""
    require(actor, "submission.edit")
    with reg.transaction():  # re-read under the write lock: a submitted dossier is never edited
        sub = _own_for_vendor(reg, actor, submission_id)
        if sub.status not in EDITABLE:
            raise WorkbenchError(NOT_EDITABLE, status=sub.status.value)
        d = _validated_dossier({**sub.dossier.model_dump(), **changes})
        reg.update("submissions", submission_id, {"dossier": d.model_dump_json(), "tool_name": d.tool_name,
                                                  "tool_version": d.tool_version, "updated_at": now_iso()})
        reg.record(actor, "submission.draft_saved", "submission", submission_id, {"fields": sorted(changes)})
    return get_submission(reg, actor, submission_id)


def submit(reg: Registry, actor: Actor, submission_id: int) -> Submission:
    require(actor, "submission.submit")
    with reg.transaction():
        sub = _own_for_vendor(reg, actor, submission_id)
        missing = missing_fields(sub.dossier)
        if missing:
            raise ValidationFailed(INCOMPLETE, problems=[WorkbenchError(MISSING_FIELD, field=f) for f in missing])
        to = next_status(sub.status, "submit")
        reg.update("submissions", submission_id, {"status": to.value, "submitted_at": now_iso(),
                                                  "updated_at": now_iso()})
        reg.record(actor, "submission.submitted", "submission", submission_id,
                   {"from": sub.status.value, "to": to.value, "dossier_sha256": _sha(sub.dossier.model_dump_json())})
    return get_submission(reg, actor, submission_id)


def new_version(reg: Registry, actor: Actor, previous_id: int, *, tool_version: str) -> Submission:
    """A new version of a decided tool: a new draft linked to the earlier submission."""
    require(actor, "submission.new_version")
    prev = _own_for_vendor(reg, actor, previous_id)
    if prev.status not in DECIDED:
        raise WorkbenchError(NOT_LABELLED)
    dossier = prev.dossier.model_copy(update={"tool_version": tool_version})
    return create_submission(reg, actor, dossier, previous_id=previous_id)


def version_chain(reg: Registry, actor: Actor, submission_id: int) -> list[Submission]:
    """The submission and its earlier versions, oldest first."""
    chain = [get_submission(reg, actor, submission_id)]
    while chain[0].previous_id is not None:
        chain.insert(0, get_submission(reg, actor, chain[0].previous_id))
    return chain


#: Events a vendor sees in its submission's history: the lifecycle, not reviewers' drafts.
VENDOR_HISTORY = ("submission.", "attachment.added", "decision.recorded", "audit_pdf.signed")


def history(reg: Registry, actor: Actor, submission_id: int) -> list:
    """The submission's events, oldest first; a vendor sees the lifecycle events only."""
    get_submission(reg, actor, submission_id)
    events = reg.events("submission", submission_id)
    if actor.role is Role.VENDOR:
        events = [e for e in events if e.action.startswith(VENDOR_HISTORY)]
    return events


# -- secretary: screening and assignment ------------------------------------------------------

def _transition(reg: Registry, actor: Actor, submission_id: int, action: str,
                payload: dict | None = None) -> Submission:
    """Move a submission by ``action``: its status is re-read and checked inside the write
    transaction, so two people acting at once cannot both move it."""
    with reg.transaction():
        sub = get_submission(reg, actor, submission_id)
        to = next_status(sub.status, action)
        reg.update("submissions", sub.id, {"status": to.value, "updated_at": now_iso()})
        reg.record(actor, f"submission.{action}", "submission", sub.id,
                   {"from": sub.status.value, "to": to.value, **(payload or {})})
    return get_submission(reg, actor, sub.id)


def screen(reg: Registry, actor: Actor, submission_id: int, *, complete: bool, reasons: str = "") -> Submission:
    """The secretary's completeness check: into review, or back to the vendor with reasons."""
    require(actor, "submission.screen")
    reasons = limit_text(reasons, "message", field="reasons")
    if not complete and not reasons:
        raise WorkbenchError(NEED_REASON)
    with reg.transaction():
        action = "screen_complete" if complete else "screen_return"
        next_status(get_submission(reg, actor, submission_id).status, action)  # refuse before writing
        if not complete:
            _add_message(reg, actor, submission_id, "screening", reasons)
        return _transition(reg, actor, submission_id, action, {"reasons": reasons})


def list_reviewers(reg: Registry, actor: Actor) -> list[dict[str, Any]]:
    require(actor, "reviewer.assign")
    return reg.query("SELECT id, username, display_name FROM users WHERE role = 'reviewer' AND active = 1 "
                     "ORDER BY display_name")


def assign_reviewer(reg: Registry, actor: Actor, submission_id: int, reviewer_id: int) -> None:
    """Assign a reviewer; refused if that reviewer declared a conflict of interest."""
    require(actor, "reviewer.assign")
    with reg.transaction():  # the reviewer's state and conflicts are read under the write lock
        get_submission(reg, actor, submission_id)
        reviewer = reg.one("SELECT role, display_name FROM users WHERE id = ? AND active = 1", (reviewer_id,))
        if reviewer is None or reviewer["role"] != Role.REVIEWER.value:
            raise WorkbenchError(NOT_A_REVIEWER)
        conflict = reg.one("SELECT has_conflict FROM conflicts WHERE submission_id = ? AND reviewer_id = ?",
                           (submission_id, reviewer_id))
        if conflict and conflict["has_conflict"]:
            raise WorkbenchError(CONFLICT_BLOCKS, name=reviewer["display_name"])
        reg.conn.execute("INSERT OR IGNORE INTO assignments (submission_id, reviewer_id, assigned_by, assigned_at)"
                         " VALUES (?, ?, ?, ?)", (submission_id, reviewer_id, actor.user_id, now_iso()))
        reg.record(actor, "reviewer.assigned", "submission", submission_id, {"reviewer_id": reviewer_id})


def assigned_reviewers(reg: Registry, actor: Actor, submission_id: int) -> list[dict[str, Any]]:
    get_submission(reg, actor, submission_id)
    return reg.query("SELECT u.id, u.display_name, u.username, c.has_conflict, c.note FROM assignments a "
                     "JOIN users u ON u.id = a.reviewer_id LEFT JOIN conflicts c "
                     "ON c.submission_id = a.submission_id AND c.reviewer_id = a.reviewer_id "
                     "WHERE a.submission_id = ? ORDER BY u.display_name", (submission_id,))


def declare_conflict(reg: Registry, actor: Actor, submission_id: int, *, has_conflict: bool,
                     note: str = "") -> None:
    """A reviewer's conflict-of-interest declaration. A conflict ends the assignment."""
    require(actor, "conflict.declare")
    note = limit_text(note, "note", field="note")
    with reg.transaction():
        get_submission(reg, actor, submission_id)
        reg.conn.execute(
            "INSERT INTO conflicts (submission_id, reviewer_id, has_conflict, note, declared_at) VALUES (?,?,?,?,?) "
            "ON CONFLICT(submission_id, reviewer_id) DO UPDATE SET has_conflict = excluded.has_conflict, "
            "note = excluded.note, declared_at = excluded.declared_at",
            (submission_id, actor.user_id, int(has_conflict), note.strip(), now_iso()))
        if has_conflict:
            reg.conn.execute("DELETE FROM assignments WHERE submission_id = ? AND reviewer_id = ?",
                             (submission_id, actor.user_id))
        reg.record(actor, "conflict.declared", "submission", submission_id,
                   {"has_conflict": has_conflict, "note": note.strip()})


def conflict_declared(reg: Registry, actor: Actor, submission_id: int) -> bool | None:
    """None if the reviewer has not declared yet; else whether they declared a conflict."""
    row = reg.one("SELECT has_conflict FROM conflicts WHERE submission_id = ? AND reviewer_id = ?",
                  (submission_id, actor.user_id))
    return None if row is None else bool(row["has_conflict"])


UNKNOWN_TIER = "hardening.tier.unknown"
TIER_TOO_LATE = "hardening.tier.too_late"
TIER_NEEDS_REASON = "hardening.tier.need_reason"
#: Statuses in which the secretary may still re-tier a submission (before the committee).
RETIERABLE = (Status.DRAFT, Status.SUBMITTED, Status.SCREENING, Status.RETURNED, Status.IN_REVIEW,
              Status.CLARIFICATION)


def check_tier(tier: str | None) -> None:
    """Refuse a tier the rules do not know (a translated message, not a ``KeyError``)."""
    from ..review import rules

    if tier is not None and tier not in rules.TIER_POLICY:
        raise WorkbenchError(UNKNOWN_TIER, tier=str(tier)[:40], allowed=", ".join(rules.TIER_POLICY))


def required_tests(tier: str | None, model_type: str) -> list[str]:
    """The tests a tier demands before a label: ``fairness`` and/or ``generative``."""
    from ..review import rules

    policy = rules.TIER_POLICY[tier or "high"]
    return (["fairness"] if policy.fairness_tests else []) + (
        ["generative"] if policy.generative_tests and model_type == "generative" else [])


def set_tier(reg: Registry, actor: Actor, submission_id: int, tier: str, *, reason: str) -> list[str]:
    """The secretary re-tiers a submission before it reaches the committee, with a reason.

    The reason, the old and new tier and the tests the new tier requires are logged; the
    decision later checks the tests of whatever tier the submission has then. Returns the
    required tests.
    """
    require(actor, "committee.open")
    check_tier(tier)
    reason = limit_text(reason, "reason", field="reason")
    if not reason:
        raise WorkbenchError(TIER_NEEDS_REASON)
    with reg.transaction():  # status read and tier written under one write lock
        sub = get_submission(reg, actor, submission_id)
        if sub.status not in RETIERABLE:
            raise WorkbenchError(TIER_TOO_LATE, status=sub.status.value)
        tests = required_tests(tier, sub.dossier.model_type or "other")
        reg.update("submissions", submission_id, {"tier": tier, "updated_at": now_iso()})
        reg.record(actor, "submission.tier_set", "submission", submission_id,
                   {"from": sub.tier, "tier": tier, "reason": reason, "required_tests": tests})
    return tests


def send_to_committee(reg: Registry, actor: Actor, submission_id: int) -> Submission:
    require(actor, "committee.open")
    return _transition(reg, actor, submission_id, "to_committee")


# -- appeals -------------------------------------------------------------------------------------

class Appeal(BaseModel):
    id: int
    submission_id: int
    from_status: str
    reasons: str
    filed_at: str
    outcome: str | None = None
    outcome_note: str = ""
    decided_at: str | None = None
    re_review_id: int | None = None


def appeal(reg: Registry, actor: Actor, submission_id: int, reasons: str) -> Appeal:
    """The vendor contests a decision; the secretary then dismisses it or orders a re-review."""
    require(actor, "submission.appeal")
    reasons = limit_text(reasons, "reason", field="reasons")
    if not reasons:
        raise WorkbenchError(NEED_APPEAL_REASON)
    with reg.transaction():
        sub = _own_for_vendor(reg, actor, submission_id)
        to = next_status(sub.status, "appeal")
        appeal_id = reg.insert("appeals", {"submission_id": sub.id, "from_status": sub.status.value,
                                           "reasons": reasons.strip(), "filed_by": actor.user_id, "filed_at": now_iso()})
        reg.update("submissions", sub.id, {"status": to.value, "updated_at": now_iso()})
        reg.record(actor, "submission.appeal", "submission", sub.id,
                   {"appeal_id": appeal_id, "from": sub.status.value, "to": to.value, "reasons_sha256": _sha(reasons)})
    return open_appeal(reg, actor, sub.id)


def open_appeal(reg: Registry, actor: Actor, submission_id: int) -> Appeal | None:
    get_submission(reg, actor, submission_id)
    row = reg.one("SELECT * FROM appeals WHERE submission_id = ? ORDER BY id DESC LIMIT 1", (submission_id,))
    return Appeal(**{k: row[k] for k in Appeal.model_fields}) if row else None


def decide_appeal(reg: Registry, actor: Actor, submission_id: int, *, re_review: bool, note: str) -> Appeal:
    """Dismiss an appeal (the decision stands) or order a re-review: a new submission linked
    to the contested one, with the same dossier and files, straight into review."""
    require(actor, "appeal.decide")
    note = limit_text(note, "reason", field="note")
    if not note:
        raise WorkbenchError(NEED_REASON)
    with reg.transaction():  # status and the open appeal re-read under the write lock
        sub = get_submission(reg, actor, submission_id)
        current = open_appeal(reg, actor, submission_id)
        if sub.status is not Status.APPEAL or current is None or current.outcome is not None:
            raise WorkbenchError(BAD_TRANSITION, status=sub.status.value, action="decide_appeal")
        new_id = None
        if re_review:
            now = now_iso()
            new_id = reg.insert("submissions", {
                "org_id": sub.org_id, "created_by": sub.created_by, "tool_name": sub.tool_name,
                "tool_version": sub.tool_version, "status": Status.IN_REVIEW.value,
                "dossier": sub.dossier.model_dump_json(), "created_at": now, "updated_at": now,
                "submitted_at": now, "previous_id": sub.id})
            reg.conn.execute(
                "INSERT INTO attachments (submission_id, sha256, original_name, size, kind, media_type, purpose,"
                " uploaded_by, uploaded_at) SELECT ?, sha256, original_name, size, kind, media_type, purpose,"
                " uploaded_by, uploaded_at FROM attachments WHERE submission_id = ?", (new_id, sub.id))
            reg.record(actor, "submission.re_review_opened", "submission", new_id, {"appeal_of": sub.id})
        reg.conn.execute("UPDATE appeals SET outcome = ?, outcome_note = ?, decided_by = ?, decided_at = ?,"
                         " re_review_id = ? WHERE id = ?",
                         ("re_review" if re_review else "dismissed", note.strip(), actor.user_id, now_iso(), new_id,
                          current.id))
        # The contested decision stands until a re-review decides otherwise.
        reg.update("submissions", sub.id, {"status": current.from_status, "updated_at": now_iso()})
        reg.record(actor, "submission.appeal_decided", "submission", sub.id,
                   {"appeal_id": current.id, "outcome": "re_review" if re_review else "dismissed",
                    "re_review_id": new_id})
    return open_appeal(reg, actor, submission_id)


# -- clarification thread ------------------------------------------------------------------

def _add_message(reg: Registry, actor: Actor, submission_id: int, kind: str, body: str,
                 item_id: str | None = None) -> int:
    body = limit_text(body, "message", field=kind)
    if not body:
        raise WorkbenchError(EMPTY_MESSAGE)
    with reg.transaction():
        msg_id = reg.insert("messages", {"submission_id": submission_id, "author_id": actor.user_id, "kind": kind,
                                         "item_id": item_id, "body": body, "created_at": now_iso()})
        reg.record(actor, f"message.{kind}", "submission", submission_id,
                   {"message_id": msg_id, "item_id": item_id, "body_sha256": _sha(body)})
    return msg_id


def ask_clarification(reg: Registry, actor: Actor, submission_id: int, question: str,
                      *, item_id: str | None = None) -> Message:
    """A reviewer (or the secretary) asks the vendor; the submission waits for the answer."""
    require(actor, "clarification.request")
    with reg.transaction():
        next_status(get_submission(reg, actor, submission_id).status, "ask")  # refuse before writing
        msg_id = _add_message(reg, actor, submission_id, "question", question, item_id)
        _transition(reg, actor, submission_id, "ask", {"message_id": msg_id})
    return _message(reg, msg_id)


def answer_clarification(reg: Registry, actor: Actor, submission_id: int, answer: str,
                         attachments: list[tuple[bytes, str]] | None = None, *, store=None) -> Message:
    """The vendor answers in the same thread, optionally with new files."""
    require(actor, "clarification.answer")
    answer = limit_text(answer, "message", field="answer")  # refuse a 20 MB answer before the lock
    with reg.transaction():
        sub = _own_for_vendor(reg, actor, submission_id)
        next_status(sub.status, "answer")  # refuse before writing anything
        msg_id = _add_message(reg, actor, submission_id, "answer", answer)
        for data, name in attachments or []:
            # A reviewer may ask for data: a data file goes in as outputs, anything else as a document.
            from .reader import sniff_kind

            purpose = "outputs" if sniff_kind(bytes(data[:65536])) in KINDS_BY_PURPOSE["outputs"] else "document"
            add_attachment(reg, actor, submission_id, data, name, purpose=purpose, store=store,
                           message_id=msg_id)
        _transition(reg, actor, submission_id, "answer", {"message_id": msg_id})
    return _message(reg, msg_id)


def _message(reg: Registry, msg_id: int) -> Message:
    row = reg.one("SELECT m.*, u.display_name AS author_name, u.role AS author_role FROM messages m "
                  "JOIN users u ON u.id = m.author_id WHERE m.id = ?", (msg_id,))
    return Message(**row)


def thread(reg: Registry, actor: Actor, submission_id: int) -> list[Message]:
    get_submission(reg, actor, submission_id)
    rows = reg.query("SELECT m.*, u.display_name AS author_name, u.role AS author_role FROM messages m "
                     "JOIN users u ON u.id = m.author_id WHERE m.submission_id = ? ORDER BY m.id", (submission_id,))
    return [Message(**r) for r in rows]


# -- attachments --------------------------------------------------------------------------------

def add_attachment(reg: Registry, actor: Actor, submission_id: int, data: bytes, original_name: str,
                   *, purpose: str, store, message_id: int | None = None, max_bytes: int | None = None) -> Attachment:
    """Store a file content-addressed and record it. Nothing is written if the file is refused."""
    require(actor, "attachment.upload")
    sub = _own_for_vendor(reg, actor, submission_id)
    if sub.status not in (*EDITABLE, Status.CLARIFICATION):
        raise WorkbenchError(NOT_EDITABLE, status=sub.status.value)
    from ..config import max_upload_bytes

    if purpose not in KINDS_BY_PURPOSE:
        raise WorkbenchError(BAD_PURPOSE, purpose=purpose)
    if message_id is not None and reg.one("SELECT 1 AS x FROM messages WHERE id = ? AND submission_id = ?",
                                          (message_id, submission_id)) is None:
        raise NotFound(REF_NOT_YOURS, id=message_id)  # refused before the file is stored
    limit = max_bytes or max_upload_bytes()
    if purpose == "outputs":
        _check_readable_outputs(data, original_name, limit)
    stored = store.put(data, original_name=original_name, max_bytes=limit, allowed_kinds=KINDS_BY_PURPOSE[purpose])
    with reg.transaction():  # status and the referenced message re-checked under the write lock
        sub = _own_for_vendor(reg, actor, submission_id)
        if sub.status not in (*EDITABLE, Status.CLARIFICATION):
            raise WorkbenchError(NOT_EDITABLE, status=sub.status.value)
        if message_id is not None and reg.one("SELECT 1 AS x FROM messages WHERE id = ? AND submission_id = ?",
                                              (message_id, submission_id)) is None:
            raise NotFound(REF_NOT_YOURS, id=message_id)
        _checkpoint("upload_stored")
        att_id = reg.insert("attachments", {
            "submission_id": submission_id, "sha256": stored.sha256, "original_name": stored.original_name,
            "size": stored.size, "kind": stored.kind, "media_type": stored.media_type, "purpose": purpose,
            "uploaded_by": actor.user_id, "uploaded_at": now_iso(), "message_id": message_id,
        })
        reg.record(actor, "attachment.added", "submission", submission_id,
                   {"attachment_id": att_id, "sha256": stored.sha256, "name": stored.original_name,
                    "purpose": purpose, "size": stored.size})
    return get_attachment(reg, actor, att_id)


def _check_readable_outputs(data, original_name: str, max_bytes: int) -> None:
    """A model-output file must read as a table before it is kept: a file the reader
    refuses (a JSON line nested 30,000 deep, a ragged CSV) is never saved, so no later page
    trips over it."""
    from .reader import HEAD_BYTES, read_table, sniff_kind

    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) > max_bytes:
        return  # a stream is checked by the store's sniffing only; the store refuses the too large
    head = bytes(data[:HEAD_BYTES])
    if sniff_kind(head, complete=len(data) <= HEAD_BYTES) in KINDS_BY_PURPOSE["outputs"]:
        read_table(bytes(data), name=original_name)  # ReaderError: refused, nothing written


def _checkpoint(name: str) -> None:
    """A named point inside an upload's write. Tests replace it to kill the process there."""


def sweep_orphan_files(reg: Registry, store, *, min_age_seconds: float = 3600) -> list[str]:
    """Remove stored files that no attachment records (left by a process killed between
    storing a file and recording it) and temporary files of killed uploads. Files younger
    than ``min_age_seconds`` are kept: another process may be about to record them."""
    import os
    import time

    removed = []
    if not store.files.is_dir():
        return removed
    referenced = {r["sha256"] for r in reg.query("SELECT DISTINCT sha256 FROM attachments")}
    cutoff = time.time() - min_age_seconds
    for path in store.files.rglob("*"):
        if not path.is_file():
            continue
        incoming = path.parent.name == ".incoming"
        if (incoming or (len(path.name) == 64 and path.name not in referenced)) and path.stat().st_mtime <= cutoff:
            os.chmod(path, 0o644)
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


def list_attachments(reg: Registry, actor: Actor, submission_id: int, *, purpose: str | None = None) -> list[Attachment]:
    require(actor, "attachment.read")
    get_submission(reg, actor, submission_id)
    sql, params = "SELECT * FROM attachments WHERE submission_id = ?", [submission_id]
    if purpose:
        sql += " AND purpose = ?"
        params.append(purpose)
    return [Attachment(**r) for r in reg.query(sql + " ORDER BY id", tuple(params))]


def get_attachment(reg: Registry, actor: Actor, attachment_id: int) -> Attachment:
    require(actor, "attachment.read")
    row = reg.one("SELECT * FROM attachments WHERE id = ?", (attachment_id,))
    if row is None:
        raise NotFound(NO_SUBMISSION, id=attachment_id)
    get_submission(reg, actor, row["submission_id"])  # raises if not visible
    return Attachment(**row)


def read_attachment(reg: Registry, actor: Actor, attachment_id: int, *, store) -> bytes:
    att = get_attachment(reg, actor, attachment_id)
    return store.path(att.sha256).read_bytes()


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()

