"""Counterfactual pairs for generative tools.

Each prompt (``pair_id``) is run in several variants that differ only in a sensitive
attribute (a Kazakh or a Russian name, a girl or a boy, ...). Comparing every variant
with the reference variant on the *same* prompts removes the prompts' own variation, so
small gaps are detectable. Intervals come from a paired bootstrap (resampling prompts),
and a sign-flip permutation test gives a p-value for "no difference at all".
"""

from __future__ import annotations

import numpy as np

from .._lazy import pd
from ._compare import Rule, make_check, reference_too_small_check
from ._intervals import (
    finite_or_none,
    holm,
    normal_interval,
    percentile_interval,
    wilson,
)
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


def _variant_groups(variant: np.ndarray, mask: np.ndarray, names: list[str], spec: AuditSpec,
                    values: dict[str, np.ndarray], thresholds: TierThresholds) -> list[GroupResult]:
    groups: list[GroupResult] = []
    for v in names:
        rows = mask & (variant == v)
        size = int(rows.sum())
        metrics: dict[str, Estimate] = {"count": Estimate(estimate=size)}
        for col, kind in spec.outcomes.items():
            x = values[col][rows]
            name = COUNTERFACTUAL_OUTCOMES[kind][0]
            if kind == "refusal":
                low, high = wilson(np.array([x.sum()]), np.array([len(x)]), spec.confidence)
            else:
                se = x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else np.nan
                low, high = normal_interval(np.array([x.mean()]), np.array([se]), spec.confidence)
            metrics[name] = Estimate(estimate=finite_or_none(x.mean()) if len(x) else None,
                                     ci_low=finite_or_none(low[0]), ci_high=finite_or_none(high[0]))
        groups.append(GroupResult(group={spec.variant: v}, n=size, too_small=bool(size < thresholds.min_group_size),
                                  metrics=metrics))
    return groups


def default_reference(names: list[str], sizes: list[int], listed: list[str] | None) -> str:
    """The first variant the policy lists for this attribute, else the most frequent one."""
    for v in listed or []:
        if v in names:
            return v
    return names[int(np.argmax(sizes))]


def counterfactual_audit(frame: pd.DataFrame, spec: AuditSpec, values: dict[str, np.ndarray],
                         thresholds: TierThresholds, policy_refs: dict[str, list[str]] | None = None,
                         ) -> list[tuple[str, tuple[list[GroupResult], dict[str, str], list, list[Check]]]]:
    """Per attribute: per-variant means and the paired checks of each variant against the reference.

    Without ``spec.attribute`` there is one level (the variant column). With it, each
    attribute (e.g. name, sex, location, language) is its own level: its variants are
    compared only with that attribute's reference variant, on the prompts they share.
    ``values`` maps each outcome column to its validated float array (aligned with rows).
    Fail decisions are family-wise: Holm over every check of the audit.
    """
    rng = np.random.default_rng(spec.seed)
    pair = frame[spec.pair_id].astype(str).to_numpy()
    variant = frame[spec.variant].astype(str).to_numpy()
    attribute = frame[spec.attribute].astype(str).to_numpy() if spec.attribute else None
    level_names = sorted(set(attribute)) if attribute is not None else [spec.variant]
    refs = spec.reference or {}
    levels_out = []
    tested: list[tuple[int, int, float]] = []  # (level, check, p-value of "beyond the threshold")
    for level in level_names:
        mask = attribute == level if attribute is not None else np.ones(len(pair), dtype=bool)
        names, sizes = np.unique(variant[mask], return_counts=True)
        names = [str(v) for v in names]
        ref = refs.get(level) or (refs.get(spec.variant) if attribute is None else None) or default_reference(
            names, list(sizes), (policy_refs or {}).get(level))
        groups = _variant_groups(variant, mask, names, spec, values, thresholds)
        label = {v: {spec.variant: v} for v in names}
        checks: list[Check] = []
        for col, kind in spec.outcomes.items():
            _, rule, scaling = COUNTERFACTUAL_OUTCOMES[kind]
            wide = pd.DataFrame({"pair": pair[mask], "variant": variant[mask], "x": values[col][mask]}).pivot(
                index="pair", columns="variant", values="x")
            x_level = values[col][mask]
            sd = float(np.std(x_level, ddof=1)) if len(x_level) > 1 else float("nan")
            for v in names:
                if v == ref:
                    continue
                both = wide[[ref, v]].dropna()
                n_pairs = len(both)
                if n_pairs < thresholds.min_group_size:
                    checks.append(reference_too_small_check(rule, level, label[v], label[ref], n_pairs, thresholds)
                                  .model_copy(update={"reason_key": "fairness.reason.too_few_pairs"}))
                    continue
                value, reps, p_value = _paired(both[ref].to_numpy(), both[v].to_numpy(), scaling, sd, spec.n_boot, rng)
                low, high = percentile_interval(reps[:, None], spec.confidence)
                limit = float(getattr(thresholds, rule.threshold))
                # Bootstrap p-value of "the gap is beyond the threshold" (two-sided, for Holm).
                finite = reps[np.isfinite(reps)]
                b = max(len(finite), 1)
                p_fail = min(1.0, 2 * min((1 + (finite <= limit).sum()) / (b + 1), (1 + (finite >= -limit).sum()) / (b + 1)))
                checks.append(make_check(rule, level, label[v], label[ref], value, low[0], high[0], thresholds,
                                         p_value=p_value, pairs=n_pairs))
                tested.append((len(levels_out), len(checks) - 1, p_fail))
        levels_out.append((level, (groups, {spec.variant: ref}, [], checks)))
    # Family-wise control of fail decisions over the whole audit.
    candidates = [(li, ci, p) for li, ci, p in tested if levels_out[li][1][3][ci].outcome == "fail"]
    rejected = holm(np.array([p for _, _, p in candidates]), 1 - spec.confidence, len(tested)) \
        if candidates else np.zeros(0, dtype=bool)
    for (li, ci, _), keep in zip(candidates, rejected):
        if not keep:
            check = levels_out[li][1][3][ci]
            levels_out[li][1][3][ci] = check.model_copy(update={
                "outcome": "inconclusive", "reason_key": "fairness.reason.inconclusive_multiplicity"})
    return levels_out
