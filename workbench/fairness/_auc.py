"""Per-group AUC from binned score counts, with DeLong intervals.

Scores are reduced to bins (their distinct values when there are not too many, so the
AUC is exact; otherwise equal-width bins, where only pairs within one bin are counted as
ties). Per group and bin we keep the number of positives and negatives; the AUC and
DeLong's variance are exact functions of that table, so cost does not grow with rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._intervals import z_value

MAX_EXACT_BINS = 65_536
# Above this many rows, distinct values are only counted when a sample suggests few.
_EXACT_ROWS = 2_000_000
_APPROX_BINS = 32_768


def score_bins(score: np.ndarray) -> tuple[np.ndarray, int]:
    """Bin index per row and the number of bins, ordered by score."""
    n = len(score)
    if n <= _EXACT_ROWS or len(np.unique(score[:: max(n // 100_000, 1)])) < MAX_EXACT_BINS // 8:
        codes, uniques = pd.factorize(score, sort=True)
        if len(uniques) <= MAX_EXACT_BINS:
            return codes.astype(np.int64, copy=False), max(len(uniques), 1)
    low, high = float(score.min()), float(score.max())
    if high == low:
        return np.zeros(n, dtype=np.int64), 1
    bins = ((score - low) * ((_APPROX_BINS - 1) / (high - low))).astype(np.int64)
    return bins, _APPROX_BINS


@dataclass(frozen=True)
class AucEstimate:
    auc: np.ndarray  # per group, NaN without both classes
    var: np.ndarray  # DeLong variance, NaN where it cannot be estimated

    def interval(self, confidence: float) -> tuple[np.ndarray, np.ndarray]:
        """Logit-scale normal interval (stays within 0..1); NaN where degenerate."""
        z = z_value(confidence)
        a = self.auc
        with np.errstate(divide="ignore", invalid="ignore"):
            ok = (a > 0) & (a < 1) & (self.var > 0)
            centre = np.log(a / (1 - a))
            half = z * np.sqrt(self.var) / (a * (1 - a))
            low = 1 / (1 + np.exp(-(centre - half)))
            high = 1 / (1 + np.exp(-(centre + half)))
        return np.where(ok, low, np.nan), np.where(ok, high, np.nan)


@dataclass(frozen=True)
class AucTable:
    """Counts of negatives and positives per group and score bin, shape (groups, 2, bins)."""

    table: np.ndarray

    @classmethod
    def from_records(cls, codes: np.ndarray, y_true: np.ndarray, score: np.ndarray, n_groups: int) -> "AucTable":
        bins, k = score_bins(score)
        idx = (codes * 2 + y_true.astype(np.int64)) * k + bins
        return cls(np.bincount(idx, minlength=n_groups * 2 * k).reshape(n_groups, 2, k))

    def marginalise(self, matrix: np.ndarray) -> "AucTable":
        return AucTable(np.einsum("gck,gh->hck", self.table, matrix))

    def estimate(self) -> AucEstimate:
        neg = self.table[:, 0, :].astype(float)
        pos = self.table[:, 1, :].astype(float)
        n_neg = neg.sum(1, keepdims=True)
        n_pos = pos.sum(1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            # Placement of each positive among negatives (ties count one half), and back.
            v10 = (np.cumsum(neg, 1) - neg + 0.5 * neg) / n_neg
            v01 = (n_pos - np.cumsum(pos, 1) + 0.5 * pos) / n_pos
            auc = (pos * v10).sum(1, keepdims=True) / n_pos
            s10 = (pos * (v10 - auc) ** 2).sum(1, keepdims=True) / (n_pos - 1)
            s01 = (neg * (v01 - auc) ** 2).sum(1, keepdims=True) / (n_neg - 1)
            var = s10 / n_pos + s01 / n_neg
        defined = (n_pos > 0) & (n_neg > 0)
        estimable = (n_pos > 1) & (n_neg > 1)
        return AucEstimate(np.where(defined, auc, np.nan)[:, 0], np.where(estimable, var, np.nan)[:, 0])
