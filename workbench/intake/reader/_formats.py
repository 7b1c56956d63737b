"""One reader per file format: CSV/TSV (streamed through pyarrow), Parquet, JSON Lines
and XLSX."""

from __future__ import annotations

import codecs
import json
import re
import zipfile
from typing import Any

from ..._lazy import pd  # imported when first used: a streamed audit never needs pandas

from ...errors import WorkbenchError
from ._cells import _checked_header, _clean_frame, _clean_strings, _trim_header
from ._keys import (
    _BAD_HEADER, _BAD_JSONL, _BAD_JSON_LINE, _CORRUPT, _EMPTY, _EMPTY_COLUMN_NAME, _MAX_PROBLEMS, _MAX_RATIO,
    _MAX_UNZIPPED, _MIXED_ENCODING, _RAGGED, _RAGGED_ROW, _SPARE, _TOO_DEEP, _UNSAFE, MAX_JSON_DEPTH,
)
from ._models import ReaderError, _cap
from ._sniff import _TextSniff, _cp1251_or_kz1048, _decode
from ._source import _Source


def _read_delimited(src: _Source, encoding: str, sniffed: _TextSniff) -> tuple[pd.DataFrame, str]:
    """The frame, and the encoding it was read in (a late cp1251 file changes it)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    # Excel exports formatted-but-empty columns as trailing ";;;" on every line: give them
    # placeholder names, and drop them below if they are empty all the way down.
    named = _trim_header(sniffed.header)
    spare = [f"{_SPARE}{i}" for i in range(len(sniffed.header) - len(named))]
    header = _checked_header(named, src.name) + spare
    # pyarrow skips a UTF-8 BOM itself and streams other encodings through Python's codecs.
    arrow_encoding = {"utf-8-sig": "utf8", "utf-8": "utf8", "utf-16-le": "utf-16", "utf-16-be": "utf-16"}.get(encoding, encoding)
    if encoding in ("utf-16-le", "utf-16-be") and not src.head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        arrow_encoding = encoding  # no BOM to tell the byte order: name it
    ragged: list[tuple[int | None, int, int]] = []

    def on_ragged(row: Any) -> str:
        ragged.append((row.number, row.expected_columns, row.actual_columns))
        return "skip"

    column_types: dict[str, Any] = {header[i]: pa.string() for i in sniffed.text_columns if i < len(header)}
    for _ in range(len(header) * 2 + 1):  # each retry widens one column's type
        ragged.clear()
        try:
            table = _arrow_csv(src, pacsv, arrow_encoding, sniffed, header, column_types, on_ragged, threads=True)
        except pa.ArrowInvalid as exc:
            widened = _widen(str(exc), header, column_types, pa)
            if widened:
                continue
            raise ReaderError(_CORRUPT, name=src.name, kind="CSV") from None
        except (UnicodeDecodeError, UnicodeError):
            raise ReaderError(_MIXED_ENCODING, name=src.name, encoding=encoding) from None
        break
    else:  # pragma: no cover - bounded by the number of columns
        raise ReaderError(_CORRUPT, name=src.name, kind="CSV")
    if ragged:
        if any(number is None for number, _, _ in ragged):
            # Row numbers are only known when parsing on one thread; errors are rare, so
            # pay for it only here.
            ragged.clear()
            _arrow_csv(src, pacsv, arrow_encoding, sniffed, header, column_types, on_ragged, threads=False)
        problems = [WorkbenchError(_RAGGED_ROW, row=number if number is not None else "?", expected=exp, found=act)
                    for number, exp, act in ragged[:_MAX_PROBLEMS]]
        raise ReaderError(_RAGGED, problems=_cap(problems, len(ragged)), name=src.name, count=len(ragged))
    binary = [f.name for f in table.schema if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)]
    if binary:
        # Text that is not UTF-8 further down the file. If the head was plain ASCII, the
        # file may simply be cp1251 with its first Cyrillic letters past the sniffed head.
        late = _late_encoding(table, binary) if encoding == "utf-8" and src.head.isascii() else None
        if late is not None:
            return _read_delimited(src, late, sniffed)
        # Otherwise UTF-8 and something else are mixed: guessing would garble one of them.
        raise ReaderError(_MIXED_ENCODING, name=src.name, encoding=encoding)
    for col in spare:
        if table.column(col).null_count != table.num_rows:
            raise ReaderError(_BAD_HEADER, name=src.name, problems=[
                WorkbenchError(_EMPTY_COLUMN_NAME, position=header.index(col) + 1)])
        table = table.drop_columns([col])
    return table.to_pandas(self_destruct=True, split_blocks=True), encoding


def _late_encoding(table: Any, columns: list[str]) -> str | None:
    """cp1251 or KZ-1048 if every non-ASCII value of ``columns`` is in it and none is UTF-8."""
    import pyarrow.compute as pc

    foreign: list[bytes] = []
    for col in columns:
        for value in pc.unique(table.column(col)).to_pylist()[:10_000]:
            if value is None or value.isascii():
                continue
            try:
                value.decode("utf-8")
                return None  # real UTF-8 beside non-UTF-8: a mixed file
            except UnicodeDecodeError:
                foreign.append(value)
    return _cp1251_or_kz1048(b"\n".join(foreign)) if foreign else None


def _arrow_csv(src: _Source, pacsv: Any, encoding: str, sniffed: _TextSniff, header: list[str],
               column_types: dict[str, Any], on_ragged: Any, *, threads: bool) -> Any:
    import pyarrow as pa

    read = pacsv.ReadOptions(use_threads=threads, encoding=encoding, block_size=1 << 20,
                             column_names=header, skip_rows=1)
    parse = pacsv.ParseOptions(delimiter=sniffed.delimiter, quote_char='"', double_quote=True,
                               newlines_in_values=True, ignore_empty_lines=True, invalid_row_handler=on_ragged)
    convert = pacsv.ConvertOptions(column_types=column_types, strings_can_be_null=True,
                                   decimal_point=sniffed.decimal, quoted_strings_can_be_null=True)
    # The streaming reader keeps peak memory lower than read_csv (measured: ~20 MB less
    # per million rows) because it never holds the whole file's parse buffers at once.
    with pacsv.open_csv(src.arrow(), read_options=read, parse_options=parse, convert_options=convert) as reader:
        # Clean each batch as it arrives, so the raw and the cleaned text never coexist
        # for the whole file.
        batches = [_clean_strings(batch) for batch in reader]
        schema = batches[0].schema if batches else _clean_strings(reader.schema.empty_table()).schema
        return pa.Table.from_batches(batches, schema=schema)


def _widen(message: str, header: list[str], column_types: dict[str, Any], pa: Any) -> bool:
    """After a type error further down the file, read that column as a wider type."""
    match = re.search(r"In CSV column #(\d+): CSV conversion error to (\w+)", message)
    if not match or int(match.group(1)) >= len(header):
        return False
    col, failed = header[int(match.group(1))], match.group(2)
    if failed.startswith(("int", "uint")) and column_types.get(col) is None:
        column_types[col] = pa.float64()  # 1, 2, ..., 2.5
    elif column_types.get(col) != pa.string():
        column_types[col] = pa.string()  # 1, 2, ..., "n/a (absent)"
    else:
        return False
    return True


def _read_parquet(src: _Source) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        with src.stream() as fh:
            table = pq.read_table(fh)
    except Exception:
        raise ReaderError(_CORRUPT, name=src.name, kind="Parquet") from None
    _checked_header(list(table.column_names), src.name)
    table = _clean_strings(table.rename_columns([str(c).strip() for c in table.column_names]))
    df = table.to_pandas(self_destruct=True, split_blocks=True)
    # A stored pandas index comes back as the index; make it a column so that positions
    # (and so row numbers in messages) mean the same as for every other format.
    return df if isinstance(df.index, pd.RangeIndex) else df.reset_index()


def _read_jsonl(src: _Source, encoding: str) -> pd.DataFrame:
    raw = src.data if src.data is not None else src.path.read_bytes()  # type: ignore[union-attr]
    text = raw.decode(encoding, errors="strict") if encoding not in ("utf-16-le", "utf-16-be") else _decode(raw, encoding, True)
    records: list[dict[str, Any]] = []
    problems: list[WorkbenchError] = []
    bad = 0
    # Python's json per line: JSON Lines files are small (generative tests), and this way
    # every bad line is named, where pyarrow stops at the first.
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        value = load_json_line(line, src.name, number)
        if not isinstance(value, dict):
            bad += 1
            if len(problems) < _MAX_PROBLEMS:
                problems.append(WorkbenchError(_BAD_JSON_LINE, row=number))
            continue
        records.append({str(k).strip(): (json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v)
                        for k, v in value.items()})
    if bad:
        raise ReaderError(_BAD_JSONL, problems=_cap(problems, bad), name=src.name, count=bad)
    columns = list(dict.fromkeys(k for r in records for k in r))
    _checked_header(columns, src.name)
    return _clean_frame(pd.DataFrame.from_records(records, columns=columns))


def json_depth(text: str) -> int:
    """How deeply ``[`` and ``{`` nest in a JSON text (brackets inside strings ignored)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def load_json_line(line: str, name: str, number: int) -> Any:
    """One JSON value, or ``None`` if the line is not JSON; ``ReaderError`` if it nests deeper
    than :data:`MAX_JSON_DEPTH` (Python's parser would give up with a ``RecursionError``)."""
    if line.count("[") + line.count("{") > MAX_JSON_DEPTH and json_depth(line) > MAX_JSON_DEPTH:
        raise ReaderError(_TOO_DEEP, name=name, row=number, limit=MAX_JSON_DEPTH)
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return None


def _check_zip(src: _Source) -> None:
    """Refuse zip bombs and XML with a DTD (entity expansion) before openpyxl parses anything."""
    try:
        with src.stream() as fh, zipfile.ZipFile(fh) as zf:
            infos = zf.infolist()
            unzipped = sum(i.file_size for i in infos)
            zipped = max(1, sum(i.compress_size for i in infos))
            if unzipped > _MAX_UNZIPPED or (unzipped > 50 * 1024**2 and unzipped / zipped > _MAX_RATIO):
                raise ReaderError(_UNSAFE, name=src.name)
            for info in infos:
                if info.filename.endswith((".xml", ".rels")):
                    with zf.open(info) as part:
                        prolog = part.read(4096)
                    if b"<!DOCTYPE" in prolog.upper() or b"<!ENTITY" in prolog.upper():
                        raise ReaderError(_UNSAFE, name=src.name)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
        raise ReaderError(_CORRUPT, name=src.name, kind="Excel") from None


def _read_xlsx(src: _Source) -> tuple[pd.DataFrame, str, list[str]]:
    from openpyxl import load_workbook

    _check_zip(src)
    with src.stream() as fh:
        return _read_xlsx_stream(src, fh, load_workbook)


def _read_xlsx_stream(src: _Source, fh: Any, load_workbook: Any) -> tuple[pd.DataFrame, str, list[str]]:
    try:
        # data_only: cells hold the values Excel last computed; formulas are never run here
        wb = load_workbook(fh, read_only=True, data_only=True)
    except Exception:
        raise ReaderError(_CORRUPT, name=src.name, kind="Excel") from None
    try:
        sheet = wb.worksheets[0]
        header: list[str] | None = None
        data: list[tuple[Any, ...]] = []
        problems: list[WorkbenchError] = []
        ragged = width = 0
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            row = tuple(row)
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
                continue
            if header is None:  # the first non-blank row; sheets often start with a blank one
                header = _checked_header(_trim_header(row), src.name)
                width = len(header)
                continue
            if any(v is not None and not (isinstance(v, str) and not v.strip()) for v in row[width:]):
                ragged += 1
                if len(problems) < _MAX_PROBLEMS:
                    found = len(_trim_header(row))
                    problems.append(WorkbenchError(_RAGGED_ROW, row=number, expected=width, found=found))
                continue
            data.append(tuple(row[:width]) + (None,) * (width - len(row)))
        sheet_name, sheet_names = sheet.title, list(wb.sheetnames)
    except ReaderError:
        raise
    except Exception:
        raise ReaderError(_CORRUPT, name=src.name, kind="Excel") from None
    finally:
        wb.close()
    if header is None:
        raise ReaderError(_EMPTY, name=src.name)
    if ragged:
        raise ReaderError(_RAGGED, problems=_cap(problems, ragged), name=src.name, count=ragged)
    df = pd.DataFrame.from_records(data, columns=header)
    return _clean_frame(df), sheet_name, sheet_names
