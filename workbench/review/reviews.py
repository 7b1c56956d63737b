"""Expert review as services: conflict declaration, risk classification, checklist answers
with autosave, sign-off, and the secretary's side-by-side comparison.

A review freezes the checklist and the risk questionnaire it started with (their JSON
and content hash are stored in the review row), so later edits to ``checklists/`` never
change a past review.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel

from . import rules
from .checklists import (Checklist, RiskQuestionnaire, content_hash, load_checklist, load_risk_questionnaire,
                         parse_checklist, parse_risk_questionnaire)
from ..registry.db import Registry
from ..errors import NotFound, ValidationFailed, WorkbenchError
from ..registry.models import Actor, Role, Status, now_iso
from ..registry.permissions import require
from ..intake.submissions import REF_NOT_YOURS, get_submission, is_assigned, next_status
from ..textsafe import limit_text

CONFLICT_FIRST = "review.conflict_first"
HAS_CONFLICT = "review.has_conflict"
NOT_ASSIGNED = "review.not_assigned"
SIGNED = "review.already_signed"
RISK_FIRST = "review.risk_first"
NOT_ALLOWED = "review.recommendation_refused"
NO_RATIONALE = "review.no_rationale"
UNKNOWN_ITEM = "review.unknown_item"
REVIEWS_MISSING = "review.reviews_missing"
TOO_FEW = "review.too_few_reviewers"

REVIEWABLE = (Status.IN_REVIEW, Status.CLARIFICATION)
TIER_ORDER = ("minimal", "limited", "high", "prohibited")


class Review(BaseModel):
    id: int
    submission_id: int
    reviewer_id: int
    reviewer_name: str = ""
    checklist_version: str
    checklist_hash: str
    risk_answers: dict[str, bool]
    tier: str | None
    answers: dict[str, dict[str, Any]]
    recommendation: str | None
    rationale: str
    status: str
    content_hash: str | None
    updated_at: str
    signed_at: str | None

    @property
    def signed(self) -> bool:
        return self.status == "signed_off"


def _frozen(row: dict) -> tuple[Checklist, RiskQuestionnaire]:
    data = json.loads(row["checklist_json"])
    return parse_checklist(data["checklist"]), parse_risk_questionnaire(data["risk"])


def _review(row: dict) -> Review:
    return Review(
        id=row["id"], submission_id=row["submission_id"], reviewer_id=row["reviewer_id"],
        reviewer_name=row.get("reviewer_name") or "", checklist_version=row["checklist_version"],
        checklist_hash=row["checklist_hash"], risk_answers=json.loads(row["risk_answers"]), tier=row["tier"],
        answers=json.loads(row["answers"]), recommendation=row["recommendation"], rationale=row["rationale"],
        status=row["status"], content_hash=row["content_hash"], updated_at=row["updated_at"],
        signed_at=row["signed_at"])


def tool_type(reg: Registry, actor: Actor, submission_id: int) -> str:
    sub = get_submission(reg, actor, submission_id)
    return sub.dossier.model_type or "other"


def _my_row(reg: Registry, actor: Actor, submission_id: int) -> dict:
    require(actor, "review.edit")
    get_submission(reg, actor, submission_id)  # NotFound unless assigned
    row = reg.one("SELECT * FROM reviews WHERE submission_id = ? AND reviewer_id = ?",
                  (submission_id, actor.user_id))
    if row is None:
        raise WorkbenchError(CONFLICT_FIRST)
    return row


def start_review(reg: Registry, actor: Actor, submission_id: int, *, checklist: Checklist | None = None,
                 questionnaire: RiskQuestionnaire | None = None) -> Review:
    """Open (or resume) the acting reviewer's review; requires a 'no conflict' declaration."""
    require(actor, "review.edit")
    sub = get_submission(reg, actor, submission_id)
    declared = reg.one("SELECT has_conflict FROM conflicts WHERE submission_id = ? AND reviewer_id = ?",
                       (submission_id, actor.user_id))
    if declared is None:
        raise WorkbenchError(CONFLICT_FIRST)
    if declared["has_conflict"]:
        raise WorkbenchError(HAS_CONFLICT)
    row = reg.one("SELECT * FROM reviews WHERE submission_id = ? AND reviewer_id = ?", (submission_id, actor.user_id))
    if row is not None:
        return _review(row)
    if sub.status not in REVIEWABLE:
        raise WorkbenchError("sub.not_editable", status=sub.status.value)
    checklist = checklist or load_checklist()
    questionnaire = questionnaire or load_risk_questionnaire()
    frozen = {"checklist": checklist.model_dump(mode="json"), "risk": questionnaire.model_dump(mode="json")}
    with reg.transaction():
        row = reg.one("SELECT * FROM reviews WHERE submission_id = ? AND reviewer_id = ?",
                      (submission_id, actor.user_id))
        if row is not None:  # started meanwhile in another tab
            return _review(row)
        review_id = reg.insert("reviews", {
            "submission_id": submission_id, "reviewer_id": actor.user_id, "checklist_version": checklist.version,
            "checklist_hash": content_hash(checklist), "checklist_json": json.dumps(frozen, ensure_ascii=False),
            "updated_at": now_iso()})
        reg.record(actor, "review.started", "submission", submission_id,
                   {"review_id": review_id, "checklist_version": checklist.version,
                    "checklist_hash": content_hash(checklist), "risk_version": questionnaire.version})
    return get_review(reg, actor, submission_id)


def get_review(reg: Registry, actor: Actor, submission_id: int) -> Review:
    return _review(_my_row(reg, actor, submission_id))


def frozen_documents(reg: Registry, actor: Actor, submission_id: int,
                     reviewer_id: int | None = None) -> tuple[Checklist, RiskQuestionnaire]:
    """The checklist and questionnaire a review uses (the acting reviewer's, or for the
    secretary, a given reviewer's)."""
    if actor.role is Role.SECRETARY:
        get_submission(reg, actor, submission_id)
        row = reg.one("SELECT * FROM reviews WHERE submission_id = ? AND reviewer_id = ?", (submission_id, reviewer_id))
        if row is None:
            raise WorkbenchError(REVIEWS_MISSING, missing="?")
        return _frozen(row)
    return _frozen(_my_row(reg, actor, submission_id))


def _guard_open(row: dict) -> None:
    if row["status"] == "signed_off":
        raise WorkbenchError(SIGNED)


def _open_row(reg: Registry, actor: Actor, submission_id: int) -> dict:
    """The acting reviewer's review, re-read inside the caller's write transaction and
    refused if it is signed off or the submission has left review."""
    row = _my_row(reg, actor, submission_id)
    _guard_open(row)
    sub = get_submission(reg, actor, submission_id)
    if sub.status not in REVIEWABLE:
        raise WorkbenchError("sub.not_editable", status=sub.status.value)
    return row


def save_risk_answers(reg: Registry, actor: Actor, submission_id: int, answers: dict[str, bool]) -> rules.RiskResult:
    """Store the classification answers and the tier they lead to."""
    with reg.transaction():  # re-read under the write lock: a signed review never changes
        row = _open_row(reg, actor, submission_id)
        _, questionnaire = _frozen(row)
        result = rules.classify_risk(answers, questionnaire)
        reg.update("reviews", row["id"], {"risk_answers": json.dumps(answers), "tier": result.tier,
                                          "updated_at": now_iso()})
        reg.record(actor, "review.risk_classified", "submission", submission_id,
                   {"tier": result.tier, "factors": list(result.factors)})
    return result


def risk_result(reg: Registry, actor: Actor, submission_id: int) -> rules.RiskResult:
    row = _my_row(reg, actor, submission_id)
    _, questionnaire = _frozen(row)
    return rules.classify_risk(json.loads(row["risk_answers"]), questionnaire)


def save_answer(reg: Registry, actor: Actor, submission_id: int, item_id: str, value: str, note: str = "",
                evidence: list[int] | None = None) -> Review:
    """Autosave one checklist answer (with its evidence note and attachment ids)."""
    note = limit_text(note, "note", field="note")
    with reg.transaction():  # re-read under the write lock: a signed review never changes
        row = _open_row(reg, actor, submission_id)
        checklist, _ = _frozen(row)
        try:
            checklist.item(item_id)
        except KeyError:
            raise WorkbenchError(UNKNOWN_ITEM, item=item_id) from None
        evidence = [int(e) for e in (evidence or [])]
        for attachment_id in evidence:  # evidence must be this submission's own files
            if reg.one("SELECT 1 AS x FROM attachments WHERE id = ? AND submission_id = ?",
                       (attachment_id, submission_id)) is None:
                raise NotFound(REF_NOT_YOURS, id=attachment_id)
        answer = rules.Answer(value=value, note=note)
        answers = json.loads(row["answers"])
        answers[item_id] = {**answer.model_dump(), "evidence": evidence}
        reg.update("reviews", row["id"], {"answers": json.dumps(answers, ensure_ascii=False), "updated_at": now_iso()})
        reg.record(actor, "review.answer_saved", "submission", submission_id, {"item": item_id, "value": value})
    return get_review(reg, actor, submission_id)


def _answers_for_rules(review: Review) -> dict[str, dict[str, str]]:
    return {k: {"value": v["value"], "note": v.get("note", "")} for k, v in review.answers.items()}


def summary_of(review: Review, checklist: Checklist, tool: str) -> rules.ReviewSummary:
    return rules.score_review(checklist, _answers_for_rules(review), review.tier or "minimal", tool)


def summary(reg: Registry, actor: Actor, submission_id: int) -> rules.ReviewSummary:
    row = _my_row(reg, actor, submission_id)
    checklist, _ = _frozen(row)
    return summary_of(_review(row), checklist, tool_type(reg, actor, submission_id))


def sign_off(reg: Registry, actor: Actor, submission_id: int, recommendation: str, rationale: str) -> Review:
    """Sign off with a recommendation; refused (with reasons) where the rules forbid it."""
    require(actor, "review.sign_off")
    rationale = limit_text(rationale, "message", field="rationale")
    with reg.transaction():  # what is signed is what is read under the write lock
        row = _open_row(reg, actor, submission_id)
        review = _review(row)
        if not review.tier:
            raise WorkbenchError(RISK_FIRST)
        if not rationale:
            raise WorkbenchError(NO_RATIONALE)
        checklist, _ = _frozen(row)
        result = summary_of(review, checklist, tool_type(reg, actor, submission_id))
        check = rules.recommendation_allowed(result, review.tier, recommendation)
        if not check.allowed:
            raise ValidationFailed(NOT_ALLOWED, problems=[WorkbenchError(r.key, **r.params) for r in check.reasons])
        frozen = {"answers": review.answers, "risk_answers": review.risk_answers, "tier": review.tier,
                  "recommendation": recommendation, "rationale": rationale, "checklist_hash": review.checklist_hash}
        digest = hashlib.sha256(json.dumps(frozen, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        reg.update("reviews", row["id"], {"recommendation": recommendation, "rationale": rationale.strip(),
                                          "status": "signed_off", "signed_at": now_iso(), "content_hash": digest})
        reg.record(actor, "review.signed_off", "submission", submission_id,
                   {"recommendation": recommendation, "tier": review.tier, "content_hash": digest})
    return get_review(reg, actor, submission_id)


# -- the secretary's view ---------------------------------------------------------------------

class Comparison(BaseModel):
    """All reviews of a submission side by side."""

    reviews: list[Review]
    items: list[str]
    disagreements: list[str]
    agreement: rules.Agreement | None
    tier: str | None
    all_signed: bool
    min_reviewers: int


def strictest_tier(tiers: list[str | None]) -> str | None:
    known = [t for t in tiers if t]
    return max(known, key=TIER_ORDER.index) if known else None


def compare(reg: Registry, actor: Actor, submission_id: int) -> Comparison:
    require(actor, "committee.open")
    get_submission(reg, actor, submission_id)
    rows = reg.query("SELECT r.*, u.display_name AS reviewer_name FROM reviews r JOIN users u ON u.id = r.reviewer_id "
                     "WHERE r.submission_id = ? ORDER BY u.display_name", (submission_id,))
    reviews = [_review(r) for r in rows]
    answered = [{k: v["value"] for k, v in r.answers.items()} for r in reviews]
    items = sorted({i for a in answered for i in a}, key=rules.natural_key)
    agreement = None
    if len(reviews) >= 2:
        try:
            agreement = rules.agreement(answered)
        except WorkbenchError:
            agreement = None
    tier = strictest_tier([r.tier for r in reviews])
    assigned = reg.one("SELECT count(*) AS n FROM assignments WHERE submission_id = ?", (submission_id,))["n"]
    return Comparison(reviews=reviews, items=items, disagreements=rules.disagreements(answered) if reviews else [],
                      agreement=agreement, tier=tier,
                      all_signed=bool(reviews) and all(r.signed for r in reviews) and len(reviews) >= assigned,
                      min_reviewers=rules.TIER_POLICY[tier].min_reviewers if tier else 1)


def send_to_committee(reg: Registry, actor: Actor, submission_id: int):
    """Move to the committee once every assigned review is signed off (two or more for high risk)."""
    require(actor, "committee.open")
    with reg.transaction():  # reviews and status read under the write lock
        sub = get_submission(reg, actor, submission_id)
        comparison = compare(reg, actor, submission_id)
        signed = [r for r in comparison.reviews if r.signed]
        if not comparison.all_signed:
            raise WorkbenchError(REVIEWS_MISSING, missing=len(comparison.reviews) - len(signed) or 1)
        # A tier the secretary set (with a logged reason) can raise the reviewers' tier, never lower it.
        tier = strictest_tier([comparison.tier, sub.tier])
        needed = rules.TIER_POLICY[tier].min_reviewers if tier in rules.TIER_POLICY else comparison.min_reviewers
        if len(signed) < needed:
            raise WorkbenchError(TOO_FEW, tier=tier, needed=needed, have=len(signed))
        to = next_status(sub.status, "to_committee")
        reg.update("submissions", submission_id, {"status": to.value, "tier": tier, "updated_at": now_iso()})
        reg.record(actor, "submission.to_committee", "submission", submission_id,
                   {"tier": tier, "reviewers_tier": comparison.tier, "reviews": [r.content_hash for r in signed],
                    "kappa": comparison.agreement.kappa if comparison.agreement else None})
    return get_submission(reg, actor, submission_id)


def reviewable(reg: Registry, actor: Actor, submission_id: int) -> bool:
    return actor.role is Role.REVIEWER and is_assigned(reg, actor.user_id, submission_id)
