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


def band_edges(score: np.ndarray) -> np.ndarray:
    """Tenths of [0, 1] for probabilities, else the deciles of the scores (distinct edges)."""
    if score.min() >= 0 and score.max() <= 1:
        return np.linspace(0, 1, BANDS + 1)
    return np.unique(np.quantile(score, np.linspace(0, 1, BANDS + 1)))


def calibration(groups: Groups, y_true: np.ndarray, score: np.ndarray, confidence: float) -> dict[str, list[CalibrationBand]]:
    """Per feature (or the single level), per group and band: n, mean score, observed rate."""
    from ._compare import levels  # _compare -> _result -> this module

    edges = band_edges(score)
    k = max(len(edges) - 1, 1)
    band = np.clip(np.searchsorted(edges, score, side="right") - 1, 0, k - 1)
    key = groups.codes * k + band
    cells = groups.size * k
    n = np.bincount(key, minlength=cells).reshape(groups.size, k)
    s = np.bincount(key, weights=score, minlength=cells).reshape(groups.size, k)
    pos = np.bincount(key, weights=y_true.astype(float), minlength=cells).reshape(groups.size, k)
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
