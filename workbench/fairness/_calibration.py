"""Calibration within groups: expected vs observed positive rate per score band.

With a score column and true labels, each group's rows are put in score bands (tenths of
[0, 1] for probabilities, else the deciles of all scores); per band the mean score (what
the tool expects) is set beside the observed rate of positives with its Wilson interval.
A well-calibrated tool has them close in every group (Aequitas / fairlearn call a gap
between groups here a failure of "calibration within groups"). Reported, not judged.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict

from ._counts import Groups
from ._intervals import finite_or_none, wilson

BANDS = 10


class CalibrationBand(BaseModel):
    """One group's rows in one score band."""

    model_config = ConfigDict(frozen=True)

    group: dict[str, str]
    low: float
    high: float
    n: int
    expected: float | None
    observed: float | None
    ci_low: float | None
    ci_high: float | None


def band_edges(score: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Tenths of [0, 1] for probabilities, else the deciles of the scores (distinct edges).

    With ``weights`` (whole numbers of rows), each score stands for that many rows, and the
    deciles are numpy's default (linear) quantiles of the rows so expanded, to the bit.
    """
    if weights is not None:
        score = score[weights > 0]
        weights = weights[weights > 0]
    if score.min() >= 0 and score.max() <= 1:
        return np.linspace(0, 1, BANDS + 1)
    q = np.linspace(0, 1, BANDS + 1)
    # ``+ 0.0`` makes a -0.0 edge 0.0: which of two equal zeros a quantile lands on is the sort's choice.
    if weights is None:
        return np.unique(np.quantile(score, q)) + 0.0
    return np.unique(_weighted_quantile(score, weights, q)) + 0.0


def quantile_positions(n: int, q: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For numpy's 'linear' quantiles of ``n`` sorted rows: the rows each one reads (the ones
    below, then the ones above, as one array) and the weights between them."""
    q = np.linspace(0, 1, BANDS + 1) if q is None else q
    virtual = (n - 1) * q  # numpy's virtual index of the 'linear' method
    previous = np.floor(virtual)
    gamma = virtual - previous
    previous = np.clip(previous, 0, n - 1)
    following = np.clip(previous + 1, 0, n - 1)  # above the last row: the last value
    return np.concatenate([previous, following]), gamma


def lerp_quantiles(a: np.ndarray, b: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """numpy's ``_lerp`` of the rows below (``a``) and above (``b``), exactly."""
    diff = b - a
    out = a + diff * gamma
    high = gamma >= 0.5
    out[high] = (b - diff * (1 - gamma))[high]
    return out


def _weighted_quantile(score: np.ndarray, weights: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``np.quantile(np.repeat(score, weights), q)`` without the repeat (numpy's 'linear' method)."""
    values, inverse = np.unique(score, return_inverse=True)
    cum = np.cumsum(np.bincount(inverse.ravel(), weights=weights, minlength=len(values)))
    positions, gamma = quantile_positions(round(float(cum[-1])), q)
    rows = values[np.searchsorted(cum, positions, side="right")]  # the row at each sorted position
    return lerp_quantiles(rows[:len(q)], rows[len(q):], gamma)


def merge_runs(group: np.ndarray, score: np.ndarray, neg: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, ...]:
    """Rows (or runs) sorted by (group, score) and merged into runs of equal (group, score).

    Counts are whole numbers in floats, so their sums are exact in any order.
    """
    order = np.lexsort((score, group))
    g, s = group[order], score[order]
    start = np.ones(len(g), dtype=bool)
    start[1:] = (g[1:] != g[:-1]) | (s[1:] != s[:-1])
    if start.all():
        return g, s, neg[order], pos[order]
    run = np.cumsum(start) - 1
    first = np.flatnonzero(start)
    return (g[first], s[first], np.bincount(run, weights=neg[order], minlength=len(first)),
            np.bincount(run, weights=pos[order], minlength=len(first)))


def weighted_rows(group: np.ndarray, score: np.ndarray, neg: np.ndarray,
                  pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Runs of equal (group, score) as rows (codes, y, score, weights): a y=0 row weighted the
    run's negatives, then a y=1 row weighted its positives."""
    return (np.concatenate([group, group]), np.concatenate([np.zeros(len(group)), np.ones(len(group))]),
            np.concatenate([score, score]), np.concatenate([neg, pos]).astype(float))


def calibration(groups: Groups, y_true: np.ndarray | None, score: np.ndarray, confidence: float, *,
                codes: np.ndarray | None = None, weights: np.ndarray | None = None) -> dict[str, list[CalibrationBand]]:
    """Per feature (or the single level), per group and band: n, mean score, observed rate.

    Rows (``groups.codes``, ``y_true``, ``score``), or with ``weights`` rows standing for
    that many rows each, of group ``codes``. Plain rows are first reduced to runs of equal
    (group, score), each one y=0 row weighted its negatives and one y=1 row weighted its
    positives, so that the sums are added in one order whichever way the rows came (the
    streamed audit gives those runs directly).
    """
    if weights is None:
        edges = band_edges(score)
        y = np.asarray(y_true, dtype=float)
        runs = merge_runs(np.asarray(groups.codes, dtype=np.int64), np.asarray(score, dtype=float), 1.0 - y, y)
        codes, y_true, score, weights = weighted_rows(*runs)
    else:
        edges = band_edges(score, weights)
    assert codes is not None and y_true is not None
    k = max(len(edges) - 1, 1)
    band = np.clip(np.searchsorted(edges, score, side="right") - 1, 0, k - 1)
    key = codes * k + band
    cells = groups.size * k
    n = np.rint(np.bincount(key, weights=weights, minlength=cells)).astype(np.int64).reshape(groups.size, k)
    s = np.bincount(key, weights=score * weights, minlength=cells).reshape(groups.size, k)
    pos = np.bincount(key, weights=y_true * weights, minlength=cells).reshape(groups.size, k)
    return calibration_from_bands(groups, edges, n, s, pos, confidence)


def calibration_from_bands(groups: Groups, edges: np.ndarray, n: np.ndarray, s: np.ndarray, pos: np.ndarray,
                           confidence: float) -> dict[str, list[CalibrationBand]]:
    """The bands of per (group, band) rows ``n``, score sums ``s`` and positives ``pos``."""
    from ._compare import levels  # _compare -> _result -> this module

    k = n.shape[1]
    out: dict[str, list[CalibrationBand]] = {}
    for name, labels, matrix in levels(groups.labels, groups.features, groups.values, groups.membership):
        if name == "intersection" and len(groups.features) > 1:
            continue
        nn, ss, pp = (t if matrix is None else np.einsum("gk,gh->hk", t, matrix) for t in (n, s, pos))
        low, high = wilson(pp, nn, confidence)
        with np.errstate(invalid="ignore", divide="ignore"):
            expected, observed = ss / nn, pp / nn
        rows = []
        for g, lab in enumerate(labels):
            for b in range(k):
                if nn[g, b] == 0:
                    continue
                rows.append(CalibrationBand(group=lab, low=float(edges[b]), high=float(edges[b + 1]), n=int(nn[g, b]),
                                            expected=finite_or_none(expected[g, b]),
                                            observed=finite_or_none(observed[g, b]),
                                            ci_low=finite_or_none(low[g, b]), ci_high=finite_or_none(high[g, b])))
        out[name if name != "intersection" else groups.features[0]] = rows
    return out
