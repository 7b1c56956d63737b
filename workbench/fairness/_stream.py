"""Audits in constant memory: records streamed by batches into per-group sufficient statistics.

A CSV/TSV or Parquet file of classifier or scorer records is read batch by batch (pyarrow's
streaming CSV reader, ``ParquetFile.iter_batches``), only the audited columns, and each batch
is reduced at once to the small tables the engine works from: four confusion cells per
intersectional group, the per-group counts of each distinct score (for AUC), and the seven
sums of a scorer. Memory is therefore a batch plus those tables, whatever the number of rows.

The result is the in-memory audit's, exactly: the same conversions (``as_binary``,
``as_numeric``) per batch, the same group order (values sorted as ``encode_groups`` sorts
them), the same score bins (including the engine's choice between exact and equal-width
bins), sums accumulated in row order (``np.add.at``, the order ``np.bincount`` adds in), and
then the engine's own level functions with the same seed. ``tests/test_fairness_stream.py``
compares the two.

Files the streaming readers cannot take as they are (XLSX, JSON Lines, a CSV whose text turns
out not to be UTF-8 further down) return ``None`` and the caller reads them whole.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import WorkbenchError
from ._auc import AucTable
from ._calibration import calibration, calibration_from_bands, merge_runs, weighted_rows
from ._counts import MAX_GROUPS, Groups
from ._policy import FairnessPolicy, load_policy
from ._result import AuditResult
from ._scores import S_ERR4
from ._spec import (
    _INVALID,
    _MISSING_VALUES,
    _ROLE_REQUIRED,
    _TOO_MANY_GROUPS,
    AuditSpec,
    InputError,
    Problems,
    as_binary,
    as_numeric,
    check_column_names,
    check_reference_features,
    check_reference_values,
)

Progress = Callable[[float], None]
STREAM_KINDS = ("classifier", "scorer")
_CSV_BLOCK = 4 << 20  # bytes of text per CSV batch (small blocks keep the parse pipelined)
_PARQUET_BATCH = 1 << 20  # rows per Parquet batch
_COMPACT_RUNS = 4_000_000  # runs of (group, score) held in parts before they are merged into one
_SPILL_RUNS = 3_000_000  # distinct (group, score) runs kept in memory; more go to disk, sorted by DuckDB (``_spill``)
_SCORE_NEEDS_TRUTH = "fairness.error.score_needs_truth"


class _Restart(Exception):
    """Read the file again with what the first pass learned (a wider column type, the row count)."""


class _NotStreamable(Exception):
    """The file needs the whole-file reader (late cp1251 text, ...)."""


# -- reading batches -------------------------------------------------------------------------


@dataclass
class _File:
    """An opened CSV/TSV or Parquet file: its columns and a way to stream batches of some of them."""

    name: str
    kind: str
    columns: list[str]
    rows: int | None  # known up front for Parquet
    categorical: set[str]  # Parquet dictionary columns: pandas categoricals, sorted as text and not stripped
    open_batches: Callable[[list[str], list[str], Progress], Iterator[Any]]  # (columns, grouped ones, progress)


def _open_file(path: Path, max_bytes: int | None) -> _File | None:
    from ..intake.reader._read import _sniff_checked
    from ..intake.reader._source import _open_source

    src = _open_source(path, None, max_bytes)
    kind, encoding, sniffed = _sniff_checked(src)
    if kind in ("csv", "tsv"):
        return _csv_file(src, kind, encoding, sniffed)
    if kind == "parquet":
        return _parquet_file(src)
    return None


def _csv_file(src: Any, kind: str, encoding: str, sniffed: Any) -> _File:
    import codecs

    import pyarrow as pa
    import pyarrow.csv as pacsv

    from ..intake.reader._cells import _checked_header, _trim_header
    from ..intake.reader._keys import (
        _BAD_HEADER,
        _CORRUPT,
        _EMPTY_COLUMN_NAME,
        _MAX_PROBLEMS,
        _MIXED_ENCODING,
        _RAGGED,
        _RAGGED_ROW,
        _SPARE,
    )
    from ..intake.reader._models import ReaderError, _cap

    # The same header, encoding and options as ``reader._formats._read_delimited``.
    named = _trim_header(sniffed.header)
    spare = [f"{_SPARE}{i}" for i in range(len(sniffed.header) - len(named))]
    header = _checked_header(named, src.name) + spare
    arrow_encoding = {"utf-8-sig": "utf8", "utf-8": "utf8", "utf-16-le": "utf-16", "utf-16-be": "utf-16"}.get(
        encoding, encoding)
    if encoding in ("utf-16-le", "utf-16-be") and not src.head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        arrow_encoding = encoding
    column_types: dict[str, Any] = {header[i]: pa.string() for i in sniffed.text_columns if i < len(header)}

    def open_csv(wanted: list[str], types: dict[str, Any], threads: bool, on_ragged: Any) -> tuple[Any, Any]:
        stream = pa.OSFile(str(src.path))
        read_options = pacsv.ReadOptions(use_threads=threads, encoding=arrow_encoding, block_size=_CSV_BLOCK,
                                          column_names=header, skip_rows=1)
        parse = pacsv.ParseOptions(delimiter=sniffed.delimiter, quote_char='"', double_quote=True,
                                   newlines_in_values=True, ignore_empty_lines=True, invalid_row_handler=on_ragged)
        convert = pacsv.ConvertOptions(column_types=types, strings_can_be_null=True,
                                       decimal_point=sniffed.decimal, quoted_strings_can_be_null=True,
                                       include_columns=wanted + spare)
        return stream, pacsv.open_csv(stream, read_options=read_options, parse_options=parse, convert_options=convert)

    def read(wanted: list[str], grouped: list[str], threads: bool, on_ragged: Any) -> Iterator[tuple[Any, int]]:
        types = dict(column_types)
        if grouped:
            # Grouping columns that are text are parsed straight into dictionaries (each value
            # once, then integers), as the first block's types show; the values are the same.
            stream, probe = open_csv(wanted, types, False, lambda _row: "skip")  # the first block only
            with stream, probe:
                for name in grouped:
                    if pa.types.is_string(probe.schema.field(name).type):
                        types[name] = pa.dictionary(pa.int32(), pa.string())
        stream, reader = open_csv(wanted, types, threads, on_ragged)
        with stream, reader:
            for batch in reader:
                yield batch, stream.tell()

    def batches(wanted: list[str], grouped: list[str], progress: Progress) -> Iterator[Any]:
        ragged: list[tuple[int | None, int, int]] = []

        def on_ragged(row: Any) -> str:
            ragged.append((row.number, row.expected_columns, row.actual_columns))
            return "skip"

        try:
            for batch, position in read(wanted, grouped, True, on_ragged):
                for f in batch.schema:
                    if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type):
                        raise _NotStreamable  # text that is not UTF-8 further down: the whole-file reader decides
                for col in spare:
                    if batch.column(col).null_count != batch.num_rows:
                        raise ReaderError(_BAD_HEADER, name=src.name, problems=[
                            WorkbenchError(_EMPTY_COLUMN_NAME, position=header.index(col) + 1)])
                progress(min(position / max(src.size, 1), 1.0))
                if not ragged:
                    yield batch.drop_columns(spare) if spare else batch  # text is cleaned where used
        except pa.ArrowInvalid as exc:
            from ..intake.reader._formats import _widen

            if _widen(str(exc), header, column_types, pa):
                raise _Restart from None
            raise ReaderError(_CORRUPT, name=src.name, kind="CSV") from None
        except (UnicodeDecodeError, UnicodeError):
            raise ReaderError(_MIXED_ENCODING, name=src.name, encoding=encoding) from None
        if ragged:
            if any(number is None for number, _, _ in ragged):  # row numbers need one thread
                ragged.clear()
                for _ in read(wanted, grouped, False, on_ragged):
                    pass
                if not ragged:  # what the threaded parse reported did not hold on one thread: read again
                    raise _Restart
            problems = [WorkbenchError(_RAGGED_ROW, row=number if number is not None else "?", expected=exp,
                                       found=act) for number, exp, act in ragged[:_MAX_PROBLEMS]]
            raise ReaderError(_RAGGED, problems=_cap(problems, len(ragged)), name=src.name, count=len(ragged))

    return _File(src.name, kind, [c for c in header if c not in spare], None, set(), batches)


def _parquet_file(src: Any) -> _File:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..intake.reader._cells import _checked_header
    from ..intake.reader._keys import _CORRUPT
    from ..intake.reader._models import ReaderError

    try:
        handle = pq.ParquetFile(src.path)
        schema = handle.schema_arrow
    except Exception:  # noqa: BLE001 - any damage to the file is the same message, as in the reader
        raise ReaderError(_CORRUPT, name=src.name, kind="Parquet") from None
    original = {str(c).strip(): c for c in schema.names}
    columns = _checked_header(list(schema.names), src.name)
    rows = handle.metadata.num_rows

    def batches(wanted: list[str], grouped: list[str], progress: Progress) -> Iterator[Any]:
        names = [original[c] for c in wanted]
        # Grouping text columns come as dictionaries (the values once, then integers).
        dictionary = [original[c] for c in grouped if pa.types.is_string(schema.field(original[c]).type)
                      or pa.types.is_large_string(schema.field(original[c]).type)]
        # No pre-buffering: it keeps every column chunk read so far until the end (900 MB of
        # distinct scores at 100M rows), where without it memory is one row group.
        reader = pq.ParquetFile(src.path, read_dictionary=dictionary, pre_buffer=False)
        done = 0
        try:
            for batch in reader.iter_batches(batch_size=_PARQUET_BATCH, columns=names, use_threads=True):
                done += batch.num_rows
                progress(done / max(rows, 1))
                yield batch.rename_columns(wanted)  # text is cleaned where used
        except (OSError, pa.ArrowException):
            raise ReaderError(_CORRUPT, name=src.name, kind="Parquet") from None

    categorical = {str(f.name).strip() for f in schema if pa.types.is_dictionary(f.type)}
    return _File(src.name, "parquet", columns, rows, categorical, batches)


# -- accumulating sufficient statistics ---------------------------------------------------


def _sort_key(dictionary_type: bool) -> Callable[[Any], Any]:
    # ``encode_groups`` sorts a categorical column by its text and any other by value.
    return str if dictionary_type else (lambda v: v)


@dataclass
class _Stats:
    spec: AuditSpec
    problems: dict[tuple[str, str], WorkbenchError] = field(default_factory=dict)
    values: list[dict[Any, int]] = field(default_factory=list)  # per feature: value -> id
    categorical: list[bool] = field(default_factory=list)
    groups: dict[tuple[int, ...], int] = field(default_factory=dict)
    rows: int = 0
    cells: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), dtype=np.int64))
    sums: np.ndarray = field(default_factory=lambda: np.zeros((0, S_ERR4 + 1)))
    runs: list[tuple[np.ndarray, ...]] = field(default_factory=list)  # parts of (group id, score, neg, pos)
    n_runs: int = 0
    spill: Any = None  # a ``RunSpill`` once the runs outgrow memory

    # problems ---------------------------------------------------------------------------
    def add_problems(self, found: Problems) -> None:
        for problem in found.items:
            slot = (problem.key, str(problem.params.get("column", "")))
            if slot in self.problems and problem.key == _MISSING_VALUES:
                self.problems[slot].params["count"] += problem.params["count"]
            else:
                self.problems.setdefault(slot, problem)

    # groups -----------------------------------------------------------------------------
    def _grow(self, n_groups: int) -> None:
        if n_groups <= len(self.cells):
            return
        size = max(n_groups, 2 * len(self.cells), 16)
        self.cells = np.concatenate([self.cells, np.zeros((size - len(self.cells), 4), dtype=np.int64)])
        self.sums = np.concatenate([self.sums, np.zeros((size - len(self.sums), self.sums.shape[1]))])

    def encode(self, columns: list[tuple[int, Any]], complete: bool) -> tuple[np.ndarray, np.ndarray] | None:
        """Local group code per row and local -> global group ids of (feature, column) pairs.

        None if a value is missing or a feature's column is not there (``complete`` False);
        values and missing values are still recorded, for the messages.
        """
        import pyarrow as pa

        rows = len(columns[0][1]) if columns else 0
        combined = np.zeros(rows, dtype=np.int64)
        radix = 1
        per_feature: list[tuple[np.ndarray, np.ndarray]] = []  # (row -> local value, local value -> id)
        for j, arr in columns:
            if not pa.types.is_dictionary(arr.type):  # read as numbers (text columns come as dictionaries)
                import pyarrow.compute as pc  # a tenth of a second to import: only when needed

                arr = pc.dictionary_encode(arr)
            dictionary = arr.dictionary.to_pylist()
            if not self.categorical[j] and (pa.types.is_string(arr.dictionary.type)
                                               or pa.types.is_large_string(arr.dictionary.type)):  # as ``_clean_strings``
                dictionary = [None if v is None or not v.strip() else v.strip() for v in dictionary]
            dictionary = [None if isinstance(v, float) and math.isnan(v) else v for v in dictionary]
            ids = np.fromiter((-1 if v is None else self._value_id(j, v) for v in dictionary), dtype=np.int64,
                              count=len(dictionary))
            if arr.indices.null_count:
                indices = arr.indices.fill_null(-1).to_numpy(zero_copy_only=False)
            else:  # no copy, no compute kernel
                indices = _as_numpy(arr.indices)
            bad = int((indices < 0).sum()) if arr.indices.null_count else 0
            if (ids < 0).any():
                bad += int((ids[indices[indices >= 0]] < 0).sum())
            if bad:
                found = Problems()
                found.add(_MISSING_VALUES, column=self.spec.sensitive[j], count=bad)
                self.add_problems(found)
                continue
            per_feature.append((indices, ids))
            size = max(len(dictionary), 1)
            if radix * size > 2**40:  # keep mixed-radix codes within int64
                combined, present = _compact(combined, radix)
                radix = len(present)
            combined = combined * size + indices
            radix *= size
        if self.problems or not complete:
            return None
        codes, present = _compact(combined, radix)
        # Any row of a local group tells its values: read each feature's id there.
        representative = np.zeros(len(present), dtype=np.int64)
        representative[codes] = np.arange(rows)
        keys = np.stack([ids[indices[representative]] for indices, ids in per_feature], axis=1)
        mapping = np.empty(len(present), dtype=np.int64)
        for i, key in enumerate(map(tuple, keys.tolist())):
            gid = self.groups.get(key)
            if gid is None:
                gid = self.groups[key] = len(self.groups)
                if gid >= MAX_GROUPS:
                    raise _TooMany(len(self.groups))
            mapping[i] = gid
        self._grow(len(self.groups))
        return codes, mapping

    def _value_id(self, feature: int, value: Any) -> int:
        table = self.values[feature]
        found = table.get(value)
        if found is None:
            found = table[value] = len(table)
            if found >= MAX_GROUPS:
                raise _TooMany(len(table))
        return found

    # statistics -------------------------------------------------------------------------
    def add_cells(self, codes: np.ndarray, mapping: np.ndarray, truth: np.ndarray, pred: np.ndarray) -> None:
        local = np.bincount(codes * 4 + (truth.astype(np.int64) * 2 + pred.astype(np.int64)),
                            minlength=len(mapping) * 4).reshape(len(mapping), 4)
        np.add.at(self.cells, mapping, local)  # two local groups may be one group (" F" and "F")

    def add_sums(self, codes: np.ndarray, mapping: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        # ``score_sums``' seven columns, added row by row in file order as ``np.bincount`` adds.
        err = y_pred - y_true
        err2 = err * err
        rows = mapping[codes]
        for j, values in enumerate((None, y_pred, y_pred * y_pred, err, err2, np.abs(err), err2 * err2)):
            if values is None:
                self.sums[:, 0] += np.bincount(rows, minlength=len(self.sums))
            else:
                np.add.at(self.sums[:, j], rows, values)

    def add_scores(self, codes: np.ndarray, mapping: np.ndarray, label: np.ndarray, score: np.ndarray) -> None:
        """The batch's rows as runs of equal (global group, score) with their negatives and positives."""
        if self.spill is not None:
            self.spill.add_rows(mapping[codes], score, label)
            return
        part = _few_scores_runs(mapping[codes], score, label, len(self.groups))
        if part is None:
            part = merge_runs(mapping[codes], score, 1.0 - label, label.astype(float))
        self.runs.append(part)
        self.n_runs += len(part[0])
        if self.n_runs > _COMPACT_RUNS and len(self.runs) > 1:
            self.runs = [merge_runs(*(np.concatenate(c) for c in zip(*self.runs)))]
            self.n_runs = len(self.runs[0][0])
        if self.n_runs > _SPILL_RUNS:  # (nearly) continuous scores: memory would grow with the rows
            from ._spill import RunSpill

            top = max(max(r[2].max(initial=0), r[3].max(initial=0)) for r in self.runs)
            self.spill = RunSpill(wide=top > np.iinfo(np.int32).max)
            for held in self.runs:
                self.spill.add(*held)
            self.runs, self.n_runs = [], 0


def _few_scores_runs(group: np.ndarray, score: np.ndarray, label: np.ndarray,
                     n_groups: int) -> tuple[np.ndarray, ...] | None:
    """``merge_runs`` of a batch whose scores take few values, without sorting its rows.

    The distinct scores come from a hash pass (Arrow's ``dictionary_encode``) and only they are
    sorted; the runs are then the non-empty cells of (group, score rank), counted in that
    order. None when the scores look continuous (a sample is mostly distinct) or the cells
    would outnumber the rows: ``merge_runs`` sorts those.
    """
    sample = score[:: max(len(score) // 65_536, 1)]
    if len(np.unique(sample)) > len(sample) // 2:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc  # a tenth of a second to import: only with a score

    score = np.ascontiguousarray(score, dtype=np.float64)
    encoded = pc.dictionary_encode(pa.Array.from_buffers(pa.float64(), len(score), [None, pa.py_buffer(score)]))
    values, index = _as_numpy(encoded.dictionary), _as_numpy(encoded.indices)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    new = np.ones(len(ordered), dtype=bool)
    new[1:] = ordered[1:] != ordered[:-1]  # -0.0 and 0.0 are one score, as in ``merge_runs``
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.cumsum(new) - 1
    k = int(new.sum())
    cells = n_groups * k
    if cells > 4 * len(score) + 1_000_000:
        return None
    key = group * k + rank[index]
    total = np.bincount(key, minlength=cells)
    pos = np.bincount(key, weights=label, minlength=cells)
    present = np.flatnonzero(total)
    return present // k, ordered[new][present % k], total[present] - pos[present], pos[present]


class _TooMany(Exception):
    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


def _compact(combined: np.ndarray, radix: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes renumbered 0..k-1 in order, and the original code of each."""
    if radix <= 4 * len(combined) + 1_000_000:
        present = np.flatnonzero(np.bincount(combined, minlength=radix))
        lookup = np.full(radix, -1, dtype=np.int64)
        lookup[present] = np.arange(len(present))
        return lookup[combined], present
    present, codes = np.unique(combined, return_inverse=True)
    return codes.astype(np.int64, copy=False), present


def _add_batch(stats: _Stats, batch: Any, spec: AuditSpec, present: set[str]) -> None:
    import pyarrow as pa

    from ..intake.reader._cells import _clean_strings

    stats.rows += batch.num_rows
    sensitive = [(j, batch.column(c)) for j, c in enumerate(spec.sensitive) if c in present]
    # Missing sensitive values are reported first, as the whole-file audit does.
    encoded = stats.encode(sensitive, complete=len(sensitive) == len(spec.sensitive))
    found = Problems()
    convert = as_binary if spec.kind == "classifier" else as_numeric

    def column(name: str | None, how: Callable) -> np.ndarray | None:
        if name is None or name not in present:
            return None
        values = batch.column(name)
        converted = _plain_numbers(values, how is as_binary)
        if converted is not None:
            return converted
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            # The reader's cleaning (stripped, empty is missing); sensitive columns are
            # cleaned on their dictionary of values instead, which is much cheaper.
            values = _clean_strings(pa.RecordBatch.from_arrays([values], names=[name])).column(0)
        return how(values.to_pandas(), name, found)

    y_true, y_pred = column(spec.y_true, convert), column(spec.y_pred, convert)
    if spec.kind == "classifier" and spec.y_true is None and y_pred is not None:
        y_true = np.zeros(len(y_pred), dtype=bool)  # decisions only, as ``_records_levels`` counts them
    score = column(spec.score, as_numeric) if spec.kind == "classifier" else None
    stats.add_problems(found)
    if encoded is None or stats.problems or y_true is None or y_pred is None:
        return
    codes, mapping = encoded
    if spec.kind == "classifier":
        stats.add_cells(codes, mapping, y_true, y_pred)
        if score is not None:
            stats.add_scores(codes, mapping, y_true, score)
        return
    stats.add_sums(codes, mapping, y_true, y_pred)
    if spec.pass_mark is not None:
        passed_true, passed_pred = y_true >= spec.pass_mark, y_pred >= spec.pass_mark
        stats.add_cells(codes, mapping, passed_true, passed_pred)
        stats.add_scores(codes, mapping, passed_true, y_pred)


_NUMPY_TYPES = {"int8": np.int8, "int16": np.int16, "int32": np.int32, "int64": np.int64, "uint8": np.uint8,
                "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64, "halffloat": np.float16,
                "float": np.float32, "double": np.float64}


def _as_numpy(values: Any) -> np.ndarray:
    """A complete Arrow array of numbers or booleans as numpy, read from its buffer.

    pyarrow's own ``to_numpy`` imports pandas on its first call (a third of a second);
    this is the same values without it (no copy but for booleans, which Arrow packs in bits).
    """
    kind = str(values.type)
    data = values.buffers()[1]
    if kind == "bool":
        bits = np.frombuffer(data, dtype=np.uint8)
        return np.unpackbits(bits, count=values.offset + len(values), bitorder="little")[values.offset:].astype(bool)
    dtype = np.dtype(_NUMPY_TYPES[kind])
    return np.frombuffer(data, dtype=dtype, count=len(values), offset=values.offset * dtype.itemsize)


def _plain_numbers(values: Any, binary: bool) -> np.ndarray | None:
    """``as_binary`` / ``as_numeric`` of a column of numbers that is complete, finite (and 0/1),
    straight from Arrow; None for anything else, which those functions convert or refuse with
    their messages (through pandas, imported only then)."""
    import pyarrow as pa

    kind = values.type
    if values.null_count or str(kind) not in _NUMPY_TYPES and not pa.types.is_boolean(kind):
        return None
    arr = _as_numpy(values)
    if pa.types.is_boolean(kind):
        return arr.astype(bool) if binary else arr.astype(float)
    if pa.types.is_floating(kind) and not np.isfinite(arr).all():  # NaN is missing, inf refused: their messages
        return None
    if not binary:
        return arr.astype(float)
    one = arr == 1
    return one if (one | (arr == 0)).all() else None


def _one_pass(file: _File, spec: AuditSpec, progress: Progress) -> _Stats:
    present = set(file.columns)
    problems = Problems()
    check_column_names(file.columns, spec, problems)  # rows are counted as they come
    if any(p.key == _ROLE_REQUIRED for p in problems.items):
        problems.raise_if_any()
    check_reference_features(spec, problems)  # missing sensitive values are counted per batch
    if spec.kind == "classifier" and spec.y_true is None and spec.score is not None:
        problems.add(_SCORE_NEEDS_TRUTH, column=spec.score)
    stats = _Stats(spec=spec)
    stats.add_problems(problems)
    stats.values = [{} for _ in spec.sensitive]
    stats.categorical = [c in file.categorical for c in spec.sensitive]
    wanted = [c for c in dict.fromkeys([spec.y_true, spec.y_pred, spec.score if spec.kind == "classifier" else None,
                                        *spec.sensitive]) if c is not None and c in present]
    try:
        grouped = [c for c in spec.sensitive if c in present]
        for batch in file.open_batches(wanted, grouped, progress):
            _add_batch(stats, batch, spec, present)
    except BaseException as exc:
        if stats.spill is not None:
            stats.spill.close()
        if not isinstance(exc, _TooMany):
            raise
        found = Problems()
        found.add(_TOO_MANY_GROUPS, count=exc.count, limit=MAX_GROUPS)
        found.raise_if_any()
    return stats


# -- from the statistics to the engine's levels ------------------------------------------


def _groups(stats: _Stats) -> tuple[Groups, np.ndarray]:
    """Groups in ``encode_groups``' order, and the order of the accumulated rows."""
    features = tuple(stats.spec.sensitive)
    ranks, values = [], {}
    for j, table in enumerate(stats.values):
        used = sorted({key[j] for key in stats.groups})
        by_id = {i: v for v, i in table.items()}
        key = _sort_key(stats.categorical[j])
        ordered = sorted(used, key=lambda i: key(by_id[i]))
        ranks.append({i: r for r, i in enumerate(ordered)})
        values[features[j]] = [str(by_id[i]) for i in ordered]
    keys = sorted(stats.groups, key=lambda k: tuple(ranks[j][v] for j, v in enumerate(k)))
    order = np.array([stats.groups[k] for k in keys], dtype=np.int64)
    labels = [{f: values[f][ranks[j][k[j]]] for j, f in enumerate(features)} for k in keys]
    membership = {}
    for j, f in enumerate(features):
        m = np.zeros((len(keys), len(values[f])), dtype=np.int64)
        m[np.arange(len(keys)), [ranks[j][k[j]] for k in keys]] = 1
        membership[f] = m
    return Groups(features, np.zeros(0, dtype=np.int64), labels, values, membership), order


def _auc_runs(stats: _Stats, order: np.ndarray) -> tuple[AucTable, tuple[np.ndarray, ...]] | None:
    """The exact-rank ``AucTable`` of the accumulated runs, in the final group order, and the runs
    themselves as (group, score, neg, pos) sorted by (group, score)."""
    if not stats.runs:
        return None
    group, score, neg, pos = (np.concatenate(c) for c in zip(*stats.runs))
    stats.runs = []
    final = np.empty(len(stats.groups), dtype=np.int64)
    final[order] = np.arange(len(order))  # stats group id -> position in ``encode_groups``' order
    group, score, neg, pos = merge_runs(final[group], score, neg, pos)
    _values, rank = np.unique(score, return_inverse=True)  # exact ranks of the distinct scores
    table = AucTable(group, rank.ravel().astype(np.int64), neg, pos, len(order))
    return table, (group, score, neg, pos)


def stream_audit(path: Path, spec: AuditSpec, *, input_sha256: Callable[[], str], max_bytes: int | None = None,
                 policy: FairnessPolicy | None = None, progress: Progress | None = None) -> AuditResult | None:
    """Audit a CSV/TSV or Parquet file of records batch by batch; ``None`` if it needs the whole-file reader.

    ``input_sha256`` is called once the file has been read (hashing is a pass over the bytes too).
    Raises the reader's ``ReaderError`` and the engine's ``InputError`` as :func:`run_audit` would.
    """
    if spec.kind not in STREAM_KINDS:
        return None
    report = progress or (lambda _fraction: None)
    policy = policy or load_policy()
    thresholds = policy.thresholds(spec.tier)
    file = _open_file(path, max_bytes)
    if file is None:
        return None
    digest = _Background(input_sha256)  # hashing is a pass over the bytes too: beside the reading
    stats = None
    try:
        for _attempt in range(2 * len(file.columns) + 3):  # a wider column type: read again
            try:
                stats = _one_pass(file, spec, lambda f: report(0.85 * f))
            except _Restart:
                continue
            break
        else:  # pragma: no cover - bounded by the number of columns
            return None
    except _NotStreamable:
        return None
    try:
        return _finish(stats, spec, thresholds, policy, file.name, digest, report)
    finally:
        if stats.spill is not None:
            stats.spill.close()


def _finish(stats: _Stats, spec: AuditSpec, thresholds: Any, policy: FairnessPolicy, name: str,
            digest: _Background, report: Progress) -> AuditResult:
    from ._engine import _classifier_levels, _merge, _scorer_levels, finish_audit

    if stats.rows == 0 and not stats.problems:
        from ..intake.reader._keys import _NO_ROWS
        from ..intake.reader._models import ReaderError

        raise ReaderError(_NO_ROWS, name=name)
    if stats.problems:
        # Like the whole-file audit, name an unknown reference value too, not only on the next attempt.
        found = Problems()
        check_reference_values({f: [str(v) for v in table if v is not None] for f, table in
                                zip(spec.sensitive, stats.values)}, spec, found)
        stats.add_problems(found)
        raise InputError(_INVALID, problems=list(stats.problems.values()))
    groups, order = _groups(stats)
    found = Problems()
    check_reference_values(groups.values, spec, found)
    found.raise_if_any()
    report(0.9)
    extras: dict = {}
    auc: Any = None
    if stats.spill is not None:  # the runs outgrew memory: one ordered pass over them on disk
        from ._spill import spill_matrices

        auc, bands = stats.spill.finish(order, spill_matrices(groups), len(order),
                                        calibrate=spec.kind == "classifier",
                                        progress=lambda f: report(0.9 + 0.09 * f))
        if bands is not None:
            extras["calibration"] = calibration_from_bands(groups, *bands, spec.confidence)
    runs = _auc_runs(stats, order)
    if runs is not None:
        auc = runs[0]
        if spec.kind == "classifier":
            codes, y, score, weights = weighted_rows(*runs[1])
            extras["calibration"] = calibration(groups, y, score, spec.confidence, codes=codes, weights=weights)
    counts = stats.cells[order]
    quiet: Progress = lambda _fraction: None
    if spec.kind == "classifier":
        predictions_only = spec.y_true is None
        out = _classifier_levels(groups, counts, spec, thresholds, auc, quiet, predictions_only)
    else:
        out = _scorer_levels(groups, stats.sums[order], spec, thresholds)
        if spec.pass_mark is not None:
            out = _merge(out, _classifier_levels(groups, counts, spec, thresholds, auc, quiet))
    result = finish_audit(out, spec, thresholds, policy, n_rows=stats.rows, extras=extras,
                          input_sha256=digest.result())
    report(1.0)
    return result


class _Background:
    """A function run on a daemon thread (hashlib lets go of the GIL), its result awaited later.

    A daemon, so a refused file does not keep the process waiting for a hash no one needs.
    """

    def __init__(self, function: Callable[[], str]) -> None:
        self._function = function
        self._out: list[str] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._out.append(self._function())
        except Exception:  # noqa: BLE001, S110 - computed again, and raised, in the caller's thread
            pass

    def result(self) -> str:
        self._thread.join()
        return self._out[0] if self._out else self._function()


def terminal_progress(stream: Any = None) -> Progress | None:
    """A progress bar on stderr, only when stderr is a terminal (never in pipes or logs)."""
    stream = stream or sys.stderr
    if not getattr(stream, "isatty", lambda: False)():
        return None
    state = {"shown": -1, "start": time.monotonic()}

    def show(fraction: float) -> None:
        percent = int(fraction * 100)
        if percent == state["shown"] or time.monotonic() - state["start"] < 0.5 and percent < 100:
            return
        state["shown"] = percent
        bar = "#" * (percent // 4)
        stream.write(f"\r[{bar:<25}] {percent:3d}%" + ("\n" if percent >= 100 else ""))
        stream.flush()

    return show
