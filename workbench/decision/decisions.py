"""The committee's decision and what it produces: the AI-safe label and the signed audit PDF.

``record_decision`` writes the decision, the label (numbered per year, never reused), the
signed PDF and the events in one transaction: a process killed half-way leaves nothing
half-issued. The PDF's bytes live in the database (table ``audit_pdfs``) and are copied
to ``WORKBENCH_HOME/audits/`` after the commit; ``write_audit_files`` restores any copy a
crash left missing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from . import report_pdf as rp
from ..registry import public_url
from ..review import rules
from ..registry.db import Registry
from ..errors import ValidationFailed, WorkbenchError
from ..review.fairness_runs import latest_runs
from . import genai_report
from ..i18n import normalise_language, t
from ..registry.models import Actor, Submission, now_iso, utcnow
from ..registry.permissions import require
from ..review.reviews import compare, frozen_documents, summary_of
from ..public.visitor import in_reader_language
from ..registry.search import subject_name
from ..intake.submissions import check_tier, get_submission, list_attachments, next_status
from ..textsafe import LIMITS, TOO_LONG

POLICY_PATH = Path(__file__).parent.parent / "policies" / "labels.yaml"

PROHIBITED = "decision.prohibited"
BLOCKING = "decision.blocking"
NEED_CONDITIONS = "decision.need_conditions"
NO_VOTES = "decision.no_votes"
NO_MAJORITY = "decision.no_majority"
DISSENT_REASON = "decision.dissent_reason"
INVALID = "decision.invalid"
NO_RATIONALE = "decision.no_rationale"
CONDITIONS_ON_APPROVE = "decision.conditions_on_plain_approve"
TESTS_MISSING = "decision.tests_missing"

Outcome = Literal["approve", "approve_with_conditions", "reject", "return"]
PDF_OUTCOME = {"approve": "approved", "approve_with_conditions": "approved_with_conditions", "reject": "rejected",
               "return": "returned"}


class LabelPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    validity_months: dict[str, int]
    expiry_warning_days: int = Field(60, ge=1)


@lru_cache(maxsize=1)
def label_policy() -> LabelPolicy:
    return LabelPolicy(**yaml.safe_load(POLICY_PATH.read_text(encoding="utf-8")))


class Vote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member: str = Field(min_length=1, max_length=200)
    vote: Literal["for", "against", "abstain"]
    reason: str = Field("", max_length=3000)


class Scope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grades: list[int] = Field(default_factory=list)
    subjects: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)


class DecisionInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    votes: list[Vote]
    conditions: list[str] = Field(default_factory=list)
    scope: Scope = Field(default_factory=Scope)
    rationale: str = ""
    lang: str = "kk"


class DecisionRecord(BaseModel):
    id: int
    submission_id: int
    outcome: str
    decided_at: str
    label_id: str | None
    pdf_sha256: str | None
    file_name: str | None


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)


def _checkpoint(name: str) -> None:
    """A named point between the steps of a decision. Tests replace it to kill the
    process there and prove that nothing half-written survives."""


def tests_required(sub: Submission) -> bool:
    """Whether the tier demands bias and fairness tests (high) or generative-output tests
    (limited, for a generative tool) before a label can be issued."""
    policy = rules.TIER_POLICY.get(sub.tier or "high")
    if policy is None:
        return False
    return policy.fairness_tests or (policy.generative_tests and sub.dossier.model_type == "generative")


def _validate(sub: Submission, decision: DecisionInput, blocking: list[str], has_tests: bool) -> None:
    problems: list[WorkbenchError] = []
    approving = decision.outcome in ("approve", "approve_with_conditions")
    if approving and tests_required(sub) and not has_tests:
        problems.append(WorkbenchError(TESTS_MISSING, tier=t(f"tier.{sub.tier or 'high'}", normalise_language(decision.lang))))
    if approving and sub.tier == "prohibited":
        problems.append(WorkbenchError(PROHIBITED))
    if approving and blocking:
        problems.append(WorkbenchError(BLOCKING, items=", ".join(blocking)))
    conditions = [c.strip() for c in decision.conditions if c.strip()]
    if decision.outcome == "approve_with_conditions" and not conditions:
        problems.append(WorkbenchError(NEED_CONDITIONS))
    if decision.outcome == "approve" and conditions:
        problems.append(WorkbenchError(CONDITIONS_ON_APPROVE))
    if not decision.votes:
        problems.append(WorkbenchError(NO_VOTES))
    votes_for = sum(v.vote == "for" for v in decision.votes)
    votes_against = sum(v.vote == "against" for v in decision.votes)
    if decision.votes and votes_for <= votes_against:
        problems.append(WorkbenchError(NO_MAJORITY, votes_for=votes_for, votes_against=votes_against))
    for vote in decision.votes:
        if vote.vote == "against" and not vote.reason.strip():
            problems.append(WorkbenchError(DISSENT_REASON, member=vote.member))
    if not decision.rationale.strip():
        problems.append(WorkbenchError(NO_RATIONALE))
    for field, text, kind in [("rationale", decision.rationale, "message"), *(
            ("conditions", c, "reason") for c in decision.conditions)]:
        if len(text) > LIMITS[kind]:
            problems.append(WorkbenchError(TOO_LONG, field=field, max=LIMITS[kind], length=len(text)))
    if problems:
        raise ValidationFailed(INVALID, problems=problems)


def _blocking_items(reg: Registry, actor: Actor, sub: Submission) -> tuple[list[str], list]:
    """Critical items not met in any signed review, and the per-reviewer summaries."""
    comparison = compare(reg, actor, sub.id)
    summaries = []
    for review in comparison.reviews:
        if not review.signed or not review.tier:
            continue
        checklist, _ = frozen_documents(reg, actor, sub.id, review.reviewer_id)
        summaries.append((review, summary_of(review, checklist, sub.dossier.model_type or "other")))
    blocking = sorted({f.item_id for _, s in summaries for f in s.blocking}, key=rules.natural_key)
    return blocking, summaries


def record_decision(wb, actor: Actor, submission_id: int, decision: DecisionInput,
                    *, today: dt.date | None = None) -> DecisionRecord:
    """Record the committee's decision; for an approval, issue the label and the signed PDF.

    Everything is one transaction (``BEGIN IMMEDIATE``), so concurrent decisions get
    consecutive label numbers and a crash leaves no half-issued label.
    """
    require(actor, "decision.record")
    reg: Registry = wb.registry
    with reg.transaction():  # BEGIN IMMEDIATE: the status is read and changed under one write lock
        record = _record_locked(wb, reg, actor, submission_id, decision, today)
    write_audit_files(wb)
    return record


def _record_locked(wb, reg: Registry, actor: Actor, submission_id: int, decision: DecisionInput,
                   today: dt.date | None) -> DecisionRecord:
    sub = get_submission(reg, actor, submission_id)
    to = next_status(sub.status, decision.outcome)
    check_tier(sub.tier)
    blocking, summaries = _blocking_items(reg, actor, sub)
    _validate(sub, decision, blocking, has_tests=bool(latest_runs(reg, actor, sub.id)))
    # The decision's date is the meeting's (given for decisions entered after the meeting);
    # when and by whom it was recorded is in the event log.
    decided_at = now_iso() if today is None else dt.datetime.combine(today, dt.time(12), dt.timezone.utc).isoformat()
    today = today or utcnow().date()
    lang = normalise_language(decision.lang)
    conditions = [c.strip() for c in decision.conditions if c.strip()]
    dissent = [v.model_dump() for v in decision.votes if v.vote == "against"]
    evidence = _evidence(reg, actor, sub, summaries)
    if decision.outcome != "return":  # a signed PDF carries the public URL for ever: check it first
        public_url.ensure_signable(reg)
    with reg.transaction():
        decision_id = reg.insert("decisions", {
            "submission_id": sub.id, "outcome": decision.outcome,
            "votes": json.dumps([v.model_dump() for v in decision.votes], ensure_ascii=False),
            "dissent": json.dumps(dissent, ensure_ascii=False), "conditions": json.dumps(conditions, ensure_ascii=False),
            "scope": decision.scope.model_dump_json(), "rationale": decision.rationale.strip(),
            "decided_by": actor.user_id, "decided_at": decided_at, "evidence": json.dumps(evidence)})
        reg.update("submissions", sub.id, {"status": to.value, "updated_at": now_iso()})
        reg.record(actor, "decision.recorded", "submission", sub.id,
                   {"decision_id": decision_id, "outcome": decision.outcome, "from": sub.status.value, "to": to.value,
                    "evidence_sha256": hashlib.sha256(json.dumps(evidence, sort_keys=True).encode()).hexdigest()})
        _checkpoint("decision_written")
        label = None
        if decision.outcome in ("approve", "approve_with_conditions"):
            label = _issue_label(reg, actor, sub, decision_id, decision.scope, conditions, today)
            _checkpoint("label_written")
        file_name = pdf_sha = None
        if decision.outcome != "return":
            pdf = _signed_pdf(wb, actor, sub, decision, decision_id, label, conditions, summaries, evidence, today, lang)
            pdf_sha = hashlib.sha256(pdf).hexdigest()
            file_name = f"{label['id']}.pdf" if label else f"decision-{decision_id:06d}.pdf"
            reg.insert("audit_pdfs", {"decision_id": decision_id, "label_id": label["id"] if label else None,
                                      "file_name": file_name, "lang": lang, "sha256": pdf_sha, "pdf": pdf,
                                      "created_at": now_iso()})
            reg.conn.execute("UPDATE decisions SET pdf_sha256 = ?, label_id = ? WHERE id = ?",
                             (pdf_sha, label["id"] if label else None, decision_id))
            if label:
                reg.update("labels", label["id"], {"pdf_sha256": pdf_sha})
            reg.record(actor, "audit_pdf.signed", "submission", sub.id,
                       {"decision_id": decision_id, "file": file_name, "sha256": pdf_sha})
            _checkpoint("pdf_written")
    return DecisionRecord(id=decision_id, submission_id=sub.id, outcome=decision.outcome, decided_at=decided_at,
                          label_id=label["id"] if label else None, pdf_sha256=pdf_sha, file_name=file_name)


def _issue_label(reg: Registry, actor: Actor, sub: Submission, decision_id: int, scope: Scope,
                 conditions: list[str], today: dt.date) -> dict:
    policy = label_policy()
    year = today.year
    row = reg.conn.execute("INSERT INTO label_counters (year, last_seq) VALUES (?, 1) "
                           "ON CONFLICT(year) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq",
                           (year,)).fetchone()
    seq = row[0]
    label_id = f"KZ-AIS-{year}-{seq:06d}"
    months = policy.validity_months[sub.tier or "high"]
    org = reg.one("SELECT name FROM organisations WHERE id = ?", (sub.org_id,))["name"]
    label = {"id": label_id, "year": year, "seq": seq, "submission_id": sub.id, "decision_id": decision_id,
             "tool_name": sub.tool_name, "tool_version": sub.tool_version, "vendor": org, "tier": sub.tier or "high",
             "scope": scope.model_dump_json(), "conditions": json.dumps(conditions, ensure_ascii=False),
             "valid_from": today.isoformat(), "valid_until": add_months(today, months).isoformat(),
             "status": "active", "created_at": now_iso(), "policy_version": policy.version}
    reg.insert("labels", label)
    reg.record(actor, "label.issued", "label", label_id,
               {"submission_id": sub.id, "tier": label["tier"], "valid_until": label["valid_until"],
                "policy_version": policy.version})
    if sub.previous_id is not None:  # a new version supersedes the earlier label (of the same vendor only)
        for old in reg.query("SELECT l.id FROM labels l JOIN submissions s ON s.id = l.submission_id "
                             "WHERE l.submission_id = ? AND s.org_id = ? AND l.status IN ('active','suspended')",
                             (sub.previous_id, sub.org_id)):
            reg.update("labels", old["id"], {"status": "superseded", "status_reason": label_id})
            reg.record(actor, "label.superseded", "label", old["id"], {"by": label_id})
    return label


def _evidence(reg: Registry, actor: Actor, sub: Submission, summaries) -> list[dict]:
    """Content hashes of everything the decision rests on."""
    items = [{"name": f"dossier #{sub.id}", "sha256": hashlib.sha256(sub.dossier.model_dump_json().encode()).hexdigest()}]
    items += [{"name": a.original_name, "sha256": a.sha256} for a in list_attachments(reg, actor, sub.id)]
    items += [{"name": f"review: {r.reviewer_name}", "sha256": r.content_hash} for r, _ in summaries if r.content_hash]
    if summaries:
        items.append({"name": f"checklist {summaries[0][0].checklist_version}", "sha256": summaries[0][0].checklist_hash})
    items += [{"name": f"fairness run #{run.id} ({run.attachment_name})", "sha256": run.result_hash}
              for run in latest_runs(reg, actor, sub.id)]
    items += genai_report.evidence(reg, actor, sub.id)
    return items


def _signed_pdf(wb, actor, sub, decision, decision_id, label, conditions, summaries, evidence, today, lang) -> bytes:
    data = build_report(wb.registry, actor, sub, decision, label, conditions, summaries, evidence, today, lang)
    data.log_head = wb.registry.head_anchor()  # the log's head, anchored in the signed PDF (issue 11, item 6)
    pdf = rp.render_audit_pdf(data, lang)
    return wb.keys.sign_pdf(pdf, reason=t("signing.reason_audit", lang))


def build_report(reg, actor, sub, decision, label, conditions, summaries, evidence, today, lang) -> rp.AuditReportData:
    """Assemble the audit PDF's content from the frozen review, fairness runs and decision."""
    d = sub.dossier
    org = reg.one("SELECT name FROM organisations WHERE id = ?", (sub.org_id,))["name"]
    tier = sub.tier or "high"
    rationale: list[str] = []
    principles: dict[str, dict] = {}
    for review, summary in summaries:
        if not rationale and review.tier == tier:
            _, questionnaire = frozen_documents(reg, actor, sub.id, review.reviewer_id)
            rationale = rules.classify_risk(review.risk_answers, questionnaire).explain(lang)
        for section in summary.sections:
            p = principles.setdefault(section.section_id, {"name": section.title.get(lang), "scores": [], "meets": 0,
                                                           "partly": 0, "not_met": 0, "not_applicable": 0,
                                                           "blocking": set(), "conditions": set()})
            if section.score is not None:
                p["scores"].append(section.score)
            p["meets"] += section.meets
            p["partly"] += section.partly
            p["not_met"] += section.not_met
            p["not_applicable"] += section.na
        for f in summary.blocking:
            principles[f.section_id]["blocking"].add(f.item_id)
        for f in summary.conditions:
            principles[f.section_id]["conditions"].add(f.item_id)
    principle_rows = [rp.PrincipleResult(
        name=p["name"], score=sum(p["scores"]) / len(p["scores"]) if p["scores"] else 0.0, meets=p["meets"],
        partly=p["partly"], not_met=p["not_met"], not_applicable=p["not_applicable"],
        blocking=sorted(p["blocking"], key=rules.natural_key), conditions=sorted(p["conditions"], key=rules.natural_key))
        for p in principles.values()]
    checks, charts, headlines = _fairness_sections(reg, actor, sub, lang)
    votes = decision.votes
    return rp.AuditReportData(
        tool=rp.ToolInfo(name=sub.tool_name, version=sub.tool_version or "—", vendor=org,
                         description=getattr(d, f"description_{lang}", "") or d.description_kk or d.description_ru),
        tier=tier, tier_rationale=rationale, principles=principle_rows, fairness=checks, charts=charts,
        fairness_headlines=headlines,
        genai=genai_report.report_sections(reg, actor, sub.id, lang),
        decision=rp.DecisionInfo(
            outcome=PDF_OUTCOME[decision.outcome], date=today,
            votes_for=sum(v.vote == "for" for v in votes), votes_against=sum(v.vote == "against" for v in votes),
            votes_abstain=sum(v.vote == "abstain" for v in votes),
            dissent=[rp.Dissent(member=v.member, reason=v.reason) for v in votes if v.vote == "against"],
            conditions=[in_reader_language(c, lang) for c in conditions], grades=[str(g) for g in decision.scope.grades],
            subjects=[subject_name(s, lang) for s in decision.scope.subjects],
            languages=[t(f"lang.{code}", lang) if code in ("kk", "ru", "en", "other") else code
                       for code in decision.scope.languages]),
        reviewers=[r.reviewer_name for r, _ in summaries],
        label=rp.LabelInfo(id=label["id"], status="active", valid_from=dt.date.fromisoformat(label["valid_from"]),
                           valid_until=dt.date.fromisoformat(label["valid_until"]), verify_url=public_url.verify_url(reg, label["id"], lang))
        if label else None,
        evidence=[rp.EvidenceHash(**e) for e in evidence],
    )


def _fairness_sections(reg, actor, sub, lang) -> tuple[list[rp.FairnessCheck], list[rp.RateChart], list[str]]:
    from ..fairness import render_reason

    checks, charts, headlines = [], [], []
    for run in latest_runs(reg, actor, sub.id):
        result = run.result
        headlines += result.headlines(lang)  # one plain-words line per sensitive feature, shown first
        # Per-feature checks in full; of the many intersectional ones, only the failures
        # (the committee reads the rest in the workbench, and the run hash is in the evidence).
        for c in result.checks:
            if c.level == "intersection" and c.outcome != "fail" and result.marginal_groups:
                continue
            pair = [", ".join(f"{k}={v}" for k, v in g.items()) for g in (c.group, c.reference) if g]
            checks.append(rp.FairnessCheck(
                metric=_metric_name(c.metric, lang), group=" ↔ ".join(pair) or "—",
                value=c.value, ci_low=c.ci_low, ci_high=c.ci_high, threshold=c.threshold, outcome=c.outcome,
                reason=render_reason(c, lang)))
        for feature, groups in (result.marginal_groups or {"": result.groups}).items():
            metric = next((m for m in ("selection_rate", "mean_error", "mean_difference", "refusal_rate")
                           if any(m in g.metrics for g in groups)), None)
            if metric is None:
                continue
            rates = [rp.GroupRate(group=", ".join(f"{k}={v}" for k, v in g.group.items()),
                                  value=None if g.too_small else g.metrics[metric].estimate,
                                  ci_low=None if g.too_small else g.metrics[metric].ci_low,
                                  ci_high=None if g.too_small else g.metrics[metric].ci_high, n=g.n)
                     for g in groups if metric in g.metrics]
            charts.append(rp.RateChart(title=f"{_metric_name(metric, lang)} — {feature}" if feature else
                                       _metric_name(metric, lang), groups=rates))
    return checks, charts[:6], headlines


def _metric_name(metric: str, lang: str) -> str:
    from ..i18n import has_key

    key = f"fairness.metric.{metric}.name"
    return t(key, lang) if has_key(key) else metric


def write_audit_files(wb, *, stale_after: float = 600) -> list[Path]:
    """Copy every stored audit PDF that is missing under ``audits/``; drop stale temp files.

    Several processes may run this at once (two secretaries' decisions): each writes its
    own uniquely named temporary file and renames it into place (same bytes either way),
    and only temporary files older than ``stale_after`` seconds (left by a killed process)
    are removed, never another process's file in progress.
    """
    import tempfile
    import time

    folder = wb.home.audits
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - stale_after
    for stale in folder.glob("*.part"):
        try:
            if stale.stat().st_mtime < cutoff:
                stale.unlink(missing_ok=True)
        except FileNotFoundError:
            pass
    written = []
    for row in wb.registry.query("SELECT file_name, sha256 FROM audit_pdfs ORDER BY decision_id"):
        path = folder / row["file_name"]
        if path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"]:
            continue
        pdf = wb.registry.one("SELECT pdf FROM audit_pdfs WHERE file_name = ?", (row["file_name"],))["pdf"]
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
        with os.fdopen(fd, "wb") as out:
            out.write(pdf)
        os.replace(tmp_name, path)
        written.append(path)
    return written


def audit_pdf(reg: Registry, actor: Actor, submission_id: int) -> tuple[str, bytes] | None:
    """The signed audit PDF of a submission's latest decision (for its vendor, reviewers, secretary)."""
    get_submission(reg, actor, submission_id)
    row = reg.one("SELECT p.file_name, p.pdf FROM audit_pdfs p JOIN decisions d ON d.id = p.decision_id "
                  "WHERE d.submission_id = ? ORDER BY d.id DESC LIMIT 1", (submission_id,))
    return (row["file_name"], row["pdf"]) if row else None


def label_pdf(reg: Registry, label_id: str) -> bytes | None:
    """The public, signed audit PDF of a label (anyone may download it)."""
    row = reg.one("SELECT pdf FROM audit_pdfs WHERE label_id = ?", (label_id,))
    return row["pdf"] if row else None


def decisions_of(reg: Registry, actor: Actor, submission_id: int) -> list[dict]:
    get_submission(reg, actor, submission_id)
    rows = reg.query("SELECT * FROM decisions WHERE submission_id = ? ORDER BY id", (submission_id,))
    for row in rows:
        for key in ("votes", "dissent", "conditions", "scope", "evidence"):
            row[key] = json.loads(row[key])
    return rows


__all__ = ["DecisionInput", "DecisionRecord", "Scope", "Vote", "record_decision", "label_policy", "add_months",
           "write_audit_files", "audit_pdf", "label_pdf", "decisions_of", "build_report"]
