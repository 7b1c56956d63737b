"""Forms people finish (issue 13): check your answers with field labels, submit disabled until
complete, a confirmation with the next step; uploads that clear and never attach the same
file twice; clarification answers that take data files and keep the typed text."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import COMPLETE_DOSSIER, People
from workbench.intake import submissions as subs
from workbench.i18n import t
from workbench.registry.models import Status
from workbench.services import Workbench

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
CSV = b"student_id,sex,y_true,y_pred\n1,F,1,1\n2,M,0,1\n"


@pytest.fixture
def shop(home):
    wb = Workbench.open(home)
    yield wb, People(wb.registry)
    wb.close()


def _vendor(people, sub_id, lang="ru") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["actor"] = people.vendor_a
    at.session_state["lang"] = lang
    at.query_params["submission"] = str(sub_id)
    return at.run()


def test_check_your_answers_names_the_missing_fields_and_blocks_submit(shop):
    wb, people = shop
    partial = {k: v for k, v in COMPLETE_DOSSIER.items() if k not in ("users", "grades", "deployment")}
    sub = subs.create_submission(wb.registry, people.vendor_a, partial)
    at = _vendor(people, sub.id)
    at.radio(key="vendor_step").set_value("review").run()
    assert not at.exception, at.exception
    error = at.error[0].value
    for field in ("users", "grades", "deployment"):
        assert t(f"dossier.{field}", "ru") in error
    assert "users" not in error and "deployment" not in error, "labels, not field keys"
    assert at.button(key=f"submit_{sub.id}").disabled and at.checkbox(key=f"confirm_{sub.id}").disabled
    at.button(key=f"goto_audience_{sub.id}").click().run()
    assert at.radio(key="vendor_step").value == "audience", "the link goes to the field's step"


def test_complete_dossier_submits_with_a_confirmation_and_the_next_step(shop):
    wb, people = shop
    sub = subs.create_submission(wb.registry, people.vendor_a, COMPLETE_DOSSIER)
    at = _vendor(people, sub.id, "kk")
    at.radio(key="vendor_step").set_value("review").run()
    assert any(t("staff.check_answers", "kk") in m.value for m in at.markdown)
    assert at.button(key=f"submit_{sub.id}").disabled, "not before the confirmation"
    at.checkbox(key=f"confirm_{sub.id}").check().run()
    at.button(key=f"submit_{sub.id}").click().run()
    assert not at.exception, at.exception
    assert subs.get_submission(wb.registry, people.vendor_a, sub.id).status is Status.SUBMITTED
    assert at.success[0].value == t("staff.submitted_next", "kk", id=sub.id)


def test_uploader_clears_and_the_same_file_is_not_attached_twice(shop):
    wb, people = shop
    sub = subs.create_submission(wb.registry, people.vendor_a, COMPLETE_DOSSIER)
    at = _vendor(people, sub.id, "en")
    at.radio(key="vendor_step").set_value("files").run()
    at.file_uploader(key=f"up_outputs_{sub.id}_0").set_value(("outputs.csv", CSV, "text/csv")).run()
    at.button(key=f"attach_outputs_{sub.id}").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == t("vendor.attached", "en", name="outputs.csv")
    names = [u.key for u in at.get("file_uploader")]
    assert f"up_outputs_{sub.id}_1" in names, "a fresh, empty uploader"
    at.file_uploader(key=f"up_outputs_{sub.id}_1").set_value(("copy.csv", CSV, "text/csv")).run()
    at.button(key=f"attach_outputs_{sub.id}").click().run()
    assert at.info[0].value == t("staff.already_attached", "en", name="outputs.csv")
    assert len(subs.list_attachments(wb.registry, people.vendor_a, sub.id)) == 1


def test_a_clarification_answer_takes_a_csv_and_keeps_the_text_when_a_file_is_refused(shop):
    wb, people = shop
    reg = wb.registry
    sub = subs.create_submission(reg, people.vendor_a, COMPLETE_DOSSIER)
    subs.submit(reg, people.vendor_a, sub.id)
    subs.screen(reg, people.secretary, sub.id, complete=True)
    subs.assign_reviewer(reg, people.secretary, sub.id, people.reviewer1.user_id)
    subs.ask_clarification(reg, people.reviewer1, sub.id, "Send the outputs for rural schools, please")
    at = _vendor(people, sub.id, "ru")
    typed = "Прилагаем выходные данные по сельским школам."
    at.text_area(key=f"answer_text_{sub.id}_0").input(typed)
    at.file_uploader(key=f"answer_files_{sub.id}_0").set_value(("virus.exe", b"MZ\x90\x00binary", "application/x-msdownload"))
    at.button[[b.key for b in at.button].index(next(b.key for b in at.button if "answer_" in (b.key or "")))].click().run()
    assert not at.exception, at.exception
    assert at.error, "the refused file is named"
    assert at.text_area(key=f"answer_text_{sub.id}_0").value == typed, "the typed answer is kept"
    assert subs.get_submission(reg, people.vendor_a, sub.id).status is Status.CLARIFICATION
    at.file_uploader(key=f"answer_files_{sub.id}_0").set_value(("rural.csv", CSV, "text/csv"))
    next(b for b in at.button if "answer_" in (b.key or "")).click().run()
    assert not at.exception, at.exception
    files = subs.list_attachments(reg, people.vendor_a, sub.id)
    assert [(f.original_name, f.purpose) for f in files] == [("rural.csv", "outputs")]
    assert subs.get_submission(reg, people.vendor_a, sub.id).status is Status.IN_REVIEW
    assert subs.thread(reg, people.vendor_a, sub.id)[-1].body == typed


def test_every_secretary_action_confirms_and_the_panel_stays_open(shop):
    wb, people = shop
    reg = wb.registry
    sub = subs.create_submission(reg, people.vendor_a, COMPLETE_DOSSIER)
    subs.submit(reg, people.vendor_a, sub.id)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["actor"] = people.secretary
    at.session_state["lang"] = "en"
    at.query_params["submission"] = str(sub.id)
    at.run()
    at.button(key=f"screen_ok_{sub.id}").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == t("staff.done_screened_ok", "en", id=sub.id)
    at.selectbox(key=f"assign_{sub.id}").set_value(people.reviewer2.user_id).run()
    at.button(key=f"assign_btn_{sub.id}").click().run()
    assert at.success[0].value == t("staff.done_assigned", "en", id=sub.id, name="Reviewer2")
    assert any(e.proto.expanded for e in at.expander if f"#{sub.id}" in e.label), "the panel stays open"
