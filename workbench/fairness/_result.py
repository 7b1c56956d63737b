"""The result of an audit, its JSON shape and its plain-language explanation."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..i18n import format_number, t
from ._calibration import CalibrationBand

MAX_PAIR_GROUPS = 2_000  # also in _pairs (which imports this module)
from ._policy import TierThresholds
from ._spec import AuditSpec

Verdict = Literal["pass", "fail", "inconclusive"]
ENGINE_VERSION = "2.0.0"


class Estimate(BaseModel):
    """A point estimate with its interval; None where undefined (e.g. no positives)."""

    model_config = ConfigDict(frozen=True)

    estimate: int | float | None
    ci_low: float | None = None
    ci_high: float | None = None


class GroupResult(BaseModel):
    """One group (a value of one feature, or an intersection of several)."""

    model_config = ConfigDict(frozen=True)

    group: dict[str, str]
    n: int
    too_small: bool
    metrics: dict[str, Estimate]


class Check(BaseModel):
    """One comparison of a group with its reference group against a policy threshold."""

    model_config = ConfigDict(frozen=True)

    metric: str
    level: str  # "intersection" or the name of a single feature
    group: dict[str, str]
    reference: dict[str, str]
    value: float | None
    ci_low: float | None
    ci_high: float | None
    threshold: float
    outcome: Verdict
    reason_key: str
    reason_params: dict[str, Any] = Field(default_factory=dict)
    p_value: float | None = None


def group_label(group: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in group.items())


def _render_params(params: dict[str, Any], lang: str) -> dict[str, Any]:
    """Numbers in the person's locale, metric names translated."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key == "metric":
            out[key] = t(f"fairness.metric.{value}.name", lang)
        elif isinstance(value, dict):
            out[key] = group_label(value)
        elif isinstance(value, bool) or value is None:
            out[key] = "—" if value is None else str(value)
        elif isinstance(value, int):
            out[key] = format_number(value, lang)
        elif isinstance(value, float):
            out[key] = format_number(value, lang, digits=3)
        else:
            out[key] = value
    return out


def render_reason(check: Check, lang: str) -> str:
    """The check's reason as a sentence in ``lang``."""
    return t(check.reason_key, lang, **_render_params(check.reason_params, lang))


class AuditResult(BaseModel):
    """Everything an audit found, with the versions and input hash needed to freeze it."""

    model_config = ConfigDict(frozen=True)

    spec: AuditSpec
    tier: str
    thresholds: TierThresholds
    n_rows: int
    groups: list[GroupResult]
    marginal_groups: dict[str, list[GroupResult]] = Field(default_factory=dict)
    references: dict[str, dict[str, str]] = Field(default_factory=dict)
    pairs_compared: int = 0
    calibration: dict[str, list[CalibrationBand]] = Field(default_factory=dict)
    checks: list[Check]
    verdict: Verdict
    engine_version: str = ENGINE_VERSION
    policy_version: str
    input_sha256: str

    def to_json_dict(self, lang: str = "kk") -> dict[str, Any]:
        """The CLI's JSON object; ``reason`` is rendered in ``lang``, ``reason_key`` kept."""

        def groups(items: list[GroupResult]) -> list[dict[str, Any]]:
            return [g.model_dump() for g in items]

        checks = []
        for c in self.checks:
            d = c.model_dump()
            d["reason"] = render_reason(c, lang)
            checks.append(d)
        return {
            "kind": self.spec.kind,
            "verdict": self.verdict,
            "tier": self.tier,
            "n_rows": self.n_rows,
            "groups": groups(self.groups),
            "marginal_groups": {k: groups(v) for k, v in self.marginal_groups.items()},
            "references": self.references,
            "references_note": t("fairness.explain.reference_note", lang),
            "headlines": self.headlines(lang),
            "pairs_compared": self.pairs_compared,
            "calibration": {k: [b.model_dump() for b in v] for k, v in self.calibration.items()},
            "checks": checks,
            "thresholds": self.thresholds.model_dump(),
            "parameters": self.spec.model_dump(),
            "engine_version": self.engine_version,
            "policy_version": self.policy_version,
            "input_sha256": self.input_sha256,
        }

    def headlines(self, lang: str = "kk") -> list[str]:
        """One plain-words line per sensitive feature (or counterfactual attribute), worst finding first."""
        if self.spec.kind == "counterfactual" or self.marginal_groups:
            names = list(self.marginal_groups) or list(self.references)
            # Intersections are summarised only when they fail (then the verdict rests on them).
            if self.spec.kind != "counterfactual" and any(
                    c.level == "intersection" and c.outcome == "fail" for c in self.checks):
                names.append("intersection")
        else:
            names = list(self.references)
        order = {"fail": 0, "inconclusive": 1, "pass": 2}
        lines = []
        for name in names:
            checks = [c for c in self.checks if c.level == name]
            if not checks:
                continue
            # The worst outcome; among equals a gap in points (plainer than a ratio), the largest one.
            worst = min(checks, key=lambda c: (order[c.outcome], c.metric == "group_size",
                                               c.reason_params.get("upper") is not None,
                                               -abs(c.value or 0) / max(c.threshold, 1e-9)))
            feature = name if name != "intersection" else " × ".join(self.spec.sensitive)
            values = {"feature": feature, "outcome": t(f"fairness.outcome.{worst.outcome}", lang),
                      "group": _values(worst.group), "reference": _values(worst.reference),
                      "metric": t(f"fairness.metric.{_RATE_OF.get(worst.metric, worst.metric)}.name", lang)}
            if worst.outcome == "pass":
                groups = self.marginal_groups.get(name) or self.groups
                lines.append(t("fairness.headline.pass", lang, feature=feature, outcome=values["outcome"],
                               groups=", ".join(_values(g.group) for g in groups if not g.too_small)))
            elif worst.reason_key == "fairness.reason.group_too_small":
                lines.append(t("fairness.headline.too_small", lang, **values,
                               n=format_number(worst.reason_params["n"], lang),
                               needed=format_number(worst.reason_params["needed"], lang)))
            elif worst.value is None:
                lines.append(t("fairness.headline.undefined", lang, **values))
            elif worst.reason_params.get("upper") is not None:  # a ratio
                lines.append(t(f"fairness.headline.ratio_{worst.outcome}", lang, **values,
                               value=format_number(worst.value, lang, digits=2)))
            elif worst.threshold <= 1 and worst.metric not in _STANDARDISED:  # a gap between two rates
                lines.append(t(f"fairness.headline.points_{worst.outcome}", lang, **values,
                               points=format_number(abs(worst.value) * 100, lang, digits=1)))
            else:
                lines.append(t(f"fairness.headline.gap_{worst.outcome}", lang, **values,
                               value=format_number(abs(worst.value), lang, digits=2)))
        return lines

    def explain(self, lang: str = "kk") -> list[str]:
        """Plain-language sentences for education experts: the verdict, one line per feature, then why."""
        counts = {o: sum(c.outcome == o for c in self.checks) for o in ("pass", "fail", "inconclusive")}
        lines = [t(f"fairness.explain.verdict.{self.verdict}", lang,
                   checks=format_number(len(self.checks), lang),
                   passed=format_number(counts["pass"], lang),
                   failed=format_number(counts["fail"], lang),
                   inconclusive=format_number(counts["inconclusive"], lang))]
        lines += self.headlines(lang)
        if not self.checks:
            lines.append(t("fairness.explain.no_checks", lang))
        if self.pairs_compared:
            lines.append(t("fairness.explain.all_pairs", lang, pairs=format_number(self.pairs_compared, lang)))
        judged = sum(not g.too_small for g in self.groups)
        if self.marginal_groups and self.spec.kind != "counterfactual" and judged > MAX_PAIR_GROUPS:
            lines.append(t("fairness.explain.intersections_not_paired", lang, count=format_number(judged, lang),
                           limit=format_number(MAX_PAIR_GROUPS, lang)))
        if self.spec.kind in ("classifier", "counts") and not any(
                "true_positive_rate" in g.metrics for g in self.groups):
            lines.append(t("fairness.explain.predictions_only", lang))
        for outcome in ("fail", "inconclusive"):
            lines += [render_reason(c, lang) for c in self.checks if c.outcome == outcome]
        small = [g for g in self.groups if g.too_small]
        for level in self.marginal_groups.values():
            small += [g for g in level if g.too_small and g not in small]
        if small:
            lines.append(t("fairness.explain.too_small", lang,
                           groups="; ".join(f"{group_label(g.group)} (n={format_number(g.n, lang)})" for g in small[:50])
                           + ("; …" if len(small) > 50 else ""),
                           min_size=format_number(self.thresholds.min_group_size, lang)))
        undefined = sorted({name for g in self.groups if not g.too_small
                            for name, e in g.metrics.items() if e.estimate is None})
        if undefined:
            lines.append(t("fairness.explain.undefined", lang,
                           metrics=", ".join(t(f"fairness.metric.{m}.name", lang) for m in undefined)))
        lines.append(t("fairness.explain.versions", lang, policy=self.policy_version, tier=t(f"fairness.tier.{self.tier}", lang)))
        return lines


# A gap in points reads best with the rate it is a gap of ("higher on selection rate").
_RATE_OF = {"demographic_parity_difference": "selection_rate", "equal_opportunity_difference": "true_positive_rate",
            "accuracy_difference": "accuracy", "predictive_parity_difference": "precision"}
_STANDARDISED = frozenset({"score_bias", "mae_difference", "counterfactual_score_gap", "counterfactual_length_gap",
                           "counterfactual_rating_gap"})


def _values(group: dict[str, str]) -> str:
    """A group in plain words: its values only (``rural, F``)."""
    return ", ".join(group.values()) or "—"


def overall_verdict(checks: list[Check]) -> Verdict:
    """Fail if any check fails; pass only if there are checks and all pass."""
    outcomes = {c.outcome for c in checks}
    if "fail" in outcomes:
        return "fail"
    if not checks or "inconclusive" in outcomes:
        return "inconclusive"
    return "pass"
