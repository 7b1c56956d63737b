"""The fairness engine: check outcomes, counts = records, counterfactual pairs, validation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from workbench.fairness import (
    CLASSIFIER_CHECKS,
    CLASSIFIER_METRICS,
    COUNTERFACTUAL_OUTCOMES,
    SCORE_CHECKS,
    SCORE_METRICS,
    AucTable,
    AuditSpec,
    InputError,
    PolicyError,
    _compare,
    _spec,
    load_policy,
    make_spec,
    render_reason,
    run_audit,
)
from workbench.fairness._classifier import AUC_RULE
from workbench.i18n import LANGUAGES, has_key

CELLS = ("tn", "fp", "fn", "tp")


def counts_frame(groups: dict[str, tuple[int, int, int, int]]) -> pd.DataFrame:
    return pd.DataFrame([{"g": g, **dict(zip(CELLS, cells))} for g, cells in groups.items()])


def records_from_counts(groups: dict[str, tuple[int, int, int, int]]) -> pd.DataFrame:
    rows = []
    for g, cells in groups.items():
        for (y, p), k in zip(((0, 0), (0, 1), (1, 0), (1, 1)), cells):
            rows += [{"g": g, "y": y, "p": p}] * k
    return pd.DataFrame(rows).sample(frac=1, random_state=0).reset_index(drop=True)


def audit_counts(groups, **options):
    return run_audit(counts_frame(groups), AuditSpec(kind="counts", sensitive=["g"], **options))


def outcomes(result, group: str) -> dict[str, str]:
    """Outcomes of the checks whose decisive pair involves ``group`` (every pair is compared)."""
    return {c.metric: c.outcome for c in result.checks if {"g": group} in (c.group, c.reference)}


# ---- outcomes of checks --------------------------------------------------------------

BALANCED = (2500, 2500, 2500, 2500)


def test_similar_large_groups_pass() -> None:
    result = audit_counts({"a": BALANCED, "b": (2450, 2550, 2450, 2550)})
    assert set(outcomes(result, "b").values()) == {"pass"}
    assert result.verdict == "pass"
    assert result.references["intersection"] == {"g": "a"}  # equal sizes: the first


def test_clear_disparity_fails() -> None:
    result = audit_counts({"a": BALANCED, "b": (1000, 4000, 1000, 4000)})
    got = outcomes(result, "b")
    assert got["demographic_parity_difference"] == "fail"
    assert got["demographic_parity_ratio"] == "fail"  # 0.8 / 0.5 = 1.6 > 1.25
    assert got["equal_opportunity_difference"] == "fail"
    assert got["equalized_odds_difference"] == "fail"
    assert got["accuracy_difference"] == "pass"  # both 0.5
    assert result.verdict == "fail"
    check = next(c for c in result.checks if c.metric == "demographic_parity_difference")
    assert check.value == pytest.approx(0.3)
    assert check.ci_low > check.threshold
    assert check.reason_key == "fairness.reason.fail_within"


def test_interval_straddling_threshold_is_inconclusive() -> None:
    # 0.6 vs 0.5 in groups of 60: the interval (about ±0.18) covers both sides of 0.10.
    result = audit_counts({"a": (15, 15, 15, 15), "b": (12, 18, 12, 18)})
    check = next(c for c in result.checks if c.metric == "demographic_parity_difference")
    assert check.outcome == "inconclusive"
    assert check.ci_low < check.threshold < check.ci_high
    assert check.reason_key == "fairness.reason.inconclusive_within"
    assert result.verdict == "inconclusive"


def test_small_group_is_reported_never_judged_and_blocks_a_pass() -> None:
    result = audit_counts({"a": BALANCED, "b": (2450, 2550, 2450, 2550), "c": (3, 3, 2, 2)})
    c = next(g for g in result.groups if g.group == {"g": "c"})
    assert c.too_small and c.n == 10
    assert c.metrics["selection_rate"].estimate == pytest.approx(0.5)
    assert [ch.metric for ch in result.checks if {"g": "c"} in (ch.group, ch.reference)] == ["group_size"]
    assert result.verdict == "inconclusive"  # a value of the only feature is too small to judge
    assert any("c" in line and "10" in line for line in result.explain("en"))


def test_a_small_reference_changes_nothing() -> None:
    groups = {"a": BALANCED, "b": (2450, 2550, 2450, 2550), "c": (3, 3, 2, 2)}
    chosen, default = audit_counts(groups, reference={"g": "c"}), audit_counts(groups)
    assert chosen.references["intersection"] == {"g": "c"}
    assert chosen.checks == default.checks and chosen.verdict == default.verdict


def test_undefined_rate_gives_inconclusive_with_reason() -> None:
    # Group b has no positives: its true positive rate is undefined, not 0.
    result = audit_counts({"a": BALANCED, "b": (2500, 2500, 0, 0)})
    b = next(g for g in result.groups if g.group == {"g": "b"})
    assert b.metrics["true_positive_rate"].estimate is None
    assert b.metrics["true_positive_rate"].ci_low is None
    check = next(c for c in result.checks if c.metric == "equal_opportunity_difference")
    assert check.outcome == "inconclusive" and check.value is None
    assert check.reason_key == _compare._REASON_UNDEFINED
    assert json.loads(json.dumps(result.to_json_dict()))["groups"][1]["metrics"]["true_positive_rate"]["estimate"] is None


def test_no_comparable_groups_is_inconclusive() -> None:
    result = audit_counts({"a": (2, 2, 2, 2), "b": (1, 1, 1, 1)})
    assert {c.metric for c in result.checks} == {"group_size"} and result.verdict == "inconclusive"
    assert result.pairs_compared == 0
    # Two features, every intersection too small but the marginals fine: nothing to compare there.
    df = pd.DataFrame({"g": ["a"] * 40 + ["b"] * 40, "h": (["x"] * 20 + ["y"] * 20) * 2,
                       "tn": 1, "fp": 0, "fn": 0, "tp": 0})
    two = run_audit(df, AuditSpec(kind="counts", sensitive=["g", "h"]))
    assert not [c for c in two.checks if c.level == "intersection"]


def test_policy_tier_changes_the_threshold() -> None:
    groups = {"a": BALANCED, "b": (1750, 3250, 1750, 3250)}  # difference 0.15 ± 0.014
    high = outcomes(audit_counts(groups, tier="high"), "b")
    minimal = outcomes(audit_counts(groups, tier="minimal"), "b")
    assert high["demographic_parity_difference"] == "fail"
    assert minimal["demographic_parity_difference"] == "pass"


# ---- references, intersections, reproducibility --------------------------------------

def test_default_reference_is_the_largest_and_can_be_chosen() -> None:
    groups = {"a": (10, 10, 10, 10), "b": BALANCED}
    assert audit_counts(groups).references["intersection"] == {"g": "b"}
    assert audit_counts(groups, reference={"g": "a"}).references["intersection"] == {"g": "a"}


def test_intersections_and_marginals() -> None:
    rng = np.random.default_rng(3)
    n = 4000
    df = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "loc": rng.choice(["rural", "urban", "town"], n),
                       "y": rng.integers(0, 2, n), "p": rng.integers(0, 2, n)})
    result = run_audit(df, AuditSpec(y_true="y", y_pred="p", sensitive=["sex", "loc"], reference={"sex": "M"}))
    assert len(result.groups) == 6 and set(result.marginal_groups) == {"sex", "loc"}
    assert result.references["sex"] == {"sex": "M"}
    assert result.references["intersection"]["sex"] == "M"
    assert sum(g.n for g in result.groups) == n == sum(g.n for g in result.marginal_groups["loc"])
    assert {c.level for c in result.checks} == {"intersection", "sex", "loc"}


def test_same_seed_same_result_other_seed_other_intervals() -> None:
    groups = {"a": (40, 40, 40, 40), "b": (30, 50, 30, 50)}
    # Classifier intervals are closed-form score intervals: no resampling, no seed.
    assert audit_counts(groups, seed=7).checks == audit_counts(groups, seed=8).checks
    first, again = (run_audit(pairs_frame(), AuditSpec(**CF_SPEC, seed=7)) for _ in range(2))
    other = run_audit(pairs_frame(), AuditSpec(**CF_SPEC, seed=8))
    assert first.to_json_dict() == again.to_json_dict()
    gap = [next(c for c in r.checks if c.metric == "counterfactual_score_gap") for r in (first, other)]
    assert gap[0].value == gap[1].value and (gap[0].ci_low, gap[0].ci_high) != (gap[1].ci_low, gap[1].ci_high)


def test_counts_input_equals_record_input() -> None:
    groups = {"a": (120, 30, 25, 95), "b": (80, 50, 40, 60), "c": (5, 1, 0, 4)}
    from_counts = audit_counts(groups)
    from_records = run_audit(records_from_counts(groups), AuditSpec(y_true="y", y_pred="p", sensitive=["g"]))
    # Same counts, same seed: identical estimates *and* intervals.
    assert from_counts.groups == from_records.groups
    assert from_counts.checks == from_records.checks
    assert from_counts.verdict == from_records.verdict


def test_counts_rows_for_the_same_group_add_up() -> None:
    split = pd.concat([counts_frame({"a": (60, 20, 10, 50)}), counts_frame({"a": (40, 10, 10, 30), "b": BALANCED})])
    whole = counts_frame({"a": (100, 30, 20, 80), "b": BALANCED})
    spec = AuditSpec(kind="counts", sensitive=["g"])
    assert run_audit(split, spec).groups == run_audit(whole, spec).groups


def test_score_counts_equal_scorer_records() -> None:
    rng = np.random.default_rng(5)
    n = 3000
    df = pd.DataFrame({"g": rng.choice(["kk", "ru", "other"], n, p=[0.5, 0.4, 0.1]),
                       "true": rng.integers(0, 101, n).astype(float)})
    df["pred"] = df["true"] + rng.normal(0, 8, n) + np.where(df["g"] == "ru", 8.0, 0.0)
    records = run_audit(df, AuditSpec(kind="scorer", y_true="true", y_pred="pred", sensitive=["g"]))
    err = df["pred"] - df["true"]
    sums = pd.DataFrame({"n": df.groupby("g").size(), "sum_pred": df.groupby("g")["pred"].sum(),
                         "sum_pred_sq": (df["pred"] ** 2).groupby(df["g"]).sum(), "sum_error": err.groupby(df["g"]).sum(),
                         "sum_error_sq": (err ** 2).groupby(df["g"]).sum(),
                         "sum_abs_error": err.abs().groupby(df["g"]).sum()}).reset_index()
    counts = run_audit(sums, AuditSpec(kind="score_counts", sensitive=["g"]))
    with_fourth = run_audit(sums.assign(sum_error_4=(err ** 4).groupby(df["g"]).sum().to_numpy()),
                            AuditSpec(kind="score_counts", sensitive=["g"]))
    for a, c in zip(records.groups, with_fourth.groups):
        ours, theirs = a.metrics["root_mean_squared_error"], c.metrics["root_mean_squared_error"]
        assert (ours.ci_low, ours.ci_high) == pytest.approx((theirs.ci_low, theirs.ci_high), rel=1e-9)
    for a, b in zip(records.groups, counts.groups):
        assert a.group == b.group and a.n == b.n
        for name in SCORE_METRICS:
            assert a.metrics[name].estimate == pytest.approx(b.metrics[name].estimate, rel=1e-9)
        # Means from sums: intervals identical; without Σe⁴ the RMSE has no interval (issue 10, 8).
        for name in ("mean_prediction", "mean_error", "mean_absolute_error"):
            ours, theirs = a.metrics[name], b.metrics[name]
            assert (ours.ci_low, ours.ci_high) == pytest.approx((theirs.ci_low, theirs.ci_high), rel=1e-9)
        assert a.metrics["root_mean_squared_error"].ci_low is not None
        assert b.metrics["root_mean_squared_error"].ci_low is None
    assert [c.outcome for c in records.checks] == [c.outcome for c in counts.checks]
    bias = next(c for c in records.checks if c.metric == "score_bias" and c.group == {"g": "ru"})
    assert bias.outcome == "fail"  # +8 points on a spread of about 30: 0.27 SD, well above 0.10


def test_scorer_with_pass_mark_adds_classifier_metrics_and_checks() -> None:
    rng = np.random.default_rng(9)
    df = pd.DataFrame({"g": rng.choice(["a", "b"], 2000), "true": rng.integers(0, 21, 2000).astype(float)})
    df["pred"] = df["true"] + rng.normal(0, 1, 2000)
    result = run_audit(df, AuditSpec(kind="scorer", y_true="true", y_pred="pred", pass_mark=10, sensitive=["g"]))
    assert {"mean_error", "selection_rate", "auc"} <= set(result.groups[0].metrics)
    assert {c.metric for c in result.checks} >= {"score_bias", "demographic_parity_difference", "auc_difference"}


# ---- AUC -------------------------------------------------------------------------------

def _delong_direct(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    pos, neg = s[y == 1], s[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(1), psi.mean(0)
    return psi.mean(), v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)


def test_binned_auc_and_delong_variance_equal_the_pairwise_computation() -> None:
    rng = np.random.default_rng(11)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.random(300) + 0.4 * y, 2)
    est = AucTable.from_records(np.zeros(300, dtype=np.int64), y.astype(bool), s, 1).estimate()
    auc, var = _delong_direct(y, s)
    assert est.auc[0] == pytest.approx(auc, abs=1e-12)
    assert est.var[0] == pytest.approx(var, rel=1e-9)


# ---- counterfactual pairs ----------------------------------------------------------------

def pairs_frame(n_pairs: int = 300, refusal_gap: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    base_score = rng.normal(70, 10, n_pairs)
    base_len = rng.integers(200, 600, n_pairs)
    rows = []
    for variant, shift in (("kk_name", 0.0), ("ru_name", refusal_gap)):
        refused = rng.random(n_pairs) < 0.1 + shift
        rows.append(pd.DataFrame({"pair": np.arange(n_pairs), "name": variant,
                                  "score": base_score + rng.normal(0, 0.5, n_pairs),
                                  "refused": refused.astype(int),
                                  "length": base_len + rng.integers(-5, 6, n_pairs)}))
    return pd.concat(rows, ignore_index=True)


CF_SPEC = dict(kind="counterfactual", pair_id="pair", variant="name",
               outcomes={"score": "score", "refused": "refusal", "length": "length"}, reference={"name": "kk_name"})


def test_counterfactual_without_gap_passes() -> None:
    result = run_audit(pairs_frame(), AuditSpec(**CF_SPEC))
    got = {c.metric: c.outcome for c in result.checks}
    assert got["counterfactual_score_gap"] == "pass"  # identical prompts, noise of 0.05 SD
    assert got["counterfactual_refusal_gap"] != "fail"  # same 10 % refusal in both variants
    assert result.verdict != "fail"
    length = next(c for c in result.checks if c.metric == "counterfactual_length_gap")
    assert length.outcome == "pass" and abs(length.value) < 0.01
    assert all(c.p_value is not None and 0 < c.p_value <= 1 for c in result.checks)
    assert {g.group["name"] for g in result.groups} == {"kk_name", "ru_name"}
    assert result.groups[0].metrics["refusal_rate"].ci_low is not None


def test_counterfactual_refusal_gap_fails_with_small_p_value() -> None:
    result = run_audit(pairs_frame(n_pairs=600, refusal_gap=0.25), AuditSpec(**CF_SPEC))
    refusal = next(c for c in result.checks if c.metric == "counterfactual_refusal_gap")
    assert refusal.outcome == "fail" and refusal.value == pytest.approx(0.25, abs=0.06)
    assert refusal.p_value < 0.01
    assert result.verdict == "fail"


def test_counterfactual_too_few_pairs() -> None:
    result = run_audit(pairs_frame(n_pairs=10), AuditSpec(**CF_SPEC))
    assert {c.reason_key for c in result.checks} == {"fairness.reason.too_few_pairs"}
    assert result.verdict == "inconclusive"


def test_counterfactual_bad_input_is_reported_together() -> None:
    df = pairs_frame(n_pairs=40)
    df = pd.concat([df, df.iloc[[0]]], ignore_index=True)  # a repeated (pair, variant)
    df.loc[3, "refused"] = 2
    with pytest.raises(InputError) as exc:
        run_audit(df, AuditSpec(**CF_SPEC))
    keys = [p.key for p in exc.value.problems]
    assert _spec._DUPLICATE_PAIRS in keys and _spec._NOT_BINARY in keys


# ---- validation ------------------------------------------------------------------------

def _problems(df: pd.DataFrame, **spec) -> list[str]:
    with pytest.raises(InputError) as exc:
        run_audit(df, AuditSpec(**spec))
    assert exc.value.key == _spec._INVALID
    return [p.key for p in exc.value.problems]


GOOD = pd.DataFrame({"g": ["a", "b"] * 30, "y": [0, 1] * 30, "p": [1, 1, 0] * 20})


@pytest.mark.parametrize("column, values, key", [
    ("y", [0, 1, 2] * 20, _spec._NOT_BINARY),
    ("y", ["yes", "no", "maybe"] * 20, _spec._NOT_BINARY),
    ("p", [0.0, 1.0, np.nan] * 20, _spec._MISSING_VALUES),
    ("g", ["a", None, "b"] * 20, _spec._MISSING_VALUES),
])
def test_bad_values(column: str, values: list, key: str) -> None:
    df = GOOD.assign(**{column: values})
    assert _problems(df, y_true="y", y_pred="p", sensitive=["g"]) == [key]


def test_text_labels_are_accepted() -> None:
    df = GOOD.assign(y=np.where(GOOD["y"] == 1, "иә", "жоқ"), p=np.where(GOOD["p"] == 1, "Yes", "no"))
    same = run_audit(GOOD, AuditSpec(y_true="y", y_pred="p", sensitive=["g"]))
    assert run_audit(df, AuditSpec(y_true="y", y_pred="p", sensitive=["g"])).groups == same.groups


def test_every_problem_is_reported_at_once() -> None:
    df = GOOD.assign(y=[0, 1, 2] * 20)
    keys = _problems(df, y_true="y", y_pred="missing", sensitive=["g", "nope"], reference={"g": "zzz"})
    assert keys.count(_spec._MISSING_COLUMN) == 2
    assert _spec._NOT_BINARY in keys and _spec._UNKNOWN_REFERENCE in keys


def test_other_input_problems() -> None:
    assert _problems(GOOD.iloc[:0], y_true="y", y_pred="p", sensitive=["g"]) == [_spec._NO_ROWS]
    assert _problems(GOOD, y_true="y", y_pred="p") == [_spec._NO_SENSITIVE]
    assert _problems(GOOD, y_true="y", y_pred="p", sensitive=["g"], reference={"y": "1"}) == [
        _spec._REFERENCE_NOT_SENSITIVE]
    many = pd.DataFrame({"id": range(1500), "y": [0, 1] * 750, "p": [1, 0] * 750})
    with pytest.raises(InputError) as exc:  # a learner ID is refused with a hint
        run_audit(many, AuditSpec(y_true="y", y_pred="p", sensitive=["id"]))
    assert [p.key for p in exc.value.problems] == ["fairness.error.looks_like_id"]
    assert "id" in exc.value.translate("en") and "identifier" in exc.value.translate("en")
    crossed = many.assign(a=many["id"] % 40, b=many["id"] // 40)  # 40 x 38 intersections: accepted
    assert len(run_audit(crossed, AuditSpec(y_true="y", y_pred="p", sensitive=["a", "b"])).groups) == 1500
    bad_counts = counts_frame({"a": (1, -2, 3, 4), "b": BALANCED})
    assert _problems(bad_counts, kind="counts", sensitive=["g"]) == [_spec._BAD_COUNT]
    assert _problems(GOOD.assign(s=["x"] * 60), y_true="y", y_pred="p", score="s", sensitive=["g"]) == [
        _spec._NOT_NUMERIC]


def test_bad_options_are_translated() -> None:
    with pytest.raises(InputError) as exc:
        make_spec(n_boot=5, confidence=2.0, sensitive=["g"])
    assert [p.key for p in exc.value.problems] == [_spec._OPTION_LIMIT, _spec._OPTION_LIMIT]
    for lang in LANGUAGES:
        assert "n_boot" in exc.value.translate(lang)


# ---- policy, versions, translations --------------------------------------------------------

def test_policy_is_recorded_and_validated(tmp_path: Path) -> None:
    policy = load_policy()
    result = audit_counts({"a": BALANCED, "b": BALANCED})
    assert result.policy_version == policy.version and result.engine_version
    assert len(result.input_sha256) == 64
    data = yaml.safe_load(Path(load_policy.__globals__["DEFAULT_POLICY_PATH"]).read_text(encoding="utf-8"))
    data["tiers"]["high"]["surprise"] = 1
    data["tiers"]["limited"]["min_group_size"] = 0
    bad = tmp_path / "policy.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(PolicyError) as exc:
        load_policy(bad)
    text = exc.value.translate("en")
    assert "tiers.high.surprise" in text and "tiers.limited.min_group_size" in text
    del data["tiers"]["high"]["surprise"], data["tiers"]["minimal"]
    data["tiers"]["limited"]["min_group_size"] = 20
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(PolicyError) as exc:
        load_policy(bad)
    assert "minimal" in exc.value.translate("ru")
    bad.write_text("version: [unclosed", encoding="utf-8")
    with pytest.raises(PolicyError):
        load_policy(bad)


def test_progress_is_reported() -> None:
    seen: list[float] = []
    audit = run_audit(GOOD, AuditSpec(y_true="y", y_pred="p", sensitive=["g"]), progress=seen.append)
    assert audit.verdict in ("pass", "fail", "inconclusive")
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)


def test_every_metric_and_reason_is_in_the_catalogue() -> None:
    names = set(CLASSIFIER_METRICS) | set(SCORE_METRICS) | {"auc", AUC_RULE.metric}
    names |= {rule.metric for rule, _ in CLASSIFIER_CHECKS} | {rule.metric for rule, _ in SCORE_CHECKS}
    names |= {metric for metric, rule, _ in COUNTERFACTUAL_OUTCOMES.values()}
    names |= {rule.metric for _, rule, _ in COUNTERFACTUAL_OUTCOMES.values()}
    for name in names:
        assert has_key(f"fairness.metric.{name}.name") and has_key(f"fairness.metric.{name}.explain"), name
    for outcome in ("pass", "fail", "inconclusive"):
        for decide in ("within", "below", "band"):
            assert has_key(f"fairness.reason.{outcome}_{decide}")
        assert has_key(f"fairness.explain.verdict.{outcome}") and has_key(f"fairness.outcome.{outcome}")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_explanations_render_in_every_language(lang: str) -> None:
    result = audit_counts({"a": BALANCED, "b": (1000, 4000, 1000, 4000), "c": (2500, 2500, 0, 0), "d": (1, 1, 1, 1)})
    lines = result.explain(lang)
    assert len(lines) >= 4 and all(isinstance(x, str) and "{" not in x for x in lines)
    for check in result.checks:
        assert "{" not in render_reason(check, lang)
    assert json.loads(json.dumps(result.to_json_dict(lang), ensure_ascii=False))["verdict"] == "fail"


def test_result_round_trips_through_json() -> None:
    # The app freezes results as JSON and reads them back for the review and the PDF.
    from workbench.fairness import AuditResult

    result = audit_counts({"a": BALANCED, "b": (2500, 2500, 0, 0), "c": (1, 1, 1, 1)})
    again = AuditResult.model_validate_json(result.model_dump_json())
    assert again == result and again.model_dump_json() == result.model_dump_json()
