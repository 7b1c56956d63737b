"""Column roles: a first guess from the column names, and every problem that stops or
weakens a fairness test."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from ..._lazy import pd  # imported when first used: a streamed audit never needs pandas

from ._cells import _missing
from ._keys import (
    DEFAULT_MIN_GROUP, _COLUMN_MISSING, _COLUMN_REUSED, _DUPLICATE_GROUP, _EMPTY_RESPONSE, _EMPTY_VALUES,
    _INVALID_MAPPING, _MAX_LISTED_ROWS, _NEGATIVE, _NOT_BINARY, _NOT_INTEGER, _NOT_NUMERIC, _NO_DATA_ROWS, _POSITIVE_LABELS, _NEGATIVE_LABELS,
    _POS_LABEL_NEEDED, _ROLE_MISSING, _SENSITIVE_MISSING, _SINGLE_VALUE, _SMALL_GROUP, _UNPAIRED,
)
from ._models import ColumnMapping, MappingKind, MappingProblem, ReaderError


def _norm_name(name: str) -> str:
    return re.sub(r"[\s\-./]+", "_", str(name).strip().lower()).strip("_")


# Column names by role, in English, Russian and Kazakh. Exact matches win over partial ones;
# partial matching goes in this order so "predicted_label" is a prediction, not a label.
_ROLE_NAMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("y_pred", ("y_pred", "prediction", "predicted", "pred", "y_hat", "yhat", "predicted_label",
                "прогноз", "предсказание", "предсказанный", "болжам", "болжау")),
    ("y_true", ("y_true", "label", "target", "actual", "true", "truth", "ground_truth", "outcome", "y",
                "факт", "фактический", "истина", "метка", "нақты", "шын", "белгі", "нәтиже")),
    ("score", ("score", "proba", "probability", "prob", "risk_score", "predicted_score", "grade_pred",
               "балл", "оценка", "вероятность", "ұпай", "баға", "ықтималдық")),
    ("prompt", ("prompt", "question", "input", "query", "запрос", "вопрос", "промпт", "сұрау", "сұрақ", "сұраныс")),
    ("response", ("response", "answer", "output", "completion", "reply", "ответ", "жауап")),
    ("variant", ("variant", "attribute", "condition", "вариант", "нұсқа")),
    ("pair_id", ("pair_id", "pair", "pair_no", "пара", "жұп", "id_пары", "жұп_id")),
    ("tp", ("tp", "true_positives")),
    ("fp", ("fp", "false_positives")),
    ("tn", ("tn", "true_negatives")),
    ("fn", ("fn", "false_negatives")),
    ("n", ("n", "count", "size", "количество", "число", "саны", "сан")),
    ("sum_sq", ("sum_sq", "sum_squares", "sumsq", "сумма_квадратов", "квадраттар_қосындысы")),
    ("sum", ("sum", "total", "сумма", "қосынды")),
)
_SENSITIVE_NAMES = (
    "sex", "gender", "пол", "жынысы", "жыныс", "address", "urban", "rural", "urban_rural", "location",
    "город_село", "местность", "қала_ауыл", "елді_мекен", "region", "oblast", "регион", "область",
    "облыс", "аймақ", "language", "lang", "language_of_instruction", "язык", "язык_обучения", "тіл",
    "оқыту_тілі", "internet", "интернет", "sen", "special_needs", "ооп", "ерекше_білім_беру_қажеттілігі",
    "ses", "income", "socioeconomic", "доход", "табыс", "ethnicity", "национальность", "ұлты", "disability",
)
_PARTIAL_ROLES = ("y_pred", "score", "y_true", "prompt", "response")


def suggest_mapping(df: pd.DataFrame) -> ColumnMapping:
    """A first guess at the column roles from the column names (English, Russian, Kazakh).

    The reviewer confirms or changes it; nothing is decided from the guess alone.
    """
    names = {col: _norm_name(col) for col in df.columns}
    taken: set[str] = set()
    chosen: dict[str, str] = {}
    for role, synonyms in _ROLE_NAMES:  # exact names first
        for col, norm in names.items():
            if col not in taken and norm in synonyms:
                chosen[role] = str(col)
                taken.add(col)
                break
    for role in _PARTIAL_ROLES:  # then names that contain a synonym, e.g. "final_prediction"
        if role in chosen:
            continue
        synonyms = dict(_ROLE_NAMES)[role]
        for col, norm in names.items():
            parts = set(norm.split("_"))
            if col not in taken and any(len(s) > 2 and (s in parts or norm.startswith(s)) for s in synonyms):
                chosen[role] = str(col)
                taken.add(col)
                break
    sensitive = [str(col) for col, norm in names.items() if col not in taken and norm in _SENSITIVE_NAMES]
    return ColumnMapping(sensitive=sensitive, **chosen)


@dataclass(frozen=True)
class _KindRule:
    required: tuple[str, ...]
    binary: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    counts: tuple[str, ...] = ()  # non-negative whole numbers
    non_negative: tuple[str, ...] = ()
    text: tuple[str, ...] = ()  # must not be empty
    needs_sensitive: bool = True
    aggregated: bool = False


_KINDS: dict[str, _KindRule] = {
    "classification": _KindRule(required=("y_true", "y_pred"), binary=("y_true", "y_pred"), numeric=("score",)),
    "scores": _KindRule(required=("y_true", "score"), numeric=("y_true", "score")),
    "generative": _KindRule(required=("prompt", "response", "variant", "pair_id"), numeric=("score",),
                            text=("prompt", "variant", "pair_id"), needs_sensitive=False),
    "aggregated_classification": _KindRule(required=("tp", "fp", "tn", "fn"), counts=("tp", "fp", "tn", "fn"),
                                           aggregated=True),
    "aggregated_scores": _KindRule(required=("n", "sum", "sum_sq"), counts=("n",), numeric=("sum", "sum_sq"),
                                   non_negative=("sum_sq",), aggregated=True),
}


MAPPING_KINDS: tuple[str, ...] = tuple(_KINDS)


def required_roles(kind: MappingKind) -> tuple[str, ...]:
    """The roles a mapping of this kind must fill (``sensitive`` included when needed), for forms."""
    rule = _KINDS[kind]
    return rule.required + (("sensitive",) if rule.needs_sensitive else ())


def _row_numbers(mask: Any) -> list[int]:
    """Spreadsheet row numbers (header = row 1) of the True positions of a boolean mask."""
    return [int(i) + 2 for i in np.flatnonzero(np.asarray(mask, dtype=bool))]


def _empty_mask(series: pd.Series) -> np.ndarray:
    mask = series.isna().to_numpy(dtype=bool)
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        mask = mask | series.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(dtype=bool)
    return mask


def _binary_tokens(series: pd.Series) -> pd.Series:
    """Labels as lower-case text tokens ("1", "0", "yes", ...), missing stays missing."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.map(lambda v: None if _missing(v) else ("1" if v else "0"))
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.map(lambda v: None if _missing(v) else (str(int(v)) if float(v).is_integer() else str(v)))
    return series.map(lambda v: None if _missing(v) or (isinstance(v, str) and not v.strip())
                      else str(v).strip().lower())


def _binary_check(series: pd.Series, pos_label: str | None) -> tuple[pd.Series, np.ndarray, list[str], bool]:
    """Map labels to 1/0; return the mapped values, a mask of bad rows, the bad values, and
    whether the labels were two unknown words that need ``pos_label``."""
    tokens = _binary_tokens(series)
    present = tokens.dropna()
    if pos_label is not None:
        pos = str(pos_label).strip().lower()
        others = present[present != pos].value_counts()
        negative = others.index[0] if len(others) else None
        mapped = tokens.map(lambda v: None if _missing(v) else (1 if v == pos else (0 if v == negative else -1)))
    else:
        mapped = tokens.map(lambda v: None if _missing(v) else (1 if v in _POSITIVE_LABELS else (0 if v in _NEGATIVE_LABELS else -1)))
        distinct = set(present.unique())
        if len(distinct) == 2 and not distinct & (_POSITIVE_LABELS | _NEGATIVE_LABELS):
            return mapped, np.zeros(len(series), dtype=bool), sorted(distinct), True
    bad = (mapped == -1).to_numpy(dtype=bool)
    values = sorted({str(v) for v in series[bad].tolist()})[:5]
    return mapped, bad, values, False


def binary_labels(series: pd.Series, pos_label: str | None = None) -> pd.Series:
    """Labels as 1 (positive) and 0 (negative), ``<NA>`` where empty.

    Parameters
    ----------
    series:
        A label column: 0/1, true/false, yes/no, да/нет, иә/жоқ, or any two values with
        ``pos_label`` naming the positive one.
    pos_label:
        The value that means the positive outcome, when it is not one of the above.

    Raises
    ------
    ReaderError
        If a value is neither positive nor negative (rows listed).
    """
    mapped, bad, values, needs_pos = _binary_check(series, pos_label)
    column = str(series.name)
    if needs_pos:
        raise ReaderError(_INVALID_MAPPING, problems=[MappingProblem(_POS_LABEL_NEEDED, column=column,
                                                                     values=", ".join(values))])
    if bad.any():
        rows = _row_numbers(bad)
        raise ReaderError(_INVALID_MAPPING, problems=[MappingProblem(
            _NOT_BINARY, column=column, rows=rows, count=len(rows), values=", ".join(values))])
    return mapped.astype("Int8")


def _numeric(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Values as floats, and a mask of non-empty cells that are not finite numbers."""
    if pd.api.types.is_bool_dtype(series.dtype):
        values = series.astype(float)
    elif pd.api.types.is_numeric_dtype(series.dtype):
        values = series.astype(float)
    else:
        text = series.map(lambda v: v.strip().replace(",", ".") if isinstance(v, str) else v)
        values = pd.to_numeric(text, errors="coerce").astype(float)
    empty = _empty_mask(series)
    bad = ~empty & ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    return values, bad


def validate_mapping(df: pd.DataFrame, mapping: ColumnMapping, kind: MappingKind,
                     *, min_group_size: int = DEFAULT_MIN_GROUP) -> list[MappingProblem]:
    """Every problem that stops (or weakens) a fairness test on ``df`` with ``mapping``.

    Parameters
    ----------
    df:
        The table from :func:`read_table`.
    mapping:
        The column roles chosen by the vendor or reviewer.
    kind:
        ``classification`` (binary ``y_true``/``y_pred``, optional ``score``), ``scores``
        (numeric ``y_true`` and predicted ``score``), ``generative`` (``prompt``,
        ``response``, ``variant``, ``pair_id``; counterfactual pairs),
        ``aggregated_classification`` (group columns in ``sensitive`` plus
        ``tp``/``fp``/``tn``/``fn``) or ``aggregated_scores`` (``n``/``sum``/``sum_sq``).
    min_group_size:
        Groups with fewer rows (or, aggregated, fewer people) get a warning.

    Returns
    -------
    list of MappingProblem
        Errors and warnings (``problem.severity``), all of them at once, with spreadsheet
        row numbers. An empty list means the mapping is fine.
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown mapping kind {kind!r}; expected one of {sorted(_KINDS)}")
    rule = _KINDS[kind]
    problems: list[MappingProblem] = []
    columns = [str(c) for c in df.columns]
    roles = mapping.roles()

    for role in rule.required:
        if not roles.get(role):
            problems.append(MappingProblem(_ROLE_MISSING, role=role))
    if rule.needs_sensitive and not mapping.sensitive:
        problems.append(MappingProblem(_SENSITIVE_MISSING))

    used: dict[str, list[str]] = {}
    for role, col in roles.items():
        used.setdefault(col, []).append(role)
    for col in mapping.sensitive:
        used.setdefault(col, []).append("sensitive")
    missing = set()
    for col, its_roles in used.items():
        if col not in columns:
            missing.add(col)
            problems.append(MappingProblem(_COLUMN_MISSING, column=col, columns=", ".join(columns[:30])))
        elif len(its_roles) > 1:
            problems.append(MappingProblem(_COLUMN_REUSED, column=col, count=len(its_roles)))
    if len(df) == 0:
        problems.append(MappingProblem(_NO_DATA_ROWS))
        return problems

    def present(role: str) -> str | None:
        col = roles.get(role)
        return col if col and col not in missing else None

    def check_empty(col: str, severity: Literal["error", "warning"] = "error", key: str = _EMPTY_VALUES) -> np.ndarray:
        empty = _empty_mask(df[col])
        if empty.any():
            rows = _row_numbers(empty)
            problems.append(MappingProblem(key, severity=severity, column=col, rows=rows, count=len(rows)))
        return empty

    for role in rule.binary:
        if (col := present(role)) is None:
            continue
        check_empty(col)
        _, bad, values, needs_pos = _binary_check(df[col], mapping.pos_label)
        if needs_pos:
            problems.append(MappingProblem(_POS_LABEL_NEEDED, column=col, values=", ".join(values)))
        elif bad.any():
            rows = _row_numbers(bad)
            problems.append(MappingProblem(_NOT_BINARY, column=col, rows=rows, count=len(rows),
                                           values=", ".join(values)))
    for role in (*rule.numeric, *rule.counts):
        if (col := present(role)) is None:
            continue
        if role in rule.required or role in rule.counts:
            check_empty(col)
        values, bad = _numeric(df[col])
        if bad.any():
            rows = _row_numbers(bad)
            problems.append(MappingProblem(_NOT_NUMERIC, column=col, rows=rows, count=len(rows)))
        good = ~bad & values.notna().to_numpy()
        if role in rule.counts:
            fraction = good & (values.fillna(0).to_numpy() % 1 != 0)
            if fraction.any():
                rows = _row_numbers(fraction)
                problems.append(MappingProblem(_NOT_INTEGER, column=col, rows=rows, count=len(rows)))
        if role in rule.counts or role in rule.non_negative:
            negative = good & (values.fillna(0).to_numpy() < 0)
            if negative.any():
                rows = _row_numbers(negative)
                problems.append(MappingProblem(_NEGATIVE, column=col, rows=rows, count=len(rows)))
    for role in rule.text:
        if (col := present(role)) is not None:
            check_empty(col)
    if kind == "generative" and (col := present("response")) is not None:
        check_empty(col, "warning", _EMPTY_RESPONSE)  # an empty answer may be the tool's refusal
    if kind == "generative" and present("pair_id") and present("variant"):
        variants = df.groupby(present("pair_id"), dropna=True)[present("variant")].nunique()
        unpaired = variants[variants < 2]
        if len(unpaired):
            shown = ", ".join(str(v) for v in unpaired.index[:_MAX_LISTED_ROWS])
            problems.append(MappingProblem(_UNPAIRED, severity="warning", column=present("pair_id"),
                                           count=len(unpaired), pairs=shown))

    sensitive = [c for c in mapping.sensitive if c not in missing]
    for col in sensitive:
        check_empty(col)
        values = df[col].dropna()
        if values.nunique() == 1:
            problems.append(MappingProblem(_SINGLE_VALUE, column=col, value=str(values.iloc[0])))
    if rule.aggregated and sensitive:
        dup = df.duplicated(subset=sensitive, keep="first").to_numpy(dtype=bool)
        if dup.any():
            rows = _row_numbers(dup)
            problems.append(MappingProblem(_DUPLICATE_GROUP, column=", ".join(sensitive), rows=rows, count=len(rows)))
    problems.extend(_small_groups(df, mapping, rule, sensitive, roles, missing, min_group_size))
    return problems


def _small_groups(df: pd.DataFrame, mapping: ColumnMapping, rule: _KindRule, sensitive: list[str],
                  roles: dict[str, str], missing: set[str], minimum: int) -> list[MappingProblem]:
    """Warnings for groups too small to judge; a small group is reported, never failed."""
    out: list[MappingProblem] = []
    if rule.aggregated:
        size_cols = [roles[r] for r in (("tp", "fp", "tn", "fn") if "tp" in rule.required else ("n",))
                     if roles.get(r) and roles[r] not in missing]
        if not sensitive or not size_cols:
            return out
        sizes = sum(_numeric(df[c])[0].fillna(0) for c in size_cols)
        for idx in np.flatnonzero(sizes.to_numpy() < minimum):
            group = " / ".join(str(df[c].iloc[idx]) for c in sensitive)
            out.append(MappingProblem(_SMALL_GROUP, severity="warning", column=", ".join(sensitive), group=group,
                                      count=int(sizes.iloc[idx]), minimum=minimum))
        return out
    for col in sensitive:
        counts = df[col].dropna().value_counts()
        for group, count in counts[counts < minimum].items():
            out.append(MappingProblem(_SMALL_GROUP, severity="warning", column=col, group=str(group),
                                      count=int(count), minimum=minimum))
    return out


def check_mapping(df: pd.DataFrame, mapping: ColumnMapping, kind: MappingKind,
                  *, min_group_size: int = DEFAULT_MIN_GROUP) -> list[MappingProblem]:
    """The raising form of :func:`validate_mapping`.

    Returns the warnings when there is no error; otherwise raises ``ReaderError`` whose
    ``problems`` are all the errors and warnings.
    """
    problems = validate_mapping(df, mapping, kind, min_group_size=min_group_size)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ReaderError(_INVALID_MAPPING, problems=list(problems))
    return problems
