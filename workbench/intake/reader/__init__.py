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

from ._keys import DEFAULT_MIN_GROUP, DOCUMENT_KINDS, HEAD_BYTES, TABLE_KINDS
from ._mapping import MAPPING_KINDS, binary_labels, check_mapping, required_roles, suggest_mapping, validate_mapping
from ._models import ColumnMapping, MappingKind, MappingProblem, ReaderError, TableInfo
from ._read import describe_source, preview, read_table, read_table_info
from ._sniff import sniff_kind

# Message keys, importable as ``workbench.intake.reader._X``: tests compare raised errors against
# them, and the catalogue test finds every key among this package's names.
from ._keys import (  # noqa: F401
    _NO_FILE, _TOO_LARGE, _EMPTY, _NO_ROWS, _UNKNOWN_FORMAT, _OLD_EXCEL, _NOT_A_TABLE, _ONE_COLUMN, _BAD_ENCODING,
    _MIXED_ENCODING, _RAGGED, _RAGGED_ROW, _NO_HEADER, _BAD_HEADER, _EMPTY_COLUMN_NAME, _DUPLICATE_COLUMN, _CORRUPT,
    _UNSAFE, _BAD_JSONL, _BAD_JSON_LINE, _MORE_PROBLEMS, _INFO, _INVALID_MAPPING, _ROLE_MISSING, _SENSITIVE_MISSING,
    _COLUMN_MISSING, _COLUMN_REUSED, _EMPTY_VALUES, _NOT_BINARY, _POS_LABEL_NEEDED, _NOT_NUMERIC, _NOT_INTEGER,
    _NEGATIVE, _SINGLE_VALUE, _SMALL_GROUP, _DUPLICATE_GROUP, _UNPAIRED, _EMPTY_RESPONSE, _NO_DATA_ROWS, _ROLE_KEY,
    _DELIMITER_KEY,
)
# Private names other modules and tests use: the store tells XLSX from DOCX with
# ``_zip_kind``; tests read the limits and tables behind the messages.
from ._keys import _DELIMITER_NAMES, _MAX_PROBLEMS  # noqa: F401
from ._mapping import _KINDS  # noqa: F401
from ._sniff import _zip_kind  # noqa: F401

__all__ = [
    "DEFAULT_MIN_GROUP",
    "DOCUMENT_KINDS",
    "HEAD_BYTES",
    "MAPPING_KINDS",
    "TABLE_KINDS",
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
