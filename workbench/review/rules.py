"""The committee's rules as pure functions: risk tier, scoring, blocking, agreement.

Nothing here reads files, a database or the clock; every function takes the frozen
checklist or questionnaire and the answers, and returns a JSON-serialisable result that
can explain itself in Kazakh, Russian or English (``explain(lang)``).

Decisions recorded here (SPEC sections 4 and 5 leave them open):

* **Blocking.** Only a *critical* item answered ``not_met`` blocks approval. A critical
  item answered ``partly`` becomes a *condition* (listed first, marked critical): the gap
  is real but fixable, and the committee decides whether to approve with that condition
  or to ask the vendor first. Major items answered ``not_met`` or ``partly`` are
  conditions too. Minor gaps are advice to the vendor and never limit the recommendation.
* **Notes.** An answer other than ``meets`` (partly, not met, not applicable) needs an
  evidence note saying why; without one the review is not ready. A ``meets`` answer rests
  on the vendor's attachments and may stay silent.
* **Scores.** meets = 1, partly = 0.5, not met = 0, not applicable is left out; a
  principle's score is the mean times 100, and the overall score is the mean over all
  scored items (each item weighs the same, so a long section does not count less per item).
* **Kappa.** When both raters (or all raters) use one and the same category throughout,
  chance agreement is 1 and kappa is undefined: the functions return ``None`` and the
  explanation says "all answers identical" instead of inventing a number.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .checklists import (
    FACTORS,
    TIERS,
    TOOL_TYPES,
    Checklist,
    Factor,
    Item,
    LocalText,
    RiskQuestionnaire,
    Section,
    Severity,
    Tier,
    ToolType,
    content_hash,
)
from ..errors import WorkbenchError
from ..i18n import format_number, t

# Message keys (compared against in the tests).
_UNKNOWN_QUESTION = "rules.error.unknown_question"
_NOT_YES_NO = "rules.error.not_yes_no"
_UNKNOWN_ITEM = "rules.error.unknown_item"
_BAD_ANSWER = "rules.error.bad_answer"
_UNKNOWN_TIER = "rules.error.unknown_tier"
_UNKNOWN_TOOL_TYPE = "rules.error.unknown_tool_type"
_UNKNOWN_RECOMMENDATION = "rules.error.unknown_recommendation"
_KAPPA_LENGTH = "rules.error.kappa_length"
_KAPPA_EMPTY = "rules.error.kappa_empty"
_KAPPA_MATRIX = "rules.error.kappa_matrix"
_TOO_FEW_REVIEWS = "rules.error.too_few_reviews"

AnswerValue = Literal["meets", "partly", "not_met", "na"]
ANSWER_VALUES: tuple[str, ...] = ("meets", "partly", "not_met", "na")
_ANSWER_SCORE = {"meets": 1.0, "partly": 0.5, "not_met": 0.0}  # "na" is not scored
Recommendation = Literal["approve", "approve_with_conditions", "reject", "ask_vendor"]
RECOMMENDATIONS: tuple[str, ...] = ("approve", "approve_with_conditions", "reject", "ask_vendor")


class RulesError(WorkbenchError):
    """The rules were called with answers or options they do not know."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------- reasons


class Reason(_Model):
    """A translatable sentence: a catalogue key plus what fills its placeholders.

    ``params`` are plain values, ``terms`` name catalogue keys (translated at render time,
    e.g. a tier name) and ``texts`` carry trilingual checklist content (a finding, a
    question). Keeping all three apart keeps the reason JSON-serialisable and lets the
    same stored rationale be read in any language later.
    """

    key: str
    question_id: str | None = None
    params: dict[str, str | int | float] = Field(default_factory=dict)
    terms: dict[str, str] = Field(default_factory=dict)
    texts: dict[str, LocalText] = Field(default_factory=dict)

    def render(self, lang: str = "kk") -> str:
        """The sentence in ``lang``."""
        values: dict[str, Any] = dict(self.params)
        values.update({name: t(key, lang) for name, key in self.terms.items()})
        values.update({name: text.get(lang) for name, text in self.texts.items()})
        return t(self.key, lang, **values)


# ---------------------------------------------------------------------------- risk tier


class TierPolicy(_Model):
    """What a tier means for the review (SPEC section 4)."""

    labelable: bool
    min_reviewers: int = Field(ge=1)
    fairness_tests: bool
    generative_tests: bool
    max_label_months: int = Field(ge=0, description="longest label validity; 0 = no label")


# Declared as data: the consequence of each tier is one row. High risk gets the shortest
# validity (SPEC: "shortest label validity"); prohibited tools get no label at all.
TIER_POLICY: dict[str, TierPolicy] = {
    "prohibited": TierPolicy(labelable=False, min_reviewers=1, fairness_tests=False, generative_tests=False, max_label_months=0),
    "high": TierPolicy(labelable=True, min_reviewers=2, fairness_tests=True, generative_tests=False, max_label_months=12),
    "limited": TierPolicy(labelable=True, min_reviewers=1, fairness_tests=False, generative_tests=True, max_label_months=24),
    "minimal": TierPolicy(labelable=True, min_reviewers=1, fairness_tests=False, generative_tests=False, max_label_months=36),
}


class RiskResult(_Model):
    """The tier of a tool, its aggravating factors and the answers that produced them."""

    tier: Tier
    factors: list[Factor]
    rationale: list[Reason]
    unanswered: list[str]
    questionnaire_version: str
    questionnaire_hash: str

    @property
    def complete(self) -> bool:
        """True when every question was answered (otherwise the tier is a lower bound)."""
        return not self.unanswered

    @property
    def policy(self) -> TierPolicy:
        return TIER_POLICY[self.tier]

    def explain(self, lang: str = "kk") -> list[str]:
        """Plain-language lines: the tier, why, the aggravating factors, what follows."""
        lines = [t("rules.risk.headline", lang, tier=t(f"rules.tier.{self.tier}", lang))]
        lines += [reason.render(lang) for reason in self.rationale]
        if self.factors:
            names = ", ".join(t(f"rules.factor.{f}", lang) for f in self.factors)
            lines.append(t("rules.risk.factors", lang, factors=names))
        else:
            lines.append(t("rules.risk.no_factors", lang))
        lines.append(t(f"rules.consequence.{self.tier}", lang))
        return lines


def classify_risk(answers: Mapping[str, bool], questionnaire: RiskQuestionnaire) -> RiskResult:
    """Derive the risk tier from yes/no answers.

    The most severe tier triggered by a "yes" wins (prohibited > high > limited); with no
    trigger the tool is minimal risk. Aggravating factors never change the tier, they are
    reported beside it. Unanswered questions are listed and the tier is then a lower bound.

    Parameters
    ----------
    answers:
        Question id to ``True`` (yes) or ``False`` (no); unanswered questions are absent.
    questionnaire:
        The (frozen) questionnaire the answers refer to.

    Returns
    -------
    RiskResult
        ``rationale`` holds one :class:`Reason` per "yes" (its ``question_id`` and, in
        ``params["source"]``, the legal or concept reference for a PDF or tooltip).

    Raises
    ------
    RulesError
        An answer names a question the questionnaire does not have, or is not yes/no.
    """
    known = {q.id for q in questionnaire.questions}
    unknown = sorted(set(answers) - known, key=natural_key)
    if unknown:
        raise RulesError(_UNKNOWN_QUESTION, ids=", ".join(unknown))
    for qid, value in answers.items():
        if not isinstance(value, bool):  # "no" as a string is truthy: refuse rather than guess
            raise RulesError(_NOT_YES_NO, id=qid)

    yes = [q for q in questionnaire.questions if answers.get(q.id) is True]
    triggered = [q for q in yes if q.tier is not None]
    tier = min((q.tier for q in triggered), key=TIERS.index, default="minimal")

    rationale: list[Reason] = []
    for q in triggered:
        key = "rules.reason.trigger" if q.tier == tier else "rules.reason.also"
        rationale.append(Reason(key=key, question_id=q.id, params={"question": q.id, "source": q.source},
                                terms={"tier": f"rules.tier.{q.tier}"}, texts={"finding": q.finding}))
    if not triggered:
        rationale.append(Reason(key="rules.reason.none"))
    factors = [f for f in FACTORS if any(q.factor == f for q in yes)]
    for q in yes:
        if q.factor is not None:
            rationale.append(Reason(key="rules.reason.factor", question_id=q.id, params={"question": q.id, "source": q.source},
                                    terms={"factor": f"rules.factor.{q.factor}"}, texts={"finding": q.finding}))
    unanswered = [q.id for q in questionnaire.questions if q.id not in answers]
    if unanswered:
        rationale.append(Reason(key="rules.reason.unanswered", params={"count": len(unanswered)}))
    return RiskResult(
        tier=tier,
        factors=factors,
        rationale=rationale,
        unanswered=unanswered,
        questionnaire_version=questionnaire.version,
        questionnaire_hash=content_hash(questionnaire),
    )


# ---------------------------------------------------------------------------- checklist review


class Answer(_Model):
    """A reviewer's answer to one item."""

    value: AnswerValue
    note: str = ""


def _check_tier_and_type(tier: str, tool_type: str) -> None:
    if tier not in TIERS:
        raise RulesError(_UNKNOWN_TIER, tier=str(tier))
    if tool_type not in TOOL_TYPES:
        raise RulesError(_UNKNOWN_TOOL_TYPE, tool_type=str(tool_type))


def applicable_items(checklist: Checklist, tier: str, tool_type: str) -> list[Item]:
    """The items a reviewer must answer for a tool of this tier and type, in order."""
    _check_tier_and_type(tier, tool_type)
    return [item for _, item in checklist.items() if item.applies_to(tier, tool_type)]


def applicable_sections(checklist: Checklist, tier: str, tool_type: str) -> list[tuple[Section, list[Item]]]:
    """Sections that have at least one applicable item, each with those items (for a wizard)."""
    _check_tier_and_type(tier, tool_type)
    result = []
    for section in checklist.sections:
        items = [item for item in section.items if item.applies_to(tier, tool_type)]
        if items:
            result.append((section, items))
    return result


class SectionScore(_Model):
    """One principle's result."""

    section_id: str
    title: LocalText
    score: float | None = Field(description="0-100, None when nothing was scored")
    applicable: int
    meets: int = 0
    partly: int = 0
    not_met: int = 0
    na: int = 0
    unanswered: int = 0


class Finding(_Model):
    """An item whose answer limits the recommendation."""

    item_id: str
    section_id: str
    severity: Severity
    value: AnswerValue
    question: LocalText
    note: str = ""


class ReviewSummary(_Model):
    """Scores per principle, what blocks, what becomes a condition, what is missing."""

    checklist_version: str
    checklist_hash: str
    tier: Tier
    tool_type: ToolType
    sections: list[SectionScore]
    overall_score: float | None
    blocking: list[Finding]
    conditions: list[Finding]
    advice: list[Finding]
    unanswered: list[str]
    missing_notes: list[str]
    ignored: list[str] = Field(description="answers to items that do not apply to this tier and tool type")

    @property
    def ready(self) -> bool:
        """Every applicable item is answered and every gap is explained."""
        return not self.unanswered and not self.missing_notes

    @property
    def answered(self) -> int:
        return sum(s.applicable - s.unanswered for s in self.sections)

    @property
    def applicable(self) -> int:
        return sum(s.applicable for s in self.sections)

    def explain(self, lang: str = "kk") -> list[str]:
        """A summary a committee can read in a minute."""
        lines = [t("rules.summary.progress", lang, answered=self.answered, total=self.applicable)]
        if self.overall_score is not None:
            lines.append(t("rules.summary.overall", lang, score=_fmt_score(self.overall_score)))
        for s in self.sections:
            if s.score is None:
                lines.append(t("rules.summary.section_unscored", lang, section=s.title.get(lang)))
            else:
                lines.append(t("rules.summary.section", lang, section=s.title.get(lang), score=_fmt_score(s.score),
                               meets=s.meets, partly=s.partly, not_met=s.not_met))
        for kind, findings in (("blocking", self.blocking), ("condition", self.conditions)):
            for f in findings:
                lines.append(t(f"rules.summary.{kind}", lang, item=f.item_id, question=f.question.get(lang),
                               severity=t(f"rules.severity.{f.severity}", lang)))
        if self.advice:
            lines.append(t("rules.summary.advice", lang, count=len(self.advice)))
        if self.unanswered:
            lines.append(t("rules.summary.unanswered", lang, count=len(self.unanswered),
                           items=", ".join(self.unanswered)))
        if self.missing_notes:
            lines.append(t("rules.summary.missing_notes", lang, items=", ".join(self.missing_notes)))
        if self.tier == "prohibited":
            # No checklist result can outweigh the tier: say so instead of "nothing blocks".
            lines.append(t("rules.summary.prohibited", lang))
        elif not self.ready:
            lines.append(t("rules.summary.not_ready", lang))
        elif self.blocking:
            lines.append(t("rules.summary.verdict_blocked", lang, count=len(self.blocking)))
        elif self.conditions:
            lines.append(t("rules.summary.verdict_conditions", lang, count=len(self.conditions)))
        else:
            lines.append(t("rules.summary.verdict_clear", lang))
        return lines


SEVERITY_ORDER = {"critical": 0, "major": 1, "minor": 2}

# (severity, answer) -> which list the gap goes to; everything absent is no gap. A table,
# so the blocking policy reads in one place and a test can walk it.
GAP_RULES: dict[tuple[str, str], str] = {
    ("critical", "not_met"): "blocking",
    ("critical", "partly"): "condition",
    ("major", "not_met"): "condition",
    ("major", "partly"): "condition",
    ("minor", "not_met"): "advice",
    ("minor", "partly"): "advice",
}


def _classify_gap(
    severity: str, value: str, blocking: list[Finding], conditions: list[Finding], advice: list[Finding]
) -> list[Finding] | None:
    kind = GAP_RULES.get((severity, value))
    return {"blocking": blocking, "condition": conditions, "advice": advice}.get(kind) if kind else None


def _fmt_score(score: float) -> str:
    return str(round(score))


def _coerce_answer(item_id: str, raw: Answer | Mapping[str, Any] | str) -> Answer:
    if isinstance(raw, Answer):
        return raw
    try:
        return Answer.model_validate({"value": raw} if isinstance(raw, str) else raw)
    except ValidationError:
        raise RulesError(_BAD_ANSWER, item=item_id) from None


def score_review(
    checklist: Checklist,
    answers: Mapping[str, Answer | Mapping[str, Any] | str],
    tier: str,
    tool_type: str,
) -> ReviewSummary:
    """Score a reviewer's answers against the checklist.

    Parameters
    ----------
    checklist:
        The frozen checklist the review uses.
    answers:
        Item id to :class:`Answer` (a dict ``{"value": ..., "note": ...}`` or a bare value
        string is accepted too). Items without an answer are reported as unanswered.
    tier, tool_type:
        Of the tool under review; they decide which items apply.

    Returns
    -------
    ReviewSummary
        Per-principle scores and counts, blocking items (critical not met), conditions
        (critical partly, major not met or partly), advice (minor gaps), unanswered items,
        gaps without a note, and answers to items that do not apply.

    Raises
    ------
    RulesError
        An unknown item id, tier or tool type, or an answer that is not one of
        meets / partly / not_met / na.
    """
    _check_tier_and_type(tier, tool_type)
    known = {item.id for _, item in checklist.items()}
    unknown = sorted(set(answers) - known, key=natural_key)
    if unknown:
        raise RulesError(_UNKNOWN_ITEM, ids=", ".join(unknown))
    parsed = {item_id: _coerce_answer(item_id, raw) for item_id, raw in answers.items()}

    sections: list[SectionScore] = []
    blocking: list[Finding] = []
    conditions: list[Finding] = []
    advice: list[Finding] = []
    unanswered: list[str] = []
    missing_notes: list[str] = []
    ignored: list[str] = []
    all_scores: list[float] = []
    for section in checklist.sections:
        counts: Counter[str] = Counter()
        scores: list[float] = []
        applicable = 0
        for item in section.items:
            answer = parsed.get(item.id)
            if not item.applies_to(tier, tool_type):
                if answer is not None:
                    ignored.append(item.id)
                continue
            applicable += 1
            if answer is None:
                counts["unanswered"] += 1
                unanswered.append(item.id)
                continue
            counts[answer.value] += 1
            if answer.value in _ANSWER_SCORE:
                scores.append(_ANSWER_SCORE[answer.value])
            if answer.value != "meets" and not answer.note.strip():
                missing_notes.append(item.id)
            target = _classify_gap(item.severity, answer.value, blocking, conditions, advice)
            if target is not None:
                target.append(Finding(item_id=item.id, section_id=section.id, severity=item.severity,
                                      value=answer.value, question=item.question, note=answer.note))
        if applicable:
            score = 100 * sum(scores) / len(scores) if scores else None
            sections.append(SectionScore(section_id=section.id, title=section.title, score=score,
                                         applicable=applicable, **counts))
        all_scores += scores
    # Critical conditions first: they are what the committee must look at.
    conditions.sort(key=lambda f: SEVERITY_ORDER[f.severity])
    return ReviewSummary(
        checklist_version=checklist.version,
        checklist_hash=content_hash(checklist),
        tier=tier,
        tool_type=tool_type,
        sections=sections,
        overall_score=100 * sum(all_scores) / len(all_scores) if all_scores else None,
        blocking=blocking,
        conditions=conditions,
        advice=advice,
        unanswered=unanswered,
        missing_notes=missing_notes,
        ignored=ignored,
    )


# ---------------------------------------------------------------------------- recommendation


class RecommendationCheck(_Model):
    """Whether a recommendation is allowed, and if not, why."""

    recommendation: Recommendation
    allowed: bool
    reasons: list[Reason]

    def __bool__(self) -> bool:
        return self.allowed

    def explain(self, lang: str = "kk") -> list[str]:
        return [reason.render(lang) for reason in self.reasons]


def recommendation_allowed(summary: ReviewSummary, tier: str, recommendation: str) -> RecommendationCheck:
    """Check a reviewer's recommendation against the rules.

    ``reject`` and ``ask_vendor`` are always allowed. Approving (with or without
    conditions) is refused for a prohibited tool, while a critical item is not met, and
    while the review is not ready; plain ``approve`` is refused while there are conditions.

    Parameters
    ----------
    summary:
        The result of :func:`score_review`.
    tier:
        The tool's risk tier (from :func:`classify_risk`).
    recommendation:
        One of ``approve``, ``approve_with_conditions``, ``reject``, ``ask_vendor``.

    Returns
    -------
    RecommendationCheck
        Truthy when allowed; ``reasons`` say why not.
    """
    if recommendation not in RECOMMENDATIONS:
        raise RulesError(_UNKNOWN_RECOMMENDATION, recommendation=str(recommendation))
    if tier not in TIERS:
        raise RulesError(_UNKNOWN_TIER, tier=str(tier))
    reasons: list[Reason] = []
    if recommendation in ("approve", "approve_with_conditions"):
        if "prohibited" in (tier, summary.tier):
            reasons.append(Reason(key="rules.refuse.prohibited"))
        if summary.blocking:
            reasons.append(Reason(key="rules.refuse.blocking", params={
                "count": len(summary.blocking), "items": ", ".join(f.item_id for f in summary.blocking)}))
        if not summary.ready:
            reasons.append(Reason(key="rules.refuse.not_ready"))
        if recommendation == "approve" and summary.conditions:
            reasons.append(Reason(key="rules.refuse.conditions", params={
                "count": len(summary.conditions), "items": ", ".join(f.item_id for f in summary.conditions)}))
    return RecommendationCheck(recommendation=recommendation, allowed=not reasons, reasons=reasons)


# ---------------------------------------------------------------------------- agreement


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two raters' categorical answers to the same items.

    ``kappa = (p_o - p_e) / (1 - p_e)`` with ``p_o`` the share of items on which they
    agree and ``p_e = sum_c p_a(c) * p_b(c)`` the agreement expected by chance.

    Returns
    -------
    float or None
        ``None`` when ``p_e = 1`` (both raters used one single, identical category), where
        kappa is undefined.
    """
    if len(a) != len(b):
        raise RulesError(_KAPPA_LENGTH, left=len(a), right=len(b))
    n = len(a)
    if n == 0:
        raise RulesError(_KAPPA_EMPTY)
    p_o = sum(x == y for x, y in zip(a, b)) / n
    count_a, count_b = Counter(a), Counter(b)
    p_e = sum(count_a[c] * count_b[c] for c in count_a) / (n * n)
    if p_e >= 1.0:
        return None
    return (p_o - p_e) / (1 - p_e)


def fleiss_kappa(matrix: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' kappa from an items-by-categories matrix of rater counts.

    Row ``i`` holds, for each category ``j``, how many raters put item ``i`` in it; every
    row must add up to the same number of raters ``n >= 2``.

    Returns
    -------
    float or None
        ``None`` when all raters used one single category throughout (chance agreement 1).
    """
    rows = [list(r) for r in matrix]
    if not rows or not rows[0]:
        raise RulesError(_KAPPA_EMPTY)
    width = len(rows[0])
    raters = sum(rows[0])
    if any(len(r) != width or sum(r) != raters or min(r) < 0 for r in rows) or raters < 2:
        raise RulesError(_KAPPA_MATRIX)
    n_items = len(rows)
    p_items = [(sum(c * c for c in r) - raters) / (raters * (raters - 1)) for r in rows]
    p_bar = sum(p_items) / n_items
    p_cat = [sum(r[j] for r in rows) / (n_items * raters) for j in range(width)]
    p_e = sum(p * p for p in p_cat)
    if p_e >= 1.0:
        return None
    return (p_bar - p_e) / (1 - p_e)


def _values(review: Mapping[str, Answer | Mapping[str, Any] | str]) -> dict[str, str]:
    return {item_id: _coerce_answer(item_id, raw).value for item_id, raw in review.items()}


class Agreement(_Model):
    """Agreement between reviewers over the items all of them answered."""

    method: Literal["cohen", "fleiss"]
    kappa: float | None
    raters: int
    items: int

    @property
    def band(self) -> str:
        """Landis and Koch's band for the kappa, as a catalogue key."""
        return kappa_band(self.kappa)

    def explain(self, lang: str = "kk") -> str:
        if self.kappa is None:
            return t("rules.kappa.undefined", lang, items=self.items)
        return t(f"rules.kappa.explain_{self.method}", lang, kappa=format_number(self.kappa, lang), raters=self.raters,
                 items=self.items, band=t(self.band, lang))


def kappa_band(kappa: float | None) -> str:
    """The plain-language band of a kappa (Landis & Koch 1977) as a catalogue key."""
    if kappa is None:
        return "rules.kappa.band_undefined"
    if kappa < 0:
        return "rules.kappa.band_poor"
    for upper, band in ((0.2, "slight"), (0.4, "fair"), (0.6, "moderate"), (0.8, "substantial")):
        if kappa <= upper:
            return f"rules.kappa.band_{band}"
    return "rules.kappa.band_almost_perfect"


def agreement(reviews: Sequence[Mapping[str, Answer | Mapping[str, Any] | str]]) -> Agreement:
    """Cohen's kappa for two reviews, Fleiss' kappa for more, over commonly answered items."""
    if len(reviews) < 2:
        raise RulesError(_TOO_FEW_REVIEWS, count=len(reviews))
    values = [_values(r) for r in reviews]
    common = sorted(set.intersection(*(set(v) for v in values)), key=natural_key)
    if not common:
        raise RulesError(_KAPPA_EMPTY)
    if len(values) == 2:
        kappa = cohen_kappa([values[0][i] for i in common], [values[1][i] for i in common])
        return Agreement(method="cohen", kappa=kappa, raters=2, items=len(common))
    matrix = [[sum(v[i] == cat for v in values) for cat in ANSWER_VALUES] for i in common]
    return Agreement(method="fleiss", kappa=fleiss_kappa(matrix), raters=len(values), items=len(common))


def disagreements(reviews: Iterable[Mapping[str, Answer | Mapping[str, Any] | str]]) -> list[str]:
    """Items that at least two reviewers answered differently, in checklist id order.

    An item only some reviewers answered is incomplete rather than disputed, so it counts
    only when the reviewers who did answer it differ.
    """
    answers_by_item: dict[str, set[str]] = {}
    for review in reviews:
        for item_id, value in _values(review).items():
            answers_by_item.setdefault(item_id, set()).add(value)
    return sorted((i for i, vals in answers_by_item.items() if len(vals) > 1), key=natural_key)


def natural_key(item_id: str) -> tuple:
    """Sort ``P1.2`` before ``P1.10``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", item_id))


__all__ = [
    "ANSWER_VALUES",
    "GAP_RULES",
    "RECOMMENDATIONS",
    "TIER_POLICY",
    "Agreement",
    "Answer",
    "Finding",
    "Reason",
    "RecommendationCheck",
    "ReviewSummary",
    "RiskResult",
    "RulesError",
    "SEVERITY_ORDER",
    "SectionScore",
    "TierPolicy",
    "agreement",
    "applicable_items",
    "applicable_sections",
    "classify_risk",
    "cohen_kappa",
    "disagreements",
    "fleiss_kappa",
    "kappa_band",
    "natural_key",
    "recommendation_allowed",
    "score_review",
]
