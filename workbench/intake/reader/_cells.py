"""Header and cell cleaning shared by every format: column names checked, text stripped,
empty cells made missing."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from ..._lazy import pd  # imported when first used: a streamed audit never needs pandas

from ...errors import WorkbenchError
from ._keys import _BAD_HEADER, _DUPLICATE_COLUMN, _EMPTY_COLUMN_NAME, _NO_HEADER, _NUMBER
from ._models import ReaderError, _cap


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float, np.number)):
        return True
    return isinstance(value, str) and bool(_NUMBER.match(value.strip()))


def _checked_header(header: list[Any], name: str) -> list[str]:
    """Column names, or a ReaderError listing every empty and repeated one."""
    names = ["" if v is None else str(v).strip().lstrip("\ufeff").strip() for v in header]
    if names and all(n == "" or _is_number(n) for n in names) and any(_is_number(n) for n in names):
        raise ReaderError(_NO_HEADER, name=name, first=", ".join(names[:5]))
    problems: list[WorkbenchError] = []
    for position, col in enumerate(names, start=1):
        if not col:
            problems.append(WorkbenchError(_EMPTY_COLUMN_NAME, position=position))
    for col, count in Counter(n for n in names if n).items():
        if count > 1:
            problems.append(WorkbenchError(_DUPLICATE_COLUMN, column=col, count=count))
    if problems:
        raise ReaderError(_BAD_HEADER, problems=_cap(problems, len(problems)), name=name)
    return names


def _trim_header(row: Sequence[Any]) -> list[Any]:
    """Drop empty cells at the right end of a header row (Excel's formatted-but-empty columns)."""
    row = list(row)
    while row and (row[-1] is None or (isinstance(row[-1], str) and not row[-1].strip())):
        row.pop()
    return row


def _clean_strings(table: Any) -> Any:
    """Strip text cells and make empty ones missing, on the Arrow side (fast and lean).

    Works on a ``pyarrow.Table`` or ``RecordBatch``.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    for i, field in enumerate(table.schema):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            col = pc.utf8_trim_whitespace(table.column(i))
            col = pc.if_else(pc.equal(col, ""), pa.scalar(None, field.type), col)
            table = table.set_column(i, field, col)
    return table


def _clean_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The same cleaning for frames built in Python (XLSX, JSON Lines fallback)."""
    for col in df.columns:
        if df[col].dtype == object or pd.api.types.is_string_dtype(df[col].dtype):
            stripped = df[col].map(lambda v: v.strip() if isinstance(v, str) else v)
            df[col] = stripped.map(lambda v: None if isinstance(v, str) and v == "" else v)
            df[col] = df[col].infer_objects()
    return df


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)
