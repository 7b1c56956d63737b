"""Confidence intervals and the pass / fail / inconclusive decision.

Single rates use the Wilson score interval, which keeps close to its nominal coverage
even in small groups, where a percentile bootstrap under-covers. Differences of two rates
use Newcombe's hybrid score interval (method 10 of Newcombe 1998) and ratios the MOVER-R
interval built on the same Wilson limits (Zou and Donner 2008; Newcombe 2013); neither collapses to zero
width for a 0 % or 100 % group. Means from sums use the normal approximation (all a
vendor's sums and sums of squares allow). The paired counterfactual comparisons keep a
percentile bootstrap over prompts.

Every interval here is a function of ``z``; ``fail_p_value`` inverts it (bisection on
``z``) into the p-value of "the gap is beyond the threshold", which Holm's step-down
procedure (``holm``) turns into family-wise decisions.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Literal

import numpy as np

Outcome = Literal["pass", "fail", "inconclusive"]

# A bootstrap in which more than this share of resamples leaves the statistic undefined
# (for example no positives drawn in a group) gives no interval at all.
_MAX_UNDEFINED_SHARE = 0.01


def z_value(confidence: float) -> float:
    """The two-sided normal quantile, e.g. 1.96 for 0.95."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(successes: np.ndarray, trials: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``successes / trials``, element-wise.

    Parameters
    ----------
    successes, trials:
        Integer arrays of the same shape; where ``trials`` is 0 the bounds are NaN.
    confidence:
        Nominal two-sided coverage, e.g. 0.95.

    Returns
    -------
    (low, high)
        Float arrays, within [0, 1].
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
        low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    # The closed form can miss the exact endpoints by rounding when k is 0 or n.
    low = np.where((k == 0) & (n > 0), 0.0, low)
    high = np.where((k == n) & (n > 0), 1.0, high)
    return low, high


def wilson_z(successes: np.ndarray, trials: np.ndarray, z: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson limits for a given normal quantile ``z`` (scalar or array); NaN where trials are 0."""
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = np.asarray(z, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        z2 = z * z
        denom = 1 + z2 / n
        centre = (p + z2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
        low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    low = np.where((k == 0) & (n > 0), 0.0, low)
    high = np.where((k == n) & (n > 0), 1.0, high)
    return low, high


def newcombe(k1: np.ndarray, n1: np.ndarray, k2: np.ndarray, n2: np.ndarray,
             z: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's hybrid score interval for ``k1/n1 - k2/n2`` (Newcombe 1998, method 10)."""
    l1, u1 = wilson_z(k1, n1, z)
    l2, u2 = wilson_z(k2, n2, z)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = np.asarray(k1) / np.asarray(n1, dtype=float), np.asarray(k2) / np.asarray(n2, dtype=float)
        d = p1 - p2
        low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return np.clip(low, -1.0, 1.0), np.clip(high, -1.0, 1.0)


def mover_ratio(k1: np.ndarray, n1: np.ndarray, k2: np.ndarray, n2: np.ndarray,
                z: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """MOVER-R interval for ``(k1/n1) / (k2/n2)`` from Wilson limits (Zou and Donner 2008).

    The upper limit is infinite when the second rate's Wilson interval reaches 0; the
    lower limit is 0 when the first one does. Where both rates are 0 the ratio is
    undefined and so are the limits (NaN).
    """
    l1, u1 = wilson_z(k1, n1, z)
    l2, u2 = wilson_z(k2, n2, z)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        p1, p2 = np.asarray(k1) / np.asarray(n1, dtype=float), np.asarray(k2) / np.asarray(n2, dtype=float)
        a = p1 * p2
        low = (a - np.sqrt(np.maximum(a * a - l1 * u2 * (2 * p1 - l1) * (2 * p2 - u2), 0))) / (u2 * (2 * p2 - u2))
        high = (a + np.sqrt(np.maximum(a * a - u1 * l2 * (2 * p1 - u1) * (2 * p2 - l2), 0))) / (l2 * (2 * p2 - l2))
        low = np.where(l1 <= 0, 0.0, low)
        high = np.where(l2 <= 0, np.inf, high)
    undefined = (p1 == 0) & (p2 == 0) | np.isnan(p1) | np.isnan(p2)
    return np.where(undefined, np.nan, low), np.where(undefined, np.nan, high)


def fail_p_value(bounds, fails, z_max: float = 12.0, steps: int = 48) -> np.ndarray:
    """Two-sided p-value of "beyond the threshold", by inverting an interval in ``z``.

    ``bounds(z)`` returns (low, high) arrays for quantile ``z`` (intervals widen as ``z``
    grows); ``fails(low, high)`` says where the interval lies wholly beyond the threshold.
    The p-value is ``2 (1 - Phi(z*))`` with ``z*`` the largest ``z`` that still fails, so
    ``p <= 1 - confidence`` exactly when the interval at ``confidence`` fails. Where the
    interval does not fail even at ``z = 0`` the p-value is 1.
    """
    lo_z = np.zeros_like(np.asarray(bounds(0.0)[0], dtype=float))
    low0, high0 = bounds(lo_z)
    ok0 = fails(low0, high0)
    hi_z = np.full_like(lo_z, z_max)
    low, high = bounds(hi_z)
    always = fails(low, high)
    for _ in range(steps):
        mid = (lo_z + hi_z) / 2
        low, high = bounds(mid)
        f = fails(low, high)
        lo_z = np.where(f, mid, lo_z)
        hi_z = np.where(f, hi_z, mid)
    z_star = np.where(always, z_max, lo_z)
    p = 2 * (1 - _norm_cdf(z_star))
    return np.where(ok0, p, 1.0)


def _norm_cdf(x: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(x)


def holm(p_values: np.ndarray, alpha: float, m: int | None = None) -> np.ndarray:
    """Holm's step-down procedure: which hypotheses are rejected at family-wise level ``alpha``.

    ``m`` is the size of the family when only some p-values are passed (the others are
    known to exceed ``alpha`` and would never be rejected).
    """
    p = np.asarray(p_values, dtype=float)
    m = len(p) if m is None else max(int(m), len(p))
    order = np.argsort(p, kind="stable")
    limits = alpha / (m - np.arange(len(p)))
    ok = p[order] <= limits
    # Step down: stop at the first hypothesis that is not rejected.
    first_fail = int(np.argmin(ok)) if not ok.all() else len(p)
    rejected = np.zeros(len(p), dtype=bool)
    rejected[order[:first_fail]] = True
    return rejected


def percentile_interval(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over axis 0 of bootstrap ``samples``, NaN where undefined.

    A column whose resamples are undefined more than rarely gets NaN bounds: an interval
    that silently drops the awkward resamples would look narrower than it is.
    """
    samples = np.asarray(samples, dtype=float)
    alpha = (1 - confidence) / 2
    undefined = np.isnan(samples).mean(axis=0)
    with np.errstate(invalid="ignore"), _quiet_all_nan():
        low = np.nanquantile(samples, alpha, axis=0)
        high = np.nanquantile(samples, 1 - alpha, axis=0)
    bad = undefined > _MAX_UNDEFINED_SHARE
    return np.where(bad, np.nan, low), np.where(bad, np.nan, high)


def normal_interval(estimate: np.ndarray, se: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """``estimate ± z * se``, element-wise."""
    z = z_value(confidence)
    estimate = np.asarray(estimate, dtype=float)
    se = np.asarray(se, dtype=float)
    return estimate - z * se, estimate + z * se


def decide_within(low: float, high: float, limit: float) -> Outcome:
    """A signed difference must stay within ``[-limit, limit]``."""
    if low >= -limit and high <= limit:
        return "pass"
    if low > limit or high < -limit:
        return "fail"
    return "inconclusive"


def decide_below(low: float, high: float, limit: float) -> Outcome:
    """A non-negative gap must stay at most ``limit``."""
    if high <= limit:
        return "pass"
    if low > limit:
        return "fail"
    return "inconclusive"


def decide_band(low: float, high: float, limit: float) -> Outcome:
    """A ratio must stay within ``[limit, 1/limit]`` (the four-fifths rule, both ways)."""
    upper = 1 / limit
    if low >= limit and high <= upper:
        return "pass"
    if high < limit or low > upper:
        return "fail"
    return "inconclusive"


DECIDERS = {"within": decide_within, "below": decide_below, "band": decide_band}


def finite_or_none(value: float | np.floating | None) -> float | None:
    """A plain float, or None for NaN / infinity (JSON null: an undefined value)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class _quiet_all_nan:
    """Silence numpy's 'All-NaN slice' warning: all-NaN columns are handled above."""

    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)
