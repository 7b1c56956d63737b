"""``run_audit``: validate the input, reduce it to per-group statistics, compare groups."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np

from .._lazy import pd
from ._auc import AucTable
from ._calibration import calibration
from ._classifier import classifier_level
from ._compare import levels
from ._counterfactual import counterfactual_audit
from ._counts import (
    MAX_GROUPS,
    Groups,
    LooksLikeId,
    TooManyGroups,
    confusion_counts,
    encode_groups,
    group_sums,
)
from ._pairs import PairFamily, decide_families, family_check
from ._policy import FairnessPolicy, load_policy
from ._result import AuditResult, Check, GroupResult, overall_verdict
from ._scores import S_ERR4, score_sums, scorer_level
from ._spec import (
    _DUPLICATE_PAIRS,
    _ONE_VARIANT,
    _ROLE_REQUIRED,
    _SELECTED_ABOVE_N,
    _TOO_MANY_GROUPS,
    PREDICTION_ROLES,
    SCORE_SUM_ROLES,
    AuditSpec,
    Problems,
    as_binary,
    as_count,
    as_numeric,
    check_columns,
    check_reference_values,
    check_sensitive,
    counts_roles,
)

Progress = Callable[[float], None]
_DUPLICATE_OUTCOME_KIND = "fairness.error.duplicate_outcome_kind"

_LOOKS_LIKE_ID = "fairness.error.looks_like_id"
_SCORE_NEEDS_TRUTH = "fairness.error.score_needs_truth"
_PAIR_MIXES_ATTRIBUTES = "fairness.error.pair_mixes_attributes"

# (groups, presentation reference, pairwise families, other checks) of one level.
LevelOutput = tuple[list[GroupResult], dict[str, str], list[PairFamily], list[Check]]


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
    except LooksLikeId as exc:
        problems.add(_LOOKS_LIKE_ID, column=exc.column, count=exc.count, rows=exc.rows)
        problems.raise_if_any()
    check_reference_values(groups.values, spec, problems)
    problems.raise_if_any()
    return groups


def _is_marginal(name: str, groups: Groups) -> bool:
    """A level of one feature (also the only level when a single feature is audited)."""
    return name != "intersection" or len(groups.features) == 1


def _classifier_levels(groups: Groups, counts: np.ndarray, spec: AuditSpec, thresholds, auc: AucTable | None,
                       report: Progress, predictions_only: bool = False) -> list[tuple[str, LevelOutput]]:
    report(0.7)
    out = []
    for name, labels, matrix in levels(groups.labels, groups.features, groups.values, groups.membership):
        out.append((name, classifier_level(name, labels, matrix, counts, spec.reference, thresholds,
                                           spec.confidence, auc, marginal=_is_marginal(name, groups),
                                           predictions_only=predictions_only)))
    return out


def _scorer_levels(groups: Groups, sums: np.ndarray, spec: AuditSpec, thresholds) -> list[tuple[str, LevelOutput]]:
    return [(name, scorer_level(name, labels, matrix, sums, spec.reference, thresholds, spec.confidence,
                                marginal=_is_marginal(name, groups)))
            for name, labels, matrix in levels(groups.labels, groups.features, groups.values, groups.membership)]


def _merge(first: list[tuple[str, LevelOutput]], second: list[tuple[str, LevelOutput]]) -> list[tuple[str, LevelOutput]]:
    """Scorer and pass-mark classifier results share groups: merge their metrics."""
    merged = []
    for (name, (g1, ref, f1, c1)), (_, (g2, _ref2, f2, _c2)) in zip(first, second):
        groups = [a.model_copy(update={"metrics": {**a.metrics, **{k: v for k, v in b.metrics.items() if k != "count"}}})
                  for a, b in zip(g1, g2)]
        merged.append((name, (groups, ref, f1 + f2, c1)))  # the too-small checks once
    return merged


def _records_levels(frame: pd.DataFrame, spec: AuditSpec, thresholds, problems: Problems,
                    report: Progress, extras: dict) -> list[tuple[str, LevelOutput]]:
    check_sensitive(frame, spec, problems)
    convert = as_binary if spec.kind == "classifier" else as_numeric
    y_true = _column(frame, spec.y_true, convert, problems)
    y_pred = _column(frame, spec.y_pred, convert, problems)
    score = _column(frame, spec.score, as_numeric, problems) if spec.kind == "classifier" else None
    predictions_only = spec.kind == "classifier" and spec.y_true is None
    if predictions_only and spec.score is not None:
        problems.add(_SCORE_NEEDS_TRUTH, column=spec.score)
    if problems.items:  # report an unknown reference value too, not only on the next attempt
        present = [c for c in spec.sensitive if c in frame.columns]
        check_reference_values({c: [str(v) for v in pd.unique(frame[c].dropna())] for c in present}, spec, problems)
    problems.raise_if_any()
    report(0.3)
    groups = _encode(frame, spec, problems)
    report(0.5)
    if spec.kind == "classifier":
        if predictions_only:  # decisions only: every row counts as a true negative or a false positive
            y_true = np.zeros(len(y_pred), dtype=bool)
        counts = confusion_counts(groups.codes, y_true, y_pred, groups.size)
        auc = AucTable.from_records(groups.codes, y_true, score, groups.size) if score is not None else None
        if score is not None:
            extras["calibration"] = calibration(groups, y_true, score, spec.confidence)
        return _classifier_levels(groups, counts, spec, thresholds, auc, report, predictions_only)
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
    roles = counts_roles(frame, spec) if spec.kind == "counts" else SCORE_SUM_ROLES
    columns = {}
    for role in roles:
        convert = as_count if spec.kind == "counts" or role == "n" else as_numeric
        columns[role] = _column(frame, spec.column(role), convert, problems)
    if roles == PREDICTION_ROLES and columns["n"] is not None and columns["selected"] is not None \
            and (columns["selected"] > columns["n"]).any():
        problems.add(_SELECTED_ABOVE_N, column=spec.column("selected"))
    problems.raise_if_any()
    groups = _encode(frame, spec, problems)
    report(0.5)
    # Several rows may describe the same group (e.g. one per school): they add up.
    table = np.stack([group_sums(groups.codes, columns[r].astype(float), groups.size) for r in roles], axis=1)
    if spec.kind == "counts":
        table = np.rint(table).astype(np.int64)
        if roles == PREDICTION_ROLES:  # n, selected -> tn, fp, fn, tp with no true labels
            n, sel = table[:, 0], table[:, 1]
            table = np.stack([n - sel, sel, np.zeros_like(n), np.zeros_like(n)], axis=1)
        return _classifier_levels(groups, table, spec, thresholds, None, report, roles == PREDICTION_ROLES)
    # Σerror⁴ is optional (``sum_error_4``); without it the RMSE gets no interval.
    fourth = np.full(groups.size, np.nan)
    if spec.column("sum_error_4") in frame.columns:
        e4 = _column(frame, spec.column("sum_error_4"), as_numeric, problems)
        problems.raise_if_any()
        fourth = group_sums(groups.codes, e4, groups.size)
    sums = np.concatenate([table, fourth[:, None]], axis=1)
    assert sums.shape[1] == S_ERR4 + 1
    return _scorer_levels(groups, sums, spec, thresholds)


def _counterfactual_levels(frame: pd.DataFrame, spec: AuditSpec, thresholds, problems: Problems,
                           policy: FairnessPolicy) -> list[tuple[str, LevelOutput]]:
    values: dict[str, np.ndarray] = {}
    kinds = list(spec.outcomes.values())
    for kind in sorted({k for k in kinds if kinds.count(k) > 1}):
        problems.add(_DUPLICATE_OUTCOME_KIND, kind=kind)
    for col, kind in spec.outcomes.items():
        arr = _column(frame, col, as_binary if kind == "refusal" else as_numeric, problems)
        if arr is not None:
            values[col] = arr.astype(float)
    structure = [c for c in (spec.pair_id, spec.variant, spec.attribute) if c is not None]
    if any(c not in frame.columns for c in structure):
        problems.raise_if_any()
    for col in structure:
        if frame[col].isna().any():
            problems.add("fairness.error.missing_values", column=col, count=int(frame[col].isna().sum()))
    duplicated = int(frame.duplicated([spec.pair_id, spec.variant]).sum())
    if duplicated:
        problems.add(_DUPLICATE_PAIRS, count=duplicated)
    problems.raise_if_any()
    if spec.attribute is None:
        variants_of = {spec.variant: sorted({str(v) for v in pd.unique(frame[spec.variant])})}
    else:
        attr = frame[spec.attribute].astype(str)
        mixed = int((frame.groupby(frame[spec.pair_id].astype(str))[spec.attribute].nunique() > 1).sum())
        if mixed:
            problems.add(_PAIR_MIXES_ATTRIBUTES, count=mixed, column=spec.attribute)
        variants_of = {a: sorted({str(v) for v in pd.unique(frame.loc[attr == a, spec.variant])})
                       for a in sorted(set(attr))}
    for level, variants in variants_of.items():
        if len(variants) < 2:
            problems.add(_ONE_VARIANT, column=level)
    for key, ref in (spec.reference or {}).items():
        if key not in variants_of:
            problems.add("fairness.error.reference_not_sensitive", column=key)
        elif ref not in variants_of[key]:
            problems.add("fairness.error.unknown_reference", column=key, value=ref,
                         available=", ".join(variants_of[key][:10]))
    problems.raise_if_any()
    return counterfactual_audit(frame, spec, values, thresholds, policy.counterfactual_references)


def _used_columns(frame: pd.DataFrame, spec: AuditSpec) -> list[str]:
    wanted = [spec.y_true, spec.y_pred, spec.score, spec.pair_id, spec.variant, spec.attribute, *spec.sensitive,
              *spec.outcomes]
    if spec.kind == "counts":
        wanted += [spec.column(r) for r in counts_roles(frame, spec)]
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
    extras: dict = {}
    check_columns(frame, spec, problems)
    if len(frame) == 0 or any(p.key == _ROLE_REQUIRED for p in problems.items):
        problems.raise_if_any()
    # Missing columns are reported together with every problem of the columns present.
    if spec.kind in ("classifier", "scorer"):
        out = _records_levels(frame, spec, thresholds, problems, report, extras)
    elif spec.kind in ("counts", "score_counts"):
        out = _aggregated_levels(frame, spec, thresholds, problems, report)
    else:
        out = _counterfactual_levels(frame, spec, thresholds, problems, policy)
    report(0.9)
    result = finish_audit(out, spec, thresholds, policy, n_rows=len(frame), extras=extras,
                          input_sha256=input_sha256 or frame_sha256(frame, _used_columns(frame, spec)))
    report(1.0)
    return result




def finish_audit(out: list[tuple[str, LevelOutput]], spec: AuditSpec, thresholds, policy: FairnessPolicy, *,
                 n_rows: int, extras: dict, input_sha256: str) -> AuditResult:
    """The levels' results made one audit: Holm over every pairwise family, checks, verdict.

    Shared by ``run_audit`` and the streamed audit (``_stream.stream_audit``), so the two
    cannot decide differently from the same statistics.
    """
    families = [f for _, (_, _, level_families, _) in out for f in level_families]
    decide_families(families, spec.confidence)
    checks = []
    for _, (_, _, level_families, level_checks) in out:
        checks += level_checks + [family_check(f, spec.confidence) for f in level_families if len(f.i)]
    if spec.kind == "counterfactual" and spec.attribute is not None:
        groups = [g for _, (level_groups, _, _, _) in out for g in level_groups]
        marginal = {name: g for name, (g, _, _, _) in out}
    else:
        groups = out[0][1][0]
        marginal = {name: g for name, (g, _, _, _) in out[1:]}
    return AuditResult(
        spec=spec, tier=spec.tier, thresholds=thresholds, n_rows=n_rows, groups=groups,
        marginal_groups=marginal, pairs_compared=sum(len(f.i) for f in families), **extras,
        references={name: ref for name, (_, ref, _, _) in out},
        checks=checks, verdict=overall_verdict(checks), policy_version=policy.version, input_sha256=input_sha256,
    )
