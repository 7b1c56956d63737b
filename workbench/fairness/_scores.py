"""Scorer metrics (essay and test scoring) from per-group sums.

A group is summarised by seven sums: n, Σpred, Σpred², Σerror, Σerror², Σ|error| and,
when records are available, Σerror⁴ (error = predicted − true). Means and their
intervals follow from these by the central limit theorem, so a vendor may send the sums
instead of learners' scores.
"""

from __future__ import annotations

import numpy as np

from ._compare import Rule, pick_reference
from ._counts import group_sums, marginalise
from ._intervals import finite_or_none, normal_interval
from ._pairs import (
    MAX_PAIR_GROUPS,
    PairFamily,
    all_pairs,
    build_family,
    too_many_pairs_check,
)
from ._policy import TierThresholds
from ._result import Check, Estimate, GroupResult

N, S_PRED, S_PRED2, S_ERR, S_ERR2, S_ABS, S_ERR4 = range(7)
SCORE_METRICS: tuple[str, ...] = (
    "count", "mean_prediction", "mean_error", "mean_absolute_error", "root_mean_squared_error",
)
SCORE_CHECKS: tuple[tuple[Rule, int], ...] = (
    # (rule, which per-group mean is compared): score bias is the difference in mean
    # error, in standard deviations of the predicted scores.
    (Rule("score_bias", "within", "max_score_bias"), S_ERR),
    (Rule("mae_difference", "within", "max_mae_difference"), S_ABS),
)


def score_sums(codes: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, n_groups: int) -> np.ndarray:
    """The seven sums per group from records, shape (groups, 7)."""
    err = y_pred - y_true
    err2 = err * err
    cols = [np.bincount(codes, minlength=n_groups).astype(float), group_sums(codes, y_pred, n_groups),
            group_sums(codes, y_pred * y_pred, n_groups), group_sums(codes, err, n_groups),
            group_sums(codes, err2, n_groups), group_sums(codes, np.abs(err), n_groups),
            group_sums(codes, err2 * err2, n_groups)]
    return np.stack(cols, axis=1)


def _mean_var(total: np.ndarray, total_sq: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
        var = np.where(n > 1, np.maximum(total_sq - n * mean * mean, 0) / (n - 1), np.nan)
    return mean, var


def _moments(s: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(estimate, standard error) of each per-group mean metric."""
    n = s[:, N]
    out = {}
    for name, total, total_sq in (("mean_prediction", S_PRED, S_PRED2), ("mean_error", S_ERR, S_ERR2),
                                  ("mean_absolute_error", S_ABS, S_ERR2)):  # |e|² = e²
        mean, var = _mean_var(s[:, total], s[:, total_sq], n)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[name] = (mean, np.sqrt(var / n))
    with np.errstate(divide="ignore", invalid="ignore"):
        mse = s[:, S_ERR2] / n
        # Var(e²) from the fourth moment. Without it (sums sent by a vendor without Σe⁴) there
        # is no honest interval: assuming normal errors made it too narrow for skewed errors.
        var_sq = np.where(np.isnan(s[:, S_ERR4]), np.nan, (s[:, S_ERR4] - n * mse * mse) / np.maximum(n - 1, 1))
        out["mean_squared_error"] = (mse, np.sqrt(np.maximum(var_sq, 0) / n))
    return out


def scorer_level(level: str, labels: list[dict[str, str]], matrix: np.ndarray, sums: np.ndarray,
                 wanted: dict[str, str] | None, thresholds: TierThresholds, confidence: float, *,
                 marginal: bool = True) -> tuple[list[GroupResult], dict[str, str], list[PairFamily], list[Check]]:
    """Groups, presentation reference, pairwise families and other checks of one scorer level."""
    from ._classifier import too_small_check

    s = marginalise(sums[None], matrix)[0]
    n = s[:, N]
    small = n < thresholds.min_group_size
    mom = _moments(s)
    metrics: list[dict[str, Estimate]] = [{"count": Estimate(estimate=int(k))} for k in n]
    for name in ("mean_prediction", "mean_error", "mean_absolute_error"):
        est, se = mom[name]
        low, high = normal_interval(est, se, confidence)
        for i in range(len(labels)):
            metrics[i][name] = Estimate(estimate=finite_or_none(est[i]), ci_low=finite_or_none(low[i]),
                                        ci_high=finite_or_none(high[i]))
    mse, se = mom["mean_squared_error"]
    low, high = normal_interval(mse, se, confidence)
    for i in range(len(labels)):
        metrics[i]["root_mean_squared_error"] = Estimate(
            estimate=finite_or_none(np.sqrt(mse[i])), ci_low=finite_or_none(np.sqrt(max(low[i], 0.0))),
            ci_high=finite_or_none(np.sqrt(high[i])))
    groups = [GroupResult(group=lab, n=int(n[i]), too_small=bool(small[i]), metrics=metrics[i])
              for i, lab in enumerate(labels)]
    ref = pick_reference(labels, n, wanted)
    # One scale for all groups: the spread of predicted scores over everyone.
    total = s.sum(0)
    _, var_all = _mean_var(total[S_PRED], total[S_PRED2], total[N])
    sd = float(np.sqrt(var_all)) if np.isfinite(var_all) and var_all > 0 else float("nan")
    checks: list[Check] = []
    if marginal:
        checks += [too_small_check(level, labels[g], int(n[g]), thresholds) for g in np.flatnonzero(small)]
    judged = np.flatnonzero(~small)
    if len(judged) > MAX_PAIR_GROUPS:
        if marginal:
            checks += [too_many_pairs_check(rule, level, len(judged), thresholds) for rule, _ in SCORE_CHECKS]
        return groups, labels[ref], [], checks
    i, j = all_pairs(judged)
    families = []
    for rule, col in SCORE_CHECKS:
        est, se = mom["mean_error" if col == S_ERR else "mean_absolute_error"]
        with np.errstate(invalid="ignore"):
            swap = est[i] < est[j]
        a, b = np.where(swap, j, i), np.where(swap, i, j)
        value = (est[a] - est[b]) / sd
        pair_se = np.sqrt(se[a] ** 2 + se[b] ** 2) / sd
        families.append(build_family(rule, level, labels, a, b, value,
                                     lambda z, sel, v=value, e=pair_se: (v[sel] - z * e[sel], v[sel] + z * e[sel]),
                                     thresholds, confidence))
    return groups, labels[ref], families, checks
