"""Role x action: every cell of the permission table, through the service layer."""

from __future__ import annotations

import pytest

from types import SimpleNamespace

from workbench.public import complaints
from workbench import genai
from workbench.decision import decisions, labels
from workbench.review import fairness_runs
from workbench.registry import public_url
from workbench.decision.signing import KeyStore
from workbench.fairness import AuditSpec
from workbench.upkeep import admin
from workbench.public import visitor as public
from workbench.review import reviews
from workbench.intake import submissions as subs
from workbench.registry import auth
from workbench.errors import NotFound, PermissionDenied, WorkbenchError
from workbench.registry.models import PUBLIC, Role
from workbench.registry.permissions import PERMISSIONS, can
from workbench.intake.storage import FileStore
from workbench.genai._runner import make_transcript

CSV = b"y_true,y_pred,sex\n1,1,F\n0,1,M\n"


@pytest.fixture
def ctx(reg, people, dossier, tmp_path):
    """A submission of org A in review, assigned to reviewer1; a decided one for versions."""
    store = FileStore(tmp_path)
    draft = subs.create_submission(reg, people.vendor_a, dossier)
    in_review = subs.create_submission(reg, people.vendor_a, dossier)
    outputs = subs.add_attachment(reg, people.vendor_a, in_review.id, CSV, "o.csv", purpose="outputs", store=store)
    subs.submit(reg, people.vendor_a, in_review.id)
    subs.screen(reg, people.secretary, in_review.id, complete=True)
    subs.assign_reviewer(reg, people.secretary, in_review.id, people.reviewer1.user_id)
    att = subs.add_attachment(reg, people.vendor_a, draft.id, CSV, "out.csv", purpose="outputs", store=store)
    return {"reg": reg, "p": people, "store": store, "draft": draft.id, "review": in_review.id, "att": att.id, "outputs": outputs.id}


def _actor(ctx, role: Role):
    p = ctx["p"]
    return {Role.PUBLIC: PUBLIC, Role.VENDOR: p.vendor_a, Role.REVIEWER: p.reviewer1,
            Role.SECRETARY: p.secretary, Role.ADMIN: p.admin}[role]


def _challenge(reg):
    c = public.new_challenge(reg)
    return {"challenge_token": c.token, "challenge_answer": str(c.a + c.b)}


#: action -> a real service call that exercises it. A new action needs a row here.
CALLS = {
    "registry.search": lambda c, a: public.search_labels(c["reg"], a),
    "label.verify": lambda c, a: labels.verify_document(c["reg"], a, b"not a pdf", KeyStore(c["store"].root)),
    "decision.record": lambda c, a: decisions.record_decision(
        SimpleNamespace(registry=c["reg"], keys=KeyStore(c["store"].root)), a, c["review"],
        decisions.DecisionInput(outcome="approve", votes=[decisions.Vote(member="m", vote="for")], rationale="r")),
    "label.manage": lambda c, a: labels.change_label(c["reg"], a, "KZ-AIS-2026-000001", "suspend", "reason"),
    "complaint.handle": lambda c, a: complaints.list_complaints(c["reg"], a),
    "keys.manage": lambda c, a: admin.key_info(KeyStore(c["store"].root), a),
    "label.view": lambda c, a: public.get_label(c["reg"], a, "KZ-AIS-2026-000001"),
    "complaint.file": lambda c, a: public.file_complaint(c["reg"], a, body="text", source=str(a.role),
                                                         **_challenge(c["reg"])),
    "complaint.track": lambda c, a: public.complaint_status(c["reg"], a, "C-2026-000000"),
    "org.register": lambda c, a: subs.register_vendor(c["reg"], a, org_name="New", bin="123456789013",
                                                      contact_email="a@b.kz", username=f"new_{a.role}",
                                                      password="long-password-1"),
    "submission.create": lambda c, a: subs.create_submission(c["reg"], a, {}),
    "submission.edit": lambda c, a: subs.save_draft(c["reg"], a, c["draft"], {"tool_version": "1.1"}),
    "submission.submit": lambda c, a: subs.submit(c["reg"], a, c["draft"]),
    "submission.new_version": lambda c, a: subs.new_version(c["reg"], a, c["review"], tool_version="2"),
    "attachment.upload": lambda c, a: subs.add_attachment(c["reg"], a, c["draft"], CSV, "x.csv",
                                                          purpose="outputs", store=c["store"]),
    "submission.appeal": lambda c, a: subs.appeal(c["reg"], a, c["review"], "We contest it"),
    "appeal.decide": lambda c, a: subs.decide_appeal(c["reg"], a, c["review"], re_review=False, note="n"),
    "clarification.answer": lambda c, a: subs.answer_clarification(c["reg"], a, c["review"], "answer"),
    "submission.list": lambda c, a: subs.list_submissions(c["reg"], a),
    "submission.view": lambda c, a: subs.get_submission(c["reg"], a, c["review"]),
    "attachment.read": lambda c, a: subs.get_attachment(c["reg"], a, c["att"]),
    "conflict.declare": lambda c, a: subs.declare_conflict(c["reg"], a, c["review"], has_conflict=False),
    "review.edit": lambda c, a: reviews.start_review(c["reg"], a, c["review"]),
    "review.sign_off": lambda c, a: reviews.sign_off(c["reg"], a, c["review"], "reject", "r"),
    "fairness.run": lambda c, a: fairness_runs.run_and_save(
        c["reg"], a, c["review"], c["outputs"], AuditSpec(y_true="y_true", y_pred="y_pred", sensitive=["sex"]),
        store=c["store"]),
    "clarification.request": lambda c, a: subs.ask_clarification(c["reg"], a, c["review"], "Why?"),
    "submission.screen": lambda c, a: subs.screen(c["reg"], a, c["review"], complete=True),
    "reviewer.assign": lambda c, a: subs.assign_reviewer(c["reg"], a, c["review"], c["p"].reviewer2.user_id),
    "committee.open": lambda c, a: subs.send_to_committee(c["reg"], a, c["review"]),
    "log.verify": lambda c, a: admin.verify_log(c["reg"], a),
    "users.manage": lambda c, a: auth.list_users(c["reg"], a),
    "settings.manage": lambda c, a: public_url.set_public_url(c["reg"], a, "https://ai-safe.edu.kz"),
    "backup.run": lambda c, a: admin.backup(c["reg"], a, c["store"].root / "b.db"),
    "genai.run": lambda c, a: genai.save_run(c["reg"], a, make_transcript(
        genai.resolve_suites("facts"), ["en"], 1, "offline", "offline", "", [], "2026-12-01"), submission_id=c["review"]),
    "genai.rate": lambda c, a: genai.rate(c["reg"], a, 1, "fact-01:en:1", "ok"),
    "genai.view": lambda c, a: genai.list_runs(c["reg"], a, c["review"]),
    "genai.endpoint": lambda c, a: genai.set_endpoint(c["reg"], a, genai.SecretBox(c["store"].root / "keys"),
                                                      c["review"], "http://93.184.215.14/v1"),
}


def test_every_action_has_a_service_call():
    assert set(CALLS) == set(PERMISSIONS)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", sorted(PERMISSIONS))
def test_permission_cell(ctx, action, role):
    actor = _actor(ctx, role)
    call = CALLS[action]
    if can(actor, action):
        try:
            call(ctx, actor)
        except PermissionDenied as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{role} was refused {action}: {exc}")
        except (NotFound, WorkbenchError):
            pass  # allowed by role; refused for a domain reason (wrong state, no such label)
    else:
        with pytest.raises(PermissionDenied):
            call(ctx, actor)


# -- object level: the wrong vendor, the wrong reviewer -------------------------------------

def test_vendor_cannot_reach_another_vendors_submission(ctx):
    reg, p = ctx["reg"], ctx["p"]
    other = p.vendor_b
    for call in (
        lambda: subs.get_submission(reg, other, ctx["review"]),
        lambda: subs.save_draft(reg, other, ctx["draft"], {"tool_name": "stolen"}),
        lambda: subs.submit(reg, other, ctx["draft"]),
        lambda: subs.get_attachment(reg, other, ctx["att"]),
        lambda: subs.read_attachment(reg, other, ctx["att"], store=ctx["store"]),
        lambda: subs.list_attachments(reg, other, ctx["draft"]),
        lambda: subs.thread(reg, other, ctx["review"]),
        lambda: subs.answer_clarification(reg, other, ctx["review"], "x"),
        lambda: subs.add_attachment(reg, other, ctx["draft"], CSV, "x.csv", purpose="outputs", store=ctx["store"]),
        lambda: subs.new_version(reg, other, ctx["review"], tool_version="9"),
        lambda: subs.version_chain(reg, other, ctx["review"]),
    ):
        with pytest.raises(NotFound):
            call()
    assert subs.list_submissions(reg, other) == []
    assert reg.one("SELECT tool_name FROM submissions WHERE id = ?", (ctx["draft"],))["tool_name"] == "Test tool"


def test_colleague_in_same_org_sees_the_submission(ctx):
    assert subs.get_submission(ctx["reg"], ctx["p"].vendor_a2, ctx["draft"]).id == ctx["draft"]


def test_unassigned_reviewer_sees_nothing(ctx):
    reg, p = ctx["reg"], ctx["p"]
    assert subs.list_submissions(reg, p.reviewer2) == []
    with pytest.raises(NotFound):
        subs.get_submission(reg, p.reviewer2, ctx["review"])
    with pytest.raises(NotFound):
        subs.ask_clarification(reg, p.reviewer2, ctx["review"], "?")
    with pytest.raises(NotFound):
        subs.get_attachment(reg, p.reviewer2, ctx["att"])


def test_assigned_reviewer_never_sees_drafts(ctx):
    reg, p = ctx["reg"], ctx["p"]
    subs.assign_reviewer(reg, p.secretary, ctx["draft"], p.reviewer1.user_id)
    assert [s.id for s in subs.list_submissions(reg, p.reviewer1)] == [ctx["review"]]


def test_secretary_sees_everything(ctx):
    assert {s.id for s in subs.list_submissions(ctx["reg"], ctx["p"].secretary)} == {ctx["draft"], ctx["review"]}
