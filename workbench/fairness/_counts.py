"""Sufficient statistics: integer group codes and per-group counts in one pass.

Everything the engine reports is a function of small per-group tables (four confusion
cells, or a handful of sums), so the cost after this module is independent of the number
of rows, and a vendor may send those tables instead of records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._lazy import pd

# Confusion cells are indexed as 2 * y_true + y_pred.
TN, FP, FN, TP = 0, 1, 2, 3
CELLS: tuple[str, ...] = ("tn", "fp", "fn", "tp")

# More intersectional groups than this is beyond any audit design (a national audit of
# region x language x sex x locality x special needs x socio-economic status has ~1,440).
MAX_GROUPS = 100_000
# A single column with at least this many values, almost all unique, is an identifier
# (a learner ID, a timestamp) chosen as a sensitive feature by mistake.
_ID_MIN_VALUES = 50
_ID_UNIQUE_SHARE = 0.9


@dataclass(frozen=True)
class Groups:
    """Observed intersectional groups and, per feature, the marginal groups.

    ``codes`` maps each row to an intersection (0..len(labels)-1); ``labels[g]`` is the
    group as ``{feature: value}``; ``membership[feature]`` is a 0/1 matrix of shape
    (intersections, values of that feature) used to sum intersections into marginals.
    """

    features: tuple[str, ...]
    codes: np.ndarray
    labels: list[dict[str, str]]
    values: dict[str, list[str]]
    membership: dict[str, np.ndarray]

    @property
    def size(self) -> int:
        return len(self.labels)


def _factorize(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    if isinstance(column.dtype, pd.CategoricalDtype):
        # Categorical codes are already integers; drop unused categories by remapping.
        codes = column.cat.codes.to_numpy()
        cats = [str(c) for c in column.cat.categories]
        used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(cats)))
        remap = np.full(len(cats), -1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        order = np.argsort([cats[i] for i in used], kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        return rank[remap[codes]], [cats[used[i]] for i in order]
    codes, uniques = pd.factorize(column, sort=True)
    return codes.astype(np.int64, copy=False), [str(u) for u in uniques]


class LooksLikeId(Exception):
    """A single sensitive column whose values are almost all unique."""

    def __init__(self, column: str, count: int, rows: int) -> None:
        super().__init__(column)
        self.column, self.count, self.rows = column, count, rows


class TooManyGroups(Exception):
    """More intersectional groups than ``MAX_GROUPS`` (raised before labels are built)."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


# Mixed-radix codes are compacted before they could overflow int64.
_MAX_RADIX = 2**40


def _compact(combined: np.ndarray, radix: int, rows: int) -> tuple[np.ndarray, int]:
    """Renumber codes 0..k-1 keeping their order; linear (bincount) unless the range is huge."""
    if radix <= 4 * rows + 1_000_000:
        present = np.flatnonzero(np.bincount(combined, minlength=radix))
        lookup = np.full(radix, -1, dtype=np.int64)
        lookup[present] = np.arange(len(present))
        return lookup[combined], len(present)
    present, codes = np.unique(combined, return_inverse=True)  # a sort, only for sparse ranges
    return codes.astype(np.int64, copy=False), len(present)


def encode_groups(frame: pd.DataFrame, features: list[str], max_groups: int = MAX_GROUPS) -> Groups:
    """Integer codes for the intersection of ``features`` (no missing values allowed).

    Codes are built in mixed radix and compacted with ``bincount``, linear in the rows,
    in lexicographic order of the features' sorted values.

    Raises
    ------
    LooksLikeId
        A single column with almost every value unique (a learner ID used by mistake).
    TooManyGroups
        Before any per-group work, so a continuous column used by mistake stays cheap.
    """
    per_feature = [_factorize(frame[f]) for f in features]
    rows = len(frame)
    for f, (_, uniques) in zip(features, per_feature):
        if len(uniques) >= _ID_MIN_VALUES and len(uniques) >= _ID_UNIQUE_SHARE * rows:
            raise LooksLikeId(str(f), len(uniques), rows)
    combined = np.zeros(rows, dtype=np.int64)
    radix = 1
    for codes, uniques in per_feature:
        size = max(len(uniques), 1)
        if size > max_groups:
            raise TooManyGroups(size)
        if radix * size > _MAX_RADIX:
            combined, radix = _compact(combined, radix, rows)
        combined = combined * size + codes
        radix *= size
    codes, n_groups = _compact(combined, radix, rows) if rows else (combined, 0)
    if n_groups > max_groups:
        raise TooManyGroups(n_groups)
    # Any row of a group tells its values (all its rows agree), so no decoding is needed.
    representative = np.zeros(n_groups, dtype=np.int64)
    representative[codes] = np.arange(rows)
    value_index = np.stack([c[representative] for c, _ in per_feature], axis=1) if n_groups else \
        np.zeros((0, len(features)), dtype=np.int64)
    labels = [{f: per_feature[j][1][value_index[g, j]] for j, f in enumerate(features)} for g in range(n_groups)]
    membership = {}
    for j, f in enumerate(features):
        m = np.zeros((n_groups, len(per_feature[j][1])), dtype=np.int64)
        m[np.arange(n_groups), value_index[:, j]] = 1
        membership[f] = m
    return Groups(tuple(features), codes, labels, {f: u for f, (_, u) in zip(features, per_feature)}, membership)


def confusion_counts(codes: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-group confusion cells, shape (groups, 4) in the order tn, fp, fn, tp."""
    cell = codes * 4 + (y_true.astype(np.int64) * 2 + y_pred.astype(np.int64))
    return np.bincount(cell, minlength=n_groups * 4).reshape(n_groups, 4)


def group_sums(codes: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-group sum of ``values``."""
    return np.bincount(codes, weights=values, minlength=n_groups)


def marginalise(table: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """Sum intersection-level tables (..., intersections, k) into marginals (..., values, k).

    ``membership`` None is the identity (the intersection level itself).
    """
    if membership is None:
        return table
    return np.einsum("...gk,gh->...hk", table, membership)
