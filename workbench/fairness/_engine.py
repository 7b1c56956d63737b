"""``run_audit``: validate the input, reduce it to per-group statistics, compare groups."""

from __future__ import annotations

import hashlib
from typing import Callable

import numpy as np
import pandas as pd

from ._auc import AucTable
from ._classifier import classifier_level
from ._compare import levels
from ._counterfactual import counterfactual_audit
from ._counts import MAX_GROUPS, Groups, TooManyGroups, confusion_counts, encode_groups, group_sums
from ._policy import FairnessPolicy, load_policy
from ._result import AuditResult, Check, GroupResult, overall_verdict
from ._scores import S_ERR4, score_sums, scorer_level
from ._spec import (
    _DUPLICATE_PAIRS, _ONE_VARIANT, _ROLE_REQUIRED, _TOO_MANY_GROUPS, CONFUSION_ROLES, SCORE_SUM_ROLES, AuditSpec, Problems,
    as_binary, as_count, as_numeric, check_columns, check_reference_values, check_sensitive,
)

Progress = Callable[[float], None]
_DUPLICATE_OUTCOME_KIND = "fairness.error.duplicate_outcome_kind"

LevelOutput = tuple[list[GroupResult], dict[str, str], list[Check]]


def frame_sha256(frame: pd.DataFrame, columns: list[str]) -> str:
    """A content hash of the audited columns, for callers that have no file to hash."""
    digest = hashlib.sha256("\x1f".join(map(str, columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame[columns], index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _column(frame: pd.DataFrame, name: str | None, convert: Callable, problems: Problems) -> np.ndarray | None:
    """A validated column, or None if it is absent (already reported) or invalid (reported now)."""
    if name is None or name not in frame.columns:
        return None
    return convert(frame[name], name, problems)


def _encode(frame: pd.DataFrame, spec: AuditSpec, problems: Problems) -> Groups:
    try:
        groups = encode_groups(frame, spec.sensitive)
    except TooManyGroups as exc:
        problems.add(_TOO_MANY_GROUPS, count=exc.count, limit=MAX_GROUPS)
        problems.raise_if_any()
    check_reference_values(groups.values, spec, problems)
    problems.raise_if_any()
    return groups


def _bootstrap_counts(counts: np.ndarray, spec: AuditSpec) -> np.ndarray:
    """Resample each group's four confusion cells: multinomial with the group's own size.

    This is a bootstrap of the records within each group (group sizes fixed), drawn from
    the counts alone, so its cost does not depend on the number of rows.
    """
    rng = np.random.default_rng(spec.seed)
    n = counts.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n[:, None] > 0, counts / np.where(n > 0, n, 1)[:, None], 0.25)
    return rng.multinomial(n, p, size=(spec.n_boot, len(counts)))


def _classifier_levels(groups: Groups, counts: np.ndarray, spec: AuditSpec, thresholds, auc: AucTable | None,
                       report: Progress) -> list[tuple[str, LevelOutput]]:
    boot = _bootstrap_counts(counts, spec)
    report(0.7)
    out = []
    for name, labels, matrix in levels(groups.labels, groups.features, groups.values, groups.membership):
        out.append((name, classifier_level(name, labels, matrix, counts, boot, spec.reference, thresholds,
                                           spec.confidence, auc)))
    return out


def _scorer_levels(groups: Groups, sums: np.ndarray, spec: AuditSpec, thresholds) -> list[tuple[str, LevelOutput]]:
    return [(name, scorer_level(name, labels, matrix, sums, spec.reference, thresholds, spec.confidence))
            for name, labels, matrix in levels(groups.labels, groups.features, groups.values, groups.membership)]


def _merge(first: list[tuple[str, LevelOutput]], second: list[tuple[str, LevelOutput]]) -> list[tuple[str, LevelOutput]]:
    """Scorer and pass-mark classifier results share groups: merge their metrics."""
    merged = []
    for (name, (g1, ref, c1)), (_, (g2, _ref2, c2)) in zip(first, second):
        groups = [a.model_copy(update={"metrics": {**a.metrics, **{k: v for k, v in b.metrics.items() if k != "count"}}})
                  for a, b in zip(g1, g2)]
        merged.append((name, (groups, ref, c1 + c2)))
    return merged


def _records_levels(frame: pd.DataFrame, spec: AuditSpec, thresholds, problems: Problems,
                    report: Progress) -> list[tuple[str, LevelOutput]]:
    check_sensitive(frame, spec, problems)
    convert = as_binary if spec.kind == "classifier" else as_numeric
    y_true = _column(frame, spec.y_true, convert, problems)
    y_pred = _column(frame, spec.y_pred, convert, problems)
    score = _column(frame, spec.score, as_numeric, problems) if spec.kind == "classifier" else None
    if problems.items:  # report an unknown reference value too, not only on the next attempt
        present = [c for c in spec.sensitive if c in frame.columns]
        check_reference_values({c: [str(v) for v in pd.unique(frame[c].dropna())] for c in present}, spec, problems)
    problems.raise_if_any()
    report(0.3)
    groups = _encode(frame, spec, problems)
    report(0.5)
    if spec.kind == "classifier":
        counts = confusion_counts(groups.codes, y_true, y_pred, groups.size)
        auc = AucTable.from_records(groups.codes, y_true, score, groups.size) if score is not None else None
        return _classifier_levels(groups, counts, spec, thresholds, auc, report)
    scored = _scorer_levels(groups, score_sums(groups.codes, y_true, y_pred, groups.size), spec, thresholds)
    if spec.pass_mark is None:
        return scored
    passed_true, passed_pred = y_true >= spec.pass_mark, y_pred >= spec.pass_mark
    counts = confusion_counts(groups.codes, passed_true, passed_pred, groups.size)
    auc = AucTable.from_records(groups.codes, passed_true, y_pred, groups.size)
    return _merge(scored, _classifier_levels(groups, counts, spec, thresholds, auc, report))


def _aggregated_levels(frame: pd.DataFrame, spec: AuditSpec, thresholds, problems: Problems,
                       report: Progress) -> list[tuple[str, LevelOutput]]:
    check_sensitive(frame, spec, problems)
    roles = CONFUSION_ROLES if spec.kind == "counts" else SCORE_SUM_ROLES
    columns = {}
    for role in roles:
        convert = as_count if spec.kind == "counts" or role == "n" else as_numeric
        columns[role] = _column(frame, spec.column(role), convert, problems)
    problems.raise_if_any()
    groups = _encode(frame, spec, problems)
    report(0.5)
    # Several rows may describe the same group (e.g. one per school): they add up.
    table = np.stack([group_sums(groups.codes, columns[r].astype(float), groups.size) for r in roles], axis=1)
    if spec.kind == "counts":
        return _classifier_levels(groups, np.rint(table).astype(np.int64), spec, thresholds, None, report)
    sums = np.concatenate([table, np.full((groups.size, 1), np.nan)], axis=1)  # no Σerror⁴ from a vendor
    assert sums.shape[1] == S_ERR4 + 1
    return _scorer_levels(groups, sums, spec, thresholds)


def _counterfactual_levels(frame: pd.DataFrame, spec: AuditSpec, thresholds,
                           problems: Problems) -> list[tuple[str, LevelOutput]]:
    values: dict[str, np.ndarray] = {}
    kinds = list(spec.outcomes.values())
    for kind in sorted({k for k in kinds if kinds.count(k) > 1}):
        problems.add(_DUPLICATE_OUTCOME_KIND, kind=kind)
    for col, kind in spec.outcomes.items():
        arr = _column(frame, col, as_binary if kind == "refusal" else as_numeric, problems)
        if arr is not None:
            values[col] = arr.astype(float)
    if spec.pair_id not in frame.columns or spec.variant not in frame.columns:
        problems.raise_if_any()
    for col in (spec.pair_id, spec.variant):
        if frame[col].isna().any():
            problems.add("fairness.error.missing_values", column=col, count=int(frame[col].isna().sum()))
    duplicated = int(frame.duplicated([spec.pair_id, spec.variant]).sum())
    if duplicated:
        problems.add(_DUPLICATE_PAIRS, count=duplicated)
    variants = sorted({str(v) for v in pd.unique(frame[spec.variant].dropna())})
    if len(variants) < 2:
        problems.add(_ONE_VARIANT, column=spec.variant)
    ref = (spec.reference or {}).get(spec.variant)
    if ref is not None and ref not in variants:
        problems.add("fairness.error.unknown_reference", column=spec.variant, value=ref,
                     available=", ".join(variants[:10]))
    problems.raise_if_any()
    return [(spec.variant, counterfactual_audit(frame, spec, values, thresholds))]


def _used_columns(frame: pd.DataFrame, spec: AuditSpec) -> list[str]:
    wanted = [spec.y_true, spec.y_pred, spec.score, spec.pair_id, spec.variant, *spec.sensitive, *spec.outcomes]
    if spec.kind == "counts":
        wanted += [spec.column(r) for r in CONFUSION_ROLES]
    if spec.kind == "score_counts":
        wanted += [spec.column(r) for r in SCORE_SUM_ROLES]
    return list(dict.fromkeys(c for c in wanted if c is not None and c in frame.columns))


def run_audit(frame: pd.DataFrame, spec: AuditSpec, *, policy: FairnessPolicy | None = None,
              input_sha256: str | None = None, progress: Progress | None = None) -> AuditResult:
    """Run a fairness audit.

    Parameters
    ----------
    frame:
        Records (one row per learner or per generated response) or, for ``counts`` and
        ``score_counts``, one or more rows per group.
    spec:
        What to audit; see ``AuditSpec``.
    policy:
        Thresholds per tier; the packaged policy by default.
    input_sha256:
        Hash of the input file, recorded in the result; if omitted, a hash of the audited
        columns' content is recorded instead.
    progress:
        Called with the fraction done (0..1), e.g. for a progress bar.

    Returns
    -------
    AuditResult

    Raises
    ------
    InputError
        Every problem with the data at once (missing columns, labels that are not
        binary, missing values, unknown reference groups, ...).
    """
    report = progress or (lambda _fraction: None)
    report(0.0)
    policy = policy or load_policy()
    thresholds = policy.thresholds(spec.tier)
    problems = Problems()
    check_columns(frame, spec, problems)
    if len(frame) == 0 or any(p.key == _ROLE_REQUIRED for p in problems.items):
        problems.raise_if_any()
    # Missing columns are reported together with every problem of the columns present.
    if spec.kind in ("classifier", "scorer"):
        out = _records_levels(frame, spec, thresholds, problems, report)
    elif spec.kind in ("counts", "score_counts"):
        out = _aggregated_levels(frame, spec, thresholds, problems, report)
    else:
        out = _counterfactual_levels(frame, spec, thresholds, problems)
    report(0.9)
    first_name, (groups, _, _) = out[0]
    checks = [c for _, (_, _, level_checks) in out for c in level_checks]
    result = AuditResult(
        spec=spec, tier=spec.tier, thresholds=thresholds, n_rows=len(frame), groups=groups,
        marginal_groups={name: g for name, (g, _, _) in out[1:]},
        references={name: ref for name, (_, ref, _) in out},
        checks=checks, verdict=overall_verdict(checks), policy_version=policy.version,
        input_sha256=input_sha256 or frame_sha256(frame, _used_columns(frame, spec)),
    )
    report(1.0)
    return result


