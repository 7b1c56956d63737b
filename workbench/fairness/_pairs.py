"""Every group against every other: pairwise checks, family-wise decisions, one line each.

A verdict must not depend on which group is called the reference, so each check compares
*all pairs* of judged groups of one level (a single feature, or the intersection). For
one metric and level this is a ``PairFamily``: per pair the gap, its interval at the
audit's confidence, and the p-value of "the gap is beyond the threshold".

Decisions:

* **fail** when some pair's gap is beyond the threshold after Holm's step-down procedure
  over *every* pairwise hypothesis of the audit (all levels, metrics and pairs), so a fair
  tool is called *fail* with probability at most ``1 - confidence`` whatever the number of
  groups and checks;
* **pass** only when every pair's interval lies wholly within the threshold (an
  intersection-union test: no multiplicity adjustment is needed, and each pair's claim
  is itself an equivalence test at level ``(1 - confidence) / 2``);
* otherwise **inconclusive**.

Each family is reported as one ``Check`` naming its decisive pair (the worst one), with
the number of pairs compared. The result is the same for every choice of reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._compare import Rule
from ._intervals import fail_p_value, finite_or_none, holm, z_value
from ._policy import TierThresholds
from ._result import (  # all pairs of more groups would not fit in memory
    MAX_PAIR_GROUPS,
    Check,
)

Bounds = Callable[[np.ndarray | float, np.ndarray], tuple[np.ndarray, np.ndarray]]

PASS, INCONCLUSIVE, FAIL_CANDIDATE, UNDEFINED = 0, 1, 2, 3

_REASON_UNDEFINED = "fairness.reason.undefined"
_REASON_MULTIPLICITY = "fairness.reason.inconclusive_multiplicity"
_REASON_TOO_MANY = "fairness.reason.too_many_pairs"


def all_pairs(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every unordered pair of ``indices`` (i < j in the given order)."""
    indices = np.asarray(indices, dtype=np.int64)
    a, b = np.triu_indices(len(indices), k=1)
    return indices[a], indices[b]


def _fails(decide: str, limit: float) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        if decide == "within":
            return lambda lo, hi: (lo > limit) | (hi < -limit)
        if decide == "below":
            return lambda lo, hi: lo > limit
        return lambda lo, hi: (hi < limit) | (lo > 1 / limit)


def _passes(decide: str, lo: np.ndarray, hi: np.ndarray, limit: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        if decide == "within":
            return (lo >= -limit) & (hi <= limit)
        if decide == "below":
            return hi <= limit
        return (lo >= limit) & (hi <= 1 / limit)


def _excess(decide: str, lo: np.ndarray, hi: np.ndarray, limit: float) -> np.ndarray:
    """How far an interval reaches beyond the pass region (larger = worse)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if decide == "within":
            return np.maximum(hi - limit, -limit - lo)
        if decide == "below":
            return hi - limit
        return np.maximum(np.log(limit) - np.log(np.maximum(lo, 1e-300)), np.log(hi) - np.log(1 / limit))


@dataclass
class PairFamily:
    """One metric's pairwise comparisons within one level."""

    rule: Rule
    level: str
    labels: list[dict[str, str]]
    i: np.ndarray
    j: np.ndarray
    value: np.ndarray
    low: np.ndarray
    high: np.ndarray
    status: np.ndarray
    p: np.ndarray
    threshold: float
    extra: dict[str, Any] = field(default_factory=dict)
    rejected: np.ndarray | None = None

    @property
    def tested(self) -> int:
        """Hypotheses this family adds to the audit's family-wise count."""
        return int((self.status != UNDEFINED).sum())


def build_family(rule: Rule, level: str, labels: list[dict[str, str]], i: np.ndarray, j: np.ndarray,
                 value: np.ndarray, bounds: Bounds, thresholds: TierThresholds, confidence: float,
                 **extra: Any) -> PairFamily:
    """Intervals, per-pair status and fail p-values of one family of pairs."""
    limit = float(getattr(thresholds, rule.threshold))
    everything = np.arange(len(i))
    low, high = bounds(z_value(confidence), everything)
    value = np.asarray(value, dtype=float)
    defined = np.isfinite(value) & ~np.isnan(low) & ~np.isnan(high)
    fails = _fails(rule.decide, limit)
    status = np.full(len(i), INCONCLUSIVE, dtype=np.int8)
    status[_passes(rule.decide, low, high, limit) & defined] = PASS
    candidate = fails(low, high) & defined
    status[candidate] = FAIL_CANDIDATE
    status[~defined] = UNDEFINED
    p = np.ones(len(i))
    sel = np.flatnonzero(candidate)
    if len(sel):
        p[sel] = fail_p_value(lambda z: bounds(z, sel), fails)
    return PairFamily(rule, level, labels, i, j, value, low, high, status, p, limit, extra)


def decide_families(families: list[PairFamily], confidence: float) -> None:
    """Holm over every pairwise hypothesis of the audit; sets ``family.rejected``."""
    alpha = 1 - confidence
    m = sum(f.tested for f in families)
    cand = [np.flatnonzero(f.status == FAIL_CANDIDATE) for f in families]
    p = np.concatenate([f.p[c] for f, c in zip(families, cand)]) if families else np.zeros(0)
    rejected = holm(p, alpha, m) if len(p) else np.zeros(0, dtype=bool)
    start = 0
    for f, c in zip(families, cand):
        f.rejected = np.zeros(len(f.i), dtype=bool)
        f.rejected[c] = rejected[start:start + len(c)]
        start += len(c)


def family_check(f: PairFamily, confidence: float) -> Check:
    """One line per family: its outcome and the pair that decides it."""
    assert f.rejected is not None, "decide_families first"
    n_pairs = len(f.i)
    rejected = f.rejected
    status = f.status
    if rejected.any():
        outcome = "fail"
        sel = np.flatnonzero(rejected)
        k = sel[np.lexsort((-np.abs(np.nan_to_num(f.value[sel])), f.p[sel]))[0]]
        key = f"fairness.reason.fail_{f.rule.decide}"
    elif (status == PASS).all():
        outcome = "pass"
        worst = _excess(f.rule.decide, f.low, f.high, f.threshold)
        k = int(np.nanargmax(worst))
        key = f"fairness.reason.pass_{f.rule.decide}"
    else:
        outcome = "inconclusive"
        undefined = np.flatnonzero(status == UNDEFINED)
        if len(undefined):
            k = int(undefined[0])
            key = _REASON_UNDEFINED
        else:
            open_ = np.flatnonzero(status != PASS)
            worst = _excess(f.rule.decide, f.low[open_], f.high[open_], f.threshold)
            k = int(open_[int(np.nanargmax(worst))])
            key = (_REASON_MULTIPLICITY if status[k] == FAIL_CANDIDATE
                   else f"fairness.reason.inconclusive_{f.rule.decide}")
    group, reference = f.labels[int(f.i[k])], f.labels[int(f.j[k])]
    v, lo, hi = finite_or_none(f.value[k]), finite_or_none(f.low[k]), finite_or_none(f.high[k])
    if key == _REASON_UNDEFINED:
        v = lo = hi = None
    params: dict[str, Any] = {"metric": f.rule.metric, "group": group, "reference": reference,
                              "threshold": f.threshold, "pairs": n_pairs,
                              "failing": int(rejected.sum()), "open": int((status != PASS).sum() - rejected.sum())}
    if f.rule.decide == "band":
        params["upper"] = 1 / f.threshold
    if v is not None:
        params["value"] = v
    if lo is not None and hi is not None:
        params.update(ci_low=lo, ci_high=hi if np.isfinite(f.high[k]) else None)
    params.update(f.extra)
    return Check(metric=f.rule.metric, level=f.level, group=group, reference=reference, value=v,
                 ci_low=lo, ci_high=hi, threshold=f.threshold, outcome=outcome, reason_key=key,
                 reason_params=params, p_value=finite_or_none(f.p[k]) if outcome != "pass" else None)


def too_many_pairs_check(rule: Rule, level: str, count: int, thresholds: TierThresholds) -> Check:
    """A level with more judged groups than all pairs can be formed for: not judged."""
    limit = float(getattr(thresholds, rule.threshold))
    return Check(metric=rule.metric, level=level, group={}, reference={}, value=None, ci_low=None, ci_high=None,
                 threshold=limit, outcome="inconclusive", reason_key=_REASON_TOO_MANY,
                 reason_params={"metric": rule.metric, "count": count, "limit": MAX_PAIR_GROUPS})
