"""Real journeys through the app with AppTest: a vendor prepares and submits a dossier, a
reviewer completes a review, a reviewer runs a fairness test, a secretary decides."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from workbench.registry import auth
from workbench.review import fairness_runs, reviews, rules
from workbench.intake import submissions as subs
from workbench.registry.models import SYSTEM, Role, Status, make_bin
from workbench.services import Workbench

from conftest import COMPLETE_DOSSIER, PASSWORD

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "streamlit_app.py")
FIXTURES = REPO / "fixtures"


@pytest.fixture
def wb(home):
    wb = Workbench.open(home)
    wb.keys.ensure_demo()
    org = subs.create_organisation(wb.registry, SYSTEM, name="Vendor LLP", bin=make_bin("30000000001"))
    for name, role, org_id in (("vendor", Role.VENDOR, org.id), ("rev1", Role.REVIEWER, None),
                               ("rev2", Role.REVIEWER, None), ("secretary", Role.SECRETARY, None)):
        auth.create_user(wb.registry, SYSTEM, username=name, password=PASSWORD, role=role,
                         display_name=name.title(), org_id=org_id)
    yield wb
    wb.close()


def who(wb, username):
    return auth.login(wb.registry, username, PASSWORD)


def app_as(wb, username, page, lang="kk") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["lang"] = lang
    at.session_state["actor"] = who(wb, username)
    at.run()
    at.switch_page(f"ui/pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def button(at, key):
    return at.button(key=key)


def form_submit(at, form: str):
    """The submit button of the form ``form`` (the sidebar's buttons come after the page's)."""
    return next(b for b in at.button if b.key and b.key.startswith(f"FormSubmitter:{form}-"))


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_vendor_creates_saves_resumes_and_submits(wb, lang):
    at = app_as(wb, "vendor", "vendor", lang)
    button(at, "new_submission").click().run()
    assert not at.exception
    sub_id = at.session_state["vendor_sub"]
    # step 1: identity
    at.text_input(key=f"f_{sub_id}_tool_name").input("Ойлау көмекшісі")
    at.text_input(key=f"f_{sub_id}_tool_version").input("1.0")
    at.text_area(key=f"f_{sub_id}_description_kk").input("Оқушыға есеп шығаруға көмектеседі.")
    at.text_area(key=f"f_{sub_id}_description_ru").input("Помогает ученику решать задачи.")
    at.text_area(key=f"f_{sub_id}_intended_purpose").input("Homework help")
    form_submit(at, f"step_{sub_id}").click().run()  # "save and continue"
    assert not at.exception
    saved = subs.get_submission(wb.registry, who(wb, "vendor"), sub_id)
    assert saved.dossier.tool_name == "Ойлау көмекшісі" and saved.status is Status.DRAFT
    # leave and come back: the draft is there, with its completeness
    button(at, "back_to_list").click().run()
    assert "vendor_sub" not in at.session_state
    button(at, f"open_{sub_id}").click().run()
    assert at.session_state["vendor_sub"] == sub_id
    assert at.text_input(key=f"f_{sub_id}_tool_name").value == "Ойлау көмекшісі"
    # the rest of the dossier is filled through the service (the same call the form makes)
    subs.save_draft(wb.registry, who(wb, "vendor"), sub_id, {k: v for k, v in COMPLETE_DOSSIER.items()
                                                             if k not in ("tool_name", "tool_version")})
    at.radio(key="vendor_step").set_value("review").run()
    assert not at.exception
    assert at.success, "the check step says the dossier is complete"
    at.checkbox(key=f"confirm_{sub_id}").check().run()
    button(at, f"submit_{sub_id}").click().run()
    assert not at.exception
    assert subs.get_submission(wb.registry, who(wb, "vendor"), sub_id).status is Status.SUBMITTED


def _in_review(wb, reviewers=("rev1",), outputs=None, model_type="other"):
    vendor, secretary = who(wb, "vendor"), who(wb, "secretary")
    sub = subs.create_submission(wb.registry, vendor, {**COMPLETE_DOSSIER, "model_type": model_type})
    if outputs:
        subs.add_attachment(wb.registry, vendor, sub.id, outputs.read_bytes(), outputs.name, purpose="outputs",
                            store=wb.store)
    subs.submit(wb.registry, vendor, sub.id)
    subs.screen(wb.registry, secretary, sub.id, complete=True)
    for r in reviewers:
        subs.assign_reviewer(wb.registry, secretary, sub.id, who(wb, r).user_id)
    return sub.id


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_reviewer_completes_a_review(wb, lang):
    sub_id = _in_review(wb)
    at = app_as(wb, "rev1", "reviewer", lang)
    button(at, f"rev_open_{sub_id}").click().run()
    # conflict of interest first
    at.radio(key=f"coi_choice_{sub_id}").set_value("none")
    form_submit(at, f"coi_{sub_id}").click().run()
    assert not at.exception
    assert subs.conflict_declared(wb.registry, who(wb, "rev1"), sub_id) is False
    # risk classification: every answer "no" gives the minimal tier
    for radio in at.radio:
        if radio.key and radio.key.startswith(f"risk_{sub_id}_"):
            radio.set_value(False)
    form_submit(at, f"risk_{sub_id}").click().run()
    assert not at.exception
    review = reviews.get_review(wb.registry, who(wb, "rev1"), sub_id)
    assert review.tier == "minimal"
    # every section: answer every item; answers autosave through the widgets' callbacks
    checklist, _ = reviews.frozen_documents(wb.registry, who(wb, "rev1"), sub_id)
    sections = rules.applicable_sections(checklist, "minimal", "other")
    for section, items in sections:
        at.selectbox(key="rev_step").set_value(section.id).run()
        assert not at.exception
        for item in items:
            at.radio(key=f"ans_{sub_id}_{item.id}").set_value("meets")
        at.run()
        assert not at.exception
    summary = reviews.summary(wb.registry, who(wb, "rev1"), sub_id)
    assert summary.ready and summary.unanswered == []
    # summary, recommendation, sign-off
    at.selectbox(key="rev_step").set_value("summary").run()
    at.radio(key=f"rec_{sub_id}").set_value("approve")
    at.text_area(key=f"rationale_{sub_id}").input("Meets every item.")
    at.checkbox(key=f"confirm_sign_{sub_id}").check()
    form_submit(at, f"signoff_{sub_id}").click().run()
    assert not at.exception
    assert reviews.get_review(wb.registry, who(wb, "rev1"), sub_id).signed


def test_reviewer_runs_and_saves_a_fairness_test_on_the_early_warning_outputs(wb):
    sub_id = _in_review(wb, outputs=FIXTURES / "early_warning_outputs.csv", model_type="classifier")
    subs.declare_conflict(wb.registry, who(wb, "rev1"), sub_id, has_conflict=False)
    at = app_as(wb, "rev1", "reviewer", "ru")
    button(at, f"rev_open_{sub_id}").click().run()
    at.selectbox(key="rev_step").set_value("fairness").run()
    assert not at.exception
    assert at.selectbox(key=f"fp_y_true_{sub_id}").value == "y_true"
    assert at.selectbox(key=f"fp_y_pred_{sub_id}").value == "y_pred"
    at.multiselect(key=f"fp_sensitive_{sub_id}").set_value(["sex", "address"])
    at.run()
    button(at, f"fp_run_{sub_id}").click().run()
    assert not at.exception, at.exception
    runs = fairness_runs.list_runs(wb.registry, who(wb, "rev1"), sub_id)
    assert len(runs) == 1
    assert runs[0].spec.sensitive == ["sex", "address"]
    assert runs[0].result.verdict in ("pass", "fail", "inconclusive")
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart"), "charts are shown"


def test_secretary_decides_in_the_app(wb):
    sub_id = _in_review(wb, reviewers=("rev1", "rev2"))
    for name in ("rev1", "rev2"):
        r = who(wb, name)
        subs.declare_conflict(wb.registry, r, sub_id, has_conflict=False)
        reviews.start_review(wb.registry, r, sub_id)
        checklist, questionnaire = reviews.frozen_documents(wb.registry, r, sub_id)
        reviews.save_risk_answers(wb.registry, r, sub_id, {q.id: False for q in questionnaire.questions})
        for item in rules.applicable_items(checklist, "minimal", "other"):
            value = "partly" if (name == "rev2" and item.severity == "minor") else "meets"
            reviews.save_answer(wb.registry, r, sub_id, item.id, value, "note")
        reviews.sign_off(wb.registry, r, sub_id, "approve", "ok")
    at = app_as(wb, "secretary", "secretary", "kk")
    assert any("background-color" in str(df.value.to_html()) if hasattr(df.value, "to_html") else False
               for df in at.dataframe) or at.warning, "disagreements are highlighted"
    button(at, f"committee_{sub_id}").click().run()
    assert not at.exception
    assert subs.get_submission(wb.registry, who(wb, "secretary"), sub_id).status is Status.COMMITTEE
    at.radio(key=f"outcome_{sub_id}").set_value("approve")
    at.text_area(key=f"rationale_{sub_id}").input("Both reviews recommend approval.")
    at.checkbox(key=f"confirm_{sub_id}").check()
    form_submit(at, f"decision_{sub_id}").click().run()
    assert not at.exception, at.exception
    sub = subs.get_submission(wb.registry, who(wb, "secretary"), sub_id)
    assert sub.status is Status.APPROVED
    label = wb.registry.one("SELECT id, status FROM labels WHERE submission_id = ?", (sub_id,))
    assert label["status"] == "active" and (wb.home.audits / f"{label['id']}.pdf").is_file()


def test_vendor_appeals_and_secretary_orders_a_re_review(wb):
    vendor, secretary = who(wb, "vendor"), who(wb, "secretary")
    sub = subs.create_submission(wb.registry, vendor, COMPLETE_DOSSIER)
    subs.submit(wb.registry, vendor, sub.id)
    wb.registry.update("submissions", sub.id, {"status": Status.REJECTED.value})  # decided earlier
    at = app_as(wb, "vendor", "vendor", "ru")
    button(at, f"open_{sub.id}").click().run()
    at.text_area(key=f"appeal_{sub.id}").input("Оценка справедливости основана на неполных данных.")
    at.checkbox(key=f"appeal_ok_{sub.id}").check().run()
    button(at, f"appeal_btn_{sub.id}").click().run()
    assert not at.exception
    assert subs.get_submission(wb.registry, vendor, sub.id).status is Status.APPEAL
    sec = app_as(wb, "secretary", "secretary", "kk")
    sec.text_area(key=f"appeal_note_{sub.id}").input("Қайта қаралады.")
    sec.checkbox(key=f"appeal_sure_{sub.id}").check().run()
    button(sec, f"sec.appeal_re_review_{sub.id}").click().run()
    assert not sec.exception
    appeal = subs.open_appeal(wb.registry, secretary, sub.id)
    assert appeal.outcome == "re_review"
    assert subs.get_submission(wb.registry, secretary, appeal.re_review_id).status is Status.IN_REVIEW
