"""Message keys, limits and lookup tables of the reader.

Tests compare raised errors against the message-key constants (``reader._EMPTY``), so the
package ``__init__`` imports every one of them by name.
"""

from __future__ import annotations

import re


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
_TOO_DEEP = "hardening.reader.too_deep"
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
MAX_JSON_DEPTH = 64  # JSON Lines values nested deeper are refused (a 30,000-deep line broke the parser)
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
_POSITIVE_LABELS = frozenset({"1", "1.0", "true", "t", "yes", "y", "да", "иә", "ия"})
_NEGATIVE_LABELS = frozenset({"0", "0.0", "false", "f", "no", "n", "нет", "жоқ"})
