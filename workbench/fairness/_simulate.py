"""The verdict's error rates, measured by simulation (``docs/fairness-method.md``).

Thousands of data sets are drawn from known populations as per-group confusion counts
(the sufficient statistics), and judged with the engine's own pairwise families
(``rate_family``: the same orientation, intervals, statuses and fail p-values as an
audit) stacked along one axis, then Holm per data set and the engine's verdict rule.
``tests/test_fairness_simulation.py`` checks that these verdicts equal ``run_audit``'s
on random data sets, and that coverage and error rates stay within their bounds.

Run ``python -m workbench.fairness._simulate`` to print the table of the method document.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._classifier import CLASSIFIER_CHECKS, PREDICTION_CHECKS, rate, rate_family
from ._pairs import FAIL_CANDIDATE, PASS, UNDEFINED, all_pairs
from ._policy import TierThresholds, load_policy

CELL_ORDER = ("tn", "fp", "fn", "tp")


@dataclass(frozen=True)
class Population:
    """One group's population: its size in each data set and its true rates."""

    n: int
    prevalence: float
    tpr: float
    fpr: float

    @property
    def cells(self) -> np.ndarray:
        p, t, f = self.prevalence, self.tpr, self.fpr
        return np.array([(1 - p) * (1 - f), (1 - p) * f, p * (1 - t), p * t])


def draw(rng: np.random.Generator, populations: list[Population], sets: int) -> np.ndarray:
    """Confusion counts of ``sets`` data sets, shape (sets, groups, 4)."""
    return np.stack([rng.multinomial(g.n, g.cells, size=sets) for g in populations], axis=1)


@dataclass
class Judged:
    verdict: np.ndarray  # per data set: "pass" | "fail" | "inconclusive"
    families: dict[str, tuple[np.ndarray, ...]]  # metric -> (a, b, value, low, high, status), shape (sets, pairs)


def judge(counts: np.ndarray, thresholds: TierThresholds, confidence: float = 0.95,
          predictions_only: bool = False) -> Judged:
    """The audit verdict of each data set (one sensitive feature), vectorised over data sets."""
    sets, groups, _ = counts.shape
    sizes = counts.sum(-1)
    if not (sizes == sizes[0]).all():
        raise ValueError("group sizes must be the same in every simulated data set")
    small = sizes[0] < thresholds.min_group_size
    i, j = all_pairs(np.flatnonzero(~small))
    offset = (np.arange(sets) * groups)[:, None]
    big_i, big_j = (offset + i).ravel(), (offset + j).ravel()
    flat = counts.reshape(sets * groups, 4)
    rules = [(r, h) for r, h in CLASSIFIER_CHECKS if not predictions_only or r.metric in PREDICTION_CHECKS]
    families = {}
    p_all, status_all = [], []
    for rule, how in rules:
        f = rate_family(rule, how, "sim", [], flat, big_i, big_j, thresholds, confidence)
        shape = (sets, len(i))
        families[rule.metric] = tuple(x.reshape(shape) for x in (f.i % groups, f.j % groups, f.value, f.low,
                                                                 f.high, f.status))
        p_all.append(np.where(f.status == FAIL_CANDIDATE, f.p, 1.0).reshape(shape))
        status_all.append(f.status.reshape(shape))
    p = np.concatenate(p_all, axis=1)
    status = np.concatenate(status_all, axis=1)
    tested = (status != UNDEFINED).sum(1)
    alpha = 1 - confidence
    # Holm rejects at least one hypothesis exactly when the smallest p-value is <= alpha / m.
    fail = (p.min(1, initial=1.0) <= alpha / np.maximum(tested, 1)) & (tested > 0)
    passed = (status == PASS).all(1) & (status.shape[1] > 0) & ~small.any()
    verdict = np.where(fail, "fail", np.where(passed, "pass", "inconclusive"))
    return Judged(verdict, families)


def true_rates(populations: list[Population]) -> dict[str, np.ndarray]:
    cells = np.stack([g.cells for g in populations])
    return {name: rate(cells, name) for name in ("selection_rate", "true_positive_rate", "false_positive_rate")}


def coverage(judged: Judged, populations: list[Population], metric: str) -> float:
    """Share of pairwise intervals that contain the true gap (difference or ratio)."""
    a, b, _, low, high, status = judged.families[metric]
    truth = true_rates(populations)
    if metric == "demographic_parity_ratio":
        sel = truth["selection_rate"]
        with np.errstate(invalid="ignore", divide="ignore"):
            target = sel[a] / sel[b]
    elif metric == "equalized_odds_difference":
        target = np.maximum(np.abs(truth["true_positive_rate"][a] - truth["true_positive_rate"][b]),
                            np.abs(truth["false_positive_rate"][a] - truth["false_positive_rate"][b]))
    else:
        name = {"demographic_parity_difference": "selection_rate",
                "equal_opportunity_difference": "true_positive_rate"}[metric]
        target = truth[name][a] - truth[name][b]
    ok = status != UNDEFINED
    hit = (low <= target + 1e-12) & (target - 1e-12 <= high)
    return float(hit[ok].mean()) if ok.any() else float("nan")


# The settings of the method document: (name, populations, what the truth is).
def settings() -> list[tuple[str, list[Population], str]]:
    fair = []
    for base in (0.05, 0.5):
        fair.append((f"2 groups, 30 vs 1,000, base rate {base}", [Population(1000, base, 0.8, 0.2),
                                                                   Population(30, base, 0.8, 0.2)], "fair"))
        fair.append((f"2 groups, 1,000 vs 1,000, base rate {base}", [Population(1000, base, 0.8, 0.2),
                                                                      Population(1000, base, 0.8, 0.2)], "fair"))
        sizes6 = [30, 60, 120, 250, 500, 1000]
        fair.append((f"6 groups, 30 to 1,000, base rate {base}", [Population(n, base, 0.8, 0.2) for n in sizes6],
                     "fair"))
        sizes18 = [30, 40, 50, 60, 80, 100, 120, 150, 200, 250, 300, 400, 500, 600, 700, 800, 900, 1000]
        fair.append((f"18 groups, 30 to 1,000, base rate {base}", [Population(n, base, 0.8, 0.2) for n in sizes18],
                     "fair"))
    # Selection rates of exactly 0 % and 100 % (a predictor that never / always selects one group).
    fair.append(("2 groups, 0 % (30) vs 0 % (1,000)", [Population(1000, 0.3, 0.0, 0.0), Population(30, 0.3, 0.0, 0.0)],
                 "fair"))
    fair.append(("2 groups, 100 % (30) vs 100 % (1,000)", [Population(1000, 0.3, 1.0, 1.0),
                                                           Population(30, 0.3, 1.0, 1.0)], "fair"))
    # The hardest case for a false fail: a true gap exactly at the threshold (0.10 in every rate).
    fair.append(("edge: gap 0.10 = threshold, 1,000 vs 1,000", [Population(1000, 0.5, 0.8, 0.2),
                                                              Population(1000, 0.5, 0.9, 0.3)], "fair"))
    fair.append(("edge: gap 0.10 = threshold, 10,000 vs 10,000", [Population(10000, 0.5, 0.8, 0.2),
                                                                Population(10000, 0.5, 0.9, 0.3)], "fair"))
    unfair = [
        # A true gap of 0.13 in selection rate (threshold 0.10 + 0.03), nothing else different.
        ("gap 0.13, 1,000 vs 1,000", [Population(1000, 0.5, 0.8, 0.2), Population(1000, 0.5, 0.93, 0.33)], "gap"),
        ("gap 0.13, 30 vs 1,000", [Population(1000, 0.5, 0.8, 0.2), Population(30, 0.5, 0.93, 0.33)], "gap"),
        ("gap 0.13, 5,000 vs 5,000", [Population(5000, 0.5, 0.8, 0.2), Population(5000, 0.5, 0.93, 0.33)], "gap"),
        ("gap 0.13 at base rate 0.05 (rates 0.2 vs 0.33), 2,000 each",
         [Population(2000, 0.05, 0.8, 0.168), Population(2000, 0.05, 0.93, 0.30)], "gap"),
        # Selection-rate ratio 0.77 (four-fifths 0.80 - 0.03) with a difference of only 0.06.
        ("ratio 0.77 (rates 0.20 vs 0.26), 300 vs 300", [Population(300, 0.5, 0.3, 0.1),
                                                         Population(300, 0.5, 0.36, 0.16)], "gap"),
        ("ratio 0.77 (rates 0.20 vs 0.26), 3,000 vs 3,000", [Population(3000, 0.5, 0.3, 0.1),
                                                             Population(3000, 0.5, 0.36, 0.16)], "gap"),
    ]
    return fair + unfair


def table(sets: int = 1000, seed: int = 20261201) -> list[dict[str, object]]:
    """Coverage and error rates per setting (the rows of the method document's table)."""
    thresholds = load_policy().thresholds("high")
    rng = np.random.default_rng(seed)
    rows = []
    for name, pops, kind in settings():
        judged = judge(draw(rng, pops, sets), thresholds)
        rows.append({
            "setting": name, "kind": kind,
            "coverage_difference": coverage(judged, pops, "demographic_parity_difference"),
            "coverage_ratio": coverage(judged, pops, "demographic_parity_ratio"),
            "coverage_tpr": coverage(judged, pops, "equal_opportunity_difference"),
            "false_fail": float((judged.verdict == "fail").mean()) if kind == "fair" else None,
            "false_pass": float((judged.verdict == "pass").mean()) if kind == "gap" else None,
            "pass": float((judged.verdict == "pass").mean()),
            "fail": float((judged.verdict == "fail").mean()),
        })
    return rows


def _fmt(x: object) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return "n/a" if np.isnan(x) else f"{100 * x:.1f} %"
    return str(x)


def main() -> None:
    print("| setting | coverage: difference | coverage: ratio | coverage: TPR gap | false fail | false pass "
          "| pass | fail |")
    print("|---|---|---|---|---|---|---|---|")
    for r in table():
        print("| " + " | ".join(_fmt(r[k]) for k in ("setting", "coverage_difference", "coverage_ratio", "coverage_tpr",
                                                     "false_fail", "false_pass", "pass", "fail")) + " |")


if __name__ == "__main__":
    main()
