"""How far the reviewers agree, in figures people can read (issue 13).

Kappa alone misleads when almost every answer is "meets": two reviewers who agree on 47 of
48 items get Cohen's kappa near 0 because chance agreement is then near 1 (the "kappa
paradox", Feinstein & Cicchetti 1990). So the page leads with the share of items on which
the reviewers agree, adds Gwet's AC1 (Gwet 2008), which stays stable when one category
dominates, and gives Cohen's kappa (two reviewers) or Fleiss' kappa (three or more) with
a plain sentence on what each means. Every figure has a 95% interval from a seeded
bootstrap over items (percent agreement also has Wilson's interval for two reviewers). When
every item is alike the bootstrap cannot vary, so the lower bounds of percent agreement and
AC1 then come from Wilson's bound on the share of items agreed (never a zero-width interval).

References: K. L. Gwet, "Computing inter-rater reliability and its variance in the presence
of high agreement", Br. J. Math. Stat. Psychol. 61 (2008) 29-48; J. L. Fleiss, "Measuring
nominal scale agreement among many raters", Psychol. Bull. 76 (1971) 378-382.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Hashable, Sequence

from ..i18n import format_number, format_percent, t

BOOTSTRAP = 1000
SEED = 20260
MIN_ITEMS = 2


@dataclass(frozen=True)
class Figure:
    value: float | None
    low: float | None
    high: float | None


@dataclass
class AgreementReport:
    raters: int
    items: int
    agreed_items: int
    percent: Figure
    ac1: Figure
    kappa: Figure
    kappa_name: str                 # "cohen" | "fleiss"
    disagreements: list[str] = field(default_factory=list)

    def sentences(self, lang: str) -> list[str]:
        """Plain sentences: what the reviewers agreed on, then what each coefficient says."""
        lines = [t("staff.agree_percent", lang, agreed=self.agreed_items, items=self.items,
                   pct=_pct(self.percent.value, lang), low=_pct(self.percent.low, lang),
                   high=_pct(self.percent.high, lang))]
        if self.ac1.value is not None:
            lines.append(t("staff.agree_ac1", lang, value=_num(self.ac1.value, lang), low=_num(self.ac1.low, lang),
                           high=_num(self.ac1.high, lang), meaning=t(f"staff.agree_level_{_level(self.ac1.value)}", lang)))
        name = t(f"staff.agree_{self.kappa_name}", lang)
        if self.kappa.value is None:
            lines.append(t("staff.agree_kappa_undefined", lang, name=name))
        else:
            lines.append(t("staff.agree_kappa", lang, name=name, value=_num(self.kappa.value, lang),
                           low=_num(self.kappa.low, lang), high=_num(self.kappa.high, lang),
                           meaning=t(f"staff.agree_level_{_level(self.kappa.value)}", lang)))
            if self.percent.value is not None and self.percent.value >= 0.9 and self.kappa.value < 0.4:
                lines.append(t("staff.agree_paradox", lang, name=name))
        return lines


def _pct(value: float | None, lang: str) -> str:
    return "—" if value is None else format_percent(value, lang, 0)


def _num(value: float | None, lang: str) -> str:
    return "—" if value is None else format_number(value, lang, 2)


def _level(value: float) -> str:
    """Landis & Koch's (1977) bands, the ones committees usually quote."""
    if value < 0:
        return "poor"
    for limit, name in ((0.2, "slight"), (0.4, "fair"), (0.6, "moderate"), (0.8, "substantial")):
        if value <= limit:
            return name
    return "almost_perfect"


# -- the coefficients ---------------------------------------------------------------------------

def percent_agreement(table: Sequence[Sequence[Hashable]]) -> float | None:
    """Mean over items of the share of rater pairs giving the same answer (for two raters: the
    share of items on which they agree)."""
    scores = []
    for answers in table:
        n = len(answers)
        if n < 2:
            continue
        pairs = n * (n - 1)
        same = sum(c * (c - 1) for c in _counts(answers).values())
        scores.append(same / pairs)
    return sum(scores) / len(scores) if scores else None


def gwet_ac1(table: Sequence[Sequence[Hashable]], categories: Sequence[Hashable] | None = None) -> float | None:
    """Gwet's AC1 for any number of raters (items with fewer than two answers are skipped)."""
    parts = _ac1_parts(table, categories)
    if parts is None:
        return None
    pa, pe = parts
    return None if pe >= 1 else (pa - pe) / (1 - pe)


def _ac1_parts(table, categories) -> tuple[float, float] | None:
    """AC1's observed agreement and chance agreement (pa, pe); None without an item to judge."""
    rows = [r for r in table if len(r) >= 2]
    if not rows:
        return None
    cats = list(categories) if categories else sorted({a for r in rows for a in r}, key=str)
    q = len(cats)
    pa = percent_agreement(rows)
    if q < 2:
        return pa, 0.0
    pi = {c: sum(_counts(r).get(c, 0) / len(r) for r in rows) / len(rows) for c in cats}
    return pa, sum(p * (1 - p) for p in pi.values()) / (q - 1)


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    n = len(a)
    if n == 0 or n != len(b):
        return None
    po = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = _counts(a), _counts(b)
    pe = sum(ca.get(c, 0) * cb.get(c, 0) for c in set(ca) | set(cb)) / (n * n)
    return None if pe >= 1 else (po - pe) / (1 - pe)


def fleiss_kappa(table: Sequence[Sequence[Hashable]]) -> float | None:
    """Fleiss' kappa; every item must have the same number of answers (else None)."""
    if not table or len({len(r) for r in table}) != 1 or len(table[0]) < 2:
        return None
    n, big_n = len(table[0]), len(table)
    cats = {a for r in table for a in r}
    p_i = [(sum(c * c for c in _counts(r).values()) - n) / (n * (n - 1)) for r in table]
    p_bar = sum(p_i) / big_n
    p_j = {c: sum(_counts(r).get(c, 0) for r in table) / (big_n * n) for c in cats}
    pe = sum(p * p for p in p_j.values())
    return None if pe >= 1 else (p_bar - pe) / (1 - pe)


def _counts(answers: Sequence[Hashable]) -> dict:
    out: dict = {}
    for a in answers:
        out[a] = out.get(a, 0) + 1
    return out


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float | None, float | None]:
    if n == 0:
        return None, None
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _bootstrap(table, stat, *, rounds: int = BOOTSTRAP, seed: int = SEED) -> tuple[float | None, float | None]:
    rng = random.Random(seed)
    values = []
    for _ in range(rounds):
        sample = [table[rng.randrange(len(table))] for _ in table]
        v = stat(sample)
        if v is not None:
            values.append(v)
    if len(values) < rounds // 2:
        return None, None
    values.sort()
    return values[int(0.025 * (len(values) - 1))], values[int(0.975 * (len(values) - 1))]


def _kappa_of(table) -> float | None:
    if table and len(table[0]) == 2 and all(len(r) == 2 for r in table):
        return cohen_kappa([r[0] for r in table], [r[1] for r in table])
    return fleiss_kappa(table)


def measure(answers_by_rater: Sequence[dict[str, Hashable]], *, categories: Sequence[Hashable] | None = None,
            rounds: int = BOOTSTRAP) -> AgreementReport | None:
    """Agreement of several reviewers' answers (item id -> answer), on the items all answered."""
    if len(answers_by_rater) < 2:
        return None
    common = sorted(set.intersection(*(set(a) for a in answers_by_rater)))
    if len(common) < MIN_ITEMS:
        return None
    table = [[a[item] for a in answers_by_rater] for item in common]
    raters = len(answers_by_rater)
    agreed = sum(len(set(r)) == 1 for r in table)
    pa = percent_agreement(table)
    if raters == 2:
        low, high = wilson(agreed, len(table))
    else:
        low, high = _bootstrap(table, percent_agreement, rounds=rounds)
    ac1 = gwet_ac1(table, categories)
    ac1_ci = _bootstrap(table, lambda s: gwet_ac1(s, categories), rounds=rounds)
    if agreed == len(table):
        # Every item alike: resampling items cannot vary, and the bootstrap would give a point
        # (1.00-1.00), as if a few dozen items proved perfect agreement. The lower bound then comes
        # from how often reviewers could still disagree with none seen (Wilson's bound on the share
        # of fully agreed items, which is at most the mean pairwise agreement), carried to AC1
        # with its chance agreement held at the estimate.
        floor, _ = wilson(agreed, len(table))
        low, high = min(low, floor), 1.0
        pa_pe = _ac1_parts(table, categories)
        if ac1 is not None and pa_pe is not None and pa_pe[1] < 1:
            ac1_ci = (max(-1.0, (floor - pa_pe[1]) / (1 - pa_pe[1])), 1.0)
    kappa = _kappa_of(table)
    kappa_ci = _bootstrap(table, _kappa_of, rounds=rounds) if kappa is not None else (None, None)
    return AgreementReport(raters=raters, items=len(table), agreed_items=agreed, percent=Figure(pa, low, high),
                           ac1=Figure(ac1, *ac1_ci), kappa=Figure(kappa, *kappa_ci),
                           kappa_name="cohen" if raters == 2 else "fleiss",
                           disagreements=[item for item, row in zip(common, table) if len(set(row)) > 1])
