"""Classifier metrics from per-group confusion counts, and the classifier checks."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._auc import AucTable
from ._compare import Rule, make_check, pick_reference, reference_too_small_check
from ._counts import FN, FP, TN, TP, marginalise
from ._intervals import finite_or_none, normal_interval, percentile_interval, wilson
from ._policy import TierThresholds
from ._result import Check, Estimate, GroupResult

# fairlearn's metric names -> (numerator cells, denominator cells).
RATES: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "selection_rate": ((FP, TP), (TN, FP, FN, TP)),
    "true_positive_rate": ((TP,), (TP, FN)),
    "false_positive_rate": ((FP,), (FP, TN)),
    "true_negative_rate": ((TN,), (TN, FP)),
    "false_negative_rate": ((FN,), (FN, TP)),
    "accuracy": ((TN, TP), (TN, FP, FN, TP)),
}
CLASSIFIER_METRICS: tuple[str, ...] = ("count", *RATES)


def rate_parts(counts: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    num, den = RATES[name]
    return counts[..., list(num)].sum(-1), counts[..., list(den)].sum(-1)


def rate(counts: np.ndarray, name: str) -> np.ndarray:
    """A rate over the last axis of confusion counts; NaN where undefined (0 denominator)."""
    k, n = rate_parts(counts, name)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, k / np.where(n > 0, n, 1), np.nan)


def _diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a - b


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


# (rule, statistic of (group rates, reference rates)) — a table, not branches.
def _equalized_odds(g: dict[str, np.ndarray], r: dict[str, np.ndarray]) -> np.ndarray:
    # The percentile interval of a maximum of absolute gaps leans upwards (noise only adds
    # to it), so near zero it is conservative: it can say "inconclusive", never a false pass.
    return np.maximum(np.abs(g["true_positive_rate"] - r["true_positive_rate"]),
                      np.abs(g["false_positive_rate"] - r["false_positive_rate"]))


CLASSIFIER_CHECKS: tuple[tuple[Rule, Callable[[dict, dict], np.ndarray]], ...] = (
    (Rule("demographic_parity_difference", "within", "max_demographic_parity_difference"),
     lambda g, r: _diff(g["selection_rate"], r["selection_rate"])),
    (Rule("demographic_parity_ratio", "band", "four_fifths_ratio"),
     lambda g, r: _ratio(g["selection_rate"], r["selection_rate"])),
    (Rule("equal_opportunity_difference", "within", "max_equal_opportunity_difference"),
     lambda g, r: _diff(g["true_positive_rate"], r["true_positive_rate"])),
    (Rule("equalized_odds_difference", "below", "max_equalized_odds_difference"), _equalized_odds),
    (Rule("accuracy_difference", "within", "max_accuracy_difference"),
     lambda g, r: _diff(g["accuracy"], r["accuracy"])),
)
AUC_RULE = Rule("auc_difference", "within", "max_auc_difference")


def group_metrics(counts: np.ndarray, confidence: float) -> list[dict[str, Estimate]]:
    """Per-group estimates with Wilson intervals, from counts of shape (groups, 4)."""
    out: list[dict[str, Estimate]] = [{"count": Estimate(estimate=int(c.sum()))} for c in counts]
    for name in RATES:
        k, n = rate_parts(counts, name)
        est = rate(counts, name)
        low, high = wilson(k, n, confidence)
        for i in range(len(counts)):
            out[i][name] = Estimate(estimate=finite_or_none(est[i]), ci_low=finite_or_none(low[i]),
                                    ci_high=finite_or_none(high[i]))
    return out


def classifier_level(level: str, labels: list[dict[str, str]], matrix: np.ndarray, counts: np.ndarray,
                     boot: np.ndarray, wanted: dict[str, str] | None, thresholds: TierThresholds,
                     confidence: float, auc: AucTable | None = None) -> tuple[list[GroupResult], dict[str, str], list[Check]]:
    """Groups, the reference group and the checks of one level (intersection or one feature).

    ``counts`` (intersections, 4) and ``boot`` (resamples, intersections, 4) are summed
    into this level's groups with ``matrix``; resampling once at the finest level keeps
    every level's intervals consistent.
    """
    c = marginalise(counts, matrix)
    b = marginalise(boot, matrix)
    sizes = c.sum(-1)
    small = sizes < thresholds.min_group_size
    metrics = group_metrics(c, confidence)
    auc_est = auc.marginalise(matrix).estimate() if auc is not None else None
    if auc_est is not None:
        lo, hi = auc_est.interval(confidence)
        for i in range(len(labels)):
            metrics[i]["auc"] = Estimate(estimate=finite_or_none(auc_est.auc[i]),
                                         ci_low=finite_or_none(lo[i]), ci_high=finite_or_none(hi[i]))
    groups = [GroupResult(group=lab, n=int(sizes[i]), too_small=bool(small[i]), metrics=metrics[i])
              for i, lab in enumerate(labels)]
    ref = pick_reference(labels, sizes, wanted)
    point = {name: rate(c, name) for name in RATES}
    resampled = {name: rate(b, name) for name in RATES}
    checks: list[Check] = []
    for i, lab in enumerate(labels):
        if i == ref or small[i]:
            continue
        rules = [rule for rule, _ in CLASSIFIER_CHECKS] + ([AUC_RULE] if auc_est is not None else [])
        if small[ref]:
            checks += [reference_too_small_check(rule, level, lab, labels[ref], int(sizes[ref]), thresholds)
                       for rule in rules]
            continue
        g_point = {k: v[i] for k, v in point.items()}
        r_point = {k: v[ref] for k, v in point.items()}
        g_boot = {k: v[:, i] for k, v in resampled.items()}
        r_boot = {k: v[:, ref] for k, v in resampled.items()}
        for rule, stat in CLASSIFIER_CHECKS:
            value = stat(g_point, r_point)
            low, high = percentile_interval(stat(g_boot, r_boot), confidence)
            checks.append(make_check(rule, level, lab, labels[ref], value, low, high, thresholds))
        if auc_est is not None:
            # Groups are independent samples, so the variances of their AUCs add.
            diff = auc_est.auc[i] - auc_est.auc[ref]
            se = np.sqrt(auc_est.var[i] + auc_est.var[ref])
            low, high = normal_interval(diff, se, confidence)
            checks.append(make_check(AUC_RULE, level, lab, labels[ref], diff, low, high, thresholds))
    return groups, labels[ref], checks
