"""Shared machinery for comparing groups with a reference group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._intervals import DECIDERS, finite_or_none
from ._policy import TierThresholds
from ._result import Check

_REASON_UNDEFINED = "fairness.reason.undefined"
_REASON_NO_INTERVAL = "fairness.reason.no_interval"
_REASON_REFERENCE_TOO_SMALL = "fairness.reason.reference_too_small"


@dataclass(frozen=True)
class Rule:
    """A check: its metric name, how the interval is judged, and which threshold applies."""

    metric: str
    decide: str  # "within" | "below" | "band"
    threshold: str  # attribute of TierThresholds


def pick_reference(labels: list[dict[str, str]], sizes: np.ndarray, wanted: dict[str, str] | None) -> int:
    """The chosen reference group, or else the largest one.

    A chosen reference names values of some features; among the groups that match them,
    the largest is used (so ``sex=F`` picks the largest intersection with ``sex=F``).
    """
    wanted = wanted or {}
    candidates = [
        i for i, lab in enumerate(labels)
        if all(lab[k] == v for k, v in wanted.items() if k in lab)
    ] or list(range(len(labels)))
    return max(candidates, key=lambda i: (int(sizes[i]), -i))


def make_check(rule: Rule, level: str, group: dict[str, str], reference: dict[str, str],
               value: float, low: float, high: float, thresholds: TierThresholds,
               p_value: float | None = None, **extra: Any) -> Check:
    """Judge one comparison: pass / fail / inconclusive, with a translatable reason."""
    limit = float(getattr(thresholds, rule.threshold))
    params: dict[str, Any] = {"metric": rule.metric, "group": group, "reference": reference, "threshold": limit}
    if rule.decide == "band":
        params["upper"] = 1 / limit
    params.update(extra)
    v, lo, hi = finite_or_none(value), finite_or_none(low), finite_or_none(high)
    if v is None:
        key, outcome = _REASON_UNDEFINED, "inconclusive"
    elif lo is None or hi is None:
        key, outcome = _REASON_NO_INTERVAL, "inconclusive"
        params["value"] = v
    else:
        outcome = DECIDERS[rule.decide](lo, hi, limit)
        key = f"fairness.reason.{outcome}_{rule.decide}"
        params.update(value=v, ci_low=lo, ci_high=hi)
    return Check(metric=rule.metric, level=level, group=group, reference=reference, value=v,
                 ci_low=lo if v is not None else None, ci_high=hi if v is not None else None,
                 threshold=limit, outcome=outcome, reason_key=key, reason_params=params,
                 p_value=finite_or_none(p_value))


def reference_too_small_check(rule: Rule, level: str, group: dict[str, str], reference: dict[str, str],
                              ref_n: int, thresholds: TierThresholds) -> Check:
    """A comparison that cannot be judged because the reference group itself is too small."""
    limit = float(getattr(thresholds, rule.threshold))
    return Check(metric=rule.metric, level=level, group=group, reference=reference, value=None,
                 ci_low=None, ci_high=None, threshold=limit, outcome="inconclusive",
                 reason_key=_REASON_REFERENCE_TOO_SMALL,
                 reason_params={"metric": rule.metric, "group": group, "reference": reference,
                                "n": int(ref_n), "min_size": thresholds.min_group_size})


def levels(groups_labels: list[dict[str, str]], features: tuple[str, ...],
           values: dict[str, list[str]], membership: dict[str, np.ndarray]) -> list[tuple[str, list[dict[str, str]], np.ndarray]]:
    """The intersection level, then one level per feature when there are several features.

    Each level is (name, labels, matrix summing intersections into that level's groups).
    """
    out = [("intersection", groups_labels, None)]  # None: the identity (no n x n matrix for 100,000 groups)
    if len(features) > 1:
        for f in features:
            out.append((f, [{f: v} for v in values[f]], membership[f]))
    return out
