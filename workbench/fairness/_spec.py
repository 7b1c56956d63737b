"""What to audit (``AuditSpec``) and the checks that turn a DataFrame into clean arrays.

All problems with the input are collected and raised together as one ``InputError``, so
a reviewer fixes the file once rather than once per problem.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .._lazy import pd
from ..errors import ValidationFailed, WorkbenchError
from ._policy import Tier

Kind = Literal["classifier", "scorer", "counterfactual", "counts", "score_counts"]
OutcomeKind = Literal["score", "refusal", "length", "rating"]

# Column roles of pre-aggregated input; a vendor's file may name them differently
# (``AuditSpec.count_columns`` maps role -> column).
CONFUSION_ROLES: tuple[str, ...] = ("tn", "fp", "fn", "tp")
SCORE_SUM_ROLES: tuple[str, ...] = (
    "n", "sum_pred", "sum_pred_sq", "sum_error", "sum_error_sq", "sum_abs_error",
)
# Counts without true labels (predictions-only audits): rows and positive decisions per group.
PREDICTION_ROLES: tuple[str, ...] = ("n", "selected")
_SELECTED_ABOVE_N = "fairness.error.selected_above_n"

_INVALID = "fairness.error.invalid_input"
_BAD_OPTIONS = "fairness.error.bad_options"
_BAD_OPTION = "fairness.error.bad_option"
_OPTION_LIMIT = "fairness.error.option_limit"
_LIMIT_OPS = {"greater_than_equal": "≥", "greater_than": ">", "less_than_equal": "≤", "less_than": "<"}
_LIMIT_CTX = {"greater_than_equal": "ge", "greater_than": "gt", "less_than_equal": "le", "less_than": "lt"}
_NO_ROWS = "fairness.error.no_rows"
_NO_SENSITIVE = "fairness.error.no_sensitive"
_ROLE_REQUIRED = "fairness.error.role_required"
_MISSING_COLUMN = "fairness.error.missing_column"
_MISSING_VALUES = "fairness.error.missing_values"
_NOT_BINARY = "fairness.error.not_binary"
_NOT_NUMERIC = "fairness.error.not_numeric"
_BAD_COUNT = "fairness.error.bad_count"
_TOO_MANY_GROUPS = "fairness.error.too_many_groups"
_REFERENCE_NOT_SENSITIVE = "fairness.error.reference_not_sensitive"
_UNKNOWN_REFERENCE = "fairness.error.unknown_reference"
_DUPLICATE_PAIRS = "fairness.error.duplicate_pairs"
_ONE_VARIANT = "fairness.error.one_variant"

# Spellings accepted for a binary label; anything else ("maybe", 2) is an error rather
# than a guess.
_TRUE_WORDS = frozenset({"1", "1.0", "true", "yes", "да", "иә", "ия"})
_FALSE_WORDS = frozenset({"0", "0.0", "false", "no", "нет", "жоқ"})


class InputError(ValidationFailed):
    """The data or the options of an audit were rejected; ``problems`` lists each one."""


class AuditSpec(BaseModel):
    """What to audit: the kind of tool, which column plays which role, and the options.

    ``kind`` is one of ``classifier`` (records with ``y_true``, ``y_pred`` and optionally a
    ``score``), ``scorer`` (numeric ``y_true`` and ``y_pred``, optional ``pass_mark``),
    ``counterfactual`` (``pair_id``, ``variant``, ``outcomes`` and optionally ``attribute``,
    the column naming which attribute a pair varies), ``counts`` (per-group confusion
    cells tn/fp/fn/tp, or ``n`` and ``selected`` without true labels) or ``score_counts``
    (per-group sums, see ``SCORE_SUM_ROLES``). A classifier without ``y_true`` is a
    predictions-only audit (selection rate and demographic parity). ``reference`` maps a
    sensitive feature to the group that tables and charts are shown against; verdicts
    compare every pair of groups and do not depend on it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind = "classifier"
    y_true: str | None = None
    y_pred: str | None = None
    score: str | None = None
    sensitive: list[str] = Field(default_factory=list)
    pass_mark: float | None = None
    pair_id: str | None = None
    variant: str | None = None
    attribute: str | None = None
    outcomes: dict[str, OutcomeKind] = Field(default_factory=dict)
    count_columns: dict[str, str] = Field(default_factory=dict)
    reference: dict[str, str] | None = None
    tier: Tier = "high"
    n_boot: int = Field(1000, ge=100, le=100_000)
    seed: int = Field(0, ge=0)
    confidence: float = Field(0.95, gt=0.5, lt=1)

    def column(self, role: str) -> str:
        """The column holding a pre-aggregated role (its own name unless mapped)."""
        return self.count_columns.get(role, role)


def make_spec(**fields: Any) -> AuditSpec:
    """Build an ``AuditSpec``, turning schema errors into one translatable ``InputError``."""
    try:
        return AuditSpec(**fields)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            option = ".".join(str(p) for p in err["loc"]) or "-"
            limit = (err.get("ctx") or {}).get(_LIMIT_CTX.get(err["type"], ""))
            if limit is not None:  # the common case gets a translated sentence
                problems.append(WorkbenchError(_OPTION_LIMIT, option=option, op=_LIMIT_OPS[err["type"]], limit=limit))
            else:
                problems.append(WorkbenchError(_BAD_OPTION, option=option, problem=err["msg"]))
        raise InputError(_BAD_OPTIONS, problems=problems) from exc


class Problems:
    """Collects input problems; ``raise_if_any`` raises them all at once."""

    def __init__(self) -> None:
        self.items: list[WorkbenchError] = []

    def add(self, key: str, **params: Any) -> None:
        self.items.append(WorkbenchError(key, **params))

    def raise_if_any(self) -> None:
        if self.items:
            raise InputError(_INVALID, problems=list(self.items))


def required_columns(spec: AuditSpec, problems: Problems, frame: pd.DataFrame | None = None) -> list[str]:
    """Every column the spec needs, reporting roles the spec leaves empty."""
    needed: list[tuple[str, str | None]] = []
    if spec.kind in ("classifier", "scorer"):
        if spec.kind == "scorer" or spec.y_true is not None:  # a classifier may be audited without truth
            needed.append(("y_true", spec.y_true))
        needed.append(("y_pred", spec.y_pred))
        if spec.score is not None:
            needed.append(("score", spec.score))
    elif spec.kind == "counterfactual":
        needed += [("pair_id", spec.pair_id), ("variant", spec.variant)]
        if spec.attribute is not None:
            needed.append(("attribute", spec.attribute))
        needed += [(kind, col) for col, kind in spec.outcomes.items()]
        if not spec.outcomes:
            problems.add(_ROLE_REQUIRED, role="outcomes")
    elif spec.kind == "counts":
        needed += [(role, spec.column(role)) for role in counts_roles(frame, spec)]
    else:
        needed += [(role, spec.column(role)) for role in SCORE_SUM_ROLES]
    if spec.kind != "counterfactual":
        if not spec.sensitive:
            problems.add(_NO_SENSITIVE)
        needed += [("sensitive", col) for col in spec.sensitive]
    columns = []
    for role, col in needed:
        if col is None:
            problems.add(_ROLE_REQUIRED, role=role)
        else:
            columns.append((role, col))
    return columns  # type: ignore[return-value]


def counts_roles(frame: pd.DataFrame | None, spec: AuditSpec) -> tuple[str, ...]:
    """Confusion cells, or ``n`` and ``selected`` when the counts carry no true labels.

    The cells are used whenever they are mapped or present; ``n`` and ``selected`` only
    when they are mapped or present and no cell is.
    """
    mapped = set(spec.count_columns)
    if mapped & set(CONFUSION_ROLES):
        return CONFUSION_ROLES
    if mapped & set(PREDICTION_ROLES):
        return PREDICTION_ROLES
    if frame is not None:
        present = set(map(str, frame.columns))
        if not {spec.column(r) for r in CONFUSION_ROLES} & present and \
                {spec.column(r) for r in PREDICTION_ROLES} <= present:
            return PREDICTION_ROLES
    return CONFUSION_ROLES


def check_columns(frame: pd.DataFrame, spec: AuditSpec, problems: Problems) -> bool:
    """Report missing columns and an empty table; True if every column is present."""
    ok = check_column_names(list(frame.columns), spec, problems, frame)
    if len(frame) == 0:
        problems.add(_NO_ROWS)
        ok = False
    return ok


def check_column_names(columns: list[Any], spec: AuditSpec, problems: Problems,
                       frame: pd.DataFrame | None = None) -> bool:
    """Report missing columns of a file's header; True if every column is present."""
    ok = True
    available = ", ".join(map(str, columns))
    present = set(columns)
    for role, col in required_columns(spec, problems, frame):
        if col not in present:
            problems.add(_MISSING_COLUMN, column=col, role=role, available=available)
            ok = False
    return ok


def _missing(series: pd.Series, name: str, problems: Problems) -> bool:
    count = int(series.isna().sum())
    if count:
        problems.add(_MISSING_VALUES, column=name, count=count)
        return True
    return False


def _sample(values: Any, limit: int = 5) -> str:
    shown = [str(v) for v in list(values)[:limit]]
    return ", ".join(shown) + (", …" if len(values) > limit else "")


def as_binary(series: pd.Series, name: str, problems: Problems) -> np.ndarray | None:
    """A 0/1 label column as a bool array, or None after reporting why it is not one."""
    if _missing(series, name, problems):
        return None
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(series.dtype):
        arr = series.to_numpy()
        ok = (arr == 0) | (arr == 1)
        if not ok.all():
            problems.add(_NOT_BINARY, column=name, values=_sample(pd.unique(arr[~ok])))
            return None
        return arr == 1
    codes, uniques = pd.factorize(series)
    words = [str(u).strip().lower() for u in uniques]
    bad = [u for u, w in zip(uniques, words) if w not in _TRUE_WORDS and w not in _FALSE_WORDS]
    if bad:
        problems.add(_NOT_BINARY, column=name, values=_sample(bad))
        return None
    truth = np.array([w in _TRUE_WORDS for w in words], dtype=bool)
    return truth[codes]


def as_numeric(series: pd.Series, name: str, problems: Problems) -> np.ndarray | None:
    """A numeric column as float64; decimal commas ("0,85", common in cp1251 files) are accepted."""
    if _missing(series, name, problems):
        return None
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=float)
    if pd.api.types.is_numeric_dtype(series.dtype):
        arr = series.to_numpy(dtype=float)
    else:
        text = series.astype(str).str.strip().str.replace(",", ".", regex=False)
        converted = pd.to_numeric(text, errors="coerce")
        bad = converted.isna()
        if bad.any():
            problems.add(_NOT_NUMERIC, column=name, values=_sample(pd.unique(series[bad])))
            return None
        arr = converted.to_numpy(dtype=float)
    if not np.isfinite(arr).all():
        problems.add(_NOT_NUMERIC, column=name, values="inf")
        return None
    return arr


def as_count(series: pd.Series, name: str, problems: Problems) -> np.ndarray | None:
    """A non-negative whole-number column as int64."""
    arr = as_numeric(series, name, problems)
    if arr is None:
        return None
    if (arr < 0).any() or (arr != np.round(arr)).any():
        problems.add(_BAD_COUNT, column=name)
        return None
    return arr.astype(np.int64)


def check_sensitive(frame: pd.DataFrame, spec: AuditSpec, problems: Problems) -> None:
    """Missing values in sensitive columns and references to features not audited."""
    for col in spec.sensitive:
        if col in frame.columns:
            _missing(frame[col], col, problems)
    check_reference_features(spec, problems)


def check_reference_features(spec: AuditSpec, problems: Problems) -> None:
    """References to features that are not audited."""
    for col in spec.reference or {}:
        if col not in spec.sensitive:
            problems.add(_REFERENCE_NOT_SENSITIVE, column=col)


def check_reference_values(values: dict[str, list[str]], spec: AuditSpec, problems: Problems) -> None:
    """A reference value that no row has (checked on the encoded groups, not the rows)."""
    for col, value in (spec.reference or {}).items():
        if col in values and value not in values[col]:
            problems.add(_UNKNOWN_REFERENCE, column=col, value=value, available=_sample(values[col], 10))
