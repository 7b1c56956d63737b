"""The one reader of model-output files: vendor intake, fairness engine and CLI all use it.

A vendor uploads what their tool produced (a CSV saved by Excel on a Russian Windows, a
Parquet export, an XLSX sheet, JSON Lines from a chatbot). This module finds out what the
file is from its *content*, never from its name, reads it into a ``pandas.DataFrame``, and
checks that the columns a reviewer mapped to roles (true label, prediction, sensitive
features, ...) can carry a fairness test, listing every problem at once with spreadsheet
row numbers.

Memory
------
CSV and TSV files go through ``pyarrow.csv``'s streaming reader, transcoding cp1251 and
UTF-16 on the fly and cleaning each batch as it arrives, so a big file is never held as
Python objects nor twice as text. Peak RSS of a fresh process (``VmHWM``, imports
included: about 120 MB of it is Python with pandas, pyarrow and pydantic), measured with
``benchmarks/bench_reader.py`` on the development machine (2 shared cores, Python 3.11,
pandas 3.1, pyarrow 26) for 8 columns (ids, 0/1 labels, a score, four short text
features):

==============================  ===================  ===================
file                            ``read_table``       ``pandas.read_csv``
==============================  ===================  ===================
1M rows, UTF-8, ``,`` (52 MB)   280 MB, 1.0 s        284 MB, 0.6 s
1M rows, cp1251, ``;`` (39 MB)  297 MB, 1.1 s        234 MB, 0.8 s
10M rows, UTF-8 (527 MB)        1365 MB, 5.9 s       1870 MB, 1.9 s
==============================  ===================  ===================

The budget stated in the README and checked by ``tests/test_reader.py`` is: **a 1M-row
CSV reads in under 400 MB peak RSS** (and well under 20 s). The streaming reader is slower
than pandas on very large files; it was chosen because memory, not time, is what makes a
small server fail.

Row numbers in messages are spreadsheet rows: the header is row 1, the first data row is
row 2 (blank lines are not counted).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import os
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import ValidationFailed, WorkbenchError

__all__ = [
    "MAPPING_KINDS",
    "ColumnMapping",
    "MappingKind",
    "MappingProblem",
    "ReaderError",
    "TableInfo",
    "binary_labels",
    "check_mapping",
    "describe_source",
    "preview",
    "read_table",
    "read_table_info",
    "required_roles",
    "sniff_kind",
    "suggest_mapping",
    "validate_mapping",
]

# -- message keys (tests compare against these constants) ----------------------------------------

_NO_FILE = "reader.no_file"
_TOO_LARGE = "reader.too_large"
_EMPTY = "reader.empty"
_NO_ROWS = "reader.no_rows"
_UNKNOWN_FORMAT = "reader.unknown_format"
_OLD_EXCEL = "reader.old_excel"
_NOT_A_TABLE = "reader.not_a_table"
_ONE_COLUMN = "reader.one_column"
_BAD_ENCODING = "reader.bad_encoding"
_MIXED_ENCODING = "reader.mixed_encoding"
_RAGGED = "reader.ragged_rows"
_RAGGED_ROW = "reader.ragged_row"
_NO_HEADER = "reader.no_header"
_BAD_HEADER = "reader.bad_header"
_EMPTY_COLUMN_NAME = "reader.empty_column_name"
_DUPLICATE_COLUMN = "reader.duplicate_column"
_CORRUPT = "reader.corrupt"
_UNSAFE = "reader.unsafe"
_BAD_JSONL = "reader.bad_jsonl"
_BAD_JSON_LINE = "reader.bad_json_line"
_MORE_PROBLEMS = "reader.more_problems"
_INFO = "reader.detected"

_INVALID_MAPPING = "reader.mapping.invalid"
_ROLE_MISSING = "reader.mapping.role_missing"
_SENSITIVE_MISSING = "reader.mapping.sensitive_missing"
_COLUMN_MISSING = "reader.mapping.column_missing"
_COLUMN_REUSED = "reader.mapping.column_reused"
_EMPTY_VALUES = "reader.mapping.empty_values"
_NOT_BINARY = "reader.mapping.not_binary"
_POS_LABEL_NEEDED = "reader.mapping.pos_label_needed"
_NOT_NUMERIC = "reader.mapping.not_numeric"
_NOT_INTEGER = "reader.mapping.not_integer"
_NEGATIVE = "reader.mapping.negative"
_SINGLE_VALUE = "reader.mapping.single_value"
_SMALL_GROUP = "reader.mapping.small_group"
_DUPLICATE_GROUP = "reader.mapping.duplicate_group"
_UNPAIRED = "reader.mapping.unpaired"
_EMPTY_RESPONSE = "reader.mapping.empty_response"
_NO_DATA_ROWS = "reader.mapping.no_rows"

_ROLE_KEY = "reader.role.{role}"
_SPARE = "\x00spare"  # name of a trailing unnamed CSV column while it is checked
_DELIMITER_KEY = "reader.delimiter.{name}"

# -- limits and tables ---------------------------------------------------------------------------

HEAD_BYTES = 64 * 1024  # enough to sniff format, encoding, delimiter and header
_MAX_LISTED_ROWS = 10  # row numbers shown per problem; the count says how many in all
_MAX_PROBLEMS = 25  # ragged rows / bad JSON lines listed one by one before "and N more"
_MAX_UNZIPPED = 2 * 1024**3  # an XLSX that inflates past this is treated as a zip bomb
_MAX_RATIO = 200  # ... or one whose parts inflate more than this many times
DEFAULT_MIN_GROUP = 30  # below this a group is too small to judge (a warning, not an error)

_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

# Magic numbers of binary formats, checked in order.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PAR1", "parquet"),
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls / .doc
TABLE_KINDS = frozenset({"csv", "tsv", "xlsx", "parquet", "jsonl"})
DOCUMENT_KINDS = frozenset({"pdf", "docx", "png", "jpeg"})

# Letters where KZ-1048 (the Kazakh code page) differs from cp1251. Russian and Kazakh text
# in cp1251 never contains the Serbian/Macedonian ones, so seeing them means KZ-1048.
_KZ1048_ONLY_IN_CP1251 = set("ЌЋќћЈјЅѕ")
_KZ1048_DIFFERS = set("ЌЋќћЎўЈҐЄЇґєјЅѕї")

_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
_COMMA_DECIMAL = re.compile(r"^[+-]?\d+,\d+$")
_DOT_DECIMAL = re.compile(r"^[+-]?\d+\.\d+$")
_LEADING_ZERO = re.compile(r"^0\d+$")

# Binary label vocabulary in the three languages; compared lower-cased and stripped.
_POSITIVE = frozenset({"1", "1.0", "true", "t", "yes", "y", "да", "иә", "ия"})
_NEGATIVE = frozenset({"0", "0.0", "false", "f", "no", "n", "нет", "жоқ"})


# -- errors ---------------------------------------------------------------------------------------

class ReaderError(ValidationFailed):
    """A model-output file could not be read or its column mapping is not usable."""


class MappingProblem(WorkbenchError):
    """One problem of a column mapping, found by :func:`validate_mapping`.

    ``severity`` is ``"error"`` (the test cannot run) or ``"warning"`` (it can, but a
    result will be weaker, e.g. a group is too small to judge). A ``role`` parameter is
    translated too, so "true label" reads naturally in Kazakh and Russian.
    """

    def __init__(self, key: str, /, *, severity: Literal["error", "warning"] = "error",
                 column: str | None = None, rows: Sequence[int] = (), **params: Any) -> None:
        if rows:
            params.setdefault("rows", _rows_text(rows))
        if column is not None:
            params.setdefault("column", column)
        super().__init__(key, **params)
        self.severity = severity
        self.column = column
        self.rows = list(rows[:_MAX_LISTED_ROWS])

    def translate(self, lang: str = "kk") -> str:
        from .i18n import t

        params = dict(self.params)
        if "role" in params:
            params["role"] = t(_ROLE_KEY.format(role=params["role"]), lang)
        return t(self.key, lang, **params)


def _rows_text(rows: Sequence[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:_MAX_LISTED_ROWS])
    return shown + (", …" if len(rows) > _MAX_LISTED_ROWS else "")


def _cap(problems: list[WorkbenchError], total: int) -> list[WorkbenchError]:
    """Keep a problem list readable: the first few, then "and N more"."""
    kept = problems[:_MAX_PROBLEMS]
    if total > len(kept):
        kept.append(WorkbenchError(_MORE_PROBLEMS, count=total - len(kept)))
    return kept


# -- models ---------------------------------------------------------------------------------------

class TableInfo(BaseModel):
    """What the reader found out about a file, for the UI ("detected: cp1251, ';'")."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="csv, tsv, xlsx, parquet or jsonl")
    encoding: str | None = Field(None, description="text files only: utf-8, utf-8-sig, utf-16-le, utf-16-be, cp1251, kz1048")
    delimiter: str | None = None
    decimal: str | None = Field(None, description="decimal separator of a text file: '.' or ','")
    sheet: str | None = Field(None, description="XLSX: the sheet that was read (the first one)")
    sheets: list[str] = Field(default_factory=list)
    columns: list[str] = Field(default_factory=list)
    rows: int | None = Field(None, description="data rows; None until the whole file is read")
    size_bytes: int = 0

    def describe(self, lang: str = "kk") -> str:
        """One line for people, e.g. ``CSV · cp1251 · ';' · 395``."""
        from .i18n import t

        delimiter = t(_DELIMITER_KEY.format(name=_DELIMITER_NAMES[self.delimiter]), lang) if self.delimiter else "—"
        rows = "—" if self.rows is None else str(self.rows)
        return t(_INFO, lang, kind=self.kind.upper(), encoding=self.encoding or "—", delimiter=delimiter,
                 rows=rows, columns=len(self.columns))


MappingKind = Literal["classification", "scores", "generative", "aggregated_classification", "aggregated_scores"]


class ColumnMapping(BaseModel):
    """Which column plays which role in a fairness test.

    ``sensitive`` names the sensitive features (sex, region, language...). For
    pre-aggregated input they are the columns that name each group, and the count
    columns (``tp``/``fp``/``tn``/``fn`` for classifiers, ``n``/``sum``/``sum_sq`` of the
    score error for scorers) hold that group's statistics. ``pos_label`` says which value
    of ``y_true``/``y_pred`` is the positive outcome when the labels are not 0/1,
    true/false, yes/no (да/нет, иә/жоқ).
    """

    model_config = ConfigDict(extra="forbid")

    y_true: str | None = None
    y_pred: str | None = None
    score: str | None = None
    pos_label: str | None = None
    sensitive: list[str] = Field(default_factory=list)
    prompt: str | None = None
    response: str | None = None
    variant: str | None = None
    pair_id: str | None = None
    tp: str | None = None
    fp: str | None = None
    tn: str | None = None
    fn: str | None = None
    n: str | None = None
    sum: str | None = None
    sum_sq: str | None = None

    @field_validator("sensitive")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    def roles(self) -> dict[str, str]:
        """Every single-column role that is set, ``{role: column}``."""
        return {role: col for role, col in self.model_dump(exclude={"sensitive", "pos_label"}).items() if col}


# -- sniffing -------------------------------------------------------------------------------------

def _zip_names(head: bytes) -> list[str]:
    """Names of the zip entries whose local headers lie in ``head``.

    Works on a truncated file: each local header (``PK\\x03\\x04``) carries its entry's
    name at offset 30, so the names of XLSX and DOCX parts are visible in the first
    kilobytes even when the central directory at the end is not.
    """
    try:  # the whole archive: ask zipfile, which reads the central directory
        with zipfile.ZipFile(io.BytesIO(head)) as zf:
            return zf.namelist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        pass
    names = []
    for match in re.finditer(re.escape(b"PK\x03\x04"), head):
        at = match.start()
        if at + 30 > len(head):
            break
        name_len = int.from_bytes(head[at + 26:at + 28], "little")
        raw = head[at + 30:at + 30 + name_len]
        if 0 < name_len < 512 and len(raw) == name_len:
            try:
                names.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                continue
    return names


def _zip_kind(names: Iterable[str]) -> str:
    names = list(names)
    if any(n == "xl/workbook.xml" or n.startswith("xl/") for n in names):
        return "xlsx"
    if any(n == "word/document.xml" or n.startswith("word/") for n in names):
        return "docx"
    return "unknown"


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 text without a BOM shows up as every other byte being NUL."""
    sample = head[:4096]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_nul, odd_nul = even.count(0) / len(even), odd.count(0) / len(odd)
    if odd_nul > 0.4 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.4 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def _plausible_cyrillic(text: str) -> bool:
    """Does a cp1251 decoding read as Russian or Kazakh rather than mis-decoded Latin-1?

    Mis-decoded Western text puts single Cyrillic letters inside Latin words ("Mьller");
    real Russian words are Cyrillic through and through.
    """
    words = [w for w in re.findall(r"[^\W\d_]+", text) if any(ord(c) > 127 for c in w)]
    if not words:
        return True  # nothing but punctuation above ASCII (e.g. « » №): harmless either way
    mixed = sum(1 for w in words if re.search(r"[A-Za-z]", w))
    cyrillic = sum(1 for w in words if all("\u0400" <= c <= "\u04ff" for c in w))
    return mixed / len(words) < 0.2 and cyrillic / len(words) > 0.6


def _cp1251_or_kz1048(data: bytes) -> str | None:
    """Tell cp1251 from KZ-1048 and from other single-byte encodings; None if neither fits."""
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError:  # 0x98 is unassigned in cp1251
        text = None
    if text is not None:
        odd = [c for c in text if c in _KZ1048_DIFFERS]
        letters = sum(1 for c in text if "\u0400" <= c <= "\u04ff")
        if any(c in _KZ1048_ONLY_IN_CP1251 for c in odd) or (letters and len(odd) / letters > 0.02):
            if _plausible_cyrillic(data.decode("kz1048", errors="replace")):
                return "kz1048"
        if _plausible_cyrillic(text):
            return "cp1251"
    try:
        import charset_normalizer

        best = charset_normalizer.from_bytes(data[:HEAD_BYTES]).best()
    except Exception:  # a detector failure must not hide the real message (bad encoding)
        best = None
    if best is not None and best.encoding in ("cp1251", "kz1048"):
        return best.encoding
    return None


def _detect_encoding(head: bytes, complete: bool) -> str | None:
    """The encoding of a text file from its first bytes, or None if it is not text we read."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(b"\xff\xfe\x00\x00") or head.startswith(b"\x00\x00\xfe\xff"):
        return None  # UTF-32: nobody exports this on purpose
    if head.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le"
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be"
    utf16 = _utf16_without_bom(head)
    if utf16:
        return utf16
    if b"\x00" in head:
        return None  # binary
    try:
        # final=False tolerates a multi-byte character cut in half at the end of the head
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    return _cp1251_or_kz1048(head)


def _decode(head: bytes, encoding: str, complete: bool) -> str:
    codec = {"utf-16-le": "utf-16-le", "utf-16-be": "utf-16-be"}.get(encoding, encoding)
    data = head
    if encoding.startswith("utf-16") and data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        data = data[2:]
    text = codecs.getincrementaldecoder(codec)(errors="replace").decode(data, final=complete)
    return text.lstrip("\ufeff")


def _looks_binary(text: str) -> bool:
    controls = sum(1 for c in text[:20000] if ord(c) < 32 and c not in "\t\r\n\f\x1a")
    return controls > max(2, len(text[:20000]) // 1000)


def _complete_lines(text: str, complete: bool) -> str:
    """Drop a last line cut off by the head limit."""
    if complete:
        return text
    cut = max(text.rfind("\n"), text.rfind("\r"))
    return text[:cut + 1] if cut >= 0 else text


@dataclass(frozen=True)
class _TextSniff:
    kind: str  # csv, tsv, jsonl or unknown
    delimiter: str | None = None
    decimal: str = "."
    header: tuple[str, ...] = ()
    text_columns: tuple[int, ...] = ()  # positions holding codes like "007" that must stay text


def _sniff_text(text: str) -> _TextSniff:
    """Decide between JSON Lines and delimited text, and find delimiter and decimal mark."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        first = stripped.splitlines()[0]
        try:
            if isinstance(json.loads(first), dict):
                return _TextSniff("jsonl")
        except ValueError:
            pass
    best: tuple[float, int, int, int] | None = None
    chosen: tuple[str, list[list[str]]] | None = None
    for preference, delimiter in enumerate(_DELIMITERS):
        try:
            rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(f.strip() for f in r)][:200]
        except csv.Error:
            continue
        if not rows:
            continue
        counts = Counter(len(r) for r in rows)
        width, hits = counts.most_common(1)[0]
        if width < 2:
            continue
        # Most consistent width first, then a header of that width, then more columns.
        score = (hits / len(rows), int(len(rows[0]) == width), width, -preference)
        if best is None or score > best:
            best, chosen = score, (delimiter, rows)
    if chosen is None:
        return _TextSniff("unknown")
    delimiter, rows = chosen
    values = [f.strip() for r in rows[1:] for f in r]
    decimal = "."
    if delimiter != "," and any(_COMMA_DECIMAL.match(v) for v in values) and not any(_DOT_DECIMAL.match(v) for v in values):
        decimal = ","  # Excel with Russian or Kazakh regional settings: "0,85" in a ';' file
    kind = "tsv" if delimiter == "\t" else "csv"
    # IINs, school codes and pair ids with leading zeros are identifiers, not numbers.
    text_columns = tuple(sorted({i for r in rows[1:] for i, f in enumerate(r) if _LEADING_ZERO.match(f.strip())}))
    return _TextSniff(kind, delimiter, decimal, tuple(rows[0]), text_columns)


def sniff_kind(head: bytes, *, complete: bool = False) -> str:
    """The kind of a file from its first bytes (64 KiB is plenty), never from its name.

    Parameters
    ----------
    head:
        The start of the file, or all of it.
    complete:
        True if ``head`` is the whole file (its last line is then not treated as cut off).

    Returns
    -------
    str
        One of ``csv``, ``tsv``, ``xlsx``, ``parquet``, ``jsonl``, ``pdf``, ``docx``,
        ``png``, ``jpeg`` or ``unknown``. Text counts as CSV/TSV only if a delimiter
        splits its rows into a consistent number of columns (at least two), and only if
        it is UTF-8, UTF-16 or Windows-1251 text.
    """
    return _sniff(head, complete)[0]


def _sniff(head: bytes, complete: bool) -> tuple[str, str | None, _TextSniff | None]:
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind, None, None
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(_zip_names(head)), None, None
    if head.startswith(_OLE2):
        return "unknown", None, None
    encoding = _detect_encoding(head, complete)
    if encoding is None:
        return "unknown", None, None
    text = _decode(head, encoding, complete)
    if _looks_binary(text):
        return "unknown", None, None
    sniffed = _sniff_text(_complete_lines(text, complete))
    return sniffed.kind, encoding, sniffed


# -- reading --------------------------------------------------------------------------------------

@dataclass
class _Source:
    """A file on disk or bytes in memory, with its head read once."""

    path: Path | None
    data: bytes | None
    size: int
    head: bytes
    name: str

    @property
    def complete(self) -> bool:
        return len(self.head) >= self.size

    def arrow(self) -> Any:
        """Something pyarrow can read: the path (streamed) or the bytes (zero-copy)."""
        import pyarrow as pa

        return str(self.path) if self.path is not None else pa.py_buffer(self.data)

    def binary(self) -> Any:
        return self.path if self.path is not None else io.BytesIO(self.data)


def _open_source(source: str | os.PathLike[str] | bytes | bytearray | memoryview, name: str | None,
                 max_bytes: int | None) -> _Source:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        src = _Source(None, data, len(data), data[:HEAD_BYTES], name or "")
    else:
        path = Path(source)
        try:
            size = path.stat().st_size
            with path.open("rb") as fh:
                head = fh.read(HEAD_BYTES)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
            raise ReaderError(_NO_FILE, name=name or path.name) from None
        src = _Source(path, None, size, head, name or path.name)
    if max_bytes is not None and src.size > max_bytes:
        raise ReaderError(_TOO_LARGE, name=src.name, limit_mb=_mb(max_bytes), size_mb=_mb(src.size))
    if not src.head.strip(b" \t\r\n\x00" + codecs.BOM_UTF8 + codecs.BOM_UTF16_LE + codecs.BOM_UTF16_BE):
        raise ReaderError(_EMPTY, name=src.name)
    return src


def _mb(size: int) -> str:
    value = size / 1024**2
    return f"{value:.0f}" if value >= 10 else f"{value:.3g}"


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
            meta = pq.ParquetFile(src.binary()).metadata
        except Exception:
            raise ReaderError(_CORRUPT, name=src.name, kind="Parquet") from None
        info.columns, info.rows = list(meta.schema.names), meta.num_rows
    elif kind == "xlsx":
        _check_zip(src)
        from openpyxl import load_workbook

        try:
            wb = load_workbook(src.binary(), read_only=True, data_only=True)
            sheet = wb.worksheets[0]
            first = next(sheet.iter_rows(max_row=1, values_only=True), ())
            info.sheets, info.sheet = list(wb.sheetnames), sheet.title
            wb.close()
        except Exception:
            raise ReaderError(_CORRUPT, name=src.name, kind="Excel") from None
        info.columns = _checked_header(_trim_header(first), src.name)
    elif kind == "jsonl" and encoding is not None:
        first = _decode(src.head, encoding, src.complete).lstrip().splitlines()[0]
        info.columns = [str(k).strip() for k in json.loads(first)]
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


def _read_parquet(src: _Source) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(src.binary())
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
        try:
            value = json.loads(line)
        except ValueError:
            value = None
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


def _check_zip(src: _Source) -> None:
    """Refuse zip bombs and XML with a DTD (entity expansion) before openpyxl parses anything."""
    try:
        with zipfile.ZipFile(src.binary()) as zf:
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
    try:
        # data_only: cells hold the values Excel last computed; formulas are never run here
        wb = load_workbook(src.binary(), read_only=True, data_only=True)
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


def preview(df: pd.DataFrame, n: int = 20) -> pd.DataFrame:
    """The first ``n`` rows as plain text, for showing to people.

    Every cell becomes a string (missing ones become ``""``) so that a table widget shows
    exactly what the file holds: ``=1+1`` stays ``=1+1`` and ``<b>`` stays ``<b>``.
    """
    head = df.head(n)
    return pd.DataFrame({str(col): [("" if _missing(v) else str(v)) for v in head[col].tolist()]
                         for col in head.columns}, index=head.index)


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


# -- column mapping -------------------------------------------------------------------------------

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
        mapped = tokens.map(lambda v: None if _missing(v) else (1 if v in _POSITIVE else (0 if v in _NEGATIVE else -1)))
        distinct = set(present.unique())
        if len(distinct) == 2 and not distinct & (_POSITIVE | _NEGATIVE):
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
