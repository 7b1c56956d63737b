"""Point estimates of the fairness engine equal fairlearn's MetricFrame (to 1e-9).

Property-based on random data (hypothesis) and on the real UCI student data. Where a rate
is undefined (no positives in a group) the engine says None and fairlearn silently says
0; the tests pin both behaviours.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    count,
    false_negative_rate,
    false_positive_rate,
    mean_prediction,
    selection_rate,
    true_negative_rate,
    true_positive_rate,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, mean_absolute_error, roc_auc_score, root_mean_squared_error

from workbench.fairness import AuditSpec, run_audit

STUDENT_CSV = Path(__file__).resolve().parents[1] / "fixtures" / "uci-student-performance" / "student-por.csv"
TOL = 1e-9

FAIRLEARN_CLASSIFIER = {
    "count": count,
    "selection_rate": functools.partial(selection_rate, pos_label=1),
    "true_positive_rate": functools.partial(true_positive_rate, pos_label=1),
    "false_positive_rate": functools.partial(false_positive_rate, pos_label=1),
    "true_negative_rate": functools.partial(true_negative_rate, pos_label=1),
    "false_negative_rate": functools.partial(false_negative_rate, pos_label=1),
    "accuracy": accuracy_score,
}
FAIRLEARN_SCORER = {
    "count": count,
    "mean_prediction": mean_prediction,
    "mean_error": lambda y_true, y_pred: float(np.mean(np.asarray(y_pred) - np.asarray(y_true))),
    "mean_absolute_error": mean_absolute_error,
    "root_mean_squared_error": root_mean_squared_error,
}


def _by_group(frame: MetricFrame, features: list[str]) -> dict[tuple[str, ...], dict[str, float]]:
    table = frame.by_group
    out = {}
    for key, row in table.iterrows():
        if pd.isna(row["count"]):  # MetricFrame lists empty combinations too; the engine does not
            continue
        key = key if isinstance(key, tuple) else (key,)
        out[tuple(str(k) for k in key)] = row.to_dict()
    return out


def assert_matches_fairlearn(df: pd.DataFrame, result_groups, metrics: dict, y_true: str, y_pred: str,
                             features: list[str]) -> int:
    """Compare every group of one level with MetricFrame; returns the number of values compared."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fairlearn/sklearn warn on undefined rates
        mf = MetricFrame(metrics=metrics, y_true=df[y_true], y_pred=df[y_pred], sensitive_features=df[features])
    expected = _by_group(mf, features)
    assert len(result_groups) == len(expected)
    compared = 0
    for g in result_groups:
        want = expected[tuple(g.group[f] for f in features)]
        assert g.n == want["count"]
        for name in metrics:
            ours = g.metrics[name].estimate
            if ours is None:  # undefined: fairlearn reports 0 here
                assert want[name] == 0, (g.group, name)
            else:
                assert abs(ours - want[name]) <= TOL, (g.group, name, ours, want[name])
                compared += 1
    return compared


def assert_auc_matches_sklearn(df: pd.DataFrame, result_groups, y_true: str, score: str, features: list[str]) -> int:
    compared = 0
    for g in result_groups:
        mask = np.logical_and.reduce([df[f].astype(str) == v for f, v in g.group.items()])
        part = df[mask]
        ours = g.metrics["auc"].estimate
        if part[y_true].nunique() < 2:
            assert ours is None
        else:
            assert abs(ours - roc_auc_score(part[y_true], part[score])) <= TOL
            compared += 1
    return compared


@st.composite
def classifier_data(draw):
    n = draw(st.integers(1, 250))
    n_features = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    data = {}
    for j in range(n_features):
        k = draw(st.integers(1, 3))
        data[f"s{j}"] = rng.choice([f"v{i}" for i in range(k)], n)
    p_true, p_pred = draw(st.floats(0, 1)), draw(st.floats(0, 1))
    data["y"] = (rng.random(n) < p_true).astype(int)
    data["p"] = np.where(rng.random(n) < 0.7, data["y"], (rng.random(n) < p_pred).astype(int))
    # Few distinct scores make ties, which the binned AUC must count as halves.
    data["score"] = np.round(rng.random(n) * 0.5 + 0.5 * data["y"] * rng.random(n), draw(st.integers(1, 4)))
    return pd.DataFrame(data), [f"s{j}" for j in range(n_features)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(classifier_data())
def test_classifier_metrics_equal_metricframe(case) -> None:
    df, features = case
    result = run_audit(df, AuditSpec(y_true="y", y_pred="p", score="score", sensitive=features, n_boot=100))
    compared = assert_matches_fairlearn(df, result.groups, FAIRLEARN_CLASSIFIER, "y", "p", features)
    assert_auc_matches_sklearn(df, result.groups, "y", "score", features)
    for feature, groups in result.marginal_groups.items():
        compared += assert_matches_fairlearn(df, groups, FAIRLEARN_CLASSIFIER, "y", "p", [feature])
    assert compared > 0


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 200), seed=st.integers(0, 2**32 - 1), k=st.integers(1, 4))
def test_scorer_metrics_equal_metricframe(n: int, seed: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"g": rng.choice([f"v{i}" for i in range(k)], n),
                       "true": rng.integers(0, 21, n).astype(float)})
    df["pred"] = df["true"] + rng.normal(0, 2, n)
    result = run_audit(df, AuditSpec(kind="scorer", y_true="true", y_pred="pred", sensitive=["g"]))
    assert assert_matches_fairlearn(df, result.groups, FAIRLEARN_SCORER, "true", "pred", ["g"]) >= len(result.groups)


def test_undefined_rate_is_none_where_fairlearn_says_zero() -> None:
    df = pd.DataFrame({"g": ["a"] * 40 + ["b"] * 40, "y": [0] * 40 + [1, 0] * 20, "p": [1, 0] * 40})
    result = run_audit(df, AuditSpec(y_true="y", y_pred="p", sensitive=["g"], n_boot=100))
    a = next(g for g in result.groups if g.group == {"g": "a"})
    assert a.metrics["true_positive_rate"].estimate is None
    assert a.metrics["false_negative_rate"].estimate is None
    assert a.metrics["false_positive_rate"].estimate == pytest.approx(0.5)
    mf = MetricFrame(metrics=FAIRLEARN_CLASSIFIER["true_positive_rate"], y_true=df["y"], y_pred=df["p"],
                     sensitive_features=df["g"])
    assert mf.by_group["a"] == 0  # the silent zero the engine refuses to report


@pytest.fixture(scope="module")
def students() -> pd.DataFrame:
    df = pd.read_csv(STUDENT_CSV)
    df["passed"] = (df["G3"] >= 10).astype(int)
    df["predicted_g2"] = (df["G2"] >= 10).astype(int)
    # A small model as a second, less trivial classifier with a real score column.
    from sklearn.linear_model import LogisticRegression

    x = df[["G1", "absences", "failures", "studytime"]].to_numpy(float)
    model = LogisticRegression(max_iter=1000).fit(x, df["passed"])
    df["model_score"] = model.predict_proba(x)[:, 1]
    df["predicted_model"] = (df["model_score"] >= 0.5).astype(int)
    return df


@pytest.mark.parametrize("y_pred", ["predicted_g2", "predicted_model"])
@pytest.mark.parametrize("features", [["sex"], ["sex", "address"], ["sex", "address", "internet"]])
def test_student_data_matches_metricframe(students: pd.DataFrame, y_pred: str, features: list[str]) -> None:
    spec = AuditSpec(y_true="passed", y_pred=y_pred, score="model_score", sensitive=features)
    result = run_audit(students, spec)
    assert assert_matches_fairlearn(students, result.groups, FAIRLEARN_CLASSIFIER, "passed", y_pred, features) > 0
    assert assert_auc_matches_sklearn(students, result.groups, "passed", "model_score", features) > 0
    for feature, groups in result.marginal_groups.items():
        assert_matches_fairlearn(students, groups, FAIRLEARN_CLASSIFIER, "passed", y_pred, [feature])


def test_student_grades_scorer_matches_metricframe(students: pd.DataFrame) -> None:
    spec = AuditSpec(kind="scorer", y_true="G3", y_pred="G2", pass_mark=10, sensitive=["sex", "address"])
    result = run_audit(students, spec)
    assert assert_matches_fairlearn(students, result.groups, FAIRLEARN_SCORER, "G3", "G2", ["sex", "address"]) > 0
    students = students.assign(g3_pass=(students["G3"] >= 10).astype(int), g2_pass=(students["G2"] >= 10).astype(int))
    assert assert_matches_fairlearn(students, result.groups, FAIRLEARN_CLASSIFIER, "g3_pass", "g2_pass",
                                    ["sex", "address"]) > 0
