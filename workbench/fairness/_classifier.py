"""Classifier metrics from per-group confusion counts, and the classifier checks."""

from __future__ import annotations

import numpy as np

from ._auc import AucTable
from ._compare import Rule, pick_reference
from ._counts import FN, FP, TN, TP, marginalise
from ._intervals import finite_or_none, mover_ratio, newcombe, wilson
from ._pairs import (
    MAX_PAIR_GROUPS,
    PairFamily,
    all_pairs,
    build_family,
    too_many_pairs_check,
)
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
    # Aequitas' predictive rates; "precision" is scikit-learn's name for the PPV.
    "precision": ((TP,), (TP, FP)),
    "false_discovery_rate": ((FP,), (TP, FP)),
    "negative_predictive_value": ((TN,), (TN, FN)),
    "false_omission_rate": ((FN,), (TN, FN)),
}
CLASSIFIER_METRICS: tuple[str, ...] = ("count", *RATES)
# Without true labels only the decisions are known: the selection rate and its parity.
PREDICTION_RATES: tuple[str, ...] = ("selection_rate",)


def rate_parts(counts: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    num, den = RATES[name]
    return counts[..., list(num)].sum(-1), counts[..., list(den)].sum(-1)


def rate(counts: np.ndarray, name: str) -> np.ndarray:
    """A rate over the last axis of confusion counts; NaN where undefined (0 denominator)."""
    k, n = rate_parts(counts, name)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, k / np.where(n > 0, n, 1), np.nan)




# Each check: its rule and how a pair is compared — (kind, rate or rates). A table, not branches.
DP_DIFFERENCE = Rule("demographic_parity_difference", "within", "max_demographic_parity_difference")
DP_RATIO = Rule("demographic_parity_ratio", "band", "four_fifths_ratio")
CLASSIFIER_CHECKS: tuple[tuple[Rule, tuple[str, ...]], ...] = (
    (DP_DIFFERENCE, ("difference", "selection_rate")),
    (DP_RATIO, ("ratio", "selection_rate")),
    (Rule("equal_opportunity_difference", "within", "max_equal_opportunity_difference"),
     ("difference", "true_positive_rate")),
    # Equalized odds is an intersection-union test of its two components.
    (Rule("equalized_odds_difference", "below", "max_equalized_odds_difference"),
     ("both", "true_positive_rate", "false_positive_rate")),
    (Rule("accuracy_difference", "within", "max_accuracy_difference"), ("difference", "accuracy")),
    (Rule("predictive_parity_difference", "within", "max_predictive_parity_difference"), ("difference", "precision")),
)
PREDICTION_CHECKS = (DP_DIFFERENCE.metric, DP_RATIO.metric)
AUC_RULE = Rule("auc_difference", "within", "max_auc_difference")
_REASON_TOO_SMALL = "fairness.reason.group_too_small"


def group_metrics(counts: np.ndarray, confidence: float, names: tuple[str, ...] = tuple(RATES)) -> list[dict[str, Estimate]]:
    """Per-group estimates with Wilson intervals, from counts of shape (groups, 4)."""
    out: list[dict[str, Estimate]] = [{"count": Estimate(estimate=int(c.sum()))} for c in counts]
    for name in names:
        k, n = rate_parts(counts, name)
        est = rate(counts, name)
        low, high = wilson(k, n, confidence)
        for i in range(len(counts)):
            out[i][name] = Estimate(estimate=finite_or_none(est[i]), ci_low=finite_or_none(low[i]),
                                    ci_high=finite_or_none(high[i]))
    return out


def rate_family(rule: Rule, how: tuple[str, ...], level: str, labels: list[dict[str, str]], c: np.ndarray,
                i: np.ndarray, j: np.ndarray, thresholds: TierThresholds, confidence: float) -> PairFamily:
    """The pairwise family of one rate-based check."""
    kind, name = how[0], how[1]
    k, n = rate_parts(c, name)
    p = rate(c, name)
    if kind == "both":
        k2, n2 = rate_parts(c, how[2])
        p2 = rate(c, how[2])
        gap = np.maximum(np.abs(p[i] - p[j]), np.abs(p2[i] - p2[j]))

        def bounds(z, s):
            out = []
            for kk, nn in ((k, n), (k2, n2)):
                lo, hi = newcombe(kk[i[s]], nn[i[s]], kk[j[s]], nn[j[s]], z)
                straddles = (lo <= 0) & (hi >= 0)
                out.append((np.where(straddles, 0.0, np.minimum(np.abs(lo), np.abs(hi))), np.maximum(np.abs(lo), np.abs(hi))))
            return np.maximum(out[0][0], out[1][0]), np.maximum(out[0][1], out[1][1])

        return build_family(rule, level, labels, i, j, gap, bounds, thresholds, confidence)
    # Orientation: a difference names the group with the higher rate first (a positive gap);
    # a ratio is lower / higher, as fairlearn's ``demographic_parity_ratio``.
    with np.errstate(invalid="ignore"):
        swap = p[i] < p[j] if kind == "difference" else p[i] > p[j]
    a, b = np.where(swap, j, i), np.where(swap, i, j)
    if kind == "difference":
        value = p[a] - p[b]
        bounds = lambda z, s: newcombe(k[a[s]], n[a[s]], k[b[s]], n[b[s]], z)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(p[b] > 0, p[a] / np.where(p[b] > 0, p[b], 1), np.nan)
        bounds = lambda z, s: mover_ratio(k[a[s]], n[a[s]], k[b[s]], n[b[s]], z)
    return build_family(rule, level, labels, a, b, value, bounds, thresholds, confidence)


def too_small_check(level: str, group: dict[str, str], n: int, thresholds: TierThresholds) -> Check:
    """A value of a single feature with too few rows: the verdict can be at best inconclusive."""
    needed = int(thresholds.min_group_size - n)
    return Check(metric="group_size", level=level, group=group, reference={}, value=float(n), ci_low=None,
                 ci_high=None, threshold=float(thresholds.min_group_size), outcome="inconclusive",
                 reason_key=_REASON_TOO_SMALL,
                 reason_params={"group": group, "n": int(n), "min_size": thresholds.min_group_size, "needed": needed})


def classifier_level(level: str, labels: list[dict[str, str]], matrix: np.ndarray, counts: np.ndarray,
                     wanted: dict[str, str] | None, thresholds: TierThresholds, confidence: float,
                     auc: AucTable | None = None, *, marginal: bool = True, predictions_only: bool = False,
                     ) -> tuple[list[GroupResult], dict[str, str], list[PairFamily], list[Check]]:
    """Groups, the presentation reference, the pairwise families and other checks of one level.

    ``counts`` (intersections, 4) are summed into this level's groups with ``matrix``. A
    group below the minimum size is never judged; on a ``marginal`` level (one feature) it
    adds an inconclusive check that names it and the rows it still needs.
    """
    c = marginalise(counts, matrix)
    sizes = c.sum(-1)
    small = sizes < thresholds.min_group_size
    metrics = group_metrics(c, confidence, PREDICTION_RATES if predictions_only else tuple(RATES))
    auc_est = auc.marginalise(matrix).estimate() if auc is not None else None
    if auc_est is not None:
        lo, hi = auc_est.interval(confidence)
        for i in range(len(labels)):
            metrics[i]["auc"] = Estimate(estimate=finite_or_none(auc_est.auc[i]),
                                         ci_low=finite_or_none(lo[i]), ci_high=finite_or_none(hi[i]))
    groups = [GroupResult(group=lab, n=int(sizes[i]), too_small=bool(small[i]), metrics=metrics[i])
              for i, lab in enumerate(labels)]
    ref = pick_reference(labels, sizes, wanted)
    checks: list[Check] = []
    if marginal:
        checks += [too_small_check(level, labels[g], int(sizes[g]), thresholds) for g in np.flatnonzero(small)]
    judged = np.flatnonzero(~small)
    rules = [(rule, how) for rule, how in CLASSIFIER_CHECKS if not predictions_only or rule.metric in PREDICTION_CHECKS]
    if len(judged) > MAX_PAIR_GROUPS:
        if marginal:
            checks += [too_many_pairs_check(rule, level, len(judged), thresholds) for rule, _ in rules]
        return groups, labels[ref], [], checks
    i, j = all_pairs(judged)
    families = [rate_family(rule, how, level, labels, c, i, j, thresholds, confidence) for rule, how in rules]
    if auc_est is not None and not predictions_only:
        # Groups are independent samples, so the variances of their AUCs add (DeLong).
        a_, v_ = auc_est.auc, auc_est.var
        with np.errstate(invalid="ignore"):
            swap = a_[i] < a_[j]
        a, b = np.where(swap, j, i), np.where(swap, i, j)
        se = np.sqrt(v_[a] + v_[b])
        diff = a_[a] - a_[b]
        families.append(build_family(AUC_RULE, level, labels, a, b, diff,
                                     lambda z, s: (diff[s] - z * se[s], diff[s] + z * se[s]), thresholds, confidence))
    return groups, labels[ref], families, checks
