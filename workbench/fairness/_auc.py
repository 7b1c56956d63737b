"""Per-group AUC by exact ranks (sorted once), with DeLong's variance from placements.

Scores get exact ranks: continuous scores by sorting the rows once (then a linear radix
sort by group keeps that order), few distinct scores by a hash pass and a sort of the
distinct values. Equal (group, score) rows collapse into runs, in (group, score) order,
holding their numbers of negatives and positives.
The AUC (ties count one half, as in ``sklearn.metrics.roc_auc_score``) and DeLong's
variance are exact functions of these runs: each positive's placement among the
negatives of its group, and each negative's among the positives (DeLong, DeLong and
Clarke-Pearson 1988). No binning at any size: one outlier or a heavy tail changes
nothing but that score's rank.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._lazy import pd
from ._intervals import z_value


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


def _runs(group: np.ndarray, rank: np.ndarray, neg: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, ...]:
    """Merge rows already sorted by (group, rank) into runs of equal (group, rank)."""
    n = len(group)
    if n == 0:
        return group, rank, neg, pos
    start = np.empty(n, dtype=bool)
    start[0] = True
    start[1:] = (group[1:] != group[:-1]) | (rank[1:] != rank[:-1])
    run = np.cumsum(start) - 1
    first = np.flatnonzero(start)
    return (group[first], rank[first], np.bincount(run, weights=neg, minlength=len(first)),
            np.bincount(run, weights=pos, minlength=len(first)))


@dataclass(frozen=True)
class AucTable:
    """Runs of equal (group, score rank), sorted, with their numbers of negatives and positives."""

    group: np.ndarray
    rank: np.ndarray
    neg: np.ndarray
    pos: np.ndarray
    n_groups: int

    @classmethod
    def from_records(cls, codes: np.ndarray, y_true: np.ndarray, score: np.ndarray, n_groups: int) -> AucTable:
        score = np.asarray(score, dtype=float)
        codes = np.asarray(codes, dtype=np.int64)
        y = np.asarray(y_true, dtype=bool)
        sample = score[:: max(len(score) // 65_536, 1)]
        if len(np.unique(sample)) > len(sample) // 2:  # (nearly) continuous scores: sort the rows once
            return cls._from_sorted(codes, y, score, n_groups)
        # Few distinct scores: exact ranks from a hash pass and a sort of the distinct values only.
        rank, uniques = pd.factorize(score, sort=True)
        k = max(len(uniques), 1)
        key = codes * k + rank
        cells = n_groups * k
        if cells <= 4 * len(score) + 1_000_000:  # count the cells directly, already in order
            pos = np.bincount(key[y], minlength=cells)
            tot = np.bincount(key, minlength=cells)
            present = np.flatnonzero(tot)
            pos_p = pos[present].astype(float)
            return cls(present // k, present % k, tot[present] - pos_p, pos_p, n_groups)
        present, inverse = np.unique(key, return_inverse=True)  # one sort of the combined keys
        pos_p = np.bincount(inverse, weights=y, minlength=len(present))
        tot = np.bincount(inverse, minlength=len(present))
        return cls(present // k, present % k, tot - pos_p, pos_p, n_groups)

    @classmethod
    def _from_sorted(cls, codes: np.ndarray, y: np.ndarray, score: np.ndarray, n_groups: int) -> AucTable:
        order = np.argsort(score)  # the one sort (equal scores share a rank, so stability is not needed)
        s = score[order]
        new = np.ones(len(s), dtype=bool)
        new[1:] = s[1:] != s[:-1]
        rank = np.cumsum(new) - 1
        g = codes[order]
        # A stable sort by group keeps the score order within groups; on 16-bit keys numpy
        # uses a radix sort (linear).
        keys = g.astype(np.uint16) if n_groups <= np.iinfo(np.uint16).max else g
        by_group = np.argsort(keys, kind="stable")
        yy = y[order][by_group].astype(float)
        return cls(*_runs(g[by_group], rank[by_group], 1.0 - yy, yy), n_groups)

    def marginalise(self, matrix: np.ndarray) -> AucTable:
        """Runs of the groups that ``matrix`` (intersections x groups, 0/1) sums intersections into."""
        if matrix is None:  # the identity
            return self
        target = np.asarray(matrix).argmax(axis=1)
        g = target[self.group] if len(self.group) else self.group
        order = np.lexsort((self.rank, g))
        return AucTable(*_runs(g[order], self.rank[order], self.neg[order], self.pos[order]), matrix.shape[1])

    def estimate(self) -> AucEstimate:
        k = self.n_groups
        g, neg, pos = self.group, self.neg, self.pos
        n_neg = np.bincount(g, weights=neg, minlength=k)
        n_pos = np.bincount(g, weights=pos, minlength=k)
        # Exclusive / inclusive cumulative counts within each group.
        c_neg = np.cumsum(neg) - neg
        c_pos = np.cumsum(pos)
        first = np.ones(len(g), dtype=bool)
        first[1:] = g[1:] != g[:-1]
        start_neg = np.zeros(k)
        start_pos = np.zeros(k)
        start_neg[g[first]] = c_neg[first]
        start_pos[g[first]] = (c_pos - pos)[first]
        neg_below = c_neg - start_neg[g]
        pos_upto = c_pos - start_pos[g]
        with np.errstate(divide="ignore", invalid="ignore"):
            # Placement of each positive among its group's negatives (ties one half), and back.
            v10 = (neg_below + 0.5 * neg) / n_neg[g]
            v01 = (n_pos[g] - pos_upto + 0.5 * pos) / n_pos[g]
            auc = np.bincount(g, weights=pos * v10, minlength=k) / n_pos
            s10 = np.bincount(g, weights=pos * (v10 - auc[g]) ** 2, minlength=k) / (n_pos - 1)
            s01 = np.bincount(g, weights=neg * (v01 - auc[g]) ** 2, minlength=k) / (n_neg - 1)
            var = s10 / n_pos + s01 / n_neg
        defined = (n_pos > 0) & (n_neg > 0)
        estimable = (n_pos > 1) & (n_neg > 1)
        return AucEstimate(np.where(defined, auc, np.nan), np.where(estimable, var, np.nan))
