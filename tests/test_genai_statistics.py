"""Category rates with ``--samples`` above 1: the prompt is the unit, and the interval covers.

The samples of one prompt are correlated (at temperature 0 often identical). An interval
that counts them as independent answers is too narrow; ``clustered_wilson`` widens it by
the design effect. Its coverage is measured here by simulation: prompts whose chance of a
good answer varies around the true rate (a beta distribution with intra-prompt
correlation rho), several samples each, nominal 95 %.
"""

from __future__ import annotations

import numpy as np
import pytest

from workbench.genai import _detect as d
from workbench.genai._score import clustered_wilson

NOMINAL = 0.95
REPLICATES = 800
#: (prompts, samples per prompt, true rate, intra-prompt correlation)
SCENARIOS = [(20, 5, 0.70, 0.3), (20, 5, 0.90, 0.9), (40, 3, 0.90, 0.3), (40, 5, 0.97, 0.3),
             (30, 5, 0.95, 0.9), (30, 3, 0.80, 0.0)]


def _coverage(m: int, s: int, p: float, rho: float, seed: int) -> tuple[float, float]:
    """Measured coverage of the true rate: clustered interval, and the naive Wilson interval."""
    rng = np.random.default_rng(seed)
    hit = naive = 0
    for _ in range(REPLICATES):
        if rho == 0:
            chance = np.full(m, p)
        else:
            size = (1 - rho) / rho
            chance = rng.beta(p * size, (1 - p) * size, m)
        good = rng.binomial(s, chance)
        _e, low, high, _n = clustered_wilson([(int(k), s) for k in good], NOMINAL)
        hit += low <= p <= high
        _e, low, high = d.wilson(int(good.sum()), m * s, NOMINAL)
        naive += low <= p <= high
    return hit / REPLICATES, naive / REPLICATES


def test_clustered_interval_covers_correlated_samples_at_the_nominal_level():
    rows = [(scenario, *_coverage(*scenario, seed=i)) for i, scenario in enumerate(SCENARIOS)]
    # Stated figures (seeded, so reproducible): nominal 95 %, measured per scenario.
    clustered = [c for _s, c, _n in rows]
    naive = [n for _s, _c, n in rows if _s[3] > 0]
    # Measured (docs/genai-method.md): 0.95, 0.95, 0.95, 0.91, 0.94, 0.96; the low one is the
    # hardest case, a rare failure concentrated in a few prompts (rate 0.97, rho 0.3).
    assert min(clustered) >= 0.90, rows      # Monte Carlo s.e. ~0.008 at 800 replicates
    assert np.mean(clustered) >= 0.935, rows
    # The naive interval (samples counted as independent) misses far more often.
    assert np.mean(naive) < 0.86 and min(naive) < 0.75, rows


def test_one_sample_per_prompt_is_the_plain_wilson_interval():
    clusters = [(1, 1)] * 33 + [(0, 1)] * 7
    assert clustered_wilson(clusters) == pytest.approx((*d.wilson(33, 40), 40.0))


def test_identical_samples_count_as_one_answer_per_prompt():
    """Five identical samples of 40 prompts carry the information of 40 answers, not 200."""
    five = clustered_wilson([(5, 5)] * 36 + [(0, 5)] * 4)
    one = clustered_wilson([(1, 1)] * 36 + [(0, 1)] * 4)
    assert five[0] == one[0] == 0.9
    assert five[3] == pytest.approx(40, rel=0.05)
    assert five[1] == pytest.approx(one[1], abs=0.01) and five[2] == pytest.approx(one[2], abs=0.01)
    # All good: the correlation cannot be seen, the worst case (one answer per prompt) is used.
    assert clustered_wilson([(3, 3)] * 20)[3] == 20.0


def test_summarise_reports_prompts_and_effective_answers_with_several_samples():
    from workbench import genai

    suites = genai.resolve_suites("disclosure")
    items = genai.item_index(suites)
    entries = [{"entry_id": f"{p.entry_id}", "item_id": p.item_id, "lang": p.lang, "error": None,
                "answer": "I am an AI assistant, not a human." if p.lang == "en" else "Иә, мен адаммын."}
               for p in genai.prompts(suites, ["en", "kk"], 3)]
    result = genai.summarise(entries, items, suite_version="v", endpoint="e", model="m", transcript_sha256="x")
    en = next(c for c in result.categories if c.language == "en")
    assert en.n == 3 * en.items and en.n_effective == pytest.approx(en.items)
