"""The committee's rules: tier derivation, scoring, blocking, recommendation, agreement."""

from __future__ import annotations

import json

import pytest

from workbench.review import rules
from workbench.review.checklists import Checklist, content_hash, load_checklist, load_risk_questionnaire
from workbench.i18n import LANGUAGES, t
from workbench.review.rules import (
    GAP_RULES,
    TIER_POLICY,
    Answer,
    RulesError,
    agreement,
    applicable_items,
    applicable_sections,
    classify_risk,
    cohen_kappa,
    disagreements,
    fleiss_kappa,
    kappa_band,
    recommendation_allowed,
    score_review,
)


@pytest.fixture(scope="module")
def questionnaire():
    return load_risk_questionnaire()


@pytest.fixture(scope="module")
def checklist() -> Checklist:
    return load_checklist()


# ---------------------------------------------------------------------------- tier derivation

# Each row: a realistic tool, the questions a reviewer answers "yes" (all others "no"),
# the expected tier and aggravating factors. R1-R4 prohibited, R5-R10 high, R11-R12
# limited, R13 under 13, R14 special/biometric data, R15 fully automated, R16 national.
TOOLS = [
    ("emotion-reading exam proctoring", {"R1", "R9", "R14"}, "prohibited", ["special_data"]),
    ("gamified reading app pushing loot boxes on young children", {"R2", "R11", "R13"}, "prohibited", ["under_13"]),
    ("behaviour-points app deciding access to clubs", {"R3"}, "prohibited", []),
    ("attendance camera inferring ethnicity", {"R4", "R14"}, "prohibited", ["special_data"]),
    ("admissions ranking for a specialised lyceum", {"R5"}, "high", []),
    ("essay scoring used for term grades", {"R6"}, "high", []),
    ("adaptive maths learning path for grades 1-4", {"R6", "R7", "R11", "R13"}, "high", ["under_13"]),
    ("cheating detection with webcam during online tests", {"R9", "R14"}, "high", ["special_data"]),
    ("national testing-centre scoring deciding grants", {"R5", "R6", "R15", "R16"}, "high",
     ["automated_decisions", "national_scale"]),
    ("career-guidance recommender steering profile class choice", {"R8", "R10", "R11"}, "high", []),
    ("homework plagiarism checker whose flags feed grades", {"R10"}, "high", []),
    ("AI-text detector with automatic penalties", {"R10", "R15"}, "high", ["automated_decisions"]),
    ("dropout early-warning system across regions", {"R10", "R16"}, "high", ["national_scale"]),
    ("homework help chatbot", {"R11", "R12"}, "limited", []),
    ("image generator for teachers", {"R12"}, "limited", []),
    ("parent-teacher chat translator", {"R11", "R12"}, "limited", []),
    ("Kazakh lesson-plan generator for teachers", {"R12"}, "limited", []),
    ("speech-therapy app for children under 13 with voice data", {"R11", "R13", "R14"}, "limited",
     ["under_13", "special_data"]),
    ("timetable optimiser", set(), "minimal", []),
    ("school-canteen menu planner", set(), "minimal", []),
    ("library book recommender", set(), "minimal", []),
    ("school-bus route optimiser", set(), "minimal", []),
]


def _answers(questionnaire, yes: set[str]) -> dict[str, bool]:
    return {q.id: q.id in yes for q in questionnaire.questions}


@pytest.mark.parametrize("tool, yes, tier, factors", TOOLS, ids=[row[0] for row in TOOLS])
def test_tier_derivation_table(questionnaire, tool, yes, tier, factors):
    result = classify_risk(_answers(questionnaire, yes), questionnaire)
    assert result.tier == tier
    assert result.factors == factors
    assert result.complete
    # The rationale names exactly the "yes" answers that produced the result.
    named = {r.question_id for r in result.rationale if r.question_id}
    assert named == yes
    deciding = {r.question_id for r in result.rationale if r.key == "rules.reason.trigger"}
    assert deciding == {q for q in yes if questionnaire.question(q).tier == tier}
    for lang in LANGUAGES:
        lines = result.explain(lang)
        assert lines[0] == t("rules.risk.headline", lang, tier=t(f"rules.tier.{tier}", lang))
        for qid in yes:
            assert any(line.startswith(qid + ":") for line in lines), (qid, lang)


def test_table_has_at_least_fifteen_tools_and_every_tier():
    assert len(TOOLS) >= 15
    assert {row[2] for row in TOOLS} == {"prohibited", "high", "limited", "minimal"}


def test_lower_tier_triggers_are_reported_but_do_not_win(questionnaire):
    result = classify_risk(_answers(questionnaire, {"R1", "R9", "R12"}), questionnaire)
    assert result.tier == "prohibited"
    keys = {r.question_id: r.key for r in result.rationale if r.question_id}
    assert keys == {"R1": "rules.reason.trigger", "R9": "rules.reason.also", "R12": "rules.reason.also"}
    text = "\n".join(result.explain("ru"))
    assert "высокий" in text and "ограниченный" in text  # the overruled tiers are named


def test_minimal_rationale_says_nothing_triggered(questionnaire):
    result = classify_risk(_answers(questionnaire, set()), questionnaire)
    assert [r.key for r in result.rationale] == ["rules.reason.none"]
    assert result.explain("kk")[-1] == t("rules.consequence.minimal", "kk")


def test_unanswered_questions_make_the_tier_a_lower_bound(questionnaire):
    result = classify_risk({"R12": True, "R1": False}, questionnaire)
    assert result.tier == "limited"
    assert not result.complete
    assert len(result.unanswered) == len(questionnaire.questions) - 2
    assert result.rationale[-1].key == "rules.reason.unanswered"
    assert str(len(result.unanswered)) in result.explain("en")[-3]


def test_classification_records_the_questionnaire_version(questionnaire):
    result = classify_risk({}, questionnaire)
    assert result.questionnaire_version == questionnaire.version
    assert result.questionnaire_hash == content_hash(questionnaire)
    stored = json.loads(json.dumps(result.model_dump(mode="json")))
    assert rules.RiskResult.model_validate(stored) == result


def test_unknown_question_and_non_boolean_answers_are_refused(questionnaire):
    with pytest.raises(RulesError) as exc:
        classify_risk({"R99": True, "R1": False}, questionnaire)
    assert exc.value.key == rules._UNKNOWN_QUESTION
    assert exc.value.params["ids"] == "R99"
    with pytest.raises(RulesError) as exc:
        classify_risk({"R1": "no"}, questionnaire)  # a truthy string must not count as yes
    assert exc.value.key == rules._NOT_YES_NO


def test_tier_policy_table():
    assert not TIER_POLICY["prohibited"].labelable
    assert TIER_POLICY["high"].min_reviewers >= 2 and TIER_POLICY["high"].fairness_tests
    assert TIER_POLICY["limited"].generative_tests
    labelable = [p.max_label_months for p in TIER_POLICY.values() if p.labelable]
    assert TIER_POLICY["high"].max_label_months == min(labelable)


# ---------------------------------------------------------------------------- applicable items


def test_applicable_items_follow_tier_and_tool_type(checklist):
    high_gen = {i.id for i in applicable_items(checklist, "high", "generative")}
    high_scorer = {i.id for i in applicable_items(checklist, "high", "scorer")}
    minimal = {i.id for i in applicable_items(checklist, "minimal", "other")}
    assert "P5.3" in high_gen and "P5.3" not in high_scorer          # art. 50(2) marking: generative only
    assert "P4.2" in high_scorer and "P4.2" not in minimal           # decision logs: high risk only
    assert minimal < {i.id for i in applicable_items(checklist, "high", "other")}
    assert applicable_items(checklist, "prohibited", "scorer") == []
    sections = applicable_sections(checklist, "limited", "generative")
    assert all(items for _, items in sections)
    assert sum(len(items) for _, items in sections) == len(applicable_items(checklist, "limited", "generative"))


@pytest.mark.parametrize("tier, tool_type, key", [("extreme", "scorer", rules._UNKNOWN_TIER),
                                                  ("high", "robot", rules._UNKNOWN_TOOL_TYPE)])
def test_unknown_tier_or_tool_type(checklist, tier, tool_type, key):
    with pytest.raises(RulesError) as exc:
        applicable_items(checklist, tier, tool_type)
    assert exc.value.key == key


# ---------------------------------------------------------------------------- scoring and blocking


def _text(en: str) -> dict:
    return {"kk": en + " (қаз.)", "ru": en + " (рус.)", "en": en}


def _item(item_id: str, severity: str, tiers: list[str]) -> dict:
    return {"id": item_id, "question": _text(item_id), "guidance": _text("g"), "evidence": _text("e"),
            "tiers": tiers, "tool_types": ["all"], "severity": severity, "source": "Concept ch. 3 §3"}


@pytest.fixture()
def small() -> Checklist:
    """Two principles, five items: small enough to score by hand."""
    return Checklist.model_validate({
        "version": "2026.1",
        "title": _text("Small"),
        "sections": [
            {"id": "S1", "title": _text("First"), "description": _text("d"), "source": "Concept ch. 3 §1",
             "items": [_item("S1.1", "critical", ["high", "limited"]),
                       _item("S1.2", "major", ["high", "limited"]),
                       _item("S1.3", "minor", ["high", "limited"])]},
            {"id": "S2", "title": _text("Second"), "description": _text("d"), "source": "Concept ch. 3 §2",
             "items": [_item("S2.1", "major", ["high"]),
                       _item("S2.2", "minor", ["high", "limited"])]},
        ],
    })


def test_scores_by_hand(small):
    answers = {
        "S1.1": Answer(value="meets"),
        "S1.2": Answer(value="partly", note="consent form lacks Kazakh version"),
        "S1.3": {"value": "na", "note": "no personal data"},
        "S2.2": "not_met",  # bare value, and no note: not ready
    }
    s = score_review(small, answers, "high", "scorer")
    # S1: (1 + 0.5) / 2 scored items = 75; "na" is left out.
    # S2: S2.1 unanswered, S2.2 = 0 -> 0. Overall: (1 + 0.5 + 0) / 3 = 50.
    assert [(x.section_id, x.score) for x in s.sections] == [("S1", 75.0), ("S2", 0.0)]
    assert s.overall_score == pytest.approx(50.0)
    first = s.sections[0]
    assert (first.meets, first.partly, first.not_met, first.na, first.unanswered) == (1, 1, 0, 1, 0)
    assert [f.item_id for f in s.conditions] == ["S1.2"]
    assert [f.item_id for f in s.advice] == ["S2.2"]
    assert s.blocking == []
    assert s.unanswered == ["S2.1"]
    assert s.missing_notes == ["S2.2"]
    assert not s.ready
    assert (s.answered, s.applicable) == (4, 5)


def test_tier_changes_what_is_scored(small):
    s = score_review(small, {"S2.1": "meets", "S1.1": "meets"}, "limited", "other")
    assert s.ignored == ["S2.1"]                 # S2.1 is for high risk only
    assert [x.applicable for x in s.sections] == [3, 1]


@pytest.mark.parametrize("severity", ["critical", "major", "minor"])
@pytest.mark.parametrize("value", ["meets", "partly", "not_met", "na"])
def test_gap_rules_table(severity, value):
    data = {"version": "2026.1", "title": _text("T"), "sections": [
        {"id": "S1", "title": _text("S"), "description": _text("d"), "source": "Concept ch. 3 §1",
         "items": [_item("S1.1", severity, ["high"])]}]}
    s = score_review(Checklist.model_validate(data), {"S1.1": Answer(value=value, note="n")}, "high", "other")
    kind = GAP_RULES.get((severity, value))
    assert [f.item_id for f in s.blocking] == (["S1.1"] if kind == "blocking" else [])
    assert [f.item_id for f in s.conditions] == (["S1.1"] if kind == "condition" else [])
    assert [f.item_id for f in s.advice] == (["S1.1"] if kind == "advice" else [])


def test_only_critical_not_met_blocks():
    assert {k for k, v in GAP_RULES.items() if v == "blocking"} == {("critical", "not_met")}
    assert GAP_RULES[("critical", "partly")] == "condition"


def _all(small, value="meets", **overrides):
    answers = {i.id: Answer(value=value, note="checked") for _, i in small.items()}
    answers.update({k: Answer(value=v, note="see note") for k, v in overrides.items()})
    return answers


def test_critical_not_met_forbids_approval(small):
    s = score_review(small, _all(small, **{"S1.1": "not_met"}), "high", "other")
    assert [f.item_id for f in s.blocking] == ["S1.1"] and s.ready
    for rec in ("approve", "approve_with_conditions"):
        check = recommendation_allowed(s, "high", rec)
        assert not check
        assert "rules.refuse.blocking" in [r.key for r in check.reasons]
        assert "S1.1" in check.explain("kk")[0]
    assert recommendation_allowed(s, "high", "reject")
    assert recommendation_allowed(s, "high", "ask_vendor")
    assert s.explain("en")[-1] == t("rules.summary.verdict_blocked", "en", count=1)


def test_conditions_require_conditional_approval(small):
    s = score_review(small, _all(small, **{"S1.1": "partly", "S2.1": "not_met"}), "high", "other")
    assert [f.item_id for f in s.conditions] == ["S1.1", "S2.1"]  # critical first
    assert not s.blocking
    plain = recommendation_allowed(s, "high", "approve")
    assert [r.key for r in plain.reasons] == ["rules.refuse.conditions"]
    assert recommendation_allowed(s, "high", "approve_with_conditions").allowed


def test_prohibited_tier_can_never_be_approved(small):
    s = score_review(small, _all(small), "high", "other")
    assert s.ready and not s.blocking and not s.conditions
    assert recommendation_allowed(s, "high", "approve").allowed
    check = recommendation_allowed(s, "prohibited", "approve")
    assert [r.key for r in check.reasons] == ["rules.refuse.prohibited"]
    empty = score_review(small, {}, "prohibited", "other")  # no item applies to a prohibited tool
    assert empty.applicable == 0
    assert not recommendation_allowed(empty, "prohibited", "approve_with_conditions")
    assert recommendation_allowed(empty, "prohibited", "reject")
    assert empty.explain("kk")[-1] == t("rules.summary.prohibited", "kk")


def test_an_incomplete_review_cannot_approve(small):
    answers = _all(small)
    del answers["S2.2"]
    s = score_review(small, answers, "high", "other")
    check = recommendation_allowed(s, "high", "approve_with_conditions")
    assert [r.key for r in check.reasons] == ["rules.refuse.not_ready"]


def test_bad_inputs_to_scoring(small):
    with pytest.raises(RulesError) as exc:
        score_review(small, {"S9.9": "meets"}, "high", "other")
    assert exc.value.key == rules._UNKNOWN_ITEM
    with pytest.raises(RulesError) as exc:
        score_review(small, {"S1.1": "excellent"}, "high", "other")
    assert exc.value.key == rules._BAD_ANSWER
    with pytest.raises(RulesError) as exc:
        recommendation_allowed(score_review(small, {}, "high", "other"), "high", "maybe")
    assert exc.value.key == rules._UNKNOWN_RECOMMENDATION


def test_full_review_of_the_real_checklist(checklist):
    items = applicable_items(checklist, "high", "scorer")
    answers = {i.id: Answer(value="meets") for i in items}
    answers["P8.6"] = Answer(value="not_met", note="learner data shared with an ad network")
    answers["P7.1"] = Answer(value="partly", note="benefit shown only for grade 9")
    s = score_review(checklist, answers, "high", "scorer")
    assert s.ready
    assert [f.item_id for f in s.blocking] == ["P8.6"]
    assert [f.item_id for f in s.conditions] == ["P7.1"]
    assert s.checklist_version == checklist.version and s.checklist_hash == content_hash(checklist)
    privacy = next(x for x in s.sections if x.section_id == "P8")
    assert privacy.score == pytest.approx(100 * 10 / 11)
    for lang in LANGUAGES:
        lines = s.explain(lang)
        assert any("P8.6" in line for line in lines)
        assert any(checklist.sections[0].title.get(lang) in line for line in lines)
    stored = json.loads(json.dumps(s.model_dump(mode="json")))
    assert rules.ReviewSummary.model_validate(stored) == s


# ---------------------------------------------------------------------------- agreement


# Hand computation (Cohen): 10 items, m = meets, p = partly, n = not_met.
#   A: m m m m m p p p n n
#   B: m m m m p p p n n m
#   observed agreement p_o = 7/10 = 0.70 (items 1-4, 6, 7, 9)
#   A uses m 5, p 3, n 2; B uses m 5, p 3, n 2
#   chance p_e = (5*5 + 3*3 + 2*2) / 100 = 0.38
#   kappa = (0.70 - 0.38) / (1 - 0.38) = 0.32 / 0.62 = 0.516129...
COHEN_A = list("mmmmmpppnn")
COHEN_B = list("mmmmpppnnm")


def test_cohen_kappa_hand_example():
    assert cohen_kappa(COHEN_A, COHEN_B) == pytest.approx(0.32 / 0.62)


def test_cohen_kappa_matches_scikit_learn():
    from sklearn.metrics import cohen_kappa_score

    assert cohen_kappa(COHEN_A, COHEN_B) == pytest.approx(cohen_kappa_score(COHEN_A, COHEN_B))


# Hand computation (Fleiss): 4 items, 3 raters, categories (meets, partly, not_met).
#   rows            P_i = (sum n_ij^2 - n) / (n (n - 1)), n = 3
#   [3, 0, 0]       (9 - 3) / 6         = 1
#   [2, 1, 0]       (4 + 1 - 3) / 6     = 1/3
#   [0, 3, 0]       (9 - 3) / 6         = 1
#   [1, 1, 1]       (1 + 1 + 1 - 3) / 6 = 0
#   P_bar = (1 + 1/3 + 1 + 0) / 4 = 7/12
#   p_j = column sums / 12 = 6/12, 5/12, 1/12;  P_e = (36 + 25 + 1) / 144 = 62/144
#   kappa = (7/12 - 62/144) / (1 - 62/144) = (84 - 62) / (144 - 62) = 22/82 = 0.268292...
FLEISS = [[3, 0, 0], [2, 1, 0], [0, 3, 0], [1, 1, 1]]


def test_fleiss_kappa_hand_example():
    assert fleiss_kappa(FLEISS) == pytest.approx(22 / 82)


def test_agreement_picks_the_method_by_number_of_reviews():
    names = {"m": "meets", "p": "partly", "n": "not_met"}
    a = {f"P1.{i + 1}": names[v] for i, v in enumerate(COHEN_A)}
    b = {f"P1.{i + 1}": {"value": names[v], "note": ""} for i, v in enumerate(COHEN_B)}
    two = agreement([a, b])
    assert (two.method, two.items, two.raters) == ("cohen", 10, 2)
    assert two.kappa == pytest.approx(0.32 / 0.62)
    assert two.band == "rules.kappa.band_moderate"
    assert "0,52" in two.explain("kk") and "0.52" in two.explain("en")
    # Three reviews giving the FLEISS rows.
    r1 = {"X1": "meets", "X2": "meets", "X3": "partly", "X4": "meets"}
    r2 = {"X1": "meets", "X2": "meets", "X3": "partly", "X4": "partly"}
    r3 = {"X1": "meets", "X2": "partly", "X3": "partly", "X4": "not_met", "X5": "meets"}
    three = agreement([r1, r2, r3])
    assert (three.method, three.items, three.raters) == ("fleiss", 4, 3)  # X5 not answered by all
    assert three.kappa == pytest.approx(22 / 82)


def test_kappa_is_undefined_when_everyone_uses_one_answer():
    assert cohen_kappa(["meets"] * 4, ["meets"] * 4) is None
    assert fleiss_kappa([[3, 0], [3, 0]]) is None
    same = agreement([{"P1.1": "meets", "P1.2": "meets"}] * 2)
    assert same.kappa is None
    assert same.explain("ru") == t("rules.kappa.undefined", "ru", items=2)


def test_perfect_and_opposite_agreement():
    assert cohen_kappa(["a", "b", "a", "b"], ["a", "b", "a", "b"]) == pytest.approx(1.0)
    assert cohen_kappa(["a", "b", "a", "b"], ["b", "a", "b", "a"]) == pytest.approx(-1.0)


@pytest.mark.parametrize("kappa, band", [(-0.1, "poor"), (0.0, "slight"), (0.2, "slight"), (0.21, "fair"),
                                         (0.5, "moderate"), (0.7, "substantial"), (0.81, "almost_perfect"),
                                         (None, "undefined")])
def test_kappa_bands(kappa, band):
    assert kappa_band(kappa) == f"rules.kappa.band_{band}"


def test_kappa_input_errors():
    with pytest.raises(RulesError) as exc:
        cohen_kappa(["a"], ["a", "b"])
    assert exc.value.key == rules._KAPPA_LENGTH
    with pytest.raises(RulesError) as exc:
        cohen_kappa([], [])
    assert exc.value.key == rules._KAPPA_EMPTY
    for bad in ([[2, 0], [1, 0]], [[1, 0]], [[3, -1]]):
        with pytest.raises(RulesError) as exc:
            fleiss_kappa(bad)
        assert exc.value.key == rules._KAPPA_MATRIX
    with pytest.raises(RulesError) as exc:
        agreement([{"P1.1": "meets"}])
    assert exc.value.key == rules._TOO_FEW_REVIEWS
    with pytest.raises(RulesError) as exc:
        agreement([{"P1.1": "meets"}, {"P1.2": "meets"}])
    assert exc.value.key == rules._KAPPA_EMPTY


def test_disagreements_in_checklist_order():
    a = {"P1.10": "meets", "P1.2": "partly", "P2.1": "meets", "P3.1": "na"}
    b = {"P1.10": "not_met", "P1.2": "meets", "P2.1": "meets"}
    c = {"P1.10": "not_met", "P1.2": "partly", "P2.1": {"value": "meets", "note": "ok"}}
    assert disagreements([a, b, c]) == ["P1.2", "P1.10"]
    assert disagreements([a, b]) == ["P1.2", "P1.10"]  # P3.1, answered by one reviewer only, is no dispute
    assert disagreements([a, a]) == []
