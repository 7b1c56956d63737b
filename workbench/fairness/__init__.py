"""Bias and fairness engine (SPEC section 6).

Classifiers (with or without true labels), scorers, counterfactual pairs of a generative
tool (by attribute), and pre-aggregated per-group counts. Every figure carries a
confidence interval (score intervals: Wilson, Newcombe, MOVER-R; exact AUC with DeLong);
every group is compared with every other, so the verdict does not depend on the reference
group; fail decisions are family-wise (Holm) and a pass needs every pair within its
threshold (``docs/fairness-method.md``, with the measured error rates). A group below the
policy's minimum size is never judged, and a too-small value of a single feature makes
the verdict at best inconclusive; thresholds come from a versioned policy per risk tier
(``workbench/policies/fairness.yaml``).

Example
-------
>>> spec = AuditSpec(kind="classifier", y_true="passed", y_pred="predicted", sensitive=["sex"])
>>> result = run_audit(frame, spec)                           # doctest: +SKIP
>>> result.verdict, result.explain("kk")[0]                   # doctest: +SKIP
"""

from ._auc import AucTable
from ._classifier import CLASSIFIER_CHECKS, CLASSIFIER_METRICS, RATES
from ._counterfactual import COUNTERFACTUAL_OUTCOMES
from ._counts import MAX_GROUPS
from ._engine import frame_sha256, run_audit
from ._policy import (
    DEFAULT_POLICY_PATH,
    TIERS,
    FairnessPolicy,
    PolicyError,
    TierThresholds,
    load_policy,
)
from ._result import (
    ENGINE_VERSION,
    AuditResult,
    Check,
    Estimate,
    GroupResult,
    render_reason,
)
from ._scores import SCORE_CHECKS, SCORE_METRICS
from ._spec import CONFUSION_ROLES, SCORE_SUM_ROLES, AuditSpec, InputError, make_spec

__all__ = [
    "CLASSIFIER_CHECKS",
    "CLASSIFIER_METRICS",
    "CONFUSION_ROLES",
    "COUNTERFACTUAL_OUTCOMES",
    "DEFAULT_POLICY_PATH",
    "ENGINE_VERSION",
    "MAX_GROUPS",
    "RATES",
    "SCORE_CHECKS",
    "SCORE_METRICS",
    "SCORE_SUM_ROLES",
    "TIERS",
    "AucTable",
    "AuditResult",
    "AuditSpec",
    "Check",
    "Estimate",
    "FairnessPolicy",
    "GroupResult",
    "InputError",
    "PolicyError",
    "TierThresholds",
    "frame_sha256",
    "load_policy",
    "make_spec",
    "render_reason",
    "run_audit",
]
