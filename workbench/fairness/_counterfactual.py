"""Counterfactual pairs for generative tools.

Each prompt (``pair_id``) is run in several variants that differ only in a sensitive
attribute (a Kazakh or a Russian name, a girl or a boy, ...). Comparing every variant
with the reference variant on the *same* prompts removes the prompts' own variation, so
small gaps are detectable. Intervals come from a paired bootstrap (resampling prompts),
and a sign-flip permutation test gives a p-value for "no difference at all".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._compare import Rule, make_check, reference_too_small_check
from ._intervals import finite_or_none, normal_interval, percentile_interval, wilson
from ._policy import TierThresholds
from ._result import Check, Estimate, GroupResult
from ._spec import AuditSpec

# Outcome kind -> (per-variant metric name, rule, how the paired gap is scaled).
COUNTERFACTUAL_OUTCOMES: dict[str, tuple[str, Rule, str]] = {
    "score": ("mean_score", Rule("counterfactual_score_gap", "within", "max_score_gap"), "sd"),
    "refusal": ("refusal_rate", Rule("counterfactual_refusal_gap", "within", "max_refusal_gap"), "none"),
    "length": ("mean_length", Rule("counterfactual_length_gap", "within", "max_length_gap"), "reference_mean"),
    "rating": ("mean_rating", Rule("counterfactual_rating_gap", "within", "max_rating_gap"), "sd"),
}
# Resamples are drawn in blocks so that memory stays near this many numbers.
_BLOCK = 4_000_000


def _paired(d_ref: np.ndarray, d_var: np.ndarray, scaling: str, sd: float, n_boot: int,
            rng: np.random.Generator) -> tuple[float, np.ndarray, float]:
    """Point estimate, bootstrap replicates and sign-flip p-value of the scaled paired gap."""
    diff = d_var - d_ref
    n = len(diff)

    def stat(diff_mean: np.ndarray, ref_mean: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            if scaling == "reference_mean":
                return np.where(ref_mean != 0, diff_mean / ref_mean, np.nan)
            if scaling == "sd":
                return diff_mean / sd if sd > 0 else np.full_like(diff_mean, np.nan)
            return diff_mean

    value = float(stat(np.array([diff.mean()]), np.array([d_ref.mean()]))[0])
    reps, flips_extreme = [], 0
    step = max(_BLOCK // max(n, 1), 1)
    observed = abs(diff.mean())
    for start in range(0, n_boot, step):
        b = min(step, n_boot - start)
        idx = rng.integers(0, n, size=(b, n), dtype=np.int32)
        reps.append(stat(diff[idx].mean(1), d_ref[idx].mean(1)))
        # Sign flips: the mean of ±d is (2 * Σ_{kept} d − Σ d) / n, one matrix product.
        kept = (rng.random((b, n)) < 0.5).astype(np.float64)
        flipped = (2.0 * (kept @ diff) - diff.sum()) / n
        # A tiny tolerance so that ties with the observed value count as extreme.
        flips_extreme += int((np.abs(flipped) >= observed - 1e-12).sum())
    p_value = (1 + flips_extreme) / (n_boot + 1)
    return value, np.concatenate(reps), p_value


def counterfactual_audit(frame: pd.DataFrame, spec: AuditSpec, values: dict[str, np.ndarray],
                         thresholds: TierThresholds) -> tuple[list[GroupResult], dict[str, str], list[Check]]:
    """Per-variant means and the paired checks of every variant against the reference.

    ``values`` maps each outcome column to its validated float array (aligned with rows).
    """
    rng = np.random.default_rng(spec.seed)
    pair = frame[spec.pair_id].astype(str).to_numpy()
    variant = frame[spec.variant].astype(str).to_numpy()
    names, sizes = np.unique(variant, return_counts=True)
    wanted = (spec.reference or {}).get(spec.variant)
    ref = wanted if wanted is not None else str(names[np.argmax(sizes)])
    label = {v: {spec.variant: v} for v in names}
    groups: list[GroupResult] = []
    for v, size in zip(names, sizes):
        mask = variant == v
        metrics: dict[str, Estimate] = {"count": Estimate(estimate=int(size))}
        for col, kind in spec.outcomes.items():
            x = values[col][mask]
            name = COUNTERFACTUAL_OUTCOMES[kind][0]
            if kind == "refusal":
                low, high = wilson(np.array([x.sum()]), np.array([len(x)]), spec.confidence)
            else:
                se = x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else np.nan
                low, high = normal_interval(np.array([x.mean()]), np.array([se]), spec.confidence)
            metrics[name] = Estimate(estimate=finite_or_none(x.mean()), ci_low=finite_or_none(low[0]),
                                     ci_high=finite_or_none(high[0]))
        groups.append(GroupResult(group=label[v], n=int(size),
                                  too_small=bool(size < thresholds.min_group_size), metrics=metrics))
    checks: list[Check] = []
    for col, kind in spec.outcomes.items():
        _, rule, scaling = COUNTERFACTUAL_OUTCOMES[kind]
        wide = pd.DataFrame({"pair": pair, "variant": variant, "x": values[col]}).pivot(
            index="pair", columns="variant", values="x")
        sd = float(np.std(values[col], ddof=1)) if len(values[col]) > 1 else float("nan")
        for v in names:
            if v == ref:
                continue
            both = wide[[ref, v]].dropna()
            n_pairs = len(both)
            if n_pairs < thresholds.min_group_size:
                checks.append(reference_too_small_check(rule, spec.variant, label[v], label[ref], n_pairs, thresholds)
                              .model_copy(update={"reason_key": "fairness.reason.too_few_pairs"}))
                continue
            value, reps, p_value = _paired(both[ref].to_numpy(), both[v].to_numpy(), scaling, sd, spec.n_boot, rng)
            low, high = percentile_interval(reps[:, None], spec.confidence)
            checks.append(make_check(rule, spec.variant, label[v], label[ref], value, low[0], high[0], thresholds,
                                     p_value=p_value, pairs=n_pairs))
    return groups, {spec.variant: ref}, checks
