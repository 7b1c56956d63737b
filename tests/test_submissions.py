"""Vendor intake and the lifecycle: drafts, submission, screening, clarification, versions."""

from __future__ import annotations

import pytest

from workbench.intake import storage, submissions as subs
from workbench.errors import ValidationFailed, WorkbenchError
from workbench.registry.models import ANNEX_VIII_A, Dossier, Status, bin_is_valid, make_bin, missing_fields
from workbench.intake.storage import FileStore

CSV = "y_true,y_pred,sex\n1,1,F\n0,1,M\n".encode()


@pytest.fixture
def store(tmp_path):
    return FileStore(tmp_path)


def _files(store):
    return sorted(p for p in store.root.rglob("*") if p.is_file())


def _counts(reg):
    return {t: reg.one(f"SELECT count(*) AS n FROM {t}")["n"] for t in ("submissions", "attachments", "events", "messages")}


@pytest.mark.parametrize("value,ok", [
    (make_bin("17044001234"), True), ("123456789012", False), ("12345678901", False), ("abcdefghijkl", False),
    ("", False), ("1234567890123", False)])
def test_bin_check_digit(value, ok):
    assert bin_is_valid(value) is ok


def test_visitor_registers_an_organisation_and_its_vendor_account(reg):
    from workbench.registry import auth
    from workbench.registry.models import PUBLIC

    org = subs.register_vendor(reg, PUBLIC, org_name="Jana Bilim", bin=make_bin("55555555555"),
                               contact_email="info@jana.kz", username="jana", password="long-password-1")
    assert org.username.startswith("jana-")  # the visitor never picks a whole login name
    who = auth.login(reg, org.username, "long-password-1")
    assert who.role.value == "vendor" and who.org_id == org.id


def test_bad_registration_writes_nothing(reg, people):
    from workbench.registry.models import PUBLIC

    before = _counts(reg) | {"orgs": reg.one("SELECT count(*) AS n FROM organisations")["n"],
                             "users": reg.one("SELECT count(*) AS n FROM users")["n"]}
    with pytest.raises(ValidationFailed) as exc:
        subs.register_vendor(reg, PUBLIC, org_name="A", bin="123456789012", contact_email="x@y.kz",
                             username="ok_name", password="long-password-1")
    assert {p.key for p in exc.value.problems} == {subs.BAD_ORG_NAME, subs.BAD_BIN}
    with pytest.raises(ValidationFailed) as exc:  # the organisation is fine, the account is not
        subs.register_vendor(reg, PUBLIC, org_name="Good name", bin=make_bin("66666666666"),
                             contact_email="x@y.kz", username="vendor_a", password="short")
    with pytest.raises(ValidationFailed) as exc:
        subs.register_vendor(reg, PUBLIC, org_name="Good name", bin=make_bin("66666666666"),
                             contact_email="not-an-email", username="fresh", password="long-password-1")
    assert [p.key for p in exc.value.problems] == [subs.BAD_EMAIL]
    after = _counts(reg) | {"orgs": reg.one("SELECT count(*) AS n FROM organisations")["n"],
                            "users": reg.one("SELECT count(*) AS n FROM users")["n"]}
    assert after == before


def test_draft_save_resume_submit(reg, people, dossier):
    draft = subs.create_submission(reg, people.vendor_a, {"tool_name": "Half"})
    assert draft.status is Status.DRAFT
    assert "tool_version" in missing_fields(draft.dossier)
    with pytest.raises(ValidationFailed) as exc:
        subs.submit(reg, people.vendor_a, draft.id)
    assert exc.value.key == subs.INCOMPLETE
    assert {p.params["field"] for p in exc.value.problems} == set(missing_fields(draft.dossier))
    saved = subs.save_draft(reg, people.vendor_a, draft.id, dossier)
    resumed = subs.get_submission(reg, people.vendor_a2, draft.id)  # a colleague resumes it
    assert resumed.dossier == saved.dossier and missing_fields(resumed.dossier) == []
    done = subs.submit(reg, people.vendor_a, draft.id)
    assert done.status is Status.SUBMITTED and done.submitted_at
    with pytest.raises(WorkbenchError) as exc:
        subs.save_draft(reg, people.vendor_a, draft.id, {"tool_name": "changed"})
    assert exc.value.key == subs.NOT_EDITABLE
    actions = [e.action for e in reg.events("submission", draft.id)]
    assert actions == ["submission.created", "submission.draft_saved", "submission.submitted"]


@pytest.mark.parametrize("changes,field", [
    ({"users": ["aliens"]}, "users"),
    ({"grades": [13]}, "grades"),
    ({"deployment": "moon"}, "deployment"),
    ({"min_age": 1}, "min_age"),
    ({"nonsense": 1}, "nonsense"),
    ({"tool_name": "x" * 201}, "tool_name"),
])
def test_bad_dossier_input_changes_nothing(reg, people, changes, field):
    draft = subs.create_submission(reg, people.vendor_a, {"tool_name": "Keep"})
    before = _counts(reg)
    with pytest.raises(ValidationFailed) as exc:
        subs.save_draft(reg, people.vendor_a, draft.id, changes)
    assert exc.value.key == "sub.dossier_invalid"
    assert [p.params["field"] for p in exc.value.problems] == [field]
    assert exc.value.translate("kk") != exc.value.translate("ru")
    assert _counts(reg) == before
    assert subs.get_submission(reg, people.vendor_a, draft.id).tool_name == "Keep"


def test_hostile_text_is_stored_as_text(reg, people):
    hostile = {"tool_name": "<script>alert(1)</script>", "intended_purpose": "=cmd|' /C calc'!A0",
               "description_kk": "../../etc/passwd"}
    draft = subs.create_submission(reg, people.vendor_a, hostile)
    again = subs.get_submission(reg, people.vendor_a, draft.id)
    assert again.dossier.tool_name == hostile["tool_name"]
    assert again.dossier.intended_purpose == hostile["intended_purpose"]


def test_screening_return_needs_reasons_and_reaches_the_vendor(reg, people, dossier):
    sub = subs.create_submission(reg, people.vendor_a, dossier)
    subs.submit(reg, people.vendor_a, sub.id)
    with pytest.raises(WorkbenchError) as exc:
        subs.screen(reg, people.secretary, sub.id, complete=False, reasons="  ")
    assert exc.value.key == subs.NEED_REASON
    returned = subs.screen(reg, people.secretary, sub.id, complete=False, reasons="Attach the privacy policy")
    assert returned.status is Status.RETURNED
    assert [m.body for m in subs.thread(reg, people.vendor_a, sub.id)] == ["Attach the privacy policy"]
    subs.save_draft(reg, people.vendor_a, sub.id, {"known_limitations": "Updated"})
    assert subs.submit(reg, people.vendor_a, sub.id).status is Status.SUBMITTED
    assert subs.screen(reg, people.secretary, sub.id, complete=True).status is Status.IN_REVIEW


def test_clarification_thread(reg, people, dossier, store):
    sub = subs.create_submission(reg, people.vendor_a, dossier)
    subs.submit(reg, people.vendor_a, sub.id)
    subs.screen(reg, people.secretary, sub.id, complete=True)
    subs.assign_reviewer(reg, people.secretary, sub.id, people.reviewer1.user_id)
    q = subs.ask_clarification(reg, people.reviewer1, sub.id, "Where are the data stored?", item_id="PD-04")
    assert subs.get_submission(reg, people.vendor_a, sub.id).status is Status.CLARIFICATION
    with pytest.raises(WorkbenchError) as exc:
        subs.answer_clarification(reg, people.vendor_a, sub.id, "   ", store=store)
    assert exc.value.key == subs.EMPTY_MESSAGE
    assert subs.get_submission(reg, people.vendor_a, sub.id).status is Status.CLARIFICATION
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    a = subs.answer_clarification(reg, people.vendor_a, sub.id, "In Astana.", [(pdf, "policy.pdf")], store=store)
    thread = subs.thread(reg, people.reviewer1, sub.id)
    assert [(m.kind, m.item_id) for m in thread] == [("question", "PD-04"), ("answer", None)]
    assert thread[0].id == q.id and thread[1].id == a.id
    att = subs.list_attachments(reg, people.reviewer1, sub.id)
    assert [(x.original_name, x.message_id) for x in att] == [("policy.pdf", a.id)]
    assert subs.get_submission(reg, people.vendor_a, sub.id).status is Status.IN_REVIEW
    actions = [e.action for e in reg.events("submission", sub.id)]
    assert "message.question" in actions and "message.answer" in actions and "attachment.added" in actions


def test_version_chain(reg, people, dossier):
    first = subs.create_submission(reg, people.vendor_a, dossier)
    with pytest.raises(WorkbenchError) as exc:
        subs.new_version(reg, people.vendor_a, first.id, tool_version="2.0")
    assert exc.value.key == subs.NOT_LABELLED
    reg.update("submissions", first.id, {"status": Status.APPROVED.value})  # decided (decisions module tested apart)
    second = subs.new_version(reg, people.vendor_a, first.id, tool_version="2.0")
    reg.update("submissions", second.id, {"status": Status.APPROVED.value})
    third = subs.new_version(reg, people.vendor_a, second.id, tool_version="3.0")
    chain = subs.version_chain(reg, people.vendor_a, third.id)
    assert [s.tool_version for s in chain] == ["1.0", "2.0", "3.0"]
    assert third.status is Status.DRAFT and third.previous_id == second.id


def test_attachment_is_content_addressed_and_recorded(reg, people, store):
    draft = subs.create_submission(reg, people.vendor_a, {})
    att = subs.add_attachment(reg, people.vendor_a, draft.id, CSV, "../../etc/passwd.csv", purpose="outputs",
                              store=store)
    assert att.kind == "csv" and att.size == len(CSV)
    assert store.path(att.sha256).read_bytes() == CSV
    assert "/" not in att.original_name and ".." not in att.original_name.split("/")
    assert not (store.root.parent / "etc").exists()
    assert subs.read_attachment(reg, people.vendor_a, att.id, store=store) == CSV


@pytest.mark.parametrize("data,name,purpose,key", [
    (b"%PDF-1.4\n%%EOF\n", "fake.csv", "outputs", storage._KIND_NOT_ALLOWED),  # type from content, not name
    (CSV, "outputs.pdf", "document", storage._KIND_NOT_ALLOWED),
    (b"", "empty.csv", "outputs", storage._EMPTY),
    (b"\x00\x01\x02binary" * 50, "x.csv", "outputs", storage._KIND_NOT_ALLOWED),
    (b"MZ\x90\x00" + b"\x00" * 100, "setup.exe", "document", storage._KIND_NOT_ALLOWED),
])
def test_refused_uploads_write_nothing(reg, people, store, data, name, purpose, key):
    draft = subs.create_submission(reg, people.vendor_a, {})
    before, files = _counts(reg), _files(store)
    with pytest.raises(WorkbenchError) as exc:
        subs.add_attachment(reg, people.vendor_a, draft.id, data, name, purpose=purpose, store=store)
    assert exc.value.key == key
    assert _counts(reg) == before and _files(store) == files


def test_oversized_upload_is_refused_with_the_limit(reg, people, store):
    draft = subs.create_submission(reg, people.vendor_a, {})
    before, files = _counts(reg), _files(store)
    with pytest.raises(WorkbenchError) as exc:
        subs.add_attachment(reg, people.vendor_a, draft.id, CSV * 1000, "big.csv", purpose="outputs", store=store,
                            max_bytes=1000)
    assert exc.value.key == storage._TOO_LARGE
    assert _counts(reg) == before and _files(store) == files


def test_conflict_of_interest_blocks_assignment(reg, people, dossier):
    sub = subs.create_submission(reg, people.vendor_a, dossier)
    subs.submit(reg, people.vendor_a, sub.id)
    subs.screen(reg, people.secretary, sub.id, complete=True)
    subs.assign_reviewer(reg, people.secretary, sub.id, people.reviewer1.user_id)
    subs.declare_conflict(reg, people.reviewer1, sub.id, has_conflict=True, note="I advised this vendor")
    assert subs.assigned_reviewers(reg, people.secretary, sub.id) == []
    with pytest.raises(WorkbenchError) as exc:
        subs.assign_reviewer(reg, people.secretary, sub.id, people.reviewer1.user_id)
    assert exc.value.key == subs.CONFLICT_BLOCKS


def test_annex_viii_mapping_names_real_dossier_fields():
    fields = set(Dossier.model_fields) | {"status"}
    assert set(ANNEX_VIII_A) <= fields
    assert {"tool_name", "intended_purpose", "contact_person"} <= set(ANNEX_VIII_A)


def test_vendor_history_shows_the_lifecycle_not_the_reviewers_drafts(reg, people, dossier):
    from workbench.review import reviews

    sub = subs.create_submission(reg, people.vendor_a, dossier)
    subs.submit(reg, people.vendor_a, sub.id)
    subs.screen(reg, people.secretary, sub.id, complete=True)
    subs.assign_reviewer(reg, people.secretary, sub.id, people.reviewer1.user_id)
    subs.declare_conflict(reg, people.reviewer1, sub.id, has_conflict=False)
    reviews.start_review(reg, people.reviewer1, sub.id)
    vendor_view = [e.action for e in subs.history(reg, people.vendor_a, sub.id)]
    assert vendor_view == ["submission.created", "submission.submitted", "submission.screen_complete"]
    secretary_view = [e.action for e in subs.history(reg, people.secretary, sub.id)]
    assert "review.started" in secretary_view and "conflict.declared" in secretary_view
    from workbench.errors import NotFound

    with pytest.raises(NotFound):
        subs.history(reg, people.vendor_b, sub.id)


def _decided(reg, people, dossier, status=Status.REJECTED):
    sub = subs.create_submission(reg, people.vendor_a, dossier)
    subs.submit(reg, people.vendor_a, sub.id)
    reg.update("submissions", sub.id, {"status": status.value})  # decided (decisions are tested apart)
    return sub.id


def test_appeal_dismissed_keeps_the_decision(reg, people, dossier):
    sub_id = _decided(reg, people, dossier)
    with pytest.raises(WorkbenchError) as exc:
        subs.appeal(reg, people.vendor_a, sub_id, "  ")
    assert exc.value.key == subs.NEED_APPEAL_REASON
    filed = subs.appeal(reg, people.vendor_a, sub_id, "The fairness data were misread.")
    assert filed.from_status == "rejected"
    assert subs.get_submission(reg, people.vendor_a, sub_id).status is Status.APPEAL
    with pytest.raises(WorkbenchError):
        subs.appeal(reg, people.vendor_a, sub_id, "again")  # one open appeal at a time
    done = subs.decide_appeal(reg, people.secretary, sub_id, re_review=False, note="The data were read correctly.")
    assert (done.outcome, done.re_review_id) == ("dismissed", None)
    assert subs.get_submission(reg, people.vendor_a, sub_id).status is Status.REJECTED


def test_appeal_re_review_opens_a_linked_submission_in_review(reg, people, dossier, tmp_path):
    store = FileStore(tmp_path)
    sub = subs.create_submission(reg, people.vendor_a, dossier)
    subs.add_attachment(reg, people.vendor_a, sub.id, CSV, "o.csv", purpose="outputs", store=store)
    subs.submit(reg, people.vendor_a, sub.id)
    reg.update("submissions", sub.id, {"status": Status.APPROVED_WITH_CONDITIONS.value})
    subs.appeal(reg, people.vendor_a, sub.id, "The condition is disproportionate.")
    with pytest.raises(WorkbenchError):
        subs.decide_appeal(reg, people.secretary, sub.id, re_review=True, note=" ")
    done = subs.decide_appeal(reg, people.secretary, sub.id, re_review=True, note="New reviewers will look again.")
    again = subs.get_submission(reg, people.vendor_a, done.re_review_id)
    assert again.status is Status.IN_REVIEW and again.previous_id == sub.id
    assert [a.sha256 for a in subs.list_attachments(reg, people.vendor_a, again.id)] == [
        a.sha256 for a in subs.list_attachments(reg, people.vendor_a, sub.id)]
    assert subs.get_submission(reg, people.vendor_a, sub.id).status is Status.APPROVED_WITH_CONDITIONS
    assert subs.version_chain(reg, people.vendor_a, again.id)[0].id == sub.id
    with pytest.raises(WorkbenchError):
        subs.decide_appeal(reg, people.secretary, sub.id, re_review=False, note="twice")
