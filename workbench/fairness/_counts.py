"""Sufficient statistics: integer group codes and per-group counts in one pass.

Everything the engine reports is a function of small per-group tables (four confusion
cells, or a handful of sums), so the cost after this module is independent of the number
of rows, and a vendor may send those tables instead of records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# Confusion cells are indexed as 2 * y_true + y_pred.
TN, FP, FN, TP = 0, 1, 2, 3
CELLS: tuple[str, ...] = ("tn", "fp", "fn", "tp")

# More intersectional groups than this is almost surely a continuous column used as a
# sensitive feature by mistake.
MAX_GROUPS = 1000


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


def encode_groups(frame: pd.DataFrame, features: list[str]) -> Groups:
    """Integer codes for the intersection of ``features`` (no missing values allowed).

    Codes are built in mixed radix and compacted with one ``bincount``, which is linear in
    the rows (``np.unique`` would sort them).
    """
    per_feature = [_factorize(frame[f]) for f in features]
    combined = np.zeros(len(frame), dtype=np.int64)
    radix = 1
    for codes, uniques in reversed(per_feature):
        combined += codes * radix
        radix *= max(len(uniques), 1)
    if radix <= 4 * len(frame) + 1_000_000:
        present = np.flatnonzero(np.bincount(combined, minlength=radix))
        lookup = np.full(radix, -1, dtype=np.int64)
        lookup[present] = np.arange(len(present))
        codes = lookup[combined]
    else:  # many sparse combinations: a sort is cheaper than a huge lookup table
        present, codes = np.unique(combined, return_inverse=True)
    labels: list[dict[str, str]] = []
    value_index = np.zeros((len(present), len(features)), dtype=np.int64)
    for g, code in enumerate(present):
        rest = int(code)
        idx = []
        for _, uniques in reversed(per_feature):
            size = max(len(uniques), 1)
            idx.append(rest % size)
            rest //= size
        idx.reverse()
        value_index[g] = idx
        labels.append({f: per_feature[j][1][i] for j, (f, i) in enumerate(zip(features, idx))})
    membership = {}
    for j, f in enumerate(features):
        m = np.zeros((len(present), len(per_feature[j][1])), dtype=np.int64)
        m[np.arange(len(present)), value_index[:, j]] = 1
        membership[f] = m
    return Groups(tuple(features), codes, labels, {f: u for f, (_, u) in zip(features, per_feature)}, membership)


def groups_from_labels(labels: list[dict[str, str]], features: list[str]) -> Groups:
    """Groups for pre-aggregated input: one row per (possibly repeated) group label."""
    frame = pd.DataFrame(labels, columns=features).astype(str)
    return encode_groups(frame, features)


def confusion_counts(codes: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-group confusion cells, shape (groups, 4) in the order tn, fp, fn, tp."""
    cell = codes * 4 + (y_true.astype(np.int64) * 2 + y_pred.astype(np.int64))
    return np.bincount(cell, minlength=n_groups * 4).reshape(n_groups, 4)


def group_sums(codes: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-group sum of ``values``."""
    return np.bincount(codes, weights=values, minlength=n_groups)


def marginalise(table: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """Sum intersection-level tables (..., intersections, k) into marginals (..., values, k)."""
    return np.einsum("...gk,gh->...hk", table, membership)
