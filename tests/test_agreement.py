"""Agreement people can read (issue 13): percent agreement first, Gwet's AC1, Cohen's and
Fleiss' kappa, each with an interval; checked against statsmodels and by hand."""

from __future__ import annotations

import pytest

from workbench.review import agreement
from workbench.i18n import LANGUAGES


def test_47_of_48_is_high_agreement_not_kappa_zero():
    a = {f"P{i}": "meets" for i in range(48)}
    b = dict(a, P7="partly")
    report = agreement.measure([a, b], categories=("meets", "partly", "not_met", "na"))
    assert report.agreed_items == 47 and report.percent.value == pytest.approx(47 / 48)
    assert report.kappa.value == pytest.approx(0.0, abs=1e-12)  # the paradox the issue reports
    assert report.ac1.value > 0.95  # Gwet's AC1 stays high
    assert report.percent.low < 47 / 48 < report.percent.high
    for lang in LANGUAGES:
        lines = report.sentences(lang)
        assert "47" in lines[0] and "48" in lines[0] and len(lines) == 4  # percent, AC1, kappa, the warning
    assert report.disagreements == ["P7"]


#: Fleiss (1971) as worked on Wikipedia's "Fleiss' kappa" page: 10 subjects, 14 raters, 5 categories.
FLEISS_COUNTS = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
                 [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]


@pytest.mark.parametrize("raters", [2, 3])
def test_full_agreement_has_an_interval_that_is_not_a_point(raters):
    """28 of 28 items alike: resampling items cannot vary, so the item bootstrap gave AC1 1.00 (1.00-1.00),
    as if 28 items proved perfect agreement. The interval comes from the bound on how often reviewers
    could still disagree (Wilson's, with no disagreement seen)."""
    answers = [{f"P{i}": "meets" for i in range(28)} for _ in range(raters)]
    report = agreement.measure(answers, categories=["meets", "partly", "not_met", "na"])
    low, _ = agreement.wilson(28, 28)
    assert report.percent.value == 1.0 and report.percent.low == pytest.approx(low) and report.percent.high == 1.0
    assert report.ac1.value == 1.0 and report.ac1.low == pytest.approx(low) and report.ac1.high == 1.0
    assert 0.85 < low < 0.9


def test_fleiss_kappa_worked_example():
    table = [[c for c, k in enumerate(row) for _ in range(k)] for row in FLEISS_COUNTS]
    assert agreement.fleiss_kappa(table) == pytest.approx(0.20993, abs=5e-5)


def test_cohen_kappa_worked_example():
    # Wikipedia's "Cohen's kappa" example: 20 yes-yes, 5 yes-no, 10 no-yes, 15 no-no -> 0.4.
    pairs = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15
    assert agreement.cohen_kappa([a for a, _ in pairs], [b for _, b in pairs]) == pytest.approx(0.4)


def test_ac1_by_hand():
    # Two raters, two categories: 40 items both "meets", 5 both "not_met", 5 split.
    table = [["meets", "meets"]] * 40 + [["not_met", "not_met"]] * 5 + [["meets", "not_met"]] * 5
    pa = 45 / 50
    pi = (45 + 40) / 100  # share of "meets" over both raters
    pe = 2 * pi * (1 - pi) / (2 - 1)
    assert agreement.gwet_ac1(table) == pytest.approx((pa - pe) / (1 - pe))


def test_three_reviewers_use_fleiss_and_a_bootstrap_interval():
    a = {f"Q{i}": "meets" if i % 5 else "partly" for i in range(30)}
    b = dict(a, Q3="partly")
    c = dict(a, Q4="not_met")
    report = agreement.measure([a, b, c])
    assert report.kappa_name == "fleiss" and report.raters == 3
    assert report.percent.low <= report.percent.value <= report.percent.high
    assert report.kappa.low <= report.kappa.value <= report.kappa.high


def test_too_few_items_or_raters_gives_nothing():
    assert agreement.measure([{"a": "meets"}]) is None
    assert agreement.measure([{"a": "meets"}, {"a": "meets"}]) is None


def test_the_secretary_reads_agreement_and_disagreements_with_their_questions(home):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from test_decisions import Committee
    from workbench.review import reviews
    from workbench.i18n import t
    from workbench.services import Workbench

    wb = Workbench.open(home)
    wb.keys.ensure_demo()
    c = Committee(wb)
    sub_id = c.at_committee()
    # The second reviewer differs on one item (the review is reopened by editing before sign-off in
    # real life; here the stored answer is changed to set up the disagreement).
    review = reviews.compare(wb.registry, c.secretary, sub_id).reviews[1]
    item = sorted(review.answers)[0]
    import json

    answers = dict(review.answers, **{item: {**review.answers[item], "value": "partly"}})
    wb.registry.execute("UPDATE reviews SET answers = ? WHERE id = ?", (json.dumps(answers), review.id))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "streamlit_app.py"), default_timeout=60)
    at.session_state["actor"] = c.secretary
    at.session_state["lang"] = "en"
    at.query_params["submission"] = str(sub_id)
    at.run()
    assert not at.exception, at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "The reviewers gave the same answer to" in text and "Gwet" in text and "Cohen" in text
    assert at.warning[0].value == t("staff.disagreements_title", "en", n=1)
    disputed = next(d.value for d in at.dataframe if t("staff.col_item", "en") in d.value.columns)
    assert list(disputed[t("staff.col_item", "en")]) == [item] and disputed[t("staff.col_question", "en")][0]
    wb.close()
