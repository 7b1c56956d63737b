"""Confidence intervals and the pass / fail / inconclusive decision.

Single rates use the Wilson score interval, which keeps close to its nominal coverage
even in small groups, where a percentile bootstrap under-covers. Differences and ratios
use a percentile bootstrap over resampled per-group counts; means from sums use the
normal approximation (all a vendor's sums and sums of squares allow).
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
