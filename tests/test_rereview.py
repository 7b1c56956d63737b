"""A complaint's re-review is real (issue 13): a linked case in the secretary's queue with
the complaint attached, the label "under re-review", the people told."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from workbench.aftercare import label_state, rereview
from workbench.intake import submissions as subs
from workbench.registry import notifications
from workbench.i18n import t
from workbench.registry.models import Status

from test_complaints import file as file_complaint
from test_decisions import TODAY
from test_label_state import issued  # noqa: F401  (fixture)

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


def test_re_review_from_the_complaint_queue_opens_a_linked_case(issued):  # noqa: F811
    c, sub_id, label_id = issued
    reg = c.wb.registry
    complaint = file_complaint(reg, label_id=label_id, body="Scores Kazakh essays lower than Russian ones")
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["actor"] = c.secretary
    at.session_state["lang"] = "en"
    at.run()
    at.switch_page("ui/pages/complaints_queue.py").run()
    key = complaint.reference
    at.radio(key=f"cq_outcome_{key}").set_value("re_review").run()
    at.text_area(key=f"cq_note_{key}").input("Send it back to the reviewers with this complaint")
    at.button(key=f"cq_resolve_{key}").click().run()
    assert not at.exception, at.exception
    case_id = rereview.case_of(reg, key)
    assert case_id is not None
    from ui.text import esc

    assert at.success[0].value == t("staff.rereview_opened", "en", reference=esc(key), id=case_id)
    case = subs.get_submission(reg, c.secretary, case_id)
    assert case.status is Status.IN_REVIEW and case.previous_id == sub_id
    assert "Scores Kazakh essays lower" in subs.thread(reg, c.secretary, case_id)[0].body
    assert [a.original_name for a in subs.list_attachments(reg, c.secretary, case_id)] == [
        a.original_name for a in subs.list_attachments(reg, c.secretary, sub_id)]
    assert label_state.state_of(reg, c.vendor, label_id).under_re_review
    notifications.sync(reg, today=TODAY)
    assert "re_review_opened" in [n.kind for n in notifications.inbox(reg, c.secretary)]
    assert "label_re_review" in [n.kind for n in notifications.inbox(reg, c.vendor)]
    queue = AppTest.from_file(APP, default_timeout=60)
    queue.session_state["actor"] = c.secretary
    queue.query_params["submission"] = str(case_id)
    queue.run()
    assert not queue.exception, queue.exception
    assert any(e.proto.expanded for e in queue.expander if f"#{case_id}" in e.label)


def _public(wb):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from workbench.web.routes import PublicSite

    return TestClient(Starlette(routes=PublicSite(wb, warm=False).routes()))


def test_under_re_review_is_shown_publicly_until_the_case_is_decided(issued):  # noqa: F811
    """The label page, the registry card and the verify answer say "under re-review" in words and
    colour; the label stays usable ("yes, for now") unless it is also suspended."""
    c, sub_id, label_id = issued
    reg = c.wb.registry
    client = _public(c.wb)
    assert "badge s-re_review" not in client.get(f"/label/{label_id}?lang=ru").text
    complaint = file_complaint(reg, label_id=label_id, body="Scores Kazakh essays lower than Russian ones")
    case_id = rereview.resolve_with_re_review(reg, c.secretary, complaint.reference, "Checked again")
    for lang in ("kk", "ru", "en"):
        page = client.get(f"/label/{label_id}?lang={lang}").text
        assert 'class="badge s-re_review"' in page and t("daily.re_review.badge", lang) in page
        assert "can-review" in page and t("daily.can.re_review", lang).split(",")[0] in page
        card = client.get(f"/registry?lang={lang}").text
        assert 'class="badge s-re_review"' in card and t("daily.re_review.badge", lang) in card
        verify = client.get(f"/verify?label={label_id}&lang={lang}").text
        assert t("daily.verify.re_review", lang).split("(")[0].strip() in verify
    # a suspension while the case runs: "no", and the re-review still said
    from workbench.decision import labels

    labels.change_label(reg, c.secretary, label_id, "suspend", "After the complaint")
    page = client.get(f"/label/{label_id}?lang=ru").text
    assert "can-no" in page and "badge s-re_review" in page
    assert t("daily.can.re_review_suspended", "ru").split("(")[0].strip() in page
    assert label_state.state_of(reg, c.vendor, label_id).under_re_review
    # the vendor's own view of the label says it too, in their language
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["actor"] = c.vendor
    at.session_state["lang"] = "kk"
    at.query_params["submission"] = str(sub_id)
    at.run()
    assert not at.exception, at.exception
    assert any(label_id in w.value and t("staff.label_under_re_review", "kk").split("(")[0].strip() in w.value
               for w in at.warning)
    # the case decided: no longer under re-review
    reg.execute("UPDATE submissions SET status = 'rejected' WHERE id = ?", (case_id,))
    assert not label_state.state_of(reg, c.vendor, label_id).under_re_review
    assert "badge s-re_review" not in client.get(f"/label/{label_id}?lang=ru").text


def test_the_static_mirror_marks_a_label_under_re_review(issued):  # noqa: F811
    """The mirror's search cards (drawn by mirror.js) say "under re-review" like the live cards do."""
    import json

    from workbench.web.publish import search_index

    c, _, label_id = issued
    reg = c.wb.registry

    def card() -> list:
        files = search_index(reg, today=TODAY)
        cards = [row for name, data in files.items() if name.startswith("search/cards/") for row in json.loads(data)]
        return next(row for row in cards if row[0] == label_id)

    assert card()[5] == 0
    complaint = file_complaint(reg, label_id=label_id, body="Scores Kazakh essays lower than Russian ones")
    rereview.resolve_with_re_review(reg, c.secretary, complaint.reference, "Back to the reviewers")
    assert card()[5] == 1
    script = (Path(__file__).resolve().parents[1] / "workbench" / "web" / "static" / "mirror.js").read_text()
    assert "l[5]" in script and "T.re_review" in script


def test_re_reviews_of_a_whole_national_registry_at_once(issued):  # noqa: F811
    """The mirror asks about every label in one call: more ids than SQLite binds in one statement
    (32,766 in many builds, 250,000 in Debian's) must still work, and still find the one under re-review."""
    c, _, label_id = issued
    reg = c.wb.registry
    complaint = file_complaint(reg, label_id=label_id, body="Scores Kazakh essays lower than Russian ones")
    rereview.resolve_with_re_review(reg, c.secretary, complaint.reference, "Back to the reviewers")
    many = [f"KZ-AIS-2099-{i:06d}" for i in range(260_000)] + [label_id]
    assert set(label_state.re_reviews(reg, many)) == {label_id}
