"""Interval coverage by simulation: nominal 95 % must cover the truth 93–97 % of the time.

Each test draws 1,000 data sets from a known population, runs the engine and counts how
often the interval contains the true value. With 1,000 draws the standard error of a
95 % coverage is 0.7 points, so the 93–97 band fails a correct method with
probability well under 1 %, and the seeds are fixed, so the outcome is reproducible.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from workbench.fairness import AucTable, AuditSpec, run_audit

pytestmark = pytest.mark.slow

N_SETS = 1000
LOW, HIGH = 0.93, 0.97


def _covered(low: float | None, high: float | None, truth: float) -> bool:
    return low is not None and high is not None and low <= truth <= high


# Differences and ratios of rates between groups: tests/test_fairness_simulation.py.


def test_wilson_covers_in_a_small_group() -> None:
    # Where a percentile bootstrap under-covers: 35 learners, a rare outcome.
    rng = np.random.default_rng(7)
    truth = 0.12
    hits = 0
    for i in range(N_SETS):
        k = int(rng.binomial(35, truth))
        frame = pd.DataFrame([{"g": "a", "tn": 35 - k, "fp": k, "fn": 0, "tp": 0}])
        est = run_audit(frame, AuditSpec(kind="counts", sensitive=["g"], n_boot=100),
                        input_sha256="-").groups[0].metrics["selection_rate"]
        hits += _covered(est.ci_low, est.ci_high, truth)
    assert LOW <= hits / N_SETS <= HIGH, hits / N_SETS


def test_auc_delong_interval_covers() -> None:
    rng = np.random.default_rng(11)
    shift = 1.0
    truth = 0.5 * (1 + math.erf(shift / 2))  # binormal AUC: Phi(shift / sqrt(2))
    hits = 0
    for _ in range(N_SETS):
        y = np.r_[np.zeros(200, bool), np.ones(150, bool)]
        score = rng.normal(0, 1, 350) + shift * y
        est = AucTable.from_records(np.zeros(350, dtype=np.int64), y, score, 1).estimate()
        low, high = est.interval(0.95)
        hits += _covered(low[0], high[0], truth)
    assert LOW <= hits / N_SETS <= HIGH, hits / N_SETS


def test_scorer_intervals_cover() -> None:
    rng = np.random.default_rng(13)
    hits_mean = hits_bias = 0
    for _ in range(N_SETS):
        rows = []
        for g, n, bias in (("a", 150, 0.0), ("b", 90, 1.5)):
            err = rng.gamma(2.0, 2.0, n) - 4.0 + bias  # skewed errors with mean `bias`
            pred = rng.normal(50, 10, n)
            rows.append({"g": g, "n": n, "sum_pred": pred.sum(), "sum_pred_sq": (pred**2).sum(),
                         "sum_error": err.sum(), "sum_error_sq": (err**2).sum(), "sum_abs_error": np.abs(err).sum()})
        result = run_audit(pd.DataFrame(rows), AuditSpec(kind="score_counts", sensitive=["g"], reference={"g": "a"}),
                           input_sha256="-")
        b = next(g for g in result.groups if g.group == {"g": "b"}).metrics["mean_error"]
        hits_mean += _covered(b.ci_low, b.ci_high, 1.5)
        check = next(c for c in result.checks if c.metric == "score_bias")
        hits_bias += _covered(check.ci_low, check.ci_high, 1.5 / 10)  # predictions' SD is 10
    assert LOW <= hits_mean / N_SETS <= HIGH, hits_mean / N_SETS
    assert LOW <= hits_bias / N_SETS <= HIGH, hits_bias / N_SETS


def test_counterfactual_paired_bootstrap_covers() -> None:
    rng = np.random.default_rng(17)
    truth = 0.15 - 0.10
    hits = 0
    for i in range(N_SETS):
        n = 400
        frame = pd.DataFrame({"pair": np.r_[np.arange(n), np.arange(n)], "variant": ["kk"] * n + ["ru"] * n,
                              "refused": np.r_[rng.random(n) < 0.10, rng.random(n) < 0.15].astype(int)})
        spec = AuditSpec(kind="counterfactual", pair_id="pair", variant="variant", outcomes={"refused": "refusal"},
                         reference={"variant": "kk"}, seed=i)
        check = run_audit(frame, spec, input_sha256="-").checks[0]
        hits += _covered(check.ci_low, check.ci_high, truth)
    assert LOW <= hits / N_SETS <= HIGH, hits / N_SETS
