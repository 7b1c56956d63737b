"""Exact per-group AUC and calibration in bounded memory, whatever the number of distinct scores.

The streamed audit keeps runs of equal (group, score) with their negatives and positives. With
coarse scores they are few; with continuous scores there are as many as rows (about 32 bytes
each), so past a budget the runs go to a Parquet file on disk instead, and DuckDB reads them
back once in score order (``memory_limit`` and a ``temp_directory`` of its own, so its sort
spills too), batch by batch (``to_arrow_reader``, formerly ``fetch_record_batch``).

In that one ordered pass every level (the intersections and each feature's values) keeps, per
group, the numbers of negatives and positives seen so far. A run's placement is then exact: a
positive's among its group's negatives is the negatives below its score plus half of those at
it, and a negative's among the positives likewise (DeLong, DeLong and Clarke-Pearson 1988).
Runs of one score are held back until the next score appears, so ties are never split between
batches. The AUC is the mean placement of the positives, and DeLong's variance needs the spread
of the placements about it: both are accumulated per group as weighted means and sums of
squared deviations merged batch by batch (Chan, Golub and LeVeque's pairwise update), which is
exact up to rounding (no sum of squares minus a square). Memory is a batch and a few numbers
per group.

Calibration bands come from the same pass: tenths of [0, 1] for probabilities (known before it,
from the scores' range), else the deciles of all rows, whose order statistics the ordered pass
meets on its way (numpy's 'linear' quantiles to the bit), then one plain scan of the table sums
the bands.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import WorkbenchError
from ._auc import AucEstimate, _runs
from ._calibration import BANDS, lerp_quantiles, quantile_positions

_READ_BATCH = 1 << 20  # rows fetched from DuckDB at a time
_FAILED = "scale.spill.failed"
_MEMORY_LIMIT = "320MB"  # DuckDB's own budget; the rest of the process is a batch and per-group tables


class _Moments:
    """Per group: total weight, weighted mean and weighted sum of squared deviations (merged pairwise)."""

    def __init__(self, k: int) -> None:
        self.w = np.zeros(k)
        self.mean = np.zeros(k)
        self.m2 = np.zeros(k)

    def add(self, g: np.ndarray, x: np.ndarray, w: np.ndarray) -> None:
        k = len(self.w)
        wb = np.bincount(g, weights=w, minlength=k)
        with np.errstate(divide="ignore", invalid="ignore"):
            mb = np.where(wb > 0, np.bincount(g, weights=w * x, minlength=k) / wb, 0.0)
        d = x - mb[g]
        m2b = np.bincount(g, weights=w * d * d, minlength=k)
        total = self.w + wb
        with np.errstate(divide="ignore", invalid="ignore"):
            delta = mb - self.mean
            share = np.where(total > 0, wb / total, 0.0)
            self.mean = self.mean + delta * share
            self.m2 = self.m2 + m2b + delta * delta * self.w * share
        self.w = total


class _Level:
    """One level's running counts and placement moments while the runs pass in score order."""

    def __init__(self, target: np.ndarray | None, k: int) -> None:
        self.target = target  # intersection -> this level's group (None: the intersections)
        self.k = k
        self.neg_seen = np.zeros(k)
        self.pos_seen = np.zeros(k)
        self.placed_pos = _Moments(k)  # positives: negatives below (ties one half)
        self.placed_neg = _Moments(k)  # negatives: positives below (ties one half)

    def add(self, g: np.ndarray, s: np.ndarray, neg: np.ndarray, pos: np.ndarray, ties: bool) -> None:
        """Runs in score order; ``ties``: whether two of them share a score."""
        gl = g if self.target is None else self.target[g]
        keys = gl.astype(np.uint16) if self.k <= np.iinfo(np.uint16).max else gl
        order = np.argsort(keys, kind="stable")  # by group, score order kept within each
        gl, neg, pos = gl[order], neg[order], pos[order]
        if ties:  # equal (group, score) runs become one
            gl, _s, neg, pos = _runs(gl, s[order], neg, pos)
        neg_total = np.bincount(gl, weights=neg, minlength=self.k)
        pos_total = np.bincount(gl, weights=pos, minlength=self.k)
        # Sorted by group, a run's running sum counts the earlier groups' runs too: take their
        # totals off, add what earlier batches saw, and half the run itself (ties one half).
        # Whole numbers below 2**53 throughout, so every placement is exact.
        neg_offset = self.neg_seen - (np.cumsum(neg_total) - neg_total)
        pos_offset = self.pos_seen - (np.cumsum(pos_total) - pos_total)
        has = np.flatnonzero(pos)  # only positives are placed among negatives, and back
        gh = gl[has]
        self.placed_pos.add(gh, np.cumsum(neg)[has] - 0.5 * neg[has] + neg_offset[gh], pos[has])
        has = np.flatnonzero(neg)
        gh = gl[has]
        self.placed_neg.add(gh, np.cumsum(pos)[has] - 0.5 * pos[has] + pos_offset[gh], neg[has])
        self.neg_seen += neg_total
        self.pos_seen += pos_total

    def estimate(self) -> AucEstimate:
        n_neg, n_pos = self.neg_seen, self.pos_seen
        with np.errstate(divide="ignore", invalid="ignore"):
            auc = self.placed_pos.mean / n_neg
            s10 = self.placed_pos.m2 / (n_neg * n_neg) / (n_pos - 1)
            s01 = self.placed_neg.m2 / (n_pos * n_pos) / (n_neg - 1)
            var = s10 / n_pos + s01 / n_neg
        defined = (n_pos > 0) & (n_neg > 0)
        estimable = (n_pos > 1) & (n_neg > 1)
        return AucEstimate(np.where(defined, auc, np.nan), np.where(estimable, var, np.nan))


def has_ties(s: np.ndarray) -> bool:
    """Whether two runs sorted by score share one."""
    return bool((s[1:] == s[:-1]).any())


class SpilledAuc:
    """The per-level AUC estimates of spilled runs; ``marginalise`` as ``AucTable``'s, then ``estimate``."""

    def __init__(self, estimates: dict[bytes, AucEstimate]) -> None:
        self._estimates = estimates

    @staticmethod
    def key(matrix: np.ndarray | None) -> bytes:
        return b"" if matrix is None else np.asarray(matrix).argmax(axis=1).astype(np.int64).tobytes() + \
            np.int64(np.asarray(matrix).shape[1]).tobytes()

    def marginalise(self, matrix: np.ndarray | None) -> _Fixed:
        return _Fixed(self._estimates[self.key(matrix)])


class _Fixed:
    def __init__(self, estimate: AucEstimate) -> None:
        self._estimate = estimate

    def estimate(self) -> AucEstimate:
        return self._estimate


class RunSpill:
    """Runs of (group, score, negatives, positives) in a Parquet file in a temporary directory.

    Written by pyarrow a batch at a time (a row group each: memory is the batch), sorted by
    DuckDB within its ``memory_limit`` (its sort spills to the same directory). A DuckDB table
    instead held the inserted rows in memory well past that limit (1.5 GB at 100M rows).
    """

    def __init__(self, wide: bool = False) -> None:
        """``wide``: counts of a run may pass 2**31 - 1 (runs merged in memory before the spill)."""
        import duckdb
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._dir = tempfile.TemporaryDirectory(prefix="workbench-runs-")
        self._path = Path(self._dir.name) / "runs.parquet"
        self._count = np.int64 if wide else np.int32
        counts = pa.int64() if wide else pa.int32()
        self._schema = pa.schema([("g", pa.int32()), ("s", pa.float64()), ("neg", counts), ("pos", counts)])
        self._writer: Any = pq.ParquetWriter(self._path, self._schema, compression="none")
        self._con = duckdb.connect(config={
            "memory_limit": _MEMORY_LIMIT, "temp_directory": str(Path(self._dir.name) / "tmp"), "threads": 2})
        self.rows = 0  # runs written
        self.weight = 0  # rows they stand for
        self.low = np.inf
        self.high = -np.inf

    def add(self, group: np.ndarray, score: np.ndarray, neg: np.ndarray, pos: np.ndarray) -> None:
        """Runs, their counts whole numbers (in floats or integers)."""
        self._insert(group, score, np.rint(neg).astype(self._count), np.rint(pos).astype(self._count))

    def add_rows(self, group: np.ndarray, score: np.ndarray, label: np.ndarray) -> None:
        """Rows as runs of one (DuckDB's sort merges them; sorting them here first would cost twice)."""
        label = np.asarray(label, dtype=bool)
        self._insert(group, score, (~label).astype(self._count), label.astype(self._count))

    def _insert(self, group: np.ndarray, score: np.ndarray, neg: np.ndarray, pos: np.ndarray) -> None:
        import pyarrow as pa

        if not len(group):
            return
        with self._no_room():
            self._writer.write_table(pa.table({"g": group.astype(np.int32), "s": np.asarray(score, dtype=float),
                                               "neg": neg, "pos": pos}, schema=self._schema))
        self.rows += len(group)
        self.weight += int(neg.sum(dtype=np.int64) + pos.sum(dtype=np.int64))
        self.low = min(self.low, float(score.min()))
        self.high = max(self.high, float(score.max()))

    @contextlib.contextmanager
    def _no_room(self) -> Iterator[None]:
        """Disk full (or the folder gone) while writing or sorting: a message, not a traceback."""
        import duckdb
        import pyarrow as pa

        try:
            yield
        except (OSError, duckdb.Error, pa.ArrowException):
            raise WorkbenchError(_FAILED, folder=str(Path(self._dir.name).parent)) from None

    def _batches(self, query: str, final: np.ndarray) -> Iterator[tuple[np.ndarray, ...]]:
        with self._no_room():
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            source = "read_parquet('" + self._path.as_posix().replace("'", "''") + "')"
            relation = self._con.sql(query.format(runs=source))
            # DuckDB 2 names it ``to_arrow_reader``; before, ``record_batch``: both stream the result.
            reader = getattr(relation, "to_arrow_reader", None) or relation.record_batch
            reader = reader(_READ_BATCH)
            for batch in reader:
                g, s, neg, pos = (batch.column(i).to_numpy() for i in range(4))
                yield final[g], s, neg.astype(float), pos.astype(float)

    def _in_score_order(self, final: np.ndarray) -> Iterator[tuple[np.ndarray, ...]]:
        """Batches of runs in score order, every run of one score in the same batch."""
        held: tuple[np.ndarray, ...] | None = None
        for part in self._batches("SELECT g, s, neg, pos FROM {runs} ORDER BY s", final):
            if held is not None:
                part = tuple(np.concatenate([a, b]) for a, b in zip(held, part))
            if (part[1][1:] < part[1][:-1]).any():  # the placements depend on it: never trust, check
                raise RuntimeError("DuckDB returned the runs out of score order")
            last = part[1][-1]
            cut = int(np.searchsorted(part[1], last, side="left"))  # the last score may go on
            held = tuple(a[cut:] for a in part)
            if cut:
                yield tuple(a[:cut] for a in part)
        if held is not None and len(held[0]):
            yield held

    def finish(self, order: np.ndarray, matrices: list[np.ndarray | None], n_groups: int, calibrate: bool,
               progress: Callable[[float], None] = lambda _fraction: None,
               ) -> tuple[SpilledAuc, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None]:
        """AUC estimates per level, and (edges, n, score sums, positives) per (group, band) if ``calibrate``.

        ``order`` lists the spilled group ids in the final group order; ``matrices`` are the
        levels' membership matrices (None: the intersections); ``progress`` hears the fraction
        of runs passed (the sort before the first batch is DuckDB's, and silent).
        """
        final = np.empty(len(order), dtype=np.int64)
        final[order] = np.arange(len(order))
        levels: dict[bytes, _Level] = {}
        for matrix in matrices:
            key = SpilledAuc.key(matrix)
            if key not in levels:
                target = None if matrix is None else np.asarray(matrix).argmax(axis=1).astype(np.int64)
                levels[key] = _Level(target, n_groups if matrix is None else np.asarray(matrix).shape[1])
        fixed = calibrate and self.low >= 0 and self.high <= 1
        edges = np.linspace(0, 1, BANDS + 1) if fixed else None
        sums = _BandSums(edges, n_groups) if fixed else None
        positions, gamma = quantile_positions(self.weight)
        found = np.full(len(positions), np.nan)
        seen = passed = 0
        for g, s, neg, pos in self._in_score_order(final):
            passed += len(g)
            progress(passed / max(self.rows, 1))
            ties = has_ties(s)
            for level in levels.values():
                level.add(g, s, neg, pos, ties)
            if sums is not None:
                sums.add(g, s, neg, pos)
            elif calibrate:
                cum = seen + np.cumsum(neg + pos)
                here = (positions >= seen) & (positions < cum[-1])
                found[here] = s[np.searchsorted(cum, positions[here], side="right")]
                seen = int(cum[-1])
        auc = SpilledAuc({key: level.estimate() for key, level in levels.items()})
        if not calibrate:
            return auc, None
        if sums is None:  # deciles: now that they are known, one plain scan sums the bands
            half = len(found) // 2
            edges = np.unique(lerp_quantiles(found[:half], found[half:], gamma)) + 0.0
            sums = _BandSums(edges, n_groups)
            for g, s, neg, pos in self._batches("SELECT g, s, neg, pos FROM {runs}", final):
                sums.add(g, s, neg, pos)
        return auc, (sums.edges, *sums.tables())

    def close(self) -> None:
        """Everything on disk removed; a writer or connection that fails to close (disk full) does
        not hide the error that brought us here."""
        with contextlib.suppress(Exception):
            if self._writer is not None:
                self._writer.close()
        with contextlib.suppress(Exception):
            self._con.close()
        self._dir.cleanup()


class _BandSums:
    """Rows, score sums and positives per (group, band) of given edges, added run by run."""

    def __init__(self, edges: np.ndarray, n_groups: int) -> None:
        self.edges = edges
        self.k = max(len(edges) - 1, 1)
        cells = n_groups * self.k
        self.n_groups = n_groups
        self.n = np.zeros(cells)
        self.s = np.zeros(cells)
        self.pos = np.zeros(cells)

    def add(self, g: np.ndarray, s: np.ndarray, neg: np.ndarray, pos: np.ndarray) -> None:
        band = np.clip(np.searchsorted(self.edges, s, side="right") - 1, 0, self.k - 1)
        key = g * self.k + band
        w = neg + pos
        cells = len(self.n)
        self.n += np.bincount(key, weights=w, minlength=cells)
        self.s += np.bincount(key, weights=s * w, minlength=cells)
        self.pos += np.bincount(key, weights=pos, minlength=cells)

    def tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        shape = (self.n_groups, self.k)
        return np.rint(self.n).astype(np.int64).reshape(shape), self.s.reshape(shape), self.pos.reshape(shape)


def spill_matrices(groups: Any) -> list[np.ndarray | None]:
    """The membership matrices of the levels ``levels`` yields for these groups."""
    from ._compare import levels

    return [matrix for _name, _labels, matrix in levels(groups.labels, groups.features, groups.values,
                                                         groups.membership)]
