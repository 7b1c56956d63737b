"""The public readers: sniff a file, hand it to its format's reader, and describe what was
found."""

from __future__ import annotations

import json
import os

from ..._lazy import pd  # imported when first used: a streamed audit never needs pandas

from ._cells import _checked_header, _missing, _trim_header
from ._formats import load_json_line, _check_zip, _read_delimited, _read_jsonl, _read_parquet, _read_xlsx
from ._keys import (
    DOCUMENT_KINDS, TABLE_KINDS, _BAD_ENCODING, _CORRUPT, _MAGIC, _NOT_A_TABLE, _NO_ROWS, _OLD_EXCEL, _OLE2,
    _ONE_COLUMN, _UNKNOWN_FORMAT,
)
from ._models import ReaderError, TableInfo
from ._sniff import _TextSniff, _decode, _detect_encoding, _looks_binary, _sniff
from ._source import _Source, _open_source


def describe_source(source: str | os.PathLike[str] | bytes, *, name: str | None = None,
                    max_bytes: int | None = None) -> TableInfo:
    """Detect format, encoding, delimiter and columns cheaply, from the head of the file.

    Parameters
    ----------
    source:
        A path (``str`` or ``Path``) or the file's bytes.
    name:
        The name shown in messages (defaults to the file name).
    max_bytes:
        Refuse files larger than this.

    Returns
    -------
    TableInfo
        ``rows`` is filled for Parquet (from its metadata) and otherwise ``None``; use
        :func:`read_table_info` to read everything and count the rows.

    Raises
    ------
    ReaderError
        If the file is missing, empty, too large, not a table, or not readable text.
    """
    src = _open_source(source, name, max_bytes)
    kind, encoding, sniffed = _sniff_checked(src)
    info = TableInfo(kind=kind, encoding=encoding, size_bytes=src.size)
    if sniffed is not None and sniffed.delimiter:
        info.delimiter, info.decimal = sniffed.delimiter, sniffed.decimal
        info.columns = _checked_header(_trim_header(sniffed.header), src.name)
    elif kind == "parquet":
        import pyarrow.parquet as pq

        try:
            with src.stream() as fh:
                meta = pq.ParquetFile(fh).metadata
        except Exception:
            raise ReaderError(_CORRUPT, name=src.name, kind="Parquet") from None
        info.columns, info.rows = list(meta.schema.names), meta.num_rows
    elif kind == "xlsx":
        _check_zip(src)
        from openpyxl import load_workbook

        try:
            with src.stream() as fh:
                wb = load_workbook(fh, read_only=True, data_only=True)
                sheet = wb.worksheets[0]
                first = next(sheet.iter_rows(max_row=1, values_only=True), ())
                info.sheets, info.sheet = list(wb.sheetnames), sheet.title
                wb.close()
        except Exception:
            raise ReaderError(_CORRUPT, name=src.name, kind="Excel") from None
        info.columns = _checked_header(_trim_header(first), src.name)
    elif kind == "jsonl" and encoding is not None:
        first = _decode(src.head, encoding, src.complete).lstrip().splitlines()[0]
        value = load_json_line(first, src.name, 1)
        info.columns = [str(k).strip() for k in value] if isinstance(value, dict) else []
    return info


def read_table(source: str | os.PathLike[str] | bytes, *, name: str | None = None,
               max_bytes: int | None = None) -> pd.DataFrame:
    """Read a model-output file, whatever its format and encoding.

    Parameters
    ----------
    source:
        A path (``str`` or ``Path``) or the file's bytes. The format is sniffed from the
        content: XLSX, Parquet, JSON Lines, or CSV/TSV in UTF-8 (with or without BOM),
        UTF-16 (with a BOM), Windows-1251 or KZ-1048, delimited by ``,`` ``;`` tab or
        ``|``, with ``.`` or ``,`` as decimal mark.
    name:
        The name shown in messages (defaults to the file name).
    max_bytes:
        Refuse files larger than this (before reading them).

    Returns
    -------
    pandas.DataFrame
        Column names are stripped; text cells are stripped and empty ones are missing
        (NA). Cells are data only: a cell such as ``=HYPERLINK(...)`` or ``<b>`` is kept as
        that text and nothing evaluates or renders it.

    Raises
    ------
    ReaderError
        With one of the module's message keys, and ``problems`` listing every ragged row,
        bad JSON line or bad column name.
    """
    return read_table_info(source, name=name, max_bytes=max_bytes)[0]


def read_table_info(source: str | os.PathLike[str] | bytes, *, name: str | None = None,
                    max_bytes: int | None = None) -> tuple[pd.DataFrame, TableInfo]:
    """:func:`read_table` and what was detected on the way (for "detected: cp1251, ';'")."""
    src = _open_source(source, name, max_bytes)
    kind, encoding, sniffed = _sniff_checked(src)
    info = TableInfo(kind=kind, encoding=encoding, size_bytes=src.size)
    if kind in ("csv", "tsv"):
        assert sniffed is not None and encoding is not None
        info.delimiter, info.decimal = sniffed.delimiter, sniffed.decimal
        df, info.encoding = _read_delimited(src, encoding, sniffed)
    elif kind == "jsonl":
        assert encoding is not None
        df = _read_jsonl(src, encoding)
    elif kind == "parquet":
        df = _read_parquet(src)
    else:  # xlsx; _sniff_checked let nothing else through
        df, info.sheet, info.sheets = _read_xlsx(src)
    if len(df) == 0:
        raise ReaderError(_NO_ROWS, name=src.name)
    info.columns, info.rows = [str(c) for c in df.columns], len(df)
    return df, info


def _sniff_checked(src: _Source) -> tuple[str, str | None, _TextSniff | None]:
    """Sniff, and turn everything that is not a readable table into its message."""
    kind, encoding, sniffed = _sniff(src.head, src.complete)
    if kind in TABLE_KINDS:
        return kind, encoding, sniffed
    if kind in DOCUMENT_KINDS:
        raise ReaderError(_NOT_A_TABLE, name=src.name, kind=kind.upper())
    if src.head.startswith(_OLE2):
        raise ReaderError(_OLD_EXCEL, name=src.name)
    if src.head.startswith(b"PK\x03\x04") or any(src.head.startswith(m) for m, _ in _MAGIC):
        raise ReaderError(_UNKNOWN_FORMAT, name=src.name)
    encoding = _detect_encoding(src.head, src.complete)
    if encoding is None:
        if b"\x00" in src.head or _looks_binary(src.head.decode("latin-1")):
            raise ReaderError(_UNKNOWN_FORMAT, name=src.name)
        raise ReaderError(_BAD_ENCODING, name=src.name)
    if _looks_binary(_decode(src.head, encoding, src.complete)):
        raise ReaderError(_UNKNOWN_FORMAT, name=src.name)
    raise ReaderError(_ONE_COLUMN, name=src.name)


def preview(df: pd.DataFrame, n: int = 20) -> pd.DataFrame:
    """The first ``n`` rows as plain text, for showing to people.

    Every cell becomes a string (missing ones become ``""``) so that a table widget shows
    exactly what the file holds: ``=1+1`` stays ``=1+1`` and ``<b>`` stays ``<b>``.
    """
    head = df.head(n)
    return pd.DataFrame({str(col): [("" if _missing(v) else str(v)) for v in head[col].tolist()]
                         for col in head.columns}, index=head.index)
