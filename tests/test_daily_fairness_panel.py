"""Found by the browser journey (issue 13): a second reviewer who runs the fairness test on
another file saw the first reviewer's saved result, not the run just made, because the
saved-runs choice kept its earlier value. After a run, its own result is shown."""

from __future__ import annotations



import pandas as pd

from workbench.review import fairness_runs
from workbench.intake import submissions as subs

from test_journeys import FIXTURES, _in_review, app_as, button, who, wb  # noqa: F401  (wb: fixture)


def test_the_run_just_made_is_the_result_shown(wb):  # noqa: F811
    sub_id = _in_review(wb, reviewers=("rev1",), outputs=FIXTURES / "early_warning_outputs.csv",
                        model_type="classifier")
    reg, rev1 = wb.registry, who(wb, "rev1")
    subs.declare_conflict(reg, rev1, sub_id, has_conflict=False)
    frame = pd.read_csv(FIXTURES / "early_warning_outputs.csv")
    rural = frame[frame["address"] == "rural"].to_csv(index=False).encode()
    at = app_as(wb, "rev1", "reviewer", "en")
    button(at, f"rev_open_{sub_id}").click().run()
    at.selectbox(key="rev_step").set_value("fairness").run()
    button(at, f"fp_run_{sub_id}").click().run()
    first, = fairness_runs.list_runs(reg, rev1, sub_id)
    assert at.selectbox(key=f"fp_pick_{sub_id}").value == first.id
    # a second file (the vendor's answer), tested in the same session
    subs.ask_clarification(reg, rev1, sub_id, "The rural pupils' results, please")
    subs.answer_clarification(reg, who(wb, "vendor"), sub_id, "Attached", [(rural, "rural.csv")], store=wb.store)
    att = next(a for a in subs.list_attachments(reg, rev1, sub_id) if a.original_name == "rural.csv")
    at.run()
    at.selectbox(key=f"fp_file_{sub_id}").set_value(att.id).run()
    button(at, f"fp_run_{sub_id}").click().run()
    assert not at.exception, at.exception
    second = fairness_runs.list_runs(reg, rev1, sub_id)[-1]
    assert second.attachment_name == "rural.csv" and second.id != first.id
    assert at.selectbox(key=f"fp_pick_{sub_id}").value == second.id, "the new run's result is shown"
    assert not any("urban" in str(m.value) for m in at.markdown if "address=" in str(m.value))



def test_the_risk_level_starts_at_the_reviewers_own_classification(wb):  # noqa: F811
    """The submission's level is "high" until the committee decides; the reviewer who classified the
    tool as minimal-risk tests it against the minimal tier's thresholds unless they choose otherwise."""
    from workbench.review import reviews

    sub_id = _in_review(wb, reviewers=("rev1",), outputs=FIXTURES / "early_warning_outputs.csv",
                        model_type="classifier")
    reg, rev1 = wb.registry, who(wb, "rev1")
    subs.declare_conflict(reg, rev1, sub_id, has_conflict=False)
    reviews.start_review(reg, rev1, sub_id)
    _, questionnaire = reviews.frozen_documents(reg, rev1, sub_id)
    reviews.save_risk_answers(reg, rev1, sub_id, {q.id: False for q in questionnaire.questions})
    assert reviews.get_review(reg, rev1, sub_id).tier == "minimal"
    at = app_as(wb, "rev1", "reviewer", "en")
    button(at, f"rev_open_{sub_id}").click().run()
    at.selectbox(key="rev_step").set_value("fairness").run()
    assert not at.exception, at.exception
    assert at.selectbox(key=f"fp_tier_{sub_id}").value == "minimal"
